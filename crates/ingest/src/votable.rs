//! VOTable input (VOTable 1.5): the first TABLE of a document, with its FIELD
//! metadata (name, datatype, arraysize, unit, ucd, utype, xtype,
//! DESCRIPTION) and its data in TABLEDATA, BINARY or BINARY2 (§5), read as a
//! stream of batches.
//!
//! Read as archives write it: numeric TABLEDATA cells `null`, `NULL`, `NaN`,
//! `nan` and empty are NULL (IRSA writes `null`). FIELDs of types with no
//! column type here (complex numbers, arrays of booleans or bits, unknown
//! datatypes) are left out and listed by [`VoTable::left_out`]. An
//! arraysize is a claim checked against each cell: a TABLEDATA cell must
//! hold the elements it declares, and a BINARY/BINARY2 cell is read only
//! when the stream holds its bytes.
//!
//! Must never know the other readers or the ingest pipeline.

use crate::columns::LeftOut;
use crate::error::read_error as err;
use base64::Engine as _;
use catalog_model::{AdqlType, ColumnInfo, ColumnMeta};
use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Float32Builder, Float64Builder, Int16Builder,
    Int32Builder, Int64Builder, ListBuilder, StringBuilder,
};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use quick_xml::events::{BytesStart, Event};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How many elements a FIELD's values have (its arraysize, VOTable 1.5 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Exactly this many (no arraysize: one).
    Fixed(usize),
    /// Up to this many (`10*`).
    AtMost(usize),
    /// Any number (`*`).
    Any,
}

/// A FIELD.
#[derive(Debug, Clone)]
pub struct VoField {
    /// Column metadata for the catalog.
    pub column: ColumnInfo,
    datatype: String,
    /// Elements per value.
    count: Count,
    /// The VALUES null sentinel.
    null: Option<String>,
    /// A text field with the DALI xtype timestamp: read as text, then cast
    /// to a timestamp column (see `open_input`).
    pub timestamp: bool,
    /// Why the field is left out, when it is.
    left_out: Option<String>,
}

impl VoField {
    /// Whether the field is read into a column.
    pub fn is_stored(&self) -> bool {
        self.left_out.is_none()
    }

    /// The arraysize as written, for messages.
    fn arraysize(&self) -> String {
        match self.count {
            Count::Fixed(n) => n.to_string(),
            Count::AtMost(n) => format!("{n}*"),
            Count::Any => "*".into(),
        }
    }
}

fn open(file: &Path) -> Result<Box<dyn BufRead>, DataFusionError> {
    let f = std::fs::File::open(file).map_err(|e| err(file, format!("cannot open: {e}")))?;
    let r: Box<dyn Read> = if file.extension().is_some_and(|x| x == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(f))
    } else {
        Box::new(f)
    };
    Ok(Box::new(BufReader::new(r)))
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name.as_bytes())
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// An arraysize (`3`, `10*`, `*`, `2x3`, `64x64x10*`, VOTable 1.5 §2.2): the
/// product of its dimensions; the last may end in `*`.
fn parse_arraysize(a: &str) -> Option<Count> {
    let a = a.trim();
    if a == "*" {
        return Some(Count::Any);
    }
    let (dims, variable) = match a.strip_suffix('*') {
        Some(d) => (d, true),
        None => (a, false),
    };
    let mut n: usize = 1;
    for d in dims.split('x') {
        if d.is_empty() && variable {
            // `2x*`: any number of rows of two.
            return Some(Count::Any);
        }
        n = n.checked_mul(d.trim().parse::<usize>().ok()?)?;
    }
    Some(if variable {
        Count::AtMost(n)
    } else {
        Count::Fixed(n)
    })
}

fn field_of(e: &BytesStart<'_>, file: &Path) -> Result<VoField, DataFusionError> {
    let name = attr(e, "name").ok_or_else(|| err(file, "a FIELD has no name"))?;
    let datatype =
        attr(e, "datatype").ok_or_else(|| err(file, format!("FIELD {name} has no datatype")))?;
    let xtype = attr(e, "xtype");
    let is_text = datatype == "char" || datatype == "unicodeChar";
    let count = match attr(e, "arraysize") {
        None => Count::Fixed(1),
        Some(a) => parse_arraysize(&a).ok_or_else(|| {
            err(
                file,
                format!(
                    "FIELD {name}: arraysize '{a}' is not a size (3, 10*, *, 2x3, 64x64x10*) a number can hold"
                ),
            )
        })?,
    };
    let mut left_out = None;
    let ty = if is_text {
        AdqlType::Varchar
    } else if count != Count::Fixed(1) {
        match datatype.as_str() {
            "boolean" | "bit" => {
                left_out = Some(format!(
                    "datatype {datatype} with arraysize {}: arrays of {datatype}s cannot be stored",
                    attr(e, "arraysize").unwrap_or_default()
                ));
                AdqlType::Unknown
            }
            "floatComplex" | "doubleComplex" => {
                left_out = Some(format!(
                    "datatype {datatype}: complex numbers cannot be stored"
                ));
                AdqlType::Unknown
            }
            "unsignedByte" | "short" | "int" | "long" | "float" | "double" => {
                match xtype.as_deref() {
                    Some("point") => AdqlType::Point,
                    Some("circle") => AdqlType::Circle,
                    Some("polygon") => AdqlType::Polygon,
                    _ => AdqlType::Array,
                }
            }
            other => {
                left_out = Some(format!("datatype '{other}' is not a VOTable datatype"));
                AdqlType::Unknown
            }
        }
    } else {
        match datatype.as_str() {
            "boolean" | "bit" => AdqlType::Boolean,
            "unsignedByte" | "short" => AdqlType::SmallInt,
            "int" => AdqlType::Integer,
            "long" => AdqlType::BigInt,
            "float" => AdqlType::Real,
            "double" => AdqlType::Double,
            "floatComplex" | "doubleComplex" => {
                left_out = Some(format!(
                    "datatype {datatype}: complex numbers cannot be stored"
                ));
                AdqlType::Unknown
            }
            other => {
                left_out = Some(format!("datatype '{other}' is not a VOTable datatype"));
                AdqlType::Unknown
            }
        }
    };
    let timestamp = is_text && xtype.as_deref() == Some("timestamp");
    Ok(VoField {
        column: ColumnInfo {
            name,
            ty,
            meta: ColumnMeta {
                unit: attr(e, "unit"),
                ucd: attr(e, "ucd"),
                utype: attr(e, "utype"),
                description: None,
                principal: None,
            },
        },
        datatype,
        count,
        null: None,
        timestamp,
        left_out,
    })
}

