//! What a job is: its phase (UWS 1.1 §2.1.3), its times, its parameters,
//! its results and its error. Plain data; the state machine that moves a
//! job between phases is in `system.rs`, its storage in `store.rs`.

use crate::time::Millis;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A job's identifier: opaque, URL-safe, and starting with a digit or an
/// upper-case letter (clients such as astroquery's TapPlus strip leading
/// lower-case letters from the last path segment of a job's URL).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(String);

impl JobId {
    /// A fresh identifier: the creation time in milliseconds (so that
    /// identifiers sort roughly by age) and 40 random bits, all in digits
    /// and upper-case letters.
    pub fn generate(now: Millis) -> JobId {
        let mut random = [0u8; 5];
        // A failing system random source leaves zeros; the time part and
        // the store's primary key still keep identifiers unique.
        let _ = getrandom::fill(&mut random);
        let bits = random
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        JobId(format!("{:011X}{:010X}", now.0.max(0), bits))
    }

    /// Takes `text` as an identifier if it could be one (the URL-safe
    /// alphabet only); whether such a job exists is the store's question.
    pub fn parse(text: &str) -> Option<JobId> {
        let plain = !text.is_empty()
            && text.len() <= 64
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        plain.then(|| JobId(text.to_string()))
    }

    /// An identifier read back from the store, where only generated or
    /// parsed identifiers are written.
    pub(crate) fn stored(text: String) -> JobId {
        JobId(text)
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The phases of UWS 1.1 §2.1.3. Corvus uses all but HELD, SUSPENDED and
/// UNKNOWN, which it reads back but never sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Created, parameters may change, not yet asked to run.
    Pending,
    /// Waiting for a worker of its queue.
    Queued,
    /// Running.
    Executing,
    /// Finished with its results.
    Completed,
    /// Failed; the error says why.
    Error,
    /// Stopped by its owner (or its destruction time) before it finished.
    Aborted,
    /// The state is unknown.
    Unknown,
    /// Held by the service, to run later.
    Held,
    /// Suspended by the service.
    Suspended,
    /// Results deleted, the record kept.
    Archived,
}

impl Phase {
    /// Every phase, as UWS names them.
    pub const ALL: [Phase; 10] = [
        Phase::Pending,
        Phase::Queued,
        Phase::Executing,
        Phase::Completed,
        Phase::Error,
        Phase::Aborted,
        Phase::Unknown,
        Phase::Held,
        Phase::Suspended,
        Phase::Archived,
    ];

    /// The phases of a job that has not started executing (an abort ends
    /// it at once).
    pub const NOT_STARTED: [Phase; 5] = [
        Phase::Pending,
        Phase::Queued,
        Phase::Held,
        Phase::Suspended,
        Phase::Unknown,
    ];

    /// The UWS name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "PENDING",
            Phase::Queued => "QUEUED",
            Phase::Executing => "EXECUTING",
            Phase::Completed => "COMPLETED",
            Phase::Error => "ERROR",
            Phase::Aborted => "ABORTED",
            Phase::Unknown => "UNKNOWN",
            Phase::Held => "HELD",
            Phase::Suspended => "SUSPENDED",
            Phase::Archived => "ARCHIVED",
        }
    }

    /// The phase a UWS name stands for (case-insensitive).
    pub fn parse(name: &str) -> Option<Phase> {
        Phase::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// The phases a WAIT may block in (UWS 1.1 §2.2.1.2).
    pub fn is_active(self) -> bool {
        matches!(self, Phase::Pending | Phase::Queued | Phase::Executing)
    }

    /// A phase the job never leaves (but for deletion or archiving).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Phase::Completed | Phase::Error | Phase::Aborted | Phase::Archived
        )
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// UWS's errorSummary type (UWS 1.1 §2.1.7, the schema's ErrorType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// Running the job again will fail again: the request is wrong.
    Fatal,
    /// The same job may succeed later: a limit of the moment, a restart.
    Transient,
}

impl ErrorKind {
    /// The schema's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Fatal => "fatal",
            ErrorKind::Transient => "transient",
        }
    }
}

/// Why a job ended in ERROR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFailure {
    /// What went wrong and what to change, for the owner to read.
    pub message: String,
    /// Whether running it again can help.
    pub kind: ErrorKind,
}

impl JobFailure {
    /// A failure the request itself causes.
    pub fn fatal(message: impl Into<String>) -> JobFailure {
        JobFailure {
            message: message.into(),
            kind: ErrorKind::Fatal,
        }
    }

    /// A failure of the moment.
    pub fn transient(message: impl Into<String>) -> JobFailure {
        JobFailure {
            message: message.into(),
            kind: ErrorKind::Transient,
        }
    }
}

