//! The logical plan codec of every Corvus node: Ballista's own, plus
//! in-memory tables. DataFusion's protobuf form knows Parquet listings and
//! views but not `MemTable`, which is what TAP_SCHEMA and TAP uploads are;
//! a plan that joins one of them with a catalog table ships its rows inline
//! as an Arrow IPC stream behind a tag.

use ballista_core::serde::BallistaLogicalExtensionCodec;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::catalog::{MemTable, TableProvider};
use datafusion::common::{DataFusionError, Result, TableReference};
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use std::sync::Arc;

/// Marks an encoded in-memory table; Ballista's codec never writes it.
const MEMORY_TABLE: &[u8] = b"corvus.memtable.v1\n";

/// Ballista's logical codec with in-memory tables added.
#[derive(Debug, Default)]
pub struct CorvusLogicalCodec {
    ballista: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for CorvusLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match buf.strip_prefix(MEMORY_TABLE) {
            Some(ipc) => decode_memory_table(ipc, schema),
            None => self
                .ballista
                .try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        match node.downcast_ref::<MemTable>() {
            Some(table) => encode_memory_table(table, buf),
            None => self
                .ballista
                .try_encode_table_provider(table_ref, node, buf),
        }
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.ballista.try_encode_file_format(buf, node)
    }
}

/// The tag, then every partition's batches in one IPC stream (the
/// partitions are merged: the table is small, and its order is kept).
fn encode_memory_table(table: &MemTable, buf: &mut Vec<u8>) -> Result<()> {
    buf.extend_from_slice(MEMORY_TABLE);
    let schema = table.schema();
    let mut writer = StreamWriter::try_new(&mut *buf, &schema)?;
    for partition in &table.batches {
        let batches = partition.try_read().map_err(|_| {
            DataFusionError::Internal("an in-memory table is being written to".into())
        })?;
        for batch in batches.iter() {
            writer.write(batch)?;
        }
    }
    writer.finish()?;
    Ok(())
}

fn decode_memory_table(ipc: &[u8], schema: SchemaRef) -> Result<Arc<dyn TableProvider>> {
    let reader = StreamReader::try_new(ipc, None)?;
    let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Arc::new(MemTable::try_new(schema, vec![batches])?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Float64Array, Int64Array};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn an_in_memory_table_travels_whole_and_in_order() -> Result<()> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("ra", DataType::Float64, true),
        ]));
        let batch = |ids: Vec<i64>, ra: Vec<Option<f64>>| {
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(Int64Array::from(ids)),
                    Arc::new(Float64Array::from(ra)),
                ],
            )
        };
        let table = MemTable::try_new(
            Arc::clone(&schema),
            vec![
                vec![batch(vec![3, 1], vec![Some(0.5), None])?],
                vec![batch(vec![2], vec![Some(359.999_999_999_9)])?],
            ],
        )?;
        let codec = CorvusLogicalCodec::default();
        let mut buf = Vec::new();
        let name = TableReference::bare("t");
        codec.try_encode_table_provider(&name, Arc::new(table), &mut buf)?;
        let ctx = SessionContext::new();
        let decoded =
            codec.try_decode_table_provider(&buf, &name, Arc::clone(&schema), &ctx.task_ctx())?;
        ctx.register_table("t", decoded)?;
        let rows = ctx.sql("SELECT id, ra FROM t").await?.collect().await?;
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&rows)?.to_string();
        assert_eq!(
            text,
            "+----+----------------+\n\
             | id | ra             |\n\
             +----+----------------+\n\
             | 3  | 0.5            |\n\
             | 1  |                |\n\
             | 2  | 359.9999999999 |\n\
             +----+----------------+"
        );
        Ok(())
    }

    #[test]
    fn anything_else_goes_to_ballista() {
        let codec = CorvusLogicalCodec::default();
        let ctx = SessionContext::new();
        let schema = Arc::new(Schema::empty());
        let err = codec
            .try_decode_table_provider(b"junk", &TableReference::bare("t"), schema, &ctx.task_ctx())
            .err();
        assert!(
            err.is_some(),
            "Ballista's codec refuses bytes it did not write"
        );
    }
}
