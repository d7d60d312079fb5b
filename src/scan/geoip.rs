//! Optional GeoIP enrichment (`mlguard scan --geoip FILE`): source IPs in findings get
//! their country and autonomous system from MaxMind-format databases the user supplies
//! (GeoLite2 / GeoIP2 Country, City, ASN, Enterprise; or any `.mmdb` with the same keys).
//! Offline: nothing is downloaded, and without `--geoip` nothing changes.
//!
//! Why several files: MaxMind ships country and ASN as separate databases; each file is
//! asked for both and the first answer wins, so `--geoip Country.mmdb --geoip ASN.mmdb`
//! gives both.
//!
//! A database is untrusted input like any log: it is read whole up to [`MAX_BYTES`],
//! its metadata and search tree are checked when it is opened and every data record it
//! points at is verified (`Reader::verify`, which bounds its own work), so a truncated or
//! corrupt file is an input error naming it (exit 2) before any log is read, not a wrong
//! answer or a panic in the middle of a scan.

use crate::error::{Error, IoContext, Result};
use crate::finding::Finding;
use maxminddb::{PathElement, Reader};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The largest database read (GeoIP2 Enterprise, the biggest MaxMind ships, is ~400 MiB).
pub const MAX_BYTES: u64 = 1 << 30;

/// The databases of one scan.
pub struct GeoIp {
    dbs: Vec<(PathBuf, Reader<Vec<u8>>)>,
}

/// What the databases say about one address.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Geo {
    /// ISO 3166-1 alpha-2 (`country.iso_code`, else `registered_country.iso_code`).
    pub country: Option<String>,
    pub asn: Option<u32>,
    pub as_org: Option<String>,
}

fn open_one(p: &Path) -> Result<Reader<Vec<u8>>> {
    let len = std::fs::metadata(p).with_path(p)?.len();
    if len > MAX_BYTES {
        return Err(Error::input(
            p,
            format!("GeoIP database of {len} bytes is larger than the {MAX_BYTES}-byte limit"),
        ));
    }
    let bytes = std::fs::read(p).with_path(p)?;
    from_bytes(p, bytes)
}

/// A database from its bytes, validated (`p` names it in errors).
fn from_bytes(p: &Path, bytes: Vec<u8>) -> Result<Reader<Vec<u8>>> {
    let bad = |e: maxminddb::MaxMindDbError| {
        Error::input(p, format!("not a valid MaxMind DB (GeoIP) file: {e}"))
    };
    let r = Reader::from_source(bytes).map_err(bad)?;
    r.verify().map_err(bad)?;
    Ok(r)
}

impl GeoIp {
    /// Open and validate every database.
    pub fn open(paths: &[PathBuf]) -> Result<GeoIp> {
        let mut dbs = Vec::new();
        for p in paths {
            dbs.push((p.clone(), open_one(p)?));
        }
        Ok(GeoIp { dbs })
    }

    /// One database from bytes already read (the fuzz target's entry point).
    pub fn from_bytes(name: &Path, bytes: Vec<u8>) -> Result<GeoIp> {
        Ok(GeoIp {
            dbs: vec![(name.to_path_buf(), from_bytes(name, bytes)?)],
        })
    }

    /// Country and AS of `ip`: from each database in turn, the first answer per field.
    pub fn lookup(&self, ip: IpAddr) -> Geo {
        let mut g = Geo::default();
        for (_, r) in &self.dbs {
            let Ok(res) = r.lookup(ip) else { continue };
            if !res.has_data() {
                continue;
            }
            let s = |path: &[PathElement]| res.decode_path::<String>(path).ok().flatten();
            let n = |path: &[PathElement]| res.decode_path::<u32>(path).ok().flatten();
            if g.country.is_none() {
                g.country = s(&[PathElement::Key("country"), PathElement::Key("iso_code")])
                    .or_else(|| {
                        s(&[
                            PathElement::Key("registered_country"),
                            PathElement::Key("iso_code"),
                        ])
                    });
            }
            if g.asn.is_none() {
                g.asn = n(&[PathElement::Key("autonomous_system_number")]).or_else(|| {
                    n(&[
                        PathElement::Key("traits"),
                        PathElement::Key("autonomous_system_number"),
                    ])
                });
            }
            if g.as_org.is_none() {
                g.as_org = s(&[PathElement::Key("autonomous_system_organization")]).or_else(|| {
                    s(&[
                        PathElement::Key("traits"),
                        PathElement::Key("autonomous_system_organization"),
                    ])
                });
            }
        }
        g
    }

    /// Add `source_country`, `source_asn`, `source_as_org` to every finding whose
    /// `evidence.source_ip` is an address the databases know. Findings without an IP, or
    /// with a service name in its place (`s3.amazonaws.com`, `AWS Internal`), are left
    /// as they are.
    pub fn annotate(&self, findings: &mut [Finding]) {
        let mut cache: std::collections::HashMap<IpAddr, Geo> = Default::default();
        for f in findings {
            let Some(ip) = f
                .evidence
                .get("source_ip")
                .and_then(|v| v.as_str())
                .and_then(|s| s.parse::<IpAddr>().ok())
            else {
                continue;
            };
            let g = cache.entry(ip).or_insert_with(|| self.lookup(ip));
            if let Some(c) = &g.country {
                f.evidence.insert("source_country".into(), c.clone().into());
            }
            if let Some(a) = g.asn {
                f.evidence.insert("source_asn".into(), a.into());
            }
            if let Some(o) = &g.as_org {
                f.evidence.insert("source_as_org".into(), o.clone().into());
            }
        }
    }
}
