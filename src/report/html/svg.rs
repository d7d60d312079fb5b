//! Inline SVG charts for the HTML reports: overlaid histograms and CDFs with real axes
//! (ticks with values), horizontal grouped bars that draw each category once, a time
//! series of counts per bucket, and small inline bars. Every text passes through
//! [`super::esc`]; no chart needs script, fonts or a network.

use super::esc;
use std::fmt::Write;

/// Baseline and current series colours (also in the legend and the CSS).
pub const BASE: &str = "#3b6fb6";
pub const CUR: &str = "#e8710a";
pub const BAD: &str = "#c62828";

/// "Nice" tick positions covering [lo, hi]: about `n` steps of 1, 2 or 5 × 10^k.
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || n == 0 {
        return if lo.is_finite() { vec![lo] } else { Vec::new() };
    }
    let raw = (hi - lo) / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    let mut v = Vec::new();
    let mut i = 0;
    while v.len() < 50 {
        let t = first + i as f64 * step;
        if t > hi + step * 1e-9 {
            break;
        }
        v.push(snap(t, step));
        i += 1;
    }
    v
}

/// `t` without float noise (0.30000000000000004) or -0: rounded to `step`'s decimals.
fn snap(t: f64, step: f64) -> f64 {
    let d = 10f64.powi((1.0 - step.log10().floor()).clamp(0.0, 15.0) as i32);
    let t = (t * d).round() / d;
    if t == 0.0 {
        0.0
    } else {
        t
    }
}

/// [`ticks`] from 0, extended by one step when the last tick is below `hi`: a y axis
/// whose top tick is above the highest bar.
pub fn ticks_up(hi: f64, n: usize) -> Vec<f64> {
    let mut t = ticks(0.0, hi, n);
    if let (Some(&last), true) = (t.last(), t.len() >= 2) {
        if last < hi {
            let step = t[1] - t[0];
            t.push(snap(last + step, step));
        }
    }
    t
}

/// A number for an axis or a table: short, without float noise (1.5, 0.0003, 1.2e9).
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "-".into()
        } else if x > 0.0 {
            "∞".into()
        } else {
            "-∞".into()
        };
    }
    let a = x.abs();
    if a != 0.0 && !(1e-4..1e7).contains(&a) {
        return format!("{x:.2e}");
    }
    let s = if a >= 1000.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Share as a percentage (`12.5%`, `<0.1%`).
pub fn pct(x: f64) -> String {
    if x > 0.0 && x < 0.001 {
        "<0.1%".into()
    } else {
        format!("{}%", num((x * 1000.0).round() / 10.0))
    }
}

/// The CDF of a 101-percentile vector at `x` (linear between percentiles; steps at ties).
pub fn cdf_at(p: &[f64], x: f64) -> f64 {
    let n = p.len();
    if n < 2 {
        return if p.first().is_some_and(|v| x >= *v) {
            1.0
        } else {
            0.0
        };
    }
    if x < p[0] {
        return 0.0;
    }
    if x >= p[n - 1] {
        return 1.0;
    }
    let k = p.partition_point(|v| *v <= x).saturating_sub(1).min(n - 2);
    let (a, b) = (p[k], p[k + 1]);
    let frac = if b > a { (x - a) / (b - a) } else { 0.0 };
    ((k as f64 + frac) / (n - 1) as f64).clamp(0.0, 1.0)
}

/// A marker on a numeric chart's x axis: a value with a short label.
pub struct Mark {
    pub x: f64,
    pub label: String,
}

