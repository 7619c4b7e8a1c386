//! A job's stored result, read back: pages of it for the result viewer
//! (sorted by any column, never the whole table in the browser), and the
//! whole of it in any TAP format for downloads. Both are ADQL queries on
//! the result file (`Engine::stored_result`) through the one pipeline.

use super::{owner, whole_number};
use crate::AppState;
use crate::async_jobs::job_id;
use crate::error::ServiceError;
use crate::job_runner::RESULT;
use crate::query::{Answer, Guards, respond};
use crate::request::{Params, format_of};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use catalog_model::AllowAll;
use query_engine::{
    CancellationToken, Ending, QueryOptions, StoredResult, Window, WriteSink, write_result,
};
use std::sync::Arc;
use std::time::Duration;
use table_writers::Format;
use uws_jobs::{Phase, Viewer};

/// Rows in a page unless it says otherwise.
const PAGE_ROWS: u64 = 100;
/// The most rows one page may have (a plot reads its columns in one).
const MOST_PAGE_ROWS: u64 = 100_000;

type Pairs = Query<Vec<(String, String)>>;

/// A job's stored result, opened.
struct Opened {
    /// The session that publishes it as `stored.result`.
    stored: StoredResult,
    /// Its rows.
    rows: u64,
    /// The job's run name (or identifier), for a file name.
    file_name: String,
    /// The job's query, which a VOTable download names in its QUERY INFO.
    query: String,
}

/// The stored result of job `id`, as the requester may read it: its owner,
/// or whoever has the job's link key.
async fn open(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    key: Option<&str>,
) -> Result<Opened, ServiceError> {
    let jobs = state.jobs()?;
    let id = job_id(id)?;
    let viewer = match key {
        Some(k)
            if state
                .link_key
                .as_ref()
                .is_some_and(|key| owner::link_key_matches(key, id.as_str(), k)) =>
        {
            Viewer::Admin
        }
        Some(_) => {
            return Err(ServiceError::NotFound(format!(
                "there is no job {id} here, or the link's key is not its key"
            )));
        }
        None => state.viewer(headers),
    };
    let job = jobs.get(&id, &viewer).await?;
    let Some(result) = job.results.iter().find(|r| r.id == RESULT) else {
        let why = match job.phase {
            Phase::Completed => "it has no result".to_string(),
            Phase::Error | Phase::Aborted | Phase::Archived => {
                format!("it is {} and has no result", job.phase)
            }
            _ => format!(
                "it is {}; its result can be read once it is COMPLETED",
                job.phase
            ),
        };
        return Err(ServiceError::Forbidden(format!("job {id}: {why}")));
    };
    if Format::parse(&result.mime_type) != Some(Format::Parquet) {
        return Err(ServiceError::BadRequest(format!(
            "job {id} stored its result as {}; the web interface reads results stored as Parquet (RESPONSEFORMAT=parquet, as its own jobs are); download it from {}/results/result instead",
            result.mime_type,
            state.job_url(&id)
        )));
    }
    let stored = state
        .engine
        .stored_result(&jobs.folder(&id).join(RESULT))
        .await?;
    Ok(Opened {
        stored,
        rows: result.rows,
        file_name: job
            .run_id
            .as_deref()
            .map(file_name)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| id.to_string()),
        query: job.parameter("QUERY").unwrap_or_default().to_string(),
    })
}

