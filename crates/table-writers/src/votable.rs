//! VOTable 1.5 with the TABLEDATA serialisation (VOTable 1.5 §5.1), with full
//! FIELD metadata and the INFO elements TAP 1.1 §4.9 and DALI 1.1 §4.4 ask of
//! a result: QUERY_STATUS (OK, or OVERFLOW after the table when MAXREC cut
//! it) and QUERY.

use crate::binary::{Cells, Kind, binary2_row};
use crate::text::TextColumns;
use crate::{Result, ResultWriter};
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use catalog_model::{AdqlType, keys};
use datafusion::arrow::datatypes::{Field, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use std::fmt::Write;

/// The VOTABLE start tag of every document we write. Version 1.4: our
/// documents use nothing that 1.5 added, the 1.5 schema validates them
/// (same namespace, `version` may be 1.3 to 1.5), and STILTS 3.4 (Debian's
/// taplint and votlint) does not know 1.5 and would check a 1.5 document
/// against the 1.2 schema.
pub const VOTABLE_OPEN: &str = "<VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">";

/// How a result ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryStatus {
    /// Every row was written.
    Ok,
    /// MAXREC rows were written and more existed.
    Overflow,
}

/// Appends `s` escaped for XML to `out`, copying it whole when nothing
/// needs escaping (the usual case).
fn escape_into(out: &mut Vec<u8>, s: &str) {
    if s.bytes()
        .any(|b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'') || b < 0x20)
    {
        out.extend_from_slice(xml_escape(s).as_bytes());
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

/// Escapes text for XML content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The VOTable datatype and arraysize of a result column (VOTable 1.5
/// §2.1): its ADQL type, from the Arrow type and the DALI xtype, mapped by
/// `AdqlType::votable`, the mapping TAP_SCHEMA and `/tap/tables` use too.
pub fn votable_type(field: &Field) -> (&'static str, Option<&'static str>) {
    let xtype = field.metadata().get(keys::XTYPE).map(String::as_str);
    AdqlType::from_arrow(field.data_type(), xtype).votable()
}

/// How the rows of a VOTable are written (VOTable 1.5 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serialization {
    /// XML elements, `<TR><TD>`.
    TableData,
    /// Base64 of binary rows with NULL flags.
    Binary2,
}

/// Writes a VOTable with one TABLE in TABLEDATA or BINARY2.
pub struct VoTableWriter {
    schema: SchemaRef,
    query: String,
    serialization: Serialization,
    /// BINARY2 bytes not yet base64-encoded (fewer than 3: base64 works in
    /// groups of three bytes, and the stream runs on across batches).
    pending: Vec<u8>,
    kinds: Vec<Kind>,
}

impl VoTableWriter {
    /// A TABLEDATA writer for results of `schema`, answering `query`.
    pub fn new(schema: SchemaRef, query: &str) -> Self {
        Self::with_serialization(schema, query, Serialization::TableData)
    }

    /// A writer with the given serialization.
    pub fn with_serialization(
        schema: SchemaRef,
        query: &str,
        serialization: Serialization,
    ) -> Self {
        let kinds = schema.fields().iter().map(|f| Kind::of(f)).collect();
        VoTableWriter {
            schema,
            query: query.to_string(),
            serialization,
            pending: Vec::new(),
            kinds,
        }
    }

    /// The FIELD elements of `schema` (shared with the Parquet writer's
    /// embedded VOTable).
    pub fn fields_xml(schema: &SchemaRef) -> String {
        let mut s = String::new();
        for f in schema.fields() {
            let (datatype, arraysize) = votable_type(f);
            let _ = write!(
                s,
                "<FIELD name=\"{}\" datatype=\"{datatype}\"",
                xml_escape(f.name())
            );
            if let Some(a) = arraysize {
                let _ = write!(s, " arraysize=\"{a}\"");
            }
            let md = f.metadata();
            for key in [keys::UNIT, keys::UCD, keys::UTYPE, keys::XTYPE] {
                if let Some(v) = md.get(key).filter(|v| !v.is_empty()) {
                    let _ = write!(s, " {key}=\"{}\"", xml_escape(v));
                }
            }
            match md.get(keys::DESCRIPTION).filter(|v| !v.is_empty()) {
                Some(d) => {
                    let _ = writeln!(s, "><DESCRIPTION>{}</DESCRIPTION></FIELD>", xml_escape(d));
                }
                None => s.push_str("/>\n"),
            }
        }
        s
    }

