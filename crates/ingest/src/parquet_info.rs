//! What a Parquet file's footer says about its table: the columns, with the
//! units, UCDs and descriptions Corvus (or pyarrow) keeps in the Arrow field
//! metadata. `corvus adql check --catalog DIR` reads a directory of Parquet
//! files without a catalog this way.

use crate::error::{Error, Result};
use catalog_model::TableInfo;
use datafusion::parquet::arrow::arrow_reader::ArrowReaderMetadata;
use std::path::Path;

/// The table `schema.table` as described by the footer of `file`.
pub fn table_info(file: &Path, schema: &str, table: &str) -> Result<TableInfo> {
    let bad = |message: String| Error::Input {
        file: file.display().to_string(),
        message,
    };
    let f = std::fs::File::open(file).map_err(|e| bad(format!("cannot open it: {e}")))?;
    let meta = ArrowReaderMetadata::load(&f, Default::default())
        .map_err(|e| bad(format!("not a readable Parquet file: {e}")))?;
    Ok(TableInfo::from_arrow(schema, table, meta.schema()))
}
