//! The crate's error type, shared by the readers and the pipeline: every
//! failure names the file and, where known, the line or row, the column
//! and the value, and says what was expected.
//!
//! Must never know a reader or the pipeline: they depend on it, not it on
//! them.

use datafusion::error::DataFusionError;
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

impl From<DataFusionError> for Error {
    fn from(e: DataFusionError) -> Self {
        Error::Engine(engine_message(&e))
    }
}

/// What DataFusion and Arrow write before a message: the same prefixes
/// `query-engine`'s `engine_message` strips (which this crate cannot call).
const ENGINE_PREFIXES: [&str; 5] = [
    "Execution error: ",
    "Error during planning: ",
    "Arrow error: ",
    "This feature is not implemented: ",
    "External error: ",
];

/// DataFusion's message for the user: the innermost error's first line
/// (no backtrace), without the prefixes, nested ones included ("Arrow
/// error: Divide by zero error"). A prefix is stripped only when a message
/// follows it, so what is left is never a fragment: "Optimizer rule 'x'
/// failed" stays whole, and a bare "Divide by zero error" says so plainly.
fn engine_message(e: &DataFusionError) -> String {
    let root = e.find_root();
    if let DataFusionError::ResourcesExhausted(detail) = root {
        return out_of_memory(detail);
    }
    let text = root.to_string();
    let mut text = text.lines().next().unwrap_or("").trim();
    while let Some(rest) = ENGINE_PREFIXES
        .iter()
        .find_map(|p| text.strip_prefix(p))
        .filter(|rest| !rest.trim().is_empty())
    {
        text = rest.trim();
    }
    match text {
        "Divide by zero error" => "division by zero".into(),
        "" => "the query engine failed without saying why".into(),
        t => t.to_string(),
    }
}

/// DataFusion's "Additional allocation failed for X with top memory
/// consumers (across reservations) as:" ends its first line on a colon
/// and lists the consumers on the next ones: the user gets the sentence,
/// and what the ingest's memory is.
fn out_of_memory(detail: &str) -> String {
    let first = detail.lines().next().unwrap_or("").trim();
    let sentence = first
        .split_once(" with top memory consumers")
        .map_or(first, |(sentence, _)| sentence)
        .trim_end_matches(':');
    format!(
        "out of memory: {sentence} (an ingest sorts within {} MiB and spills the rest to the temporary folder)",
        crate::INGEST_MEMORY >> 20
    )
}

impl From<adql_planner::Error> for Error {
    fn from(e: adql_planner::Error) -> Self {
        Error::Engine(e.to_string())
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A reader's failure while DataFusion pulls its batches: the message
/// starts with the file, as [`Error::Input`]'s does.
pub(crate) fn read_error(file: &Path, message: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("{}: {message}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::error::ArrowError;

    fn message(e: DataFusionError) -> String {
        Error::from(e).to_string()
    }

    #[test]
    fn engine_messages_lose_their_prefixes_and_keep_their_words() {
        let file = read_error(Path::new("/data/t.fits"), "row 3: not a number");
        assert_eq!(message(file), "/data/t.fits: row 3: not a number");
        let plan = DataFusionError::Plan("no field named x".into());
        assert_eq!(message(plan), "no field named x");
        let wrapped = DataFusionError::Context(
            "while sorting".into(),
            Box::new(DataFusionError::NotImplemented("sorting lists".into())),
        );
        assert_eq!(message(wrapped), "sorting lists");
        let divide = DataFusionError::ArrowError(Box::new(ArrowError::DivideByZero), None);
        assert_eq!(message(divide), "division by zero");
        let cast = DataFusionError::ArrowError(
            Box::new(ArrowError::CastError("cannot cast 'a' to Int64".into())),
            None,
        );
        assert_eq!(message(cast), "Cast error: cannot cast 'a' to Int64");
        // Never a fragment: a prefix with nothing after it is not stripped
        // away to nothing, nor the subject of a sentence cut off.
        let rule = DataFusionError::Plan("Optimizer rule 'x' failed".into());
        assert_eq!(message(rule), "Optimizer rule 'x' failed");
        assert_eq!(
            message(DataFusionError::Execution(String::new())),
            "Execution error:"
        );
        let memory = DataFusionError::ResourcesExhausted(
            "Additional allocation failed for ExternalSorterMerge[1] with top memory consumers (across reservations) as:\n  ExternalSorter[0]#3(can spill: true) consumed 500.0 MB".into(),
        );
        assert_eq!(
            message(memory),
            "out of memory: Additional allocation failed for ExternalSorterMerge[1] (an ingest sorts within 512 MiB and spills the rest to the temporary folder)"
        );
    }
}
