//! [`DataDir`]: opening a data directory (and removing what dead writers
//! left), staging, publishing, dropping, reading the catalog, and
//! [`Snapshot`]s that lease what they read. The locking protocol these
//! follow is in the crate's documentation; the comments here cite its rules.
//!
//! **Never knows:** what is in the files (Parquet is `ingest`'s), DataFusion.

use crate::catalog::{self, Row};
use crate::locks::{self, Attempt};
use crate::{Error, Result, TableRecord, check_name, cleanup, failpoint, io, layout};
use catalog_model::StaticCatalog;
use rusqlite::Connection;
use std::collections::HashSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// Fresh names a writer tries before giving up on a staging folder (each
/// failure means a cleaner took its lock file between creation and lock).
const STAGING_ATTEMPTS: usize = 16;
/// Catalog reads a snapshot tries before giving up (each failure means a
/// table was replaced and its old version removed in between).
const SNAPSHOT_ATTEMPTS: usize = 100;

/// A data directory, opened.
pub struct DataDir {
    root: PathBuf,
    db: Connection,
    /// What opening could not clean up; see [`DataDir::cleanup_warnings`].
    cleanup_warnings: Vec<String>,
}

/// A staging folder for one new table version, with its staging lock: the
/// folder is this process's until the value is dropped, and then it is
/// removed (unless [`DataDir::publish`] moved it into the tables first).
#[derive(Debug)]
pub struct Staging {
    path: PathBuf,
    lock_path: PathBuf,
    _lock: File,
}

impl Staging {
    /// A fresh, empty folder in the data directory at `root`, locked for
    /// this process until it is dropped (and then removed) or published.
    /// Without a [`DataDir`]: a query's scratch files (uploads a cluster's
    /// workers read) are staged this way too, so that a crash leaves
    /// nothing the next [`DataDir::open`] does not remove.
    pub fn create(root: &Path) -> Result<Staging> {
        let staging = layout::staging(root);
        std::fs::create_dir_all(&staging).map_err(io("cannot create", &staging))?;
        for _ in 0..STAGING_ATTEMPTS {
            let path = staging.join(layout::unique_name(""));
            let lock_path = layout::staging_lock(&path);
            let lock = match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&lock_path)
            {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io("cannot create", &lock_path)(e)),
            };
            match lock.try_lock() {
                Ok(()) => {}
                // A cleaner found the new file unlocked and is removing it.
                Err(TryLockError::WouldBlock) => continue,
                Err(TryLockError::Error(e)) => return Err(io("cannot lock", &lock_path)(e)),
            }
            // ... or has removed it already, and this lock guards nothing (rule 1).
            if !lock_path.exists() {
                continue;
            }
            let staged = Staging {
                path,
                lock_path,
                _lock: lock,
            };
            std::fs::create_dir(&staged.path).map_err(io("cannot create", &staged.path))?;
            return Ok(staged);
        }
        Err(Error::Io {
            what: "cannot create a staging folder in",
            path: staging,
            source: std::io::Error::other("other processes removed every lock file made for it"),
        })
    }

    /// The folder to write into.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for Staging {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Folder first, then the lock file, while still locked (rule 1); a
        // failure leaves what the next open removes once this process is gone.
        let _ = std::fs::remove_dir_all(&self.path);
        let _ = std::fs::remove_file(&self.lock_path);
    }
}

/// The published tables at one instant, each with a lease on its version
/// folder: the folders stay, even if the tables are replaced or dropped,
/// until the snapshot is dropped.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Every published table, ordered by schema and name.
    pub records: Vec<TableRecord>,
    // Held, never read: the shared locks last as long as these files are open.
    _leases: Vec<File>,
}

impl Snapshot {
    /// One table's record.
    pub fn record(&self, schema: &str, table: &str) -> Option<&TableRecord> {
        self.records
            .iter()
            .find(|r| r.info.schema == schema && r.info.name == table)
    }
}

/// What a publish may do to a table of the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replace {
    /// Nothing: an existing table is an error ([`Error::TableExists`]).
    No,
    /// Supersede it, whatever it is now.
    Yes,
    /// Supersede it only if its version is still this folder (the one the
    /// new version was built from: an append), else [`Error::Changed`].
    IfStill(PathBuf),
}

impl DataDir {
    /// Opens (creating if needed) the data directory at `root`, and removes
    /// what dead writers left: staging folders nobody holds, and versions
    /// that no catalog row points to and nobody reads (rule 4: without
    /// waiting for anyone).
    ///
    /// That cleanup is best effort: what it cannot remove is logged as a
    /// warning and listed by [`DataDir::cleanup_warnings`], and the
    /// directory opens all the same (one stuck leftover must not stop every
    /// command; the next open tries again).
    pub fn open(root: &Path) -> Result<DataDir> {
        let tables = layout::tables(root);
        std::fs::create_dir_all(&tables).map_err(io("cannot create", &tables))?;
        let db = catalog::open(&layout::catalog(root))?;
        let mut dir = DataDir {
            root: root.to_path_buf(),
            db,
            cleanup_warnings: Vec::new(),
        };
        let mut problems = cleanup::remove_dead_staging(&layout::staging(root));
        match locks::try_exclusive(&layout::publish_lock(root), true) {
            Ok(Attempt::Locked(publishing)) => {
                problems.extend(dir.remove_unread_versions());
                drop(publishing);
            }
            Ok(Attempt::Held | Attempt::Missing) => {}
            Err(e) => problems.push(e),
        }
        dir.cleanup_warnings = problems.iter().map(cleanup_warning).collect();
        Ok(dir)
    }

