//! Working-hours policy: ML-asset events outside `[scan] working_hours`, one finding per
//! principal per local day.

use super::volume::light;
use super::{glob_match, Baseline, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::Event;
use chrono::{Datelike, FixedOffset, NaiveTime, Timelike, Weekday};
use std::collections::BTreeMap;

pub struct OffHours {
    window: Option<(NaiveTime, NaiveTime, FixedOffset)>,
    days: Vec<Weekday>,
    /// (principal, local day) → (events, first event).
    /// (events, first event, last time) per principal and local day.
    per_day: BTreeMap<(String, chrono::NaiveDate), (u64, Event, chrono::DateTime<chrono::Utc>)>,
}

impl OffHours {
    /// Validates `working_hours`, `utc_offset` and `working_days`.
    pub fn new(s: &super::Settings) -> crate::Result<OffHours> {
        let window = match &s.working_hours {
            None => None,
            Some(w) => {
                let bad = || {
                    crate::Error::usage(format!(
                        "[scan] working_hours = '{w}': expected HH:MM-HH:MM"
                    ))
                };
                let (a, b) = w.split_once('-').ok_or_else(bad)?;
                let a = NaiveTime::parse_from_str(a.trim(), "%H:%M").map_err(|_| bad())?;
                let b = NaiveTime::parse_from_str(b.trim(), "%H:%M").map_err(|_| bad())?;
                let off: FixedOffset = s.utc_offset.parse().map_err(|_| {
                    crate::Error::usage(format!(
                        "[scan] utc_offset = '{}': expected +HH:MM",
                        s.utc_offset
                    ))
                })?;
                Some((a, b, off))
            }
        };
        let mut days = Vec::new();
        for d in &s.working_days {
            days.push(d.parse::<Weekday>().map_err(|_| {
                crate::Error::usage(format!("[scan] working_days: '{d}' is not a weekday"))
            })?);
        }
        Ok(OffHours {
            window,
            days,
            per_day: BTreeMap::new(),
        })
    }
}

impl Detection for OffHours {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.off_hours_access"]
    }

    fn observe(&mut self, cx: &Cx, _b: &mut Baseline, e: &Event) {
        let Some((start, end, off)) = self.window else {
            return;
        };
        let Some(t) = e.time else { return };
        if e.principal_type == "AWSService"
            || cx.kind_of(e).is_none()
            || cx
                .s
                .off_hours_exempt
                .iter()
                .any(|g| glob_match(g, &e.principal))
        {
            return;
        }
        let local = t.with_timezone(&off);
        let tod = local.time();
        let inside = self.days.contains(&local.weekday())
            && if start <= end {
                tod >= start && tod < end
            } else {
                tod >= start || tod < end
            };
        if !inside {
            let c = self
                .per_day
                .entry((e.principal.clone(), local.date_naive()))
                .or_insert_with(|| (0, light(e), t));
            c.0 += 1;
            c.2 = t;
        }
    }

    fn finish(&mut self, cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        let Some((_, _, off)) = self.window else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for ((_, day), (n, e, last)) in std::mem::take(&mut self.per_day) {
            let hour = e.time.map(|t| t.with_timezone(&off).hour()).unwrap_or(0);
            let f = cx
                .finding(
                    "scan.off_hours_access",
                    Severity::Medium,
                    &e,
                    format!(
                        "{n} ML-asset events outside working hours on {day} (first at {hour:02}h)"
                    ),
                )
                .with("events", n);
            out.push(super::spanned(f, Some(last), n));
        }
        out
    }

    fn coverage(&self, _input: &Stats, cx: &Cx) -> Vec<Coverage> {
        vec![Coverage::new(
            "scan.off_hours_access",
            cx.s.working_hours.is_some(),
            "off",
            match &cx.s.working_hours {
                Some(w) => format!("working hours {w} {}", cx.s.utc_offset),
                None => "no [scan] working_hours policy configured".into(),
            },
        )]
    }
}
