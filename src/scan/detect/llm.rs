//! LLM abuse visible in audit logs: model enumeration across regions or in bursts, an
//! entitlement followed by a first invocation (LLMjacking), bursts of invoke failures.

use super::volume::light;
use super::{hour_of, Baseline, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Op};
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Default)]
pub struct Llm {
    regions: HashMap<String, BTreeSet<String>>,
    /// (calls, first event, last time) per principal-hour.
    enum_hour: BTreeMap<(String, i64), (u64, Event, DateTime<Utc>)>,
    fail_hour: BTreeMap<(String, i64), (u64, Event, DateTime<Utc>)>,
    entitled: HashMap<String, (DateTime<Utc>, Event)>,
    invoked: BTreeSet<String>,
    /// (principal, "regions" | "calls") already reported.
    reported: BTreeSet<(String, &'static str)>,
    found: Vec<Finding>,
}

impl Detection for Llm {
    fn ids(&self) -> &'static [&'static str] {
        &[
            "scan.llm_model_enumeration",
            "scan.llm_entitlement_then_invoke",
            "scan.llm_invoke_failures",
        ]
    }

    fn observe(&mut self, cx: &Cx, _b: &mut Baseline, e: &Event) {
        let p = e.principal.as_str();
        if e.op == Op::ModelDiscover {
            if let Some(r) = &e.region {
                let set = self.regions.entry(p.to_string()).or_default();
                set.insert(r.clone());
                if set.len() == cx.s.enum_regions && self.reported.insert((p.into(), "regions")) {
                    let f = cx
                        .finding(
                            "scan.llm_model_enumeration",
                            Severity::Medium,
                            e,
                            format!(
                                "foundation models enumerated in {} regions",
                                cx.s.enum_regions
                            ),
                        )
                        .with("regions", set.iter().cloned().collect::<Vec<_>>());
                    self.found.push(f);
                }
            }
            if let Some(t) = e.time {
                let c = self
                    .enum_hour
                    .entry((p.into(), hour_of(t)))
                    .or_insert_with(|| (0, light(e), t));
                c.0 += 1;
                c.2 = t;
            }
        }
        if e.op == Op::ModelAccessGrant && e.success {
            if let Some(t) = e.time {
                self.entitled
                    .entry(p.into())
                    .or_insert_with(|| (t, light(e)));
            }
        }
        if e.op == Op::ModelInvoke {
            if let Some(t) = e.time {
                if !e.success {
                    let c = self
                        .fail_hour
                        .entry((p.into(), hour_of(t)))
                        .or_insert_with(|| (0, light(e), t));
                    c.0 += 1;
                    c.2 = t;
                }
                if !self.invoked.contains(p) {
                    if let Some((et, first)) = self.entitled.get(p) {
                        if t >= *et && t - *et <= Duration::hours(24) {
                            let f = cx
                                .finding(
                                    "scan.llm_entitlement_then_invoke",
                                    Severity::High,
                                    e,
                                    format!(
                                        "model access entitlement ({}) followed by a first model invocation ({}): LLMjacking pattern",
                                        first.action, e.action
                                    ),
                                )
                                .with("entitlement_record", first.at.to_string())
                                .with("entitlement_time", et.to_rfc3339());
                            self.found.push(f);
                        }
                    }
                }
            }
            self.invoked.insert(p.into());
        }
    }

    fn finish(&mut self, cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        let mut out = std::mem::take(&mut self.found);
        for (n, e, last) in std::mem::take(&mut self.enum_hour).into_values() {
            if n >= cx.s.enum_calls_per_hour && self.reported.insert((e.principal.clone(), "calls"))
            {
                let f = cx
                    .finding(
                        "scan.llm_model_enumeration",
                        Severity::Medium,
                        &e,
                        format!("{n} foundation-model discovery calls in one hour"),
                    )
                    .with("calls", n);
                out.push(super::spanned(f, Some(last), n));
            }
        }
        for (n, e, last) in std::mem::take(&mut self.fail_hour).into_values() {
            if n >= cx.s.invoke_failures_per_hour {
                let f = cx
                    .finding(
                        "scan.llm_invoke_failures",
                        Severity::Medium,
                        &e,
                        format!("{n} failed model invocations in one hour"),
                    )
                    .with("failures", n);
                out.push(super::spanned(f, Some(last), n));
            }
        }
        out
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        let n = input.op(Op::ModelInvoke)
            + input.op(Op::ModelDiscover)
            + input.op(Op::ModelAccessGrant);
        vec![Coverage::new(
            "scan.llm_*",
            n > 0,
            "blind",
            if n > 0 {
                format!("{n} model invocation, discovery or entitlement events")
            } else {
                "no model invocation, discovery or entitlement events (Bedrock, Vertex AI Data Access) in the input".into()
            },
        )]
    }
}
