//! FITS binary tables (FITS 4.0 §7.3): the first BINTABLE extension of a
//! file, with TTYPE/TFORM/TUNIT/TNULL/TSCAL/TZERO and the column metadata
//! keywords TUCD and TCOMM (as STILTS and TOPCAT write them), read in batches.
//!
//! Values are physical values (FITS 4.0 §7.3.2): `TZERO + TSCAL × stored`,
//! for every numeric type, with TNULL compared to the stored integer before
//! scaling. An integer column keeps an integer type when its scaling is by
//! whole numbers (the unsigned conventions of Table 19 among them: TZERO
//! 32768, 2^31, 2^63, and -128 for signed bytes), the narrowest that holds
//! every stored value's physical value; scaled by anything else it becomes
//! double precision, as a scaled floating-point column does.
//! Columns of types with no column type here (complex numbers, bit arrays,
//! arrays of logicals, variable-length arrays of those) are left out and
//! listed by [`FitsTable::left_out`]. Claims the file does not bear out
//! (rows or heap beyond its end, widths beyond NAXIS1) are refused before
//! anything is allocated for them.
//!
//! Written here rather than taken from a crate: the pure-Rust FITS crates
//! (CDS fitsrs among them) read images, not binary tables, and cfitsio would
//! add a C library to every build; a BINTABLE is a fixed-width big-endian row
//! format that takes a page to read correctly.
//!
//! Must never know the other readers or the ingest pipeline.

use crate::columns::LeftOut;
use crate::error::read_error as err;
use catalog_model::{AdqlType, ColumnInfo, ColumnMeta};
use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Float32Builder, Float64Builder, Int16Builder,
    Int32Builder, Int64Builder, ListBuilder, StringBuilder,
};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use std::collections::HashMap;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

const BLOCK: usize = 2880;

/// One header: keyword → value (strings unquoted).
type Header = HashMap<String, String>;

fn read_header(r: &mut impl Read, file: &Path) -> Result<Option<Header>, DataFusionError> {
    let mut h = Header::new();
    let mut block = vec![0u8; BLOCK];
    loop {
        match r.read_exact(&mut block) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && h.is_empty() => {
                return Ok(None);
            }
            Err(e) => return Err(err(file, format!("truncated FITS header: {e}"))),
        }
        for card in block.chunks(80) {
            let card = String::from_utf8_lossy(card);
            let key = card.get(..8).unwrap_or("").trim().to_string();
            if key == "END" {
                return Ok(Some(h));
            }
            if card.get(8..10) != Some("= ") {
                continue;
            }
            let value = card.get(10..).unwrap_or("").trim();
            let value = if let Some(rest) = value.strip_prefix('\'') {
                // A string: up to the closing quote, '' standing for one quote.
                let mut out = String::new();
                let mut chars = rest.chars().peekable();
                while let Some(c) = chars.next() {
                    if c == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                            out.push('\'');
                        } else {
                            break;
                        }
                    } else {
                        out.push(c);
                    }
                }
                out.trim_end().to_string()
            } else {
                value.split('/').next().unwrap_or("").trim().to_string()
            };
            h.insert(key, value);
        }
    }
}

fn int(h: &Header, key: &str) -> Option<i64> {
    h.get(key)?.parse().ok()
}

fn float(h: &Header, key: &str) -> Option<f64> {
    h.get(key)?.replace('D', "E").parse().ok()
}

/// How stored values become physical ones (FITS 4.0 §7.3.2).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scaling {
    /// None: TSCAL 1 and TZERO 0.
    None,
    /// By whole numbers, into an integer column: exact.
    Integer { scale: i128, zero: i128 },
    /// Into double precision.
    Float { scale: f64, zero: f64 },
}

/// A column's binary layout.
#[derive(Debug, Clone)]
struct FitsColumn {
    info: ColumnInfo,
    /// The element type: L, B, I, J, K, E, D, A (X, C, M for columns left out).
    code: char,
    offset: usize,
    /// Bytes in a row.
    width: usize,
    null: Option<i64>,
    scaling: Scaling,
    /// TXTYP says timestamp.
    timestamp: bool,
    /// For a variable-length array (`PD(n)`, `QE(n)`, FITS 4.0 §7.3.5):
    /// the descriptor kind, `P` (two 32-bit integers) or `Q` (two 64-bit).
    /// `code` is then the element type, read from the heap.
    descriptor: Option<char>,
    /// Why the column is left out, when it is.
    left_out: Option<String>,
}

impl FitsColumn {
    fn element_size(&self) -> usize {
        element_size(self.code).unwrap_or(0)
    }

