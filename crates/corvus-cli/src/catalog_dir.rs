//! Reads the catalog of a data directory for `corvus adql check --catalog`:
//! the SQLite catalog that `corvus ingest` keeps, or, in a directory without
//! one, the Parquet files of each table folder, described by their footers
//! (units, UCDs and descriptions in the field metadata).

use anyhow::bail;
use catalog_model::StaticCatalog;
use std::path::Path;

pub(crate) fn load_catalog(dir: &Path) -> anyhow::Result<StaticCatalog> {
    if !dir.is_dir() {
        bail!("data directory {} does not exist", dir.display());
    }
    if catalog_store::has_catalog(dir) {
        let data = crate::data::open_data_dir(dir)?;
        return Ok(data.catalog()?);
    }
    let mut catalog = StaticCatalog::new(Vec::new());
    for t in catalog_store::bare_tables(dir)? {
        catalog.add(ingest::parquet_info::table_info(
            &t.first_file,
            &t.schema,
            &t.table,
        )?);
    }
    Ok(catalog)
}
