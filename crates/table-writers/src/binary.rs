//! Big-endian binary cells, as VOTable BINARY2 (VOTable 1.5 §5.5) and FITS
//! binary tables (FITS 4.0 §7.3) both store them: each column is cast once
//! per batch to the Arrow type of its VOTable datatype, then cells are
//! appended row by row.

use crate::text::TextColumns;
use crate::{Error, Result, votable_type};
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Field, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
};
use datafusion::arrow::record_batch::RecordBatch;
use std::sync::Arc;

/// How one column's cells are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One byte: `T`, `F`, or `?`/0 for NULL.
    Boolean,
    Short,
    Int,
    Long,
    Float,
    Double,
    /// Exactly n doubles (POINT: 2, CIRCLE: 3).
    Doubles(usize),
    /// Any number of doubles (POLYGON, arrays).
    VarDoubles,
    /// UTF-8 text (strings, timestamps in ISO 8601).
    Text,
}

impl Kind {
    /// The kind of a result column, from its VOTable datatype and arraysize.
    pub(crate) fn of(field: &Field) -> Kind {
        match votable_type(field) {
            ("boolean", _) => Kind::Boolean,
            ("short", _) => Kind::Short,
            ("int", _) => Kind::Int,
            ("long", _) => Kind::Long,
            ("float", _) => Kind::Float,
            ("double", None) => Kind::Double,
            ("double", Some("*")) => Kind::VarDoubles,
            ("double", Some(n)) => Kind::Doubles(n.parse().unwrap_or(1)),
            _ => Kind::Text,
        }
    }

    /// The Arrow type cells of this kind are read from.
    fn arrow(self) -> Option<DataType> {
        Some(match self {
            Kind::Boolean => DataType::Boolean,
            Kind::Short => DataType::Int16,
            Kind::Int => DataType::Int32,
            Kind::Long => DataType::Int64,
            Kind::Float => DataType::Float32,
            Kind::Double => DataType::Float64,
            Kind::Doubles(_) | Kind::VarDoubles => {
                DataType::List(Arc::new(Field::new("item", DataType::Float64, true)))
            }
            Kind::Text => return None,
        })
    }
}

/// One batch, ready to be written cell by cell.
pub(crate) struct Cells {
    columns: Vec<(Kind, ArrayRef)>,
    text: Vec<Vec<Option<String>>>,
}

impl Cells {
    /// Casts each column of `batch` to the type its kind is written from;
    /// text columns are formatted once (timestamps as ISO 8601).
    pub(crate) fn new(batch: &RecordBatch, kinds: &[Kind]) -> Result<Cells> {
        let texts = TextColumns::new(batch)?;
        let mut columns = Vec::with_capacity(kinds.len());
        let mut text = Vec::with_capacity(kinds.len());
        for (i, (col, kind)) in batch.columns().iter().zip(kinds).enumerate() {
            match kind.arrow() {
                Some(t) => {
                    let c = cast(col, &t).map_err(|e| Error::Format(e.to_string()))?;
                    columns.push((*kind, c));
                    text.push(Vec::new());
                }
                None => {
                    let values = (0..batch.num_rows())
                        .map(|row| texts.text(i, row))
                        .collect::<Result<Vec<_>>>()?;
                    columns.push((*kind, Arc::clone(col)));
                    text.push(values);
                }
            }
        }
        Ok(Cells { columns, text })
    }

    /// Is the cell NULL?
    pub(crate) fn is_null(&self, col: usize, row: usize) -> bool {
        match self.columns[col].0 {
            Kind::Text => self.text[col][row].is_none(),
            _ => self.columns[col].1.is_null(row),
        }
    }

    /// The text of a text cell ("" for NULL).
    pub(crate) fn text(&self, col: usize, row: usize) -> &str {
        self.text[col][row].as_deref().unwrap_or("")
    }

