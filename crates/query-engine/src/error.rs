//! The engine's errors, and whose fault each is.
//!
//! DataFusion's error is kept whole ([`Error::Engine`]), not flattened into
//! a string, so that [`Error::fault`] can tell a query that asks for the
//! impossible (a planning error, a division by zero) from a service that
//! failed (an unreadable file, an internal error). The HTTP layer picks its
//! status from the fault alone.

use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use std::fmt;

/// Who is at fault, which decides how an error is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The query or request is wrong; the message says what to change.
    User,
    /// The query asks for more than a limit allows (memory, time); the message names the limit.
    Limit,
    /// Too many queries already; the same request may succeed later.
    Busy,
    /// Nobody waits for the answer any more (client gone, job aborted) or
    /// the service is stopping.
    Cancelled,
    /// The service failed; the message names no server path and the log has the details.
    Service,
}

/// Why a query was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// Its caller cancelled it: the client went away, or a job was aborted.
    Caller,
    /// The service is shutting down and the grace period is over.
    Shutdown,
}

impl fmt::Display for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CancelReason::Caller => "the query was cancelled",
            CancelReason::Shutdown => "the service is shutting down; run the query again later",
        })
    }
}

/// Everything that can go wrong between a translated query and its written result.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The ADQL was refused (with line and column).
    #[error(transparent)]
    Adql(#[from] adql_planner::Error),
    /// DataFusion refused or failed the query.
    #[error("{}", engine_message(.0))]
    Engine(#[from] DataFusionError),
    /// All execution slots are taken and the waiting line is full.
    #[error(
        "the service is busy: {running} queries are running and {waiting} are waiting, its limit; try again in {retry_after_seconds} s"
    )]
    Busy {
        /// Queries executing in the lane.
        running: usize,
        /// Queries waiting in the lane.
        waiting: usize,
        /// A fair guess of when to try again, in seconds.
        retry_after_seconds: u64,
    },
    /// The query ran past its execution time limit.
    #[error(
        "the query ran longer than this service's limit of {seconds} s; add constraints or use TOP"
    )]
    TimedOut {
        /// The limit.
        seconds: u64,
    },
    /// The query was cancelled.
    #[error("{0}")]
    Cancelled(CancelReason),
    /// A writer could not format a value.
    #[error(transparent)]
    Write(#[from] table_writers::Error),
    /// The destination of the result refused it (a full disk, a closed connection).
    #[error("cannot write the result: {0}")]
    Sink(std::io::Error),
    /// The request names what the engine does not have or cannot give (a
    /// table's coverage: no such table, no position, an order out of range).
    #[error("{0}")]
    Request(String),
    /// The cluster that executes the queries failed or cannot be reached.
    #[error("{0}")]
    Cluster(cluster::Error),
    /// Uploaded tables could not be written where the cluster's workers
    /// read them (a full disk, a read-only data directory).
    #[error("cannot stage the uploaded tables for the cluster: {0}")]
    Staging(String),
    /// An invariant of the engine broke.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whose fault the error is.
    pub fn fault(&self) -> Fault {
        match self {
            Error::Adql(_) | Error::Request(_) => Fault::User,
            Error::Engine(e) => engine_fault(e),
            Error::Busy { .. } => Fault::Busy,
            Error::TimedOut { .. } => Fault::Limit,
            Error::Cancelled(_) => Fault::Cancelled,
            // A value the format cannot carry: the query can avoid it.
            Error::Write(table_writers::Error::Unwritable(_)) => Fault::User,
            Error::Write(_)
            | Error::Sink(_)
            | Error::Internal(_)
            | Error::Cluster(_)
            | Error::Staging(_) => Fault::Service,
        }
    }

    /// The text to show the user. For the service's own failures it says
    /// what kind of failure it was, never a server path or a backtrace;
    /// the full error belongs in the log.
    pub fn user_message(&self) -> String {
        match (self.fault(), self) {
            (Fault::Service, Error::Engine(e)) => format!(
                "the service failed while running the query ({}); this is not a fault of the query, and the operator's log has the details",
                service_failure_kind(e)
            ),
            (_, Error::Cluster(cluster::Error::WorkersLost(_))) => {
                "a worker of the service's cluster stopped while the query ran, so its answer could be incomplete or count rows twice, and none is given; this is not a fault of the query: run it again"
                    .to_string()
            }
            // The scheduler's address is the operator's business.
            (_, Error::Cluster(_)) => {
                "the cluster that runs this service's queries is not available; this is not a fault of the query, and the operator's log has the details"
                    .to_string()
            }
            (Fault::Service, Error::Sink(_) | Error::Write(_)) => {
                "the service could not write, store or send the result; this is not a fault of the query, and the operator's log has the details"
                    .to_string()
            }
            (_, Error::Staging(_)) => {
                "the service could not store the uploaded tables where its cluster reads them; this is not a fault of the query, and the operator's log has the details"
                    .to_string()
            }
            _ => self.to_string(),
        }
    }

    /// Line and column of an ADQL error, when it has one.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            Error::Adql(e) => e.position(),
            _ => None,
        }
    }
}

