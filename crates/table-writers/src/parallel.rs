//! Formatting one batch on several cores. Turning numbers into text (the
//! shortest decimal that reads back to the same double) is most of the cost
//! of the text formats, and each row's text depends on that row alone, so a
//! batch is cut into slices of rows that are formatted at once and joined in
//! order: the bytes are the same as formatting the batch whole. The slices
//! run on rayon's pool, apart from the threads that serve HTTP, so
//! concurrent results share the cores rather than each taking them all.

use crate::Result;
use datafusion::arrow::record_batch::RecordBatch;
use rayon::prelude::*;

/// Rows below which a slice is not worth a thread of its own.
const MIN_ROWS_PER_SLICE: usize = 2048;

/// `format` applied to slices of `batch` on rayon's pool (one thread per
/// core, shared by every result being written), the outputs concatenated in
/// row order. `format` must depend on its rows only.
pub(crate) fn format_rows(
    batch: &RecordBatch,
    format: impl Fn(&RecordBatch) -> Result<Vec<u8>> + Sync,
) -> Result<Vec<u8>> {
    let rows = batch.num_rows();
    let slices = rayon::current_num_threads()
        .min(rows / MIN_ROWS_PER_SLICE)
        .max(1);
    if slices == 1 {
        return format(batch);
    }
    let per_slice = rows.div_ceil(slices);
    let parts: Vec<Vec<u8>> = (0..slices)
        .into_par_iter()
        .map(|i| {
            let start = i * per_slice;
            format(&batch.slice(start, per_slice.min(rows - start)))
        })
        .collect::<Result<_>>()?;
    Ok(parts.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    #[test]
    fn slices_are_joined_in_row_order() {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let n = 10_000;
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(0..n))])
                .unwrap();
        let text = |b: &RecordBatch| {
            let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            Ok(a.values()
                .iter()
                .map(|v| format!("{v}\n"))
                .collect::<String>()
                .into_bytes())
        };
        let expected: String = (0..n).map(|v| format!("{v}\n")).collect();
        assert_eq!(format_rows(&batch, text).unwrap(), expected.into_bytes());
    }
}
