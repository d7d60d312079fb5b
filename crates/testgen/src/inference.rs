//! Seeded generator of synthetic inference logs for tests and benchmarks.
//!
//! Benign clients query natural rows of a real dataset (scikit-learn digits) with Gaussian
//! noise; attackers run (a) JbDA-style synthetic extraction, (b) a random-uniform sweep,
//! (c) a one-feature sweep, (d) a Knockoff-style natural-data thief. The "served model" is a
//! nearest-centroid classifier fitted on the dataset. See docs/inference.md.

use crate::{Error, Result, Rng};
use std::io::Write;
use std::path::Path;

/// A labelled numeric dataset (rows × dim) and its value range.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub rows: Vec<Vec<f32>>,
    pub labels: Vec<u32>,
    pub dim: usize,
    pub lo: f32,
    pub hi: f32,
}

/// Load a scikit-learn CSV export (`testdata/datasets/*.csv`: header, numeric features, the
/// integer target in the last column).
pub fn load_csv(path: &Path) -> Result<Dataset> {
    let mut r = csv::Reader::from_path(path).map_err(|e| Error::at(path, e))?;
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| Error::at(path, e))?;
        let line = rec.position().map_or(0, |p| p.line());
        let vals: Vec<f64> = rec
            .iter()
            .map(|v| v.trim().parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::at(path, format!("line {line}: {e}")))?;
        let (last, feats) = vals
            .split_last()
            .ok_or_else(|| Error::at(path, format!("line {line}: empty row")))?;
        rows.push(feats.iter().map(|v| *v as f32).collect::<Vec<f32>>());
        labels.push(*last as u32);
    }
    let dim = rows.first().map(|r| r.len()).unwrap_or(0);
    if dim == 0 || rows.iter().any(|r| r.len() != dim) {
        return Err(Error::at(
            path,
            "rows have differing or zero feature counts",
        ));
    }
    let lo = rows.iter().flatten().copied().fold(f32::INFINITY, f32::min);
    let hi = rows
        .iter()
        .flatten()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    Ok(Dataset {
        rows,
        labels,
        dim,
        lo,
        hi,
    })
}

/// The served model: nearest centroid; confidence = softmax(−‖x−μ_c‖²/τ) maximum.
#[derive(Debug, Clone)]
pub struct Model {
    pub centroids: Vec<Vec<f32>>,
    pub tau: f32,
}

impl Model {
    pub fn fit(d: &Dataset) -> Model {
        let k = d.labels.iter().copied().max().unwrap_or(0) as usize + 1;
        let mut sums = vec![vec![0f64; d.dim]; k];
        let mut counts = vec![0usize; k];
        for (r, &l) in d.rows.iter().zip(&d.labels) {
            counts[l as usize] += 1;
            for (s, v) in sums[l as usize].iter_mut().zip(r) {
                *s += *v as f64;
            }
        }
        let centroids = sums
            .into_iter()
            .zip(counts)
            .map(|(s, n)| {
                s.into_iter()
                    .map(|v| (v / n.max(1) as f64) as f32)
                    .collect()
            })
            .collect();
        let range = (d.hi - d.lo).max(1e-6);
        Model {
            centroids,
            tau: 0.5 * range * range,
        }
    }
    pub fn predict(&self, x: &[f32]) -> (u32, f32) {
        let d: Vec<f32> = self
            .centroids
            .iter()
            .map(|c| c.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum())
            .collect();
        let (best, dmin) =
            d.iter().enumerate().fold(
                (0, f32::INFINITY),
                |acc, (i, v)| if *v < acc.1 { (i, *v) } else { acc },
            );
        let z: f32 = d.iter().map(|v| (-(v - dmin) / self.tau).exp()).sum();
        (best as u32, 1.0 / z)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Benign,
    /// (a) Papernot/JbDA synthetic extraction.
    Jbda,
    /// (b) random-uniform sweep.
    Uniform,
    /// (c) one-feature sweep.
    OneFeature,
    /// (d) Knockoff-style natural-data thief.
    Knockoff,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Benign => "benign",
            Kind::Jbda => "jbda",
            Kind::Uniform => "uniform",
            Kind::OneFeature => "onefeature",
            Kind::Knockoff => "knockoff",
        }
    }
}

