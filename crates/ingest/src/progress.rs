//! Counting rows as they stream from the reader into the sort, for the
//! progress display: a volatile filter function that is always true and adds
//! each batch's row count to a shared counter.

use datafusion::arrow::array::BooleanArray;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Name of the counting function in the ingest query.
pub(crate) const NAME: &str = "corvus_ingest_progress";

#[derive(Debug)]
struct RowCounter {
    rows: Arc<AtomicU64>,
    signature: Signature,
}

impl PartialEq for RowCounter {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.rows, &other.rows)
    }
}
impl Eq for RowCounter {}
impl std::hash::Hash for RowCounter {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        NAME.hash(state);
    }
}

impl ScalarUDFImpl for RowCounter {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        self.rows
            .fetch_add(args.number_rows as u64, Ordering::Relaxed);
        Ok(ColumnarValue::Array(Arc::new(BooleanArray::from(
            vec![true; args.number_rows],
        ))))
    }
}

/// The function, counting into `rows`.
pub(crate) fn counter(rows: Arc<AtomicU64>) -> ScalarUDF {
    ScalarUDF::new_from_impl(RowCounter {
        rows,
        signature: Signature::any(1, Volatility::Volatile),
    })
}
