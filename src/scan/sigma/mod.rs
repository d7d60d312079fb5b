//! Sigma rule engine for cloud audit logs.
//!
//! Loads SigmaHQ YAML rules unmodified, compiles them once (lowercased wildcard patterns,
//! compiled regexes, parsed CIDRs, condition trees, rules indexed by logsource product) and
//! evaluates raw JSON records (CloudTrail, GCP LogEntry, Azure activity/sign-in/audit logs)
//! against them. See `docs/sigma.md` for the supported subset and every decision.

pub mod aggregate;
mod condition;
mod correlation;
mod ignore;
mod matcher;

pub use correlation::{BaseHit, CorrStats};
pub use ignore::{IgnoreList, Settings, DEFAULT_MAX_BASE_MATCHES, DEFAULT_MAX_GROUPS};

use crate::error::IoContext;
use crate::finding::{Finding, Severity};
use crate::Result;
use base64::Engine as _;
use condition::Cond;
use matcher::{Glob, Matcher, NumOp};
use serde_json::Value;
use serde_norway::Value as Y;
use std::collections::HashMap;
use std::path::Path;

/// What happened to each rule file under `--rules DIR`.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Rule ids (or file names when a rule has no id) that loaded, correlation rules and
    /// their base rules included.
    pub loaded: Vec<String>,
    /// How many of `loaded` are correlation rules.
    pub correlations: usize,
    /// `(file, reason)` for every rule that could not be used.
    pub skipped: Vec<(String, String)>,
    /// `(file, rule id or "", reason)` for every rule left out by the ignore list.
    pub ignored: Vec<(String, String, String)>,
    /// `(file, reason)` for YAML files that are not Sigma rules (CI workflows, configs).
    pub not_rules: Vec<(String, String)>,
    /// Ignore-list entries that matched no rule (a typo in an id would otherwise go unseen).
    pub unused_ignores: Vec<String>,
}

/// One YAML document of a rule file.
#[derive(Debug)]
enum Doc {
    Rule(Box<Rule>),
    Corr(Box<correlation::Spec>),
}

/// Why a file gave no rule.
#[derive(Debug)]
enum Refusal {
    /// Not a Sigma rule at all (no `detection`, `correlation` or `logsource`).
    NotRule(String),
    /// A rule that cannot be used.
    Broken(String),
}

impl From<String> for Refusal {
    fn from(s: String) -> Refusal {
        Refusal::Broken(s)
    }
}

impl From<&str> for Refusal {
    fn from(s: &str) -> Refusal {
        Refusal::Broken(s.to_string())
    }
}

/// One detection item: `field|modifiers: values`.
#[derive(Debug, Clone)]
struct Item {
    /// Dotted field path; empty for keyword (full-text) items.
    field: String,
    kind: ItemKind,
}

#[derive(Debug, Clone)]
enum ItemKind {
    /// Values are ORed unless `all` (then every value must match).
    Values { all: bool, ms: Vec<Matcher> },
    /// `|exists: true/false`.
    Exists(bool),
}

/// A named selection: OR of AND-groups (a list of maps), or a keyword list.
#[derive(Debug, Clone)]
struct Selection {
    name: String,
    groups: Vec<Vec<Item>>,
}

/// A compiled rule.
#[derive(Debug, Clone)]
struct Rule {
    id: String,
    /// Sigma v2 `name` (what correlations refer to, besides the id).
    name: Option<String>,
    title: String,
    file: String,
    severity: Severity,
    tags: Vec<String>,
    product: Option<String>,
    service: Option<String>,
    selections: Vec<Selection>,
    condition: Cond,
    /// `(correlation, position)` of every correlation that names this rule.
    uses: Vec<(u32, u16)>,
    /// Whether a match is a finding of its own: false for the base rules of correlations
    /// with `generate: false` (the spec's default).
    emit: bool,
    /// A base rule written in a correlation's own file: it belongs to that correlation
    /// (Suzaku repeats standalone rules there, id included), so it neither clashes with
    /// nor is found by other rules and correlations.
    private: bool,
}

/// A compiled set of Sigma rules.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    correlations: Vec<correlation::Correlation>,
    /// Rule indexes by lowercased logsource product; rules without a product are under "".
    by_product: HashMap<String, Vec<usize>>,
}

/// The field mapping of the record's product, tried only when the rule's field name does
/// not resolve in the record (what a pySigma processing pipeline does for a backend). The
/// mappings are data, one file per log source (`src/input/logs/mappings/`).
fn aliases(product: &str) -> &'static [(&'static str, &'static str)] {
    &crate::input::logs::registry::mapping_for(product).fields
}

impl RuleSet {
    /// Load every `*.yml`/`*.yaml` under `dir` (recursively). A rule that cannot be compiled
    /// is reported in `LoadReport::skipped` with a reason, never silently dropped.
    pub fn load_dir(dir: &Path) -> Result<(RuleSet, LoadReport)> {
        Self::load_dir_with(dir, &IgnoreList::default())
    }

