//! `/tap/sync`: TAP 1.1 §2.3 synchronous queries.

use crate::params::Params;
use crate::{AppState, dali_error};
use adql_planner::{AllowAll, with_metadata};
use axum::body::{Body, Bytes};
use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use std::sync::Arc;
use table_writers::{Format, QueryStatus, ResultWriter};

pub(crate) async fn sync_get(
    State(state): State<Arc<AppState>>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    run(state, Params::from_pairs(pairs)).await
}

pub(crate) async fn sync_post(
    State(state): State<Arc<AppState>>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    run(state, Params::from_pairs(pairs)).await
}

async fn run(state: Arc<AppState>, p: Params) -> Response {
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
            "RESPONSEFORMAT={format_name} is not supported; use votable, csv or tsv"
        ));
    };
    let limits = &state.limits;
    let maxrec = match p.get("MAXREC") {
        None => limits.default_maxrec,
        Some(m) => match m.trim().parse::<u64>() {
            Ok(n) => n.min(limits.hard_maxrec),
            Err(_) => return bad(&format!("MAXREC={m} is not a non-negative whole number")),
        },
    };
    let translation = match state.engine.translate(query, &AllowAll) {
        Ok(t) => t,
        Err(e) => return bad(&e.to_string()),
    };
    // One row more than MAXREC tells whether the result overflowed.
    let sql = format!(
        "SELECT * FROM ({}) AS q LIMIT {}",
        translation.sql,
        maxrec + 1
    );
    let df = match state.engine.context().sql(&sql).await {
        Ok(df) => df,
        Err(e) => return bad(&adql_planner::Error::from(e).to_string()),
    };
    let schema = with_metadata(
        &Arc::new(df.schema().as_arrow().clone()),
        &translation.columns,
    );
    let stream = match df.execute_stream().await {
        Ok(s) => s,
        Err(e) => {
            return dali_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &adql_planner::Error::from(e).to_string(),
            );
        }
    };
    let mut writer = format.writer(schema, query);
    let content_type = writer.content_type();
    let header_bytes = match writer.header() {
        Ok(h) => h,
        Err(e) => return dali_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let body = Body::from_stream(result_stream(stream, writer, header_bytes, maxrec));
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The response body: header, then each batch as it comes (cut at MAXREC),
/// then the footer with the query status.
fn result_stream(
    stream: datafusion::physical_plan::SendableRecordBatchStream,
    writer: Box<dyn ResultWriter>,
    header: Vec<u8>,
    maxrec: u64,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    struct St {
        stream: datafusion::physical_plan::SendableRecordBatchStream,
        writer: Box<dyn ResultWriter>,
        header: Option<Vec<u8>>,
        sent: u64,
        maxrec: u64,
        done: bool,
    }
    let st = St {
        stream,
        writer,
        header: Some(header),
        sent: 0,
        maxrec,
        done: false,
    };
    futures::stream::unfold(st, |mut st| async move {
        if let Some(h) = st.header.take() {
            return Some((Ok(Bytes::from(h)), st));
        }
        if st.done {
            return None;
        }
        let io = |e: String| std::io::Error::other(e);
        match st.stream.next().await {
            Some(Ok(batch)) => {
                let room = (st.maxrec - st.sent) as usize;
                if batch.num_rows() > room {
                    // More rows than MAXREC: write what fits and report OVERFLOW.
                    let part = batch.slice(0, room);
                    st.done = true;
                    let mut out = match st.writer.batch(&part) {
                        Ok(b) => b,
                        Err(e) => return Some((Err(io(e.to_string())), st)),
                    };
                    match st.writer.footer(QueryStatus::Overflow) {
                        Ok(f) => out.extend(f),
                        Err(e) => return Some((Err(io(e.to_string())), st)),
                    }
                    return Some((Ok(Bytes::from(out)), st));
                }
                st.sent += batch.num_rows() as u64;
                match st.writer.batch(&batch) {
                    Ok(b) => Some((Ok(Bytes::from(b)), st)),
                    Err(e) => Some((Err(io(e.to_string())), st)),
                }
            }
            Some(Err(e)) => {
                st.done = true;
                tracing::warn!("query failed while streaming: {e}");
                Some((Err(io(adql_planner::Error::from(e).to_string())), st))
            }
            None => {
                st.done = true;
                match st.writer.footer(QueryStatus::Ok) {
                    Ok(f) => Some((Ok(Bytes::from(f)), st)),
                    Err(e) => Some((Err(io(e.to_string())), st)),
                }
            }
        }
    })
}
