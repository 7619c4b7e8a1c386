//! Uploaded tables (TAP_UPLOAD) written where a cluster's workers read
//! them: a staging folder of the data directory, which every node mounts
//! at the same path, with one Parquet file per table. The folder is locked
//! while the session and its queries live and removed when they are gone;
//! if this process dies first, the next `DataDir::open` removes it.

use crate::error::{Error, Result};
use catalog_model::TableInfo;
use catalog_store::Staging;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use std::path::{Path, PathBuf};

/// An uploaded table as the service read it: its description, schema and rows.
pub type UploadedTable = (TableInfo, SchemaRef, Vec<RecordBatch>);

/// `tables` written in a new staging folder of the data directory at
/// `root`: the folder, and each table's description (with its row count)
/// and subfolder.
pub(crate) fn stage(
    root: &Path,
    tables: Vec<UploadedTable>,
) -> Result<(Staging, Vec<(TableInfo, PathBuf)>)> {
    let staging = Staging::create(root).map_err(|e| Error::Staging(e.to_string()))?;
    let mut staged = Vec::with_capacity(tables.len());
    for (index, (mut info, schema, batches)) in tables.into_iter().enumerate() {
        // A folder name of our own: the table's name is the user's.
        let folder = staging.path().join(format!("upload-{index}"));
        info.layout.rows = Some(write_parquet(&folder, schema, &batches)?);
        staged.push((info, folder));
    }
    Ok((staging, staged))
}

/// Writes `batches` as `folder/part-0.parquet`; returns the rows written.
fn write_parquet(folder: &Path, schema: SchemaRef, batches: &[RecordBatch]) -> Result<u64> {
    let failed = |e: &dyn std::fmt::Display| Error::Staging(format!("{}: {e}", folder.display()));
    std::fs::create_dir(folder).map_err(|e| failed(&e))?;
    let file = std::fs::File::create(folder.join("part-0.parquet")).map_err(|e| failed(&e))?;
    let mut writer = ArrowWriter::try_new(file, schema, None).map_err(|e| failed(&e))?;
    let mut rows = 0;
    for batch in batches {
        writer.write(batch).map_err(|e| failed(&e))?;
        rows += batch.num_rows() as u64;
    }
    writer.close().map_err(|e| failed(&e))?;
    Ok(rows)
}