    /// The physical value of one stored element as a double; `None` for
    /// TNULL and NaN; an error if `b` is shorter than an element.
    fn element(&self, b: &[u8]) -> Result<Option<f64>, String> {
        let stored = match self.code {
            'E' => Some(f32::from_be_bytes(be(b)?) as f64).filter(|x| !x.is_nan()),
            'D' => Some(f64::from_be_bytes(be(b)?)).filter(|x| !x.is_nan()),
            code => {
                let v = raw_int(code, b)?;
                (self.null != Some(v)).then_some(v as f64)
            }
        };
        Ok(stored.map(|stored| match self.scaling {
            Scaling::None => stored,
            Scaling::Integer { scale, zero } => zero as f64 + scale as f64 * stored,
            Scaling::Float { scale, zero } => zero + scale * stored,
        }))
    }
}

/// Bytes of one element of a FITS 4.0 Table 18 type; `None` for a letter
/// that is not one.
fn element_size(code: char) -> Option<usize> {
    Some(match code {
        'L' | 'B' | 'A' => 1,
        'I' => 2,
        'J' | 'E' => 4,
        'K' | 'D' | 'C' => 8,
        'M' => 16,
        'X' => 0, // bits: see `column_width`
        _ => return None,
    })
}

/// The smallest and largest stored value of an integer type.
fn stored_range(code: char) -> (i128, i128) {
    match code {
        'B' => (0, 255),
        'I' => (i16::MIN as i128, i16::MAX as i128),
        'J' => (i32::MIN as i128, i32::MAX as i128),
        _ => (i64::MIN as i128, i64::MAX as i128),
    }
}

/// The column type and scaling of a scalar numeric column.
fn numeric_type(code: char, scale: f64, zero: f64) -> (AdqlType, Scaling) {
    let unscaled = scale == 1.0 && zero == 0.0;
    match code {
        'E' if unscaled => (AdqlType::Real, Scaling::None),
        'D' if unscaled => (AdqlType::Double, Scaling::None),
        'E' | 'D' => (AdqlType::Double, Scaling::Float { scale, zero }),
        _ => {
            // Whole numbers below 2^100 convert to i128 exactly; whether
            // every physical value then fits is checked, not assumed
            // (TSCAL 1E30 on a 32-bit column reaches 2^130): a scaling
            // beyond i128 makes a double column, as any other does.
            let double = (AdqlType::Double, Scaling::Float { scale, zero });
            let whole = |x: f64| x.fract() == 0.0 && x.abs() < 2f64.powi(100);
            if !(whole(scale) && whole(zero)) || scale == 0.0 {
                return double;
            }
            let (s, z) = (scale as i128, zero as i128);
            let (lo, hi) = stored_range(code);
            let physical = |stored: i128| stored.checked_mul(s)?.checked_add(z);
            let (Some(a), Some(b)) = (physical(lo), physical(hi)) else {
                return double;
            };
            let (min, max) = (a.min(b), a.max(b));
            let fits = |lo: i128, hi: i128| min >= lo && max <= hi;
            let ty = if fits(i16::MIN as i128, i16::MAX as i128) {
                AdqlType::SmallInt
            } else if fits(i32::MIN as i128, i32::MAX as i128) {
                AdqlType::Integer
            } else if fits(i64::MIN as i128, i64::MAX as i128) || s == 1 {
                // An offset only (unsigned 64-bit integers, TZERO 2^63):
                // values above 2^63 - 1 are refused one by one, the rest
                // kept exactly, as a double could not.
                AdqlType::BigInt
            } else {
                return double;
            };
            let scaling = if s == 1 && z == 0 {
                Scaling::None
            } else {
                Scaling::Integer { scale: s, zero: z }
            };
            (ty, scaling)
        }
    }
}

/// A FITS binary table to read in batches.
#[derive(Debug, Clone)]
pub struct FitsTable {
    /// The file.
    pub file: PathBuf,
    columns: Vec<FitsColumn>,
    row_bytes: usize,
    rows: u64,
    /// Bytes before the table's data.
    data_start: u64,
    /// Where the heap of variable-length arrays starts, from the file's start.
    heap_start: u64,
    /// The file's length: no descriptor may point beyond it.
    file_len: u64,
    /// Rows per batch.
    pub batch_rows: usize,
}

/// FITS 4.0 §4.4.1.1 and §7.3.1: at most 999 axes and 999 fields.
const MAX_KEYWORD_INDEX: i64 = 999;