    /// The doubles of an array cell (empty for NULL).
    pub(crate) fn doubles(&self, col: usize, row: usize) -> Vec<f64> {
        let a = &self.columns[col].1;
        if a.is_null(row) {
            return Vec::new();
        }
        let values = a.as_list::<i32>().value(row);
        values
            .as_primitive::<Float64Type>()
            .iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect()
    }

    /// Appends a scalar cell big-endian; NULL is written as `null_int` for
    /// integers (FITS TNULL; 0 in BINARY2, whose NULL flag says it), NaN for
    /// floats and `?`/0 for booleans.
    pub(crate) fn put_scalar(&self, out: &mut Vec<u8>, col: usize, row: usize, fits: bool) {
        let (kind, a) = &self.columns[col];
        let null = a.is_null(row);
        match kind {
            Kind::Boolean => {
                let b = if null {
                    if fits { 0 } else { b'?' }
                } else if a.as_boolean().value(row) {
                    b'T'
                } else {
                    b'F'
                };
                out.push(b);
            }
            Kind::Short => {
                let v = if null {
                    NULL_SHORT
                } else {
                    a.as_primitive::<Int16Type>().value(row)
                };
                out.extend_from_slice(&v.to_be_bytes());
            }
            Kind::Int => {
                let v = if null {
                    NULL_INT
                } else {
                    a.as_primitive::<Int32Type>().value(row)
                };
                out.extend_from_slice(&v.to_be_bytes());
            }
            Kind::Long => {
                let v = if null {
                    NULL_LONG
                } else {
                    a.as_primitive::<Int64Type>().value(row)
                };
                out.extend_from_slice(&v.to_be_bytes());
            }
            Kind::Float => {
                let v = if null {
                    f32::NAN
                } else {
                    a.as_primitive::<Float32Type>().value(row)
                };
                out.extend_from_slice(&v.to_be_bytes());
            }
            Kind::Double => {
                let v = if null {
                    f64::NAN
                } else {
                    a.as_primitive::<Float64Type>().value(row)
                };
                out.extend_from_slice(&v.to_be_bytes());
            }
            Kind::Doubles(_) | Kind::VarDoubles | Kind::Text => {}
        }
    }

    /// The cast array of a non-text column.
    pub(crate) fn array(&self, col: usize) -> &ArrayRef {
        &self.columns[col].1
    }

    /// The kinds, in column order.
    pub(crate) fn kinds(&self) -> impl Iterator<Item = Kind> + '_ {
        self.columns.iter().map(|(k, _)| *k)
    }
}

/// The integer written for NULL in FITS (declared as TNULLn).
pub(crate) const NULL_SHORT: i16 = i16::MIN;
/// See [`NULL_SHORT`].
pub(crate) const NULL_INT: i32 = i32::MIN;
/// See [`NULL_SHORT`].
pub(crate) const NULL_LONG: i64 = i64::MIN;

/// One BINARY2 row (VOTable 1.5 §5.5): the NULL flags, one bit per column
/// from the most significant, then each cell; variable-length cells are
/// preceded by their element count as a 4-byte integer.
pub(crate) fn binary2_row(cells: &Cells, row: usize, out: &mut Vec<u8>) {
    let kinds: Vec<Kind> = cells.kinds().collect();
    let start = out.len();
    out.resize(start + kinds.len().div_ceil(8), 0);
    for (col, kind) in kinds.iter().enumerate() {
        if cells.is_null(col, row) {
            out[start + col / 8] |= 0x80 >> (col % 8);
        }
        match kind {
            Kind::Text => {
                let t = cells.text(col, row).as_bytes();
                out.extend_from_slice(&(t.len() as u32).to_be_bytes());
                out.extend_from_slice(t);
            }
            Kind::VarDoubles => {
                let v = cells.doubles(col, row);
                out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                for x in v {
                    out.extend_from_slice(&x.to_be_bytes());
                }
            }
            Kind::Doubles(n) => {
                let mut v = cells.doubles(col, row);
                v.resize(*n, f64::NAN);
                for x in v {
                    out.extend_from_slice(&x.to_be_bytes());
                }
            }
            _ => cells.put_scalar(out, col, row, false),
        }
    }
}
