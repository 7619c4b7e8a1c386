//! Fixed-width and whitespace-separated ASCII tables, read in batches.
//!
//! Fixed-width columns are byte ranges (the CDS/VizieR "Byte-by-byte
//! Description"); whitespace tables split each line on runs of blanks. Every
//! value is parsed into its declared type; one that does not fit stops the
//! ingest with the file, line, column, value and expected type.
//!
//! Must never know the other readers or the ingest pipeline.

use catalog_model::AdqlType;
use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Float32Builder, Float64Builder, Int16Builder,
    Int32Builder, Int64Builder, StringBuilder,
};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;

/// How the fields of a line are found.
#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    /// 0-based half-open byte ranges, one per column.
    Fixed(Vec<(usize, usize)>),
    /// Fields separated by runs of blanks.
    Whitespace,
}

/// One column of a text table.
#[derive(Debug, Clone)]
pub struct TextColumn {
    /// Name.
    pub name: String,
    /// Type to parse into.
    pub ty: AdqlType,
    /// Values that mean NULL (after trimming).
    pub nulls: Vec<String>,
}

/// A text table to read: files, layout, columns.
#[derive(Debug, Clone)]
pub struct TextTable {
    /// Input files, read in order; `.gz` ones are decompressed.
    pub files: Vec<PathBuf>,
    /// Field layout.
    pub layout: Layout,
    /// Columns.
    pub columns: Vec<TextColumn>,
    /// Rows per batch.
    pub batch_rows: usize,
    /// Bad lines to skip (with a report) before a bad line stops the read.
    pub skip_bad_rows: usize,
    /// The lines skipped so far: "file: line N: what was wrong".
    pub skipped: Arc<std::sync::Mutex<Vec<String>>>,
}

impl TextTable {
    /// Builds the layout from descriptor byte ranges ("a-b", 1-based inclusive).
    pub fn fixed_layout(ranges: &[&str]) -> Option<Layout> {
        ranges
            .iter()
            .map(|r| parse_bytes(r).map(|(a, b)| (a - 1, b)))
            .collect::<Option<Vec<_>>>()
            .map(Layout::Fixed)
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        crate::columns::schema_of(self.columns.iter().map(|c| (c.name.as_str(), c.ty)))
    }

    /// Reads all files, calling `sink` with each batch.
    pub fn read(
        &self,
        mut sink: impl FnMut(RecordBatch) -> Result<(), DataFusionError>,
    ) -> Result<(), DataFusionError> {
        for file in &self.files {
            let f = std::fs::File::open(file).map_err(|e| {
                DataFusionError::Execution(format!("cannot open {}: {e}", file.display()))
            })?;
            let reader: Box<dyn Read> = if file.extension().is_some_and(|x| x == "gz") {
                Box::new(flate2::read::MultiGzDecoder::new(f))
            } else {
                Box::new(f)
            };
            let mut batch = BatchBuilder::new(self);
            for (i, line) in BufReader::new(reader).lines().enumerate() {
                let line = line.map_err(|e| {
                    DataFusionError::Execution(format!(
                        "{}: line {}: cannot read: {e}",
                        file.display(),
                        i + 1
                    ))
                })?;
                if line.trim().is_empty() {
                    continue;
                }
                if let Err(m) = batch.push_line(&line) {
                    let message = format!("{}: line {}: {m}", file.display(), i + 1);
                    let mut skipped = self
                        .skipped
                        .lock()
                        .map_err(|_| DataFusionError::Execution("skip list poisoned".into()))?;
                    if skipped.len() >= self.skip_bad_rows {
                        return Err(DataFusionError::Execution(if self.skip_bad_rows == 0 {
                            message
                        } else {
                            format!(
                                "more than {} bad rows; this one: {message}",
                                self.skip_bad_rows
                            )
                        }));
                    }
                    skipped.push(message);
                    continue;
                }
                if batch.rows == self.batch_rows {
                    sink(batch.finish()?)?;
                    batch = BatchBuilder::new(self);
                }
            }
            if batch.rows > 0 {
                sink(batch.finish()?)?;
            }
        }
        Ok(())
    }
}

struct BatchBuilder<'a> {
    table: &'a TextTable,
    builders: Vec<Box<dyn ArrayBuilder>>,
    rows: usize,
}