impl FitsTable {
    /// Opens a file and finds its first BINTABLE.
    pub fn open(file: &Path) -> Result<FitsTable, DataFusionError> {
        let f = std::fs::File::open(file).map_err(|e| err(file, format!("cannot open: {e}")))?;
        let mut r = BufReader::new(f);
        loop {
            let Some(h) = read_header(&mut r, file)? else {
                return Err(err(file, "no BINTABLE extension in this FITS file"));
            };
            // The data of this HDU starts where its header ended.
            let pos = r.stream_position().map_err(|e| err(file, e))?;
            if h.get("XTENSION").map(String::as_str) == Some("BINTABLE") {
                return Self::from_header(file, &h, pos);
            }
            let bitpix = int(&h, "BITPIX").unwrap_or(8).unsigned_abs();
            let naxis = int(&h, "NAXIS").unwrap_or(0);
            if !(0..=MAX_KEYWORD_INDEX).contains(&naxis) {
                return Err(err(file, format!("NAXIS = {naxis}; FITS allows 0 to 999")));
            }
            // Saturating: a size beyond the file only makes the skip reach its end.
            let mut size: u64 = if naxis == 0 { 0 } else { 1 };
            for i in 1..=naxis {
                let n = int(&h, &format!("NAXIS{i}")).unwrap_or(0).max(0) as u64;
                size = size.saturating_mul(n);
            }
            let size = size
                .saturating_add(int(&h, "PCOUNT").unwrap_or(0).max(0) as u64)
                .saturating_mul(int(&h, "GCOUNT").unwrap_or(1).max(0) as u64)
                .saturating_mul(bitpix)
                / 8;
            let padded = size.div_ceil(BLOCK as u64).saturating_mul(BLOCK as u64);
            std::io::copy(&mut (&mut r).take(padded), &mut std::io::sink())
                .map_err(|e| err(file, e))?;
        }
    }

    fn from_header(file: &Path, h: &Header, data_start: u64) -> Result<FitsTable, DataFusionError> {
        let fields = int(h, "TFIELDS").ok_or_else(|| err(file, "BINTABLE without TFIELDS"))?;
        if !(0..=MAX_KEYWORD_INDEX).contains(&fields) {
            return Err(err(
                file,
                format!("TFIELDS = {fields}; FITS allows 0 to 999"),
            ));
        }
        let mut columns = Vec::new();
        let mut offset: usize = 0;
        for i in 1..=fields {
            let mut col = Self::column(file, h, i)?;
            col.offset = offset;
            offset = offset.checked_add(col.width).ok_or_else(|| {
                err(
                    file,
                    format!("TFORM{i}: the columns' widths add up beyond any row"),
                )
            })?;
            columns.push(col);
        }
        let row_bytes = int(h, "NAXIS1").unwrap_or(0);
        let rows = int(h, "NAXIS2").unwrap_or(0);
        if row_bytes < 0 || rows < 0 {
            return Err(err(
                file,
                format!("NAXIS1 = {row_bytes}, NAXIS2 = {rows}: sizes cannot be negative"),
            ));
        }
        let (row_bytes, rows) = (row_bytes as u64, rows as u64);
        if offset as u64 > row_bytes {
            return Err(err(
                file,
                format!("columns need {offset} bytes but NAXIS1 is {row_bytes}"),
            ));
        }
        // The rows must be in the file before a row's buffer is allocated
        // for them: NAXIS1 and NAXIS2 are claims, the file's length a fact.
        let file_len = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        let there = file_len.saturating_sub(data_start);
        if row_bytes.checked_mul(rows).is_none_or(|n| n > there) {
            return Err(err(
                file,
                format!(
                    "NAXIS2 announces {rows} rows of {row_bytes} bytes (NAXIS1), but the file holds {there} bytes after the header: it is truncated or its header is wrong"
                ),
            ));
        }
        // FITS 4.0 §7.3.5: THEAP, by default right after the rows.
        let heap_offset = match int(h, "THEAP") {
            Some(t) if t >= 0 => t as u64,
            Some(t) => return Err(err(file, format!("THEAP = {t} cannot be negative"))),
            None => row_bytes * rows,
        };
        Ok(FitsTable {
            file: file.to_path_buf(),
            columns,
            row_bytes: row_bytes as usize,
            rows,
            data_start,
            file_len,
            heap_start: data_start.saturating_add(heap_offset),
            batch_rows: 8192,
        })
    }

