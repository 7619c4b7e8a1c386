//! Result writers that stream: each turns Arrow record batches into bytes of
//! one output format, batch by batch, never holding a whole result. Column
//! metadata (unit, ucd, utype, xtype, description) rides in the Arrow field
//! metadata, where `adql_planner::with_metadata` puts it.
//!
//! **Invariant:** a writer's output for a result is `header() + batch()* +
//! footer()`; each piece can be sent as soon as it is made.
#![deny(missing_docs)]

mod text;
mod votable;

pub use text::DelimitedWriter;
pub use votable::{QueryStatus, VoTableWriter, error_document, votable_type, xml_escape};

use datafusion::arrow::record_batch::RecordBatch;

/// Errors of the writers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value could not be formatted.
    #[error("cannot write the result: {0}")]
    Format(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A streaming writer of one output format.
pub trait ResultWriter: Send {
    /// MIME type of the output.
    fn content_type(&self) -> &'static str;
    /// Bytes before the first row.
    fn header(&mut self) -> Result<Vec<u8>>;
    /// The rows of one batch.
    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>>;
    /// Bytes after the last row; `status` says whether the result was cut at MAXREC.
    fn footer(&mut self, status: QueryStatus) -> Result<Vec<u8>>;
}

/// Output formats, by the names TAP clients send (TAP 1.1 §2.7.1, DALI 1.1 §2.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// VOTable 1.5, TABLEDATA serialisation.
    VoTable,
    /// Comma-separated values with a header line.
    Csv,
    /// Tab-separated values with a header line.
    Tsv,
}

impl Format {
    /// Reads a RESPONSEFORMAT/FORMAT value: a MIME type or a short name.
    pub fn parse(value: &str) -> Option<Format> {
        let v = value.trim().to_ascii_lowercase();
        let base = v.split(';').next().unwrap_or("").trim();
        Some(match base {
            "votable"
            | "vot"
            | "application/x-votable+xml"
            | "text/xml"
            | "application/xml"
            | "votable/td" => Format::VoTable,
            "csv" | "text/csv" => Format::Csv,
            "tsv" | "text/tab-separated-values" => Format::Tsv,
            _ => return None,
        })
    }

    /// A writer for this format.
    pub fn writer(
        self,
        schema: datafusion::arrow::datatypes::SchemaRef,
        query: &str,
    ) -> Box<dyn ResultWriter> {
        match self {
            Format::VoTable => Box::new(VoTableWriter::new(schema, query)),
            Format::Csv => Box::new(DelimitedWriter::new(schema, b',')),
            Format::Tsv => Box::new(DelimitedWriter::new(schema, b'\t')),
        }
    }

    /// Every format with its MIME type and aliases, for TAPRegExt.
    pub fn all() -> &'static [(&'static str, &'static [&'static str])] {
        &[
            ("application/x-votable+xml", &["votable", "votable/td"]),
            ("text/csv", &["csv"]),
            ("text/tab-separated-values", &["tsv"]),
        ]
    }
}
