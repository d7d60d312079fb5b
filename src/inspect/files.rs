//! Which files `inspect` looks at: every regular file under the given paths. `.git`
//! directories are skipped (their zlib objects are not models); symlinks to files are
//! inspected (model caches link to blobs), symlinked directories are not descended and are
//! reported, so nothing is skipped silently.

use super::Problem;
use std::path::{Path, PathBuf};

/// `(files to inspect, paths that could not be listed)`.
pub fn list(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(String, Problem)>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let mut note = |p: &Path, m: String| {
        problems.push((
            p.display().to_string(),
            Problem {
                member: None,
                offset: None,
                message: m,
            },
        ))
    };
    for root in paths {
        match std::fs::metadata(root) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                files.push(root.clone());
                continue;
            }
            Err(e) => {
                note(root, format!("cannot read: {e}"));
                continue;
            }
        }
        let walk = walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| !(e.file_type().is_dir() && e.file_name() == ".git"));
        for entry in walk {
            match entry {
                Ok(e) if e.file_type().is_file() => files.push(e.into_path()),
                Ok(e) if e.file_type().is_symlink() => match std::fs::metadata(e.path()) {
                    Ok(m) if m.is_file() => files.push(e.into_path()),
                    Ok(m) if m.is_dir() => {
                        note(e.path(), "symlinked directory: not followed".into())
                    }
                    Ok(_) => note(
                        e.path(),
                        "symlink to a FIFO, socket or device: not opened".into(),
                    ),
                    Err(x) => note(e.path(), format!("dangling symlink: {x}")),
                },
                Ok(e) if e.file_type().is_dir() => {}
                Ok(e) => note(e.path(), "FIFO, socket or device: not opened".into()),
                Err(x) => {
                    let p = x
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| root.clone());
                    note(&p, format!("cannot read: {x}"));
                }
            }
        }
    }
    (files, problems)
}