    /// Column `i` from its keywords; `offset` is set by the caller.
    fn column(file: &Path, h: &Header, i: i64) -> Result<FitsColumn, DataFusionError> {
        let tform = h
            .get(&format!("TFORM{i}"))
            .ok_or_else(|| err(file, format!("TFORM{i} missing")))?
            .trim();
        let digits: String = tform.chars().take_while(|c| c.is_ascii_digit()).collect();
        let repeat: usize = if digits.is_empty() {
            1
        } else {
            digits.parse().map_err(|_| {
                err(
                    file,
                    format!("TFORM{i} '{tform}': the repeat count is too large"),
                )
            })?
        };
        let mut letters = tform[digits.len()..].chars();
        let letter = letters.next().unwrap_or('?');
        // `1PD(12)`: a descriptor into the heap for arrays of doubles.
        let descriptor = matches!(letter, 'P' | 'Q').then_some(letter);
        let code = match descriptor {
            Some(_) => letters.next().unwrap_or('?'),
            None => letter,
        };
        let Some(size) = element_size(code) else {
            return Err(err(
                file,
                format!(
                    "TFORM{i} '{tform}': '{code}' is not a FITS binary table type (FITS 4.0 Table 18)"
                ),
            ));
        };
        // FITS 4.0 §7.3.5: a descriptor column is `rPt(emax)` with r 0 or
        // 1; 0 (legal, as a repeat of 0 is for every type, §7.3.1) is a
        // field of no bytes whose values are all NULL.
        if descriptor.is_some() && repeat > 1 {
            return Err(err(
                file,
                format!(
                    "TFORM{i} '{tform}': a variable-length array column has a repeat count of 0 or 1 (FITS 4.0 §7.3.5)"
                ),
            ));
        }
        let width = match descriptor {
            Some('P') => repeat.checked_mul(8),
            Some(_) => repeat.checked_mul(16),
            None if code == 'X' => Some(repeat.div_ceil(8)),
            None => repeat.checked_mul(size),
        }
        .ok_or_else(|| {
            err(
                file,
                format!("TFORM{i} '{tform}': the repeat count is too large"),
            )
        })?;
        let name = h
            .get(&format!("TTYPE{i}"))
            .cloned()
            .unwrap_or_else(|| format!("col{i}"));
        let keyword = |k: &str| h.get(&format!("{k}{i}")).filter(|s| !s.is_empty()).cloned();
        let scale = float(h, &format!("TSCAL{i}")).unwrap_or(1.0);
        let zero = float(h, &format!("TZERO{i}")).unwrap_or(0.0);
        let left_out = match (descriptor, code, repeat) {
            (_, 'C' | 'M', _) => Some(format!(
                "TFORM{i} '{tform}' holds complex numbers, which cannot be stored"
            )),
            (_, 'X', _) => Some(format!(
                "TFORM{i} '{tform}' holds bits, which cannot be stored"
            )),
            (Some(_), 'A' | 'L', _) => Some(format!(
                "TFORM{i} '{tform}' is a variable-length array of text or logicals, which cannot be stored"
            )),
            (None, 'L', n) if n != 1 => Some(format!(
                "TFORM{i} '{tform}' is an array of logicals, which cannot be stored"
            )),
            _ => None,
        };
        let (ty, scaling) = match (descriptor, code, repeat) {
            _ if left_out.is_some() => (AdqlType::Unknown, Scaling::None),
            (None, 'A', _) => (AdqlType::Varchar, Scaling::None),
            (None, 'L', _) => (AdqlType::Boolean, Scaling::None),
            (None, _, 1) => numeric_type(code, scale, zero),
            // Arrays hold doubles: scaled in them whatever the scaling.
            _ if scale == 1.0 && zero == 0.0 => (AdqlType::Array, Scaling::None),
            _ => (AdqlType::Array, Scaling::Float { scale, zero }),
        };
        let mut col = FitsColumn {
            info: ColumnInfo {
                name,
                ty,
                meta: ColumnMeta {
                    unit: keyword("TUNIT"),
                    ucd: keyword("TUCD"),
                    utype: keyword("TUTYP"),
                    description: keyword("TCOMM"),
                    principal: None,
                },
            },
            code,
            offset: 0,
            width,
            null: int(h, &format!("TNULL{i}")),
            scaling,
            timestamp: keyword("TXTYP").as_deref() == Some("timestamp"),
            descriptor,
            left_out,
        };
        // A DALI xtype (TXTYPn, as Corvus writes it) makes an array of
        // doubles a POINT, CIRCLE or POLYGON again.
        if col.info.ty == AdqlType::Array
            && let Some(x) = keyword("TXTYP")
        {
            col.info.ty = AdqlType::from_arrow(&col.info.ty.to_arrow(), Some(&x));
        }
        Ok(col)
    }

