//! Write the drift proof cases for one dataset (see `crates/testgen/src/cases.rs`) and print them as
//! TSV lines: name, must_fail, expected finding, expected column/label, baseline, current.
//!
//!   cargo run --example drift_cases -- DATASET.csv LABEL OUT_DIR [SEED] [RESAMPLE_ROWS] [batches]
//!
//! With `batches`, the new-batch cases of `cases::generate_batches` (issue 14) instead.
fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 3 {
        eprintln!("usage: drift_cases DATASET.csv LABEL OUT_DIR [SEED] [RESAMPLE_ROWS]");
        std::process::exit(2);
    }
    let seed = a.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let resample = a.get(4).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let gen = if a.get(5).map(String::as_str) == Some("batches") {
        mlguard_testgen::cases::generate_batches
    } else {
        mlguard_testgen::cases::generate
    };
    match gen(a[0].as_ref(), &a[1], a[2].as_ref(), seed, resample) {
        Ok(cases) => {
            for c in cases {
                let (id, what) = c.expect.unwrap_or_default();
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    c.name,
                    c.must_fail,
                    id,
                    what,
                    c.baseline.display(),
                    c.current.display()
                );
            }
        }
        Err(e) => {
            eprintln!("drift_cases: {e}");
            std::process::exit(2);
        }
    }
}
