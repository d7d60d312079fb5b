//! The README's tour runs as written: every `$ ` command of its `console` blocks, in order,
//! in a fresh directory holding a copy of the bundled `testdata/`, and every output line the
//! README prints is found, in order, in what the command printed (stdout and stderr).
//!
//! Cuts: a line that is only `...` stands for lines left out; a line containing `...` is
//! matched by its text before the `...`; key ids (random per key) are not compared. The
//! `cargo run --release --example NAME` steps call the same generator functions in process
//! (a test cannot build an example), and print what the example prints.

use std::path::Path;
use std::process::Command;

struct Step {
    cmd: String,
    expect: Vec<String>,
}

fn steps(readme: &str) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    let mut inside = false;
    for line in readme.lines() {
        if !inside {
            inside = line.trim_end() == "```console";
            continue;
        }
        if line.starts_with("```") {
            inside = false;
            continue;
        }
        if let Some(c) = line.strip_prefix("$ ") {
            // A trailing `  # comment` is the README's, not the shell's business.
            let cmd = match c.find("  #") {
                Some(i) => c[..i].trim_end(),
                None => c.trim_end(),
            };
            out.push(Step {
                cmd: cmd.to_string(),
                expect: Vec::new(),
            });
        } else if let Some(s) = out.last_mut() {
            s.expect.push(line.to_string());
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}

/// What the example would print, after doing what it does (in `dir`).
fn example(dir: &Path, cmd: &str) -> String {
    let args: Vec<&str> = cmd
        .split_once(" -- ")
        .map(|(_, a)| a.split_whitespace().collect())
        .unwrap_or_default();
    let name = cmd
        .split_whitespace()
        .skip_while(|w| *w != "--example")
        .nth(1)
        .unwrap();
    match name {
        "drift_cases" => {
            let seed = args.get(3).map_or(1, |s| s.parse().unwrap());
            mlguard_testgen::cases::generate(
                &dir.join(args[0]),
                args[1],
                &dir.join(args[2]),
                seed,
                200_000,
            )
            .unwrap();
            String::new()
        }
        "scan_scenario" => {
            let sc = mlguard_testgen::scenario::Scenario::default();
            let w = mlguard_testgen::scenario::write(&dir.join(args[0]), &sc).unwrap();
            format!(
                "{} files, {} events in {}\n",
                w.files.len(),
                w.events,
                args[0]
            )
        }
        "inference_log" => {
            use mlguard_testgen::inference::{generate, load_csv, write_csv, GenConfig};
            let d = load_csv(&dir.join("testdata/datasets/digits.csv")).unwrap();
            let g = generate(&d, &GenConfig::default());
            write_csv(&g, &dir.join(args[0])).unwrap();
            let mut s = format!(
                "{} queries from {} clients in {}\n",
                g.queries.len(),
                g.clients.len(),
                args[0]
            );
            for (name, kind) in g.clients.iter().filter(|c| c.1.name() != "benign") {
                s.push_str(&format!("  {name}: {}\n", kind.name()));
            }
            s
        }
        other => panic!("the README runs an example this test does not know: {other}"),
    }
}

#[test]
fn readme_tour_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let steps = steps(&readme);
    assert!(steps.len() >= 30, "{} steps found", steps.len());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in ["datasets", "scan", "models"] {
        copy_dir(
            &root.join("testdata").join(sub),
            &d.join("testdata").join(sub),
        );
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_mlguard")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut last = 0;
    for s in &steps {
        let printed = if s.cmd == "echo $?" {
            format!("{last}\n")
        } else if s.cmd.starts_with("cargo run") {
            last = 0;
            example(d, &s.cmd)
        } else {
            let o = Command::new("bash")
                .arg("-c")
                .arg(format!("{} 2>&1", s.cmd))
                .current_dir(d)
                .env("PATH", &path)
                .env_remove("MLGUARD_CONFIG")
                .output()
                .unwrap();
            last = o.status.code().unwrap_or(-1);
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        let lines: Vec<&str> = printed.lines().map(str::trim_end).collect();
        let mut at = 0;
        for want in &s.expect {
            let want = want.trim_end();
            if want.trim() == "..." || want.is_empty() {
                continue;
            }
            if s.cmd.starts_with("mlguard keygen") && want.contains("(keyid ") {
                let stem = want.split("(keyid ").next().unwrap();
                assert!(
                    lines.iter().any(|l| l.starts_with(stem)),
                    "$ {}\nREADME: {want}\nprinted:\n{printed}",
                    s.cmd
                );
                continue;
            }
            let (text, cut) = match want.find("...") {
                Some(i) => (&want[..i], true),
                None => (want, false),
            };
            let found = lines[at..].iter().position(|l| {
                if cut {
                    l.starts_with(text.trim_end())
                } else {
                    *l == text
                }
            });
            match found {
                Some(i) => at += i + 1,
                None => panic!(
                    "$ {}\nthe README prints a line the command did not (in this order):\n{want}\nprinted:\n{printed}",
                    s.cmd
                ),
            }
        }
    }
    // The tour's own claim: what it writes is covered by .gitignore.
    let ignore = std::fs::read_to_string(root.join(".gitignore")).unwrap();
    for written in [
        "/data/",
        "/cases/",
        "/month/",
        "/queries.csv",
        "/owner",
        "/security",
        "/report.html",
    ] {
        assert!(
            ignore.lines().any(|l| l == written),
            "{written} not in .gitignore"
        );
    }
}
