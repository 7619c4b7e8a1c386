//! FITS binary tables (FITS 4.0 §7.3): the first BINTABLE extension of a
//! file, with TTYPE/TFORM/TUNIT/TNULL/TSCAL/TZERO and the column metadata
//! keywords TUCD and TCOMM (as STILTS and TOPCAT write them), read in batches.
//!
//! Written here rather than taken from a crate: the pure-Rust FITS crates
//! (CDS fitsrs among them) read images, not binary tables, and cfitsio would
//! add a C library to every build; a BINTABLE is a fixed-width big-endian row
//! format that takes a page to read correctly.

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

fn err(file: &Path, msg: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("{}: {msg}", file.display()))
}

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
            let value = card[10..].trim();
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

/// A column's binary layout.
#[derive(Debug, Clone)]
struct FitsColumn {
    info: ColumnInfo,
    code: char,
    repeat: usize,
    offset: usize,
    null: Option<i64>,
    scale: f64,
    zero: f64,
    /// TXTYP says timestamp.
    timestamp: bool,
    /// For a variable-length array (`PD(n)`, `QE(n)`, FITS 4.0 §7.3.5):
    /// the descriptor kind, `P` (two 32-bit integers) or `Q` (two 64-bit).
    /// `code` is then the element type, read from the heap.
    descriptor: Option<char>,
}

impl FitsColumn {
    fn width(&self) -> usize {
        match self.descriptor {
            Some('P') => return 8 * self.repeat,
            Some(_) => return 16 * self.repeat,
            None => {}
        }
        self.element_size() * self.repeat
    }

    fn element_size(&self) -> usize {
        match self.code {
            'L' | 'B' | 'A' => 1,
            'I' => 2,
            'J' | 'E' => 4,
            'K' | 'D' => 8,
            _ => 0,
        }
    }