/// Reads the FIELDs of the first TABLE.
pub fn read_fields(file: &Path) -> Result<Vec<VoField>, DataFusionError> {
    let mut reader = quick_xml::Reader::from_reader(open(file)?);
    let mut buf = Vec::new();
    let mut fields: Vec<VoField> = Vec::new();
    let mut in_description = false;
    loop {
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| err(file, format!("not well-formed XML: {e}")))?
        {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"FIELD" => {
                fields.push(field_of(&e, file)?);
            }
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"VALUES" => {
                if let Some(f) = fields.last_mut() {
                    f.null = attr(&e, "null");
                }
            }
            Event::Start(e) if e.local_name().as_ref() == b"DESCRIPTION" => in_description = true,
            Event::End(e) if e.local_name().as_ref() == b"DESCRIPTION" => in_description = false,
            Event::Text(t) if in_description => {
                if let Some(f) = fields.last_mut() {
                    let text = t.decode().map(|s| s.trim().to_string()).unwrap_or_default();
                    if !text.is_empty() {
                        f.column.meta.description = Some(text);
                    }
                }
            }
            Event::Start(e)
                if matches!(
                    e.local_name().as_ref(),
                    b"DATA" | b"TABLEDATA" | b"BINARY" | b"BINARY2"
                ) =>
            {
                break;
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if fields.is_empty() {
        return Err(err(file, "no TABLE with FIELDs in this VOTable"));
    }
    Ok(fields)
}

/// Builds Arrow columns for VOTable fields.
struct Columns {
    builders: Vec<Box<dyn ArrayBuilder>>,
    /// For each field, its builder; `None` for a field left out.
    index: Vec<Option<usize>>,
    schema: SchemaRef,
    rows: usize,
}

impl Columns {
    fn new(schema: SchemaRef, fields: &[VoField], index: Vec<Option<usize>>) -> Self {
        let builders = fields
            .iter()
            .filter(|f| f.is_stored())
            .map(|f| crate::columns::builder_for(f.column.ty))
            .collect();
        Columns {
            builders,
            index,
            schema,
            rows: 0,
        }
    }

    fn finish(&mut self) -> Result<RecordBatch, DataFusionError> {
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(|b| b.finish()).collect();
        self.rows = 0;
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), arrays)?)
    }
}

/// One value, decoded from either serialisation.
enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Numbers(Vec<f64>),
}

fn append(b: &mut dyn ArrayBuilder, v: Value) -> Result<(), String> {
    macro_rules! put {
        ($t:ty, $v:expr) => {
            b.as_any_mut()
                .downcast_mut::<$t>()
                .ok_or("a value of another type")?
                .append_option($v)
        };
    }
    let any = b.as_any_mut();
    if any.is::<BooleanBuilder>() {
        match v {
            Value::Null => put!(BooleanBuilder, None::<bool>),
            Value::Bool(x) => put!(BooleanBuilder, Some(x)),
            _ => return Err("a boolean".into()),
        }
    } else if any.is::<Int16Builder>() {
        match v {
            Value::Null => put!(Int16Builder, None::<i16>),
            Value::Int(x) => put!(
                Int16Builder,
                Some(i16::try_from(x).map_err(|_| "a 16-bit integer")?)
            ),
            _ => return Err("an integer".into()),
        }
    } else if any.is::<Int32Builder>() {
        match v {
            Value::Null => put!(Int32Builder, None::<i32>),
            Value::Int(x) => put!(
                Int32Builder,
                Some(i32::try_from(x).map_err(|_| "a 32-bit integer")?)
            ),
            _ => return Err("an integer".into()),
        }
    } else if any.is::<Int64Builder>() {
        match v {
            Value::Null => put!(Int64Builder, None::<i64>),
            Value::Int(x) => put!(Int64Builder, Some(x)),
            _ => return Err("an integer".into()),
        }
    } else if any.is::<Float32Builder>() {
        match v {
            Value::Null => put!(Float32Builder, None::<f32>),
            Value::Float(x) => put!(Float32Builder, (!x.is_nan()).then_some(x as f32)),
            _ => return Err("a number".into()),
        }
    } else if any.is::<Float64Builder>() {
        match v {
            Value::Null => put!(Float64Builder, None::<f64>),
            Value::Float(x) => put!(Float64Builder, (!x.is_nan()).then_some(x)),
            _ => return Err("a number".into()),
        }
    } else if any.is::<StringBuilder>() {
        match v {
            Value::Null => put!(StringBuilder, None::<String>),
            Value::Text(s) => put!(StringBuilder, Some(s)),
            _ => return Err("text".into()),
        }
    } else {
        let l = any
            .downcast_mut::<ListBuilder<Float64Builder>>()
            .ok_or("an array")?;
        match v {
            Value::Numbers(xs) if !xs.is_empty() && !xs.iter().all(|x| x.is_nan()) => {
                l.values().append_slice(&xs);
                l.append(true);
            }
            Value::Null | Value::Numbers(_) => l.append(false),
            _ => return Err("an array of numbers".into()),
        }
    }
    Ok(())
}

