//! The table descriptor (TOML): what the data cannot say about itself.
//!
//! ```toml
//! [table]
//! schema = "hip"
//! name = "main"
//! description = "Hipparcos, the New Reduction"
//! ra = "ra"          # main position columns (else taken from UCDs or usual names)
//! dec = "dec"
//! key = "hip"        # identifier looked up by equality (else the meta.id;meta.main column)
//!
//! [source]
//! format = "fixed-width"   # or "csv", "tsv", "whitespace", "parquet", "votable", "fits"
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

use crate::error::Error;
use crate::format::InputFormat;
use catalog_model::AdqlType;
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
    /// The catalogue's identifier column, which `WHERE key = value` finds
    /// without reading the whole table (a Bloom filter per row group).
    pub key: Option<String>,
}

/// `[source]`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// The input's format (`csv`, `tsv`, `fixed-width`, `whitespace`,
    /// `parquet`, `votable`, `fits`); by file name if absent.
    pub format: Option<InputFormat>,
    /// Field delimiter for CSV (default ",").
    pub delimiter: Option<String>,
    /// Whether CSV files start with a header line (default true); without
    /// one, the `[[columns]]` name the fields in order.
    pub header: Option<bool>,
    /// CSV quote character (default `"`).
    pub quote: Option<String>,
    /// CSV escape character inside quoted fields (default: quotes doubled).
    pub escape: Option<String>,
    /// Values read as NULL.
    #[serde(default)]
    pub null: Vec<String>,
}

/// `[[columns]]`
#[derive(Debug, Clone, Deserialize, Default)]
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
    /// TAP_SCHEMA principal: false for columns not shown by default.
    pub principal: Option<bool>,
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
    /// TAP_SCHEMA principal.
    pub principal: Option<bool>,
}