/// Plot frame: size and margins, data → pixel mapping.
struct Frame {
    w: f64,
    h: f64,
    l: f64,
    r: f64,
    t: f64,
    b: f64,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Frame {
    /// The frame of a numeric column's histogram and CDF: 520×250 px with room for the tick
    /// labels, `x0..x1` across and `0..y1` up.
    fn column(x0: f64, x1: f64, y1: f64) -> Frame {
        Frame {
            w: 520.0,
            h: 250.0,
            l: 58.0,
            r: 14.0,
            t: 30.0,
            b: 30.0,
            x0,
            x1,
            y0: 0.0,
            y1,
        }
    }
    fn px(&self, x: f64) -> f64 {
        let span = if self.x1 > self.x0 {
            self.x1 - self.x0
        } else {
            1.0
        };
        self.l + (x - self.x0) / span * (self.w - self.l - self.r)
    }
    fn py(&self, y: f64) -> f64 {
        let span = if self.y1 > self.y0 {
            self.y1 - self.y0
        } else {
            1.0
        };
        self.h - self.b - (y - self.y0) / span * (self.h - self.t - self.b)
    }
    fn open(&self, s: &mut String, title: &str) {
        let _ = write!(
            s,
            r##"<svg class="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><title>{t}</title><rect x="{l}" y="{tp}" width="{iw}" height="{ih}" fill="#fbfbfc" stroke="#d0d4da"/>"##,
            w = self.w,
            h = self.h,
            t = esc(title),
            l = self.l,
            tp = self.t,
            iw = self.w - self.l - self.r,
            ih = self.h - self.t - self.b
        );
    }
    /// Ticks with values on both axes, grid lines, axis titles.
    fn axes(&self, s: &mut String, xt: &[(f64, String)], yt: &[(f64, String)], ytitle: &str) {
        for (x, label) in xt {
            let px = self.px(*x);
            let _ = write!(
                s,
                r##"<line x1="{px:.1}" y1="{a:.1}" x2="{px:.1}" y2="{b:.1}" stroke="#e4e7eb"/><line x1="{px:.1}" y1="{b:.1}" x2="{px:.1}" y2="{c:.1}" stroke="#555"/><text class="tick" x="{px:.1}" y="{ty:.1}" text-anchor="middle">{label}</text>"##,
                a = self.t,
                b = self.h - self.b,
                c = self.h - self.b + 4.0,
                ty = self.h - self.b + 16.0,
                label = esc(label)
            );
        }
        for (y, label) in yt {
            let py = self.py(*y);
            let _ = write!(
                s,
                r##"<line x1="{a:.1}" y1="{py:.1}" x2="{b:.1}" y2="{py:.1}" stroke="#e4e7eb"/><line x1="{c:.1}" y1="{py:.1}" x2="{a:.1}" y2="{py:.1}" stroke="#555"/><text class="tick" x="{tx:.1}" y="{ty:.1}" text-anchor="end">{label}</text>"##,
                a = self.l,
                b = self.w - self.r,
                c = self.l - 4.0,
                tx = self.l - 7.0,
                ty = py + 4.0,
                label = esc(label)
            );
        }
        let my = (self.t + self.h - self.b) / 2.0;
        let _ = write!(
            s,
            r##"<text class="axis" x="12" y="{my:.1}" transform="rotate(-90 12 {my:.1})" text-anchor="middle">{}</text>"##,
            esc(ytitle)
        );
    }
    fn legend(&self, s: &mut String) {
        let y = self.t - 10.0;
        let x = self.l;
        let _ = write!(
            s,
            r##"<rect x="{x}" y="{a}" width="14" height="8" fill="{BASE}" fill-opacity="0.55"/><text class="tick" x="{b}" y="{y}">baseline</text><rect x="{c}" y="{a}" width="14" height="8" fill="none" stroke="{CUR}" stroke-width="2"/><text class="tick" x="{d}" y="{y}">current</text>"##,
            a = y - 8.0,
            b = x + 18.0,
            c = x + 82.0,
            d = x + 100.0
        );
    }
    /// Vertical markers (the baseline range, a trigger value) over the plot.
    fn marks(&self, s: &mut String, range: Option<(f64, f64)>, marks: &[Mark], low: bool) {
        if let Some((lo, hi)) = range {
            // Outside the baseline range: tinted.
            let (a, b) = (self.px(lo), self.px(hi));
            let (top, bot) = (self.t, self.h - self.b);
            if a > self.l + 0.5 {
                let _ = write!(
                    s,
                    r##"<rect x="{l}" y="{top}" width="{w:.1}" height="{hh}" fill="{BAD}" fill-opacity="0.07"/>"##,
                    l = self.l,
                    w = a - self.l,
                    hh = bot - top
                );
            }
            let right = self.w - self.r;
            if b < right - 0.5 {
                let _ = write!(
                    s,
                    r##"<rect x="{b:.1}" y="{top}" width="{w:.1}" height="{hh}" fill="{BAD}" fill-opacity="0.07"/>"##,
                    w = right - b,
                    hh = bot - top
                );
            }
            for (x, name) in [(a, "baseline min"), (b, "baseline max")] {
                let _ = write!(
                    s,
                    r##"<line class="range" x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bot}" stroke="#777" stroke-dasharray="3,3"><title>{name}</title></line>"##
                );
            }
        }
        for (i, m) in marks.iter().enumerate() {
            let x = self.px(m.x);
            let bot = self.h - self.b;
            // Labels where the chart is empty: the top of a histogram, the bottom of a CDF.
            let ly = if low {
                self.h - self.b - 10.0 - 14.0 * i as f64
            } else {
                self.t + 14.0 + 14.0 * i as f64
            };
            let anchor = if x > self.w * 0.6 { "end" } else { "start" };
            let lx = if anchor == "end" { x - 5.0 } else { x + 5.0 };
            let _ = write!(
                s,
                r##"<g class="mark"><line x1="{x:.1}" y1="{t}" x2="{x:.1}" y2="{bot}" stroke="{BAD}" stroke-width="1.5"/><path d="M{x:.1},{bot} l-6,10 h12 z" fill="{BAD}"/><text class="mark-label" x="{lx:.1}" y="{ly:.1}" text-anchor="{anchor}" fill="{BAD}">{label}</text></g>"##,
                t = self.t,
                label = esc(&m.label)
            );
        }
    }
}

fn x_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    ticks(lo, hi, 6).into_iter().map(|t| (t, num(t))).collect()
}

