//! Running a [`QueryRequest`] and answering with its result: uploads read
//! into a session of the request's own, the ADQL translated, the query
//! executed by the engine (which admits it, or refuses with 503), and the
//! result written by the engine's one pipeline on the engine's pool into a
//! channel that is the response body, compressed as the client accepts.
//!
//! A query stops as soon as nobody waits for it: the request future and
//! the response body each hold a guard that cancels the query's token
//! when dropped, which hyper does when the client disconnects, before the
//! first row as after it.

use crate::AppState;
use crate::encoding::{Coding, Encoder};
use crate::error::ServiceError;
use crate::metrics::Metrics;
use crate::request::QueryRequest;
use crate::uploads::{self, Parts};
use adql_planner::Translation;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use catalog_model::AllowAll;
use query_engine::{
    CancellationToken, Ending, Engine, QueryOptions, ResultSink, Written, write_result,
};
use std::sync::Arc;
use std::time::Duration;
use table_writers::Format;
use tokio::sync::mpsc;
use tokio_util::sync::DropGuard;

/// How long the body may wait for a client that stopped reading.
const STALLED_CLIENT: Duration = Duration::from_secs(300);

/// Runs `request` and answers with its result, or with the error that
/// came before its first row. `adjust` may change the translation's column
/// metadata before the result is written (cone search sets its UCDs).
pub(crate) async fn run(
    state: &Arc<AppState>,
    request: QueryRequest,
    parts: Parts,
    headers: &HeaderMap,
    adjust: impl FnOnce(&mut Translation),
) -> Result<Response, ServiceError> {
    // Dropped with this future if the client goes before the response starts.
    let guards = Guards::new(state);

    // With uploads the query runs in a session of its own that also holds
    // TAP_UPLOAD; the published tables are shared with it, not copied.
    let session;
    let engine = if request.uploads.is_empty() {
        &state.engine
    } else {
        let tables = uploads::load(&request.uploads, &parts, &state.engine, &state.limits).await?;
        session = state.engine.with_uploads(tables).await?;
        &session
    };
    drop(parts);
    let mut translation = engine.translate(&request.adql, &AllowAll)?;
    adjust(&mut translation);

    let answer = Answer {
        format: request.format,
        maxrec: Some(request.maxrec),
        query: &request.adql,
        runid: request.runid.as_deref(),
    };
    respond(state, engine, &translation, answer, headers, guards).await
}

/// What to answer with: the format, the row limit, and for the log the
/// query and the caller's label.
pub(crate) struct Answer<'a> {
    pub(crate) format: Format,
    pub(crate) maxrec: Option<u64>,
    pub(crate) query: &'a str,
    pub(crate) runid: Option<&'a str>,
}

/// A query request's life: the token that cancels it, the guard that
/// cancels it when the request (then its body) is dropped, and its count
/// among the requests in flight.
pub(crate) struct Guards {
    cancel: CancellationToken,
    guard: DropGuard,
    in_flight: crate::InFlight,
}

impl Guards {
    /// Counts a query request from now on.
    pub(crate) fn new(state: &AppState) -> Guards {
        let cancel = CancellationToken::new();
        Guards {
            guard: cancel.clone().drop_guard(),
            cancel,
            // Counted from here until the body ends, so that a shutdown's
            // grace period also waits for requests still reading uploads
            // or planning.
            in_flight: state.in_flight(),
        }
    }
}

