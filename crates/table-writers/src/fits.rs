//! FITS binary tables (FITS 4.0 §7.3). The header gives the row count and
//! the width of every string column before the first row, so the result is
//! spooled to a temporary Arrow IPC file as it arrives (memory stays flat)
//! and written out when it is complete, through [`ResultWriter::spooled`].
//!
//! Column metadata: TTYPE, TFORM, TUNIT, TNULL (integers), TCOMM
//! (description), and the widespread TUCD and TUTYP; the DALI xtype goes in
//! TXTYP, which Corvus reads back. Strings and timestamps are `nA`, as wide
//! as the widest value; variable-length arrays (polygons) are `1PD(max)`
//! descriptors into the heap after the rows (a NULL array has length 0).
//! NULL strings are written empty.

use crate::binary::{Cells, Kind, NULL_INT, NULL_LONG, NULL_SHORT};
use crate::{Error, QueryStatus, Result, ResultWriter};
use catalog_model::keys;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::FileWriter;
use datafusion::arrow::record_batch::RecordBatch;
use std::fmt::Write as _;

const BLOCK: usize = 2880;

fn err(e: impl std::fmt::Display) -> Error {
    Error::Spool(e.to_string())
}

/// Writes a FITS file: an empty primary HDU and one BINTABLE.
pub struct FitsWriter {
    schema: SchemaRef,
    kinds: Vec<Kind>,
    /// Widest value per column: bytes for text, elements for arrays.
    widths: Vec<usize>,
    rows: u64,
    /// Bytes of variable-length arrays, which go to the heap.
    heap_bytes: u64,
    spool: Option<FileWriter<std::fs::File>>,
    spool_file: tempfile::NamedTempFile,
    status: QueryStatus,
}

impl FitsWriter {
    /// A writer for results of `schema`; the spool file lives in the
    /// system's temporary folder and goes when the writer is dropped.
    pub fn new(schema: SchemaRef) -> Result<Self> {
        let spool_file = tempfile::Builder::new()
            .prefix("corvus-fits-")
            .tempfile()
            .map_err(err)?;
        let spool = FileWriter::try_new(spool_file.reopen().map_err(err)?, &schema).map_err(err)?;
        let kinds: Vec<Kind> = schema.fields().iter().map(|f| Kind::of(f)).collect();
        Ok(FitsWriter {
            widths: vec![0; kinds.len()],
            kinds,
            schema,
            rows: 0,
            heap_bytes: 0,
            spool: Some(spool),
            spool_file,
            status: QueryStatus::Ok,
        })
    }

    /// TFORM and row width of each column.
    fn forms(&self) -> Vec<(String, usize)> {
        self.kinds
            .iter()
            .zip(&self.widths)
            .map(|(k, w)| match k {
                Kind::Boolean => ("L".into(), 1),
                Kind::Short => ("I".into(), 2),
                Kind::Int => ("J".into(), 4),
                Kind::Long => ("K".into(), 8),
                Kind::Float => ("E".into(), 4),
                Kind::Double => ("D".into(), 8),
                Kind::Doubles(n) => (format!("{n}D"), 8 * n),
                // A descriptor (count, offset) into the heap (FITS 4.0
                // §7.3.5); the maximum length goes in parentheses.
                Kind::VarDoubles => (format!("1PD({w})"), 8),
                Kind::Text => {
                    let n = (*w).max(1);
                    (format!("{n}A"), n)
                }
            })
            .collect()
    }