/// Histograms of two 101-percentile vectors overlaid (baseline filled, current outlined),
/// over a shared range, as shares of rows per bin; `range` is the baseline's [min, max]
/// (outside it tinted), `marks` flagged values.
pub fn histogram(
    base: &[f64],
    cur: &[f64],
    range: Option<(f64, f64)>,
    marks: &[Mark],
    title: &str,
) -> String {
    let (lo, hi) = span(base, cur, marks);
    let bins = 30usize;
    let width = (hi - lo) / bins as f64;
    let share = |p: &[f64]| -> Vec<f64> {
        (0..bins)
            .map(|i| {
                let a = lo + width * i as f64;
                let b = if i + 1 == bins { hi } else { a + width };
                // The last bin holds the maximum.
                let hi_f = if i + 1 == bins { 1.0 } else { cdf_at(p, b) };
                (hi_f - if i == 0 { 0.0 } else { cdf_at(p, a) }).max(0.0)
            })
            .collect()
    };
    let (hb, hc) = (share(base), share(cur));
    let top = hb
        .iter()
        .chain(&hc)
        .copied()
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let yt: Vec<(f64, String)> = ticks_up(top, 4).into_iter().map(|t| (t, pct(t))).collect();
    let f = Frame::column(lo, hi, yt.last().map(|x| x.0).unwrap_or(top).max(top));
    let mut s = String::new();
    f.open(&mut s, title);
    f.axes(&mut s, &x_ticks(lo, hi), &yt, "share of rows");
    f.marks(&mut s, range, &[], false);
    // Bin i's left and right edge in pixels.
    let edges = |i: usize| {
        (
            f.px(lo + width * i as f64),
            f.px(lo + width * (i + 1) as f64),
        )
    };
    for (i, v) in hb.iter().enumerate() {
        let (x0, x1) = edges(i);
        let y = f.py(*v);
        let _ = write!(
            s,
            r##"<rect x="{x0:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{BASE}" fill-opacity="0.55"/>"##,
            w = (x1 - x0 - 0.5).max(0.5),
            h = f.py(0.0) - y
        );
    }
    // Current: a step outline over the baseline's bars.
    let mut d = format!("M{:.1},{:.1}", f.px(lo), f.py(0.0));
    for (i, v) in hc.iter().enumerate() {
        let (x0, x1) = edges(i);
        let y = f.py(*v);
        let _ = write!(d, " L{x0:.1},{y:.1} L{x1:.1},{y:.1}");
    }
    let _ = write!(d, " L{:.1},{:.1}", f.px(hi), f.py(0.0));
    let _ = write!(
        s,
        r##"<path d="{d}" fill="none" stroke="{CUR}" stroke-width="2.2"/>"##
    );
    f.marks(&mut s, None, marks, false);
    f.legend(&mut s);
    s.push_str("</svg>");
    s
}

