//! A query's rows as the `.slt` files spell them, read back from Parquet
//! bytes: the in-process engine writes them through the result pipeline,
//! the HTTP engine fetches them from `/tap/sync`, and both are read by the
//! same code, so the two can only differ where the service does.

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The rows of a Parquet result, each cell formatted as text: NULL as
/// `NULL`, the empty string as `(empty)`.
pub fn rows_of_parquet(bytes: Vec<u8>) -> Result<Vec<Vec<String>>, String> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .and_then(|b| b.build())
        .map_err(|e| format!("not a Parquet result: {e}"))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        rows.extend(rows_of(&batch)?);
    }
    Ok(rows)
}

/// The rows of a batch, formatted as [`rows_of_parquet`] says.
pub fn rows_of(batch: &RecordBatch) -> Result<Vec<Vec<String>>, String> {
    let options = FormatOptions::default().with_null("NULL");
    let formatters = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    Ok((0..batch.num_rows())
        .map(|r| {
            formatters
                .iter()
                .map(|f| {
                    let s = f.value(r).to_string();
                    if s.is_empty() {
                        "(empty)".to_string()
                    } else {
                        s
                    }
                })
                .collect()
        })
        .collect())
}
