//! Offline scanning of audit logs, registry exports and inference logs.
//!
//! Pipeline: `input::logs` reads and normalises every record into one `Event` →
//! `assets` classifies resources (model artifacts, training data...) → `detect` runs the
//! built-in detections and `sigma` the user's rules → findings → `report`.
//! Inference request logs take their own path (`inference`), with the same findings.

pub mod activity;
pub mod assets;
pub mod detect;
pub mod geoip;
pub mod hint;
pub mod inference;
pub mod sigma;
pub mod views;

use crate::config::Config;
use crate::finding::Finding;
use crate::input::logs::{self, Event, LogSource, Warning};
use crate::Result;
use std::path::{Path, PathBuf};

/// What `mlguard scan` asked for.
#[derive(Clone, Default)]
pub struct Options {
    /// `--source`: a registered log source (`None`: detect per record).
    pub source: Option<&'static dyn LogSource>,
    pub rules: Option<PathBuf>,
    pub baseline_days: Option<f64>,
    pub baseline: Option<PathBuf>,
    /// `--since`/`--until`: date prefixes outside are not listed, events outside dropped.
    pub dates: logs::DateRange,
    /// `--geoip`: MaxMind databases for the country / AS of source IPs (empty: none).
    pub geoip: Vec<PathBuf>,
    /// Hand the normalised events back (`Output::kept`) for the views (`scan::views`).
    pub keep_events: bool,
    /// Build [`Output::activity`] (events and findings per hour, principals' activity on
    /// ML assets) for `scan --html`.
    pub activity: bool,
    /// A byte bar: the raw bytes of the local log files, counted as they are read.
    pub progress: Option<indicatif::ProgressBar>,
}

/// What the Sigma rules did: the load report, distinct rules matched, correlation stats.
#[derive(Debug, Default)]
pub struct SigmaSummary {
    pub report: sigma::LoadReport,
    /// Distinct rules (correlations included) with at least one finding.
    pub matched: usize,
    pub correlations: Vec<sigma::CorrStats>,
    /// Base-rule matches not kept for correlation (past `[sigma] max_base_matches`).
    pub base_matches_dropped: usize,
}

/// What the per-file hook yields: a finding of a built-in detection, a Sigma rule's
/// finding, a file's matches of one Sigma rule past `[sigma] aggregate_above`, or a
/// correlation base-rule match.
enum Hit {
    Finding(Finding),
    Sigma(Finding),
    Overflow(sigma::aggregate::Overflow),
    Base(sigma::BaseHit),
}

/// Everything a scan found and could not do.
#[derive(Debug, Default)]
pub struct Output {
    pub findings: Vec<Finding>,
    pub warnings: Vec<Warning>,
    /// Records read after a repair (invalid UTF-8 replaced), one entry per record.
    pub repaired: Vec<Warning>,
    pub coverage: Vec<detect::Coverage>,
    pub files: usize,
    pub ignored: Vec<(PathBuf, String)>,
    /// Files read through a symlink: `(link, target)`.
    pub via_symlink: Vec<(PathBuf, PathBuf)>,
    /// Date directories/prefixes outside `--since`/`--until`, not listed.
    pub pruned: Vec<PathBuf>,
    /// Events read but outside `--since`/`--until`.
    pub outside_range: usize,
    /// Records dropped as repeated deliveries of an event already read.
    pub duplicates: usize,
    /// Events per source name.
    pub events: std::collections::BTreeMap<&'static str, usize>,
    pub sigma: Option<SigmaSummary>,
    /// The behavioural baseline at the end of the scan (for `--save-baseline`).
    pub baseline: detect::Baseline,
    /// With `Options::keep_events`: every event read, in time order (raw records only for
    /// sources that keep them).
    pub kept: Vec<Event>,
    /// With `Options::keep_events` and `--geoip`: the databases, for the views.
    pub geo: Option<geoip::GeoIp>,
    /// With `Options::activity`: what the audit report draws besides the findings.
    pub activity: Option<activity::Activity>,
}

/// `Output` is `Debug`; the databases are shown by name only.
impl std::fmt::Debug for geoip::GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIp").finish_non_exhaustive()
    }
}