fn span(base: &[f64], cur: &[f64], marks: &[Mark]) -> (f64, f64) {
    let all = base
        .iter()
        .chain(cur)
        .copied()
        .chain(marks.iter().map(|m| m.x))
        .filter(|x| x.is_finite());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi > lo {
        (lo, hi)
    } else {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - d, hi + d)
    }
}

/// The two CDFs overlaid (baseline solid, current dashed), with the largest vertical gap
/// (the KS distance) drawn.
pub fn cdf(
    base: &[f64],
    cur: &[f64],
    range: Option<(f64, f64)>,
    marks: &[Mark],
    title: &str,
) -> String {
    let (lo, hi) = span(base, cur, marks);
    let f = Frame::column(lo, hi, 1.0);
    let yt: Vec<(f64, String)> = [0.0, 0.25, 0.5, 0.75, 1.0]
        .iter()
        .map(|t| (*t, pct(*t)))
        .collect();
    let mut s = String::new();
    f.open(&mut s, title);
    f.axes(&mut s, &x_ticks(lo, hi), &yt, "share of rows ≤ x");
    f.marks(&mut s, range, &[], true);
    let line = |p: &[f64]| -> String {
        let n = p.len().max(2) - 1;
        let mut pts = format!("{:.1},{:.1}", f.px(lo), f.py(0.0));
        for (i, x) in p.iter().enumerate() {
            let _ = write!(pts, " {:.1},{:.1}", f.px(*x), f.py(i as f64 / n as f64));
        }
        let _ = write!(pts, " {:.1},{:.1}", f.px(hi), f.py(1.0));
        pts
    };
    // The KS gap: the largest vertical distance, evaluated at every percentile of both.
    let (mut gx, mut gap) = (lo, 0.0);
    for x in base.iter().chain(cur) {
        let d = (cdf_at(base, *x) - cdf_at(cur, *x)).abs();
        if d > gap {
            (gx, gap) = (*x, d);
        }
    }
    let _ = write!(
        s,
        r##"<polyline fill="none" stroke="{BASE}" stroke-width="2.2" points="{}"/><polyline fill="none" stroke="{CUR}" stroke-width="2.2" stroke-dasharray="6,3" points="{}"/>"##,
        line(base),
        line(cur)
    );
    if gap > 0.0 {
        let (a, b) = (cdf_at(base, gx), cdf_at(cur, gx));
        let x = f.px(gx);
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#222" stroke-width="1.5"/><text class="tick" x="{:.1}" y="{:.1}">largest gap {}</text>"##,
            f.py(a),
            f.py(b),
            x + 4.0,
            (f.py(a) + f.py(b)) / 2.0,
            esc(&pct(gap))
        );
    }
    f.marks(&mut s, None, marks, true);
    f.legend(&mut s);
    s.push_str("</svg>");
    s
}