impl Descriptor {
    /// Reads and checks a descriptor file: TOML, or a CDS/VizieR ReadMe whose
    /// byte-by-byte description of `data_file` is taken.
    pub fn load_for(path: &Path, data_file: &str) -> Result<Descriptor, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Input {
            file: path.display().to_string(),
            message: format!("cannot read the descriptor: {e}"),
        })?;
        if text.contains("Byte-by-byte Description of file:") {
            return from_readme(&text, data_file).map_err(|message| Error::Input {
                file: path.display().to_string(),
                message,
            });
        }
        Self::parse(&text, path)
    }

    /// Reads and checks a TOML descriptor file.
    pub fn load(path: &Path) -> Result<Descriptor, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Input {
            file: path.display().to_string(),
            message: format!("cannot read the descriptor: {e}"),
        })?;
        Self::parse(&text, path)
    }

    fn parse(text: &str, path: &Path) -> Result<Descriptor, Error> {
        let d: Descriptor = toml::from_str(text).map_err(|e| Error::Input {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_refused() {
        let e = toml::from_str::<Descriptor>("[table]\nnmae = 'x'\n").unwrap_err();
        assert!(e.to_string().contains("nmae"), "{e}");
    }
}

/// Reads the "Byte-by-byte Description" of a CDS/VizieR ReadMe: the section
/// for `data_file` (by name, `.gz` ignored), else the first one. Labels become
/// column names (lower case, `-` and other signs as `_`), formats types
/// (`I` integer, `F`/`E`/`D` double, `A` text), units and explanations are
/// kept ("---" means no unit).
pub fn from_readme(text: &str, data_file: &str) -> Result<Descriptor, String> {
    let wanted = data_file.trim_end_matches(".gz");
    let mut sections: Vec<(String, Vec<ColumnSpec>)> = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(rest) = line
            .trim_start()
            .strip_prefix("Byte-by-byte Description of file:")
        else {
            continue;
        };
        let file = rest.split_whitespace().next().unwrap_or("").to_string();
        // Skip to the second rule: the first closes the title, the second the column heads.
        let mut rules = 0;
        for l in lines.by_ref() {
            if l.trim_start().starts_with("----") {
                rules += 1;
                if rules == 2 {
                    break;
                }
            }
        }
        let mut cols: Vec<ColumnSpec> = Vec::new();
        for l in lines.by_ref() {
            if l.trim_start().starts_with("----") || l.trim().is_empty() {
                break;
            }
            match readme_column(l) {
                Some(c) => cols.push(c),
                // A wrapped explanation continues the previous column's.
                None => {
                    if let Some(prev) = cols.last_mut() {
                        let more = l.trim();
                        let d = prev.description.get_or_insert_with(String::new);
                        d.push(' ');
                        d.push_str(more);
                    }
                }
            }
        }
        sections.push((file, cols));
    }
    let base = |f: &str| {
        f.rsplit('/')
            .next()
            .unwrap_or(f)
            .trim_end_matches(".gz")
            .to_string()
    };
    let chosen = sections
        .iter()
        .find(|(f, _)| base(f) == base(wanted))
        .or_else(|| sections.first())
        .ok_or("no \"Byte-by-byte Description of file:\" section in this ReadMe")?;
    if chosen.1.is_empty() {
        return Err(format!(
            "the byte-by-byte description of {} lists no columns",
            chosen.0
        ));
    }
    Ok(Descriptor {
        source: SourceSection {
            format: Some(InputFormat::FixedWidth),
            ..Default::default()
        },
        columns: chosen.1.clone(),
        ..Default::default()
    })
}

/// One row of a byte-by-byte description: `  1-  6  I6  ---  HIP  Explanation`.
fn readme_column(line: &str) -> Option<ColumnSpec> {
    let t = line.trim_start();
    // Bytes: "1-  6" or a single "12".
    let digits_end = t.find(|c: char| !c.is_ascii_digit())?;
    let first: usize = t[..digits_end].parse().ok()?;
    let mut rest = t[digits_end..].trim_start();
    let last = if let Some(r) = rest.strip_prefix('-') {
        let r = r.trim_start();
        let end = r.find(|c: char| !c.is_ascii_digit())?;
        let last: usize = r[..end].parse().ok()?;
        rest = &r[end..];
        last
    } else {
        first
    };
    let mut words = rest.split_whitespace();
    let format = words.next()?;
    let kind = format.chars().next()?;
    let width: usize = format
        .get(kind.len_utf8()..)?
        .split('.')
        .next()?
        .parse()
        .ok()?;
    let ty = match kind {
        'I' if width <= 4 => "smallint",
        'I' if width <= 9 => "integer",
        'I' => "bigint",
        'F' | 'E' | 'D' => "double",
        'A' => "text",
        _ => return None,
    };
    let unit = words.next()?;
    let label = words.next()?;
    let explanation: Vec<&str> = words.collect();
    let name: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    Some(ColumnSpec {
        name,
        bytes: Some(format!("{first}-{last}")),
        ty: Some(ty.into()),
        unit: (unit != "---").then(|| unit.to_string()),
        ucd: None,
        utype: None,
        description: (!explanation.is_empty()).then(|| explanation.join(" ")),
        null: Vec::new(),
        publish: None,
        principal: None,
    })
}

#[cfg(test)]
mod readme_tests {
    use super::*;

    const README: &str = "\
Byte-by-byte Description of file: other.dat
--------------------------------------------------------------------------------
   Bytes Format Units   Label     Explanations
--------------------------------------------------------------------------------
   1-  3  I3    ---     N         Number
--------------------------------------------------------------------------------

Byte-by-byte Description of file: hip2.dat
--------------------------------------------------------------------------------
   Bytes Format Units   Label     Explanations
--------------------------------------------------------------------------------
   1-  6  I6    ---     HIP       Hipparcos identifier
  16- 28  F13.10 rad    RArad     Right Ascension in ICRS, Ep=1991.25,
                                  in radians
      12  I1    ---     So        [0,5] Solution type old reduction
 153-158  F6.3  mag     B-V       Colour index
--------------------------------------------------------------------------------
";

    #[test]
    fn byte_by_byte_description_of_the_named_file() {
        let d = from_readme(README, "hip2.dat.gz").unwrap();
        let names: Vec<&str> = d.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["hip", "rarad", "so", "b_v"]);
        assert_eq!(d.columns[0].bytes.as_deref(), Some("1-6"));
        assert_eq!(d.columns[0].ty.as_deref(), Some("integer"));
        assert_eq!(d.columns[0].unit, None);
        assert_eq!(d.columns[1].unit.as_deref(), Some("rad"));
        assert_eq!(
            d.columns[1].description.as_deref(),
            Some("Right Ascension in ICRS, Ep=1991.25, in radians")
        );
        assert_eq!(d.columns[2].bytes.as_deref(), Some("12-12"));
        assert_eq!(d.columns[2].ty.as_deref(), Some("smallint"));
    }

    #[test]
    fn a_format_that_starts_with_a_non_ascii_letter_is_not_a_column() {
        let readme = README.replace("I1    ---     So", "É1    ---     So");
        let d = from_readme(&readme, "hip2.dat.gz").unwrap();
        let names: Vec<&str> = d.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["hip", "rarad", "b_v"]);
    }

    #[test]
    fn a_readme_without_the_section_is_refused() {
        assert!(from_readme("nothing here", "x.dat").is_err());
    }
}
