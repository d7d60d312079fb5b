//! `mlguard manifest merge`: join the parts of a `hash --shard` run into the manifest the
//! unsharded run writes (same entries, same skipped list, same root; only `created`
//! differs).
//!
//! Why the result can be trusted as much as an unsharded manifest: every part is validated
//! like any manifest (its own root, sorted paths) and every entry must belong to the part's
//! shard; the parts must be exactly the COUNT parts of one listing
//! ([`crate::input::shard::check_parts`]); and the union of the parts' paths (entries and
//! skipped) must have the listing's fingerprint, so no path was dropped or invented.

use super::manifest::{decode_path, Manifest, Skipped};
use crate::error::{Error, Result};
use crate::input::shard;
use std::path::PathBuf;

/// Merge validated parts (`(file name, manifest)`). Errors name the offending part.
pub fn merge_parts(parts: Vec<(PathBuf, Manifest)>) -> Result<Manifest> {
    let Some((first_name, first)) = parts.first() else {
        return Err(Error::usage(
            "manifest merge needs the parts: mlguard manifest merge PART... -o MANIFEST",
        ));
    };
    let records: Vec<(String, Option<&shard::ShardInfo>)> = parts
        .iter()
        .map(|(n, m)| (n.display().to_string(), m.shard.as_ref()))
        .collect();
    let info = shard::check_parts(&records).map_err(Error::Usage)?;
    let options = first.options.clone();
    let first_name = first_name.clone();
    for (name, m) in &parts[1..] {
        if m.options != options {
            return Err(Error::input(
                name,
                format!(
                    "foreign part: hashed with other options than {} ({})",
                    first_name.display(),
                    option_difference(&options, &m.options)
                ),
            ));
        }
    }
    let mut files = Vec::new();
    let mut skipped: Vec<Skipped> = Vec::new();
    let mut listed: Vec<Vec<u8>> = Vec::new();
    for (name, m) in parts {
        let s = m.shard.as_ref().map(|s| s.shard());
        for sk in &m.skipped {
            let raw = decode_path(&sk.path)
                .map_err(|e| Error::input_at(&name, format!("skipped '{}'", sk.path), e))?;
            if let Some(s) = s {
                if !s.owns(&raw) {
                    return Err(Error::input_at(
                        &name,
                        format!("skipped '{}'", sk.path),
                        format!("does not belong to this part {s}"),
                    ));
                }
            }
            listed.push(raw);
        }
        for e in &m.files {
            // Validated on read: the path decodes.
            listed.push(decode_path(&e.path).map_err(|e| Error::input(&name, e))?);
        }
        files.extend(m.files);
        skipped.extend(m.skipped);
    }
    let (fp, n) = shard::fingerprint(listed.iter().map(|p| p.as_slice()));
    if fp != info.listing || n != info.listed {
        return Err(Error::input(
            &first_name,
            format!(
                "the parts account for {n} paths but their run listed {}: a part was altered (the union of their paths does not have the listing's fingerprint)",
                info.listed
            ),
        ));
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    let mut merged = Manifest::new(options, files)?;
    merged.skipped = skipped;
    Ok(merged)
}

fn option_difference(
    a: &super::manifest::ManifestOptions,
    b: &super::manifest::ManifestOptions,
) -> String {
    let mut d = Vec::new();
    if a.sha256 != b.sha256 {
        d.push(format!("sha256 {} vs {}", a.sha256, b.sha256));
    }
    if a.chunk_size != b.chunk_size {
        d.push(format!("chunk_size {} vs {}", a.chunk_size, b.chunk_size));
    }
    if a.excludes != b.excludes {
        d.push(format!("excludes {:?} vs {:?}", a.excludes, b.excludes));
    }
    if a.follow_symlinks != b.follow_symlinks {
        d.push(format!(
            "follow_symlinks {} vs {}",
            a.follow_symlinks, b.follow_symlinks
        ));
    }
    if d.is_empty() {
        d.push("options differ".into());
    }
    d.join(", ")
}
