use mlguard::scan::sigma::RuleSet;
use std::path::Path;

#[test]
fn explore() {
    let (set, rep) = RuleSet::load_dir(Path::new("testdata/sigma/rules/cloud")).unwrap();
    println!("loaded {} skipped {}", rep.loaded.len(), rep.skipped.len());
    for (f, r) in &rep.skipped {
        println!("SKIP {f}: {r}");
    }
    for entry in walkdir::WalkDir::new("/work/shared/data/cloudtrail").sort_by_file_name() {
        let e = entry.unwrap();
        if !e.file_type().is_file() { continue; }
        let text = std::fs::read_to_string(e.path()).unwrap();
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { println!("BAD {}", e.path().display()); continue };
        let recs = match v { serde_json::Value::Array(a) => a, o => vec![o] };
        for (i, r) in recs.iter().enumerate() {
            for f in set.evaluate(r, "aws", Some("cloudtrail")) {
                println!("HIT {}#{} {} {} {:?}", e.path().display(), i, f.id, f.title, f.evidence.get("rule_file"));
            }
        }
    }
    for entry in walkdir::WalkDir::new("/work/shared/data/gcp-audit").sort_by_file_name() {
        let e = entry.unwrap();
        if !e.file_type().is_file() { continue; }
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
        for f in set.evaluate(&v, "gcp", Some("gcp.audit")) {
            println!("HIT {} {} {}", e.path().display(), f.id, f.title);
        }
    }
}