impl<'a> BatchBuilder<'a> {
    fn new(table: &'a TextTable) -> Self {
        let n = table.batch_rows;
        let builders = table
            .columns
            .iter()
            .map(|c| -> Box<dyn ArrayBuilder> {
                match c.ty {
                    AdqlType::SmallInt => Box::new(Int16Builder::with_capacity(n)),
                    AdqlType::Integer => Box::new(Int32Builder::with_capacity(n)),
                    AdqlType::BigInt => Box::new(Int64Builder::with_capacity(n)),
                    AdqlType::Real => Box::new(Float32Builder::with_capacity(n)),
                    AdqlType::Double => Box::new(Float64Builder::with_capacity(n)),
                    AdqlType::Boolean => Box::new(BooleanBuilder::with_capacity(n)),
                    _ => Box::new(StringBuilder::new()),
                }
            })
            .collect();
        BatchBuilder {
            table,
            builders,
            rows: 0,
        }
    }

    fn push_line(&mut self, line: &str) -> Result<(), String> {
        let fields: Vec<&str> = match &self.table.layout {
            // Byte ranges, as VizieR's ReadMe gives them; a short line has
            // empty (NULL) fields at its end. A range that cuts a UTF-8
            // character is refused, not read as an empty field.
            Layout::Fixed(ranges) => ranges
                .iter()
                .map(|&(a, b)| {
                    let (a, b) = (a.min(line.len()), b.min(line.len()));
                    line.get(a..b).map(str::trim).ok_or_else(|| {
                        format!(
                            "bytes {}-{b} cut a multi-byte UTF-8 character; the byte ranges do not fit this line",
                            a + 1
                        )
                    })
                })
                .collect::<Result<_, String>>()?,
            Layout::Whitespace => {
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() != self.table.columns.len() {
                    return Err(format!(
                        "{} fields, expected {}",
                        f.len(),
                        self.table.columns.len()
                    ));
                }
                f
            }
        };
        // When bad rows may be skipped, check the whole line before appending
        // any of it, so that a skipped line leaves no partial row behind.
        if self.table.skip_bad_rows > 0 {
            for (value, col) in fields.iter().zip(&self.table.columns) {
                let null = value.is_empty() || col.nulls.iter().any(|n| n == value);
                if !null {
                    check(col, value).map_err(|expected| {
                        format!("column {}: value '{value}' is not {expected}", col.name)
                    })?;
                }
            }
        }
        for ((value, col), builder) in fields
            .iter()
            .zip(&self.table.columns)
            .zip(&mut self.builders)
        {
            let null = value.is_empty() || col.nulls.iter().any(|n| n == value);
            push(builder.as_mut(), col, value, null).map_err(|expected| {
                format!("column {}: value '{value}' is not {expected}", col.name)
            })?;
        }
        self.rows += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<RecordBatch, DataFusionError> {
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(|b| b.finish()).collect();
        Ok(RecordBatch::try_new(self.table.schema(), arrays)?)
    }
}

/// Checks that a non-NULL value parses as the column's type.
fn check(col: &TextColumn, v: &str) -> Result<(), &'static str> {
    let (ok, expected) = match col.ty {
        AdqlType::SmallInt => (v.parse::<i16>().is_ok(), "a 16-bit integer"),
        AdqlType::Integer => (v.parse::<i32>().is_ok(), "a 32-bit integer"),
        AdqlType::BigInt => (v.parse::<i64>().is_ok(), "a 64-bit integer"),
        AdqlType::Real => (v.parse::<f32>().is_ok(), "a number"),
        AdqlType::Double => (v.parse::<f64>().is_ok(), "a number"),
        AdqlType::Boolean => (
            matches!(
                v.to_ascii_lowercase().as_str(),
                "t" | "true" | "1" | "y" | "yes" | "f" | "false" | "0" | "n" | "no"
            ),
            "a boolean (true/false)",
        ),
        _ => (true, ""),
    };
    if ok { Ok(()) } else { Err(expected) }
}

