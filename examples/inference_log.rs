//! Write a seeded sample inference log (benign clients querying scikit-learn's digits plus
//! the four attacker kinds; see `crates/testgen/src/inference.rs`) as a default-schema CSV, and
//! print which client is which so a scan's findings can be checked by eye.
//!
//!   cargo run --example inference_log -- OUT.csv [SEED] [DIGITS_CSV]
use mlguard_testgen::inference::{generate, load_csv, write_csv, GenConfig};
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: inference_log OUT.csv [SEED] [DIGITS_CSV]");
        std::process::exit(2);
    };
    let mut cfg = GenConfig::default();
    if let Some(s) = args.get(1).and_then(|s| s.parse().ok()) {
        cfg.seed = s;
    }
    let digits = args
        .get(2)
        .map(String::as_str)
        .unwrap_or("testdata/datasets/digits.csv");
    let run = || -> mlguard_testgen::Result<()> {
        let g = generate(&load_csv(Path::new(digits))?, &cfg);
        write_csv(&g, Path::new(out))?;
        println!(
            "{} queries from {} clients in {out}",
            g.queries.len(),
            g.clients.len()
        );
        for (name, kind) in g.clients.iter().filter(|c| c.1.name() != "benign") {
            println!("  {name}: {}", kind.name());
        }
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("inference_log: {e}");
        std::process::exit(2);
    }
}
