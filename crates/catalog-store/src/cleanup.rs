//! Removing what dead writers and finished readers left: staging folders
//! whose lock nobody holds, and version folders that no catalog row points
//! to and no reader leases. The rules that make this safe are in the
//! crate's documentation; each function says which lock its caller holds.
//!
//! Cleanup is best effort: a leftover that cannot be removed is reported
//! and skipped, and the rest is cleaned all the same. It is never a reason
//! to fail the command that opened the directory.
//!
//! **Never knows:** SQLite; the caller hands over the live versions.

use crate::locks::{self, Attempt};
use crate::{Error, Result, io, layout};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Removes `path` and everything in it; already gone is fine (another
/// cleaner, or a writer's own cleanup, got there first).
fn remove_tree(path: &Path) -> Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("cannot remove", path)(e)),
        _ => Ok(()),
    }
}

fn remove_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("cannot remove", path)(e)),
        _ => Ok(()),
    }
}

fn entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let listing = match std::fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("cannot read", dir)(e)),
    };
    let mut out: Vec<PathBuf> = listing.filter_map(|e| e.ok().map(|e| e.path())).collect();
    out.sort();
    Ok(out)
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Removes every staging folder of a writer that is gone. Needs no other
/// lock: a live writer holds its staging lock from before its folder exists
/// until after the folder is gone (published or removed). Returns what it
/// could not remove.
pub(crate) fn remove_dead_staging(staging: &Path) -> Vec<Error> {
    match entries(staging) {
        Ok(paths) => paths
            .iter()
            .filter_map(|path| remove_if_dead(staging, path).err())
            .collect(),
        Err(e) => vec![e],
    }
}

/// Removes the staging entry `path` if its writer is gone.
fn remove_if_dead(staging: &Path, path: &Path) -> Result<()> {
    let name = name_of(path);
    if let Some(folder) = name.strip_suffix(layout::STAGING_LOCK_SUFFIX) {
        // Only a lock file that exists is tried (never created): one
        // that vanished was removed by its writer or another cleaner.
        if let Attempt::Locked(lock) = locks::try_exclusive(path, false)? {
            remove_tree(&staging.join(folder))?;
            // Unlinked while still locked: a writer that created this
            // file and lost the race for its lock sees it gone.
            remove_file(path)?;
            drop(lock);
        }
    } else if path.is_dir() && !layout::staging_lock(path).exists() {
        // A folder without its lock file: its writer had already
        // removed the lock (it never does while the folder exists), or
        // this folder comes from a version of Corvus without locks.
        remove_tree(path)?;
    }
    Ok(())
}

/// Removes every version folder under `tables` that is not in `live` and
/// that no reader leases, and the lease files left without a folder, then
/// the table and schema folders left empty.
///
/// The caller holds the publish lock and read `live` while holding it: no
/// version can become live meanwhile, and none that is not live will be
/// again, so the only readers that could still want a folder are those
/// holding its lease. Returns what it could not remove.
pub(crate) fn remove_unread_versions(tables: &Path, live: &HashSet<PathBuf>) -> Vec<Error> {
    let mut problems = Vec::new();
    let mut listed = |listing: Result<Vec<PathBuf>>| {
        listing.unwrap_or_else(|e| {
            problems.push(e);
            Vec::new()
        })
    };
    let mut failed = Vec::new();
    for schema in listed(layout::subfolders(tables)) {
        for table in listed(layout::subfolders(&schema)) {
            for path in listed(entries(&table)) {
                if let Err(e) = remove_if_unread(&path, live) {
                    failed.push(e);
                }
            }
            // Fails while anything is left in it, which is what we want.
            let _ = std::fs::remove_dir(&table);
        }
        let _ = std::fs::remove_dir(&schema);
    }
    problems.extend(failed);
    problems
}

/// Removes the version folder or lease file `path` if it is not live and
/// nobody reads it.
fn remove_if_unread(path: &Path, live: &HashSet<PathBuf>) -> Result<()> {
    if path.is_dir() {
        if live.contains(path) {
            return Ok(());
        }
        // Created if missing (versions published before leases
        // existed), so that a reader arriving now waits for this
        // lock and then finds the folder gone.
        let lease = layout::lease(path);
        if let Attempt::Locked(lock) = locks::try_exclusive(&lease, true)? {
            remove_tree(path)?;
            remove_file(&lease)?;
            drop(lock);
        }
    } else if let Some(version) = layout::version_of_lease(path)
        && !version.exists()
        && !live.contains(&version)
        && let Attempt::Locked(lock) = locks::try_exclusive(path, false)?
    {
        // A lease file whose folder is gone: a crash between
        // removing the folder and the file, or a reader that
        // came to a version just removed.
        remove_file(path)?;
        drop(lock);
    }
    Ok(())
}
