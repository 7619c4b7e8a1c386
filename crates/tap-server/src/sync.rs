//! `/tap/sync`: TAP 1.1 §2.3 synchronous queries.

use crate::metrics::Metrics;
use crate::params::Params;
use crate::uploads;
use crate::{AppState, dali_error};
use adql_planner::{AllowAll, Engine, Translation, with_metadata};
use axum::body::{Body, Bytes};
use axum::extract::{Form, FromRequest, Multipart, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;
use std::sync::Arc;
use table_writers::{Format, QueryStatus, ResultWriter};

pub(crate) async fn sync_get(
    State(state): State<Arc<AppState>>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    run(state, Params::from_pairs(pairs)).await
}

/// A POST, as a form (`application/x-www-form-urlencoded`) or, with
/// uploads, as `multipart/form-data` (TAP 1.1 §2.5.8).
pub(crate) async fn sync_post(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if multipart {
        let parsed = match Multipart::from_request(request, &()).await {
            Ok(m) => uploads::read_multipart(m, &state.limits).await,
            Err(e) => Err(e.body_text()),
        };
        match parsed {
            Ok((pairs, parts)) => run_with_parts(state, Params::from_pairs(pairs), parts).await,
            Err(message) => dali_error(StatusCode::BAD_REQUEST, &message),
        }
    } else {
        match Form::<Vec<(String, String)>>::from_request(request, &()).await {
            Ok(Form(pairs)) => run(state, Params::from_pairs(pairs)).await,
            Err(e) => dali_error(StatusCode::BAD_REQUEST, &e.body_text()),
        }
    }
}

async fn run(state: Arc<AppState>, p: Params) -> Response {
    run_with_parts(state, p, uploads::Parts::default()).await
}

async fn run_with_parts(state: Arc<AppState>, p: Params, parts: uploads::Parts) -> Response {
    let bad = |m: &str| dali_error(StatusCode::BAD_REQUEST, m);
    if let Some(r) = p.get("REQUEST")
        && !r.eq_ignore_ascii_case("doQuery")
    {
        return bad(&format!(
            "REQUEST={r} is not supported; use REQUEST=doQuery"
        ));
    }
    match p.get("LANG") {
        None => return bad("LANG is missing: send LANG=ADQL with the query"),
        Some(l)
            if ["ADQL", "ADQL-2.0", "ADQL-2.1"]
                .iter()
                .any(|x| x.eq_ignore_ascii_case(l)) => {}
        Some(l) => return bad(&format!("LANG={l} is not supported; use LANG=ADQL")),
    }
    let Some(query) = p.get("QUERY").filter(|q| !q.trim().is_empty()) else {
        return bad("QUERY is missing: send the ADQL query as QUERY=...");
    };
    let format_name = p
        .get("RESPONSEFORMAT")
        .or(p.get("FORMAT"))
        .unwrap_or("votable");
    let Some(format) = Format::parse(format_name) else {
        return bad(&format!(
            "RESPONSEFORMAT={format_name} is not supported; use one of {}",
            Format::names().join(", ")
        ));
    };
    let limits = &state.limits;
    let maxrec = match limits.maxrec(p.get("MAXREC")) {
        Ok(n) => n,
        Err(m) => return bad(&m),
    };
    // With uploads the query runs in a session of its own that also holds
    // TAP_UPLOAD; the published tables are shared with it, not copied.
    let with_uploads;
    let engine = match p.get("UPLOAD").filter(|u| !u.trim().is_empty()) {
        None => &state.engine,
        Some(spec) => {
            let tables = match uploads::load(spec, &parts, state.engine.context(), limits).await {
                Ok(t) => t,
                Err(m) => return bad(&m),
            };
            with_uploads = match state.engine.with_tables(tables) {
                Ok(e) => e,
                Err(e) => return bad(&e.to_string()),
            };
            &with_uploads
        }
    };
    drop(parts);
    let translation = match engine.translate(query, &AllowAll) {
        Ok(t) => t,
        Err(e) => return bad(&e.to_string()),
    };
    tracing::info!(query, maxrec, format = ?format, runid = p.get("RUNID"), "sync query");
    respond(
        &state,
        engine,
        &translation,
        query,
        format,
        maxrec,
        &dali_error,
    )
    .await
}

/// Runs a translated query and streams its result in `format`, cut at
/// `maxrec` rows; failures before the first byte go through `error`.
pub(crate) async fn respond(
    state: &Arc<AppState>,
    engine: &Engine,
    translation: &Translation,
    query: &str,
    format: Format,
    maxrec: u64,
    error: &(dyn Fn(StatusCode, &str) -> Response + Sync),
) -> Response {
    // One row more than MAXREC tells whether the result overflowed. The
    // limit goes on the DataFrame, not around the SQL as a subquery: the
    // optimizer may drop the ORDER BY of a subquery (SQL gives a derived
    // table no order), and the rows must come in the order asked for.
    let limited = match engine.context().sql(&translation.sql).await {
        Ok(df) => df.limit(0, usize::try_from(maxrec + 1).ok()),
        Err(e) => Err(e),
    };
    let df = match limited {
        Ok(df) => df,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &adql_planner::Error::from(e).to_string(),
            );
        }
    };
    let schema = with_metadata(
        &Arc::new(df.schema().as_arrow().clone()),
        &translation.columns,
    );
    let stream = match df.execute_stream().await {
        Ok(s) => s,
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &adql_planner::Error::from(e).to_string(),
            );
        }
    };
    let mut writer = match format.writer(schema, query) {
        Ok(w) => w,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let content_type = writer.content_type();
    let header_bytes = match writer.header() {
        Ok(h) => h,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    Metrics::add(&state.metrics.queries, 1);
    let body = Body::from_stream(result_stream(
        Arc::clone(state),
        stream,
        writer,
        header_bytes,
        maxrec,
    ));
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The response body: header, then each batch as it comes (cut at MAXREC),
/// then the footer with the query status, then whatever the writer spooled.
fn result_stream(
    state: Arc<AppState>,
    stream: SendableRecordBatchStream,
    writer: Box<dyn ResultWriter>,
    header: Vec<u8>,
    maxrec: u64,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    let deadline = tokio::time::Instant::now()
        + std::time::Duration::from_secs(state.limits.execution_seconds);
    let body = ResultBody {
        deadline,
        state,
        stream,
        writer,
        header: Some(header),
        sent: 0,
        maxrec,
        ended: false,
        tail: None,
    };
    futures::stream::unfold(body, |mut body| async move {
        let next = body.next_chunk().await?;
        if let Ok(b) = &next {
            Metrics::add(&body.state.metrics.bytes, b.len() as u64);
        }
        Some((next, body))
    })
    // Fused: the compression layer polls once more after the end, which a
    // bare `unfold` answers with a panic.
    .fuse()
}

/// The state of a response body being written.
struct ResultBody {
    state: Arc<AppState>,
    stream: SendableRecordBatchStream,
    writer: Box<dyn ResultWriter>,
    header: Option<Vec<u8>>,
    /// Rows written so far.
    sent: u64,
    maxrec: u64,
    /// The footer is written; what is left is the spooled tail.
    ended: bool,
    tail: Option<table_writers::Spooled>,
    /// When the query must have finished (the execution time limit).
    deadline: tokio::time::Instant,
}

fn io(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl ResultBody {
    /// The next piece of the body, or `None` at the end.
    async fn next_chunk(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        if let Some(h) = self.header.take() {
            return Some(Ok(Bytes::from(h)));
        }
        if self.ended {
            let chunk = self.tail.as_mut()?.next()?;
            return Some(chunk.map(Bytes::from).map_err(io));
        }
        let next = match tokio::time::timeout_at(self.deadline, self.stream.next()).await {
            Ok(next) => next,
            Err(_) => {
                return Some(self.fail(&format!(
                    "the query ran longer than this service's limit of {} s for synchronous queries; add constraints or use TOP",
                    self.state.limits.execution_seconds
                )));
            }
        };
        match next {
            Some(Ok(batch)) => {
                let room = (self.maxrec - self.sent) as usize;
                let cut = batch.num_rows() > room;
                // More rows than MAXREC: write what fits and report OVERFLOW.
                let batch = if cut { batch.slice(0, room) } else { batch };
                self.sent += batch.num_rows() as u64;
                Metrics::add(&self.state.metrics.rows, batch.num_rows() as u64);
                let out = match self.writer.batch(&batch) {
                    Ok(b) => b,
                    Err(e) => return Some(Err(io(e))),
                };
                if cut {
                    Some(self.end(QueryStatus::Overflow, out))
                } else {
                    Some(Ok(Bytes::from(out)))
                }
            }
            Some(Err(e)) => Some(self.fail(&adql_planner::Error::from(e).to_string())),
            None => Some(self.end(QueryStatus::Ok, Vec::new())),
        }
    }

    /// An error after the header went out: formats that can say so end
    /// with the error; the others are cut, which clients report as an
    /// incomplete result.
    fn fail(&mut self, message: &str) -> Result<Bytes, std::io::Error> {
        self.ended = true;
        tracing::warn!("query failed while streaming: {message}");
        match self.writer.error_footer(message) {
            Some(bytes) => Ok(Bytes::from(bytes)),
            None => Err(io(message)),
        }
    }

    /// Writes the footer after `out` and takes the spooled tail.
    fn end(&mut self, status: QueryStatus, mut out: Vec<u8>) -> Result<Bytes, std::io::Error> {
        self.ended = true;
        if status == QueryStatus::Overflow {
            Metrics::add(&self.state.metrics.overflows, 1);
        }
        out.extend(self.writer.footer(status).map_err(io)?);
        self.tail = self.writer.spooled().map_err(io)?;
        Ok(Bytes::from(out))
    }
}