    fn unsigned_offset(&self) -> bool {
        matches!(
            (self.code, self.zero),
            ('I', 32768.0) | ('J', 2147483648.0) | ('K', 9.223372036854776e18)
        ) && self.scale == 1.0
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
            let bitpix = int(&h, "BITPIX").unwrap_or(8).unsigned_abs();
            let naxis = int(&h, "NAXIS").unwrap_or(0);
            let mut size: u64 = if naxis == 0 { 0 } else { 1 };
            for i in 1..=naxis {
                size *= int(&h, &format!("NAXIS{i}")).unwrap_or(0) as u64;
            }
            let size = (size + int(&h, "PCOUNT").unwrap_or(0) as u64)
                * int(&h, "GCOUNT").unwrap_or(1) as u64
                * bitpix
                / 8;
            if h.get("XTENSION").map(String::as_str) == Some("BINTABLE") {
                return Self::from_header(file, &h, pos);
            }
            let padded = size.div_ceil(BLOCK as u64) * BLOCK as u64;
            std::io::copy(&mut (&mut r).take(padded), &mut std::io::sink())
                .map_err(|e| err(file, e))?;
        }
    }

    fn from_header(file: &Path, h: &Header, data_start: u64) -> Result<FitsTable, DataFusionError> {
        let fields =
            int(h, "TFIELDS").ok_or_else(|| err(file, "BINTABLE without TFIELDS"))? as usize;
        let mut columns = Vec::new();
        let mut offset = 0;
        for i in 1..=fields {
            let tform = h
                .get(&format!("TFORM{i}"))
                .ok_or_else(|| err(file, format!("TFORM{i} missing")))?;
            let digits: String = tform.chars().take_while(|c| c.is_ascii_digit()).collect();
            let repeat = if digits.is_empty() {
                1
            } else {
                digits.parse().unwrap_or(1)
            };
            let mut letters = tform[digits.len()..].chars();
            let mut code = letters.next().unwrap_or('?');
            // `1PD(12)`: a descriptor into the heap for arrays of doubles.
            let descriptor = matches!(code, 'P' | 'Q').then_some(code);
            if descriptor.is_some() {
                code = letters.next().unwrap_or('?');
                if !matches!(code, 'B' | 'I' | 'J' | 'K' | 'E' | 'D') {
                    return Err(err(
                        file,
                        format!(
                            "TFORM{i} '{tform}': only numeric variable-length arrays are supported"
                        ),
                    ));
                }
            }
            let name = h
                .get(&format!("TTYPE{i}"))
                .cloned()
                .unwrap_or_else(|| format!("col{i}"));
            let keyword = |k: &str| h.get(&format!("{k}{i}")).filter(|s| !s.is_empty()).cloned();
            let scale = float(h, &format!("TSCAL{i}")).unwrap_or(1.0);
            let zero = float(h, &format!("TZERO{i}")).unwrap_or(0.0);
            let mut col = FitsColumn {
                info: ColumnInfo {
                    name: name.clone(),
                    ty: AdqlType::Unknown,
                    meta: ColumnMeta {
                        unit: keyword("TUNIT"),
                        ucd: keyword("TUCD"),
                        utype: keyword("TUTYP"),
                        description: keyword("TCOMM"),
                        principal: None,
                    },
                },
                code,
                repeat,
                offset,
                null: int(h, &format!("TNULL{i}")),
                scale,
                zero,
                timestamp: keyword("TXTYP").as_deref() == Some("timestamp"),
                descriptor,
            };
            let scaled = scale != 1.0 || (zero != 0.0 && !col.unsigned_offset());
            col.info.ty = match (code, repeat) {
                _ if descriptor.is_some() => AdqlType::Array,
                ('A', _) => AdqlType::Varchar,
                ('L', 1) => AdqlType::Boolean,
                (_, n) if n != 1 => AdqlType::Array,
                ('B' | 'I' | 'J' | 'K', _) if scaled => AdqlType::Double,
                ('B', _) => AdqlType::SmallInt,
                ('I', _) if col.unsigned_offset() => AdqlType::Integer,
                ('I', _) => AdqlType::SmallInt,
                ('J', _) if col.unsigned_offset() => AdqlType::BigInt,
                ('J', _) => AdqlType::Integer,
                ('K', _) if col.unsigned_offset() => {
                    return Err(err(
                        file,
                        format!(
                            "column {name}: unsigned 64-bit integers do not fit a signed column"
                        ),
                    ));
                }
                ('K', _) => AdqlType::BigInt,
                ('E', _) => AdqlType::Real,
                ('D', _) => AdqlType::Double,
                (c, _) => {
                    return Err(err(
                        file,
                        format!("column {name}: TFORM '{tform}' ({c}) is not supported"),
                    ));
                }
            };
            // A DALI xtype (TXTYPn, as Corvus writes it) makes an array of
            // doubles a POINT, CIRCLE or POLYGON again.
            if col.info.ty == AdqlType::Array
                && let Some(x) = keyword("TXTYP")
            {
                col.info.ty = AdqlType::from_arrow(&col.info.ty.to_arrow(), Some(&x));
            }
            offset += col.width();
            columns.push(col);
        }
        let row_bytes = int(h, "NAXIS1").unwrap_or(0) as usize;
        if offset > row_bytes {
            return Err(err(
                file,
                format!("columns need {offset} bytes but NAXIS1 is {row_bytes}"),
            ));
        }
        Ok(FitsTable {
            file: file.to_path_buf(),
            columns,
            row_bytes,
            rows: int(h, "NAXIS2").unwrap_or(0) as u64,
            data_start,
            file_len: std::fs::metadata(file).map(|m| m.len()).unwrap_or(0),
            // FITS 4.0 §7.3.5: THEAP, by default right after the rows.
            heap_start: data_start
                + int(h, "THEAP").map_or(
                    row_bytes as u64 * int(h, "NAXIS2").unwrap_or(0) as u64,
                    |t| t as u64,
                ),
            batch_rows: 8192,
        })
    }

    /// Rows, as NAXIS2 announces them.
    pub fn row_count(&self) -> u64 {
        self.rows
    }

    /// The columns with their metadata.
    pub fn column_infos(&self) -> Vec<ColumnInfo> {
        self.columns.iter().map(|c| c.info.clone()).collect()
    }

    /// Text columns whose TXTYP says timestamp (ISO 8601 strings).
    pub fn timestamp_columns(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| c.info.ty == AdqlType::Varchar && c.timestamp)
            .map(|c| c.info.name.clone())
            .collect()
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        crate::source::schema_of(
            self.columns
                .iter()
                .map(|c| (c.info.name.as_str(), c.info.ty)),
        )
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
        let mut heap = match self.columns.iter().any(|c| c.descriptor.is_some()) {
            true => Some(BufReader::new(
                std::fs::File::open(&self.file).map_err(|e| err(&self.file, e))?,
            )),
            false => None,
        };
        let mut done = 0u64;
        while done < self.rows {
            let n = (self.rows - done).min(self.batch_rows as u64) as usize;
            let mut builders: Vec<Box<dyn ArrayBuilder>> = self
                .columns
                .iter()
                .map(|c| crate::source::builder_for(c.info.ty))
                .collect();
            for i in 0..n {
                r.read_exact(&mut row).map_err(|_| {
                    err(
                        &self.file,
                        format!(
                            "the table ends at row {} of the {} NAXIS2 announces",
                            done + i as u64 + 1,
                            self.rows
                        ),
                    )
                })?;
                for (c, b) in self.columns.iter().zip(&mut builders) {
                    let cell = &row[c.offset..c.offset + c.width()];
                    match (c.descriptor, heap.as_mut()) {
                        (Some(_), Some(heap)) => self.push_from_heap(c, cell, heap, b.as_mut())?,
                        _ => push(c, cell, b.as_mut()),
                    }
                }
            }
            let arrays: Vec<ArrayRef> = builders.iter_mut().map(|b| b.finish()).collect();
            sink(RecordBatch::try_new(self.schema(), arrays)?)?;
            done += n as u64;
        }
        Ok(())
    }
}