/// Read the inputs and run every detection.
pub fn scan(paths: &[PathBuf], config: &Config, opts: &Options) -> Result<Output> {
    let mut settings: detect::Settings = config.section("scan")?;
    crate::limits::baseline_days(settings.baseline_days)
        .map_err(|e| config.invalid("scan", format!("baseline_days {e}")))?;
    // A factor below 1 would make every first hour "far beyond" the thresholds.
    if !(settings.bulk_far_factor.is_finite() && settings.bulk_far_factor >= 1.0) {
        return Err(config.invalid(
            "scan",
            format!(
                "bulk_far_factor {} must be a number >= 1",
                settings.bulk_far_factor
            ),
        ));
    }
    // W&B: a key window of hours (up to 30 days), at least one deletion per burst.
    let w = settings.wandb_key_window_hours;
    if !(w.is_finite() && w > 0.0 && w <= 720.0) {
        return Err(config.invalid(
            "scan",
            format!("wandb_key_window_hours {w} must be a number of hours in (0, 720]"),
        ));
    }
    if settings.wandb_deletes_per_burst == 0 {
        return Err(config.invalid(
            "scan",
            "wandb_deletes_per_burst must be at least 1".to_string(),
        ));
    }
    settings.environments = config.section("environments")?;
    settings.identities = config.section("identities")?;
    if let Some(d) = opts.baseline_days {
        settings.baseline_days = crate::limits::baseline_days(d)
            .map_err(|e| crate::Error::usage(format!("--baseline-days {e}")))?;
    }
    let asset_cfg: assets::AssetConfig = config.section("assets")?;
    let mut amap = assets::AssetMap::new(&asset_cfg).map_err(|e| config.blame(e))?;
    let prior = match &opts.baseline {
        Some(p) => Some(load_baseline(p)?),
        None => None,
    };
    let sigma_cfg: sigma::Settings = config.section("sigma")?;
    // Before any log is read: a bad database is an input error, not a late surprise.
    let geo = if opts.geoip.is_empty() {
        None
    } else {
        Some(geoip::GeoIp::open(&opts.geoip)?)
    };
    let rules = match &opts.rules {
        Some(dir) => {
            let ignore = sigma::IgnoreList::from_config(config, &sigma_cfg)?;
            Some(sigma::RuleSet::load_dir_with(dir, &ignore)?)
        }
        None => None,
    };
    let max_base = sigma_cfg
        .max_base_matches
        .unwrap_or(sigma::DEFAULT_MAX_BASE_MATCHES);
    let aggregate_above = sigma_cfg
        .aggregate_above
        .unwrap_or(sigma::aggregate::DEFAULT_AGGREGATE_ABOVE);
    if aggregate_above == 0 {
        return Err(config.invalid("sigma", "aggregate_above must be at least 1".to_string()));
    }
    let base_kept = std::sync::atomic::AtomicUsize::new(0);
    let base_dropped = std::sync::atomic::AtomicUsize::new(0);
    // Pass 1, per file while raw records are in memory: per-record detections and Sigma.
    let mut det = detect::Detector::new(&settings, prior).map_err(|e| config.blame(e))?;
    let static_map = &amap;
    let first = &det;
    let hook = |evs: &[Event]| -> Vec<Hit> {
        use std::sync::atomic::Ordering::Relaxed;
        let mut out = Vec::new();
        let mut hits = Vec::new();
        let mut per_rule = sigma::aggregate::PerFile::new(aggregate_above);
        for e in evs {
            out.extend(first.record(static_map, e).into_iter().map(Hit::Finding));
            if let Some((rs, _)) = &rules {
                let Some((product, service)) = e.source.get().and_then(|s| s.logsource(e)) else {
                    continue;
                };
                hits.clear();
                let found = rs.evaluate_with_hits(&e.raw, product, service, &mut hits);
                for mut h in hits.drain(..) {
                    if base_kept.fetch_add(1, Relaxed) >= max_base {
                        base_dropped.fetch_add(1, Relaxed);
                        continue;
                    }
                    h.time_ms = e.time.map(|t| t.timestamp_millis());
                    h.at = Some(e.at.location());
                    out.push(Hit::Base(h));
                }
                let time_ms = e.time.map(|t| t.timestamp_millis());
                for mut f in found {
                    f.subject = e.principal.clone();
                    let Some(mut f) = per_rule.offer(f, &e.at, time_ms) else {
                        continue;
                    };
                    f.location = Some(e.at.location());
                    if let Some(t) = e.time {
                        f.evidence.insert(
                            "time".into(),
                            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into(),
                        );
                    }
                    f.evidence.insert("action".into(), e.action.clone().into());
                    out.push(Hit::Sigma(f));
                }
            }
        }
        out.extend(per_rule.finish().map(Hit::Overflow));
        out
    };
    let (loaded, hits) = logs::load_with(
        paths,
        opts.source,
        &hook,
        true,
        opts.dates,
        opts.progress.as_ref(),
    )?;
    // A repeated delivery's per-record findings and Sigma hits repeat the first copy's:
    // drop them (before correlation, so a repeat never counts twice in a window).
    let dup: std::collections::HashSet<(String, Option<u64>, Option<u64>)> = loaded
        .duplicates
        .iter()
        .map(|r| (r.file.display().to_string(), r.line, r.index))
        .collect();
    let repeat = |l: Option<&crate::finding::Location>| {
        l.is_some_and(|l| dup.contains(&(l.file.clone(), l.line, l.record)))
    };
    let mut findings = Vec::new();
    let mut base = Vec::new();
    let mut aggregator = sigma::aggregate::Aggregator::new(aggregate_above);
    for h in hits {
        match h {
            Hit::Finding(f) if !repeat(f.location.as_ref()) => findings.push(f),
            Hit::Sigma(f) if !repeat(f.location.as_ref()) => aggregator.finding(f),
            Hit::Overflow(o) => aggregator.overflow(o, &|l| repeat(Some(l))),
            Hit::Base(b) if !repeat(b.at.as_ref()) => base.push(b),
            _ => {}
        }
    }
    findings.extend(aggregator.finish());
    let mut corr_stats = Vec::new();
    if let Some((rs, _)) = &rules {
        let max_groups = sigma_cfg.max_groups.unwrap_or(sigma::DEFAULT_MAX_GROUPS);
        let (f, st) = rs.correlate(base, max_groups);
        findings.extend(f);
        corr_stats = st;
    }
    // Registry exports teach the asset map where model artifacts live.
    for e in loaded
        .events
        .iter()
        .filter(|e| e.source == logs::Source::MLFLOW)
    {
        if let Some(src) = e.raw["source"].as_str() {
            amap.add_model_source(src)?;
        }
    }
    // Buckets seen holding assets count as asset buckets for bucket-level events.
    let seen: Vec<(String, assets::AssetKind)> = loaded
        .events
        .iter()
        .filter_map(|e| amap.classify(&e.resource).map(|k| (e.resource.clone(), k)))
        .collect();
    for (r, k) in seen {
        amap.note_bucket(&r, k);
    }
    // Pass 1 judged with the static map; raise what turned out to touch an ML asset.
    for f in &mut findings {
        if f.evidence.contains_key("asset_kind") {
            continue;
        }
        let Some(res) = f.evidence.get("resource").and_then(|r| r.as_str()) else {
            continue;
        };
        let Some(kind) = amap.classify(res).or_else(|| amap.bucket_kind(res)) else {
            continue;
        };
        let raised = match f.id.as_str() {
            "scan.public_or_external_access" => Some(crate::finding::Severity::Critical),
            "scan.versioning_disabled" => Some(crate::finding::Severity::High),
            _ => None,
        };
        if let Some(r) = raised {
            f.severity = f.severity.max(r);
        }
        f.evidence.insert("asset_kind".into(), kind.as_str().into());
    }
    let matched: std::collections::BTreeSet<&str> = findings
        .iter()
        .filter(|f| f.id.starts_with("sigma."))
        .map(|f| f.id.as_str())
        .collect();
    let sigma_summary = rules.as_ref().map(|(_, report)| SigmaSummary {
        report: report.clone(),
        matched: matched.len(),
        correlations: corr_stats,
        base_matches_dropped: base_dropped.load(std::sync::atomic::Ordering::Relaxed),
    });
    findings.extend(det.run(&amap, &loaded.events));
    if let Some(g) = &geo {
        g.annotate(&mut findings);
    }
    let events = det.stats.by_source.clone();
    let activity = opts
        .activity
        .then(|| activity::Activity::build(&loaded.events, &findings, &amap));
    let mut coverage = det.coverage(&amap, rules.as_ref().map(|(r, _)| r.len()));
    coverage.push(detect::Coverage::new(
        "(deduplication)",
        true,
        "",
        format!(
            "{} repeated deliveries of an event already read (same CloudTrail eventID and account) dropped",
            loaded.duplicates.len()
        ),
    ));
    Ok(Output {
        findings,
        warnings: loaded.warnings,
        repaired: loaded.repaired,
        coverage,
        files: loaded.files,
        ignored: loaded.ignored,
        via_symlink: loaded.via_symlink,
        pruned: loaded.pruned,
        outside_range: loaded.outside_range,
        duplicates: loaded.duplicates.len(),
        events,
        sigma: sigma_summary,
        baseline: det.baseline,
        kept: if opts.keep_events {
            loaded.events
        } else {
            Vec::new()
        },
        geo: geo.filter(|_| opts.keep_events),
        activity,
    })
}

pub fn load_baseline(p: &Path) -> Result<detect::Baseline> {
    use crate::error::IoContext;
    let bytes = std::fs::read(p).with_path(p)?;
    let b: detect::Baseline = serde_json::from_slice(&bytes)
        .map_err(|e| crate::Error::input(p, format!("not an mlguard scan baseline: {e}")))?;
    if b.version != 1 {
        return Err(crate::Error::input(
            p,
            format!(
                "baseline version {} is not supported (expected 1)",
                b.version
            ),
        ));
    }
    Ok(b)
}
