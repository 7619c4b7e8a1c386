//! VOTable input (VOTable 1.5): the first TABLE of a document, with its FIELD
//! metadata (name, datatype, arraysize, unit, ucd, utype, xtype,
//! DESCRIPTION) and its data in TABLEDATA, BINARY or BINARY2 (§5), read as a
//! stream of batches.

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

/// A FIELD.
#[derive(Debug, Clone)]
pub struct VoField {
    /// Column metadata for the catalog.
    pub column: ColumnInfo,
    datatype: String,
    /// Elements per value: None for variable length, Some(1) for scalars.
    count: Option<usize>,
    /// The VALUES null sentinel.
    null: Option<String>,
    /// A text field with the DALI xtype timestamp: read as text, then cast
    /// to a timestamp column (see `open_input`).
    pub timestamp: bool,
}

fn err(file: &Path, msg: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("{}: {msg}", file.display()))
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

fn field_of(e: &BytesStart<'_>, file: &Path) -> Result<VoField, DataFusionError> {
    let name = attr(e, "name").ok_or_else(|| err(file, "a FIELD has no name"))?;
    let datatype =
        attr(e, "datatype").ok_or_else(|| err(file, format!("FIELD {name} has no datatype")))?;
    let arraysize = attr(e, "arraysize");
    let xtype = attr(e, "xtype");
    let is_text = datatype == "char" || datatype == "unicodeChar";
    let count = match arraysize.as_deref() {
        None => Some(1),
        Some(a) if a.ends_with('*') => None,
        Some(a) => {
            let n: usize = a
                .split('x')
                .map(|d| d.trim().parse::<usize>().unwrap_or(1))
                .product();
            Some(n)
        }
    };
    let ty = if is_text {
        AdqlType::Varchar
    } else if count != Some(1) {
        match xtype.as_deref() {
            Some("point") => AdqlType::Point,
            Some("circle") => AdqlType::Circle,
            Some("polygon") => AdqlType::Polygon,
            _ => AdqlType::Array,
        }
    } else {
        match datatype.as_str() {
            "boolean" | "bit" => AdqlType::Boolean,
            "unsignedByte" | "short" => AdqlType::SmallInt,
            "int" => AdqlType::Integer,
            "long" => AdqlType::BigInt,
            "float" => AdqlType::Real,
            "double" => AdqlType::Double,
            other => {
                return Err(err(
                    file,
                    format!("FIELD {name}: datatype '{other}' is not supported"),
                ));
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
    schema: SchemaRef,
    rows: usize,
}

impl Columns {
    fn new(schema: SchemaRef, fields: &[VoField]) -> Self {
        let builders = fields
            .iter()
            .map(|f| crate::source::builder_for(f.column.ty))
            .collect();
        Columns {
            builders,
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

/// Parses a TABLEDATA cell.
fn parse_td(f: &VoField, text: &str) -> Result<Value, String> {
    let t = text.trim();
    let is_text = f.column.ty == AdqlType::Varchar;
    if (!is_text && t.is_empty()) || f.null.as_deref() == Some(t) {
        return Ok(Value::Null);
    }
    Ok(match f.column.ty {
        AdqlType::Varchar => Value::Text(text.to_string()),
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
        _ => Value::Numbers(
            t.split_whitespace()
                .map(parse_float)
                .collect::<Option<Vec<f64>>>()
                .ok_or("numbers separated by spaces")?,
        ),
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

/// Reads one value of `f` from a BINARY/BINARY2 byte stream.
fn read_binary(
    f: &VoField,
    bytes: &mut impl FnMut(usize) -> Option<Vec<u8>>,
) -> Result<Option<Value>, String> {
    let count = match f.count {
        Some(n) => n,
        None => match bytes(4) {
            Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize,
            None => return Ok(None),
        },
    };
    let size = match f.datatype.as_str() {
        "boolean" | "unsignedByte" | "char" => 1,
        "short" | "unicodeChar" => 2,
        "int" | "float" => 4,
        "long" | "double" => 8,
        "bit" => return Err("bit arrays are not supported in binary serialisations".into()),
        other => return Err(format!("datatype {other} is not supported")),
    };
    let Some(raw) = bytes(size * count) else {
        return Ok(None);
    };
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
    Ok(Some(match f.column.ty {
        AdqlType::Varchar => {
            let s = if f.datatype == "unicodeChar" {
                let units: Vec<u16> = raw
                    .chunks(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            } else {
                String::from_utf8_lossy(&raw).into_owned()
            };
            Value::Text(s.trim_end_matches('\0').to_string())
        }
        AdqlType::Boolean => match raw[0] {
            b'T' | b't' | b'1' => Value::Bool(true),
            b'F' | b'f' | b'0' => Value::Bool(false),
            _ => Value::Null,
        },
        AdqlType::SmallInt | AdqlType::Integer | AdqlType::BigInt => {
            let v = int(&raw);
            if f.null.as_deref().and_then(|n| n.parse::<i64>().ok()) == Some(v) {
                Value::Null
            } else {
                Value::Int(v)
            }
        }
        AdqlType::Real | AdqlType::Double => Value::Float(num(&raw)),
        _ => Value::Numbers(raw.chunks(size).map(num).collect()),
    }))
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
}

impl VoTable {
    /// Opens a VOTable and reads its FIELDs.
    pub fn open(file: &Path) -> Result<VoTable, DataFusionError> {
        Ok(VoTable {
            file: file.to_path_buf(),
            fields: read_fields(file)?,
            batch_rows: 8192,
        })
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        crate::source::schema_of(
            self.fields
                .iter()
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
        let mut cols = Columns::new(self.schema(), &self.fields);
        let mut cell = 0usize;
        let mut row = 0usize;
        let mut text = String::new();
        let mut in_td = false;
        let mut binary: Option<bool> = None; // Some(true) for BINARY2
        let mut encoded = String::new();
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
                Event::Text(t) if binary.is_some() => {
                    encoded.push_str(&String::from_utf8_lossy(t.as_ref()))
                }
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
                    b"STREAM" if binary.is_some() => {
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(encoded.split_whitespace().collect::<String>())
                            .map_err(|e| {
                                err(file, format!("the binary STREAM is not valid base64: {e}"))
                            })?;
                        encoded.clear();
                        row =
                            self.push_binary(&mut cols, &bytes, binary == Some(true), &mut sink)?;
                    }
                    b"TABLE" => break,
                    _ => {}
                },
                Event::Eof => break,
                _ => {}
            }
            buf.clear();
        }
        let _ = row;
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
        parse_td(f, text)
            .and_then(|v| append(cols.builders[cell].as_mut(), v))
            .map_err(|expected| {
                err(
                    &self.file,
                    format!(
                        "row {}: column {}: value '{}' is not {expected}",
                        row + 1,
                        f.column.name,
                        text.trim()
                    ),
                )
            })
    }

    fn push_binary(
        &self,
        cols: &mut Columns,
        data: &[u8],
        with_nulls: bool,
        sink: &mut impl FnMut(RecordBatch) -> Result<(), DataFusionError>,
    ) -> Result<usize, DataFusionError> {
        let mut pos = 0usize;
        let mut row = 0usize;
        let take = |n: usize, pos: &mut usize| -> Option<Vec<u8>> {
            let out = data.get(*pos..*pos + n)?.to_vec();
            *pos += n;
            Some(out)
        };
        let mask_len = self.fields.len().div_ceil(8);
        while pos < data.len() {
            let mask = if with_nulls {
                match take(mask_len, &mut pos) {
                    Some(m) => m,
                    None => break,
                }
            } else {
                Vec::new()
            };
            for (i, f) in self.fields.iter().enumerate() {
                let value = read_binary(f, &mut |n| take(n, &mut pos))
                    .map_err(|m| {
                        err(
                            &self.file,
                            format!("row {}: column {}: {m}", row + 1, f.column.name),
                        )
                    })?
                    .ok_or_else(|| {
                        err(
                            &self.file,
                            format!("row {}: the binary stream ends inside the row", row + 1),
                        )
                    })?;
                let is_null = with_nulls && mask[i / 8] & (0x80 >> (i % 8)) != 0;
                let value = if is_null { Value::Null } else { value };
                append(cols.builders[i].as_mut(), value).map_err(|m| {
                    err(
                        &self.file,
                        format!("row {}: column {}: not {m}", row + 1, f.column.name),
                    )
                })?;
            }
            row += 1;
            cols.rows += 1;
            if cols.rows == self.batch_rows {
                sink(cols.finish()?)?;
            }
        }
        Ok(row)
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
}