/// Whether a numeric TABLEDATA cell says "no value": empty (VOTable 1.5
/// §5.1), `NaN` (null for floating point, §6), or the `null` and `NULL`
/// that archives write (IRSA among them).
fn is_null_word(t: &str) -> bool {
    t.is_empty() || t.eq_ignore_ascii_case("null") || t.eq_ignore_ascii_case("nan")
}

/// Parses a TABLEDATA cell.
fn parse_td(f: &VoField, text: &str) -> Result<Value, String> {
    let t = text.trim();
    let is_text = f.column.ty == AdqlType::Varchar;
    if (!is_text && is_null_word(t)) || f.null.as_deref() == Some(t) {
        return Ok(Value::Null);
    }
    Ok(match f.column.ty {
        AdqlType::Varchar => {
            // Shorter is padding left out (§5.1's example); longer is not
            // what the FIELD declares. No arraysize is often a writer's
            // slip for `*`, and taken as such.
            if let Count::Fixed(n @ 2..) | Count::AtMost(n) = f.count {
                let chars = text.chars().count();
                if chars > n {
                    return Err(format!(
                        "text of at most {n} characters (arraysize {}), not {chars}",
                        f.arraysize()
                    ));
                }
            }
            Value::Text(text.to_string())
        }
        AdqlType::Boolean => match t.to_ascii_lowercase().as_str() {
            "t" | "true" | "1" => Value::Bool(true),
            "f" | "false" | "0" => Value::Bool(false),
            "?" => Value::Null,
            _ => return Err("a boolean".into()),
        },
        AdqlType::SmallInt | AdqlType::Integer | AdqlType::BigInt => {
            let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                i64::from_str_radix(h, 16).ok()
            } else {
                t.parse::<i64>().ok()
            };
            Value::Int(v.ok_or("an integer")?)
        }
        AdqlType::Real | AdqlType::Double => Value::Float(parse_float(t).ok_or("a number")?),
        _ => {
            let xs = t
                .split_whitespace()
                .map(parse_float)
                .collect::<Option<Vec<f64>>>()
                .ok_or("numbers separated by spaces")?;
            let refused = match f.count {
                Count::Fixed(n) if xs.len() != n => Some(("exactly", n)),
                Count::AtMost(n) if xs.len() > n => Some(("at most", n)),
                _ => None,
            };
            if let Some((how, n)) = refused {
                return Err(format!(
                    "{how} {n} numbers (arraysize {}), but it has {}",
                    f.arraysize(),
                    xs.len()
                ));
            }
            Value::Numbers(xs)
        }
    })
}

fn parse_float(t: &str) -> Option<f64> {
    match t {
        "NaN" | "nan" => Some(f64::NAN),
        "+Inf" | "Inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ => t.parse().ok(),
    }
}

/// The decoded bytes of a BINARY/BINARY2 STREAM, read cell by cell.
struct Stream<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Stream<'a> {
    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// The next `n` bytes, or what is wrong: `what` names the claim that
    /// asked for them.
    fn take(&mut self, n: usize, what: impl FnOnce() -> String) -> Result<&'a [u8], String> {
        if n > self.remaining() {
            return Err(format!(
                "{} {n} bytes, but the stream holds only {} more",
                what(),
                self.remaining()
            ));
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }
}

/// Bytes of one element of `datatype` in a binary stream (VOTable 1.5
/// §2.1, Table 1); `None` for bits (packed) and unknown datatypes.
fn element_bytes(datatype: &str) -> Option<usize> {
    Some(match datatype {
        "boolean" | "unsignedByte" | "char" => 1,
        "short" | "unicodeChar" => 2,
        "int" | "float" => 4,
        "long" | "double" | "floatComplex" => 8,
        "doubleComplex" => 16,
        _ => return None,
    })
}

/// A variable-length cell's element count against an arraysize of `N*`.
fn check_count(f: &VoField, n: usize) -> Result<(), String> {
    match f.count {
        Count::AtMost(max) if n > max => Err(format!(
            "a cell of {n} elements, but arraysize {} allows at most {max}",
            f.arraysize()
        )),
        _ => Ok(()),
    }
}

/// Bytes of a cell of `count` elements of `f`'s datatype.
fn cell_bytes(f: &VoField, count: usize) -> Result<usize, String> {
    match (f.datatype.as_str(), element_bytes(&f.datatype)) {
        ("bit", _) => Ok(count.div_ceil(8)),
        (_, Some(size)) => count.checked_mul(size).ok_or_else(|| {
            format!(
                "arraysize {} makes a cell larger than any stream",
                f.arraysize()
            )
        }),
        (other, None) => Err(format!(
            "datatype '{other}' has no known size in a binary stream"
        )),
    }
}

