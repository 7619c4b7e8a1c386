//! The one result pipeline: a [`ResultStream`] written through a
//! [`ResultWriter`] into a [`ResultSink`] (an HTTP body, a file, standard
//! output, memory). Sync queries, cone search, `corvus export`, `corvus
//! query`, the `.slt` runner and async jobs all write their results here.
//!
//! The header is written only once the first batch (or the end) is there,
//! so an error before the first row is returned as an error with nothing
//! written, and the caller can answer it properly (a DALI error document
//! with its HTTP status). After that, an error ends the output with the
//! writer's error footer (VOTable and JSON say QUERY_STATUS=ERROR; other
//! formats are cut short).

use crate::error::{Error, Result};
use crate::execute::{Completion, ResultStream};
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use table_writers::{QueryStatus, ResultWriter};

/// Where the bytes of a result go.
pub trait ResultSink: Send {
    /// Takes the next piece of the output.
    fn write(&mut self, bytes: Vec<u8>) -> impl Future<Output = std::io::Result<()>> + Send;
    /// The output is complete: flush what is buffered.
    fn finish(&mut self) -> impl Future<Output = std::io::Result<()>> + Send;
    /// The output is incomplete and its format cannot say so (CSV, FITS,
    /// Parquet): make the destination look broken rather than complete (an
    /// HTTP body is aborted). By default nothing: a file is not committed.
    fn abort(&mut self, error: &Error) -> impl Future<Output = ()> + Send {
        let _ = error;
        async {}
    }
}

/// What was written.
#[derive(Debug)]
pub struct Written {
    /// Rows written.
    pub rows: u64,
    /// Bytes handed to the sink.
    pub bytes: u64,
    /// How the result ended.
    pub ending: Ending,
}

/// How a written result ended.
#[derive(Debug)]
pub enum Ending {
    /// With every row.
    Complete,
    /// Cut at MAXREC, and marked so.
    Overflow,
    /// An error after rows went out; the output says so where its format can.
    Failed(Error),
}

/// Writes `stream` through `writer` into `sink`. `Err` means that nothing
/// reached the sink (the query failed before its first row, or the writer
/// failed before it wrote a byte, as FITS does until its end), or that the
/// sink itself failed, so that nothing more can be written. An error after
/// output began is reported in [`Written::ending`]; the output then ends
/// with the writer's error footer (VOTable, JSON: QUERY_STATUS=ERROR) or,
/// for a format that cannot say so, is aborted ([`ResultSink::abort`]).
pub async fn write_result<S: ResultSink>(
    mut stream: ResultStream,
    mut writer: Box<dyn ResultWriter>,
    sink: &mut S,
) -> Result<Written> {
    // Everything up to the first row is made before anything is written.
    let header = writer.header()?;
    let mut rows = 0;
    let first = match stream.next().await {
        Some(Err(e)) => return Err(e),
        Some(Ok(batch)) => {
            rows += batch.num_rows() as u64;
            writer.batch(&batch)?
        }
        None => Vec::new(),
    };
    let mut out = Output {
        sink,
        bytes: 0,
        rows,
    };
    out.put(header).await?;
    out.put(first).await?;
    let mut ending = loop {
        match stream.next().await {
            Some(Ok(batch)) => match writer.batch(&batch) {
                Ok(bytes) => {
                    out.rows += batch.num_rows() as u64;
                    out.put(bytes).await?;
                }
                Err(e) => break Ending::Failed(e.into()),
            },
            Some(Err(e)) => break Ending::Failed(e),
            None => {
                break match stream.completion() {
                    Some(Completion::Overflow) => Ending::Overflow,
                    _ => Ending::Complete,
                };
            }
        }
    };
    // The stream is done; drop it so the query's slot is free while the
    // tail (a spooled FITS file) is still being written.
    drop(stream);
    if !matches!(ending, Ending::Failed(_)) {
        let status = if matches!(ending, Ending::Overflow) {
            QueryStatus::Overflow
        } else {
            QueryStatus::Ok
        };
        if let Err(e) = write_tail(&mut *writer, status, &mut out).await? {
            ending = Ending::Failed(e);
        }
    }
    if let Ending::Failed(e) = ending {
        if out.bytes == 0 {
            return Err(e);
        }
        tracing::warn!("result failed after {} rows: {e}", out.rows);
        match writer.error_footer(&e.user_message()) {
            Some(footer) => out.put(footer).await?,
            None => {
                out.sink.abort(&e).await;
                return Ok(Written {
                    rows: out.rows,
                    bytes: out.bytes,
                    ending: Ending::Failed(e),
                });
            }
        }
        ending = Ending::Failed(e);
    }
    out.sink.finish().await.map_err(Error::Sink)?;
    Ok(Written {
        rows: out.rows,
        bytes: out.bytes,
        ending,
    })
}

