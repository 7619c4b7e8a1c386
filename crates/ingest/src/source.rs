//! Readers of our own (ASCII, FITS, VOTable) as DataFusion sources: each runs
//! on a blocking thread and hands batches over a channel that holds two at
//! most, so memory is bounded by the batch size whatever the file size.
//!
//! Knows the readers (it runs them); no reader knows it.

use crate::fits::FitsTable;
use crate::text_table::TextTable;
use crate::votable::VoTable;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use std::fmt::Debug;
use std::sync::Arc;

type Sink<'a> = &'a mut dyn FnMut(RecordBatch) -> Result<(), DataFusionError>;

/// A file reader that produces batches.
pub(crate) trait BatchSource: Clone + Debug + Send + Sync + 'static {
    /// The schema of every batch.
    fn schema(&self) -> SchemaRef;
    /// Reads the whole input, batch by batch.
    fn read_into(&self, sink: Sink<'_>) -> Result<(), DataFusionError>;
}

impl BatchSource for TextTable {
    fn schema(&self) -> SchemaRef {
        TextTable::schema(self)
    }
    fn read_into(&self, sink: Sink<'_>) -> Result<(), DataFusionError> {
        self.read(sink)
    }
}

impl BatchSource for FitsTable {
    fn schema(&self) -> SchemaRef {
        FitsTable::schema(self)
    }
    fn read_into(&self, sink: Sink<'_>) -> Result<(), DataFusionError> {
        self.read(sink)
    }
}

impl BatchSource for VoTable {
    fn schema(&self) -> SchemaRef {
        VoTable::schema(self)
    }
    fn read_into(&self, sink: Sink<'_>) -> Result<(), DataFusionError> {
        self.read(sink)
    }
}

/// A [`BatchSource`] as a DataFusion partition stream.
#[derive(Debug)]
pub(crate) struct SourcePartition<S> {
    source: S,
    schema: SchemaRef,
}

impl<S: BatchSource> SourcePartition<S> {
    pub(crate) fn new(source: S) -> Self {
        let schema = source.schema();
        SourcePartition { source, schema }
    }
}

impl<S: BatchSource> PartitionStream for SourcePartition<S> {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let source = self.source.clone();
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch, DataFusionError>>(2);
        tokio::task::spawn_blocking(move || {
            let outcome = source.read_into(&mut |b| {
                tx.blocking_send(Ok(b))
                    .map_err(|_| DataFusionError::Execution("ingest cancelled".into()))
            });
            if let Err(e) = outcome {
                let _ = tx.blocking_send(Err(e));
            }
        });
        let stream =
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
        Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        ))
    }
}
