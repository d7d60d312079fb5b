//! docs/mlguard.toml, the commented example configuration, stays valid and complete: it is
//! parsed by the library's own section types (unknown keys are errors there), as written and
//! with every `#:` (shown, not set) line uncommented, covers every known section, and the
//! binary accepts it as `--config`.

use crate::util as common;
use common::bin;
use mlguard::config::{Config, SECTIONS};
use std::path::{Path, PathBuf};

fn example() -> (PathBuf, String) {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/mlguard.toml");
    let text = std::fs::read_to_string(&p).unwrap();
    (p, text)
}

/// Every section through the type that reads it (as `fuzz_config` does).
fn check_sections(text: &str, what: &str) -> Config {
    let c = Config::parse(text, Some("docs/mlguard.toml".into()))
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let errs: Vec<String> = [
        c.section::<mlguard::input::source::Limits>("input").err(),
        c.section::<mlguard::input::remote::Storage>("storage")
            .err(),
        c.section::<mlguard::integrity::dsse::TrustConfig>("trust")
            .err(),
        c.section::<mlguard::drift::Settings>("drift").err(),
        c.section::<mlguard::scan::detect::Settings>("scan").err(),
        c.section::<mlguard::scan::assets::AssetConfig>("assets")
            .err(),
        c.section::<mlguard::scan::sigma::Settings>("sigma").err(),
        c.section::<mlguard::scan::detect::chains::Environments>("environments")
            .err(),
        c.section::<mlguard::scan::detect::chains::Identities>("identities")
            .err(),
        c.section::<mlguard::scan::inference::Settings>("inference")
            .err(),
        c.section::<mlguard::inspect::policy::Section>("inspect")
            .err(),
    ]
    .into_iter()
    .flatten()
    .map(|e| e.to_string())
    .collect();
    assert!(errs.is_empty(), "{what}: {errs:#?}");
    c
}

#[test]
fn the_example_config_parses_and_covers_every_section() {
    let (_, text) = example();
    check_sections(&text, "as written");
    let uncommented: String = text
        .lines()
        .map(|l| l.strip_prefix("#: ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(uncommented, text, "the example shows some keys with #:");
    check_sections(&uncommented, "with the #: lines");
    for s in SECTIONS {
        assert!(
            text.lines().any(|l| l.trim() == format!("[{s}]")),
            "docs/mlguard.toml has no [{s}] section"
        );
    }
    // [drift] is serialisable: every one of its keys is in the example (the other sections
    // are checked key by key by deny_unknown_fields only).
    let drift = serde_json::to_value(mlguard::drift::Settings::default()).unwrap();
    for key in drift.as_object().unwrap().keys() {
        assert!(
            key == "columns" || text.lines().any(|l| l.starts_with(&format!("{key} = "))),
            "[drift] {key} is not in docs/mlguard.toml"
        );
    }
    // The values shown as defaults are the defaults.
    let c = Config::parse(&text, None).unwrap();
    let d: mlguard::drift::Settings = c.section("drift").unwrap();
    let def = mlguard::drift::Settings::default();
    assert_eq!(d.ks, def.ks);
    assert_eq!(d.trigger_z, def.trigger_z);
    assert_eq!(d.volume_ratio, def.volume_ratio);
    let i: mlguard::input::source::Limits = c.section("input").unwrap();
    assert_eq!(i, mlguard::input::source::Limits::default());
    let sev: String = c
        .section::<mlguard::inspect::policy::Section>("inspect")
        .unwrap()
        .fail_on
        .unwrap();
    assert!(sev.parse::<mlguard::report::Severity>().is_ok());
}

/// The binary takes it as `--config` (a command that reads [input], [storage] and [drift]).
#[test]
fn the_example_config_is_accepted_by_the_binary() {
    let (p, _) = example();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("t.csv");
    let mut text = String::from("x,y\n");
    for i in 0..40 {
        text.push_str(&format!("{},{}\n", i % 7, i % 2));
    }
    std::fs::write(&csv, text).unwrap();
    let prof = dir.path().join("p.json");
    let o = bin()
        .args(["-q", "--config"])
        .arg(&p)
        .arg("profile")
        .arg(&csv)
        .arg("-o")
        .arg(&prof)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = bin()
        .args(["-q", "--config"])
        .arg(&p)
        .args(["drift", "--baseline"])
        .arg(&prof)
        .arg(&prof)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
