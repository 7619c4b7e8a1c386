//! CSV and TSV (RFC 4180 quoting for CSV; TSV escapes tabs and newlines).
//! NULL is an empty field; geometry values are written in their DALI form,
//! numbers separated by spaces.

use crate::{QueryStatus, Result, ResultWriter};
use datafusion::arrow::array::{Array, AsArray, StringArray};
use datafusion::arrow::datatypes::{DataType, Float64Type, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use std::io::Write as _;

/// Writes CSV (`,`) or TSV (`\t`).
pub struct DelimitedWriter {
    schema: SchemaRef,
    delimiter: u8,
}

impl DelimitedWriter {
    /// A writer for results of `schema`.
    pub fn new(schema: SchemaRef, delimiter: u8) -> Self {
        DelimitedWriter { schema, delimiter }
    }

    fn field(&self, out: &mut Vec<u8>, value: &str) {
        if self.delimiter == b',' {
            if value
                .bytes()
                .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
            {
                out.push(b'"');
                out.extend_from_slice(value.replace('"', "\"\"").as_bytes());
                out.push(b'"');
            } else {
                out.extend_from_slice(value.as_bytes());
            }
        } else if !value.bytes().any(|b| matches!(b, b'\\' | b'\t' | b'\n')) {
            out.extend_from_slice(value.as_bytes());
        } else {
            let escaped = value
                .replace('\\', "\\\\")
                .replace('\t', "\\t")
                .replace('\n', "\\n");
            out.extend_from_slice(escaped.as_bytes());
        }
    }
}

/// A display formatter for each column of `batch`.
pub(crate) fn formatters<'a>(
    batch: &'a RecordBatch,
    options: &'a FormatOptions<'a>,
) -> Result<Vec<ArrayFormatter<'a>>> {
    batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), options))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| crate::Error::Format(e.to_string()))
}

/// One cell as text: DALI form for lists, Arrow's display otherwise.
pub(crate) fn cell(
    col: &dyn Array,
    row: usize,
    fmt: &ArrayFormatter<'_>,
) -> Result<Option<String>> {
    if col.is_null(row) {
        return Ok(None);
    }
    if let DataType::List(_) = col.data_type() {
        let list = col.as_list::<i32>();
        let values = list.value(row);
        if let Some(f) = values.as_primitive_opt::<Float64Type>() {
            let parts: Vec<String> = f
                .iter()
                .map(|v| v.map_or("NaN".into(), |x| x.to_string()))
                .collect();
            return Ok(Some(parts.join(" ")));
        }
    }
    Ok(Some(fmt.value(row).to_string()))
}

/// How a column's cells are turned into text.
pub(crate) enum TextCells<'a> {
    /// Strings, which may need escaping.
    Strings(&'a StringArray),
    /// Lists of doubles, in DALI form (no character needs escaping).
    Lists,
    /// Numbers, booleans, timestamps: Arrow's display, never escaped.
    Plain,
}

impl<'a> TextCells<'a> {
    pub(crate) fn of(col: &'a dyn Array) -> TextCells<'a> {
        match col.data_type() {
            DataType::Utf8 => TextCells::Strings(col.as_string::<i32>()),
            DataType::List(_) => TextCells::Lists,
            _ => TextCells::Plain,
        }
    }
}

/// Appends the text of one cell to `out`, escaping strings with `escape`;
/// false for NULL (nothing written). Straight into the buffer: no string
/// per cell, which is what makes the text formats fast.
pub(crate) fn write_cell(
    out: &mut Vec<u8>,
    col: &dyn Array,
    cells: &TextCells<'_>,
    row: usize,
    fmt: &ArrayFormatter<'_>,
    escape: &dyn Fn(&mut Vec<u8>, &str),
) -> Result<bool> {
    if col.is_null(row) {
        return Ok(false);
    }
    match cells {
        TextCells::Strings(s) => escape(out, s.value(row)),
        TextCells::Lists => {
            if let Some(text) = cell(col, row, fmt)? {
                out.extend_from_slice(text.as_bytes());
            }
        }
        TextCells::Plain => {
            write!(out, "{}", fmt.value(row)).map_err(|e| crate::Error::Format(e.to_string()))?;
        }
    }
    Ok(true)
}

impl ResultWriter for DelimitedWriter {
    fn content_type(&self) -> &'static str {
        if self.delimiter == b',' {
            "text/csv"
        } else {
            "text/tab-separated-values"
        }
    }

    fn header(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for (i, f) in self.schema.fields().iter().enumerate() {
            if i > 0 {
                out.push(self.delimiter);
            }
            self.field(&mut out, f.name());
        }
        out.extend_from_slice(b"\r\n");
        Ok(out)
    }

    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>> {
        let options = FormatOptions::default();
        let fmts = formatters(batch, &options)?;
        let cells: Vec<TextCells> = batch
            .columns()
            .iter()
            .map(|c| TextCells::of(c.as_ref()))
            .collect();
        let escape = |out: &mut Vec<u8>, v: &str| self.field(out, v);
        let mut out = Vec::with_capacity(batch.num_rows() * 64);
        for row in 0..batch.num_rows() {
            for (i, ((col, fmt), kind)) in batch.columns().iter().zip(&fmts).zip(&cells).enumerate()
            {
                if i > 0 {
                    out.push(self.delimiter);
                }
                write_cell(&mut out, col.as_ref(), kind, row, fmt, &escape)?;
            }
            out.extend_from_slice(b"\r\n");
        }
        Ok(out)
    }

    fn footer(&mut self, _status: QueryStatus) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }
}