/// Executes `translation` on `engine` and answers with its result,
/// written by the one pipeline on the engine's pool into the response
/// body, or with the error that came before its first row.
pub(crate) async fn respond(
    state: &Arc<AppState>,
    engine: &Engine,
    translation: &Translation,
    answer: Answer<'_>,
    headers: &HeaderMap,
    guards: Guards,
) -> Result<Response, ServiceError> {
    let Guards {
        cancel,
        guard,
        in_flight,
    } = guards;
    let options = QueryOptions {
        maxrec: answer.maxrec,
        timeout: Some(Duration::from_secs(state.limits.execution_seconds)),
        cancel: cancel.clone(),
    };
    let stream = engine.execute(translation, options).await?;
    let lane = stream.lane();
    tracing::info!(
        query = answer.query,
        maxrec = answer.maxrec,
        format = ?answer.format,
        runid = answer.runid,
        lane = lane.name(),
        estimated_rows = stream.estimated_rows(),
        "query"
    );
    let writer = answer.format.writer(stream.schema(), answer.query)?;
    let content_type = writer.content_type();
    let coding = Coding::negotiate(headers, answer.format);
    let encoder = coding
        .encoder()
        .map_err(|e| ServiceError::internal("cannot start compressing the result", e))?;
    let (tx, mut rx) = mpsc::channel::<Piece>(4);
    // Compression, when asked for, is a stage of its own on a thread of its
    // own, so formatting and compressing run on two cores at once.
    let tx = match encoder {
        Encoder::Identity => tx,
        encoder => {
            let (raw_tx, raw_rx) = mpsc::channel::<Piece>(4);
            let runtime = tokio::runtime::Handle::current();
            engine.spawn_blocking(lane, move || compress(raw_rx, encoder, tx, runtime))?;
            raw_tx
        }
    };
    let mut sink = BodySink { tx };
    let metrics = Arc::clone(state);
    let writing = engine.spawn(lane, async move {
        let written = write_result(stream, writer, &mut sink).await;
        if let Ok(w) = &written {
            metrics.metrics.count_result(w);
        }
        written
    })?;
    Metrics::add(&state.metrics.queries, 1);

    // The first piece of the body, or the error that came before it.
    let mut writing = writing;
    let mut first = tokio::select! {
        biased;
        Some(piece) = rx.recv() => Some(piece),
        written = &mut writing => match written {
            Ok(Err(e)) => return Err(e.into()),
            Ok(Ok(_)) => rx.recv().await,
            Err(e) => return Err(ServiceError::internal("the query's writer failed", e)),
        },
    };
    // From here the body owns the guards: dropping the body cancels the
    // query, and its end ends the request's count. An `Err` piece makes
    // hyper abort the connection: the client sees an incomplete result.
    let body = futures::stream::poll_fn(move |cx| {
        let _owned = (&guard, &in_flight);
        if let Some(piece) = first.take() {
            return std::task::Poll::Ready(Some(piece));
        }
        rx.poll_recv(cx)
    });
    let mut response = (
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(body),
    )
        .into_response();
    if coding != Coding::Identity {
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(coding.token()),
        );
    }
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    Ok(response)
}

impl Metrics {
    /// Counts what a result wrote.
    fn count_result(&self, w: &Written) {
        Metrics::add(&self.rows, w.rows);
        Metrics::add(&self.bytes, w.bytes);
        if matches!(w.ending, Ending::Overflow) {
            Metrics::add(&self.overflows, 1);
        }
    }
}

/// A piece of a response body, or the error that aborts it.
type Piece = Result<Bytes, std::io::Error>;

/// Sends `piece`, unless the client has not read for [`STALLED_CLIENT`];
/// false if it is gone or stalled.
async fn send(body: &mpsc::Sender<Piece>, piece: Piece) -> bool {
    matches!(
        tokio::time::timeout(STALLED_CLIENT, body.send(piece)).await,
        Ok(Ok(()))
    )
}

/// The compression stage: pieces in, encoded pieces out, until the writer
/// is done (its sender dropped), the result is aborted (an `Err` piece,
/// passed on without finishing the encoding), or the client is gone or
/// stalled (then this ends and, through the dropped `pieces`, the writer).
/// It blocks its thread: it is CPU work from end to end.
fn compress(
    mut pieces: mpsc::Receiver<Piece>,
    mut encoder: Encoder,
    body: mpsc::Sender<Piece>,
    runtime: tokio::runtime::Handle,
) {
    let forward = |piece: Piece| match piece {
        Ok(bytes) if bytes.is_empty() => true,
        piece => runtime.block_on(send(&body, piece)),
    };
    while let Some(piece) = pieces.blocking_recv() {
        let encoded = match piece {
            Ok(bytes) => encoder.encode(&bytes).map(Bytes::from),
            Err(aborted) => {
                forward(Err(aborted));
                return;
            }
        };
        let failed = encoded.is_err();
        if !forward(encoded) || failed {
            return;
        }
    }
    forward(encoder.finish().map(Bytes::from));
}

/// The response body as a sink: pieces go to the connection (or to the
/// compression stage) through a small channel, so a slow client slows the
/// query instead of filling memory.
struct BodySink {
    tx: mpsc::Sender<Piece>,
}

impl ResultSink for BodySink {
    async fn write(&mut self, bytes: Vec<u8>) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if send(&self.tx, Ok(Bytes::from(bytes))).await {
            Ok(())
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the client went away or stopped reading",
            ))
        }
    }

    async fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    async fn abort(&mut self, error: &query_engine::Error) {
        let _ = send(&self.tx, Err(std::io::Error::other(error.user_message()))).await;
    }
}
