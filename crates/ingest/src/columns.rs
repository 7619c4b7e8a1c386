//! What every reader of our own shares: Arrow schemas and builders for
//! columns of an [`AdqlType`], the record of a column left out because its
//! type cannot be stored, and the limit on identifiers.
//!
//! Must never know a file format: the readers (`fits`, `votable`,
//! `text_table`) depend on it, not it on them.

use crate::error::Error;
use catalog_model::AdqlType;
use datafusion::arrow::array::{
    ArrayBuilder, BooleanBuilder, Float32Builder, Float64Builder, Int16Builder, Int32Builder,
    Int64Builder, ListBuilder, StringBuilder,
};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use std::path::Path;
use std::sync::Arc;

/// The longest column name accepted, in characters. Real catalogs stay far
/// below (FITS allows 68 characters, VizieR labels a few dozen); a longer
/// one is a broken or hostile file, refused before it reaches the catalog.
pub const MAX_IDENTIFIER_CHARS: usize = 1000;

/// The Arrow schema of columns given by name and type (all nullable).
pub(crate) fn schema_of<'a>(columns: impl IntoIterator<Item = (&'a str, AdqlType)>) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .into_iter()
            .map(|(name, ty)| Field::new(name, ty.to_arrow(), true))
            .collect::<Vec<_>>(),
    ))
}

/// An empty Arrow builder for values of `ty` (geometry and arrays as lists of doubles).
pub(crate) fn builder_for(ty: AdqlType) -> Box<dyn ArrayBuilder> {
    match ty {
        AdqlType::Boolean => Box::new(BooleanBuilder::new()),
        AdqlType::SmallInt => Box::new(Int16Builder::new()),
        AdqlType::Integer => Box::new(Int32Builder::new()),
        AdqlType::BigInt => Box::new(Int64Builder::new()),
        AdqlType::Real => Box::new(Float32Builder::new()),
        AdqlType::Double => Box::new(Float64Builder::new()),
        AdqlType::Varchar => Box::new(StringBuilder::new()),
        _ => Box::new(ListBuilder::new(Float64Builder::new())),
    }
}

/// A column of the input whose type has no column type here (complex
/// numbers, bit arrays, arrays of booleans or strings, nested types): the
/// rest of the table is read without it, with a warning, unless the caller
/// asked to be strict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    /// The column's name in the file.
    pub column: String,
    /// Why it cannot be stored, e.g. "datatype floatComplex: complex
    /// numbers cannot be stored".
    pub reason: String,
}

impl LeftOut {
    /// The warning shown when the column is left out.
    pub fn warning(&self, file: &Path) -> String {
        format!(
            "{}: column {} left out: {}",
            file.display(),
            self.column,
            self.reason
        )
    }

    /// The error when left-out columns are refused; `hint` says what to do.
    pub fn refusal(&self, file: &Path, hint: &str) -> Error {
        Error::input(
            file,
            format!("column {}: {}; {hint}", self.column, self.reason),
        )
    }
}

/// Checks a column name's length; the error shows its start only.
pub(crate) fn check_identifier(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if chars <= MAX_IDENTIFIER_CHARS {
        return Ok(());
    }
    let start: String = name.chars().take(40).collect();
    Err(format!(
        "the column name \"{start}…\" has {chars} characters; names of at most {MAX_IDENTIFIER_CHARS} are accepted"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_up_to_the_limit_pass_and_longer_ones_are_refused_briefly() {
        assert!(check_identifier(&"é".repeat(MAX_IDENTIFIER_CHARS)).is_ok());
        let e = check_identifier(&"x".repeat(5000)).unwrap_err();
        assert!(e.contains("has 5000 characters"), "{e}");
        assert!(e.len() < 200, "{e}");
    }
}
