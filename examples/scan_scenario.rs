//! Write the documented `mlguard scan` scenario (a normal month of CloudTrail plus an insider
//! pulling the model bucket at night; see `crates/testgen/src/scenario.rs`).
//!
//!   cargo run --example scan_scenario -- OUT_DIR [SEED] [DAYS] [SCALE]
use mlguard_testgen::scenario::{write, Scenario};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: scan_scenario OUT_DIR [SEED] [DAYS] [SCALE]");
        std::process::exit(2);
    };
    let mut sc = Scenario::default();
    if let Some(s) = args.get(1).and_then(|s| s.parse().ok()) {
        sc.seed = s;
    }
    if let Some(d) = args.get(2).and_then(|s| s.parse().ok()) {
        sc.days = d;
        sc.insider_day = sc.insider_day.min(d);
    }
    if let Some(k) = args.get(3).and_then(|s| s.parse().ok()) {
        sc.scale = k;
    }
    match write(std::path::Path::new(dir), &sc) {
        Ok(w) => println!("{} files, {} events in {dir}", w.files.len(), w.events),
        Err(e) => {
            eprintln!("scan_scenario: {dir}: {e}");
            std::process::exit(2);
        }
    }
}
