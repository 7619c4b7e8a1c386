//! CSV and TSV: CSV as RFC 4180 says (quoting, CRLF line ends); TSV as
//! IANA's text/tab-separated-values (no quoting, tabs and newlines in
//! values escaped, LF line ends, what Unix tools expect).
//! NULL is an empty field, except in a one-column result, where an empty
//! field would be an empty line that readers skip (pandas, pyarrow and
//! astropy all do): there NULL, and the empty string with it, is `""`, the
//! quoted empty field. pandas (`read_csv`, also with `sep="\t"`), pyarrow's
//! CSV reader and astropy (`ascii.csv`, `ascii.tab`) read it as missing
//! in CSV and in TSV alike, where IANA's TSV has no quoting but the readers
//! apply CSV's (checked by `tests/python/test_text_results.py`); pyarrow
//! reads it as an empty string in a text column, as it reads any empty
//! text field. Geometry values are written in their DALI form, numbers
//! separated by spaces.

use crate::{QueryStatus, Result, ResultWriter};
use datafusion::arrow::array::{Array, AsArray, Float32Array, Float64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Float32Type, Float64Type, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use std::io::Write as _;

/// Writes CSV (`,`) or TSV (`\t`).
pub struct DelimitedWriter {
    schema: SchemaRef,
    delimiter: u8,
    /// What a NULL cell is written as.
    null: Vec<u8>,
}

impl DelimitedWriter {
    /// A writer for results of `schema`.
    pub fn new(schema: SchemaRef, delimiter: u8) -> Self {
        let null = if schema.fields().len() == 1 {
            b"\"\"".to_vec()
        } else {
            Vec::new()
        };
        DelimitedWriter {
            schema,
            delimiter,
            null,
        }
    }

    /// Writes NULL as `text` (for display: `corvus query` shows `NULL`).
    pub fn with_null(mut self, text: &str) -> Self {
        self.null = text.as_bytes().to_vec();
        self
    }

    fn line_end(&self) -> &'static [u8] {
        if self.delimiter == b',' {
            b"\r\n"
        } else {
            b"\n"
        }
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

/// Arrow's display options, the same for every writer.
static FORMAT: FormatOptions<'static> = FormatOptions::new();

/// How a column's cells are turned into text.
enum TextKind<'a> {
    /// Strings, which may need escaping.
    Strings(&'a StringArray),
    /// Lists of doubles, in DALI form (no character needs escaping).
    Lists,
    /// Doubles: the shortest decimal that reads back to the same value, by
    /// `ryu` as Arrow's display writes them, without its formatting
    /// machinery around each cell (most of the text formats' cost is here).
    Float64(&'a Float64Array),
    /// Floats, as doubles are.
    Float32(&'a Float32Array),
    /// Numbers, booleans, timestamps: Arrow's display, never escaped.
    Plain,
}

/// A batch's columns ready to be written as text: each with its display
/// formatter and the way its cells are written.
pub(crate) struct TextColumns<'a> {
    columns: Vec<(&'a dyn Array, ArrayFormatter<'a>, TextKind<'a>)>,
}

impl<'a> TextColumns<'a> {
    pub(crate) fn new(batch: &'a RecordBatch) -> Result<Self> {
        let columns = batch
            .columns()
            .iter()
            .zip(batch.schema_ref().fields())
            .map(|(c, field)| {
                let col = c.as_ref();
                let kind = match col.data_type() {
                    DataType::Utf8 => TextKind::Strings(col.as_string::<i32>()),
                    DataType::List(_) => {
                        refuse_compound_regions(col, field.name())?;
                        TextKind::Lists
                    }
                    DataType::Float64 => TextKind::Float64(col.as_primitive::<Float64Type>()),
                    DataType::Float32 => TextKind::Float32(col.as_primitive::<Float32Type>()),
                    _ => TextKind::Plain,
                };
                let fmt = ArrayFormatter::try_new(col, &FORMAT)
                    .map_err(|e| crate::Error::Format(e.to_string()))?;
                Ok((col, fmt, kind))
            })
            .collect::<Result<_>>()?;
        Ok(TextColumns { columns })
    }

    /// Appends the text of one cell to `out`, escaping strings with
    /// `escape`; false for NULL (nothing written). Straight into the
    /// buffer, no string per cell: that is what makes the text formats fast.
    pub(crate) fn write(
        &self,
        out: &mut Vec<u8>,
        col: usize,
        row: usize,
        escape: &dyn Fn(&mut Vec<u8>, &str),
    ) -> Result<bool> {
        let (array, fmt, kind) = &self.columns[col];
        if array.is_null(row) {
            return Ok(false);
        }
        match kind {
            TextKind::Strings(s) => escape(out, s.value(row)),
            TextKind::Lists => out.extend_from_slice(dali_list(*array, row, fmt).as_bytes()),
            TextKind::Float64(a) => {
                out.extend_from_slice(ryu::Buffer::new().format(a.value(row)).as_bytes())
            }
            TextKind::Float32(a) => {
                out.extend_from_slice(ryu::Buffer::new().format(a.value(row)).as_bytes())
            }
            TextKind::Plain => write!(out, "{}", fmt.value(row))
                .map_err(|e| crate::Error::Format(e.to_string()))?,
        }
        Ok(true)
    }

    /// One cell as a string, `None` for NULL (text columns of binary formats).
    pub(crate) fn text(&self, col: usize, row: usize) -> Result<Option<String>> {
        let mut out = Vec::new();
        let written = self.write(&mut out, col, row, &|o, v| {
            o.extend_from_slice(v.as_bytes())
        })?;
        Ok(written.then(|| String::from_utf8_lossy(&out).into_owned()))
    }

    /// The number of columns.
    pub(crate) fn len(&self) -> usize {
        self.columns.len()
    }
}

/// Refuses a column holding a compound region (Union, Intersection, Not):
/// `sky-functions` encodes one as a list of doubles that starts with NaN
/// followed by its operator and operands, which no output format (DALI has
/// no serialisation for it) can carry. [`TextColumns`] checks every list
/// column it formats (so every writer but Parquet's, which checks itself).
pub(crate) fn refuse_compound_regions(col: &dyn Array, name: &str) -> Result<()> {
    let list = col.as_list::<i32>();
    let Some(values) = list.values().as_primitive_opt::<Float64Type>() else {
        return Ok(());
    };
    let offsets = list.value_offsets();
    for row in 0..list.len() {
        let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
        if !list.is_null(row) && end - start >= 4 && values.value(start).is_nan() {
            return Err(crate::Error::Unwritable(format!(
                "column {name} holds a compound region (Union, Intersection or Not), which a result cannot carry; use it in CONTAINS or INTERSECTS, or select its parts"
            )));
        }
    }
    Ok(())
}

/// A list of doubles in DALI form, numbers separated by spaces; other
/// lists in Arrow's display.
fn dali_list(col: &dyn Array, row: usize, fmt: &ArrayFormatter<'_>) -> String {
    let values = col.as_list::<i32>().value(row);
    match values.as_primitive_opt::<Float64Type>() {
        Some(f) => f
            .iter()
            .map(|v| v.map_or("NaN".into(), |x| x.to_string()))
            .collect::<Vec<_>>()
            .join(" "),
        None => fmt.value(row).to_string(),
    }
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
        out.extend_from_slice(self.line_end());
        Ok(out)
    }

    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>> {
        let this = &*self;
        crate::parallel::format_rows(batch, |rows| this.rows(rows))
    }

    fn footer(&mut self, _status: QueryStatus) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }
}

impl DelimitedWriter {
    /// The lines of `batch`'s rows.
    fn rows(&self, batch: &RecordBatch) -> Result<Vec<u8>> {
        let columns = TextColumns::new(batch)?;
        let escape = |out: &mut Vec<u8>, v: &str| self.field(out, v);
        let mut out = Vec::with_capacity(batch.num_rows() * 64);
        let one_column = columns.len() == 1;
        for row in 0..batch.num_rows() {
            let line_start = out.len();
            for col in 0..columns.len() {
                if col > 0 {
                    out.push(self.delimiter);
                }
                if !columns.write(&mut out, col, row, &escape)? {
                    out.extend_from_slice(&self.null);
                }
            }
            // An empty string alone on its line would be skipped too.
            if one_column && out.len() == line_start {
                out.extend_from_slice(b"\"\"");
            }
            out.extend_from_slice(self.line_end());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{ArrayRef, Int32Array};
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn write(delimiter: u8, column: ArrayRef) -> String {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "x",
            column.data_type().clone(),
            true,
        )]));
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![column]).unwrap();
        let mut w = DelimitedWriter::new(schema, delimiter);
        let mut out = w.header().unwrap();
        out.extend(w.batch(&batch).unwrap());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_one_column_result_has_no_empty_line() {
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None, Some(3)]));
        assert_eq!(write(b',', Arc::clone(&ints)), "x\r\n1\r\n\"\"\r\n3\r\n");
        assert_eq!(write(b'\t', ints), "x\n1\n\"\"\n3\n");
        let text: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), Some(""), None]));
        assert_eq!(write(b'\t', text), "x\na\n\"\"\n\"\"\n");
    }

    #[test]
    fn several_columns_keep_null_as_an_empty_field() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", datafusion::arrow::datatypes::DataType::Int32, true),
            Field::new("b", datafusion::arrow::datatypes::DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int32Array::from(vec![None, Some(2)])),
                Arc::new(StringArray::from(vec![Some(""), None])),
            ],
        )
        .unwrap();
        let mut w = DelimitedWriter::new(schema, b',');
        assert_eq!(
            String::from_utf8(w.batch(&batch).unwrap()).unwrap(),
            ",\r\n2,\r\n"
        );
    }
}