    fn binary2_batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>> {
        // The rows' bytes are made on several cores; base64 then runs over
        // them in order, carrying the bytes that do not fill a group.
        let kinds = &self.kinds;
        let rows = crate::parallel::format_rows(batch, |rows| {
            let cells = Cells::new(rows, kinds)?;
            let mut raw = Vec::new();
            for row in 0..rows.num_rows() {
                binary2_row(&cells, row, &mut raw);
            }
            Ok(raw)
        })?;
        let mut raw = std::mem::take(&mut self.pending);
        raw.extend(rows);
        let whole = raw.len() / 3 * 3;
        self.pending = raw.split_off(whole);
        let mut out = BASE64_STANDARD.encode(&raw).into_bytes();
        out.push(b'\n');
        Ok(out)
    }
}

impl ResultWriter for VoTableWriter {
    fn content_type(&self) -> &'static str {
        "application/x-votable+xml"
    }

    fn header(&mut self) -> Result<Vec<u8>> {
        let mut s = String::new();
        s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        s.push_str(VOTABLE_OPEN);
        s.push('\n');
        s.push_str("<RESOURCE type=\"results\">\n");
        s.push_str("<INFO name=\"QUERY_STATUS\" value=\"OK\"/>\n");
        let _ = writeln!(
            s,
            "<INFO name=\"QUERY\" value=\"{}\"/>",
            xml_escape(&self.query)
        );
        s.push_str("<TABLE>\n");
        s.push_str(&Self::fields_xml(&self.schema));
        s.push_str(match self.serialization {
            Serialization::TableData => "<DATA><TABLEDATA>\n",
            Serialization::Binary2 => "<DATA><BINARY2><STREAM encoding=\"base64\">\n",
        });
        Ok(s.into_bytes())
    }

    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>> {
        if self.serialization == Serialization::Binary2 {
            return self.binary2_batch(batch);
        }
        crate::parallel::format_rows(batch, tabledata_rows)
    }

    fn footer(&mut self, status: QueryStatus) -> Result<Vec<u8>> {
        let mut s = self.close_table();
        if status == QueryStatus::Overflow {
            // TAP 1.1 §4.9: an INFO after the TABLE says the result was truncated.
            s.push_str("<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>\n");
        }
        s.push_str("</RESOURCE>\n</VOTABLE>\n");
        Ok(s.into_bytes())
    }

    fn error_footer(&mut self, message: &str) -> Option<Vec<u8>> {
        // DALI 1.1 §4.4: an error after the rows began is an INFO with
        // QUERY_STATUS=ERROR after the TABLE; the rows before it stand.
        let mut s = self.close_table();
        let _ = writeln!(
            s,
            "<INFO name=\"QUERY_STATUS\" value=\"ERROR\">{}</INFO>",
            xml_escape(message)
        );
        s.push_str("</RESOURCE>\n</VOTABLE>\n");
        Some(s.into_bytes())
    }
}

impl VoTableWriter {
    /// Ends the DATA and TABLE elements (BINARY2: the last base64 group).
    fn close_table(&mut self) -> String {
        match self.serialization {
            Serialization::TableData => String::from("</TABLEDATA></DATA>\n</TABLE>\n"),
            Serialization::Binary2 => {
                let rest = BASE64_STANDARD.encode(std::mem::take(&mut self.pending));
                format!("{rest}\n</STREAM></BINARY2></DATA>\n</TABLE>\n")
            }
        }
    }
}

/// The TABLEDATA rows of `batch`.
fn tabledata_rows(batch: &RecordBatch) -> Result<Vec<u8>> {
    let columns = TextColumns::new(batch)?;
    let mut out = Vec::with_capacity(batch.num_rows() * 80);
    for row in 0..batch.num_rows() {
        out.extend_from_slice(b"<TR>");
        for col in 0..columns.len() {
            // An empty TD is NULL for every datatype (VOTable 1.5 §5.1).
            out.extend_from_slice(b"<TD>");
            if columns.write(&mut out, col, row, &escape_into)? {
                out.extend_from_slice(b"</TD>");
            } else {
                out.truncate(out.len() - 4);
                out.extend_from_slice(b"<TD/>");
            }
        }
        out.extend_from_slice(b"</TR>\n");
    }
    Ok(out)
}

/// A DALI error document (DALI 1.1 §4.4): a VOTable whose RESOURCE holds
/// INFO name="QUERY_STATUS" value="ERROR" with the message as content.
pub fn error_document(message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{VOTABLE_OPEN}\n<RESOURCE type=\"results\">\n<INFO name=\"QUERY_STATUS\" value=\"ERROR\">{}</INFO>\n</RESOURCE>\n</VOTABLE>\n",
        xml_escape(message)
    )
}
