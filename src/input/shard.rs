//! `--shard INDEX/COUNT`: a deterministic split of a listing, and the checks that tell the
//! parts of one run from parts of another (docs/scale.md).
//!
//! * A listed path belongs to shard `u64_le(BLAKE3_derive_key(SHARD_CONTEXT, path)[..8]) mod
//!   COUNT`. The assignment depends on the path alone, so adding or removing a file moves
//!   only that file, and every machine computes the same split without talking to the
//!   others (a Kubernetes Indexed Job passes `$JOB_COMPLETION_INDEX` unchanged: INDEX is
//!   0-based). The function is part of the format: changing it would make parts of two
//!   versions disagree, so it is versioned by its context string.
//! * Every part records the **fingerprint of the whole listing** (BLAKE3 over every listed
//!   path, sorted, length-prefixed) and how many paths were listed. Parts with different
//!   fingerprints come from different listings (another tree, another prefix, the tree
//!   changed between the parts' listings) and are never merged; and a merge recomputes the
//!   fingerprint from the union of the parts' paths, so a part that dropped or invented a
//!   path is caught even when its own root was recomputed.

use serde::{Deserialize, Serialize};

/// Largest COUNT accepted: the completion limit of a Kubernetes Indexed Job (10^5), far
/// more parts than any merge needs.
pub const MAX_SHARDS: u64 = 100_000;

/// Domain separation for the assignment hash (never change: parts would disagree).
const SHARD_CONTEXT: &str = "mlguard 2026-12 shard assignment v1";
/// Domain separation for the listing fingerprint.
const LISTING_CONTEXT: &str = "mlguard 2026-12 listing fingerprint v1";

/// A parsed `--shard INDEX/COUNT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Parse `INDEX/COUNT` with `0 <= INDEX < COUNT <= MAX_SHARDS`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || {
            format!(
                "'{s}': expected INDEX/COUNT with 0 <= INDEX < COUNT <= {MAX_SHARDS} (INDEX is 0-based, e.g. 0/4 .. 3/4)"
            )
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(i) || !digits(n) {
            return Err(bad());
        }
        let index: u64 = i.parse().map_err(|_| bad())?;
        let count: u64 = n.parse().map_err(|_| bad())?;
        if count == 0 || count > MAX_SHARDS || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Does `path` (raw bytes, as listed) belong to this shard?
    pub fn owns(&self, path: &[u8]) -> bool {
        shard_of(path, self.count) == self.index
    }

    /// The record a part carries, for a listing of `paths`.
    pub fn info<'a>(&self, paths: impl IntoIterator<Item = &'a [u8]>) -> ShardInfo {
        let (listing, listed) = fingerprint(paths);
        ShardInfo {
            index: self.index,
            count: self.count,
            listing,
            listed,
        }
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// clap value parser for `--shard`.
pub fn parse_arg(s: &str) -> Result<Shard, String> {
    Shard::parse(s)
}

/// The shard `path` belongs to among `count`.
pub fn shard_of(path: &[u8], count: u64) -> u64 {
    let h = blake3::Hasher::new_derive_key(SHARD_CONTEXT)
        .update(path)
        .finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.as_bytes()[..8]);
    u64::from_le_bytes(b) % count.max(1)
}

/// `(hex fingerprint, number of distinct paths)` of a listing, in any order.
pub fn fingerprint<'a>(paths: impl IntoIterator<Item = &'a [u8]>) -> (String, u64) {
    let mut v: Vec<&[u8]> = paths.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    let mut h = blake3::Hasher::new_derive_key(LISTING_CONTEXT);
    for p in &v {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    (h.finalize().to_hex().to_string(), v.len() as u64)
}

/// What a shard part records (`"shard"` in a manifest part, a profile part and a sharded
/// verify report; docs/manifest.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardInfo {
    /// 0-based index of this part.
    pub index: u64,
    /// Number of parts.
    pub count: u64,
    /// Hex BLAKE3 fingerprint of the whole listing (every part of one run has the same).
    pub listing: String,
    /// Number of paths in the whole listing.
    pub listed: u64,
}

impl ShardInfo {
    /// Reject an impossible record (untrusted input).
    pub fn validate(&self) -> Result<(), String> {
        if self.count == 0 || self.count > MAX_SHARDS {
            return Err(format!(
                "shard.count {} is not from 1 to {MAX_SHARDS}",
                self.count
            ));
        }
        if self.index >= self.count {
            return Err(format!(
                "shard.index {} is not below shard.count {}",
                self.index, self.count
            ));
        }
        if self.listing.len() != 64 || !self.listing.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("shard.listing is not 64 hex digits".into());
        }
        if self.listed > crate::limits::MAX_COUNT {
            return Err("shard.listed is over the limit of 2^53".into());
        }
        Ok(())
    }

    pub fn shard(&self) -> Shard {
        Shard {
            index: self.index,
            count: self.count,
        }
    }
}