/// Reads one value of `f` from a BINARY/BINARY2 stream; a field left out
/// is read past and gives `Value::Null`.
fn read_binary(f: &VoField, stream: &mut Stream<'_>) -> Result<Value, String> {
    let count = match f.count {
        Count::Fixed(n) => n,
        Count::AtMost(_) | Count::Any => {
            let b = stream.take(4, || {
                "the element count of a variable-length cell needs".into()
            })?;
            let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
            check_count(f, n)?;
            n
        }
    };
    let bytes = cell_bytes(f, count)?;
    let claim = || match f.count {
        Count::Fixed(1) => format!("its {} value needs", f.datatype),
        Count::Fixed(_) => format!("arraysize {} makes a cell of", f.arraysize()),
        _ => format!("a cell of {count} elements needs"),
    };
    let raw = stream.take(bytes, claim)?;
    if !f.is_stored() {
        return Ok(Value::Null);
    }
    let size = element_bytes(&f.datatype).unwrap_or(1);
    let num = |c: &[u8]| -> f64 {
        match f.datatype.as_str() {
            "unsignedByte" => c[0] as f64,
            "short" => i16::from_be_bytes([c[0], c[1]]) as f64,
            "int" => i32::from_be_bytes([c[0], c[1], c[2], c[3]]) as f64,
            "long" => i64::from_be_bytes(c.try_into().unwrap_or([0; 8])) as f64,
            "float" => f32::from_be_bytes([c[0], c[1], c[2], c[3]]) as f64,
            _ => f64::from_be_bytes(c.try_into().unwrap_or([0; 8])),
        }
    };
    let int = |c: &[u8]| -> i64 {
        match f.datatype.as_str() {
            "unsignedByte" => c[0] as i64,
            "short" => i16::from_be_bytes([c[0], c[1]]) as i64,
            "int" => i32::from_be_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => i64::from_be_bytes(c.try_into().unwrap_or([0; 8])),
        }
    };
    Ok(match f.column.ty {
        AdqlType::Varchar => {
            let s = if f.datatype == "unicodeChar" {
                let units: Vec<u16> = raw
                    .chunks(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            } else {
                String::from_utf8_lossy(raw).into_owned()
            };
            Value::Text(s.trim_end_matches('\0').to_string())
        }
        AdqlType::Boolean if f.datatype == "bit" => match raw.first() {
            Some(b) => Value::Bool(b & 0x80 != 0),
            None => Value::Null,
        },
        AdqlType::Boolean => match raw.first() {
            Some(b'T' | b't' | b'1') => Value::Bool(true),
            Some(b'F' | b'f' | b'0') => Value::Bool(false),
            _ => Value::Null,
        },
        AdqlType::SmallInt | AdqlType::Integer | AdqlType::BigInt => {
            let v = int(raw);
            if f.null.as_deref().and_then(|n| n.parse::<i64>().ok()) == Some(v) {
                Value::Null
            } else {
                Value::Int(v)
            }
        }
        AdqlType::Real | AdqlType::Double => Value::Float(num(raw)),
        _ => Value::Numbers(raw.chunks(size).map(num).collect()),
    })
}

/// A VOTable to read in batches.
#[derive(Debug, Clone)]
pub struct VoTable {
    /// The file.
    pub file: PathBuf,
    /// Its fields.
    pub fields: Vec<VoField>,
    /// Rows per batch.
    pub batch_rows: usize,
    /// Base64 characters of a binary STREAM decoded at a time.
    pub stream_chunk: usize,
}

impl VoTable {
    /// Opens a VOTable and reads its FIELDs.
    pub fn open(file: &Path) -> Result<VoTable, DataFusionError> {
        Ok(VoTable {
            file: file.to_path_buf(),
            fields: read_fields(file)?,
            batch_rows: 8192,
            stream_chunk: 1 << 20,
        })
    }

    /// The fields read into columns.
    pub fn stored_fields(&self) -> impl Iterator<Item = &VoField> {
        self.fields.iter().filter(|f| f.is_stored())
    }

    /// The fields left out, and why.
    pub fn left_out(&self) -> Vec<LeftOut> {
        self.fields
            .iter()
            .filter_map(|f| {
                Some(LeftOut {
                    column: f.column.name.clone(),
                    reason: f.left_out.clone()?,
                })
            })
            .collect()
    }

    /// For each field, the index of its column among the stored ones.
    fn column_of(&self) -> Vec<Option<usize>> {
        let mut next = 0;
        self.fields
            .iter()
            .map(|f| {
                f.is_stored().then(|| {
                    next += 1;
                    next - 1
                })
            })
            .collect()
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        crate::columns::schema_of(
            self.stored_fields()
                .map(|f| (f.column.name.as_str(), f.column.ty)),
        )
    }

    /// Reads every row, calling `sink` with each batch.
    pub fn read(
        &self,
        mut sink: impl FnMut(RecordBatch) -> Result<(), DataFusionError>,
    ) -> Result<(), DataFusionError> {
        let file = &self.file;
        let mut reader = quick_xml::Reader::from_reader(open(file)?);
        let mut buf = Vec::new();
        let mut cols = Columns::new(self.schema(), &self.fields, self.column_of());
        let mut cell = 0usize;
        let mut row = 0usize;
        let mut text = String::new();
        let mut in_td = false;
        let mut binary: Option<bool> = None; // Some(true) for BINARY2
        loop {
            let event = reader
                .read_event_into(&mut buf)
                .map_err(|e| err(file, format!("not well-formed XML: {e}")))?;
            match event {
                Event::Start(e) => match e.local_name().as_ref() {
                    b"TR" => cell = 0,
                    b"TD" => {
                        in_td = true;
                        text.clear();
                    }
                    b"BINARY" => binary = Some(false),
                    b"BINARY2" => binary = Some(true),
                    b"STREAM" if binary.is_some() && attr(&e, "href").is_some() => {
                        return Err(err(
                            file,
                            "STREAM with href (data in another file) is not supported",
                        ));
                    }
                    // The stream's text is read here, not as one XML text
                    // event, which would hold all of it in memory at once.
                    b"STREAM" if binary.is_some() => {
                        row = self.read_stream(
                            &mut reader.stream(),
                            &mut cols,
                            binary == Some(true),
                            row,
                            &mut sink,
                        )?;
                    }
                    _ => {}
                },
                Event::Empty(e) if e.local_name().as_ref() == b"TD" => {
                    self.push_td(&mut cols, cell, "", row)?;
                    cell += 1;
                }
                Event::Text(t) if in_td => text.push_str(&t.decode().map_err(|e| err(file, e))?),
                // quick-xml reports entity references (&amp;, &#233;) as events of their own.
                Event::GeneralRef(r) if in_td => {
                    let resolved = match r.resolve_char_ref().map_err(|e| err(file, e))? {
                        Some(c) => c.to_string(),
                        None => {
                            let name = r.decode().map_err(|e| err(file, e))?;
                            quick_xml::escape::resolve_xml_entity(&name)
                                .ok_or_else(|| err(file, format!("unknown entity &{name};")))?
                                .to_string()
                        }
                    };
                    text.push_str(&resolved);
                }
                Event::CData(t) if in_td => text.push_str(&String::from_utf8_lossy(&t)),
                Event::End(e) => match e.local_name().as_ref() {
                    b"TD" => {
                        in_td = false;
                        self.push_td(&mut cols, cell, &text, row)?;
                        cell += 1;
                    }
                    b"TR" => {
                        if cell != self.fields.len() {
                            return Err(err(
                                file,
                                format!(
                                    "row {}: {cell} cells, expected {}",
                                    row + 1,
                                    self.fields.len()
                                ),
                            ));
                        }
                        row += 1;
                        cols.rows += 1;
                        if cols.rows == self.batch_rows {
                            sink(cols.finish()?)?;
                        }
                    }
                    b"TABLE" => break,
                    _ => {}
                },
                Event::Eof => break,
                _ => {}
            }
            buf.clear();
        }
        if cols.rows > 0 {
            sink(cols.finish()?)?;
        }
        Ok(())
    }

    fn push_td(
        &self,
        cols: &mut Columns,
        cell: usize,
        text: &str,
        row: usize,
    ) -> Result<(), DataFusionError> {
        let Some(f) = self.fields.get(cell) else {
            return Err(err(
                &self.file,
                format!("row {}: more cells than FIELDs", row + 1),
            ));
        };
        let Some(column) = cols.index[cell] else {
            return Ok(());
        };
        parse_td(f, text)
            .and_then(|v| append(cols.builders[column].as_mut(), v))
            .map_err(|expected| {
                let value = text.trim();
                // A long cell is shown by its start: the message stays a line.
                let shown: String = value.chars().take(60).collect();
                let more = if shown.len() < value.len() { "…" } else { "" };
                err(
                    &self.file,
                    format!(
                        "row {}: column {}: value '{shown}{more}' is not {expected}",
                        row + 1,
                        f.column.name,
                    ),
                )
            })
    }

    /// Reads a base64 STREAM's text from `input` up to the `<` of its end
    /// tag, decoding it a chunk at a time and turning each whole row into
    /// cells as it arrives, so that memory holds a chunk and a row, never
    /// the stream. Returns the rows read so far in the table.
    fn read_stream(
        &self,
        input: &mut impl BufRead,
        cols: &mut Columns,
        with_nulls: bool,
        mut row: usize,
        sink: &mut impl FnMut(RecordBatch) -> Result<(), DataFusionError>,
    ) -> Result<usize, DataFusionError> {
        let file = &self.file;
        // Base64 characters not decoded yet, and decoded bytes not yet in rows.
        let mut text: Vec<u8> = Vec::new();
        let mut bytes: Vec<u8> = Vec::new();
        loop {
            let buf = input
                .fill_buf()
                .map_err(|e| err(file, format!("cannot read the STREAM: {e}")))?;
            if buf.is_empty() {
                return Err(err(file, "the file ends inside a STREAM"));
            }
            let end = buf.iter().position(|&b| b == b'<');
            let chunk = &buf[..end.unwrap_or(buf.len())];
            text.extend(chunk.iter().filter(|b| !b.is_ascii_whitespace()));
            let used = chunk.len();
            input.consume(used);
            let last = end.is_some();
            if !last && text.len() < self.stream_chunk {
                continue;
            }
            // Whole groups of four characters decode on their own.
            let whole = if last { text.len() } else { text.len() / 4 * 4 };
            base64::engine::general_purpose::STANDARD
                .decode_vec(&text[..whole], &mut bytes)
                .map_err(|e| err(file, format!("the binary STREAM is not valid base64: {e}")))?;
            text.drain(..whole);
            let used = self.push_rows(cols, &bytes, with_nulls, &mut row, last, sink)?;
            bytes.drain(..used);
            if last {
                return Ok(row);
            }
        }
    }

    /// Bytes of the row at the start of `data`, or `None` when `data` does
    /// not hold all of it yet. Counts and arraysizes are checked here.
    fn row_len(&self, data: &[u8], with_nulls: bool) -> Result<Option<usize>, String> {
        let mut pos = if with_nulls {
            self.fields.len().div_ceil(8)
        } else {
            0
        };
        for f in &self.fields {
            let count = match f.count {
                Count::Fixed(n) => n,
                Count::AtMost(_) | Count::Any => {
                    let Some(b) = data.get(pos..pos + 4) else {
                        return Ok(None);
                    };
                    pos += 4;
                    let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
                    check_count(f, n).map_err(|m| format!("column {}: {m}", f.column.name))?;
                    n
                }
            };
            let cell =
                cell_bytes(f, count).map_err(|m| format!("column {}: {m}", f.column.name))?;
            pos = pos
                .checked_add(cell)
                .ok_or_else(|| format!("column {}: a row larger than any stream", f.column.name))?;
            if pos > data.len() {
                return Ok(None);
            }
        }
        Ok(Some(pos))
    }

    /// Reads the whole rows at the start of `data` into `cols`; returns the
    /// bytes they took. `last`: no more bytes will come, so bytes left over
    /// are a row the stream does not hold, and an error that says which
    /// claim asked for more.
    fn push_rows(
        &self,
        cols: &mut Columns,
        data: &[u8],
        with_nulls: bool,
        row: &mut usize,
        last: bool,
        sink: &mut impl FnMut(RecordBatch) -> Result<(), DataFusionError>,
    ) -> Result<usize, DataFusionError> {
        let mask_len = self.fields.len().div_ceil(8);
        let mut start = 0;
        while let Some(len) = self
            .row_len(&data[start..], with_nulls)
            .map_err(|m| err(&self.file, format!("row {}: {m}", *row + 1)))?
        {
            // BINARY has no NULL mask: FIELDs that are all of arraysize 0
            // make rows of no bytes, and a stream of them says nothing of
            // how many rows it holds (reading them would never advance).
            if len == 0 {
                return Err(err(
                    &self.file,
                    "every FIELD has arraysize 0, so a BINARY row has no bytes and the stream cannot hold rows; give the FIELDs their sizes, or write BINARY2 or TABLEDATA",
                ));
            }
            let mut stream = Stream {
                data: &data[start..start + len],
                pos: 0,
            };
            let mask = match with_nulls {
                true => stream.take(mask_len, String::new).unwrap_or_default(),
                false => &[],
            };
            for (i, f) in self.fields.iter().enumerate() {
                let value = read_binary(f, &mut stream).map_err(|m| {
                    err(
                        &self.file,
                        format!("row {}: column {}: {m}", *row + 1, f.column.name),
                    )
                })?;
                let Some(column) = cols.index[i] else {
                    continue;
                };
                let is_null =
                    with_nulls && mask.get(i / 8).is_some_and(|m| m & (0x80 >> (i % 8)) != 0);
                let value = if is_null { Value::Null } else { value };
                append(cols.builders[column].as_mut(), value).map_err(|m| {
                    err(
                        &self.file,
                        format!("row {}: column {}: not {m}", *row + 1, f.column.name),
                    )
                })?;
            }
            start += len;
            *row += 1;
            cols.rows += 1;
            if cols.rows == self.batch_rows {
                sink(cols.finish()?)?;
            }
        }
        if last && start < data.len() {
            // Read the incomplete row cell by cell: the cell that runs past
            // the end names the claim that did.
            let mut stream = Stream {
                data: &data[start..],
                pos: 0,
            };
            if with_nulls {
                stream
                    .take(mask_len, || "the row's NULL flags need".into())
                    .map_err(|m| err(&self.file, format!("row {}: {m}", *row + 1)))?;
            }
            for f in &self.fields {
                read_binary(f, &mut stream).map_err(|m| {
                    err(
                        &self.file,
                        format!("row {}: column {}: {m}", *row + 1, f.column.name),
                    )
                })?;
            }
            return Err(err(
                &self.file,
                format!("row {}: the binary stream ends inside the row", *row + 1),
            ));
        }
        Ok(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0"?>
<VOTABLE version="1.5" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
<RESOURCE><TABLE>
<FIELD name="id" datatype="long" ucd="meta.id"><VALUES null="-1"/></FIELD>
<FIELD name="ra" datatype="double" unit="deg" ucd="pos.eq.ra;meta.main"><DESCRIPTION>Right ascension</DESCRIPTION></FIELD>
<FIELD name="dec" datatype="double" unit="deg" ucd="pos.eq.dec;meta.main"/>
<FIELD name="name" datatype="char" arraysize="*"/>
<FIELD name="pos" datatype="double" arraysize="2" xtype="point"/>
<DATA><TABLEDATA>
<TR><TD>9007199254740993</TD><TD>10.5</TD><TD>-5</TD><TD>a &amp; b</TD><TD>10.5 -5</TD></TR>
<TR><TD>-1</TD><TD></TD><TD>NaN</TD><TD/><TD></TD></TR>
</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"#;

    #[test]
    fn tabledata_with_metadata_and_nulls() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.vot");
        std::fs::write(&p, DOC).unwrap();
        let t = VoTable::open(&p).unwrap();
        assert_eq!(t.fields[1].column.meta.unit.as_deref(), Some("deg"));
        assert_eq!(
            t.fields[1].column.meta.description.as_deref(),
            Some("Right ascension")
        );
        assert_eq!(t.fields[4].column.ty, AdqlType::Point);
        let mut batches = Vec::new();
        t.read(|b| {
            batches.push(b);
            Ok(())
        })
        .unwrap();
        let b = &batches[0];
        assert_eq!(b.num_rows(), 2);
        use datafusion::arrow::array::{Array, AsArray};
        let ids = b
            .column(0)
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        assert_eq!(ids.value(0), 9007199254740993);
        assert!(ids.is_null(1));
        assert!(b.column(1).is_null(1) && b.column(2).is_null(1) && b.column(4).is_null(1));
        assert_eq!(b.column(3).as_string::<i32>().value(0), "a & b");
    }

    #[test]
    fn binary2_with_null_mask() {
        // Two fields: int, double; row 1: (7, 2.5); row 2: (NULL, 1.0) flagged in the mask.
        let mut bytes = vec![0u8];
        bytes.extend(7i32.to_be_bytes());
        bytes.extend(2.5f64.to_be_bytes());
        bytes.push(0x80);
        bytes.extend(0i32.to_be_bytes());
        bytes.extend(1.0f64.to_be_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let doc = format!(
            r#"<VOTABLE><RESOURCE><TABLE><FIELD name="n" datatype="int"/><FIELD name="x" datatype="double"/>
<DATA><BINARY2><STREAM encoding="base64">{b64}</STREAM></BINARY2></DATA></TABLE></RESOURCE></VOTABLE>"#
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.xml");
        std::fs::write(&p, doc).unwrap();
        let t = VoTable::open(&p).unwrap();
        let mut rows = 0;
        t.read(|b| {
            use datafusion::arrow::array::Array;
            rows += b.num_rows();
            assert!(b.column(0).is_null(1) && !b.column(0).is_null(0));
            Ok(())
        })
        .unwrap();
        assert_eq!(rows, 2);
    }

    /// Reads `doc` whole: the batches, or the error's text.
    fn read_doc(doc: &str) -> Result<(VoTable, Vec<RecordBatch>), String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.vot");
        std::fs::write(&p, doc).unwrap();
        let t = VoTable::open(&p).map_err(|e| e.to_string())?;
        let mut batches = Vec::new();
        t.read(|b| {
            batches.push(b);
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        Ok((t, batches))
    }

    fn binary2(fields: &str, bytes: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        format!(
            r#"<VOTABLE><RESOURCE><TABLE>{fields}
<DATA><BINARY2><STREAM encoding="base64">{b64}</STREAM></BINARY2></DATA></TABLE></RESOURCE></VOTABLE>"#
        )
    }

    #[test]
    fn numeric_cells_that_archives_write_for_no_value_are_null() {
        let doc = r#"<VOTABLE><RESOURCE><TABLE>
<FIELD name="x" datatype="double"/><FIELD name="f" datatype="float"/><FIELD name="n" datatype="int"/>
<FIELD name="v" datatype="double" arraysize="*"/><FIELD name="s" datatype="char" arraysize="*"/>
<DATA><TABLEDATA>
<TR><TD>null</TD><TD>NaN</TD><TD>NULL</TD><TD>null</TD><TD>null</TD></TR>
<TR><TD>nan</TD><TD> null </TD><TD></TD><TD>NaN</TD><TD/></TR>
<TR><TD>1.5</TD><TD>2</TD><TD>3</TD><TD>1 2</TD><TD>x</TD></TR>
</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"#;
        let (_, batches) = read_doc(doc).unwrap();
        use datafusion::arrow::array::{Array, AsArray};
        let b = &batches[0];
        for c in 0..4 {
            assert_eq!(b.column(c).null_count(), 2, "column {c}");
            assert!(b.column(c).is_valid(2), "column {c}");
        }
        // In a text column "null" is text, as it may well be.
        assert_eq!(b.column(4).as_string::<i32>().value(0), "null");
    }

    #[test]
    fn complex_and_boolean_array_fields_are_left_out_with_the_reason() {
        let doc = r#"<VOTABLE><RESOURCE><TABLE>
<FIELD name="a" datatype="int"/><FIELD name="z" datatype="floatComplex"/>
<FIELD name="flags" datatype="boolean" arraysize="3"/><FIELD name="b" datatype="double"/>
<DATA><TABLEDATA><TR><TD>1</TD><TD>1.5 2.5</TD><TD>T F T</TD><TD>2.5</TD></TR></TABLEDATA></DATA>
</TABLE></RESOURCE></VOTABLE>"#;
        let (t, batches) = read_doc(doc).unwrap();
        let left: Vec<_> = t.left_out().into_iter().map(|l| l.column).collect();
        assert_eq!(left, ["z", "flags"]);
        assert!(
            t.left_out()[0]
                .reason
                .contains("floatComplex: complex numbers cannot be stored")
        );
        let names: Vec<_> = batches[0]
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["a", "b"]);
        use datafusion::arrow::array::AsArray;
        use datafusion::arrow::datatypes::Float64Type;
        assert_eq!(
            batches[0].column(1).as_primitive::<Float64Type>().value(0),
            2.5
        );
    }

    #[test]
    fn complex_fields_are_read_past_in_binary2() {
        // a int, z doubleComplex (16 bytes), b double.
        let mut bytes = vec![0u8];
        bytes.extend(7i32.to_be_bytes());
        bytes.extend(1.0f64.to_be_bytes());
        bytes.extend(2.0f64.to_be_bytes());
        bytes.extend(2.5f64.to_be_bytes());
        let doc = binary2(
            r#"<FIELD name="a" datatype="int"/><FIELD name="z" datatype="doubleComplex"/><FIELD name="b" datatype="double"/>"#,
            &bytes,
        );
        let (_, batches) = read_doc(&doc).unwrap();
        use datafusion::arrow::array::AsArray;
        use datafusion::arrow::datatypes::Float64Type;
        assert_eq!(batches[0].num_columns(), 2);
        assert_eq!(
            batches[0].column(1).as_primitive::<Float64Type>().value(0),
            2.5
        );
    }

    #[test]
    fn an_arraysize_the_cells_do_not_have_is_refused() {
        let doc = r#"<VOTABLE><RESOURCE><TABLE><FIELD name="v" datatype="double" arraysize="1000000000"/>
<DATA><TABLEDATA><TR><TD>1 2</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"#;
        let e = read_doc(doc).unwrap_err();
        assert!(
            e.contains("row 1: column v: value '1 2' is not exactly 1000000000 numbers (arraysize 1000000000), but it has 2"),
            "{e}"
        );
        let doc = r#"<VOTABLE><RESOURCE><TABLE><FIELD name="v" datatype="int" arraysize="2*"/>
<DATA><TABLEDATA><TR><TD>1 2 3</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"#;
        assert!(
            read_doc(doc)
                .unwrap_err()
                .contains("at most 2 numbers (arraysize 2*), but it has 3")
        );
        let doc = r#"<VOTABLE><RESOURCE><TABLE><FIELD name="s" datatype="char" arraysize="3"/>
<DATA><TABLEDATA><TR><TD>ab</TD></TR><TR><TD>abcd</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"#;
        assert!(read_doc(doc).unwrap_err().contains(
            "row 2: column s: value 'abcd' is not text of at most 3 characters (arraysize 3), not 4"
        ));
    }

    #[test]
    fn binary_cells_are_read_only_when_the_stream_holds_their_bytes() {
        // A fixed arraysize of 10^9 doubles over a stream of one row of two.
        let mut bytes = vec![0u8];
        bytes.extend(1.0f64.to_be_bytes());
        bytes.extend(2.0f64.to_be_bytes());
        let doc = binary2(
            r#"<FIELD name="v" datatype="double" arraysize="1000000000"/>"#,
            &bytes,
        );
        let e = read_doc(&doc).unwrap_err();
        assert!(
            e.contains("row 1: column v: arraysize 1000000000 makes a cell of 8000000000 bytes, but the stream holds only 16 more"),
            "{e}"
        );
        // A variable-length cell whose count says 2^32 - 1 elements.
        let mut bytes = vec![0u8];
        bytes.extend(u32::MAX.to_be_bytes());
        bytes.extend(1.0f64.to_be_bytes());
        let doc = binary2(
            r#"<FIELD name="v" datatype="double" arraysize="*"/>"#,
            &bytes,
        );
        let e = read_doc(&doc).unwrap_err();
        assert!(e.contains("a cell of 4294967295 elements needs 34359738360 bytes, but the stream holds only 8 more"), "{e}");
        // An arraysize too large for a number at all.
        let doc = binary2(
            r#"<FIELD name="v" datatype="double" arraysize="99999999999x99999999999"/>"#,
            &bytes,
        );
        let e = read_doc(&doc).unwrap_err();
        assert!(
            e.contains("arraysize '99999999999x99999999999' is not a size"),
            "{e}"
        );
    }

    #[test]
    fn a_binary_row_of_no_bytes_is_refused() {
        let doc = r#"<VOTABLE><RESOURCE><TABLE>
<FIELD name="a" datatype="int" arraysize="0"/><FIELD name="s" datatype="char" arraysize="0"/>
<DATA><BINARY><STREAM encoding="base64">AAAAAQ==</STREAM></BINARY></DATA></TABLE></RESOURCE></VOTABLE>"#;
        let e = read_doc(doc).unwrap_err();
        assert!(
            e.contains("t.vot: every FIELD has arraysize 0, so a BINARY row has no bytes"),
            "{e}"
        );
        // BINARY2 rows of the same FIELDs hold their NULL mask: one byte each.
        let (_, batches) = read_doc(&binary2(
            r#"<FIELD name="a" datatype="int" arraysize="0"/>"#,
            &[0, 0],
        ))
        .unwrap();
        assert_eq!(batches[0].num_rows(), 2);
    }

    #[test]
    fn arraysizes() {
        assert_eq!(parse_arraysize("3"), Some(Count::Fixed(3)));
        assert_eq!(parse_arraysize("2x3"), Some(Count::Fixed(6)));
        assert_eq!(parse_arraysize("64x64x10*"), Some(Count::AtMost(40960)));
        assert_eq!(parse_arraysize("*"), Some(Count::Any));
        assert_eq!(parse_arraysize("2x*"), Some(Count::Any));
        assert_eq!(parse_arraysize("x"), None);
        assert_eq!(parse_arraysize("-1"), None);
    }

    #[test]
    fn a_binary_stream_is_read_a_chunk_at_a_time_with_rows_across_chunks() {
        // int, variable-length double array, variable-length string; row i
        // has i elements and the text "r{i}"; every third int NULL.
        let mut bytes = Vec::new();
        for i in 0..50u32 {
            bytes.push(if i % 3 == 0 { 0x80 } else { 0 });
            bytes.extend((i as i32).to_be_bytes());
            bytes.extend(i.to_be_bytes());
            for k in 0..i {
                bytes.extend((k as f64).to_be_bytes());
            }
            let text = format!("r{i}");
            bytes.extend((text.len() as u32).to_be_bytes());
            bytes.extend(text.as_bytes());
        }
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        // Wrapped at 76 characters, as writers do.
        let wrapped: Vec<&str> = b64
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let doc = format!(
            r#"<VOTABLE><RESOURCE><TABLE><FIELD name="n" datatype="int"/>
<FIELD name="v" datatype="double" arraysize="*"/><FIELD name="s" datatype="char" arraysize="*"/>
<DATA><BINARY2><STREAM encoding="base64">
{}
</STREAM></BINARY2></DATA></TABLE></RESOURCE></VOTABLE>"#,
            wrapped.join("\n")
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.vot");
        std::fs::write(&p, doc).unwrap();
        let read = |chunk: usize| {
            let mut t = VoTable::open(&p).unwrap();
            t.stream_chunk = chunk;
            t.batch_rows = 7;
            let mut batches = Vec::new();
            t.read(|b| {
                batches.push(b);
                Ok(())
            })
            .unwrap();
            datafusion::arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
        };
        let whole = read(1 << 20);
        assert_eq!(whole.num_rows(), 50);
        use datafusion::arrow::array::{Array, AsArray};
        assert_eq!(whole.column(0).null_count(), 17);
        assert_eq!(whole.column(2).as_string::<i32>().value(49), "r49");
        assert_eq!(whole.column(1).as_list::<i32>().value(49).len(), 49);
        for chunk in [1, 5, 8, 77] {
            assert_eq!(read(chunk), whole, "chunks of {chunk}");
        }
    }

    #[test]
    fn a_stream_that_ends_inside_a_row_says_where() {
        let mut bytes = vec![0u8];
        bytes.extend(7i32.to_be_bytes());
        bytes.extend(2.5f64.to_be_bytes());
        bytes.extend([0u8, 0, 0]); // a mask and part of an int
        let doc = binary2(
            r#"<FIELD name="n" datatype="int"/><FIELD name="x" datatype="double"/>"#,
            &bytes,
        );
        let e = read_doc(&doc).unwrap_err();
        assert!(
            e.contains(
                "row 2: column n: its int value needs 4 bytes, but the stream holds only 2 more"
            ),
            "{e}"
        );
    }
}
