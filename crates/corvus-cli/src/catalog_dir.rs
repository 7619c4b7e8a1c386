//! Reads the catalog of a data directory: the SQLite catalog that `corvus
//! ingest` keeps, or, in a directory without one, every
//! `tables/<schema>/<table>/` folder holding Parquet files, described by the
//! Arrow schema in its footer (units, UCDs and descriptions in field metadata).

use anyhow::{Context, bail};
use catalog_model::{StaticCatalog, TableInfo};
use datafusion::parquet::arrow::arrow_reader::ArrowReaderMetadata;
use std::fs::File;
use std::path::Path;

pub(crate) fn load_catalog(dir: &Path) -> anyhow::Result<StaticCatalog> {
    let tables_dir = dir.join("tables");
    if !dir.is_dir() {
        bail!("data directory {} does not exist", dir.display());
    }
    if dir.join("state.sqlite").is_file() {
        let data = catalog_store::DataDir::open(dir)
            .with_context(|| format!("cannot open the data directory {}", dir.display()))?;
        return Ok(data.catalog()?);
    }
    let mut catalog = StaticCatalog::new(Vec::new());
    if !tables_dir.is_dir() {
        return Ok(catalog);
    }
    for schema in sorted_dirs(&tables_dir)? {
        for table in sorted_dirs(&schema)? {
            let Some(file) = first_parquet(&table)? else {
                continue;
            };
            let f = File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
            let meta = ArrowReaderMetadata::load(&f, Default::default())
                .with_context(|| format!("{} is not a readable Parquet file", file.display()))?;
            catalog.add(TableInfo::from_arrow(
                &file_name(&schema),
                &file_name(&table),
                meta.schema(),
            ));
        }
    }
    Ok(catalog)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn sorted_dirs(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && !file_name(p).starts_with('.'))
        .collect();
    out.sort();
    Ok(out)
}

fn first_parquet(dir: &Path) -> anyhow::Result<Option<std::path::PathBuf>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    Ok(files.into_iter().next())
}