    /// What [`DataDir::open`] could not clean up, one sentence each (also
    /// logged as warnings): leftovers that stay until they can be removed.
    /// Empty unless something in the directory resists removal.
    pub fn cleanup_warnings(&self) -> &[String] {
        &self.cleanup_warnings
    }

    /// The state file (SQLite): the catalog, and the jobs' table.
    pub fn state_file(&self) -> PathBuf {
        layout::catalog(&self.root)
    }

    /// The folder of the asynchronous jobs' files, one folder per job
    /// (the job system owns what is inside).
    pub fn results_folder(&self) -> PathBuf {
        layout::results(&self.root)
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A fresh, empty folder to write a new table version into, locked for
    /// this process until the returned [`Staging`] is dropped or published.
    pub fn staging_folder(&self) -> Result<Staging> {
        Staging::create(&self.root)
    }

    /// Publishes the files in `staged` as `record.info` in one step. With
    /// `replace`, an existing table of that name is superseded (its version
    /// stays until its last reader is gone); without, it is an error.
    /// `record.directory` is set here.
    pub fn publish(
        &mut self,
        staged: Staging,
        mut record: TableRecord,
        replace: Replace,
    ) -> Result<TableRecord> {
        let (schema, name) = (&record.info.schema, &record.info.name);
        check_name(schema)?;
        check_name(name)?;
        // Durable before visible: the catalog must never point at files a
        // power cut could lose. Done before the lock, which others wait for.
        sync_files(staged.path())?;
        let publishing = locks::exclusive(&layout::publish_lock(&self.root))?;
        let tx = catalog::write(&mut self.db)?;
        let current = catalog::version(&tx, schema, name)?;
        match (&replace, &current) {
            (Replace::No, Some(_)) => {
                return Err(Error::TableExists(record.info.qualified_name()));
            }
            // Built from a version that is no longer the table's (another
            // writer replaced it meanwhile): publishing would lose its rows.
            (Replace::IfStill(built_from), _)
                if current.as_deref() != built_from.file_name().and_then(|n| n.to_str()) =>
            {
                return Err(Error::Changed(record.info.qualified_name()));
            }
            _ => {}
        }
        let table_relative = layout::table_relative(schema, name);
        let table_dir = self.root.join(&table_relative);
        std::fs::create_dir_all(&table_dir).map_err(io("cannot create", &table_dir))?;
        let (version_name, version) = new_version(&table_dir)?;
        if let Err(e) = std::fs::rename(staged.path(), &version) {
            let _ = std::fs::remove_file(layout::lease(&version));
            return Err(io("cannot move the new table into", &version)(e));
        }
        let relative = table_relative.join(&version_name);
        let committed = (|| {
            sync_folders(&table_dir, &self.root);
            failpoint::pause_if_named("publish-after-rename");
            catalog::delete(&tx, schema, name)?;
            catalog::insert(&tx, &record, &relative.to_string_lossy())?;
            tx.commit()?;
            Ok(())
        })();
        if let Err(e) = committed {
            // Not in the catalog, so nobody leases it: ours to remove.
            let _ = std::fs::remove_dir_all(&version);
            let _ = std::fs::remove_file(layout::lease(&version));
            return Err(e);
        }
        failpoint::pause_if_named("publish-after-commit");
        drop(staged);
        // The replaced version, unless it is read; a failure here leaves
        // garbage for the next open, not a failed publish.
        for problem in self.remove_unread_versions() {
            cleanup_warning(&problem);
        }
        drop(publishing);
        record.directory = version;
        Ok(record)
    }

    /// Removes a table: from the catalog first, then its files, unless
    /// someone reads them (then whoever next opens or publishes does).
    pub fn drop_table(&mut self, schema: &str, table: &str) -> Result<()> {
        let publishing = locks::exclusive(&layout::publish_lock(&self.root))?;
        let tx = catalog::write(&mut self.db)?;
        if !catalog::delete(&tx, schema, table)? {
            return Err(Error::NoSuchTable(format!("{schema}.{table}")));
        }
        tx.commit()?;
        for problem in self.remove_unread_versions() {
            cleanup_warning(&problem);
        }
        drop(publishing);
        Ok(())
    }

    /// Removes versions no catalog row points to and nobody reads; returns
    /// what it could not remove. The caller holds the publish lock (rule 2).
    fn remove_unread_versions(&self) -> Vec<Error> {
        match self.records() {
            Ok(records) => {
                let live: HashSet<PathBuf> = records.into_iter().map(|r| r.directory).collect();
                cleanup::remove_unread_versions(&layout::tables(&self.root), &live)
            }
            Err(e) => vec![e],
        }
    }

    /// The published tables with leases on their files, for a process that
    /// will read them (a query engine): see [`Snapshot`].
    pub fn snapshot(&self) -> Result<Snapshot> {
        self.snapshot_where(|_| true)
    }

    /// One table with a lease on its files, for a process that reads that
    /// table only (an append reads the version it adds to): the snapshot
    /// holds its record, or none if there is no such table, and leases
    /// nothing else, so the other tables' replaced versions go as usual.
    pub fn snapshot_of(&self, schema: &str, table: &str) -> Result<Snapshot> {
        self.snapshot_where(|r| r.info.schema == schema && r.info.name == table)
    }

    /// The published tables `keep` accepts, each with a lease (rule 3).
    fn snapshot_where(&self, keep: impl Fn(&TableRecord) -> bool) -> Result<Snapshot> {
        let mut vanished: Option<PathBuf> = None;
        for _ in 0..SNAPSHOT_ATTEMPTS {
            let mut records = self.records()?;
            records.retain(&keep);
            // Still in the catalog after its folder was found gone: no
            // cleaner removes a live version, so it was lost otherwise.
            if let Some(gone) = vanished.take()
                && let Some(r) = records.iter().find(|r| r.directory == gone)
            {
                return Err(Error::Damaged {
                    table: r.info.qualified_name(),
                    problem: format!("its folder {} is missing", gone.display()),
                });
            }
            let mut leases = Vec::with_capacity(records.len());
            for r in &records {
                // Rule 3: lease, then check the folder is still there.
                match locks::shared(&layout::lease(&r.directory))? {
                    Some(lease) if r.directory.is_dir() => leases.push(lease),
                    _ => {
                        vanished = Some(r.directory.clone());
                        break;
                    }
                }
            }
            if vanished.is_none() {
                return Ok(Snapshot {
                    records,
                    _leases: leases,
                });
            }
        }
        Err(Error::KeptChanging)
    }

    /// One table's record.
    pub fn record(&self, schema: &str, table: &str) -> Result<Option<TableRecord>> {
        Ok(self
            .records()?
            .into_iter()
            .find(|r| r.info.schema == schema && r.info.name == table))
    }

    /// Every published table, ordered by schema and name. Without leases:
    /// for listing; a process that reads the files takes a [`Snapshot`].
    pub fn records(&self) -> Result<Vec<TableRecord>> {
        Ok(catalog::rows(&self.db)?
            .into_iter()
            .map(
                |Row {
                     mut record,
                     version,
                 }| {
                    record.directory = self
                        .root
                        .join(layout::table_relative(
                            &record.info.schema,
                            &record.info.name,
                        ))
                        .join(version);
                    record
                },
            )
            .collect())
    }

    /// The published tables as a catalog for the ADQL planner.
    pub fn catalog(&self) -> Result<StaticCatalog> {
        Ok(StaticCatalog::new(
            self.records()?.into_iter().map(|r| r.info).collect(),
        ))
    }

    /// True if the table exists.
    pub fn exists(&self, schema: &str, table: &str) -> Result<bool> {
        catalog::exists(&self.db, schema, table)
    }
}

/// Logs a problem of cleanup as a warning and returns its sentence.
fn cleanup_warning(problem: &Error) -> String {
    let text = format!(
        "a leftover in the data directory could not be cleaned up ({problem}); everything else works, and it is tried again at the next start: remove it by hand if this persists"
    );
    tracing::warn!("{text}");
    text
}

/// A fresh version folder's name and path in `table_dir`, with its lease
/// file created (so that a version never exists without one). The caller
/// holds the publish lock.
fn new_version(table_dir: &Path) -> Result<(String, PathBuf)> {
    loop {
        let name = layout::unique_name("v");
        let version = table_dir.join(&name);
        let lease = layout::lease(&version);
        if version.exists() {
            continue;
        }
        match OpenOptions::new().write(true).create_new(true).open(&lease) {
            Ok(_) => return Ok((name, version)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io("cannot create", &lease)(e)),
        }
    }
}

/// Flushes every file in `folder` to disk.
fn sync_files(folder: &Path) -> Result<()> {
    let listing = std::fs::read_dir(folder).map_err(io("cannot read", folder))?;
    for entry in listing {
        let path = entry.map_err(io("cannot read", folder))?.path();
        if path.is_file() {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(io("cannot flush to disk", &path))?;
        }
    }
    Ok(())
}

/// Flushes the folders from `table_dir` up to `root`, so that the renamed
/// version's entry is on disk. Best effort: not every system can sync a
/// folder (Windows cannot open one as a file).
fn sync_folders(table_dir: &Path, root: &Path) {
    for folder in table_dir.ancestors() {
        let _ = File::open(folder).and_then(|f| f.sync_all());
        if folder == root {
            break;
        }
    }
}

#[cfg(test)]
mod tests;
