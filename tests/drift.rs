//! `mlguard drift` proof suite: the seeded cases of `mlguard_testgen::cases` built from
//! scikit-learn's datasets, run through the real binary. Null cases must pass; every
//! failing case must fail naming the right column or label.

use mlguard_testgen::cases;
use serde_json::Value;
use std::path::{Path, PathBuf};

use crate::util as common;
use common::bin;

fn data(name: &str) -> PathBuf {
    common::testdata("datasets").join(name)
}

fn profile(input: &Path, label: &str, out: &Path) {
    let o = bin()
        .args(["-q", "profile"])
        .arg(input)
        .args(["--label", label, "--text", "note", "-o"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn drift(base: &Path, cur: &Path, extra: &[&str]) -> (i32, Value) {
    let o = bin()
        .args(["-q", "drift", "--baseline"])
        .arg(base)
        .arg(cur)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| {
        panic!("{}", String::from_utf8_lossy(&o.stderr));
    });
    (o.status.code().unwrap(), v)
}

/// Run every case of one dataset; returns failures as messages.
fn run_suite(dataset: &str, label: &str, resample: usize) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let cs = cases::generate(&data(dataset), label, dir.path(), 7, resample).unwrap();
    assert_eq!(cs.len(), if resample > 0 { 10 } else { 9 });
    let mut problems = Vec::new();
    for c in &cs {
        let base = dir.path().join(format!("{}.profile.json", c.name));
        profile(&c.baseline, label, &base);
        let (code, v) = drift(&base, &c.current, &[]);
        let fired: Vec<&Value> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] != "info")
            .collect();
        if !c.must_fail {
            if code != 0 {
                problems.push(format!("{dataset}/{}: null case failed: {fired:?}", c.name));
            }
            continue;
        }
        if code != 1 {
            problems.push(format!(
                "{dataset}/{}: not detected (exit {code}): {fired:?}",
                c.name
            ));
            continue;
        }
        let (id, what) = c.expect.clone().unwrap();
        let named = fired.iter().any(|f| {
            f["severity"] == "high"
                && id
                    .split('|')
                    .any(|i| f["id"].as_str().unwrap().starts_with(i))
                && [
                    &f["subject"],
                    &f["evidence"]["column"],
                    &f["evidence"]["label"],
                    &f["evidence"]["token"],
                    &f["evidence"]["from_label"],
                ]
                .iter()
                .any(|x| x.as_str().is_some_and(|s| s.contains(&what)))
        });
        if !named {
            problems.push(format!(
                "{dataset}/{}: no alert {id} naming '{what}': {fired:?}",
                c.name
            ));
        }
    }
    problems
}

#[test]
fn breast_cancer_cases_including_200k_resampled_null() {
    let p = run_suite("breast_cancer.csv", "diagnosis", 200_000);
    assert!(p.is_empty(), "{p:#?}");
}

#[test]
fn digits_cases() {
    let p = run_suite("digits.csv", "digit", 20_000);
    assert!(p.is_empty(), "{p:#?}");
}

