//! What an asynchronous TAP job does when a worker takes it: the same
//! request checks, uploads, translation and execution as a synchronous
//! query, and the same result pipeline, writing into the job's `result`
//! file instead of a response. An abort or the job's time limit cancels
//! the query through the same token that a vanished client would.

use crate::AppState;
use crate::error::ServiceError;
use crate::request::{Params, QueryRequest};
use crate::uploads::{self, Parts};
use catalog_model::AllowAll;
use futures::future::BoxFuture;
use query_engine::{Ending, Engine, FileSink, QueryOptions, write_result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;
use uws_jobs::{JobFailure, JobResult, Progress, RunContext, Runner};

/// The folder of a job's inline uploads, inside its own folder.
pub(crate) const UPLOAD_FOLDER: &str = "upload";
/// The result's identifier and file name (TAP 1.1 §2.2.2: `.../results/result`).
pub(crate) const RESULT: &str = "result";
/// How often an executing job's progress is read from its plan.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Runs TAP jobs on the service's engine. Holds the service weakly: the
/// service owns the job system, which owns this runner.
pub(crate) struct TapRunner {
    pub(crate) state: std::sync::OnceLock<Weak<AppState>>,
}

impl Runner for TapRunner {
    fn run(&self, job: RunContext) -> BoxFuture<'static, Result<Vec<JobResult>, JobFailure>> {
        let state = self.state.get().and_then(Weak::upgrade);
        Box::pin(async move {
            let Some(state) = state else {
                return Err(JobFailure::transient(
                    "the service is shutting down; run the job again later",
                ));
            };
            run_job(&state, job).await.map_err(failure)
        })
    }
}

/// A job's failure as its owner reads it: the same message a synchronous
/// query would answer with; whether running it again can help from whose
/// fault it is.
fn failure(e: ServiceError) -> JobFailure {
    let message = e.message();
    if e.status().is_client_error() {
        JobFailure::fatal(message)
    } else {
        JobFailure::transient(message)
    }
}

async fn run_job(state: &Arc<AppState>, job: RunContext) -> Result<Vec<JobResult>, ServiceError> {
    let params = Params::from_pairs(job.job.parameters.clone());
    let request = QueryRequest::from_tap(&params, &state.limits)?;
    let parts = stored_parts(&job.folder)?;
    let session;
    let engine: &Engine = if request.uploads.is_empty() {
        &state.engine
    } else {
        let tables = uploads::load(&request.uploads, &parts, &state.engine, &state.limits).await?;
        session = state.engine.with_uploads(tables).await?;
        &session
    };
    let translation = engine.translate(&request.adql, &AllowAll)?;
    let options = QueryOptions {
        maxrec: Some(request.maxrec),
        // The job system keeps the job's execution duration.
        timeout: None,
        cancel: job.cancel.clone(),
    };
    let stream = engine.execute(&translation, options).await?;
    let lane = stream.lane();
    if let Some(rows) = stream.estimated_rows() {
        job.progress.set_rows_estimated(rows);
    }
    tracing::info!(job = %job.job.id, query = request.adql, lane = lane.name(), "job executing");
    let reporting = report_progress(stream.progress(), Arc::clone(&job.progress));
    let writer = request.format.writer(stream.schema(), &request.adql)?;
    let mime_type = writer.content_type().to_string();
    let path = job.folder.join(RESULT);
    let mut sink = FileSink::create(&path).map_err(|e| storage_failure(&path, e))?;
    let written = engine
        .run(lane, async move {
            let written = write_result(stream, writer, &mut sink).await;
            (written, sink)
        })
        .await;
    reporting.abort();
    let (written, sink) = written?;
    let written = written?;
    let overflow = match written.ending {
        Ending::Complete => false,
        Ending::Overflow => true,
        Ending::Failed(e) => return Err(e.into()),
    };
    sink.commit().map_err(|e| storage_failure(&path, e))?;
    job.progress
        .set_rows_read(job.progress.get().0.max(written.rows));
    crate::metrics::Metrics::add(&state.metrics.queries, 1);
    Ok(vec![JobResult {
        id: RESULT.into(),
        mime_type,
        size: written.bytes,
        rows: written.rows,
        overflow,
    }])
}

