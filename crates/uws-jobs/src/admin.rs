//! What the operator's command line does to jobs, on the store alone, so
//! that it works whether the service runs or not. A job that is not
//! executing is changed at once; an executing one is marked, and the
//! running service stops it within a second or two (or, if the service is
//! down, its next start finds the mark).

use crate::model::{Job, JobId, Phase, Viewer};
use crate::store::{Change, Store};
use crate::time::Millis;
use crate::{Error, Result};
use std::path::Path;

/// What an admin request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    /// Done.
    Done,
    /// The job executes; the service will stop it (and delete it) shortly.
    Requested,
    /// Nothing to do: the job had already ended.
    AlreadyEnded(Phase),
}

fn stored(store: &Store, id: &JobId) -> Result<Job> {
    store
        .get(id, &Viewer::Admin)?
        .ok_or_else(|| Error::NotFound(id.to_string()))
}

/// Aborts job `id`.
pub fn abort_from_admin(store: &Store, id: &JobId) -> Result<AdminAction> {
    let job = stored(store, id)?;
    if job.phase.is_final() {
        return Ok(AdminAction::AlreadyEnded(job.phase));
    }
    let change = Change {
        end_time: Some(Some(Millis::now())),
        ..Change::default()
    };
    if store.transition(id, &Phase::NOT_STARTED, Phase::Aborted, &change)? {
        return Ok(AdminAction::Done);
    }
    let mark = Change {
        abort_requested: Some(true),
        ..Change::default()
    };
    if store.update(id, &[Phase::Executing], &mark)? {
        return Ok(AdminAction::Requested);
    }
    // It ended in between.
    Ok(AdminAction::AlreadyEnded(stored(store, id)?.phase))
}

/// Deletes job `id` and its folder under `results_dir`.
pub fn delete_from_admin(store: &Store, results_dir: &Path, id: &JobId) -> Result<AdminAction> {
    let job = stored(store, id)?;
    if job.phase == Phase::Executing {
        // The reaper of the running service deletes it once it has stopped.
        let mark = Change {
            abort_requested: Some(true),
            destruction: Some(Millis::now()),
            ..Change::default()
        };
        if store.update(id, &[Phase::Executing], &mark)? {
            return Ok(AdminAction::Requested);
        }
    }
    store.delete(id)?;
    let folder = results_dir.join(id.as_str());
    match std::fs::remove_dir_all(&folder) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io("remove the job folder", &folder)(e))
        }
        _ => Ok(AdminAction::Done),
    }
}