#[test]
fn outputs_html_sarif_junit_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cs = cases::generate(&data("breast_cancer.csv"), "diagnosis", dir.path(), 3, 0).unwrap();
    let shift = cs.iter().find(|c| c.name == "shift").unwrap();
    let base = dir.path().join("base.json");
    profile(&shift.baseline, "diagnosis", &base);
    let html = dir.path().join("report.html");
    let o = bin()
        .args(["-q", "drift", "--baseline"])
        .arg(&base)
        .arg(&shift.current)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("drift.wasserstein_norm") && table.contains("mean_radius"),
        "{table}"
    );
    assert!(table.contains("verdict: FAIL"));
    let h = std::fs::read_to_string(&html).unwrap();
    assert!(h.starts_with("<!DOCTYPE html>"));
    assert!(h.contains("<polyline") && h.contains("mean_radius"));
    assert!(h.contains("class=\"verdict FAIL\""));
    // Self-contained: no script, no external resources.
    for bad in ["<script", "<link", "src=", "https://", "url("] {
        assert!(!h.contains(bad), "HTML contains {bad}");
    }
    // SARIF and JUnit.
    let o = bin()
        .args(["-q", "drift", "--baseline"])
        .arg(&base)
        .arg(&shift.current)
        .args(["--format", "sarif"])
        .output()
        .unwrap();
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(s["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["ruleId"] == "drift.wasserstein_norm" && r["level"] == "error"));
    let o = bin()
        .args(["-q", "drift", "--baseline"])
        .arg(&base)
        .arg(&shift.current)
        .args(["--format", "junit"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("<failure"));
    // --fail-on warn vs alert; a profile as CURRENT; a saved current profile.
    let curp = dir.path().join("cur.json");
    let o = bin()
        .args(["-q", "drift", "--baseline"])
        .arg(&base)
        .arg(&shift.current)
        .arg("--save-profile")
        .arg(&curp)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let (code, v) = drift(&base, &curp, &[]);
    assert_eq!(code, 1);
    assert_eq!(v["verdict"], "fail");
    assert_eq!(v["fail_on"], "high");
    let nulls = cs.iter().find(|c| c.name == "reencoded").unwrap();
    let (code, _) = drift(&base, &nulls.current, &["--fail-on", "warn"]);
    assert_eq!(code, 0);
    // Input errors: not a profile, a label mismatch, a missing file.
    let o = bin()
        .args(["drift", "--baseline"])
        .arg(&shift.current)
        .arg(&shift.current)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not JSON")
            || String::from_utf8_lossy(&o.stderr).contains("not an mlguard profile")
    );
    let o = bin()
        .args(["drift", "--baseline"])
        .arg(&base)
        .arg(&shift.current)
        .args(["--label", "other"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = bin()
        .args(["drift", "--baseline"])
        .arg(&base)
        .arg(dir.path().join("missing.csv"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn per_column_overrides_in_config() {
    let dir = tempfile::tempdir().unwrap();
    let cs = cases::generate(&data("breast_cancer.csv"), "diagnosis", dir.path(), 3, 0).unwrap();
    let shift = cs.iter().find(|c| c.name == "shift").unwrap();
    let base = dir.path().join("base.json");
    profile(&shift.baseline, "diagnosis", &base);
    let cfg = dir.path().join("mlguard.toml");
    std::fs::write(&cfg, "[drift.columns.mean_radius]\nignore = true\n").unwrap();
    let (code, v) = drift(&base, &shift.current, &["--config", cfg.to_str().unwrap()]);
    assert!(
        !v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["evidence"]["column"] == "mean_radius"
                && f["id"] != "drift.label_conditional"),
        "{v}"
    );
    let _ = code;
    std::fs::write(&cfg, "[drift]\nnot_a_key = 1\n").unwrap();
    let o = bin()
        .args(["drift", "--config"])
        .arg(&cfg)
        .arg("--baseline")
        .arg(&base)
        .arg(&shift.current)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn skipped_rows_in_the_current_data_make_the_gate_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut good = String::from("x,y\n");
    for i in 0..200 {
        good.push_str(&format!("{},{}\n", i % 17, i % 2));
    }
    std::fs::write(d.join("base.csv"), &good).unwrap();
    // The same data with one ragged row, profiled with --skip-bad-rows.
    let mut bad = good.clone();
    bad.push_str("1,2,3\n");
    std::fs::write(d.join("cur.csv"), &bad).unwrap();
    let base = d.join("base.json");
    let cur = d.join("cur.json");
    for (input, out, extra) in [
        ("base.csv", &base, None),
        ("cur.csv", &cur, Some("--skip-bad-rows")),
    ] {
        let o = bin()
            .args(["-q", "profile"])
            .arg(d.join(input))
            .args(extra)
            .arg("-o")
            .arg(out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (code, v) = drift(&base, &cur, &[]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["verdict"], "incomplete");
    assert_eq!(v["skipped"][0]["what"], "rows");
    assert_eq!(v["skipped"][0]["line"], 202);
    assert!(v["skipped"][0]["file"]
        .as_str()
        .unwrap()
        .ends_with("cur.csv"));
    let (code, v) = drift(&base, &cur, &["--allow-partial"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["verdict"], "pass");
    // The same data read in full passes.
    let (code, v) = drift(&base, &base, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["skipped"], serde_json::json!([]));
}

#[test]
fn outputs_never_overwrite_the_baseline_and_label_mismatch_names_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = d.join("t.csv");
    let mut text = String::from("x,y\n");
    for i in 0..50 {
        text.push_str(&format!("{i},{}\n", i % 2));
    }
    std::fs::write(&csv, text).unwrap();
    let base = d.join("base.json");
    let o = bin()
        .args(["-q", "profile", "--label", "y", "-o"])
        .arg(&base)
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let before = std::fs::read(&base).unwrap();
    for flag in ["-o", "--html", "--save-profile"] {
        let o = bin()
            .args(["drift", "--baseline"])
            .arg(&base)
            .arg(&csv)
            .arg(flag)
            .arg(&base)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{flag}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(flag) && e.contains("is also an input"), "{e}");
    }
    assert_eq!(std::fs::read(&base).unwrap(), before);
    // A current profile made without the baseline's label: the error names both files.
    let nolabel = d.join("cur.json");
    let o = bin()
        .args(["-q", "profile"])
        .arg(&csv)
        .arg("-o")
        .arg(&nolabel)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let o = bin()
        .args(["drift", "--baseline"])
        .arg(&base)
        .arg(&nolabel)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("cur.json") && e.contains("base.json") && e.contains("label column 'y'"),
        "{e}"
    );
}

/// Text of every output of one drift run: (exit code, table stdout, JSON, HTML).
fn drift_outputs(
    base: &Path,
    cur: &Path,
    dir: &Path,
    extra: &[&str],
) -> (i32, String, Value, String) {
    let html = dir.join("r.html");
    let o = bin()
        .args(["-q", "drift", "--baseline"])
        .arg(base)
        .arg(cur)
        .arg("--html")
        .arg(&html)
        .args(extra)
        .output()
        .unwrap();
    let table = String::from_utf8(o.stdout).unwrap();
    let (code, json) = drift(base, cur, extra);
    assert_eq!(o.status.code(), Some(code), "{table}");
    (code, table, json, std::fs::read_to_string(&html).unwrap())
}

/// One severity vocabulary and one count in the table, its summary line, JSON and HTML:
/// drift once said high/medium in the table, alert/warn in the summary and the
/// HTML, and its table counted 1 finding where JSON listed 2 (the info one hidden).
#[test]
fn one_severity_vocabulary_and_the_same_counts_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut a, mut b) = (String::from("x,y\n"), String::from("x,y\n"));
    for i in 0..400 {
        a.push_str(&format!("{},{}\n", i % 97, i % 2));
        // Shifted far outside the baseline's range: a high finding.
        b.push_str(&format!("{},{}\n", 1000 + i % 97, i % 2));
    }
    std::fs::write(d.join("a.csv"), &a).unwrap();
    std::fs::write(d.join("b.csv"), &b).unwrap();
    let base = d.join("base.json");
    profile_plain(&d.join("a.csv"), &base);

    let (code, table, json, html) = drift_outputs(&base, &d.join("b.csv"), d, &[]);
    assert_eq!(code, 1, "{table}");
    let findings = json["findings"].as_array().unwrap();
    let n = findings.len();
    let info = findings.iter().filter(|f| f["severity"] == "info").count();
    let high = findings.iter().filter(|f| f["severity"] == "high").count();
    assert!(info >= 1 && high >= 1, "{json}");
    // JSON: the default gate and the summary in the shared words.
    assert_eq!(json["fail_on"], "high");
    assert_eq!(json["summary"]["findings"], n);
    assert_eq!(json["summary"]["high"], high);
    assert_eq!(json["summary"]["info"], info);
    assert!(json["summary"].get("alert").is_none() && json["summary"].get("warn").is_none());
    // Table: lists the high findings, counts every finding, says the info ones are unlisted.
    let summary = table.lines().last().unwrap();
    assert!(
        summary.starts_with(&format!("verdict: FAIL ({n} findings: ")),
        "{summary}"
    );
    assert!(summary.contains(&format!("{high} high")) && summary.contains(&format!("{info} info")));
    assert!(
        summary.contains(&format!("{info} info not listed")),
        "{summary}"
    );
    assert!(summary.ends_with("fail-on high)"), "{summary}");
    assert!(!table.lines().any(|l| l.starts_with("info ")), "{table}");
    // HTML: the same counts and words.
    let counts = summary
        .trim_start_matches("verdict: FAIL (")
        .split(';')
        .next()
        .unwrap();
    assert!(html.contains(counts), "HTML lacks '{counts}'");
    assert!(html.contains("sev-high\">high</span>") && html.contains("fail-on <b>high</b>"));
    // SARIF and JUnit: every finding, in the same words, with the same counts.
    let other = |format: &str| {
        let o = bin()
            .args(["drift", "--baseline", base.to_str().unwrap()])
            .arg(d.join("b.csv"))
            .args(["--format", format])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{format}");
        String::from_utf8(o.stdout).unwrap()
    };
    let sarif: serde_json::Value = serde_json::from_str(&other("sarif")).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), n, "{sarif}");
    let sev = |w: &str| {
        results
            .iter()
            .filter(|r| r["properties"]["severity"] == w)
            .count()
    };
    assert_eq!((sev("high"), sev("info")), (high, info), "{sarif}");
    assert_eq!(sarif["runs"][0]["properties"]["verdict"], json["verdict"]);
    let junit = other("junit");
    assert!(
        junit.contains(&format!(r#"tests="{n}" failures="{high}""#)),
        "{junit}"
    );
    assert_eq!(junit.matches("<testcase ").count(), n, "{junit}");
    assert_eq!(
        junit.matches(r#"<failure type="high""#).count(),
        high,
        "{junit}"
    );
    assert_eq!(junit.matches("(info): ").count(), info, "{junit}");
    for out in [&table, &html, &json.to_string(), &sarif.to_string(), &junit] {
        for old in [
            ">alert<",
            ">warn<",
            " alert",
            " warn",
            "\"alert\"",
            "\"warn\"",
        ] {
            assert!(!out.contains(old), "'{old}' in an output");
        }
    }

    // --fail-on info: the failing info findings are listed, never "no findings".
    let (code, table, json, _) = drift_outputs(&base, &d.join("a.csv"), d, &["--fail-on", "info"]);
    assert_eq!(code, 1, "{table}");
    let n = json["findings"].as_array().unwrap().len();
    assert!(
        n >= 1
            && json["findings"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["severity"] == "info")
    );
    assert!(!table.contains("no findings"), "{table}");
    assert!(table.contains("drift.volume"), "{table}");
    assert!(table
        .lines()
        .last()
        .unwrap()
        .starts_with(&format!("verdict: FAIL ({n} finding")));
    assert!(!table.contains("not listed"), "{table}");
    assert_eq!(json["fail_on"], "info");
    // The old words are still accepted as input, and printed as the shared ones.
    let (code, json) = drift(&base, &d.join("a.csv"), &["--fail-on", "warn"]);
    assert_eq!(code, 0);
    assert_eq!(json["fail_on"], "medium");
    // Config thresholds take the shared words (and still the old ones).
    let cfg = d.join("mlguard.toml");
    for t in [
        "{ medium = 0.5, high = 2.0 }",
        "{ warn = 0.5, alert = 2.0 }",
    ] {
        std::fs::write(&cfg, format!("[drift]\nwasserstein = {t}\n")).unwrap();
        let (code, _) = drift(
            &base,
            &d.join("a.csv"),
            &["--config", cfg.to_str().unwrap()],
        );
        assert_eq!(code, 0, "{t}");
    }
}

fn profile_plain(input: &Path, out: &Path) {
    let o = bin()
        .args(["-q", "profile"])
        .arg(input)
        .args(["--label", "y", "-o"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

const DATASETS: [(&str, &str); 5] = [
    ("breast_cancer.csv", "diagnosis"),
    ("digits.csv", "digit"),
    ("iris.csv", "species"),
    ("wine.csv", "cultivar"),
    ("diabetes.csv", "progression"),
];

/// Datasets whose 15 % label flip on a new batch must be found (`batch_flip`):
/// breast_cancer (569 rows) and digits (1797); iris and wine are reported.
const FLIP_DETECTABLE: [&str; 2] = ["breast_cancer.csv", "digits.csv"];

/// Does one drift run name the expected finding at `high`? `id` may list alternatives
/// separated by '|'.
fn names(v: &Value, id: &str, what: &str) -> bool {
    v["findings"].as_array().unwrap().iter().any(|f| {
        f["severity"] == "high"
            && id
                .split('|')
                .any(|i| f["id"].as_str().unwrap().starts_with(i))
            && [
                &f["subject"],
                &f["evidence"]["column"],
                &f["evidence"]["label"],
                &f["evidence"]["token"],
            ]
            .iter()
            .any(|x| x.as_str().is_some_and(|s| s.contains(what)))
    })
}

/// Issue 14: the baseline is one half of a dataset, the current batch the other half.
/// Every null case (several seeds, CSV vs Parquet, Zipf text, duplicated rows, resampled to
/// 20k rows) passes with no `high` finding; the 4-row point-mass trigger and the 5-row new
/// token are found at `high` naming the column / token on every classification dataset;
/// the 15 % label flip (`drift.label_consistency` naming the label the rows were given) on
/// breast_cancer and digits, every seed.
#[test]
fn new_batch_null_cases_pass_and_small_triggers_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut nulls = 0;
    let mut problems = Vec::new();
    let mut table = Vec::new();
    let mut flips: Vec<(&str, bool)> = Vec::new();
    for (ds, label) in DATASETS {
        for seed in [7u64, 8, 9] {
            let out = dir.path().join(format!("{ds}-{seed}"));
            let resample = if seed == 7 { 20_000 } else { 0 };
            let cs = cases::generate_batches(&data(ds), label, &out, seed, resample).unwrap();
            for c in &cs {
                let base = out.join(format!("{}.profile.json", c.name));
                profile(&c.baseline, label, &base);
                let (code, v) = drift(&base, &c.current, &[]);
                let high: Vec<String> = v["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|f| f["severity"] == "high")
                    .map(|f| {
                        f["title"]
                            .as_str()
                            .unwrap_or("")
                            .chars()
                            .take(160)
                            .collect::<String>()
                    })
                    .collect();
                if !c.must_fail {
                    nulls += 1;
                    if code != 0 || !high.is_empty() {
                        problems.push(format!("{ds}/{seed}/{}: false alarm {high:?}", c.name));
                    }
                    continue;
                }
                let (id, what) = c.expect.clone().unwrap();
                let found = names(&v, &id, &what);
                table.push(format!("{ds}/{seed}/{}: {found}", c.name));
                if c.name == "batch_flip" {
                    flips.push((ds, found && code == 1));
                }
                // Label consistency (batch_flip) is asserted where the data can show it:
                // on iris and wine the 4-5 relabelled rows against 25-35 baseline rows of
                // a label are under what any exchangeable test can call significant at
                // alpha (docs/drift.md); there they are counted, not required.
                let required = c.name != "batch_flip" || FLIP_DETECTABLE.contains(&ds);
                if required && (!found || code != 1) {
                    problems.push(format!("{ds}/{seed}/{}: not found: {high:?}", c.name));
                }
            }
        }
    }
    eprintln!("{}", table.join("\n"));
    for (ds, _) in DATASETS {
        let n = flips.iter().filter(|f| f.0 == ds).count();
        let k = flips.iter().filter(|f| f.0 == ds && f.1).count();
        if n > 0 {
            eprintln!("batch_flip {ds}: {k}/{n} at high");
        }
    }
    assert_eq!(flips.len(), 12, "{flips:?}");
    assert!(nulls >= 30, "{nulls} null cases");
    assert!(problems.is_empty(), "{problems:#?}");
}

/// `drift.label_consistency` on one new batch with 15 % of breast_cancer's benign rows
/// relabelled malignant: found at `high` with its evidence, the baseline carrying its own
/// leave-one-out rate; a baseline without the summary (an older profile) and a current
/// side given as a profile are listed as not evaluable in `coverage`, never silently
/// skipped; the table's other formats say it on stderr.
#[test]
fn label_consistency_finds_a_flip_in_new_rows_and_says_when_it_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cs = cases::generate_batches(&data("breast_cancer.csv"), "diagnosis", d, 7, 0).unwrap();
    let flip = cs.iter().find(|c| c.name == "batch_flip").unwrap();
    let base = d.join("base.json");
    profile(&flip.baseline, "diagnosis", &base);
    let bv: Value = serde_json::from_slice(&std::fs::read(&base).unwrap()).unwrap();
    let sec = &bv["label"]["consistency"];
    assert_eq!(sec["model"], "gaussian_nb");
    assert_eq!(sec["features"].as_array().unwrap().len(), 30);
    assert_eq!(sec["labels"], serde_json::json!(["benign", "malignant"]));
    let scored: u64 = sec["scored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert!(
        scored > 250 && scored <= bv["rows"].as_u64().unwrap(),
        "{sec}"
    );
    let (code, v) = drift(&base, &flip.current, &[]);
    assert_eq!(code, 1);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "drift.label_consistency" && f["severity"] == "high")
        .unwrap_or_else(|| panic!("{:#}", v["findings"]));
    let e = &f["evidence"];
    assert_eq!(e["label"], "malignant");
    assert_eq!(e["predicted_label"], "benign");
    assert!(e["q_value"].as_f64().unwrap() < 0.01, "{e}");
    assert!(e["rows"].as_u64().unwrap() > e["baseline_rows_disagreeing"].as_u64().unwrap());
    assert!(f["title"]
        .as_str()
        .unwrap()
        .contains("labelled diagnosis=malignant look like benign"));
    let cov = |v: &Value| -> Value {
        v["coverage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["detection"] == "drift.label_consistency")
            .cloned()
            .unwrap()
    };
    assert_eq!(cov(&v)["status"], "active");
    // The null half: active, no finding.
    let halves = cs.iter().find(|c| c.name == "halves").unwrap();
    let (code, v) = drift(&base, &halves.current, &[]);
    assert_eq!(code, 0, "{:#}", v["findings"]);
    assert_eq!(cov(&v)["status"], "active");
    // An older baseline (no summary): not evaluable, said so.
    let mut old = bv.clone();
    old["label"].as_object_mut().unwrap().remove("consistency");
    let old_p = d.join("old.json");
    std::fs::write(&old_p, serde_json::to_vec(&old).unwrap()).unwrap();
    let (_, v) = drift(&old_p, &flip.current, &[]);
    assert!(!v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "drift.label_consistency"));
    let c = cov(&v);
    assert_eq!(c["status"], "blind");
    assert!(
        c["reason"].as_str().unwrap().contains("not evaluable"),
        "{c}"
    );
    // The table run notes it on stderr.
    let o = bin()
        .args(["drift", "--baseline"])
        .arg(&old_p)
        .arg(&flip.current)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("drift.label_consistency") && err.contains("not evaluable"),
        "{err}"
    );
    // CURRENT as a profile: the rows are needed.
    let cur_p = d.join("cur.json");
    profile(&flip.current, "diagnosis", &cur_p);
    let (_, v) = drift(&base, &cur_p, &[]);
    let c = cov(&v);
    assert_eq!(c["status"], "blind");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .contains("current side is a profile"),
        "{c}"
    );
}

/// The label column is scored by its label shift (it showed drift score 0 in the HTML
/// overview, its categories not being compared as a feature's are) and marked as the label.
#[test]
fn label_column_has_its_label_shift_as_score_and_is_marked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut a, mut b) = (String::from("x,y\n"), String::from("x,y\n"));
    for i in 0..400 {
        a.push_str(&format!("{},{}\n", i % 97, ["cat", "dog"][i % 2]));
        // 'cat' 50 % -> 80 %: label shift 0.3, six times the medium threshold 0.05.
        b.push_str(&format!(
            "{},{}\n",
            i % 97,
            if i % 5 == 0 { "dog" } else { "cat" }
        ));
    }
    std::fs::write(d.join("a.csv"), &a).unwrap();
    std::fs::write(d.join("b.csv"), &b).unwrap();
    let base = d.join("base.json");
    let o = bin()
        .args(["-q", "profile"])
        .arg(d.join("a.csv"))
        .args(["--label", "y", "-o"])
        .arg(&base)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (code, _, json, html) = drift_outputs(&base, &d.join("b.csv"), d, &[]);
    assert_eq!(code, 1, "{json}");
    assert!(json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "drift.label_shift"));
    let col = |n: &str| {
        json["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["column"] == n)
            .unwrap()
            .clone()
    };
    let y = col("y");
    assert_eq!(y["label"], true, "{y}");
    assert_eq!(y["score_statistic"], "label_shift", "{y}");
    assert!((y["score"].as_f64().unwrap() - 6.0).abs() < 1e-6, "{y}");
    assert!(
        (y["statistics"]["linf"].as_f64().unwrap() - 0.3).abs() < 1e-6,
        "{y}"
    );
    assert!(col("x").get("label").is_none());
    // HTML: the label's overview row and section say so and carry the score, first.
    let row = html
        .split("<tr class=\"ov-row\"")
        .nth(1)
        .expect("an overview row");
    assert!(row.starts_with(" data-column=\"y\""), "{row}");
    assert!(
        row.contains("string · label") && row.contains("6.00") && row.contains("label_shift 0.3"),
        "{row}"
    );
    assert!(html.contains("string · label · drift score 6.00"), "{html}");
}

/// A numeric label (digits' 0-9) whose shares move is one finding, `drift.label_shift`,
/// not also KS / Wasserstein / PSI findings on the same column (they are named in its
/// `evidence.folded`); a feature's own distribution findings stay.
#[test]
fn a_numeric_label_shift_is_one_finding() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = std::fs::read_to_string(data("digits.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let li = header.split(',').position(|c| c == "digit").unwrap();
    let mut cur = format!("{header}\n");
    for (i, l) in lines.enumerate() {
        let y: u32 = l.split(',').nth(li).unwrap().parse().unwrap();
        // Keep every 5-9 and one in five of 0-4: the shares of 0-4 fall by about 2/3.
        if y >= 5 || i % 5 == 0 {
            cur.push_str(l);
            cur.push('\n');
        }
    }
    std::fs::write(d.join("cur.csv"), cur).unwrap();
    let base = d.join("base.json");
    let o = bin()
        .args(["-q", "profile"])
        .arg(data("digits.csv"))
        .args(["--label", "digit", "-o"])
        .arg(&base)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (code, v) = drift(&base, &d.join("cur.csv"), &[]);
    assert_eq!(code, 1, "{v}");
    let on_label: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["evidence"]["column"] == "digit")
        .filter(|f| f["id"] != "drift.label_consistency")
        .collect();
    assert_eq!(on_label.len(), 1, "{on_label:?}");
    assert_eq!(on_label[0]["id"], "drift.label_shift");
    let folded = on_label[0]["evidence"]["folded"].as_array().unwrap();
    assert!(
        folded.iter().any(|x| x == "drift.ks"),
        "the shift moved the label's distribution too: {folded:?}"
    );
    // The label column still carries its numeric statistics in the columns table.
    let col = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["column"] == "digit")
        .unwrap();
    assert!(col["statistics"]["ks"].is_number(), "{col}");
}