/// One category row of [`categories`].
pub struct Category {
    pub name: String,
    pub base: f64,
    pub cur: f64,
    /// Highlighted (a trigger value, a new category) with this note.
    pub flag: Option<String>,
}

/// Grouped horizontal bars: each category once, baseline and current share side by side.
pub fn categories(rows: &[Category], title: &str) -> String {
    let row_h = 30.0;
    let (l, bar_w) = (190.0, 300.0);
    let w = l + bar_w + 150.0;
    let h = 40.0 + rows.len() as f64 * row_h + 24.0;
    let top = rows
        .iter()
        .flat_map(|c| [c.base, c.cur])
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let xt = ticks(0.0, top, 4);
    let xmax = xt.last().copied().unwrap_or(top).max(top);
    let px = |v: f64| l + v / xmax * bar_w;
    let mut s = format!(
        r##"<svg class="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><title>{t}</title>"##,
        t = esc(title)
    );
    let bottom = 34.0 + rows.len() as f64 * row_h;
    for t in &xt {
        let x = px(*t);
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="30" x2="{x:.1}" y2="{bottom}" stroke="#e4e7eb"/><text class="tick" x="{x:.1}" y="{ty}" text-anchor="middle">{}</text>"##,
            esc(&pct(*t)),
            ty = bottom + 14.0
        );
    }
    let _ = write!(
        s,
        r##"<rect x="{l}" y="8" width="14" height="8" fill="{BASE}"/><text class="tick" x="{a}" y="16">baseline</text><rect x="{b}" y="8" width="14" height="8" fill="{CUR}"/><text class="tick" x="{c}" y="16">current</text>"##,
        a = l + 18.0,
        b = l + 82.0,
        c = l + 100.0
    );
    for (i, c) in rows.iter().enumerate() {
        let y = 34.0 + i as f64 * row_h;
        let name: String = c.name.chars().take(28).collect();
        let name = if name.len() < c.name.len() {
            format!("{name}…")
        } else {
            name
        };
        let cls = if c.flag.is_some() {
            "cat flagged"
        } else {
            "cat"
        };
        let _ = write!(
            s,
            r##"<g class="{cls}"><text class="cat-name" x="{tx}" y="{ty:.1}" text-anchor="end">{n}<title>{full}</title></text><rect x="{l}" y="{y1:.1}" width="{wb:.1}" height="10" fill="{BASE}"/><rect x="{l}" y="{y2:.1}" width="{wc:.1}" height="10" fill="{CUR}"/><text class="tick" x="{vx:.1}" y="{ty:.1}">{pb} → {pc}</text>"##,
            tx = l - 8.0,
            ty = y + 15.0,
            n = esc(&name),
            full = esc(&c.name),
            y1 = y + 2.0,
            y2 = y + 13.0,
            wb = (px(c.base) - l).max(0.0),
            wc = (px(c.cur) - l).max(0.0),
            vx = l + bar_w + 8.0,
            pb = esc(&pct(c.base)),
            pc = esc(&pct(c.cur)),
        );
        if let Some(note) = &c.flag {
            let _ = write!(
                s,
                r##"<rect x="2" y="{y:.1}" width="{ww:.1}" height="{rh}" fill="none" stroke="{BAD}" stroke-width="1.5" rx="3"/><text class="mark-label" x="{vx:.1}" y="{ny:.1}" fill="{BAD}">{}</text>"##,
                esc(note),
                ww = w - 4.0,
                rh = row_h - 2.0,
                vx = l + bar_w + 8.0,
                ny = y + 27.0
            );
        }
        s.push_str("</g>");
    }
    s.push_str("</svg>");
    s
}

