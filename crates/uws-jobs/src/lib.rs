//! Durable asynchronous jobs after IVOA UWS 1.1: the job model and its
//! state machine, a SQLite store that survives `kill -9`, named queues with
//! worker counts and time limits, per-owner limits with a fair share
//! between owners, and the runner that executes a job and records how it
//! ended.
//!
//! ```text
//!            create            run                worker free
//!  (new) ──────────▶ PENDING ───────▶ QUEUED ─────────────────▶ EXECUTING
//!                       │   (limits)    │                          │ │ │
//!                 abort │         abort │        results written   │ │ │ runner failed,
//!                       ▼               ▼        ◀─────────────────┘ │ │ time limit
//!                    ABORTED ◀──────────┴──── abort ─────────────────┘ │
//!                                                    COMPLETED  ERROR ◀┘
//!  restart: EXECUTING → QUEUED again, or ERROR ("the service restarted"), as configured
//!  destruction time passed, or DELETE: the job and its folder are removed (an executing one aborted first)
//! ```
//!
//! **Boundary:** knows neither HTTP nor ADQL. What a job *does* is the
//! [`Runner`]'s business (tap-server runs a TAP query); how jobs are shown
//! (UWS XML) is the HTTP binding's. A job's files live in its own folder
//! under the configured results directory, named by its identifier.

mod admin;
mod config;
mod model;
mod store;
mod system;
mod time;

pub use admin::{AdminAction, abort_from_admin, delete_from_admin};
pub use config::{JobsConfig, OnRestart, QueueConfig};
pub use model::{
    ErrorKind, Job, JobFailure, JobId, JobResult, JobSummary, ListFilter, Parameter, Phase,
    Progress, Viewer,
};
pub use store::{Change, Store, SummaryRef};
pub use system::{JobSystem, NewJob, RunContext, Runner};
pub use time::Millis;
pub use tokio_util::sync::CancellationToken;

use std::path::{Path, PathBuf};

/// What can go wrong with a job request or the job store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such job for this viewer (deleted, never existed, or someone else's).
    #[error(
        "there is no job {0} here; it may have been deleted or have passed its destruction time"
    )]
    NotFound(String),
    /// The request does not fit the job's phase (UWS 1.1 §2.2: 403).
    #[error("{0}")]
    WrongPhase(String),
    /// A limit refuses the request; the message names the limit and its value.
    #[error("{0}")]
    Refused(String),
    /// A value of the request is wrong; the message says what to send.
    #[error("{0}")]
    BadValue(String),
    /// The state file cannot be opened.
    #[error("cannot open the job store {}: {source}", path.display())]
    Open {
        /// The state file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// A statement on the store failed.
    #[error("the job store failed: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A stored value cannot be read back.
    #[error("a stored job cannot be read: {0}")]
    Corrupt(String),
    /// A job's folder cannot be made or removed.
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        /// What was tried.
        what: &'static str,
        /// On what.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The job system stopped.
    #[error("the job system is shutting down; try again in a minute")]
    ShuttingDown,
}

impl Error {
    fn store(path: &Path, source: rusqlite::Error) -> Error {
        Error::Open {
            path: path.to_path_buf(),
            source,
        }
    }

    fn io<'a>(
        what: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(std::io::Error) -> Error + use<'a> {
        move |source| Error::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
