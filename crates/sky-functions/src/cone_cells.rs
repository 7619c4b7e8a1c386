//! `adql_cone_cells(depth, ra, dec, radius)`: the HEALPix cells at `depth`
//! that a circle around each row's position overlaps, as a list. The
//! planner's crossmatch unnests it on one side and joins it on equality
//! with the other side's cell, turning a pairwise distance test into a
//! hash join (see `adql-planner`'s `sky_index.rs`).

use crate::sky_index::cone_cells;
use datafusion::arrow::array::{Array, AsArray, Int64Builder, ListBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use std::sync::Arc;

/// The name the planner calls it by.
pub const NAME: &str = "adql_cone_cells";

/// The UDF.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ConeCells {
    signature: Signature,
}

impl ConeCells {
    /// Wrapped for registration.
    pub fn udf() -> ScalarUDF {
        let f64 = DataType::Float64;
        ScalarUDF::new_from_impl(ConeCells {
            signature: Signature::one_of(
                vec![TypeSignature::Exact(vec![
                    DataType::Int64,
                    f64.clone(),
                    f64.clone(),
                    f64,
                ])],
                Volatility::Immutable,
            ),
        })
    }
}

fn list_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true)))
}

impl ScalarUDFImpl for ConeCells {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        // Scalars become arrays as long as the batch (of one value when
        // every argument is a scalar).
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let n = if all_scalar { 1 } else { args.number_rows };
        let depth = arrays[0].as_primitive::<Int64Type>();
        let (ra, dec, radius) = (
            arrays[1].as_primitive::<Float64Type>(),
            arrays[2].as_primitive::<Float64Type>(),
            arrays[3].as_primitive::<Float64Type>(),
        );
        let mut out = ListBuilder::with_capacity(Int64Builder::with_capacity(n * 2), n);
        for row in 0..n {
            if depth.is_null(row) || ra.is_null(row) || dec.is_null(row) || radius.is_null(row) {
                out.append_null();
                continue;
            }
            let depth = depth.value(row);
            if !(0..=29).contains(&depth) {
                return exec_err!("{NAME}: depth {depth} is not a HEALPix order (0 to 29)");
            }
            for cell in cone_cells(
                depth as u8,
                ra.value(row),
                dec.value(row),
                radius.value(row),
            ) {
                out.values().append_value(cell as i64);
            }
            out.append(true);
        }
        let array: datafusion::arrow::array::ArrayRef = Arc::new(out.finish());
        if all_scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &array, 0,
            )?));
        }
        Ok(ColumnarValue::Array(array))
    }
}