    fn stored(&self) -> impl Iterator<Item = &FitsColumn> {
        self.columns.iter().filter(|c| c.left_out.is_none())
    }

    /// Rows, as NAXIS2 announces them (and the file holds).
    pub fn row_count(&self) -> u64 {
        self.rows
    }

    /// The columns read, with their metadata.
    pub fn column_infos(&self) -> Vec<ColumnInfo> {
        self.stored().map(|c| c.info.clone()).collect()
    }

    /// The columns left out, and why.
    pub fn left_out(&self) -> Vec<LeftOut> {
        self.columns
            .iter()
            .filter_map(|c| {
                Some(LeftOut {
                    column: c.info.name.clone(),
                    reason: c.left_out.clone()?,
                })
            })
            .collect()
    }

    /// Text columns whose TXTYP says timestamp (ISO 8601 strings).
    pub fn timestamp_columns(&self) -> Vec<String> {
        self.stored()
            .filter(|c| c.info.ty == AdqlType::Varchar && c.timestamp)
            .map(|c| c.info.name.clone())
            .collect()
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        crate::columns::schema_of(self.stored().map(|c| (c.info.name.as_str(), c.info.ty)))
    }

    /// Reads every row, calling `sink` with each batch.
    pub fn read(
        &self,
        mut sink: impl FnMut(RecordBatch) -> Result<(), DataFusionError>,
    ) -> Result<(), DataFusionError> {
        let f = std::fs::File::open(&self.file).map_err(|e| err(&self.file, e))?;
        let mut r = BufReader::new(f);
        std::io::copy(&mut (&mut r).take(self.data_start), &mut std::io::sink())
            .map_err(|e| err(&self.file, e))?;
        let mut row = vec![0u8; self.row_bytes];
        // A second handle reads variable-length arrays from the heap.
        let mut heap = match self.stored().any(|c| c.descriptor.is_some()) {
            true => Some(BufReader::new(
                std::fs::File::open(&self.file).map_err(|e| err(&self.file, e))?,
            )),
            false => None,
        };
        let stored: Vec<&FitsColumn> = self.stored().collect();
        let mut done = 0u64;
        while done < self.rows {
            let n = (self.rows - done).min(self.batch_rows as u64) as usize;
            let mut builders: Vec<Box<dyn ArrayBuilder>> = stored
                .iter()
                .map(|c| crate::columns::builder_for(c.info.ty))
                .collect();
            for i in 0..n {
                let row_number = done + i as u64 + 1;
                r.read_exact(&mut row).map_err(|_| {
                    err(
                        &self.file,
                        format!(
                            "the table ends at row {row_number} of the {} NAXIS2 announces",
                            self.rows
                        ),
                    )
                })?;
                for (c, b) in stored.iter().zip(&mut builders) {
                    // `from_header` checked every field against NAXIS1; the
                    // slice is taken by `get` all the same.
                    let cell = c
                        .offset
                        .checked_add(c.width)
                        .and_then(|end| row.get(c.offset..end))
                        .ok_or_else(|| {
                            err(
                                &self.file,
                                format!(
                                    "column {}: its field ends beyond NAXIS1 = {}",
                                    c.info.name, self.row_bytes
                                ),
                            )
                        })?;
                    match (c.descriptor, heap.as_mut()) {
                        (Some(_), Some(heap)) => self.push_from_heap(c, cell, heap, b.as_mut())?,
                        _ => push(c, cell, b.as_mut()).map_err(|m| {
                            err(
                                &self.file,
                                format!("row {row_number}: column {}: {m}", c.info.name),
                            )
                        })?,
                    }
                }
            }
            let arrays: Vec<ArrayRef> = builders.iter_mut().map(|b| b.finish()).collect();
            sink(RecordBatch::try_new(self.schema(), arrays)?)?;
            done += n as u64;
        }
        Ok(())
    }

