//! The HTML reports (`drift --html`, `scan --html`) from real sample data: self-contained
//! (no script, nothing fetched), the structure a reader relies on (anchors from findings to
//! columns and principals, the flagged column first, each category drawn once, axes with
//! tick values, the trigger token and value shown), then rendered in headless Chromium:
//! its DOM has the same anchors and order, and a screenshot is not blank.
//!
//! Chromium is installed by `.ci/run` (Debian's `chromium`); without it the rendering half
//! skips with a note, and fails when `CI` is set.

use crate::util as common;
use common::bin;
use mlguard_testgen::cases;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser"] {
        let ok = Command::new(name)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(PathBuf::from(name));
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!("chromium is required in CI (.ci/run installs it: apt-get install chromium)");
    }
    eprintln!("note: chromium not on PATH; skipping the headless rendering of the HTML reports");
    None
}

/// Chromium, headless, offline-minded: no first-run, sync, component updates or
/// background networking, its own throw-away profile.
fn headless(chrome: &Path, profile: &Path) -> Command {
    let mut c = Command::new(chrome);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .stdin(Stdio::null());
    c
}

fn url(p: &Path) -> String {
    format!("file://{}", p.canonicalize().unwrap().display())
}

/// The DOM Chromium built from the file.
fn dump_dom(chrome: &Path, html: &Path, dir: &Path) -> String {
    let o = headless(chrome, &dir.join("chrome-dom"))
        .arg("--dump-dom")
        .arg(url(html))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "chromium --dump-dom: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// A 1280x2000 screenshot, decoded to RGB(A) rows.
fn screenshot(chrome: &Path, html: &Path, dir: &Path, name: &str) -> Png {
    let out = dir.join(name);
    let o = headless(chrome, &dir.join("chrome-shot"))
        .arg(format!("--screenshot={}", out.display()))
        .arg("--window-size=1280,2000")
        .arg(url(html))
        .output()
        .unwrap();
    assert!(
        o.status.success() && out.exists(),
        "chromium --screenshot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Kept for a person to look at when MLGUARD_KEEP_SCREENSHOTS names a directory.
    if let Some(keep) = std::env::var_os("MLGUARD_KEEP_SCREENSHOTS") {
        let _ = std::fs::copy(&out, Path::new(&keep).join(name));
    }
    Png::decode(&std::fs::read(&out).unwrap())
}

/// Just enough PNG (8-bit RGB/RGBA, non-interlaced: what Chromium writes) to look at the
/// pixels.
struct Png {
    width: usize,
    height: usize,
    channels: usize,
    pixels: Vec<u8>,
}

impl Png {
    fn decode(b: &[u8]) -> Png {
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
        let (mut i, mut idat) = (8, Vec::new());
        let (mut width, mut height, mut channels) = (0, 0, 0);
        while i + 8 <= b.len() {
            let len = u32::from_be_bytes(b[i..i + 4].try_into().unwrap()) as usize;
            let kind = &b[i + 4..i + 8];
            let data = &b[i + 8..i + 8 + len];
            match kind {
                b"IHDR" => {
                    width = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                    height = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                    assert_eq!(data[8], 8, "bit depth");
                    channels = match data[9] {
                        2 => 3,
                        6 => 4,
                        t => panic!("PNG colour type {t}"),
                    };
                    assert_eq!(data[12], 0, "interlaced");
                }
                b"IDAT" => idat.extend_from_slice(data),
                _ => {}
            }
            i += 12 + len;
        }
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&idat[..])
            .read_to_end(&mut raw)
            .unwrap();
        let stride = width * channels;
        assert_eq!(raw.len(), height * (stride + 1), "PNG data size");
        let mut pixels = vec![0u8; height * stride];
        for y in 0..height {
            let filter = raw[y * (stride + 1)];
            let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
            for x in 0..stride {
                let a = if x >= channels {
                    pixels[y * stride + x - channels]
                } else {
                    0
                };
                let up = if y > 0 {
                    pixels[(y - 1) * stride + x]
                } else {
                    0
                };
                let c = if x >= channels && y > 0 {
                    pixels[(y - 1) * stride + x - channels]
                } else {
                    0
                };
                let pred = match filter {
                    0 => 0,
                    1 => a,
                    2 => up,
                    3 => ((a as u16 + up as u16) / 2) as u8,
                    4 => {
                        let p = a as i16 + up as i16 - c as i16;
                        let (pa, pb, pc) = (
                            (p - a as i16).abs(),
                            (p - up as i16).abs(),
                            (p - c as i16).abs(),
                        );
                        if pa <= pb && pa <= pc {
                            a
                        } else if pb <= pc {
                            up
                        } else {
                            c
                        }
                    }
                    f => panic!("PNG filter {f}"),
                };
                pixels[y * stride + x] = line[x].wrapping_add(pred);
            }
        }
        Png {
            width,
            height,
            channels,
            pixels,
        }
    }
    fn rgb(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * self.channels;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }
    /// (share of pixels unlike the page background, distinct colours).
    fn ink(&self) -> (f64, usize) {
        let bg = self.rgb(self.width / 2, self.height - 1);
        let bg2 = self.rgb(0, 0);
        let mut colours = std::collections::HashSet::new();
        let mut ink = 0usize;
        for y in 0..self.height {
            for x in 0..self.width {
                let p = self.rgb(x, y);
                if p != bg && p != bg2 {
                    ink += 1;
                }
                if colours.len() < 10_000 {
                    colours.insert(p);
                }
            }
        }
        (
            ink as f64 / (self.width * self.height) as f64,
            colours.len(),
        )
    }
}

fn assert_not_blank(png: &Png, what: &str) {
    assert_eq!(
        (png.width, png.height),
        (1280, 2000),
        "{what}: screenshot size"
    );
    let (ink, colours) = png.ink();
    assert!(
        ink > 0.03 && colours > 30,
        "{what}: screenshot looks blank ({:.1}% ink, {colours} colours)",
        ink * 100.0
    );
    // The red FAIL badge (#fbe0e0 on #9b1c1c) is in the top of the page.
    let mut red = 0;
    for y in 0..300 {
        for x in 0..600 {
            let [r, g, b] = png.rgb(x, y);
            if r > 200 && g < 235 && b < 235 && r as i32 - g as i32 > 15 {
                red += 1;
            }
        }
    }
    assert!(
        red > 200,
        "{what}: no FAIL badge drawn at the top ({red} red pixels)"
    );
}

/// Self-contained: nothing a browser would fetch, nothing it would run.
fn assert_self_contained(h: &str, what: &str) {
    assert!(h.starts_with("<!DOCTYPE html>"), "{what}");
    for bad in [
        "<script", "<link", "src=", "http://", "https://", "url(", "@import", "<iframe", "<img",
    ] {
        assert!(!h.contains(bad), "{what} contains {bad}");
    }
}

/// The value of every `attr="..."` in `h`, in document order.
fn attrs<'a>(h: &'a str, attr: &str) -> Vec<&'a str> {
    let pat = format!("{attr}=\"");
    h.match_indices(&pat)
        .map(|(i, _)| {
            let rest = &h[i + pat.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

/// The HTML of the element that starts with `start` up to the next `end`.
fn between<'a>(h: &'a str, start: &str, end: &str) -> &'a str {
    let i = h.find(start).unwrap_or_else(|| panic!("no {start}"));
    let rest = &h[i..];
    &rest[..rest[start.len()..]
        .find(end)
        .map(|j| j + start.len())
        .unwrap_or(rest.len())]
}

fn data(name: &str) -> PathBuf {
    common::testdata("datasets").join(name)
}

/// `drift --html` on a case, and its JSON.
fn drift_html(base: &Path, cur: &Path, out: &Path) -> Value {
    let o = bin()
        .args(["-q", "drift", "--baseline"])
        .arg(base)
        .arg(cur)
        .args(["--format", "json", "--html"])
        .arg(out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn drift_report_structure_and_rendering() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cs = cases::generate(&data("breast_cancer.csv"), "diagnosis", d, 3, 0).unwrap();
    let case = |n: &str| cs.iter().find(|c| c.name == n).unwrap();
    let base = d.join("base.json");
    let o = bin()
        .args(["-q", "profile"])
        .arg(&case("trigger").baseline)
        .args(["--label", "diagnosis", "--text", "note", "-o"])
        .arg(&base)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // A numeric trigger: 2 % of rows with one feature far outside its range, relabelled.
    let trig = d.join("trigger.html");
    let json = drift_html(&base, &case("trigger").current, &trig);
    let h = std::fs::read_to_string(&trig).unwrap();
    assert_self_contained(&h, "drift report");
    let finding = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        // The numeric trigger case (one value copied into relabelled rows) is reported as a
        // point mass since the exact small-sample tests; either id names the column.
        .find(|f| f["id"] == "drift.trigger" || f["id"] == "drift.point_mass")
        .expect("a drift.trigger or drift.point_mass finding");
    let col = finding["evidence"]["column"].as_str().unwrap();
    let id = format!("col-{col}");
    // The verdict and counts on top, before any column.
    let top = &h[..h.find("id=\"overview\"").unwrap()];
    assert!(top.contains("class=\"verdict FAIL\""), "verdict not on top");
    assert!(h.find("id=\"findings\"").unwrap() < h.find("id=\"overview\"").unwrap());
    // Findings link to their column, and every link lands on an element.
    let ids: Vec<&str> = attrs(&h, "id");
    for href in attrs(&h, "href") {
        let target = href.strip_prefix('#').expect("only in-page links");
        assert!(ids.contains(&target), "link to #{target} has no target");
    }
    let findings_table = between(&h, "id=\"findings\"", "</table>");
    assert!(
        findings_table.contains(&format!("href=\"#{id}\"")),
        "{findings_table}"
    );
    // Overview: every compared column once, the flagged column first, then by score.
    let overview = between(&h, "id=\"overview\"", "</table>");
    let order: Vec<&str> = attrs(overview, "data-column");
    let columns = json["columns"].as_array().unwrap();
    assert_eq!(order.len(), columns.len(), "{order:?}");
    assert_eq!(order[0], col, "the flagged column is not first: {order:?}");
    let score = |c: &str| {
        columns.iter().find(|x| x["column"] == c).unwrap()["score"]
            .as_f64()
            .unwrap()
    };
    // Columns without findings (all but the first here) are in drift-score order.
    for w in order[1..].windows(2) {
        assert!(score(w[0]) >= score(w[1]), "{w:?} out of score order");
    }
    assert!(
        score(col) > 1.0,
        "the flagged column's score {}",
        score(col)
    );
    // Column sections in the same order as the overview.
    let sections: Vec<&str> = h
        .match_indices("<section class=\"col")
        .map(|(i, _)| attrs(&h[i..], "data-column")[0])
        .collect();
    assert_eq!(sections, order);
    // The flagged column: histogram and CDF with tick values, the baseline range and the
    // trigger value marked on the axis.
    let sec = between(&h, &format!("id=\"{id}\""), "</section>");
    assert_eq!(
        sec.matches("<svg class=\"chart\"").count(),
        2,
        "histogram + CDF"
    );
    let ticks = sec.matches("<text class=\"tick\"").count();
    assert!(ticks >= 16, "only {ticks} tick labels");
    for t in ["20", "40", "60", "80", "0%", "50%", "100%"] {
        assert!(sec.contains(&format!(">{t}</text>")), "no tick label {t}");
    }
    let value: f64 = finding["evidence"]["value"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        sec.contains("class=\"mark\"")
            && sec.contains(&format!("trigger {}", (value * 100.0).round() / 100.0)),
        "trigger value not marked"
    );
    assert!(sec.contains("baseline max"), "baseline range not drawn");
    // The label column: a categorical chart drawing each category once.
    let label = between(&h, "id=\"col-diagnosis\"", "</section>");
    let names: Vec<&str> = label
        .match_indices("<text class=\"cat-name\"")
        .map(|(i, _)| {
            let rest = &label[i..];
            let s = rest.find('>').unwrap() + 1;
            &rest[s..s + rest[s..].find('<').unwrap()]
        })
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["benign", "malignant"],
        "categories drawn: {names:?}"
    );
    // String columns show values, not a table of nulls.
    assert!(!h.contains(">null<"), "a null cell");

    // A text trigger: the token per label, marked.
    let tt = d.join("text_trigger.html");
    let json2 = drift_html(&base, &case("text_trigger").current, &tt);
    let h2 = std::fs::read_to_string(&tt).unwrap();
    assert_self_contained(&h2, "drift report (text)");
    let tok = json2["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "drift.trigger_token")
        .expect("a trigger token finding");
    let (token, lab) = (
        tok["evidence"]["token"].as_str().unwrap(),
        tok["evidence"]["label"].as_str().unwrap(),
    );
    assert_eq!(token, "xyzzy");
    let order2 = attrs(between(&h2, "id=\"overview\"", "</table>"), "data-column");
    assert_eq!(order2[0], "note", "{order2:?}");
    let note = between(&h2, "id=\"col-note\"", "</section>");
    assert!(
        note.contains(&format!("data-token=\"{token}\"")),
        "trigger token not shown"
    );
    let tables: Vec<&str> = attrs(note, "data-label");
    assert!(tables.contains(&lab) && tables.len() >= 2, "{tables:?}");
    let in_label = between(note, &format!("data-label=\"{lab}\""), "</table>");
    assert!(
        in_label.contains(&format!("<tr class=\"trigger\"><td>{token}</td>")),
        "token not marked in label {lab}: {in_label}"
    );
    // Whole-string top values of the text column are not what is shown.
    assert!(
        !note.contains("class=\"cat-name\""),
        "text column drawn as categories"
    );

    // Rendered.
    let Some(chrome) = chromium() else { return };
    let dom = dump_dom(&chrome, &trig, d);
    assert!(dom.contains("id=\"findings\"") && dom.contains(&format!("id=\"{id}\"")));
    let dom_order = attrs(between(&dom, "id=\"overview\"", "</table>"), "data-column");
    assert_eq!(dom_order, order, "overview order in the rendered DOM");
    assert!(
        dom.contains("<svg class=\"chart\""),
        "inline SVG not in the DOM"
    );
    let dom2 = dump_dom(&chrome, &tt, d);
    assert!(dom2.contains(&format!("data-token=\"{token}\"")));
    assert_not_blank(&screenshot(&chrome, &trig, d, "drift.png"), "drift report");
    assert_not_blank(
        &screenshot(&chrome, &tt, d, "drift-text.png"),
        "drift text report",
    );
}

#[test]
fn scan_report_structure_and_rendering() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let html = d.join("scan.html");
    let o = bin()
        .args(["-q", "scan"])
        .arg(common::testdata("scan"))
        .args(["--format", "json", "--html"])
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    let h = std::fs::read_to_string(&html).unwrap();
    assert_self_contained(&h, "scan report");
    let findings = json["findings"].as_array().unwrap();
    // Verdict and the same counts as JSON.
    let top = &h[..h.find("id=\"by-severity\"").unwrap()];
    assert!(top.contains("class=\"verdict FAIL\""));
    let n = findings.len();
    assert!(
        top.contains(&format!("{n} findings: ")),
        "count of {n} not on top"
    );
    let sev_table = between(&h, "class=\"bars sev-counts\"", "</table>");
    for s in ["critical", "high", "medium", "low", "info"] {
        let k = findings.iter().filter(|f| f["severity"] == s).count();
        let row = between(sev_table, &format!("data-severity=\"{s}\""), "</tr>");
        assert!(
            row.contains(&format!("<td class=\"num\">{k}</td>")),
            "{s}: {row}"
        );
    }
    // Every finding listed once (fewer than the cap here).
    assert_eq!(
        attrs(&h, "id")
            .iter()
            .filter(|i| i.starts_with("finding-"))
            .count(),
        n
    );
    // By principal: every subject once, worst first.
    let by = between(&h, "id=\"by-principal\"", "</table>");
    let subjects = attrs(by, "data-subject");
    let mut distinct: Vec<&str> = findings
        .iter()
        .map(|f| f["subject"].as_str().unwrap())
        .collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(subjects.len(), distinct.len(), "{subjects:?}");
    let worst = |s: &str| {
        findings
            .iter()
            .filter(|f| f["subject"] == s)
            .map(|f| {
                ["info", "low", "medium", "high", "critical"]
                    .iter()
                    .position(|x| f["severity"] == *x)
                    .unwrap()
            })
            .max()
            .unwrap()
    };
    for w in subjects.windows(2) {
        assert!(worst(w[0]) >= worst(w[1]), "{w:?} not worst first");
    }
    // Timeline: events and findings per bucket on a time axis with date ticks.
    let tl = between(&h, "id=\"timeline\"", "</svg>");
    assert!(tl.matches("class=\"ev\"").count() >= 5, "event bars");
    assert!(tl.matches("class=\"fd sev-").count() >= 3, "finding bars");
    assert!(tl.contains(">2024-"), "no date tick");
    // Activity on ML assets: the principal behind the LLMjacking findings, linked.
    let assets = between(&h, "id=\"assets\"", "</table>");
    let llm = findings
        .iter()
        .find(|f| f["id"] == "scan.llm_entitlement_then_invoke")
        .expect("an LLM finding in the samples");
    let who = llm["subject"].as_str().unwrap();
    assert!(
        attrs(assets, "data-principal").contains(&who),
        "{who} not in the asset table"
    );
    assert!(assets.contains("model_artifact"), "asset kinds");
    let ids = attrs(&h, "id");
    for href in attrs(&h, "href") {
        let target = href.strip_prefix('#').expect("only in-page links");
        assert!(ids.contains(&target), "link to #{target} has no target");
    }
    // Coverage: every detection of the JSON, the blind ones first.
    let cov = json["coverage"].as_array().unwrap();
    let rows = attrs(between(&h, "id=\"coverage\"", "</table>"), "data-status");
    assert_eq!(rows.len(), cov.len());
    let first_active = rows.iter().position(|s| *s == "active").unwrap();
    assert!(
        first_active > 0 && rows[first_active..].iter().all(|s| *s == "active"),
        "{rows:?}"
    );
    // Not read: the samples' broken files.
    assert!(h.contains("id=\"not-read\"") && h.contains("CreateApiKey.json"));

    let Some(chrome) = chromium() else { return };
    let dom = dump_dom(&chrome, &html, d);
    for id in [
        "verdict",
        "by-severity",
        "by-principal",
        "timeline",
        "assets",
        "coverage",
    ] {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "no #{id} in the rendered DOM"
        );
    }
    assert_eq!(
        attrs(
            between(&dom, "id=\"by-principal\"", "</table>"),
            "data-subject"
        ),
        subjects
    );
    assert_not_blank(&screenshot(&chrome, &html, d, "scan.png"), "scan report");
}

