//! What an ingest is asked to do: [`Request`] (files, table, descriptor,
//! mode, strictness) and [`Mode`].
//!
//! Must never know how the request is carried out.

use crate::descriptor::Descriptor;
use std::path::PathBuf;
use std::sync::Arc;

/// What to do when the table exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Refuse.
    Create,
    /// Replace it whole.
    Replace,
    /// Add the rows to it (the columns must match); the table is rewritten
    /// in sky order and swapped in whole, like a replace.
    Append,
}

/// One ingest.
#[derive(Debug, Clone)]
pub struct Request {
    /// Input files (globs expanded by the caller), read in order into one table.
    pub files: Vec<PathBuf>,
    /// `schema.table`
    pub schema: String,
    /// Table name.
    pub table: String,
    /// The descriptor, if any.
    pub descriptor: Descriptor,
    /// Create or replace.
    pub mode: Mode,
    /// Counts the rows read so far, for a progress display.
    pub rows_read: Option<Arc<std::sync::atomic::AtomicU64>>,
    /// Bad rows of an ASCII table to skip (reported) before one stops the ingest.
    pub skip_bad_rows: usize,
    /// Refuse the input when a column's type cannot be stored, rather than
    /// leaving the column out with a warning.
    pub strict: bool,
}
