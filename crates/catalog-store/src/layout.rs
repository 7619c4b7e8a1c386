//! Where things are in a data directory, and fresh names for new ones:
//!
//! ```text
//! state.sqlite                         the catalog and the jobs (and its -wal, -shm)
//! results/<job>/                       an asynchronous job's files (uws-jobs)
//! publish.lock                         the publish lock
//! tables/.staging/<id>/                an ingest's files in progress
//! tables/.staging/<id>.lock            that ingest's staging lock
//! tables/<schema>/<table>/<version>/   a version's Parquet files
//! tables/<schema>/<table>/<version>.lease   the readers' leases on it
//! ```
//!
//! A directory without `state.sqlite` (Parquet files copied from elsewhere)
//! is read as `tables/<schema>/<table>/*.parquet`, see [`bare_tables`].
//!
//! **Never knows:** what is in the files, or who locks them.

use crate::{Result, io};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The suffix of a staging folder's lock file, beside the folder.
pub(crate) const STAGING_LOCK_SUFFIX: &str = ".lock";
/// The suffix of a version's lease file, beside the folder.
const LEASE_SUFFIX: &str = ".lease";

pub(crate) fn catalog(root: &Path) -> PathBuf {
    root.join("state.sqlite")
}

pub(crate) fn results(root: &Path) -> PathBuf {
    root.join("results")
}

pub(crate) fn publish_lock(root: &Path) -> PathBuf {
    root.join("publish.lock")
}

pub(crate) fn tables(root: &Path) -> PathBuf {
    root.join("tables")
}

pub(crate) fn staging(root: &Path) -> PathBuf {
    tables(root).join(".staging")
}

/// A table's folder, relative to the data directory.
pub(crate) fn table_relative(schema: &str, table: &str) -> PathBuf {
    Path::new("tables").join(schema).join(table)
}

/// The lock file of a staging folder.
pub(crate) fn staging_lock(folder: &Path) -> PathBuf {
    beside(folder, STAGING_LOCK_SUFFIX)
}

/// The lease file of a version folder.
pub(crate) fn lease(version: &Path) -> PathBuf {
    beside(version, LEASE_SUFFIX)
}

/// The version folder a lease file belongs to, if `path` is one.
pub(crate) fn version_of_lease(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    Some(path.with_file_name(name.strip_suffix(LEASE_SUFFIX)?))
}

fn beside(folder: &Path, suffix: &str) -> PathBuf {
    let mut name = folder.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    folder.with_file_name(name)
}

/// A name no other call, in this process or another, returns: the process
/// id, the time in nanoseconds and a counter.
pub(crate) fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{nanos:x}-{}-{n}", std::process::id())
}

/// The folders in `dir`, sorted, leaving out hidden ones (`.staging`).
pub(crate) fn subfolders(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io("cannot read", dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// True if `root` holds a catalog (`state.sqlite`).
pub fn has_catalog(root: &Path) -> bool {
    catalog(root).is_file()
}

/// A table of a directory without a catalog: its names and its first
/// Parquet file, whose footer describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BareTable {
    /// The schema, from the folder name.
    pub schema: String,
    /// The table, from the folder name.
    pub table: String,
    /// The first Parquet file of the table's folder, by name.
    pub first_file: PathBuf,
}

/// The tables of a directory without a catalog: every
/// `tables/<schema>/<table>/` folder holding Parquet files, in name order.
pub fn bare_tables(root: &Path) -> Result<Vec<BareTable>> {
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for schema in subfolders(&tables(root))? {
        for table in subfolders(&schema)? {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&table)
                .map_err(io("cannot read", &table))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
                .collect();
            files.sort();
            if let Some(first_file) = files.into_iter().next() {
                out.push(BareTable {
                    schema: name(&schema),
                    table: name(&table),
                    first_file,
                });
            }
        }
    }
    Ok(out)
}
