//! Parquet, with the VOTable-Parquet convention (IVOA note, as STILTS and
//! astropy read it): the key `IVOA.VOTable-Parquet.version` = "1.0" and
//! `IVOA.VOTable-Parquet.content`, a VOTable whose FIELDs carry each
//! column's unit, UCD, utype, xtype and description. The Arrow schema in the
//! footer carries the same metadata for Arrow readers. Rows are buffered one
//! row group at a time (64k rows), so memory stays flat.

use crate::{Error, QueryStatus, Result, ResultWriter, VOTABLE_OPEN, VoTableWriter};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::metadata::KeyValue;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Rows per row group.
const ROW_GROUP_ROWS: usize = 65_536;

/// A `Write` whose bytes are taken out after each batch.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

/// Writes Parquet.
pub struct ParquetWriter {
    sink: Shared,
    writer: Option<ArrowWriter<Shared>>,
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::Format(e.to_string())
}

impl ParquetWriter {
    /// A writer for results of `schema`.
    pub fn new(schema: SchemaRef) -> Result<Self> {
        let content = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{VOTABLE_OPEN}\n<RESOURCE type=\"results\">\n<TABLE>\n{}</TABLE>\n</RESOURCE>\n</VOTABLE>\n",
            VoTableWriter::fields_xml(&schema)
        );
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            // A download is read once, whole: dictionaries and page
            // statistics would cost more to write than they save to read.
            .set_dictionary_enabled(false)
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_key_value_metadata(Some(vec![
                KeyValue::new("IVOA.VOTable-Parquet.version".into(), "1.0".to_string()),
                KeyValue::new("IVOA.VOTable-Parquet.content".into(), content),
            ]))
            .build();
        let sink = Shared::default();
        let writer = ArrowWriter::try_new(sink.clone(), schema, Some(props)).map_err(err)?;
        Ok(ParquetWriter {
            sink,
            writer: Some(writer),
        })
    }
}

impl ResultWriter for ParquetWriter {
    fn content_type(&self) -> &'static str {
        "application/vnd.apache.parquet"
    }

    fn header(&mut self) -> Result<Vec<u8>> {
        Ok(self.sink.take())
    }

    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>> {
        for (col, field) in batch.columns().iter().zip(batch.schema_ref().fields()) {
            if let DataType::List(_) = col.data_type() {
                crate::text::refuse_compound_regions(col.as_ref(), field.name())?;
            }
        }
        if let Some(w) = self.writer.as_mut() {
            w.write(batch).map_err(err)?;
        }
        Ok(self.sink.take())
    }

    fn footer(&mut self, _status: QueryStatus) -> Result<Vec<u8>> {
        if let Some(w) = self.writer.take() {
            w.close().map_err(err)?;
        }
        Ok(self.sink.take())
    }
}