/// Check that `parts` (name, shard record) are exactly the COUNT parts of one run: every
/// one a part, one count, one listing, each index once. Returns the first part's record.
/// Errors name the offending part (or the missing indices).
pub fn check_parts(parts: &[(String, Option<&ShardInfo>)]) -> Result<ShardInfo, String> {
    let Some((first_name, _)) = parts.first() else {
        return Err("no parts given".into());
    };
    let mut seen: std::collections::BTreeMap<u64, &str> = Default::default();
    let mut first: Option<&ShardInfo> = None;
    for (name, info) in parts {
        let Some(info) = info else {
            return Err(format!(
                "{name}: not a shard part (no \"shard\" record): give only the parts written with --shard"
            ));
        };
        match first {
            None => first = Some(info),
            Some(f) => {
                if info.count != f.count {
                    return Err(format!(
                        "{name}: foreign part: shard {}/{} but {first_name} is one of {} parts",
                        info.index, info.count, f.count
                    ));
                }
                if info.listing != f.listing || info.listed != f.listed {
                    return Err(format!(
                        "{name}: foreign part: its listing ({} paths, fingerprint {}) is not the listing of {first_name} ({} paths, fingerprint {}): parts of different trees, or the tree changed between the parts' runs",
                        info.listed,
                        &info.listing[..16.min(info.listing.len())],
                        f.listed,
                        &f.listing[..16.min(f.listing.len())]
                    ));
                }
            }
        }
        if let Some(prev) = seen.insert(info.index, name) {
            return Err(format!(
                "{name}: duplicated part: shard {}/{} was already given as {prev}",
                info.index, info.count
            ));
        }
    }
    let f = first.cloned().ok_or("no parts given")?;
    let missing: Vec<String> = (0..f.count)
        .filter(|i| !seen.contains_key(i))
        .take(10)
        .map(|i| format!("{i}/{}", f.count))
        .collect();
    if !missing.is_empty() {
        let more = f.count as usize - seen.len();
        return Err(format!(
            "missing part(s): shard {}{} ({} of {} parts given)",
            missing.join(", "),
            if more > missing.len() { ", ..." } else { "" },
            seen.len(),
            f.count
        ));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_only_0_based_in_range() {
        assert_eq!(Shard::parse("0/1").unwrap(), Shard { index: 0, count: 1 });
        assert_eq!(Shard::parse("3/4").unwrap(), Shard { index: 3, count: 4 });
        for bad in [
            "", "1", "4/4", "5/4", "-1/4", "0/0", "a/b", "1/ 4", " 1/4", "1/4/5", "0/100001",
            "+1/4", "1/", "/4",
        ] {
            assert!(Shard::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Shard::parse("99999/100000").is_ok());
    }

    #[test]
    fn every_path_has_exactly_one_shard_and_the_split_is_stable() {
        let paths: Vec<Vec<u8>> = (0..1000)
            .map(|i| format!("d/{i}.csv").into_bytes())
            .collect();
        let n = 7;
        let mut per = vec![0usize; n as usize];
        for p in &paths {
            let owners: Vec<u64> = (0..n)
                .filter(|&i| Shard { index: i, count: n }.owns(p))
                .collect();
            assert_eq!(owners.len(), 1);
            per[owners[0] as usize] += 1;
        }
        // Roughly even (each shard expects ~143).
        assert!(per.iter().all(|&c| c > 90 && c < 200), "{per:?}");
        // A fixed value: the assignment is part of the format.
        assert_eq!(shard_of(b"a.csv", 1), 0);
        let (f1, n1) = fingerprint(paths.iter().map(|p| p.as_slice()));
        let (f2, _) = fingerprint(paths.iter().rev().map(|p| p.as_slice()));
        assert_eq!((f1.clone(), n1), (f2, 1000));
        let (f3, _) = fingerprint(paths[1..].iter().map(|p| p.as_slice()));
        assert_ne!(f1, f3);
        // Length prefixes: ["ab","c"] and ["a","bc"] differ.
        assert_ne!(
            fingerprint([&b"ab"[..], b"c"]).0,
            fingerprint([&b"a"[..], b"bc"]).0
        );
    }

    #[test]
    fn check_parts_names_missing_duplicate_and_foreign() {
        let s = |i, n| Shard { index: i, count: n }.info([&b"x"[..]]);
        let a = s(0, 2);
        let b = s(1, 2);
        let ok = check_parts(&[("a".into(), Some(&a)), ("b".into(), Some(&b))]).unwrap();
        assert_eq!(ok.count, 2);
        let e = check_parts(&[("a".into(), Some(&a))]).unwrap_err();
        assert!(e.contains("missing") && e.contains("1/2"), "{e}");
        let e = check_parts(&[("a".into(), Some(&a)), ("a2".into(), Some(&a))]).unwrap_err();
        assert!(e.starts_with("a2: duplicated"), "{e}");
        let other = Shard { index: 1, count: 2 }.info([&b"y"[..]]);
        let e = check_parts(&[("a".into(), Some(&a)), ("c".into(), Some(&other))]).unwrap_err();
        assert!(e.starts_with("c: foreign"), "{e}");
        let three = s(1, 3);
        let e = check_parts(&[("a".into(), Some(&a)), ("t".into(), Some(&three))]).unwrap_err();
        assert!(e.starts_with("t: foreign"), "{e}");
        let e = check_parts(&[("a".into(), Some(&a)), ("w".into(), None)]).unwrap_err();
        assert!(e.starts_with("w: not a shard part"), "{e}");
    }
}