    fn headers(&self) -> Vec<u8> {
        let mut h = Header::default();
        h.card("SIMPLE", "T", "a FITS file");
        h.card("BITPIX", "8", "");
        h.card("NAXIS", "0", "no image: the table follows");
        h.card("EXTEND", "T", "");
        let mut out = h.finish();
        let forms = self.forms();
        let row_bytes: usize = forms.iter().map(|(_, w)| w).sum();
        let mut h = Header::default();
        h.text("XTENSION", "BINTABLE", "binary table");
        h.card("BITPIX", "8", "");
        h.card("NAXIS", "2", "");
        h.card("NAXIS1", &row_bytes.to_string(), "bytes per row");
        h.card("NAXIS2", &self.rows.to_string(), "rows");
        h.card("PCOUNT", &self.heap_bytes.to_string(), "heap bytes");
        h.card("GCOUNT", "1", "");
        h.card("TFIELDS", &self.kinds.len().to_string(), "columns");
        for (i, (f, (form, _))) in self.schema.fields().iter().zip(&forms).enumerate() {
            let n = i + 1;
            h.text(&format!("TTYPE{n}"), f.name(), "");
            h.text(&format!("TFORM{n}"), form, "");
            let null = match self.kinds[i] {
                Kind::Short => Some(NULL_SHORT.to_string()),
                Kind::Int => Some(NULL_INT.to_string()),
                Kind::Long => Some(NULL_LONG.to_string()),
                _ => None,
            };
            if let Some(null) = null {
                h.card(&format!("TNULL{n}"), &null, "");
            }
            for (key, md) in [
                ("TUNIT", keys::UNIT),
                ("TUCD", keys::UCD),
                ("TUTYP", keys::UTYPE),
                ("TXTYP", keys::XTYPE),
                ("TCOMM", keys::DESCRIPTION),
            ] {
                if let Some(v) = f.metadata().get(md).filter(|v| !v.is_empty()) {
                    h.text(&format!("{key}{n}"), v, "");
                }
            }
        }
        if self.status == QueryStatus::Overflow {
            h.text("QUERYSTA", "OVERFLOW", "the result was cut at MAXREC");
        }
        out.extend(h.finish());
        out
    }
}

/// 80-character header cards, padded to whole blocks by `finish`.
#[derive(Default)]
struct Header(String);

impl Header {
    fn card(&mut self, key: &str, value: &str, comment: &str) {
        let mut c = format!("{key:<8}= {value:>20}");
        if !comment.is_empty() {
            let _ = write!(c, " / {comment}");
        }
        self.push(c);
    }

    /// A string value: quotes doubled, ASCII only, at most 68 characters.
    fn text(&mut self, key: &str, value: &str, comment: &str) {
        let ascii: String = value
            .chars()
            .map(|c| {
                if c.is_ascii() && !c.is_ascii_control() {
                    c
                } else {
                    '?'
                }
            })
            .collect::<String>()
            .replace('\'', "''");
        let mut v: String = ascii.chars().take(66).collect();
        if v.ends_with('\'') && !v.ends_with("''") {
            v.pop();
        }
        let mut c = format!("{key:<8}= '{v:<8}'");
        if !comment.is_empty() && c.len() + comment.len() + 3 <= 80 {
            let _ = write!(c, " / {comment}");
        }
        self.push(c);
    }

    fn push(&mut self, mut card: String) {
        card.truncate(80);
        let _ = write!(self.0, "{card:<80}");
    }

    fn finish(mut self) -> Vec<u8> {
        self.push("END".into());
        let mut bytes = self.0.into_bytes();
        bytes.resize(bytes.len().div_ceil(BLOCK) * BLOCK, b' ');
        bytes
    }
}