/// A small inline bar: `v` of `max`, with a tick at `mark` (e.g. the medium threshold).
pub fn mini_bar(v: f64, max: f64, mark: Option<f64>, color: &str) -> String {
    let (w, h) = (120.0, 12.0);
    let frac = if max > 0.0 && v.is_finite() {
        (v / max).clamp(0.0, 1.0)
    } else if v > 0.0 {
        1.0
    } else {
        0.0
    };
    let mut s = format!(
        r##"<svg class="mini" width="{w}" height="{h}" viewBox="0 0 {w} {h}" aria-hidden="true"><rect width="{w}" height="{h}" fill="#eef0f3" rx="2"/><rect width="{:.1}" height="{h}" fill="{color}" rx="2"/>"##,
        frac * w
    );
    if let Some(m) = mark.filter(|m| *m > 0.0 && *m < max) {
        let x = m / max * w;
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="0" x2="{x:.1}" y2="{h}" stroke="#222" stroke-width="1.5"/>"##
        );
    }
    s.push_str("</svg>");
    s
}

/// One bucket of a [`timeline`]: its start (Unix seconds), events, findings starting in
/// it and the worst of them.
pub struct Bucket {
    pub start: i64,
    pub events: u64,
    pub findings: u64,
    pub worst: Option<crate::report::Severity>,
}