    /// Appends a variable-length array: the descriptor (count, offset) in
    /// the row points into the heap; a count of 0, or a column of repeat 0
    /// (no descriptor at all), is NULL.
    fn push_from_heap(
        &self,
        c: &FitsColumn,
        cell: &[u8],
        heap: &mut BufReader<std::fs::File>,
        b: &mut dyn ArrayBuilder,
    ) -> Result<(), DataFusionError> {
        let Some(list) = b.as_any_mut().downcast_mut::<ListBuilder<Float64Builder>>() else {
            return Ok(());
        };
        if cell.is_empty() {
            list.append(false);
            return Ok(());
        }
        let bad = |m: String| err(&self.file, format!("column {}: {m}", c.info.name));
        // Two 32-bit (P) or 64-bit (Q) integers; negative ones, read as
        // huge unsigned numbers, fail the bounds check below.
        let (count, offset) = if c.descriptor == Some('P') {
            let (n, at) = cell.split_at_checked(4).unwrap_or((cell, &[]));
            (
                raw_int('J', n).map_err(bad)?,
                raw_int('J', at).map_err(bad)?,
            )
        } else {
            let (n, at) = cell.split_at_checked(8).unwrap_or((cell, &[]));
            (
                raw_int('K', n).map_err(bad)?,
                raw_int('K', at).map_err(bad)?,
            )
        };
        let (count, offset) = (count as u64, offset as u64);
        if count == 0 {
            list.append(false);
            return Ok(());
        }
        let size = c.element_size();
        let end = count
            .checked_mul(size as u64)
            .and_then(|n| n.checked_add(offset))
            .and_then(|n| n.checked_add(self.heap_start));
        if end.is_none_or(|e| e > self.file_len) {
            return Err(err(
                &self.file,
                format!("column {}: an array lies outside the heap", c.info.name),
            ));
        }
        let mut bytes = vec![0u8; count as usize * size];
        heap.seek(std::io::SeekFrom::Start(self.heap_start + offset))
            .and_then(|_| heap.read_exact(&mut bytes))
            .map_err(|_| {
                err(
                    &self.file,
                    format!("column {}: an array lies outside the heap", c.info.name),
                )
            })?;
        for e in bytes.chunks(size) {
            let value = c.element(e).map_err(bad)?;
            list.values().append_value(value.unwrap_or(f64::NAN));
        }
        list.append(true);
        Ok(())
    }
}

/// The first `N` bytes of `b`; an error, never a panic, when it has fewer.
fn be<const N: usize>(b: &[u8]) -> Result<[u8; N], String> {
    b.get(..N)
        .and_then(|x| x.try_into().ok())
        .ok_or_else(|| format!("{} bytes where an element needs {N}", b.len()))
}

/// The raw integer of one element (before scaling).
fn raw_int(code: char, b: &[u8]) -> Result<i64, String> {
    Ok(match code {
        'B' => u8::from_be_bytes(be(b)?) as i64,
        'I' => i16::from_be_bytes(be(b)?) as i64,
        'J' => i32::from_be_bytes(be(b)?) as i64,
        _ => i64::from_be_bytes(be(b)?),
    })
}