/// The innermost DataFusion error, through contexts, shared and external wrappers.
fn root(e: &DataFusionError) -> &DataFusionError {
    match e {
        DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => root(inner),
        DataFusionError::Shared(inner) => root(inner),
        DataFusionError::Collection(all) => all.first().map_or(e, root),
        _ => {
            let found = e.find_root();
            if std::ptr::eq(found, e) {
                e
            } else {
                root(found)
            }
        }
    }
}

fn engine_fault(e: &DataFusionError) -> Fault {
    match root(e) {
        DataFusionError::Plan(_)
        | DataFusionError::SQL(..)
        | DataFusionError::SchemaError(..)
        | DataFusionError::NotImplemented(_)
        // Execution errors are raised by functions on the data they get
        // (an invalid polygon, a bad unit): the query's values are at fault.
        | DataFusionError::Execution(_) => Fault::User,
        DataFusionError::ResourcesExhausted(_) => Fault::Limit,
        DataFusionError::ArrowError(a, _) => match a.as_ref() {
            ArrowError::DivideByZero
            | ArrowError::CastError(_)
            | ArrowError::ParseError(_)
            | ArrowError::ArithmeticOverflow(_)
            | ArrowError::InvalidArgumentError(_)
            | ArrowError::ComputeError(_) => Fault::User,
            ArrowError::MemoryError(_) => Fault::Limit,
            _ => Fault::Service,
        },
        _ => Fault::Service,
    }
}

/// A short, path-free name for a failure of the service.
fn service_failure_kind(e: &DataFusionError) -> &'static str {
    match root(e) {
        DataFusionError::IoError(_) | DataFusionError::ObjectStore(_) => "an I/O error",
        DataFusionError::ParquetError(_) => "a table file could not be read",
        DataFusionError::ArrowError(..) => "an error in the columnar data",
        DataFusionError::ExecutionJoin(_) => "a worker task failed",
        _ => "an internal error in the query engine",
    }
}

/// DataFusion's message without its internal prefixes and backtraces.
fn engine_message(e: &DataFusionError) -> String {
    let root = root(e);
    if let DataFusionError::ResourcesExhausted(detail) = root {
        return format!(
            "the query needs more memory than this service allows its queries ({}); add constraints, or select fewer rows or columns",
            detail.lines().next().unwrap_or("")
        );
    }
    let text = root.to_string();
    let text = text.lines().next().unwrap_or("");
    // DataFusion's own prefixes say where in the engine, not what is wrong.
    let mut text = text;
    while let Some(rest) = [
        "Execution error: ",
        "Error during planning: ",
        "Arrow error: ",
        "Compute error: ",
        "This feature is not implemented: ",
    ]
    .iter()
    .find_map(|p| text.strip_prefix(p))
    {
        text = rest;
    }
    if text.starts_with("Divide by zero") {
        return "division by zero".into();
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_follow_datafusion_error_kinds_through_wrappers() {
        let plan = DataFusionError::Plan("no such thing".into());
        assert_eq!(Error::from(plan).fault(), Fault::User);
        let io = DataFusionError::IoError(std::io::Error::other("/srv/data/x.parquet: gone"));
        let wrapped = DataFusionError::Context("reading".into(), Box::new(io));
        let e = Error::from(wrapped);
        assert_eq!(e.fault(), Fault::Service);
        assert!(!e.user_message().contains("/srv"), "{}", e.user_message());
        let div = DataFusionError::ArrowError(Box::new(ArrowError::DivideByZero), None);
        let shared = DataFusionError::Shared(std::sync::Arc::new(div));
        assert_eq!(Error::from(shared).fault(), Fault::User);
        let mem = DataFusionError::ResourcesExhausted("pool".into());
        assert_eq!(Error::from(mem).fault(), Fault::Limit);
    }
}