    /// [`RuleSet::load_dir`] leaving out the rules of `ignore` (listed in
    /// `LoadReport::ignored`).
    pub fn load_dir_with(dir: &Path, ignore: &IgnoreList) -> Result<(RuleSet, LoadReport)> {
        // Through the source layer: links to rule files are read, links to directories
        // and special files are listed as skipped with the reason.
        let is_yaml = |p: &Path| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
        };
        let found = crate::input::source::expand(
            std::slice::from_ref(&dir.to_path_buf()),
            &is_yaml,
            "Sigma rules (*.yml, *.yaml)",
        );
        let found = match found {
            Ok(f) => f,
            // An empty rule directory loads no rule; the caller reports "0 rules loaded".
            Err(crate::Error::Usage(_)) if dir.is_dir() => Default::default(),
            Err(e) => return Err(e),
        };
        let files = found.files;
        let mut set = RuleSet::default();
        let mut report = LoadReport::default();
        let mut used = std::collections::BTreeSet::new();
        for (p, why) in found.skipped {
            // Other files in a rule directory (README.md, LICENSE) are not rules.
            if !why.starts_with("extension not read") {
                report.skipped.push((p.display().to_string(), why));
            }
        }
        // Correlations are resolved once every rule is loaded (they may name rules of other
        // files): (spec, indexes of the rules of its own file).
        let mut pending: Vec<(correlation::Spec, Vec<usize>)> = Vec::new();
        for f in files {
            let name = f.display().to_string();
            let rel = f.strip_prefix(dir).unwrap_or(&f);
            // CI workflows, issue templates, tool configs: YAML under a hidden directory
            // (`.github/`) is not a rule set's content.
            if let Some(hidden) = rel.parent().and_then(|p| {
                p.components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .find(|c| c.starts_with('.') && c != "." && c != "..")
            }) {
                report
                    .not_rules
                    .push((name, format!("under the hidden directory '{hidden}'")));
                continue;
            }
            if let Some(entry) = ignore.path_entry(rel) {
                used.insert(entry.to_string());
                report.ignored.push((
                    name,
                    String::new(),
                    format!("path matches ignore entry '{entry}'"),
                ));
                continue;
            }
            // Read at most one byte past the limit: a huge file costs no memory.
            let mut text = Vec::new();
            {
                use std::io::Read as _;
                crate::input::source::open_regular(&f)
                    .and_then(|h| h.take(MAX_RULE_BYTES as u64 + 1).read_to_end(&mut text))
                    .with_path(&f)?;
            }
            if text.len() > MAX_RULE_BYTES {
                report.skipped.push((
                    name,
                    format!("rule file is larger than {MAX_RULE_BYTES} bytes"),
                ));
                continue;
            }
            let text = match String::from_utf8(text) {
                Ok(t) => t,
                Err(_) => {
                    report.skipped.push((name, "not UTF-8 text".into()));
                    continue;
                }
            };
            let docs = match compile_docs(&text, &name) {
                Ok(d) => d,
                Err(Refusal::NotRule(why)) => {
                    report.not_rules.push((name, why));
                    continue;
                }
                Err(Refusal::Broken(why)) => {
                    report.skipped.push((name, why));
                    continue;
                }
            };
            let mut mine = Vec::new();
            let mut corrs = Vec::new();
            let has_corr = docs.iter().any(|d| matches!(d, Doc::Corr(_)));
            for mut d in docs {
                let (id, title) = match &d {
                    Doc::Rule(r) => (r.id.clone(), r.title.clone()),
                    Doc::Corr(c) => (c.id.clone(), c.title.clone()),
                };
                if let Some((entry, why)) = ignore.id_entry(&id) {
                    used.insert(entry.to_string());
                    let why = if why.is_empty() {
                        format!("id listed in ignore entry '{entry}' ({title})")
                    } else {
                        format!("id listed in ignore entry '{entry}': {why}")
                    };
                    report.ignored.push((name.clone(), id, why));
                    continue;
                }
                if let Doc::Rule(r) = &mut d {
                    r.private = has_corr;
                }
                let private = has_corr && matches!(d, Doc::Rule(_));
                let dup = set
                    .rules
                    .iter()
                    .filter(|r| !r.private && !private)
                    .map(|r| (&r.id, &r.file))
                    .chain(pending.iter().map(|(c, _)| (&c.id, &c.file)))
                    .chain(corrs.iter().map(|c: &correlation::Spec| (&c.id, &c.file)))
                    .find(|(i, _)| **i == id)
                    .map(|(_, f)| f.clone());
                if let Some(first) = dup {
                    // Findings are keyed by rule id: two rules with one id would be
                    // indistinguishable in reports and suppressions.
                    let reason = format!("duplicate rule id {id} (already loaded from {first})");
                    report.skipped.push((name.clone(), reason));
                    continue;
                }
                match d {
                    Doc::Rule(r) => {
                        report.loaded.push(r.id.clone());
                        mine.push(set.rules.len());
                        set.push(*r);
                    }
                    Doc::Corr(c) => corrs.push(*c),
                }
            }
            pending.extend(corrs.into_iter().map(|c| (c, mine.clone())));
        }
        let names: Vec<String> = pending
            .iter()
            .flat_map(|(c, _)| std::iter::once(c.id.clone()).chain(c.name.clone()))
            .collect();
        for (id, file, r) in set.add_pending(pending, &names) {
            match r {
                Ok(()) => {
                    report.loaded.push(id);
                    report.correlations += 1;
                }
                Err(why) => report.skipped.push((file, why)),
            }
        }
        report.unused_ignores = ignore
            .entries()
            .filter(|e| !used.contains(*e))
            .map(str::to_string)
            .collect();
        Ok((set, report))
    }

    /// Compile the rules of one YAML text (`file` names it in findings). Errors are the
    /// reason the text cannot be used. Returns the id of its first rule (a correlation's
    /// base rules may sit in the same text, after it).
    pub fn add_yaml(&mut self, text: &str, file: &str) -> std::result::Result<String, String> {
        let docs = compile_docs(text, file).map_err(|e| match e {
            Refusal::NotRule(w) => format!("not a Sigma rule: {w}"),
            Refusal::Broken(w) => w,
        })?;
        let mut first = None;
        let mut mine = Vec::new();
        let mut corrs = Vec::new();
        let has_corr = docs.iter().any(|d| matches!(d, Doc::Corr(_)));
        for d in docs {
            match d {
                Doc::Rule(mut r) => {
                    r.private = has_corr;
                    first.get_or_insert_with(|| r.id.clone());
                    mine.push(self.rules.len());
                    self.push(*r);
                }
                Doc::Corr(c) => {
                    first.get_or_insert_with(|| c.id.clone());
                    corrs.push(*c);
                }
            }
        }
        let names: Vec<String> = corrs
            .iter()
            .flat_map(|c| std::iter::once(c.id.clone()).chain(c.name.clone()))
            .collect();
        let pending = corrs.into_iter().map(|c| (c, mine.clone())).collect();
        for (_, _, r) in self.add_pending(pending, &names) {
            r?;
        }
        first.ok_or_else(|| "no rule".to_string())
    }

    /// Register correlations, each after the correlations it names (chains): rounds until
    /// nothing more can be added; what is left names a correlation that did not load
    /// (skipped, or a cycle) and gets that reason. Returns `(id, file, result)` for each.
    fn add_pending(
        &mut self,
        mut pending: Vec<(correlation::Spec, Vec<usize>)>,
        names: &[String],
    ) -> Vec<(String, String, std::result::Result<(), String>)> {
        let mut out = Vec::new();
        loop {
            let before = pending.len();
            let mut later = Vec::new();
            let all: Vec<usize> = (0..self.rules.len()).collect();
            for (spec, mine) in pending {
                let waits = spec.rules.iter().any(|r| {
                    names.contains(r)
                        && find_ref(&self.rules, &all, r).is_empty()
                        && !self
                            .correlations
                            .iter()
                            .any(|c| c.spec.id == *r || c.spec.name.as_deref() == Some(r.as_str()))
                });
                if waits {
                    later.push((spec, mine));
                    continue;
                }
                let (id, file) = (spec.id.clone(), spec.file.clone());
                let r = self.add_correlation(spec, &mine, names);
                out.push((id, file, r));
            }
            if later.is_empty() {
                break;
            }
            if later.len() == before {
                for (spec, mine) in later {
                    let (id, file) = (spec.id.clone(), spec.file.clone());
                    let r = self.add_correlation(spec, &mine, names);
                    out.push((id, file, r));
                }
                break;
            }
            pending = later;
        }
        out
    }

    /// Resolve a correlation's `rules:` (by id, then `name`, then title; the rules of its
    /// own file first) and register it.
    fn add_correlation(
        &mut self,
        spec: correlation::Spec,
        mine: &[usize],
        corr_names: &[String],
    ) -> std::result::Result<(), String> {
        if spec
            .rules
            .iter()
            .any(|r| *r == spec.id || Some(r) == spec.name.as_ref())
        {
            return Err(format!("correlation rule {} names itself", spec.id));
        }
        let mut bases = Vec::new();
        let mut chain = Vec::new();
        for r in &spec.rules {
            let mut hits = find_ref(&self.rules, mine, r);
            if hits.is_empty() {
                let all: Vec<usize> = (0..self.rules.len())
                    .filter(|&i| !self.rules[i].private)
                    .collect();
                hits = find_ref(&self.rules, &all, r);
            }
            let child = self
                .correlations
                .iter()
                .position(|c| c.spec.id == *r || c.spec.name.as_deref() == Some(r.as_str()));
            match (hits.as_slice(), child) {
                ([one], _) => {
                    bases.push(*one);
                    chain.push(None);
                }
                ([], Some(ci)) => {
                    bases.push(usize::MAX);
                    chain.push(Some(ci));
                }
                ([], None) => {
                    let chained = corr_names.contains(r);
                    return Err(if chained {
                        format!(
                            "correlation rule {}: correlation rule '{r}' did not load (it is skipped, or the chain is a cycle)",
                            spec.id
                        )
                    } else {
                        format!(
                            "correlation rule {}: base rule '{r}' is not loaded (no rule has that id, name or title, or it was skipped or ignored)",
                            spec.id
                        )
                    });
                }
                (many, _) => {
                    return Err(format!(
                        "correlation rule {}: '{r}' names {} rules (titles are not unique); refer to it by id",
                        spec.id,
                        many.len()
                    ))
                }
            }
        }
        if bases
            .iter()
            .zip(&chain)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            != bases.len()
        {
            return Err(format!(
                "correlation rule {}: a base rule is named twice",
                spec.id
            ));
        }
        // Aliases are keyed by the base rule's name (spec), or its id or title here.
        let field_for = |f: &str, names: [Option<&str>; 3], pos: usize| -> String {
            if let Some(per) = spec.aliases.get(f) {
                let keys = [Some(spec.rules[pos].as_str()), names[0], names[1], names[2]];
                for k in keys.into_iter().flatten() {
                    if let Some(real) = per.get(k) {
                        return real.clone();
                    }
                }
            }
            f.to_string()
        };
        let mut group_fields = Vec::new();
        let mut value_field = Vec::new();
        for (pos, (&i, ch)) in bases.iter().zip(&chain).enumerate() {
            let names = match (self.rules.get(i), ch.and_then(|c| self.correlations.get(c))) {
                (Some(r), _) => [
                    r.name.as_deref(),
                    Some(r.id.as_str()),
                    Some(r.title.as_str()),
                ],
                (None, Some(c)) => [
                    c.spec.name.as_deref(),
                    Some(c.spec.id.as_str()),
                    Some(c.spec.title.as_str()),
                ],
                (None, None) => [None, None, None],
            };
            group_fields.push(
                spec.group_by
                    .iter()
                    .map(|g| field_for(g, names, pos))
                    .collect(),
            );
            // A correlation's finding has no `value_count` field value.
            value_field.push(
                spec.field
                    .as_deref()
                    .filter(|_| ch.is_none())
                    .map(|f| field_for(f, names, pos)),
            );
        }
        let ci = self.correlations.len() as u32;
        for (pos, ch) in chain.iter().enumerate() {
            if let Some(c) = ch.and_then(|c| self.correlations.get_mut(c)) {
                if c.uses.is_empty() {
                    c.emit = spec.generate;
                } else {
                    c.emit |= spec.generate;
                }
                c.uses.push((ci, pos as u16));
            }
        }
        for (pos, &i) in bases.iter().enumerate() {
            if i == usize::MAX {
                continue;
            }
            // A private copy of a standalone rule never reports twice under one id.
            let shadowed = self.rules[i].private
                && self
                    .rules
                    .iter()
                    .any(|o| !o.private && o.id == self.rules[i].id);
            let r = &mut self.rules[i];
            // A rule that is also named by a `generate: true` correlation keeps its findings.
            if r.uses.is_empty() {
                r.emit = spec.generate;
            } else {
                r.emit |= spec.generate;
            }
            r.emit &= !shadowed;
            r.uses.push((ci, pos as u16));
        }
        self.correlations.push(correlation::Correlation {
            spec,
            bases,
            chain,
            uses: Vec::new(),
            emit: true,
            group_fields,
            value_field,
        });
        Ok(())
    }

    /// Number of loaded correlation rules.
    pub fn correlation_count(&self) -> usize {
        self.correlations.len()
    }

    fn push(&mut self, rule: Rule) {
        let key = rule.product.clone().unwrap_or_default();
        self.by_product
            .entry(key)
            .or_default()
            .push(self.rules.len());
        self.rules.push(rule);
    }

    /// Number of compiled rules (correlation rules included).
    pub fn len(&self) -> usize {
        self.rules.len() + self.correlations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.correlations.is_empty()
    }

    /// Number of loaded rules per `(product, service)` (lowercased; `""` when the rule names
    /// none), for coverage reports: rules of a logsource absent from the input never ran.
    pub fn logsource_counts(&self) -> std::collections::BTreeMap<(String, String), usize> {
        let mut out = std::collections::BTreeMap::new();
        for r in &self.rules {
            let key = (
                r.product.clone().unwrap_or_default(),
                r.service.clone().unwrap_or_default(),
            );
            *out.entry(key).or_insert(0) += 1;
        }
        out
    }

    /// Evaluate one raw record (the original JSON of a CloudTrail/GCP/Azure event).
    /// `product` is the Sigma logsource product of the record: `"aws"`, `"gcp"` or `"azure"`;
    /// `service` its logsource service when known (`"cloudtrail"`, `"gcp.audit"`,
    /// `"activitylogs"`...). Returns one finding per matching rule (subject/location are
    /// filled in by the caller).
    ///
    /// A rule is evaluated when its product equals `product` (case-insensitive; rules with
    /// no product apply to every record) and, if both the rule and the caller name a
    /// service, the services are equal. With `service: None` every rule of the product runs.
    ///
    /// The matches of correlation base rules with `generate: false` are not findings of
    /// their own (see [`RuleSet::evaluate_with_hits`]).
    pub fn evaluate(
        &self,
        record: &serde_json::Value,
        product: &str,
        service: Option<&str>,
    ) -> Vec<Finding> {
        self.evaluate_with_hits(record, product, service, &mut Vec::new())
    }

    /// [`RuleSet::evaluate`], also pushing one [`BaseHit`] per (matching base rule,
    /// correlation naming it) onto `hits`, with its group-by and `value_count` values
    /// (the caller sets `time_ms` and `at`), for [`RuleSet::correlate`].
    pub fn evaluate_with_hits(
        &self,
        record: &serde_json::Value,
        product: &str,
        service: Option<&str>,
        hits: &mut Vec<BaseHit>,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        let product_l: std::borrow::Cow<str> = if product.bytes().any(|b| b.is_ascii_uppercase()) {
            product.to_ascii_lowercase().into()
        } else {
            product.into()
        };
        let al = aliases(&product_l);
        let lists = [
            self.by_product.get(product_l.as_ref()),
            if product_l.is_empty() {
                None
            } else {
                self.by_product.get("")
            },
        ];
        for &i in lists.into_iter().flatten().flatten() {
            let Some(rule) = self.rules.get(i) else {
                continue;
            };
            if let (Some(rs), Some(s)) = (&rule.service, service) {
                if !rs.eq_ignore_ascii_case(s) {
                    continue;
                }
            }
            let hit = rule.condition.eval(&mut |s| {
                rule.selections
                    .get(s)
                    .is_some_and(|sel| sel_match(sel, record, al))
            });
            if !hit {
                continue;
            }
            for &(ci, pos) in &rule.uses {
                let Some(c) = self.correlations.get(ci as usize) else {
                    continue;
                };
                let p = pos as usize;
                let key = c
                    .group_fields
                    .get(p)
                    .map(|fs| fs.iter().map(|f| first_scalar(record, f, al)).collect())
                    .unwrap_or_default();
                let value = c
                    .value_field
                    .get(p)
                    .and_then(|f| f.as_deref())
                    .and_then(|f| first_scalar(record, f, al));
                hits.push(BaseHit {
                    corr: ci,
                    pos,
                    key,
                    value,
                    time_ms: None,
                    at: None,
                });
            }
            if rule.emit {
                out.push(finding(rule, record, al));
            }
        }
        out
    }

    /// Run every correlation over the base-rule matches of a whole scan (any order).
    /// `max_groups` caps the groups alive at once per correlation; what was refused is
    /// counted in the returned stats (one per correlation, in load order).
    pub fn correlate(
        &self,
        hits: Vec<BaseHit>,
        max_groups: usize,
    ) -> (Vec<Finding>, Vec<CorrStats>) {
        let mut per: Vec<Vec<BaseHit>> = (0..self.correlations.len()).map(|_| Vec::new()).collect();
        for h in hits {
            if let Some(v) = per.get_mut(h.corr as usize) {
                v.push(h);
            }
        }
        let mut out = Vec::new();
        let mut stats = Vec::new();
        // Children are registered before the correlations that name them, so one pass in
        // index order feeds every parent before it is swept.
        for (i, c) in self.correlations.iter().enumerate() {
            let titles: Vec<(String, String)> = c
                .bases
                .iter()
                .zip(&c.chain)
                .map(|(&b, ch)| {
                    match (self.rules.get(b), ch.and_then(|x| self.correlations.get(x))) {
                        (Some(r), _) => (r.id.clone(), r.title.clone()),
                        (None, Some(x)) => (x.spec.id.clone(), x.spec.title.clone()),
                        (None, None) => Default::default(),
                    }
                })
                .collect();
            let hs = per.get_mut(i).map(std::mem::take).unwrap_or_default();
            let (f, st) = c.sweep(i, hs, &titles, max_groups.max(1));
            for &(pj, pos) in &c.uses {
                let Some(parent) = self.correlations.get(pj as usize) else {
                    continue;
                };
                let fields = parent.group_fields.get(pos as usize);
                for x in &f {
                    let group = x.evidence.get("group");
                    let key = fields
                        .map(|fs| {
                            fs.iter()
                                .map(|g| {
                                    group
                                        .and_then(|m| m.get(g))
                                        .and_then(|v| v.as_str())
                                        .map(str::to_string)
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let time_ms = x.evidence_time("time").map(|t| t.timestamp_millis());
                    if let Some(v) = per.get_mut(pj as usize) {
                        v.push(BaseHit {
                            corr: pj,
                            pos,
                            key,
                            value: None,
                            time_ms,
                            at: x.location.clone(),
                        });
                    }
                }
            }
            if c.emit {
                out.extend(f);
            }
            stats.push(st);
        }
        (out, stats)
    }
}

/// Rules of `pool` that `r` names: by id, else by `name`, else by title.
fn find_ref(rules: &[Rule], pool: &[usize], r: &str) -> Vec<usize> {
    let by = |key: &dyn Fn(&Rule) -> bool| -> Vec<usize> {
        pool.iter()
            .copied()
            .filter(|&i| rules.get(i).is_some_and(key))
            .collect()
    };
    let hits = by(&|x| x.id == r);
    if !hits.is_empty() {
        return hits;
    }
    let hits = by(&|x| x.name.as_deref() == Some(r));
    if !hits.is_empty() {
        return hits;
    }
    by(&|x| x.title == r)
}

/// The first scalar a field path resolves to, as text (`None`: absent or null).
fn first_scalar(record: &Value, field: &str, al: &[(&str, &str)]) -> Option<String> {
    let mut got = None;
    matcher::visit(record, field, al, &mut |v| {
        got = match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => None,
            // Objects: their JSON text, so equal objects group together.
            other => Some(other.to_string()),
        };
        got.is_some()
    });
    got
}

fn finding(rule: &Rule, record: &Value, al: &[(&str, &str)]) -> Finding {
    let matched: Vec<Value> = rule
        .selections
        .iter()
        .filter(|s| sel_match(s, record, al))
        .map(|s| Value::String(s.name.clone()))
        .collect();
    let mut f = Finding::new(
        format!("sigma.{}", rule.id),
        rule.severity,
        String::new(),
        rule.title.clone(),
    )
    .with("rule_file", rule.file.clone())
    .with("rule_id", rule.id.clone())
    .with("matched_selections", Value::Array(matched));
    f.tags = rule.tags.clone();
    f
}

fn sel_match(sel: &Selection, record: &Value, al: &[(&str, &str)]) -> bool {
    sel.groups
        .iter()
        .any(|g| g.iter().all(|item| item_match(item, record, al)))
}

fn item_match(item: &Item, record: &Value, al: &[(&str, &str)]) -> bool {
    match &item.kind {
        ItemKind::Exists(want) => matcher::resolves(record, &item.field, al) == *want,
        ItemKind::Values { all, ms } => {
            let one = |m: &Matcher| -> bool {
                if item.field.is_empty() {
                    return matcher::any_scalar(record, &mut |v| m.matches_scalar(v, record, al));
                }
                if matches!(m, Matcher::Null) {
                    let mut found = false;
                    let mut null = false;
                    matcher::visit(record, &item.field, al, &mut |v| {
                        found = true;
                        null = v.is_null();
                        null
                    });
                    return !found || null;
                }
                matcher::visit(record, &item.field, al, &mut |v| {
                    m.matches_scalar(v, record, al)
                })
            };
            if *all {
                ms.iter().all(one)
            } else {
                ms.iter().any(one)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Compilation

pub(crate) fn ystr(v: Option<&Y>) -> Option<String> {
    match v? {
        Y::String(s) => Some(s.clone()),
        Y::Number(n) => Some(n.to_string()),
        Y::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Largest rule file read (bytes). The largest SigmaHQ or Suzaku cloud rule is under 8 KB;
/// a bigger file is skipped with this reason before any YAML parsing.
pub const MAX_RULE_BYTES: usize = 256 * 1024;

/// Most flow-collection openers (`[` and `{`, counted anywhere in the text, quoted strings
/// included) a rule file may contain. libyaml's scanner does work proportional to the flow
/// nesting depth for every token, so 100k nested `[` took 12 s to be refused (debug build);
/// bounding the openers (hence the depth) keeps the parse linear. Counting them everywhere
/// needs no YAML tokenizer, so hiding brackets in strings or comments cannot get around it.
/// The SigmaHQ and Suzaku cloud rules have at most 5.
pub const MAX_RULE_FLOW_OPENERS: usize = 256;

/// Refuse text past the documented size and flow-nesting limits before parsing it.
fn check_limits(text: &str) -> std::result::Result<(), String> {
    if text.len() > MAX_RULE_BYTES {
        return Err(format!(
            "rule file is larger than {MAX_RULE_BYTES} bytes ({} bytes)",
            text.len()
        ));
    }
    let openers = text.bytes().filter(|&b| b == b'[' || b == b'{').count();
    if openers > MAX_RULE_FLOW_OPENERS {
        return Err(format!(
            "rule has {openers} '['/'{{' (flow collections nest at most that deep; the limit is {MAX_RULE_FLOW_OPENERS})"
        ));
    }
    Ok(())
}

fn compile_docs(text: &str, file: &str) -> std::result::Result<Vec<Doc>, Refusal> {
    use serde::Deserialize;
    check_limits(text)?;
    let mut docs = Vec::new();
    for doc in serde_norway::Deserializer::from_str(text) {
        let v = Y::deserialize(doc).map_err(|e| format!("YAML error: {e}"))?;
        // Empty documents (a leading `---` or a trailing one) carry nothing.
        if !matches!(v, Y::Null) {
            docs.push(v);
        }
        if docs.len() > 64 {
            return Err("more than 64 YAML documents in one rule file".into());
        }
    }
    let is_rule = |d: &Y| {
        let Y::Mapping(m) = d else { return false };
        ["detection", "correlation", "logsource", "filter"]
            .iter()
            .any(|k| m.contains_key(Y::String((*k).into())))
    };
    if docs.is_empty() {
        return Err(Refusal::NotRule("empty YAML file".into()));
    }
    if !docs.iter().any(is_rule) {
        return Err(Refusal::NotRule(
            "no 'detection', 'correlation' or 'logsource': not a Sigma rule".into(),
        ));
    }
    if docs.len() > 1
        && docs.iter().any(|d| match d {
            Y::Mapping(m) => m.contains_key(Y::String("action".into())),
            _ => false,
        })
    {
        return Err(format!(
            "{} YAML documents; multi-document rule collections (action: global) are not supported",
            docs.len()
        )
        .into());
    }
    let mut out = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let r = compile_doc(d, file);
        match r {
            Ok(doc) => out.push(doc),
            Err(e) if docs.len() > 1 => return Err(format!("YAML document {}: {e}", i + 1).into()),
            Err(e) => return Err(e.into()),
        }
    }
    if out.len() > 1 && !out.iter().any(|d| matches!(d, Doc::Corr(_))) {
        // Several plain rules in one file: the spec's multi-document files are correlation
        // rules with their base rules; anything else is a legacy collection.
        return Err(format!(
            "{} YAML documents without a correlation; multi-document rule collections are not supported",
            out.len()
        )
        .into());
    }
    Ok(out)
}

fn compile_doc(doc: &Y, file: &str) -> std::result::Result<Doc, String> {
    let Y::Mapping(m) = doc else {
        return Err("not a YAML mapping".into());
    };
    if m.contains_key(Y::String("correlation".into())) {
        let (id, title, severity, tags) = meta(m, file)?;
        return correlation::compile(m, file, id, title, severity, tags)
            .map(|c| Doc::Corr(Box::new(c)));
    }
    compile_rule(doc, file).map(|r| Doc::Rule(Box::new(r)))
}

/// id (the file stem when absent), title, level and tags of a rule or correlation.
fn meta(
    m: &serde_norway::Mapping,
    file: &str,
) -> std::result::Result<(String, String, Severity, Vec<String>), String> {
    let get = |k: &str| m.get(Y::String(k.into()));
    let title = ystr(get("title")).ok_or("no 'title'")?;
    let id = ystr(get("id")).unwrap_or_else(|| {
        Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.to_string())
    });
    let severity = match ystr(get("level"))
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("informational") => Severity::Info,
        Some("low") => Severity::Low,
        None | Some("medium") => Severity::Medium,
        Some("high") => Severity::High,
        Some("critical") => Severity::Critical,
        Some(other) => return Err(format!("unknown level '{other}'")),
    };
    let tags = match get("tags") {
        Some(Y::Sequence(s)) => s
            .iter()
            .filter_map(|t| ystr(Some(t)))
            .map(|t| convert_tag(&t))
            .collect(),
        _ => Vec::new(),
    };
    Ok((id, title, severity, tags))
}

fn compile_rule(doc: &Y, file: &str) -> std::result::Result<Rule, String> {
    let Y::Mapping(m) = doc else {
        return Err("not a YAML mapping".into());
    };
    let get = |k: &str| m.get(Y::String(k.into()));
    if get("filter").is_some() && get("detection").is_none() {
        return Err("Sigma filter (meta) rule, not supported".into());
    }
    let (id, title, severity, tags) = meta(m, file)?;
    let (product, service) = match get("logsource") {
        Some(Y::Mapping(ls)) => {
            let g = |k: &str| ystr(ls.get(Y::String(k.into()))).map(|s| s.to_ascii_lowercase());
            (g("product"), g("service"))
        }
        _ => return Err("no 'logsource' mapping".into()),
    };
    let Some(Y::Mapping(det)) = get("detection") else {
        return Err("no 'detection' mapping".into());
    };
    let mut selections = Vec::new();
    let mut cond_text: Option<Vec<String>> = None;
    for (k, v) in det {
        let Some(name) = ystr(Some(k)) else {
            return Err("non-string key in detection".into());
        };
        match name.as_str() {
            "condition" => {
                cond_text = Some(match v {
                    Y::Sequence(items) => items.iter().filter_map(|i| ystr(Some(i))).collect(),
                    other => vec![ystr(Some(other)).ok_or("condition is not a string")?],
                })
            }
            // Only meaningful with aggregations, which are refused in the condition.
            "timeframe" => {}
            _ => {
                let sel =
                    compile_selection(&name, v).map_err(|e| format!("selection '{name}': {e}"))?;
                selections.push(sel);
            }
        }
    }
    let conds = cond_text.ok_or("detection has no 'condition'")?;
    let names: Vec<String> = selections.iter().map(|s| s.name.clone()).collect();
    let mut parsed = Vec::new();
    for c in &conds {
        parsed.push(condition::parse(c, &names)?);
    }
    let condition = match parsed.len() {
        0 => return Err("empty condition list".into()),
        1 => parsed.remove(0),
        _ => Cond::Or(parsed),
    };
    // A field the product's mapping declares unmappable (absent from its records, with no
    // faithful equivalent): the rule could never be evaluated as written, so it is skipped
    // with the mapping's reason rather than loaded to match nothing.
    if let Some(p) = &product {
        let map = crate::input::logs::registry::mapping_for(p);
        for sel in &selections {
            for item in sel.groups.iter().flatten() {
                if let Some((f, why)) = map.unmappable.iter().find(|(f, _)| *f == item.field) {
                    return Err(format!(
                        "selection '{}': field '{f}' cannot be mapped for product {p}: {why}",
                        sel.name
                    ));
                }
                // Every value of the item is one the records never hold in the field.
                let ItemKind::Values { ms, .. } = &item.kind else {
                    continue;
                };
                let never = |m: &Matcher| {
                    map.unmatchable.iter().find(|(f, v, _)| {
                        *f == item.field
                            && matches!(m, Matcher::Pattern { glob, num: None } if glob.is_match(v))
                    })
                };
                if let (false, Some((f, v, why))) = (ms.is_empty(), ms.first().and_then(never)) {
                    if ms.iter().all(|m| never(m).is_some()) {
                        return Err(format!(
                            "selection '{}': field '{f}' never holds '{v}' in product {p} records: {why}",
                            sel.name
                        ));
                    }
                }
            }
        }
    }
    Ok(Rule {
        id,
        name: ystr(get("name")),
        title,
        file: file.to_string(),
        severity,
        tags,
        product,
        service,
        selections,
        condition,
        uses: Vec::new(),
        emit: true,
        private: false,
    })
}

/// `attack.t1562.008` → `attack:T1562.008`, `attack.defense-evasion` →
/// `attack:defense-evasion`, `cve.2021-44228` → `cve:2021-44228`.
fn convert_tag(t: &str) -> String {
    let Some((ns, rest)) = t.split_once('.') else {
        return t.to_string();
    };
    let is_id = |p: char| {
        let mut c = rest.chars();
        c.next().is_some_and(|x| x.eq_ignore_ascii_case(&p))
            && c.next().is_some_and(|x| x.is_ascii_digit())
    };
    if ns.eq_ignore_ascii_case("attack") && (is_id('t') || is_id('g') || is_id('s') || is_id('m')) {
        return format!("attack:{}", rest.to_ascii_uppercase());
    }
    format!("{ns}:{rest}")
}

fn compile_selection(name: &str, v: &Y) -> std::result::Result<Selection, String> {
    let groups = match v {
        Y::Mapping(m) => vec![compile_map(m)?],
        Y::Sequence(items)
            if items.iter().all(|i| matches!(i, Y::Mapping(_))) && !items.is_empty() =>
        {
            let mut g = Vec::new();
            for i in items {
                if let Y::Mapping(m) = i {
                    g.push(compile_map(m)?);
                }
            }
            g
        }
        Y::Sequence(_) | Y::String(_) | Y::Number(_) => {
            // Keyword (full-text) detection: any value anywhere in the record.
            vec![vec![compile_item("", &[], v)?]]
        }
        _ => return Err("unsupported selection shape".into()),
    };
    Ok(Selection {
        name: name.to_string(),
        groups,
    })
}

fn compile_map(m: &serde_norway::Mapping) -> std::result::Result<Vec<Item>, String> {
    let mut items = Vec::new();
    for (k, v) in m {
        let key = ystr(Some(k)).ok_or("non-string field name")?;
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or_default().to_string();
        let mods: Vec<&str> = parts.collect();
        items.push(compile_item(&field, &mods, v)?);
    }
    Ok(items)
}

#[derive(Default)]
struct Mods {
    all: bool,
    cased: bool,
    contains: bool,
    startswith: bool,
    endswith: bool,
    re: Option<(bool, bool, bool)>,
    cidr: bool,
    exists: bool,
    fieldref: bool,
    num: Option<NumOp>,
    windash: bool,
    base64: bool,
    base64offset: bool,
}

fn compile_item(field: &str, mods: &[&str], v: &Y) -> std::result::Result<Item, String> {
    let mut md = Mods::default();
    for m in mods {
        match *m {
            "all" => md.all = true,
            "cased" => md.cased = true,
            "contains" => md.contains = true,
            "startswith" => md.startswith = true,
            "endswith" => md.endswith = true,
            "re" => md.re = Some((false, false, false)),
            "i" | "ignorecase" | "m" | "multiline" | "s" | "dotall" => {
                let Some((i, ml, s)) = md.re.as_mut() else {
                    return Err(format!("modifier '{m}' without 're'"));
                };
                match m.chars().next() {
                    Some('i') => *i = true,
                    Some('m') => *ml = true,
                    _ => *s = true,
                }
            }
            "cidr" => md.cidr = true,
            "exists" => md.exists = true,
            "fieldref" => md.fieldref = true,
            "gt" => md.num = Some(NumOp::Gt),
            "gte" => md.num = Some(NumOp::Gte),
            "lt" => md.num = Some(NumOp::Lt),
            "lte" => md.num = Some(NumOp::Lte),
            "windash" => md.windash = true,
            "base64" => md.base64 = true,
            "base64offset" => md.base64offset = true,
            other => return Err(format!("unsupported modifier '{other}' on field '{field}'")),
        }
    }
    if md.exists {
        let want = match v {
            Y::Bool(b) => *b,
            Y::String(s) if s.eq_ignore_ascii_case("true") => true,
            Y::String(s) if s.eq_ignore_ascii_case("false") => false,
            _ => return Err(format!("'{field}|exists' needs true or false")),
        };
        return Ok(Item {
            field: field.to_string(),
            kind: ItemKind::Exists(want),
        });
    }
    let values: Vec<&Y> = match v {
        Y::Sequence(s) => s.iter().collect(),
        other => vec![other],
    };
    if values.is_empty() {
        return Err(format!("field '{field}' has an empty value list"));
    }
    if field.is_empty() && (md.fieldref || md.exists) {
        return Err("keyword detection with fieldref/exists".into());
    }
    let mut ms = Vec::new();
    for val in values {
        compile_value(field, &md, val, &mut ms)?;
    }
    Ok(Item {
        field: field.to_string(),
        kind: ItemKind::Values { all: md.all, ms },
    })
}

fn compile_value(
    field: &str,
    md: &Mods,
    v: &Y,
    out: &mut Vec<Matcher>,
) -> std::result::Result<(), String> {
    if matches!(v, Y::Null) {
        out.push(Matcher::Null);
        return Ok(());
    }
    let num = match v {
        Y::Number(n) => n.as_f64(),
        _ => None,
    };
    let s = match v {
        Y::String(s) => s.clone(),
        Y::Number(n) => n.to_string(),
        Y::Bool(b) => b.to_string(),
        _ => return Err(format!("field '{field}': value is not a scalar")),
    };
    if md.fieldref {
        if md.contains
            || md.startswith
            || md.endswith
            || md.re.is_some()
            || md.cidr
            || md.num.is_some()
        {
            return Err(format!(
                "field '{field}': 'fieldref' combined with another modifier is not supported"
            ));
        }
        out.push(Matcher::FieldRef(s));
        return Ok(());
    }
    if let Some((i, m, d)) = md.re {
        let re = regex::RegexBuilder::new(&s)
            .case_insensitive(i)
            .multi_line(m)
            .dot_matches_new_line(d)
            .build()
            .map_err(|e| format!("field '{field}': bad regex: {e}"))?;
        out.push(Matcher::Regex(re));
        return Ok(());
    }
    if md.cidr {
        let net: ipnet::IpNet = s
            .parse()
            .map_err(|e| format!("field '{field}': bad CIDR '{s}': {e}"))?;
        out.push(Matcher::Cidr(net));
        return Ok(());
    }
    if let Some(op) = md.num {
        let n = num
            .or_else(|| s.trim().parse().ok())
            .ok_or_else(|| format!("field '{field}': '{s}' is not a number"))?;
        out.push(Matcher::Num(op, n));
        return Ok(());
    }
    // String transformations, each yielding one or more literal variants.
    let mut variants: Vec<(String, bool)> = vec![(s, false)]; // (text, is_literal)
    if md.windash {
        let mut v2 = Vec::new();
        for (t, lit) in &variants {
            for dash in ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'] {
                v2.push((t.replace('-', &dash.to_string()), *lit));
            }
            v2.dedup();
        }
        variants = v2;
    }
    if md.base64 || md.base64offset {
        let mut v2 = Vec::new();
        for (t, _) in &variants {
            let b = t.as_bytes();
            if md.base64 {
                v2.push((base64::engine::general_purpose::STANDARD.encode(b), true));
            } else {
                // The three alignments of `t` inside a larger base64 string
                // (what pySigma emits for base64offset).
                for shift in 0..3usize {
                    let mut padded = vec![b' '; shift];
                    padded.extend_from_slice(b);
                    let enc = base64::engine::general_purpose::STANDARD.encode(&padded);
                    let start = [0usize, 2, 3][shift];
                    let end = match (b.len() + shift) % 3 {
                        0 => enc.len(),
                        1 => enc.len().saturating_sub(3),
                        _ => enc.len().saturating_sub(2),
                    };
                    let end = end.max(start);
                    if let Some(piece) = enc.get(start..end) {
                        v2.push((piece.to_string(), true));
                    }
                }
            }
        }
        variants = v2;
    }
    for (t, lit) in variants {
        let mut g = if lit {
            Glob::literal(&t, true)
        } else {
            Glob::parse(&t, md.cased)
        };
        if md.contains || md.base64offset || field.is_empty() {
            g = g.prefix_any().suffix_any();
        } else if md.startswith {
            g = g.suffix_any();
        } else if md.endswith {
            g = g.prefix_any();
        }
        out.push(Matcher::Pattern {
            glob: g,
            num: if md.contains || md.startswith || md.endswith || field.is_empty() {
                None
            } else {
                num
            },
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