/// GET /api/jobs/ID/rows?offset=&limit=&sort=&order=asc|desc&columns=a,b:
/// a page of a completed job's result as
/// `{"total", "offset", "result": <the TAP JSON format>}`.
pub(crate) async fn rows(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Response {
    match page(&state, &id, &headers, &Params::from_pairs(pairs)).await {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => e.into_json_response(),
    }
}

/// The page's JSON: the TAP JSON document the writer made, placed in the
/// answer as it is (a page for a plot is up to 100,000 rows: not parsed
/// again to be nested).
async fn page(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Vec<u8>, ServiceError> {
    let window = window(params)?;
    let Opened {
        stored,
        rows: total,
        ..
    } = open(state, id, headers, None).await?;
    let adql = stored.adql(&window)?;
    let translation = stored.engine.translate(&adql, &AllowAll)?;
    let cancel = CancellationToken::new();
    // Dropped, and so the query stopped, if the page's request goes away.
    let _guard = cancel.clone().drop_guard();
    let options = QueryOptions {
        maxrec: None,
        timeout: Some(Duration::from_secs(state.limits.execution_seconds)),
        cancel,
    };
    let stream = stored.engine.execute(&translation, options).await?;
    let lane = stream.lane();
    let writer = Format::Json.writer(stream.schema(), &adql)?;
    let (written, json) = stored
        .engine
        .run(lane, async move {
            let mut sink = WriteSink(Vec::new());
            let written = write_result(stream, writer, &mut sink).await;
            (written, sink.0)
        })
        .await?;
    if let Ending::Failed(e) = written?.ending {
        return Err(e.into());
    }
    let mut body = format!(
        "{{\"total\":{total},\"offset\":{},\"result\":",
        window.offset
    )
    .into_bytes();
    body.extend_from_slice(json.trim_ascii_end());
    body.push(b'}');
    Ok(body)
}

/// The window a page's parameters ask for.
fn window(params: &Params) -> Result<Window, ServiceError> {
    let descending = match params.get("ORDER").map(str::to_ascii_lowercase).as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(ServiceError::BadRequest(format!(
                "order={other} is not a sort order; use asc or desc"
            )));
        }
    };
    Ok(Window {
        offset: whole_number(params, "offset", 0, 0..=u64::MAX)?,
        limit: Some(whole_number(
            params,
            "limit",
            PAGE_ROWS,
            1..=MOST_PAGE_ROWS,
        )?),
        order: params
            .get("SORT")
            .filter(|s| !s.is_empty())
            .map(|s| (s.to_string(), descending)),
        columns: params
            .get("COLUMNS")
            .filter(|c| !c.is_empty())
            .map(|c| c.split(',').map(|s| s.trim().to_string()).collect()),
    })
}

/// GET /api/jobs/ID/download?FORMAT=csv[&key=K]: a completed job's whole
/// result in any TAP format, as a file to save.
pub(crate) async fn download(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Result<Response, ServiceError> {
    let guards = Guards::new(&state);
    let params = Params::from_pairs(pairs);
    // FORMAT or RESPONSEFORMAT, as TAP names it; VOTable when absent.
    let format = format_of(&params)?;
    let opened = open(&state, &id, &headers, params.get("KEY")).await?;
    let stored = &opened.stored;
    let adql = stored.adql(&Window::default())?;
    let translation = stored.engine.translate(&adql, &AllowAll)?;
    let answer = Answer {
        format,
        maxrec: None,
        // The result's document names the query that made it.
        query: &opened.query,
        runid: None,
    };
    let mut response = respond(
        &state,
        &stored.engine,
        &translation,
        answer,
        &headers,
        guards,
    )
    .await?;
    let disposition = format!(
        "attachment; filename=\"corvus-{}.{}\"",
        opened.file_name,
        format.extension()
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// A run name as part of a file name: letters, digits, `-`, `_` and `.`.
fn file_name(run_id: &str) -> String {
    run_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect::<String>()
        .trim_matches('.')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Params {
        Params::from_pairs(
            list.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn windows_are_read_and_bad_values_named() {
        let w = window(&pairs(&[
            ("offset", "200"),
            ("limit", "50"),
            ("sort", "plx"),
            ("order", "DESC"),
        ]))
        .unwrap_or_default();
        assert_eq!((w.offset, w.limit), (200, Some(50)));
        assert_eq!(w.order, Some(("plx".to_string(), true)));
        let w = window(&pairs(&[("columns", "ra, dec")])).unwrap_or_default();
        assert_eq!(w.limit, Some(PAGE_ROWS));
        assert_eq!(w.columns, Some(vec!["ra".to_string(), "dec".to_string()]));
        for (k, v, says) in [
            (
                "limit",
                "0",
                "limit=0 is not a whole number from 1 to 100000",
            ),
            ("limit", "100001", "from 1 to 100000"),
            ("offset", "-1", "offset=-1"),
            ("order", "up", "use asc or desc"),
        ] {
            let e = window(&pairs(&[(k, v)])).map(|_| ()).unwrap_err();
            assert!(e.message().contains(says), "{}", e.message());
        }
    }

    #[test]
    fn run_names_make_safe_file_names() {
        assert_eq!(file_name("my run/../x"), "my_run_.._x");
        assert_eq!(file_name("..."), "");
        assert_eq!(file_name("cone-ngc_104.v2"), "cone-ngc_104.v2");
    }
}
