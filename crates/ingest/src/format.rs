//! [`InputFormat`]: the kinds of file an ingest or an upload reads, by the
//! names users type (`--meta`'s `[source] format`, the TAP server's
//! sniffing) and by file name.
//!
//! Must never know how a format is read: that is the readers' business.

use crate::error::Error;
use std::fmt;
use std::path::Path;

/// A kind of input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputFormat {
    /// Fixed-width ASCII: byte ranges from the descriptor or a VizieR ReadMe.
    FixedWidth,
    /// ASCII with fields separated by runs of blanks.
    Whitespace,
    /// Comma-separated values (the descriptor may set another delimiter).
    Csv,
    /// Tab-separated values.
    Tsv,
    /// Apache Parquet.
    Parquet,
    /// VOTable (TABLEDATA, BINARY, BINARY2).
    VoTable,
    /// FITS: the first binary table extension.
    Fits,
}

impl InputFormat {
    /// Every format, in the order error messages list them.
    pub const ALL: [InputFormat; 7] = [
        InputFormat::Csv,
        InputFormat::Tsv,
        InputFormat::Fits,
        InputFormat::VoTable,
        InputFormat::Parquet,
        InputFormat::FixedWidth,
        InputFormat::Whitespace,
    ];

    /// The name users type.
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::FixedWidth => "fixed-width",
            InputFormat::Whitespace => "whitespace",
            InputFormat::Csv => "csv",
            InputFormat::Tsv => "tsv",
            InputFormat::Parquet => "parquet",
            InputFormat::VoTable => "votable",
            InputFormat::Fits => "fits",
        }
    }

    /// A format by its name or an alias (case-insensitive); the error
    /// lists the names.
    pub fn parse(name: &str) -> Result<InputFormat, Error> {
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "fixed-width" | "fixed" => InputFormat::FixedWidth,
            "whitespace" | "ascii" => InputFormat::Whitespace,
            "csv" => InputFormat::Csv,
            "tsv" | "tab" => InputFormat::Tsv,
            "parquet" | "pq" => InputFormat::Parquet,
            "votable" | "vot" | "xml" => InputFormat::VoTable,
            "fits" | "fit" | "fts" => InputFormat::Fits,
            _ => {
                let names: Vec<&str> = Self::ALL.iter().map(|f| f.name()).collect();
                return Err(Error::Request(format!(
                    "unknown input format '{name}'; use one of {}",
                    names.join(", ")
                )));
            }
        })
    }

    /// The format a file's name says (`.gz` looked through); `None` for
    /// names that do not tell (`.dat`, `.txt`: fixed-width or whitespace).
    pub fn from_file_name(path: &Path) -> Option<InputFormat> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit_once('.')?.1;
        Some(match ext {
            "csv" => InputFormat::Csv,
            "tsv" | "tab" => InputFormat::Tsv,
            "parquet" | "pq" => InputFormat::Parquet,
            "vot" | "xml" | "votable" => InputFormat::VoTable,
            "fits" | "fit" | "fts" => InputFormat::Fits,
            _ => return None,
        })
    }

    /// Whether a file of this format says what its columns are, so that it
    /// can be read without a descriptor (as TAP uploads are).
    pub fn is_self_describing(self) -> bool {
        !matches!(self, InputFormat::FixedWidth | InputFormat::Whitespace)
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for InputFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        InputFormat::parse(s)
    }
}

impl<'de> serde::Deserialize<'de> for InputFormat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        InputFormat::parse(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known_ones() {
        for f in InputFormat::ALL {
            assert_eq!(InputFormat::parse(f.name()).unwrap(), f);
        }
        assert_eq!(InputFormat::parse("VOT").unwrap(), InputFormat::VoTable);
        let e = InputFormat::parse("xls").unwrap_err().to_string();
        assert!(
            e.contains("'xls'")
                && e.contains("csv, tsv, fits, votable, parquet, fixed-width, whitespace"),
            "{e}"
        );
    }

    #[test]
    fn file_names_tell_the_format_through_gzip() {
        let of = |n: &str| InputFormat::from_file_name(Path::new(n));
        assert_eq!(of("a/b.CSV.gz"), Some(InputFormat::Csv));
        assert_eq!(of("t.fits"), Some(InputFormat::Fits));
        assert_eq!(of("t.vot"), Some(InputFormat::VoTable));
        assert_eq!(of("t.dat"), None);
        assert_eq!(of("README"), None);
    }
}
