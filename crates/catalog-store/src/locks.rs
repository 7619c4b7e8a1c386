//! Advisory locks on lock files, through std's `File::lock` family (`flock`
//! on Unix). A lock belongs to the open file, so it dies with the process
//! that holds it, however that process ends; and two opens of one file
//! conflict even inside one process, which the unit tests rely on.
//!
//! **Never knows:** what a lock file guards (staging folders, versions, the
//! publish step); that is the data directory's protocol, in `lib.rs`.

use crate::{Result, io};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

/// What trying a lock found.
pub(crate) enum Attempt {
    /// The lock is ours while this file is open.
    Locked(File),
    /// Another open file holds a conflicting lock.
    Held,
    /// There is no lock file (and none was to be created).
    Missing,
}

fn open(path: &Path, create: bool) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .open(path)
}

/// Opens (creating it if needed) `path` and waits for an exclusive lock.
pub(crate) fn exclusive(path: &Path) -> Result<File> {
    let file = open(path, true).map_err(io("cannot open the lock file", path))?;
    file.lock().map_err(io("cannot lock", path))?;
    Ok(file)
}

/// Tries an exclusive lock on `path` without waiting; creates the file
/// first if `create`.
pub(crate) fn try_exclusive(path: &Path, create: bool) -> Result<Attempt> {
    let file = match open(path, create) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Attempt::Missing),
        Err(e) => return Err(io("cannot open the lock file", path)(e)),
    };
    match file.try_lock() {
        Ok(()) => Ok(Attempt::Locked(file)),
        Err(TryLockError::WouldBlock) => Ok(Attempt::Held),
        Err(TryLockError::Error(e)) => Err(io("cannot lock", path)(e)),
    }
}

/// Opens (creating it if needed) `path` and waits for a shared lock;
/// `None` when the folder that should hold the file is gone.
pub(crate) fn shared(path: &Path) -> Result<Option<File>> {
    let file = match open(path, true) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("cannot open the lock file", path)(e)),
    };
    file.lock_shared().map_err(io("cannot lock", path))?;
    Ok(Some(file))
}