/// The footer, then whatever the writer spooled, a chunk at a time (a FITS
/// result is read back from its spool file as it is sent, never held whole).
/// The outer `Err` is the sink's; the inner one the writer's.
async fn write_tail<S: ResultSink>(
    writer: &mut dyn ResultWriter,
    status: QueryStatus,
    out: &mut Output<'_, S>,
) -> Result<std::result::Result<(), Error>> {
    let footer = match writer.footer(status) {
        Ok(f) => f,
        Err(e) => return Ok(Err(e.into())),
    };
    let spooled = match writer.spooled() {
        Ok(s) => s,
        Err(e) => return Ok(Err(e.into())),
    };
    out.put(footer).await?;
    for chunk in spooled.into_iter().flatten() {
        match chunk {
            Ok(bytes) => out.put(bytes).await?,
            Err(e) => return Ok(Err(e.into())),
        }
    }
    Ok(Ok(()))
}

/// The sink and what went into it.
struct Output<'a, S> {
    sink: &'a mut S,
    bytes: u64,
    rows: u64,
}

impl<S: ResultSink> Output<'_, S> {
    async fn put(&mut self, bytes: Vec<u8>) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.bytes += bytes.len() as u64;
        self.sink.write(bytes).await.map_err(Error::Sink)
    }
}

/// A sink over anything that implements [`Write`] (standard output, a
/// buffer). Writes block; use it off the threads that serve requests.
pub struct WriteSink<W: Write + Send>(pub W);

impl<W: Write + Send> ResultSink for WriteSink<W> {
    async fn write(&mut self, bytes: Vec<u8>) -> std::io::Result<()> {
        self.0.write_all(&bytes)
    }

    async fn finish(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// A file written under a temporary name beside its final one and renamed
/// into place by [`FileSink::commit`]: a failed or abandoned result leaves
/// no file behind, never a half-written one under the final name.
pub struct FileSink {
    file: Option<std::io::BufWriter<std::fs::File>>,
    partial: PathBuf,
    path: PathBuf,
    /// Renamed into place: the partial file is the final one now.
    committed: bool,
}

impl FileSink {
    /// Starts writing `path` (as `path.partial` until committed).
    pub fn create(path: &Path) -> std::io::Result<FileSink> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let file = std::fs::File::create(&partial)?;
        Ok(FileSink {
            file: Some(std::io::BufWriter::with_capacity(1 << 20, file)),
            partial,
            path: path.to_path_buf(),
            committed: false,
        })
    }

    /// Makes the file appear under its final name, synced to disk.
    pub fn commit(mut self) -> std::io::Result<()> {
        if let Some(file) = self.file.take() {
            let file = file.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
        }
        std::fs::rename(&self.partial, &self.path)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        // Not committed (abandoned, or the commit failed): no partial file stays.
        if !self.committed {
            drop(self.file.take());
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

impl ResultSink for FileSink {
    async fn write(&mut self, bytes: Vec<u8>) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.write_all(&bytes),
            None => Err(std::io::Error::other("the file is already committed")),
        }
    }

    async fn finish(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_not_committed_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("result.vot");
        let mut sink = FileSink::create(&path).unwrap();
        sink.write(b"<VOTABLE".to_vec()).await.unwrap();
        drop(sink);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // A commit that fails (its folder is gone) leaves nothing either.
        let gone = dir.path().join("gone");
        std::fs::create_dir(&gone).unwrap();
        let mut sink = FileSink::create(&gone.join("result.vot")).unwrap();
        sink.write(b"data".to_vec()).await.unwrap();
        sink.path = dir.path().join("no/such/folder/result.vot");
        assert!(sink.commit().is_err());
        assert_eq!(std::fs::read_dir(&gone).unwrap().count(), 0);
        // A committed one is there under its name only.
        let mut sink = FileSink::create(&path).unwrap();
        sink.write(b"<VOTABLE/>".to_vec()).await.unwrap();
        sink.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"<VOTABLE/>");
        assert!(!dir.path().join("result.vot.partial").exists());
    }
}
