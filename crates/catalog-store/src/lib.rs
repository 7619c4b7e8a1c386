//! The data directory and the catalog of published tables.
//!
//! Layout (`layout.rs`): `state.sqlite` (the catalog, `catalog.rs`),
//! `tables/<schema>/<table>/<version>/*.parquet` (the data),
//! `tables/.staging/` (ingests in progress), and lock files. A table's files
//! are written under `.staging`, moved to a fresh version folder, and only
//! then made visible by one SQLite transaction; so a table appears whole or
//! not at all, and a replaced table stays as it was until the new one is
//! complete.
//!
//! # Several processes at once
//!
//! Any number of processes may use one data directory at the same time:
//! ingests, `corvus tables`, queries, services. They agree through advisory
//! locks on lock files (`locks.rs`), which die with their process however
//! it ends; that is what makes a dead writer's leftovers recognisable.
//!
//! - **Staging lock** (`tables/.staging/<id>.lock`, exclusive): a writer
//!   creates and locks it before its staging folder `<id>/` exists and
//!   removes it only after the folder is gone (published or removed); a
//!   [`Staging`] holds it.
//! - **Publish lock** (`publish.lock`, exclusive): held by [`DataDir::publish`]
//!   and [`DataDir::drop_table`] around the rename and the catalog
//!   transaction, and by whoever removes version folders. Short: nobody
//!   holds it while reading or sorting.
//! - **Lease** (`tables/<schema>/<table>/<version>.lease`, shared): a reader
//!   holds one on every version it may read, for as long as it may read it;
//!   a [`Snapshot`] holds them.
//!
//! The rules:
//!
//! 1. A staging folder is removed only by its writer, or by a cleaner that
//!    got its staging lock without waiting (its writer is dead). A writer
//!    that loses its freshly created lock file to a cleaner sees the file
//!    gone once it gets the lock, and starts again under a new name.
//! 2. A version folder is removed only by a process holding the publish
//!    lock, only if no catalog row read under that lock points to it, and
//!    only while it holds that version's lease exclusively, got without
//!    waiting (no reader). So a version being published (renamed, not yet
//!    committed) is never taken for an orphan, and a replaced or dropped
//!    version stays until its last reader is gone; then whoever next opens
//!    the directory or publishes removes it.
//! 3. A reader takes its leases after reading the catalog, then checks that
//!    each folder is still there; if one went (replaced and removed between
//!    the two), it reads the catalog again.
//! 4. [`DataDir::open`] never waits on a writer: it removes dead staging
//!    folders, and removes unread versions only if it gets the publish lock
//!    without waiting (whoever holds it cleans up after publishing).
//!
//! Every catalog change is one IMMEDIATE transaction, and the catalog has a
//! busy timeout, so concurrent writers queue instead of failing.
//!
//! Tests reach the instants between publish's rename and its commit, and
//! between the commit and the removal of the old version, through a
//! test-only pause (`failpoint.rs`, `CORVUS_TEST_FAILPOINT`).
//!
//! **Boundary:** knows SQLite and the file layout; not how files are read or
//! written (that is `ingest`), nor DataFusion or HTTP.

mod catalog;
mod cleanup;
mod data_dir;
mod failpoint;
mod layout;
mod locks;

pub use data_dir::{DataDir, Replace, Snapshot, Staging};
pub use layout::{BareTable, bare_tables, has_catalog};

use catalog_model::TableInfo;
use std::path::{Path, PathBuf};

/// Errors of the catalog and data directory.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite failed.
    #[error("catalog database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The table exists and neither replace nor append was asked for.
    #[error("table {0} already exists (use --replace to overwrite it or --append to add rows)")]
    TableExists(String),
    /// No such table.
    #[error("no table {0}")]
    NoSuchTable(String),
    /// A name that cannot be used.
    #[error("invalid name '{0}': use letters, digits and underscores, starting with a letter")]
    InvalidName(String),
    /// The catalog and the files disagree.
    #[error("table {table} is damaged: {problem} (drop it and ingest it again)")]
    Damaged {
        /// The table, as schema.table.
        table: String,
        /// What is wrong.
        problem: String,
    },
    /// The table was replaced while a new version was built from it.
    #[error(
        "table {0} was replaced by another writer while this one ran; nothing was published (run it again)"
    )]
    Changed(String),
    /// Tables were replaced faster than a snapshot could lease them.
    #[error("the tables kept changing while being opened; try again")]
    KeptChanging,
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { what, path, source }
}

/// What the catalog records about a published table beyond its columns.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRecord {
    /// Names, columns and the main position.
    pub info: TableInfo,
    /// Number of rows.
    pub row_count: u64,
    /// Bytes on disk.
    pub size_bytes: u64,
    /// The folder holding its Parquet files (under the data directory's
    /// root as it was opened).
    pub directory: PathBuf,
}

/// Checks a schema or table name: a regular ADQL identifier.
pub fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64;
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("hip2").is_ok());
        assert!(check_name("2mass").is_err());
        assert!(check_name("a/b").is_err());
        assert!(check_name("").is_err());
    }
}