/// Appends one value; on failure returns what was expected.
fn push(
    b: &mut dyn ArrayBuilder,
    col: &TextColumn,
    v: &str,
    null: bool,
) -> Result<(), &'static str> {
    macro_rules! typed {
        ($builder:ty, $t:ty, $what:expr) => {{
            let b = b
                .as_any_mut()
                .downcast_mut::<$builder>()
                .ok_or("a supported type")?;
            if null {
                b.append_null();
            } else {
                let parsed: $t = v.parse().map_err(|_| $what)?;
                b.append_value(parsed);
            }
        }};
    }
    match col.ty {
        AdqlType::SmallInt => typed!(Int16Builder, i16, "a 16-bit integer"),
        AdqlType::Integer => typed!(Int32Builder, i32, "a 32-bit integer"),
        AdqlType::BigInt => typed!(Int64Builder, i64, "a 64-bit integer"),
        AdqlType::Real => typed!(Float32Builder, f32, "a number"),
        AdqlType::Double => typed!(Float64Builder, f64, "a number"),
        AdqlType::Boolean => {
            let b = b
                .as_any_mut()
                .downcast_mut::<BooleanBuilder>()
                .ok_or("a supported type")?;
            match (null, v.to_ascii_lowercase().as_str()) {
                (true, _) => b.append_null(),
                (_, "t" | "true" | "1" | "y" | "yes") => b.append_value(true),
                (_, "f" | "false" | "0" | "n" | "no") => b.append_value(false),
                _ => return Err("a boolean (true/false)"),
            }
        }
        _ => {
            let b = b
                .as_any_mut()
                .downcast_mut::<StringBuilder>()
                .ok_or("a supported type")?;
            if null {
                b.append_null()
            } else {
                b.append_value(v)
            }
        }
    }
    Ok(())
}

/// Parses a 1-based inclusive byte range "a-b" (or a single byte "a").
pub fn parse_bytes(range: &str) -> Option<(usize, usize)> {
    let (a, b) = match range.split_once('-') {
        Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
        None => {
            let a = range.trim().parse().ok()?;
            (a, a)
        }
    };
    (a >= 1 && b >= a).then_some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn byte_ranges() {
        assert_eq!(parse_bytes("1-6"), Some((1, 6)));
        assert_eq!(parse_bytes("12"), Some((12, 12)));
        assert_eq!(parse_bytes("6-1"), None);
        assert_eq!(parse_bytes("0-3"), None);
    }

    fn table(file: PathBuf, layout: Layout, cols: &[(&str, AdqlType)]) -> TextTable {
        TextTable {
            files: vec![file],
            layout,
            columns: cols
                .iter()
                .map(|(n, t)| TextColumn {
                    name: n.to_string(),
                    ty: *t,
                    nulls: vec!["-999".into()],
                })
                .collect(),
            batch_rows: 2,
            skip_bad_rows: 0,
            skipped: Default::default(),
        }
    }

    #[test]
    fn fixed_width_with_nulls_and_batches() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.dat");
        std::fs::write(&p, "  1  1.5 abc\n  2      de f\n  3 -999 x\n").unwrap();
        let layout = TextTable::fixed_layout(&["1-3", "4-8", "10-13"]).unwrap();
        let t = table(
            p,
            layout,
            &[
                ("id", AdqlType::Integer),
                ("v", AdqlType::Double),
                ("s", AdqlType::Varchar),
            ],
        );
        let mut batches = Vec::new();
        t.read(|b| {
            batches.push(b);
            Ok(())
        })
        .unwrap();
        assert_eq!(
            batches.iter().map(|b| b.num_rows()).collect::<Vec<_>>(),
            vec![2, 1]
        );
        assert_eq!(batches[0].column(1).null_count(), 1);
        assert_eq!(batches[1].column(1).null_count(), 1);
    }

    #[test]
    fn a_byte_range_that_cuts_a_character_is_an_error_not_a_null() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.dat");
        // "é" is two bytes: bytes 1-3 end inside it.
        std::fs::write(
            &p, "abé
",
        )
        .unwrap();
        let layout = TextTable::fixed_layout(&["1-3"]).unwrap();
        let t = table(p, layout, &[("s", AdqlType::Varchar)]);
        let e = t.read(|_| Ok(())).unwrap_err().to_string();
        assert!(
            e.contains("t.dat: line 1: bytes 1-3 cut a multi-byte UTF-8 character"),
            "{e}"
        );
    }

    #[test]
    fn a_float_in_an_integer_column_is_an_error_with_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.txt.gz");
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&p).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(b"1 2\n3 4.5\n").unwrap();
        gz.finish().unwrap();
        let t = table(
            p,
            Layout::Whitespace,
            &[("a", AdqlType::Integer), ("b", AdqlType::Integer)],
        );
        let e = t.read(|_| Ok(())).unwrap_err().to_string();
        assert!(
            e.contains("t.txt.gz: line 2: column b: value '4.5' is not a 32-bit integer"),
            "{e}"
        );
    }
}