impl ResultWriter for FitsWriter {
    fn content_type(&self) -> &'static str {
        "application/fits"
    }

    fn header(&mut self) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }

    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>> {
        let cells = Cells::new(batch, &self.kinds)?;
        for (col, kind) in self.kinds.iter().enumerate() {
            for row in 0..batch.num_rows() {
                let w = match kind {
                    Kind::Text => cells.text(col, row).len(),
                    Kind::VarDoubles => {
                        let n = cells.doubles(col, row).len();
                        self.heap_bytes += 8 * n as u64;
                        n
                    }
                    _ => break,
                };
                self.widths[col] = self.widths[col].max(w);
            }
        }
        self.rows += batch.num_rows() as u64;
        if let Some(s) = self.spool.as_mut() {
            s.write(batch).map_err(err)?;
        }
        Ok(Vec::new())
    }

    fn footer(&mut self, status: QueryStatus) -> Result<Vec<u8>> {
        self.status = status;
        if let Some(mut s) = self.spool.take() {
            s.finish().map_err(err)?;
        }
        Ok(Vec::new())
    }

    fn spooled(&mut self) -> Result<Option<crate::Spooled>> {
        let header = self.headers();
        let forms = self.forms();
        let kinds = self.kinds.clone();
        let row_bytes: usize = forms.iter().map(|(_, w)| w).sum();
        let total = row_bytes as u64 * self.rows + self.heap_bytes;
        let open = |f: &tempfile::NamedTempFile| -> Result<FileReader<std::fs::File>> {
            FileReader::try_new(f.reopen().map_err(err)?, None).map_err(err)
        };
        // Two passes over the spool: the rows, then the heap after them.
        let mut rows = Some(open(&self.spool_file)?);
        let mut heap = Some(open(&self.spool_file)?);
        let mut header = Some(header);
        let mut heap_offset: u64 = 0;
        let mut padded = false;
        let chunks = std::iter::from_fn(move || {
            if let Some(h) = header.take() {
                return Some(Ok(h));
            }
            if let Some(r) = rows.as_mut() {
                match r.next() {
                    Some(Ok(batch)) => {
                        return Some(encode(&batch, &kinds, &forms, &mut heap_offset));
                    }
                    Some(Err(e)) => return Some(Err(err(e))),
                    None => rows = None,
                }
            }
            if let Some(r) = heap.as_mut() {
                match r.next() {
                    Some(Ok(batch)) => return Some(encode_heap(&batch, &kinds)),
                    Some(Err(e)) => return Some(Err(err(e))),
                    None => heap = None,
                }
            }
            if padded {
                return None;
            }
            padded = true;
            let rest = (BLOCK as u64 - total % BLOCK as u64) % BLOCK as u64;
            Some(Ok(vec![0; rest as usize]))
        });
        Ok(Some(Box::new(chunks)))
    }
}

/// The variable-length arrays of one batch, in row order: the heap.
fn encode_heap(batch: &RecordBatch, kinds: &[Kind]) -> Result<Vec<u8>> {
    let cells = Cells::new(batch, kinds)?;
    let mut out = Vec::new();
    for row in 0..batch.num_rows() {
        for (col, kind) in kinds.iter().enumerate() {
            if *kind == Kind::VarDoubles {
                for x in cells.doubles(col, row) {
                    out.extend_from_slice(&x.to_be_bytes());
                }
            }
        }
    }
    Ok(out)
}

/// The rows of one batch, fixed width; variable-length arrays as
/// descriptors, `heap_offset` counting where the next one starts.
fn encode(
    batch: &RecordBatch,
    kinds: &[Kind],
    forms: &[(String, usize)],
    heap_offset: &mut u64,
) -> Result<Vec<u8>> {
    let cells = Cells::new(batch, kinds)?;
    let row_bytes: usize = forms.iter().map(|(_, w)| w).sum();
    let mut out = Vec::with_capacity(row_bytes * batch.num_rows());
    for row in 0..batch.num_rows() {
        for (col, kind) in kinds.iter().enumerate() {
            let width = forms[col].1;
            match kind {
                Kind::Text => {
                    let t = cells.text(col, row).as_bytes();
                    let n = t.len().min(width);
                    out.extend_from_slice(&t[..n]);
                    out.resize(out.len() + width - n, 0);
                }
                Kind::VarDoubles => {
                    let n = cells.doubles(col, row).len() as u64;
                    let count = i32::try_from(n).map_err(err)?;
                    let offset = i32::try_from(*heap_offset)
                        .map_err(|_| {
                            Error::Unwritable(
                                "the arrays exceed the 2 GiB a FITS heap can address; choose another format".into(),
                            )
                        })?;
                    out.extend_from_slice(&count.to_be_bytes());
                    out.extend_from_slice(&offset.to_be_bytes());
                    *heap_offset += 8 * n;
                }
                Kind::Doubles(_) => {
                    let mut v = cells.doubles(col, row);
                    v.resize(width / 8, f64::NAN);
                    for x in v {
                        out.extend_from_slice(&x.to_be_bytes());
                    }
                }
                _ => cells.put_scalar(&mut out, col, row, true),
            }
        }
    }
    Ok(out)
}