#[test]
fn html_flag_errors() {
    let dir = tempfile::tempdir().unwrap();
    let scan = common::testdata("scan/gcp");
    // --html is the findings report: not with a view.
    let o = bin()
        .args(["-q", "scan"])
        .arg(&scan)
        .args(["--view", "timeline", "--html"])
        .arg(dir.path().join("x.html"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--html"));
    // Never over an input.
    let input = dir.path().join("in.json");
    std::fs::copy(scan.join("gcs-data-access-object-get.json"), &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let o = bin()
        .args(["-q", "scan"])
        .arg(&input)
        .arg("--html")
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(&input).unwrap(), before);
    // Inside a scanned directory: it would be read back as input.
    let o = bin()
        .args(["-q", "scan"])
        .arg(dir.path())
        .arg("--html")
        .arg(dir.path().join("r.html"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.path().join("r.html").exists());
}

/// Names from input (a column header here) are text in the page, never markup: escaped
/// entities, control characters shown escaped, and the anchor still valid.
#[test]
fn hostile_names_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let name = "<b onmouseover=\"x\">\u{1b}[2J'";
    let (mut a, mut b) = (
        format!("\"{}\",y\n", name.replace('"', "\"\"")),
        format!("\"{}\",y\n", name.replace('"', "\"\"")),
    );
    for i in 0..300 {
        a.push_str(&format!("{},{}\n", i % 50, i % 2));
        b.push_str(&format!("{},{}\n", 500 + i % 50, i % 2));
    }
    std::fs::write(d.join("a.csv"), a).unwrap();
    std::fs::write(d.join("b.csv"), b).unwrap();
    let base = d.join("base.json");
    let o = bin()
        .args(["-q", "profile"])
        .arg(d.join("a.csv"))
        .arg("-o")
        .arg(&base)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = d.join("r.html");
    let json = drift_html(&base, &d.join("b.csv"), &html);
    assert_eq!(json["columns"][0]["column"], name);
    let h = std::fs::read_to_string(&html).unwrap();
    assert_self_contained(&h, "drift report");
    assert!(!h.contains("<b onmouseover") && !h.contains('\u{1b}'));
    assert!(
        h.contains("&lt;b onmouseover=&quot;x&quot;&gt;\\u{1b}[2J&#39;"),
        "not escaped"
    );
    // Its section's id is made of safe characters only, and the overview links to it.
    let ids: Vec<&str> = attrs(&h, "id");
    let sec = ids
        .iter()
        .find(|i| i.starts_with("col-") && i.len() > 10)
        .unwrap();
    assert!(
        sec.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
        "{sec}"
    );
    assert!(h.contains(&format!("href=\"#{sec}\"")));
}
