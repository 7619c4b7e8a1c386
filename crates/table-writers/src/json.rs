//! JSON, in the layout the Gaia archive and DaCHS use:
//! `{"metadata": [{"name", "datatype", "arraysize", "unit", "ucd", "utype",
//! "xtype", "description"}...], "data": [[row]...], "status": "OK"}`.
//! Numbers are JSON numbers (NaN and infinities, which JSON lacks, are
//! null), geometries arrays of numbers, timestamps ISO 8601 strings.

use crate::binary::{Cells, Kind};
use crate::{QueryStatus, Result, ResultWriter, votable_type};
use catalog_model::keys;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, SchemaRef,
};
use datafusion::arrow::record_batch::RecordBatch;
use std::fmt::Write;

/// Writes JSON.
pub struct JsonWriter {
    schema: SchemaRef,
    kinds: Vec<Kind>,
    rows: u64,
}

impl JsonWriter {
    /// A writer for results of `schema`.
    pub fn new(schema: SchemaRef) -> Self {
        let kinds = schema.fields().iter().map(|f| Kind::of(f)).collect();
        JsonWriter {
            schema,
            kinds,
            rows: 0,
        }
    }
}

fn string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "null".into())
}

/// A float as JSON: the shortest text that reads back as the same value
/// (so a REAL 548.31 stays 548.31, not its f64 widening 548.3099975585938).
fn number<F: Into<f64> + std::fmt::Display + Copy>(x: F) -> String {
    if x.into().is_finite() {
        x.to_string()
    } else {
        "null".into()
    }
}

impl ResultWriter for JsonWriter {
    fn content_type(&self) -> &'static str {
        "application/json"
    }

    fn header(&mut self) -> Result<Vec<u8>> {
        let mut s = String::from("{\"metadata\":[");
        for (i, f) in self.schema.fields().iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let (datatype, arraysize) = votable_type(f);
            let _ = write!(
                s,
                "{{\"name\":{},\"datatype\":\"{datatype}\"",
                string(f.name())
            );
            if let Some(a) = arraysize {
                let _ = write!(s, ",\"arraysize\":\"{a}\"");
            }
            for key in [
                keys::UNIT,
                keys::UCD,
                keys::UTYPE,
                keys::XTYPE,
                keys::DESCRIPTION,
            ] {
                if let Some(v) = f.metadata().get(key).filter(|v| !v.is_empty()) {
                    let _ = write!(s, ",\"{key}\":{}", string(v));
                }
            }
            s.push('}');
        }
        s.push_str("],\n\"data\":[\n");
        Ok(s.into_bytes())
    }

    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>> {
        let cells = Cells::new(batch, &self.kinds)?;
        let mut s = String::with_capacity(batch.num_rows() * 64);
        for row in 0..batch.num_rows() {
            if self.rows > 0 {
                s.push_str(",\n");
            }
            self.rows += 1;
            s.push('[');
            for (col, kind) in self.kinds.iter().enumerate() {
                if col > 0 {
                    s.push(',');
                }
                if cells.is_null(col, row) {
                    s.push_str("null");
                    continue;
                }
                let a = cells.array(col);
                let v = match kind {
                    Kind::Boolean => a.as_boolean().value(row).to_string(),
                    Kind::Short => a.as_primitive::<Int16Type>().value(row).to_string(),
                    Kind::Int => a.as_primitive::<Int32Type>().value(row).to_string(),
                    Kind::Long => a.as_primitive::<Int64Type>().value(row).to_string(),
                    Kind::Float => number(a.as_primitive::<Float32Type>().value(row)),
                    Kind::Double => number(a.as_primitive::<Float64Type>().value(row)),
                    Kind::Doubles(_) | Kind::VarDoubles => {
                        let parts: Vec<String> =
                            cells.doubles(col, row).into_iter().map(number).collect();
                        format!("[{}]", parts.join(","))
                    }
                    Kind::Text => string(cells.text(col, row)),
                };
                s.push_str(&v);
            }
            s.push(']');
        }
        Ok(s.into_bytes())
    }

    fn footer(&mut self, status: QueryStatus) -> Result<Vec<u8>> {
        let status = match status {
            QueryStatus::Ok => "OK",
            QueryStatus::Overflow => "OVERFLOW",
        };
        Ok(format!("\n],\n\"status\":\"{status}\"}}\n").into_bytes())
    }

    fn error_footer(&mut self, message: &str) -> Option<Vec<u8>> {
        Some(
            format!(
                "\n],\n\"status\":\"ERROR\",\"error\":{}}}\n",
                string(message)
            )
            .into_bytes(),
        )
    }
}
