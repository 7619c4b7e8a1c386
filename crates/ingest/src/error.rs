//! The crate's error type, shared by the readers and the pipeline: every
//! failure names the file and, where known, the line or row, the column
//! and the value, and says what was expected.
//!
//! Must never know a reader or the pipeline: they depend on it, not it on
//! them.

use std::path::Path;

/// Errors of an ingest. Each names the file (and where possible the line,
/// column and value) and says what was expected.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input or descriptor is wrong.
    #[error("{file}: {message}")]
    Input {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Something about the request as a whole.
    #[error("{0}")]
    Request(String),
    /// Reading, sorting or writing failed.
    #[error("{0}")]
    Engine(String),
    /// The data directory refused.
    #[error(transparent)]
    Store(#[from] catalog_store::Error),
    /// A table read whole has more rows than allowed.
    #[error("it has more than {0} rows, this service's limit")]
    TooManyRows(u64),
}

impl Error {
    /// An error in `file`.
    pub(crate) fn input(file: &Path, message: impl std::fmt::Display) -> Error {
        Error::Input {
            file: file.display().to_string(),
            message: message.to_string(),
        }
    }
}

impl From<datafusion::error::DataFusionError> for Error {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        let text = e.find_root().to_string();
        let text = text
            .strip_prefix("Execution error: ")
            .unwrap_or(&text)
            .to_string();
        Error::Engine(text)
    }
}

impl From<adql_planner::Error> for Error {
    fn from(e: adql_planner::Error) -> Self {
        Error::Engine(e.to_string())
    }
}

/// `read_table` also takes a format by name: a name that parses cannot fail.
impl From<std::convert::Infallible> for Error {
    fn from(e: std::convert::Infallible) -> Self {
        match e {}
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A reader's failure while DataFusion pulls its batches: the message
/// starts with the file, as [`Error::Input`]'s does.
pub(crate) fn read_error(
    file: &Path,
    message: impl std::fmt::Display,
) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::Execution(format!("{}: {message}", file.display()))
}