impl FitsTable {
    /// Appends a variable-length array: the descriptor (count, offset) in
    /// the row points into the heap; a count of 0 is NULL.
    fn push_from_heap(
        &self,
        c: &FitsColumn,
        cell: &[u8],
        heap: &mut BufReader<std::fs::File>,
        b: &mut dyn ArrayBuilder,
    ) -> Result<(), DataFusionError> {
        let (count, offset) = if c.descriptor == Some('P') {
            (
                raw_int('J', &cell[..4]) as u64,
                raw_int('J', &cell[4..8]) as u64,
            )
        } else {
            (
                raw_int('K', &cell[..8]) as u64,
                raw_int('K', &cell[8..16]) as u64,
            )
        };
        let Some(list) = b.as_any_mut().downcast_mut::<ListBuilder<Float64Builder>>() else {
            return Ok(());
        };
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
            list.values()
                .append_value(element(c, e).unwrap_or(f64::NAN));
        }
        list.append(true);
        Ok(())
    }
}

/// The raw integer of one element (before scaling).
fn raw_int(code: char, b: &[u8]) -> i64 {
    match code {
        'B' => b[0] as i64,
        'I' => i16::from_be_bytes([b[0], b[1]]) as i64,
        'J' => i32::from_be_bytes([b[0], b[1], b[2], b[3]]) as i64,
        _ => i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
    }
}

fn element(c: &FitsColumn, b: &[u8]) -> Option<f64> {
    match c.code {
        'E' => Some(f32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64).filter(|x| !x.is_nan()),
        'D' => Some(f64::from_be_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
        .filter(|x| !x.is_nan()),
        code => {
            let v = raw_int(code, b);
            (c.null != Some(v)).then_some(v as f64 * c.scale + c.zero)
        }
    }
}

fn push(c: &FitsColumn, cell: &[u8], b: &mut dyn ArrayBuilder) {
    let any = b.as_any_mut();
    macro_rules! ints {
        ($t:ty, $conv:ty) => {
            if let Some(bb) = any.downcast_mut::<$t>() {
                let v = raw_int(c.code, cell);
                if c.null == Some(v) {
                    bb.append_null();
                } else {
                    let v = v + if c.unsigned_offset() {
                        c.zero as i64
                    } else {
                        0
                    };
                    bb.append_option(<$conv>::try_from(v).ok());
                }
                return;
            }
        };
    }
    if c.info.ty == AdqlType::Double || c.info.ty == AdqlType::Real {
        let v = element(c, cell);
        if let Some(bb) = any.downcast_mut::<Float64Builder>() {
            bb.append_option(v);
        } else if let Some(bb) = any.downcast_mut::<Float32Builder>() {
            bb.append_option(v.map(|x| x as f32));
        }
        return;
    }
    ints!(Int16Builder, i16);
    ints!(Int32Builder, i32);
    ints!(Int64Builder, i64);
    if let Some(bb) = any.downcast_mut::<BooleanBuilder>() {
        match cell[0] {
            b'T' => bb.append_value(true),
            b'F' => bb.append_value(false),
            _ => bb.append_null(),
        }
    } else if let Some(bb) = any.downcast_mut::<StringBuilder>() {
        let s = String::from_utf8_lossy(cell);
        bb.append_value(s.trim_end_matches(['\0', ' ']));
    } else if let Some(bb) = any.downcast_mut::<ListBuilder<Float64Builder>>() {
        let size = cell.len() / c.repeat.max(1);
        let values: Vec<Option<f64>> = cell.chunks(size.max(1)).map(|e| element(c, e)).collect();
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