/// Copies the plan's scan progress into the job's, until aborted; it only
/// grows (a cluster's scheduler that does not answer once reports less).
fn report_progress(
    scan: query_engine::ScanProgress,
    progress: Arc<Progress>,
) -> tokio::task::AbortHandle {
    tokio::spawn(async move {
        while let Some(rows) = scan.rows_read_now().await {
            progress.set_rows_read(rows.max(progress.get().0));
            tokio::time::sleep(PROGRESS_EVERY).await;
        }
    })
    .abort_handle()
}

/// A result that cannot be stored: a full disk says so; anything else is
/// the service's failure, with the path for the log only.
fn storage_failure(path: &Path, e: std::io::Error) -> ServiceError {
    if e.kind() == std::io::ErrorKind::StorageFull {
        ServiceError::internal(
            "the service's disk is full, so the result could not be stored; try again later or ask for fewer rows",
            format!("{}: {e}", path.display()),
        )
    } else {
        ServiceError::internal(
            "the service could not store the result",
            format!("{}: {e}", path.display()),
        )
    }
}

/// The inline uploads a job was created with, kept in its folder under
/// their part names (hex-encoded, since part names are the client's).
fn stored_parts(folder: &Path) -> Result<Parts, ServiceError> {
    let mut parts = Parts::default();
    let dir = folder.join(UPLOAD_FOLDER);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(parts);
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some(name) = decode_part_name(&file) {
            parts.bytes += entry.metadata().map_or(0, |m| m.len());
            parts.files.insert(name, entry.path());
        }
    }
    Ok(parts)
}

/// Moves the files of a creation request into the job's folder, so that
/// the job can run after the request is gone, and after a restart.
pub(crate) fn keep_parts(
    parts: &Parts,
    folder: &Path,
) -> Result<HashMap<String, PathBuf>, ServiceError> {
    let mut kept = HashMap::new();
    if parts.files.is_empty() {
        return Ok(kept);
    }
    let dir = folder.join(UPLOAD_FOLDER);
    let cannot =
        |e: std::io::Error| ServiceError::internal("cannot store the job's uploaded tables", e);
    std::fs::create_dir_all(&dir).map_err(cannot)?;
    for (name, path) in &parts.files {
        let target = dir.join(encode_part_name(name));
        if std::fs::rename(path, &target).is_err() {
            std::fs::copy(path, &target).map_err(cannot)?;
        }
        kept.insert(name.clone(), target);
    }
    Ok(kept)
}

fn encode_part_name(name: &str) -> String {
    name.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_part_name(file: &str) -> Option<String> {
    if !file.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..file.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(file.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// The multipart parts a job's UPLOAD refers to (`name,param:PART`).
pub(crate) fn inline_part_names(job: &uws_jobs::Job) -> Vec<String> {
    let Some(spec) = job.parameter("UPLOAD") else {
        return Vec::new();
    };
    uploads::UploadSpec::parse_all(spec)
        .map(|specs| {
            specs
                .into_iter()
                .filter_map(|s| match s.source {
                    uploads::UploadSource::Part(p) => Some(p),
                    uploads::UploadSource::Url(_) => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The path of an inline upload's file in a job's folder, if it has one.
pub(crate) fn stored_part(folder: &Path, name: &str) -> Option<PathBuf> {
    let path = folder.join(UPLOAD_FOLDER).join(encode_part_name(name));
    path.is_file().then_some(path)
}

/// `name` as one URL path segment: what is not unreserved, percent-encoded.
pub(crate) fn url_segment(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_survive_the_file_system() {
        for name in ["t", "my table", "../../etc", "ü"] {
            let file = encode_part_name(name);
            assert!(file.bytes().all(|b| b.is_ascii_hexdigit()));
            assert_eq!(decode_part_name(&file).as_deref(), Some(name));
        }
        assert_eq!(decode_part_name("zz"), None);
    }
}