/// Appends one cell; an error says what is wrong with its value.
/// Dispatches on the column's type: one downcast per cell, no more.
fn push(c: &FitsColumn, cell: &[u8], b: &mut dyn ArrayBuilder) -> Result<(), String> {
    let any = b.as_any_mut();
    let wrong = || format!("column {}: builder of another type", c.info.name);
    macro_rules! int {
        ($t:ty, $conv:ty) => {{
            let bb = any.downcast_mut::<$t>().ok_or_else(wrong)?;
            let stored = raw_int(c.code, cell)?;
            // TNULL is a stored value: compared before scaling.
            if c.null == Some(stored) {
                bb.append_null();
                return Ok(());
            }
            let v = match c.scaling {
                Scaling::Integer { scale, zero } => {
                    // `numeric_type` checked the extremes; checked again
                    // rather than trusted.
                    let physical = (stored as i128)
                        .checked_mul(scale)
                        .and_then(|v| v.checked_add(zero))
                        .ok_or_else(|| format!("the stored value {stored} scaled overflows"))?;
                    <$conv>::try_from(physical).map_err(|_| {
                        format!("the value {physical} does not fit a signed 64-bit integer column")
                    })?
                }
                // Unscaled: the type holds every stored value.
                _ => <$conv>::try_from(stored).map_err(|_| wrong())?,
            };
            bb.append_value(v);
        }};
    }
    match c.info.ty {
        AdqlType::SmallInt => int!(Int16Builder, i16),
        AdqlType::Integer => int!(Int32Builder, i32),
        AdqlType::BigInt => int!(Int64Builder, i64),
        AdqlType::Double => any
            .downcast_mut::<Float64Builder>()
            .ok_or_else(wrong)?
            .append_option(c.element(cell)?),
        AdqlType::Real => any
            .downcast_mut::<Float32Builder>()
            .ok_or_else(wrong)?
            .append_option(c.element(cell)?.map(|x| x as f32)),
        AdqlType::Boolean => {
            let bb = any.downcast_mut::<BooleanBuilder>().ok_or_else(wrong)?;
            match cell.first() {
                Some(b'T') => bb.append_value(true),
                Some(b'F') => bb.append_value(false),
                _ => bb.append_null(),
            }
        }
        AdqlType::Varchar => {
            let s = String::from_utf8_lossy(cell);
            any.downcast_mut::<StringBuilder>()
                .ok_or_else(wrong)?
                .append_value(s.trim_end_matches(['\0', ' ']));
        }
        _ => {
            let bb = any
                .downcast_mut::<ListBuilder<Float64Builder>>()
                .ok_or_else(wrong)?;
            let size = c.element_size().max(1);
            let values = cell
                .chunks(size)
                .map(|e| c.element(e))
                .collect::<Result<Vec<Option<f64>>, String>>()?;
            if values.iter().all(Option::is_none) {
                bb.append(false);
            } else {
                for v in values {
                    bb.values().append_value(v.unwrap_or(f64::NAN));
                }
                bb.append(true);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_floats_are_doubles_and_whole_number_scaling_keeps_integers() {
        assert_eq!(numeric_type('E', 1.0, 0.0), (AdqlType::Real, Scaling::None));
        assert_eq!(
            numeric_type('E', 3.0, 0.4),
            (
                AdqlType::Double,
                Scaling::Float {
                    scale: 3.0,
                    zero: 0.4
                }
            )
        );
        assert_eq!(numeric_type('D', 1.0, 5.0).0, AdqlType::Double);
        assert_eq!(numeric_type('J', 0.01, 0.0).0, AdqlType::Double);
        assert_eq!(numeric_type('I', 1.0, 0.5).0, AdqlType::Double);
        // FITS 4.0 Table 19: unsigned and signed-byte conventions.
        assert_eq!(numeric_type('B', 1.0, -128.0).0, AdqlType::SmallInt);
        assert_eq!(numeric_type('I', 1.0, 32768.0).0, AdqlType::Integer);
        assert_eq!(numeric_type('J', 1.0, 2147483648.0).0, AdqlType::BigInt);
        assert_eq!(
            numeric_type('K', 1.0, 9223372036854775808.0).0,
            AdqlType::BigInt
        );
        // Whole numbers: the narrowest type that holds every value.
        assert_eq!(numeric_type('I', 2.0, 100.0).0, AdqlType::Integer);
        assert_eq!(numeric_type('B', -1.0, 0.0).0, AdqlType::SmallInt);
        assert_eq!(numeric_type('K', 2.0, 0.0).0, AdqlType::Double);
    }

    #[test]
    fn a_scaling_beyond_128_bit_integers_makes_a_double_column() {
        // 1E30 is a whole number below 2^100, but 2^31 × 1E30 is beyond i128.
        for code in ['J', 'K'] {
            assert_eq!(
                numeric_type(code, 1e30, 0.0),
                (
                    AdqlType::Double,
                    Scaling::Float {
                        scale: 1e30,
                        zero: 0.0
                    }
                ),
                "{code}"
            );
            assert_eq!(numeric_type(code, -1e30, 1e29).0, AdqlType::Double);
        }
        // A large offset alone still fits: unsigned conventions stay exact.
        assert_eq!(numeric_type('K', 1.0, 2f64.powi(99)).0, AdqlType::BigInt);
    }

    /// A FITS file: an empty primary HDU, then a BINTABLE with `cards`
    /// (values as FITS writes them, strings quoted) and `data`.
    fn fits_file(cards: &[(&str, &str)], data: &[u8]) -> tempfile::NamedTempFile {
        fn header(cards: &[(&str, &str)]) -> Vec<u8> {
            let mut out: Vec<u8> = cards
                .iter()
                .flat_map(|(k, v)| format!("{k:<8}= {v:<70}").into_bytes())
                .collect();
            out.extend(format!("{:<80}", "END").bytes());
            out.resize(out.len().div_ceil(BLOCK) * BLOCK, b' ');
            out
        }
        let mut bytes = header(&[("SIMPLE", "T"), ("BITPIX", "8"), ("NAXIS", "0")]);
        let mut table = vec![("XTENSION", "'BINTABLE'"), ("BITPIX", "8"), ("NAXIS", "2")];
        table.extend_from_slice(cards);
        bytes.extend(header(&table));
        let start = bytes.len();
        bytes.extend(data);
        bytes.resize(start + data.len().div_ceil(BLOCK) * BLOCK, 0);
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), bytes).unwrap();
        file
    }

    fn read_all(table: &FitsTable) -> Result<Vec<RecordBatch>, DataFusionError> {
        let mut batches = Vec::new();
        table.read(|b| {
            batches.push(b);
            Ok(())
        })?;
        Ok(batches)
    }

    #[test]
    fn a_variable_length_column_of_repeat_0_has_no_bytes_and_only_nulls() {
        // FITS 4.0 §7.3.5: `0PD(0)` is legal, a field of no bytes.
        let f = fits_file(
            &[
                ("NAXIS1", "4"),
                ("NAXIS2", "2"),
                ("PCOUNT", "0"),
                ("GCOUNT", "1"),
                ("TFIELDS", "2"),
                ("TTYPE1", "'x'"),
                ("TFORM1", "'1J'"),
                ("TTYPE2", "'v'"),
                ("TFORM2", "'0PD(0)'"),
            ],
            &[0, 0, 0, 7, 0, 0, 0, 8],
        );
        let table = FitsTable::open(f.path()).unwrap();
        let batches = read_all(&table).unwrap();
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        use datafusion::arrow::array::AsArray;
        use datafusion::arrow::datatypes::Int32Type;
        assert_eq!(b.column(0).as_primitive::<Int32Type>().values(), &[7, 8]);
        assert_eq!(b.column(1).null_count(), 2);
    }

    #[test]
    fn a_variable_length_column_of_repeat_2_is_refused() {
        let f = fits_file(
            &[
                ("NAXIS1", "16"),
                ("NAXIS2", "0"),
                ("TFIELDS", "1"),
                ("TFORM1", "'2PD(1)'"),
            ],
            &[],
        );
        let e = FitsTable::open(f.path()).unwrap_err().to_string();
        assert!(
            e.contains(
                "TFORM1 '2PD(1)': a variable-length array column has a repeat count of 0 or 1"
            ),
            "{e}"
        );
    }

    fn column(code: char, scaling: Scaling, null: Option<i64>) -> FitsColumn {
        FitsColumn {
            info: ColumnInfo {
                name: "c".into(),
                ty: AdqlType::Double,
                meta: ColumnMeta::default(),
            },
            code,
            offset: 0,
            width: element_size(code).unwrap_or(0),
            null,
            scaling,
            timestamp: false,
            descriptor: None,
            left_out: None,
        }
    }

    #[test]
    fn physical_values_are_zero_plus_scale_times_stored_and_tnull_is_a_stored_value() {
        let float = Scaling::Float {
            scale: 3.0,
            zero: 0.4,
        };
        let v = column('E', float, None)
            .element(&1.1f32.to_be_bytes())
            .unwrap()
            .unwrap();
        assert!((v - 3.7).abs() < 1e-6, "{v}");
        let d = column('D', float, None)
            .element(&1.1f64.to_be_bytes())
            .unwrap()
            .unwrap();
        assert!((d - 3.7).abs() < 1e-12, "{d}");
        assert_eq!(
            column('E', float, None).element(&f32::NAN.to_be_bytes()),
            Ok(None)
        );
        let half = Scaling::Float {
            scale: 0.5,
            zero: 10.0,
        };
        let j = column('J', half, Some(-999));
        assert_eq!(j.element(&(-999i32).to_be_bytes()), Ok(None));
        assert_eq!(j.element(&(-998i32).to_be_bytes()), Ok(Some(-489.0)));
        // Fewer bytes than an element: an error, not a panic.
        assert_eq!(
            j.element(&[1, 2]),
            Err("2 bytes where an element needs 4".to_string())
        );
    }

    #[test]
    fn unsigned_64_bit_values_beyond_a_signed_column_are_refused_by_value() {
        let mut c = column(
            'K',
            Scaling::Integer {
                scale: 1,
                zero: 1 << 63,
            },
            None,
        );
        c.info.ty = AdqlType::BigInt;
        let mut b = crate::columns::builder_for(AdqlType::BigInt);
        push(&c, &(i64::MIN).to_be_bytes(), b.as_mut()).unwrap(); // 0
        push(&c, &(-1i64).to_be_bytes(), b.as_mut()).unwrap(); // 2^63 - 1
        let e = push(&c, &0i64.to_be_bytes(), b.as_mut()).unwrap_err(); // 2^63
        assert!(e.contains("9223372036854775808 does not fit"), "{e}");
        use datafusion::arrow::array::AsArray;
        use datafusion::arrow::datatypes::Int64Type;
        let a = b.finish();
        assert_eq!(a.as_primitive::<Int64Type>().values(), &[0, i64::MAX]);
    }
}