/// Two panels on one time axis: events per bucket (bars), and below, findings per bucket
/// (bars coloured by their worst severity). X ticks are dates (and times under two days
/// apart).
pub fn timeline(buckets: &[Bucket], width_secs: i64, title: &str) -> String {
    use chrono::{DateTime, Utc};
    let (Some(first), Some(last)) = (buckets.first(), buckets.last()) else {
        return String::new();
    };
    let (t0, t1) = (first.start, last.start + width_secs);
    let etop = buckets.iter().map(|b| b.events).max().unwrap_or(0).max(1) as f64;
    let ftop = buckets.iter().map(|b| b.findings).max().unwrap_or(0).max(1) as f64;
    let eyt: Vec<(f64, String)> = ticks_up(etop, 4).into_iter().map(|t| (t, num(t))).collect();
    let fyt: Vec<(f64, String)> = ticks_up(ftop, 2)
        .into_iter()
        .filter(|t| t.fract() == 0.0)
        .map(|t| (t, num(t)))
        .collect();
    let (w, l, r) = (1060.0, 64.0, 16.0);
    // Events panel on top, findings below: one x mapping.
    let ev = Frame {
        w,
        h: 230.0,
        l,
        r,
        t: 30.0,
        b: 10.0,
        x0: t0 as f64,
        x1: t1 as f64,
        y0: 0.0,
        y1: eyt.last().map(|x| x.0).unwrap_or(etop).max(etop),
    };
    let fd = Frame {
        w,
        h: 350.0,
        l,
        r,
        t: 240.0,
        b: 34.0,
        x0: t0 as f64,
        x1: t1 as f64,
        y0: 0.0,
        y1: fyt.last().map(|x| x.0).unwrap_or(ftop).max(ftop),
    };
    let steps = [
        3600i64,
        3 * 3600,
        6 * 3600,
        12 * 3600,
        86400,
        2 * 86400,
        7 * 86400,
        14 * 86400,
        30 * 86400,
        91 * 86400,
        182 * 86400,
        365 * 86400,
    ];
    let span = (t1 - t0).max(1);
    let step = steps
        .iter()
        .copied()
        .find(|s| span / s <= 9)
        .unwrap_or(365 * 86400);
    let fmt = |t: i64, fine: bool| -> String {
        let d = DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default();
        if fine {
            d.format("%m-%d %H:%M").to_string()
        } else {
            d.format("%Y-%m-%d").to_string()
        }
    };
    let mut xt = Vec::new();
    let mut t = (t0 + step - 1).div_euclid(step) * step;
    while t <= t1 && xt.len() < 20 {
        xt.push((t as f64, fmt(t, step < 86400)));
        t += step;
    }
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg class="chart timeline" width="{w}" height="350" viewBox="0 0 {w} 350" role="img" aria-label="{t}"><title>{t}</title>"##,
        t = esc(title)
    );
    for f in [&ev, &fd] {
        let _ = write!(
            s,
            r##"<rect x="{l}" y="{tp}" width="{iw}" height="{ih}" fill="#fbfbfc" stroke="#d0d4da"/>"##,
            tp = f.t,
            iw = f.w - f.l - f.r,
            ih = f.h - f.t - f.b
        );
    }
    // Grid and labels: x labels only under the lower panel.
    let no_labels: Vec<(f64, String)> = xt.iter().map(|(x, _)| (*x, String::new())).collect();
    ev.axes(&mut s, &no_labels, &eyt, "events");
    fd.axes(&mut s, &xt, &fyt, "findings");
    let fine = width_secs < 86400;
    for b in buckets {
        let (x0, x1) = (ev.px(b.start as f64), ev.px((b.start + width_secs) as f64));
        let bw = (x1 - x0 - 0.4).max(1.0);
        let when = esc(&fmt(b.start, fine));
        if b.events > 0 {
            let y = ev.py(b.events as f64);
            let _ = write!(
                s,
                r##"<rect class="ev" x="{x0:.1}" y="{y:.1}" width="{bw:.1}" height="{hh:.1}" fill="{BASE}"><title>{when}: {n} events</title></rect>"##,
                hh = (ev.py(0.0) - y).max(1.0),
                n = b.events
            );
        }
        if b.findings > 0 {
            let y = fd.py(b.findings as f64);
            let cls = b.worst.map(|s| s.as_str()).unwrap_or("info");
            let _ = write!(
                s,
                r##"<rect class="fd sev-{cls}" x="{x0:.1}" y="{y:.1}" width="{bw:.1}" height="{hh:.1}"><title>{when}: {n} findings (worst {cls})</title></rect>"##,
                bw = bw.max(3.0),
                hh = (fd.py(0.0) - y).max(1.0),
                n = b.findings
            );
        }
    }
    let _ = write!(
        s,
        r##"<rect x="{l}" y="10" width="14" height="8" fill="{BASE}"/><text class="tick" x="{a}" y="18">events</text><rect x="{b}" y="10" width="14" height="8" fill="{BAD}"/><text class="tick" x="{c}" y="18">findings (first event in the bucket; colour: worst severity)</text>"##,
        a = l + 18.0,
        b = l + 80.0,
        c = l + 98.0
    );
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 1.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(ticks(3.0, 97.0, 5), vec![20.0, 40.0, 60.0, 80.0]);
        // Float noise off, and -0 as 0.
        assert_eq!(ticks(-0.3, 0.31, 6), vec![-0.2, 0.0, 0.2]);
        assert_eq!(ticks_up(0.23, 4), vec![0.0, 0.1, 0.2, 0.3]);
        assert!(ticks(f64::NAN, 1.0, 4).is_empty());
        assert_eq!(ticks(5.0, 5.0, 4), vec![5.0]);
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(0.30000000000000004), "0.3");
        assert_eq!(num(1234.5678), "1235");
        assert_eq!(num(12.345), "12.35");
        assert_eq!(num(0.00001234), "1.23e-5");
        assert_eq!(num(f64::NAN), "-");
        assert_eq!(pct(0.125), "12.5%");
        assert_eq!(pct(0.0001), "<0.1%");
    }

    #[test]
    fn cdf_interpolates_and_steps_at_ties() {
        let p: Vec<f64> = (0..=100).map(|i| i as f64).collect();
        assert_eq!(cdf_at(&p, -1.0), 0.0);
        assert!((cdf_at(&p, 50.5) - 0.505).abs() < 1e-9);
        assert_eq!(cdf_at(&p, 100.0), 1.0);
        let mut t = vec![0.0; 60];
        t.extend((0..41).map(|i| 1.0 + i as f64));
        assert!((cdf_at(&t, 0.0) - 0.59).abs() < 1e-9);
    }
}
