//! Result writers that stream: each turns Arrow record batches into bytes of
//! one output format, batch by batch, never holding a whole result. Column
//! metadata (unit, ucd, utype, xtype, description) rides in the Arrow field
//! metadata under `catalog_model::keys`, where `catalog_model::with_metadata` puts it.
//!
//! **Invariant:** a writer's output for a result is `header() + batch()* +
//! footer()`; each piece can be sent as soon as it is made.
//!
//! **Boundary:** knows Arrow and the output formats; not ADQL, not how a
//! query executes, not where the bytes go (HTTP, file): a writer returns
//! bytes and does no I/O, except FITS's spool file.
#![deny(missing_docs)]

mod binary;
mod fits;
mod json;
mod parallel;
mod parquet;
mod text;
mod votable;

pub use fits::FitsWriter;
pub use json::JsonWriter;
pub use parquet::ParquetWriter;
pub use text::DelimitedWriter;
pub use votable::{
    QueryStatus, Serialization, VOTABLE_OPEN, VoTableWriter, error_document, votable_type,
    xml_escape,
};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;

/// Errors of the writers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value of the result cannot be written in this format (a compound
    /// region, a FITS heap over 2 GiB): the query can be changed to avoid it.
    #[error("cannot write the result: {0}")]
    Unwritable(String),
    /// The spool file (FITS) could not be made, written or read: the
    /// service's failure. The message may name a path; keep it for the log.
    #[error("cannot write the result: the spool file failed: {0}")]
    Spool(String),
    /// Arrow or Parquet failed formatting a value: the service's failure.
    #[error("cannot write the result: {0}")]
    Format(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The rest of a spooled output, chunk by chunk (see [`ResultWriter::spooled`]).
pub type Spooled = Box<dyn Iterator<Item = Result<Vec<u8>>> + Send>;

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
    /// After an error that came once rows were on their way: the bytes
    /// that end the document and say so, for formats that can say so
    /// (VOTable, JSON). The others return `None`, and the output is cut.
    fn error_footer(&mut self, _message: &str) -> Option<Vec<u8>> {
        None
    }
    /// For formats that cannot write their first byte before they have seen
    /// the last row (FITS), which spool the rows to disk: everything, after
    /// the footer. The others write as they go and return `None`.
    fn spooled(&mut self) -> Result<Option<Spooled>> {
        Ok(None)
    }
}

/// Output formats, by the names TAP clients send (TAP 1.1 §2.7.1, DALI 1.1 §2.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// VOTable, TABLEDATA serialisation.
    VoTable,
    /// VOTable, BINARY2 serialisation.
    VoTableBinary2,
    /// FITS binary table.
    Fits,
    /// Comma-separated values with a header line.
    Csv,
    /// Tab-separated values with a header line.
    Tsv,
    /// Parquet with VOTable metadata.
    Parquet,
    /// JSON: metadata and rows.
    Json,
}

/// Each format: MIME type, short names, TAPRegExt ivo-id.
const FORMATS: &[(Format, &str, &[&str], Option<&str>)] = &[
    (
        Format::VoTable,
        "application/x-votable+xml",
        &["votable", "votable/td", "vot"],
        Some("ivo://ivoa.net/std/TAPRegExt#output-votable-td"),
    ),
    (
        Format::VoTableBinary2,
        "application/x-votable+xml;serialization=BINARY2",
        &["votable/b2", "binary2", "votableb2"],
        Some("ivo://ivoa.net/std/TAPRegExt#output-votable-binary2"),
    ),
    (Format::Fits, "application/fits", &["fits"], None),
    (Format::Csv, "text/csv", &["csv"], None),
    (Format::Tsv, "text/tab-separated-values", &["tsv"], None),
    (
        Format::Parquet,
        "application/vnd.apache.parquet",
        &["parquet"],
        None,
    ),
    (Format::Json, "application/json", &["json"], None),
];

impl Format {
    /// Reads a RESPONSEFORMAT/FORMAT value: a MIME type (with its
    /// parameters) or a short name, case-insensitive.
    pub fn parse(value: &str) -> Option<Format> {
        let v = value.trim().to_ascii_lowercase();
        let mut parts = v.split(';').map(str::trim);
        let base = parts.next().unwrap_or("");
        let serialization = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim() == "serialization")
            .map(|(_, v)| v.trim().trim_matches('"').to_string());
        Some(match (base, serialization.as_deref()) {
            ("application/x-votable+xml" | "text/xml" | "application/xml", Some("binary2")) => {
                Format::VoTableBinary2
            }
            (
                "application/x-votable+xml" | "text/xml" | "application/xml",
                Some("tabledata") | None,
            ) => Format::VoTable,
            ("application/x-parquet", _) => Format::Parquet,
            ("image/fits", _) => Format::Fits,
            _ => FORMATS
                .iter()
                .find(|(_, mime, aliases, _)| *mime == base || aliases.contains(&base))
                .map(|(f, ..)| *f)?,
        })
    }

    /// A writer for this format.
    pub fn writer(self, schema: SchemaRef, query: &str) -> Result<Box<dyn ResultWriter>> {
        Ok(match self {
            Format::VoTable => Box::new(VoTableWriter::new(schema, query)),
            Format::VoTableBinary2 => Box::new(VoTableWriter::with_serialization(
                schema,
                query,
                Serialization::Binary2,
            )),
            Format::Fits => Box::new(FitsWriter::new(schema)?),
            Format::Csv => Box::new(DelimitedWriter::new(schema, b',')),
            Format::Tsv => Box::new(DelimitedWriter::new(schema, b'\t')),
            Format::Parquet => Box::new(ParquetWriter::new(schema)?),
            Format::Json => Box::new(JsonWriter::new(schema)),
        })
    }

    /// Every format as (MIME type, aliases, TAPRegExt ivo-id), for the capabilities.
    pub fn all()
    -> impl Iterator<Item = (&'static str, &'static [&'static str], Option<&'static str>)> {
        FORMATS.iter().map(|(_, m, a, id)| (*m, *a, *id))
    }

    /// The short names, for messages.
    pub fn names() -> Vec<&'static str> {
        FORMATS.iter().map(|(_, _, a, _)| a[0]).collect()
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::VoTable | Format::VoTableBinary2 => "vot",
            Format::Fits => "fits",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Parquet => "parquet",
            Format::Json => "json",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_by_mime_type_and_short_name() {
        assert_eq!(Format::parse("votable"), Some(Format::VoTable));
        assert_eq!(
            Format::parse("application/x-votable+xml; serialization=BINARY2"),
            Some(Format::VoTableBinary2)
        );
        assert_eq!(Format::parse("BINARY2"), Some(Format::VoTableBinary2));
        assert_eq!(Format::parse("application/fits"), Some(Format::Fits));
        assert_eq!(Format::parse("text/csv;header=present"), Some(Format::Csv));
        assert_eq!(Format::parse("parquet"), Some(Format::Parquet));
        assert_eq!(Format::parse("application/json"), Some(Format::Json));
        assert_eq!(Format::parse("xls"), None);
    }
}
