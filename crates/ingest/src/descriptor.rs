//! The table descriptor (TOML): what the data cannot say about itself.
//!
//! ```toml
//! [table]
//! schema = "hip"
//! name = "main"
//! description = "Hipparcos, the New Reduction"
//! ra = "ra"          # main position columns (else taken from UCDs or usual names)
//! dec = "dec"
//!
//! [source]
//! format = "fixed-width"   # or "csv", "tsv", "whitespace", "parquet"
//! null = ["", "-999"]      # values that mean NULL
//!
//! [[columns]]
//! name = "hip"
//! bytes = "1-6"            # fixed-width only: 1-based, inclusive
//! type = "integer"         # smallint, integer, bigint, real, double, text, boolean
//! ucd = "meta.id;meta.main"
//! description = "Hipparcos identifier"
//! publish = true           # false keeps a raw column out of the table
//!
//! [[derived]]
//! name = "ra"
//! expr = "DEGREES(rarad)"  # ADQL over the raw columns
//! unit = "deg"
//! ucd = "pos.eq.ra;meta.main"
//! ```

use crate::Error;
use adql_planner::AdqlType;
use serde::Deserialize;
use std::path::Path;

/// A whole descriptor.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Descriptor {
    /// Table-level settings.
    #[serde(default)]
    pub table: TableSection,
    /// How to read the input.
    #[serde(default)]
    pub source: SourceSection,
    /// The input's columns, in order.
    #[serde(default)]
    pub columns: Vec<ColumnSpec>,
    /// Columns computed from the others.
    #[serde(default)]
    pub derived: Vec<DerivedSpec>,
}

/// `[table]`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TableSection {
    /// Schema name.
    pub schema: Option<String>,
    /// Table name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Main right ascension column.
    pub ra: Option<String>,
    /// Main declination column.
    pub dec: Option<String>,
}

/// `[source]`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// "fixed-width", "csv", "tsv", "whitespace" or "parquet"; by file name if absent.
    pub format: Option<String>,
    /// Field delimiter for CSV (default ",").
    pub delimiter: Option<String>,
    /// Whether CSV files start with a header line (default true).
    pub header: Option<bool>,
    /// Values read as NULL.
    #[serde(default)]
    pub null: Vec<String>,
}

/// `[[columns]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// Name in the published table.
    pub name: String,
    /// Byte range "a-b" (fixed-width input).
    pub bytes: Option<String>,
    /// Type name.
    #[serde(rename = "type")]
    pub ty: Option<String>,
    /// Unit (VOUnits).
    pub unit: Option<String>,
    /// UCD.
    pub ucd: Option<String>,
    /// Utype.
    pub utype: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Column-specific NULL values.
    #[serde(default)]
    pub null: Vec<String>,
    /// False keeps the column out of the published table (it can still feed derived columns).
    pub publish: Option<bool>,
}

/// `[[derived]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedSpec {
    /// Name.
    pub name: String,
    /// ADQL value expression over the input columns.
    pub expr: String,
    /// Unit.
    pub unit: Option<String>,
    /// UCD.
    pub ucd: Option<String>,
    /// Description.
    pub description: Option<String>,
}

impl Descriptor {
    /// Reads and checks a descriptor file.
    pub fn load(path: &Path) -> Result<Descriptor, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Input {
            file: path.display().to_string(),
            message: format!("cannot read the descriptor: {e}"),
        })?;
        let d: Descriptor = toml::from_str(&text).map_err(|e| Error::Input {
            file: path.display().to_string(),
            message: e.to_string(),
        })?;
        for c in &d.columns {
            if let Some(t) = &c.ty {
                parse_type(t).ok_or_else(|| Error::Input {
                    file: path.display().to_string(),
                    message: format!(
                        "column {}: unknown type '{t}' (use smallint, integer, bigint, real, double, text or boolean)",
                        c.name
                    ),
                })?;
            }
        }
        Ok(d)
    }
}

/// Reads a descriptor type name.
pub fn parse_type(name: &str) -> Option<AdqlType> {
    Some(match name.to_ascii_lowercase().as_str() {
        "smallint" | "short" | "int16" => AdqlType::SmallInt,
        "integer" | "int" | "int32" => AdqlType::Integer,
        "bigint" | "long" | "int64" => AdqlType::BigInt,
        "real" | "float" | "float32" => AdqlType::Real,
        "double" | "double precision" | "float64" => AdqlType::Double,
        "text" | "char" | "varchar" | "string" => AdqlType::Varchar,
        "boolean" | "bool" => AdqlType::Boolean,
        _ => return None,
    })
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

    #[test]
    fn byte_ranges() {
        assert_eq!(parse_bytes("1-6"), Some((1, 6)));
        assert_eq!(parse_bytes("12"), Some((12, 12)));
        assert_eq!(parse_bytes("6-1"), None);
        assert_eq!(parse_bytes("0-3"), None);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = toml::from_str::<Descriptor>("[table]\nnmae = 'x'\n").unwrap_err();
        assert!(e.to_string().contains("nmae"), "{e}");
    }
}
