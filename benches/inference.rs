//! Inference-log monitoring benchmark: detection quality on seeded generated logs
//! and throughput on a large log under /tmp.
//!
//!   cargo bench --bench inference -- [--seeds N] [--queries N] [--dir /tmp/mlguard-inference]
//!
//! Part 1 (quality): for each seed, the default generator mix (40 benign clients with
//! 150-400 queries, 2 each of JbDA / uniform / one-feature / Knockoff attackers with 600
//! queries) is written as CSV and scanned; prints per-kind detection rate, detectors that
//! fired, benign false-positive rate and PRADA queries-to-detection.
//! Part 2 (throughput): a log with about `--queries` queries (benign clients of 150-400
//! queries plus 1% attackers) is written to `--dir` and scanned with the library `scan()`
//! (CSV read + all detectors); prints queries/s. `benches/inference.sh` then times the
//! release binary on that log with `/usr/bin/time -v` (peak RSS). The log is generated client by client (not
//! time-interleaved), which does not change the work the scanner does.

use mlguard::config::Config;
use mlguard::scan::inference::{scan, Options};
use mlguard_testgen::inference::{self as gen, GenConfig, Kind};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seeds: u64 = arg(&args, "--seeds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let queries: usize = arg(&args, "--queries")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = PathBuf::from(arg(&args, "--dir").unwrap_or_else(|| "/tmp/mlguard-inference".into()));
    std::fs::create_dir_all(&dir).expect("create bench dir");
    let data = gen::load_csv(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/datasets/digits.csv"),
    )
    .expect("digits.csv");

    // Part 1: quality.
    let mut detected: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut detectors: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    let mut qtd: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let mut prada_w: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut benign_total = 0usize;
    let mut benign_flagged = 0usize;
    let mut benign_queries = 0usize;
    for seed in 0..seeds {
        let cfg = GenConfig {
            seed: 1000 + seed,
            ..GenConfig::default()
        };
        let g = gen::generate(&data, &cfg);
        let path = dir.join(format!("quality-{seed}.csv"));
        gen::write_csv(&g, &path).expect("write");
        let out = scan(&[path], &Config::default(), &Options::default()).expect("scan");
        let mut by: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for f in &out.findings {
            by.entry(f.subject.as_str())
                .or_default()
                .insert(f.id.as_str());
            if f.id == "scan.inference.prada" {
                let kind = g
                    .clients
                    .iter()
                    .find(|c| c.0 == f.subject)
                    .map(|c| c.1.name())
                    .unwrap_or("?");
                if let Some(q) = f
                    .evidence
                    .get("queries_to_detection")
                    .and_then(|v| v.as_u64())
                {
                    qtd.entry(kind).or_default().push(q);
                }
            }
        }
        // PRADA W at the end for every client (also the undetected ones).
        let s = mlguard::scan::inference::Settings::default();
        let log = mlguard::scan::inference::read::read_files(
            &[dir.join(format!("quality-{seed}.csv"))],
            &s,
            None,
        )
        .expect("read");
        let no_stop = mlguard::scan::inference::Settings {
            prada_delta: 0.0,
            ..s.clone()
        };
        for c in &log.clients {
            let kind = g
                .clients
                .iter()
                .find(|x| x.0 == c.name)
                .map(|x| x.1.name())
                .unwrap_or("?");
            if let Some(p) = mlguard::scan::inference::detect::prada(c, log.dim, &no_stop) {
                prada_w.entry(kind).or_default().push(p.w);
            }
        }
        for (name, kind) in &g.clients {
            let ids = by.get(name.as_str());
            if *kind == Kind::Benign {
                benign_total += 1;
                benign_queries += g
                    .queries
                    .iter()
                    .filter(|q| g.clients[q.client as usize].0 == *name)
                    .count();
                if ids.is_some() {
                    benign_flagged += 1;
                    for id in ids.into_iter().flatten() {
                        *detectors
                            .entry("benign")
                            .or_default()
                            .entry(id.to_string())
                            .or_default() += 1;
                    }
                }
                continue;
            }
            let e = detected.entry(kind.name()).or_default();
            e.1 += 1;
            if let Some(ids) = ids {
                e.0 += 1;
                for id in ids {
                    *detectors
                        .entry(kind.name())
                        .or_default()
                        .entry(id.to_string())
                        .or_default() += 1;
                }
            }
        }
    }
    println!("== quality: {seeds} seeds, digits (64 features), default [inference] settings ==");
    for (kind, (d, n)) in &detected {
        println!(
            "{kind:<11} detected {d}/{n} ({:.0}%)  detectors: {:?}",
            100.0 * *d as f64 / *n as f64,
            detectors.get(kind)
        );
    }
    println!(
        "benign      flagged {benign_flagged}/{benign_total} clients (FPR {:.2}%), {benign_queries} benign queries  detectors: {:?}",
        100.0 * benign_flagged as f64 / benign_total.max(1) as f64,
        detectors.get("benign")
    );
    for (kind, v) in &mut qtd {
        v.sort();
        println!(
            "PRADA queries-to-detection {kind:<11} n={} min={} median={} max={}",
            v.len(),
            v.first().unwrap_or(&0),
            v.get(v.len() / 2).unwrap_or(&0),
            v.last().unwrap_or(&0)
        );
    }
    for (kind, v) in &mut prada_w {
        v.sort_by(|a, b| a.total_cmp(b));
        println!(
            "PRADA final W (whole log) {kind:<11} n={} min={:.3} median={:.3} max={:.3}",
            v.len(),
            v.first().unwrap_or(&0.0),
            v.get(v.len() / 2).unwrap_or(&0.0),
            v.last().unwrap_or(&0.0)
        );
    }

    // Part 2: throughput.
    if queries == 0 {
        return;
    }
    let path = dir.join(format!("throughput-{queries}.csv"));
    let t0 = Instant::now();
    let mut written = 0usize;
    {
        use std::io::Write;
        let f = std::fs::File::create(&path).expect("create");
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let mut part = 0u64;
        let mut header = true;
        while written < queries {
            let cfg = GenConfig {
                seed: 50_000 + part,
                benign: 99,
                attackers: vec![(Kind::Jbda, 1)],
                attacker_queries: 300,
                ..GenConfig::default()
            };
            let mut g = gen::generate(&data, &cfg);
            for c in g.clients.iter_mut() {
                c.0 = format!("p{part}-{}", c.0);
            }
            let tmp = dir.join("part.csv");
            gen::write_csv(&g, &tmp).expect("write part");
            let text = std::fs::read(&tmp).expect("read part");
            let body = if header {
                &text[..]
            } else {
                let nl = text
                    .iter()
                    .position(|b| *b == b'\n')
                    .map(|i| i + 1)
                    .unwrap_or(0);
                &text[nl..]
            };
            w.write_all(body).expect("write");
            header = false;
            written += g.queries.len();
            part += 1;
        }
        w.flush().expect("flush");
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "\n== throughput: generated {written} queries ({:.1} MiB CSV) in {:.1}s ==",
        size as f64 / 1048576.0,
        t0.elapsed().as_secs_f64()
    );
    // Read only: every query decoded and dropped (the streaming reader `scan` uses).
    let t1 = Instant::now();
    let mut n = 0u64;
    mlguard::scan::inference::read::for_each_query(
        std::slice::from_ref(&path),
        &mlguard::scan::inference::Settings::default(),
        None,
        &mut |_| {
            n += 1;
            Ok(())
        },
    )
    .expect("read");
    let tr = t1.elapsed().as_secs_f64();
    assert_eq!(n as usize, written);
    let t2 = Instant::now();
    let out = scan(&[path], &Config::default(), &Options::default()).expect("scan");
    let ts = t2.elapsed().as_secs_f64();
    println!("read only: {tr:.1}s ({:.0} queries/s)", written as f64 / tr);
    println!(
        "full scan: {ts:.1}s ({:.0} queries/s), {} findings, threads={}",
        written as f64 / ts,
        out.findings.len(),
        rayon::current_num_threads()
    );
    let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &out.findings {
        *ids.entry(f.id.as_str()).or_default() += 1;
    }
    println!("findings by id: {ids:?}");
}