#[derive(Debug, Clone)]
pub struct GenConfig {
    pub seed: u64,
    pub benign: usize,
    pub benign_queries: (usize, usize),
    /// Attackers (kind, count); each sends `attacker_queries`.
    pub attackers: Vec<(Kind, usize)>,
    pub attacker_queries: usize,
    /// Gaussian noise on natural rows, as a fraction of the value range.
    pub noise: f32,
    /// Log span in seconds.
    pub span: i64,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            seed: 7,
            benign: 40,
            benign_queries: (150, 400),
            attackers: vec![
                (Kind::Jbda, 2),
                (Kind::Uniform, 2),
                (Kind::OneFeature, 2),
                (Kind::Knockoff, 2),
            ],
            attacker_queries: 600,
            noise: 0.03,
            span: 86_400,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Query {
    pub ts: i64,
    pub client: u32,
    pub x: Vec<f32>,
    pub class: u32,
    pub conf: f32,
}

/// Clients (`name`, kind) and their queries in time order.
pub struct Generated {
    pub clients: Vec<(String, Kind)>,
    pub queries: Vec<Query>,
}

fn clip(d: &Dataset, v: f32) -> f32 {
    v.clamp(d.lo, d.hi)
}

fn client_queries(
    d: &Dataset,
    m: &Model,
    kind: Kind,
    n: usize,
    noise: f32,
    rng: &mut Rng,
) -> Vec<Vec<f32>> {
    let range = d.hi - d.lo;
    let natural = |rng: &mut Rng| -> Vec<f32> {
        let r = &d.rows[rng.below(d.rows.len())];
        r.iter()
            .map(|v| clip(d, v + noise * range * rng.normal() as f32))
            .collect()
    };
    match kind {
        Kind::Benign | Kind::Knockoff => (0..n).map(|_| natural(rng)).collect(),
        Kind::Uniform => (0..n)
            .map(|_| {
                (0..d.dim)
                    .map(|_| d.lo + range * rng.f64() as f32)
                    .collect()
            })
            .collect(),
        Kind::OneFeature => {
            let mut out = Vec::with_capacity(n);
            let steps = 33;
            while out.len() < n {
                let base = d.rows[rng.below(d.rows.len())].clone();
                let k = rng.below(d.dim);
                for s in 0..steps {
                    if out.len() >= n {
                        break;
                    }
                    let mut x = base.clone();
                    x[k] = d.lo + range * s as f32 / (steps - 1) as f32;
                    out.push(x);
                }
            }
            out
        }
        Kind::Jbda => {
            // Seed: one random natural row per class (10 rows for digits), then Jacobian-based
            // augmentation rounds: x' = clip(x + λ·sign(∇ log p̂_{O(x)}(x))), λ = 0.1·range,
            // where p̂ is the attacker's substitute: a softmax nearest-centroid model over the
            // class means μ̂ of its own labelled queries, whose gradient is ∝ μ̂_c − Σ p̂_k μ̂_k. Each round
            // queries every new point and doubles the set (Papernot et al. 2017).
            let lambda = 0.1 * range;
            let k = m.centroids.len();
            let mut set: Vec<Vec<f32>> = Vec::new();
            for c in 0..k as u32 {
                let idx: Vec<usize> = (0..d.labels.len()).filter(|&i| d.labels[i] == c).collect();
                if !idx.is_empty() {
                    set.push(d.rows[idx[rng.below(idx.len())]].clone());
                }
            }
            let mut out: Vec<Vec<f32>> = set.clone();
            let mut sign_flip = 1.0f32;
            while out.len() < n {
                let mut sums = vec![vec![0f64; d.dim]; k];
                let mut cnt = vec![0usize; k];
                for x in &out {
                    let c = m.predict(x).0 as usize;
                    cnt[c] += 1;
                    for (s, v) in sums[c].iter_mut().zip(x) {
                        *s += *v as f64;
                    }
                }
                let mut new = Vec::with_capacity(set.len());
                let mus: Vec<Vec<f32>> = (0..k)
                    .map(|c| {
                        sums[c]
                            .iter()
                            .map(|s| (*s / cnt[c].max(1) as f64) as f32)
                            .collect()
                    })
                    .collect();
                for x in &set {
                    let c = m.predict(x).0 as usize;
                    // Substitute: softmax over −‖x − μ̂_k‖²/τ (classes seen so far);
                    // ∇ log p_c ∝ μ̂_c − Σ_k p_k μ̂_k.
                    let dist: Vec<f32> = (0..k)
                        .map(|j| {
                            if cnt[j] == 0 {
                                f32::INFINITY
                            } else {
                                mus[j].iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum()
                            }
                        })
                        .collect();
                    let dmin = dist.iter().copied().fold(f32::INFINITY, f32::min);
                    let w: Vec<f32> = dist.iter().map(|v| (-(v - dmin) / m.tau).exp()).collect();
                    let z: f32 = w.iter().sum::<f32>().max(1e-30);
                    let xn: Vec<f32> = (0..d.dim)
                        .map(|f| {
                            let avg: f32 = (0..k)
                                .filter(|&j| cnt[j] > 0)
                                .map(|j| w[j] / z * mus[j][f])
                                .sum();
                            let g = mus[c][f] - avg;
                            let sg = if g > 0.0 {
                                1.0
                            } else if g < 0.0 {
                                -1.0
                            } else {
                                0.0
                            };
                            clip(d, x[f] + sign_flip * lambda * sg)
                        })
                        .collect();
                    new.push(xn);
                }
                // Papernot's periodic step size: alternate direction every round.
                sign_flip = -sign_flip;
                out.extend(new.iter().cloned());
                set.extend(new);
            }
            out.truncate(n);
            out
        }
    }
}

/// Generate a log.
pub fn generate(d: &Dataset, cfg: &GenConfig) -> Generated {
    let model = Model::fit(d);
    let mut rng = Rng::new(cfg.seed);
    let mut clients = Vec::new();
    for i in 0..cfg.benign {
        clients.push((format!("benign-{i:04}"), Kind::Benign));
    }
    for (kind, count) in &cfg.attackers {
        for i in 0..*count {
            clients.push((format!("{}-{i:02}", kind.name()), *kind));
        }
    }
    let mut queries = Vec::new();
    for (ci, (_, kind)) in clients.iter().enumerate() {
        let n = match kind {
            Kind::Benign => {
                let (a, b) = cfg.benign_queries;
                a + rng.below(b.saturating_sub(a) + 1)
            }
            _ => cfg.attacker_queries,
        };
        let xs = client_queries(d, &model, *kind, n, cfg.noise, &mut rng);
        // Each client is active in a window of the span; times increase with query order.
        let start = rng.below(cfg.span.max(1) as usize / 2) as i64;
        let len = (cfg.span / 2).max(1);
        for (q, x) in xs.into_iter().enumerate() {
            let (class, conf) = model.predict(&x);
            let ts = 1_700_000_000 + start + (q as i64 * len) / n.max(1) as i64;
            queries.push(Query {
                ts,
                client: ci as u32,
                x,
                class,
                conf,
            });
        }
    }
    queries.sort_by_key(|q| (q.ts, q.client));
    Generated { clients, queries }
}

/// Write the default-schema CSV: `timestamp,client_id,model,f0..fN,prediction,confidence,status`.
pub fn write_csv(g: &Generated, path: &Path) -> Result<()> {
    let io = |e: std::io::Error| Error::at(path, e);
    let f = std::fs::File::create(path).map_err(io)?;
    let mut w = std::io::BufWriter::new(f);
    let dim = g.queries.first().map(|q| q.x.len()).unwrap_or(0);
    let mut head = String::from("timestamp,client_id,model");
    for k in 0..dim {
        head.push_str(&format!(",f{k}"));
    }
    head.push_str(",prediction,confidence,status\n");
    w.write_all(head.as_bytes()).map_err(io)?;
    let mut line = String::new();
    for q in &g.queries {
        use std::fmt::Write as _;
        line.clear();
        let name = g
            .clients
            .get(q.client as usize)
            .map(|c| c.0.as_str())
            .unwrap_or("?");
        let _ = write!(line, "{},{},digits-nc", q.ts, name);
        for v in &q.x {
            let _ = write!(line, ",{v:.3}");
        }
        let _ = writeln!(line, ",{},{:.4},200", q.class, q.conf);
        w.write_all(line.as_bytes()).map_err(io)?;
    }
    w.flush().map_err(io)
}
