//! The command line as a user meets it: `--format` help lists exactly what each
//! command renders, `profile merge`/`profile show` are real subcommands with their own flags,
//! `verify` names both of its sources. The real binary, on small trees built here.

use crate::util as common;
use common::{bin, testdata};
use std::process::Output;

fn run(args: &[&std::ffi::OsStr]) -> Output {
    bin().args(args).output().unwrap()
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The `--format` values a command's `--help` lists (clap's "Possible values" block).
fn listed_formats(command: &str) -> Vec<String> {
    let o = bin().args([command, "--help"]).output().unwrap();
    assert!(o.status.success());
    let help = String::from_utf8(o.stdout).unwrap();
    let at = help.find("--format <").expect("a --format option");
    let block = &help[at..];
    let end = block.find("[default:").expect("a default");
    block[..end]
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .map(|l| l.split(':').next().unwrap().trim().to_string())
        .collect()
}

const ALL: [&str; 9] = [
    "table",
    "json",
    "jsonl",
    "sarif",
    "junit",
    "ocsf",
    "csv",
    "b3sum",
    "sha256sum",
];

/// A dataset, its manifest, a profile of it: the inputs every command below needs.
struct Fixture {
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
    manifest: std::path::PathBuf,
    profile: std::path::PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mut csv = String::from("x,y\n");
    for i in 0..60 {
        csv.push_str(&format!("{},{}\n", i % 13, i % 2));
    }
    std::fs::write(data.join("t.csv"), csv).unwrap();
    let manifest = dir.path().join("m.json");
    let o = run(&[
        os("-q"),
        os("hash"),
        data.as_os_str(),
        os("-o"),
        manifest.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", err(&o));
    let profile = dir.path().join("p.json");
    let o = run(&[
        os("-q"),
        os("profile"),
        data.join("t.csv").as_os_str(),
        os("--label"),
        os("y"),
        os("-o"),
        profile.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", err(&o));
    Fixture {
        _dir: dir,
        data,
        manifest,
        profile,
    }
}

/// Each command's `--format` help lists exactly the formats it renders: every listed value
/// runs (exit 0) and writes something, every other value is refused by the parser (exit 2)
/// naming only the listed ones.
#[test]
fn format_help_lists_exactly_what_each_command_renders() {
    let f = fixture();
    let pickle = testdata("models/picklescan/benign0_v3.pkl");
    let cases: Vec<(&str, Vec<&std::ffi::OsStr>, &[&str])> = vec![
        (
            "verify",
            vec![f.data.as_os_str(), os("--manifest"), f.manifest.as_os_str()],
            &["table", "json", "junit"],
        ),
        (
            "diff",
            vec![f.manifest.as_os_str(), f.manifest.as_os_str()],
            &["table", "json", "junit"],
        ),
        (
            "drift",
            vec![
                os("--baseline"),
                f.profile.as_os_str(),
                f.profile.as_os_str(),
            ],
            &["table", "json", "jsonl", "sarif", "junit"],
        ),
        (
            "inspect",
            vec![pickle.as_os_str()],
            &["table", "json", "jsonl", "sarif"],
        ),
        (
            "hash",
            vec![f.data.as_os_str()],
            &["json", "b3sum", "sha256sum"],
        ),
    ];
    for (command, args, want) in &cases {
        assert_eq!(listed_formats(command), *want, "{command} --help");
        for format in ALL {
            let mut a = vec![os("-q"), os(command)];
            a.extend(args.iter().copied());
            a.extend([os("--format"), os(format)]);
            let o = run(&a);
            if want.contains(&format) {
                assert_eq!(
                    o.status.code(),
                    Some(0),
                    "{command} --format {format}: {}",
                    err(&o)
                );
                // JSON Lines has one line per finding, and a benign model has none.
                let findingless = format == "jsonl" && *command == "inspect";
                assert!(
                    findingless || !o.stdout.is_empty(),
                    "{command} --format {format}: no output"
                );
            } else {
                assert_eq!(o.status.code(), Some(2), "{command} --format {format}");
                let e = err(&o);
                assert!(
                    e.contains(&format!("invalid value '{format}'"))
                        && e.contains(&format!("[possible values: {}]", want.join(", "))),
                    "{command} --format {format}: {e}"
                );
            }
        }
    }
    // scan renders every report format (CSV for its views), and no checksum list.
    assert_eq!(
        listed_formats("scan"),
        ["table", "json", "jsonl", "sarif", "junit", "ocsf", "csv"]
    );
}

#[test]
fn verify_without_a_source_names_both_manifest_and_signature() {
    let f = fixture();
    let o = run(&[os("verify"), f.data.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(e.contains("--manifest") && e.contains("--signature"), "{e}");
    let o = run(&[
        os("verify"),
        f.data.as_os_str(),
        os("--manifest"),
        f.manifest.as_os_str(),
        os("--signature"),
        f.manifest.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("cannot be used with"), "{}", err(&o));
    let help =
        String::from_utf8(bin().args(["verify", "--help"]).output().unwrap().stdout).unwrap();
    assert!(help.contains("--manifest MANIFEST") && help.contains("--signature"));
}

#[test]
fn profile_merge_and_show_are_real_subcommands() {
    let f = fixture();
    // Their own help, both ways.
    for args in [
        &["help", "profile", "merge"][..],
        &["profile", "merge", "--help"],
    ] {
        let o = bin().args(args).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", err(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("Usage: mlguard profile merge"),
            "{args:?}: {out}"
        );
        assert!(!out.contains("--label"), "{args:?}: merge has no --label");
    }
    let o = bin().args(["profile", "help"]).output().unwrap();
    assert!(o.status.success(), "{}", err(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("merge") && out.contains("show"), "{out}");
    // The common form still works.
    let p2 = f.data.join("../p2.json");
    let o = run(&[
        os("-q"),
        os("profile"),
        f.data.as_os_str(),
        os("--label"),
        os("y"),
        os("--seed"),
        os("3"),
        os("-o"),
        p2.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", err(&o));
    // Flags of the build form are errors on merge and show, not ignored.
    for flag in [&["--label", "y"][..], &["--kll-k", "100"], &["--text", "x"]] {
        let mut a = vec![
            os("profile"),
            os("merge"),
            f.profile.as_os_str(),
            p2.as_os_str(),
        ];
        a.extend(flag.iter().map(|s| os(s)));
        let o = run(&a);
        assert_eq!(o.status.code(), Some(2), "{flag:?}");
        assert!(
            err(&o).contains(&format!("unexpected argument '{}'", flag[0])),
            "{}",
            err(&o)
        );
    }
    let o = run(&[
        os("profile"),
        os("show"),
        f.profile.as_os_str(),
        os("--label"),
        os("y"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[os("profile"), os("show"), f.profile.as_os_str()]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("2 columns"));
}

#[test]
fn merging_a_profile_with_itself_is_refused() {
    let f = fixture();
    let dir = f.profile.parent().unwrap();
    let merged = dir.join("merged.json");
    let copy = dir.join("copy.json");
    std::fs::copy(&f.profile, &copy).unwrap();
    let same_path = run(&[
        os("profile"),
        os("merge"),
        f.profile.as_os_str(),
        f.profile.as_os_str(),
        os("-o"),
        merged.as_os_str(),
    ]);
    let same_bytes = run(&[
        os("profile"),
        os("merge"),
        f.profile.as_os_str(),
        copy.as_os_str(),
        os("-o"),
        merged.as_os_str(),
    ]);
    for (o, how) in [
        (&same_path, "is the same file as"),
        (&same_bytes, "has the same content as"),
    ] {
        assert_eq!(o.status.code(), Some(2), "{}", err(o));
        let e = err(o);
        assert!(e.contains(how) && e.contains("count its rows twice"), "{e}");
    }
    assert!(!merged.exists(), "nothing is written");
    let other = dir.join("other.json");
    // A profile of other data, with the same settings, merges: the rows add up.
    let t2 = f.data.join("t2.csv");
    std::fs::write(&t2, "x,y\n1,0\n2,1\n").unwrap();
    let o = run(&[
        os("-q"),
        os("profile"),
        t2.as_os_str(),
        os("--label"),
        os("y"),
        os("-o"),
        other.as_os_str(),
    ]);
    assert!(o.status.success());
    let o = run(&[
        os("-q"),
        os("profile"),
        os("merge"),
        f.profile.as_os_str(),
        other.as_os_str(),
        os("-o"),
        merged.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", err(&o));
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&merged).unwrap()).unwrap();
    assert_eq!(m["rows"], 62);
}

/// `profile merge` (and `profile`) never dump a profile onto a terminal: without -o they
/// write to stdout only when it is a pipe or a file. The terminal is `script`'s pty.
#[test]
fn profile_json_is_not_dumped_onto_a_terminal() {
    let f = fixture();
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("note: `script` (util-linux) not installed; terminal check skipped");
        return;
    }
    let exe = env!("CARGO_BIN_EXE_mlguard");
    let cmd = format!("'{exe}' profile merge '{}'", f.profile.display());
    let o = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("give -o FILE"), "{out}");
    assert!(!out.contains("mlguard-profile"), "{out}");
    // Piped, it is written.
    let o = run(&[os("profile"), os("merge"), f.profile.as_os_str()]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"mlguard-profile\""));
}

/// `profile --input-format` names the input's format; `--format`, its former name, still
/// works (a hidden alias) and is not listed.
#[test]
fn profile_input_format_is_named_for_what_it_is() {
    let f = fixture();
    let tsv_as_csv = f.data.join("t.csv");
    let a = run(&[
        os("profile"),
        tsv_as_csv.as_os_str(),
        os("--input-format"),
        os("csv"),
    ]);
    let b = run(&[
        os("profile"),
        tsv_as_csv.as_os_str(),
        os("--format"),
        os("csv"),
    ]);
    assert!(
        a.status.success() && b.status.success(),
        "{}{}",
        err(&a),
        err(&b)
    );
    let strip = |o: &Output| {
        let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v.as_object_mut().unwrap().remove("created");
        v
    };
    assert_eq!(strip(&a)["rows"], 60);
    assert_eq!(strip(&a)["settings"], strip(&b)["settings"]);
    let help =
        String::from_utf8(bin().args(["profile", "--help"]).output().unwrap().stdout).unwrap();
    assert!(help.contains("--input-format <FORMAT>"));
    assert!(!help.contains("--format <"), "{help}");
    let o = run(&[
        os("profile"),
        tsv_as_csv.as_os_str(),
        os("--input-format"),
        os("table"),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

/// Every command path (`["profile", "merge"]`...), depth first, without clap's `help`.
fn command_paths() -> Vec<Vec<String>> {
    use clap::CommandFactory;
    fn walk(c: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for s in c.get_subcommands() {
            if s.get_name() == "help" {
                continue;
            }
            let mut p = prefix.to_vec();
            p.push(s.get_name().to_string());
            out.push(p.clone());
            walk(s, &p, out);
        }
    }
    let mut out = vec![Vec::new()];
    walk(&mlguard::cli::Cli::command(), &[], &mut out);
    out
}

/// docs/cli.md, the command-line reference, is the binary's own `--help` for every command
/// and subcommand; this test fails when it is stale. Regenerate with
/// `MLGUARD_BLESS=1 cargo test --test tests cli::cli_reference`.
#[test]
fn cli_reference_in_docs_is_current() {
    let mut md = String::from(
        "# mlguard command-line reference\n\n\
         Generated from the binary's own `--help` (every command and subcommand) by\n\
         `tests/cli.rs`, which fails when this file is stale; do not edit it by hand:\n\
         `MLGUARD_BLESS=1 cargo test --test tests cli::cli_reference` rewrites it.\n\
         Shell completions: `mlguard completions bash|zsh|fish|powershell|elvish`.\n",
    );
    for path in command_paths() {
        let o = bin()
            .args(&path)
            .arg("--help")
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        assert!(o.status.success(), "{path:?}: {}", err(&o));
        let title = std::iter::once("mlguard")
            .chain(path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        md.push_str(&format!(
            "\n## `{title}`\n\n```text\n{}```\n",
            String::from_utf8(o.stdout).unwrap()
        ));
    }
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md");
    if std::env::var_os("MLGUARD_BLESS").is_some() {
        std::fs::write(&file, &md).unwrap();
    }
    let have = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        have == md,
        "docs/cli.md is stale (the help changed): run `MLGUARD_BLESS=1 cargo test --test tests cli::cli_reference` and commit it"
    );
    assert!(md.contains("## `mlguard profile merge`") && md.contains("## `mlguard completions`"));
}

#[test]
fn completions_are_generated_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_mlguard()"),
        ("zsh", "#compdef mlguard"),
        ("fish", "complete -c mlguard"),
    ] {
        let o = bin().args(["completions", shell]).output().unwrap();
        assert!(o.status.success(), "{shell}: {}", err(&o));
        let s = String::from_utf8(o.stdout).unwrap();
        assert!(s.contains(marker), "{shell}: no {marker}");
        // The subcommands and their own flags are offered.
        assert!(
            s.contains("merge") && s.contains("input-format") && s.contains("verify"),
            "{shell}"
        );
    }
    // The bash script is valid bash.
    if std::process::Command::new("bash")
        .arg("--version")
        .output()
        .is_ok()
    {
        let o = bin().args(["completions", "bash"]).output().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("mlguard.bash");
        std::fs::write(&f, &o.stdout).unwrap();
        let n = std::process::Command::new("bash")
            .arg("-n")
            .arg(&f)
            .output()
            .unwrap();
        assert!(n.status.success(), "{}", err(&n));
    }
    let o = bin().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// Error hints for the two mistakes a new user makes first.
#[test]
fn errors_hint_at_the_right_command() {
    let f = fixture();
    let dir = f.data.parent().unwrap();
    // An inference request log given to the audit-log scan.
    let q = dir.join("queries.csv");
    std::fs::write(
        &q,
        "timestamp,client_id,model,f0,prediction,confidence\n2024-01-01T00:00:00Z,c1,m,0.5,1,0.9\n",
    )
    .unwrap();
    let o = run(&[os("scan"), q.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("scan it with 'mlguard scan --source inference'"),
        "{}",
        err(&o)
    );
    // A real audit log that is broken gets no such hint.
    let bad = dir.join("trail.json");
    std::fs::write(&bad, "{\"Records\": 5}").unwrap();
    let o = run(&[os("scan"), bad.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!err(&o).contains("--source inference"), "{}", err(&o));
    // A manifest given as --signature: named as a manifest, with both ways forward.
    let o = run(&[
        os("verify"),
        f.data.as_os_str(),
        os("--signature"),
        f.manifest.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    let e = err(&o);
    assert!(
        e.contains("is a manifest") && e.contains("--manifest") && e.contains("mlguard sign"),
        "{e}"
    );
}

/// `mlguard man` prints roff generated from the parser's own definition (one page per
/// command; `--dir` writes them all), and groff renders it without warnings.
#[test]
fn man_pages_are_generated_from_the_cli() {
    let o = bin().arg("man").output().unwrap();
    assert!(o.status.success(), "{}", err(&o));
    let page = String::from_utf8(o.stdout).unwrap();
    assert!(page.contains(".TH mlguard 1"), "{page}");
    // Every command is listed, with the page to read for it.
    for c in [
        "hash",
        "verify",
        "profile",
        "drift",
        "scan",
        "inspect",
        "completions",
    ] {
        assert!(page.contains(&format!("mlguard\\-{c}(1)")), "{c}");
    }
    // A subcommand's page documents its own flags.
    let o = bin().args(["man", "profile", "merge"]).output().unwrap();
    assert!(o.status.success(), "{}", err(&o));
    let sub = String::from_utf8(o.stdout).unwrap();
    assert!(sub.contains(".TH mlguard-profile-merge 1") && sub.contains("\\-\\-output"));
    assert!(sub.contains(&format!("\"mlguard {}\"", env!("CARGO_PKG_VERSION"))));
    // Not a command: usage error.
    let o = bin().args(["man", "profile", "nope"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("'nope' is not a command of 'mlguard profile'"));
    // --dir: one file per command and subcommand.
    let dir = tempfile::tempdir().unwrap();
    let o = bin()
        .arg("man")
        .arg("--dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));
    for f in [
        "mlguard.1",
        "mlguard-hash.1",
        "mlguard-profile-merge.1",
        "mlguard-man.1",
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    let o = bin()
        .args(["man", "hash", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "a page name and --dir conflict");
    // groff reads it: no warnings, the sections are there.
    let groff = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = groff else {
        if std::env::var_os("CI").is_some() {
            panic!("groff is required in CI (.ci/run installs it)");
        }
        eprintln!("note: groff not on PATH; skipping the rendering check");
        return;
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let r = child.wait_with_output().unwrap();
    assert!(r.status.success());
    assert!(
        r.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    // Bold is overstruck (`N\bN`): keep the last of each pair.
    let mut text = String::new();
    for c in String::from_utf8_lossy(&r.stdout).chars() {
        if c == '\u{8}' {
            text.pop();
        } else {
            text.push(c);
        }
    }
    assert!(
        text.contains("NAME") && text.contains("SYNOPSIS") && text.contains("SUBCOMMANDS"),
        "{text}"
    );
}
