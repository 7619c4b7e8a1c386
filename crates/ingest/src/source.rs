//! Readers of our own (ASCII, FITS, VOTable) as DataFusion sources: each runs
//! on a blocking thread and hands batches over a channel that holds two at
//! most, so memory is bounded by the batch size whatever the file size.
//!
//! The reader's thread ends the channel with an explicit end of data; a
//! stream that closes without it (a reader that panicked, or a thread that
//! died some other way) ends in an error naming the input, never in a
//! silently shorter table.
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
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;

type Sink<'a> = &'a mut dyn FnMut(RecordBatch) -> Result<(), DataFusionError>;

/// A file reader that produces batches.
pub(crate) trait BatchSource: Clone + Debug + Send + Sync + 'static {
    /// The schema of every batch.
    fn schema(&self) -> SchemaRef;
    /// The input, for messages: the file, or the files in order.
    fn input(&self) -> String;
    /// Reads the whole input, batch by batch.
    fn read_into(&self, sink: Sink<'_>) -> Result<(), DataFusionError>;
}

impl BatchSource for TextTable {
    fn schema(&self) -> SchemaRef {
        TextTable::schema(self)
    }
    fn input(&self) -> String {
        let names: Vec<String> = self.files.iter().map(|f| f.display().to_string()).collect();
        names.join(", ")
    }
    fn read_into(&self, sink: Sink<'_>) -> Result<(), DataFusionError> {
        self.read(sink)
    }
}

impl BatchSource for FitsTable {
    fn schema(&self) -> SchemaRef {
        FitsTable::schema(self)
    }
    fn input(&self) -> String {
        display(&self.file)
    }
    fn read_into(&self, sink: Sink<'_>) -> Result<(), DataFusionError> {
        self.read(sink)
    }
}

impl BatchSource for VoTable {
    fn schema(&self) -> SchemaRef {
        VoTable::schema(self)
    }
    fn input(&self) -> String {
        display(&self.file)
    }
    fn read_into(&self, sink: Sink<'_>) -> Result<(), DataFusionError> {
        self.read(sink)
    }
}

fn display(file: &Path) -> String {
    file.display().to_string()
}

/// What the reader's thread sends: batches, then an error or the end.
enum Message {
    Batch(RecordBatch),
    Failed(DataFusionError),
    End,
}

/// Runs `source` to the end, sending what it reads into `tx`. A panic in
/// the reader is caught here and sent as an error: it is a bug in a reader,
/// but one file must not cost the process, nor pass for a shorter table.
fn run<S: BatchSource>(source: &S, tx: &tokio::sync::mpsc::Sender<Message>) {
    let read = std::panic::catch_unwind(AssertUnwindSafe(|| {
        source.read_into(&mut |b| {
            tx.blocking_send(Message::Batch(b))
                .map_err(|_| DataFusionError::Execution("ingest cancelled".into()))
        })
    }));
    let last = match read {
        Ok(Ok(())) => Message::End,
        Ok(Err(e)) => Message::Failed(e),
        Err(panic) => Message::Failed(reader_failed(&source.input(), &panic_text(&*panic))),
    };
    // Nobody listening means the query was dropped: nothing to tell.
    let _ = tx.blocking_send(last);
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

fn reader_failed(input: &str, why: &str) -> DataFusionError {
    DataFusionError::Execution(format!(
        "{input}: the reader stopped before the end of the data ({why}). This is a bug in Corvus: please report it with the file"
    ))
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
        let input = source.input();
        let (tx, rx) = tokio::sync::mpsc::channel::<Message>(2);
        tokio::task::spawn_blocking(move || run(&source, &tx));
        // `Some(rx)` until the stream has ended; a channel that closes before
        // `End` or an error is a reader that died.
        let stream = futures::stream::unfold(Some(rx), move |rx| {
            let input = input.clone();
            async move {
                let mut rx = rx?;
                match rx.recv().await {
                    Some(Message::Batch(b)) => Some((Ok(b), Some(rx))),
                    Some(Message::Failed(e)) => Some((Err(e), None)),
                    Some(Message::End) => None,
                    None => Some((Err(reader_failed(&input, "its thread ended")), None)),
                }
            }
        });
        Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int32Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::prelude::SessionContext;
    use futures::StreamExt;

    /// A reader that sends `batches` one-row batches, then panics if `panics`.
    #[derive(Debug, Clone)]
    struct Scripted {
        batches: i32,
        panics: bool,
    }

    impl BatchSource for Scripted {
        fn schema(&self) -> SchemaRef {
            Arc::new(Schema::new(vec![Field::new("x", DataType::Int32, true)]))
        }
        fn input(&self) -> String {
            "/data/scripted.fits".into()
        }
        fn read_into(&self, sink: Sink<'_>) -> Result<(), DataFusionError> {
            for i in 0..self.batches {
                let column = Arc::new(Int32Array::from(vec![i]));
                sink(RecordBatch::try_new(self.schema(), vec![column])?)?;
            }
            if self.panics {
                panic!("range end index 4 out of range for slice of length 0");
            }
            Ok(())
        }
    }

    async fn drain(source: Scripted) -> (usize, Option<String>) {
        let ctx = SessionContext::new();
        let mut stream = SourcePartition::new(source).execute(ctx.task_ctx());
        let mut rows = 0;
        while let Some(item) = stream.next().await {
            match item {
                Ok(b) => rows += b.num_rows(),
                Err(e) => return (rows, Some(e.to_string())),
            }
        }
        (rows, None)
    }

    #[tokio::test]
    async fn a_reader_that_panics_ends_the_stream_in_an_error_naming_the_input() {
        let (rows, error) = drain(Scripted {
            batches: 2,
            panics: true,
        })
        .await;
        assert_eq!(rows, 2);
        let error = error.expect("a panicking reader must not end the stream quietly");
        assert!(
            error.contains(
                "/data/scripted.fits: the reader stopped before the end of the data (range end index 4 out of range"
            ),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_reader_that_finishes_ends_the_stream_cleanly() {
        let (rows, error) = drain(Scripted {
            batches: 3,
            panics: false,
        })
        .await;
        assert_eq!((rows, error), (3, None));
    }
}