/// One result of a job: a file in the job's folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobResult {
    /// The result's identifier, also its file's name and its URL's last
    /// segment (`result` for TAP, TAP 1.1 §2.2.2).
    pub id: String,
    /// Its media type.
    pub mime_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Rows in it.
    pub rows: u64,
    /// True when MAXREC cut it (TAP 1.1 §4.9).
    pub overflow: bool,
}

/// A job parameter, in the order the owner gave them.
pub type Parameter = (String, String);

/// A job, whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Its identifier.
    pub id: JobId,
    /// Who created it; `None`: anonymous.
    pub owner: Option<String>,
    /// The owner's label (UWS 1.1 §2.1.9), passed back untouched.
    pub run_id: Option<String>,
    /// Where it is in its life.
    pub phase: Phase,
    /// The queue it runs in.
    pub queue: String,
    /// Its parameters, names as given.
    pub parameters: Vec<Parameter>,
    /// When it was created.
    pub creation_time: Millis,
    /// When it was last queued (orders the queue).
    pub queued_time: Option<Millis>,
    /// When it started executing.
    pub start_time: Option<Millis>,
    /// When it reached a final phase.
    pub end_time: Option<Millis>,
    /// The longest it may execute, in seconds (0: no limit).
    pub execution_seconds: u64,
    /// When it and its results are deleted.
    pub destruction: Millis,
    /// When it is expected to complete, if known.
    pub quote: Option<Millis>,
    /// Rows the query was estimated to read, if known.
    pub estimated_rows: Option<u64>,
    /// Why it failed, in ERROR.
    pub error: Option<JobFailure>,
    /// Its results, in COMPLETED.
    pub results: Vec<JobResult>,
}

impl Job {
    /// The first parameter called `name`, case-insensitively (DALI 1.1 §3.1).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A line of a job list (UWS 1.1 §2.2.2.1, the schema's ShortJobDescription).
#[derive(Debug, Clone, PartialEq)]
pub struct JobSummary {
    /// Its identifier.
    pub id: JobId,
    /// Its phase.
    pub phase: Phase,
    /// The owner's label.
    pub run_id: Option<String>,
    /// Its owner.
    pub owner: Option<String>,
    /// When it was created.
    pub creation_time: Millis,
}

/// Which jobs a list shows (UWS 1.1 §2.2.2.1): the filters combine with AND.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only these phases; empty: every phase but ARCHIVED.
    pub phases: Vec<Phase>,
    /// Only jobs created after this instant.
    pub after: Option<Millis>,
    /// Only the most recent this many, newest first.
    pub last: Option<u64>,
}

/// Who is asking: a job's owner sees only their own jobs; the admin (the
/// command line on the data directory) sees all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// An owner, or the anonymous owner (`None`).
    Owner(Option<String>),
    /// Everyone's jobs.
    Admin,
}

impl Viewer {
    /// True when this viewer may see a job of `owner`.
    pub fn sees(&self, owner: &Option<String>) -> bool {
        match self {
            Viewer::Admin => true,
            Viewer::Owner(o) => o == owner,
        }
    }
}

/// How far an executing job has come, updated by its runner as it reads.
#[derive(Debug, Default)]
pub struct Progress {
    rows_read: AtomicU64,
    rows_estimated: AtomicU64,
}

impl Progress {
    /// Records the rows read so far.
    pub fn set_rows_read(&self, rows: u64) {
        self.rows_read.store(rows, Ordering::Relaxed);
    }

    /// Records the estimate of the rows the job will read.
    pub fn set_rows_estimated(&self, rows: u64) {
        self.rows_estimated.store(rows, Ordering::Relaxed);
    }

    /// Rows read so far, and the estimated total (0: unknown).
    pub fn get(&self) -> (u64, u64) {
        (
            self.rows_read.load(Ordering::Relaxed),
            self.rows_estimated.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_url_safe_and_start_with_a_digit_or_capital() {
        let a = JobId::generate(Millis(1_790_000_000_000));
        let b = JobId::generate(Millis(1_790_000_000_000));
        assert_ne!(a, b);
        for id in [&a, &b] {
            let first = id.as_str().as_bytes()[0];
            assert!(first.is_ascii_digit() || first.is_ascii_uppercase(), "{id}");
            assert!(
                id.as_str()
                    .bytes()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            );
            assert_eq!(JobId::parse(id.as_str()).as_ref(), Some(id));
        }
        assert!(JobId::parse("../x").is_none() && JobId::parse("").is_none());
    }

    #[test]
    fn phases_read_back_their_names() {
        for p in Phase::ALL {
            assert_eq!(Phase::parse(p.as_str()), Some(p));
        }
        assert_eq!(Phase::parse("executing"), Some(Phase::Executing));
        assert_eq!(Phase::parse("RUNNING"), None);
        assert!(Phase::Queued.is_active() && !Phase::Completed.is_active());
    }
}
