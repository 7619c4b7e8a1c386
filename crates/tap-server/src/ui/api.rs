//! The JSON the web interface reads that no TAP endpoint gives in a form a
//! page can use at once: the service and its tables, a query checked
//! without running it, and the browser's jobs with their sizes and times.
//! `docs/web-api.md` documents each.

use super::{Json, owner, whole_number};
use crate::AppState;
use crate::error::ServiceError;
use crate::request::Params;
use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use catalog_model::{AllowAll, Catalog, ColumnInfo};
use serde_json::{Value, json};
use std::sync::Arc;
use uws_jobs::{Job, Viewer};

/// The most jobs one list shows.
const MOST_JOBS: u64 = 1000;

/// GET /api/service: who the service is, its queues, limits and formats.
pub(crate) async fn service(State(state): State<Arc<AppState>>) -> Json {
    let queues: Vec<Value> = state
        .jobs
        .get()
        .map(|jobs| {
            jobs.config()
                .queues
                .iter()
                .map(|q| json!({ "name": q.name, "workers": q.workers, "maxSeconds": q.max_seconds }))
                .collect()
        })
        .unwrap_or_default();
    let formats: Vec<Value> = table_writers::Format::all()
        .map(|(mime, aliases, _)| {
            let extension = table_writers::Format::parse(mime).map(|f| f.extension());
            json!({ "mime": mime, "name": aliases.first(), "extension": extension })
        })
        .collect();
    let r = &state.registry;
    Json(Ok(json!({
        "title": r.title,
        "shortName": r.short_name,
        "description": r.description,
        "version": env!("CARGO_PKG_VERSION"),
        "tapUrl": state.base_url,
        "asyncJobs": state.jobs.get().is_some(),
        "queues": queues,
        "maxrec": { "default": state.limits.default_maxrec, "hard": state.limits.hard_maxrec },
        "formats": formats,
    })))
}

/// GET /api/tables: every schema, table and column with its metadata.
pub(crate) async fn tables(State(state): State<Arc<AppState>>) -> Json {
    let mut tables = state.engine.catalog().tables();
    // Published schemas first, alphabetically; TAP_SCHEMA last.
    tables.sort_by_key(|t| {
        (
            t.schema.eq_ignore_ascii_case("TAP_SCHEMA"),
            t.schema.to_ascii_lowercase(),
            t.name.to_ascii_lowercase(),
        )
    });
    let mut schemas: Vec<(String, Vec<Value>)> = Vec::new();
    for t in tables {
        let table = json!({
            "name": t.name,
            "qualified": t.qualified_name(),
            "description": t.description,
            "rows": t.layout.rows,
            "position": t.position.as_ref().map(|p| json!({ "ra": p.ra, "dec": p.dec })),
            "columns": t.columns.iter().map(column).collect::<Vec<_>>(),
        });
        match schemas.last_mut() {
            Some((name, list)) if *name == t.schema => list.push(table),
            _ => schemas.push((t.schema.clone(), vec![table])),
        }
    }
    let schemas: Vec<Value> = schemas
        .into_iter()
        .map(|(name, tables)| json!({ "name": name, "tables": tables }))
        .collect();
    Json(Ok(json!({ "schemas": schemas })))
}

/// A column as the page shows it.
fn column(c: &ColumnInfo) -> Value {
    let (datatype, arraysize) = c.ty.votable();
    json!({
        "name": c.name,
        "datatype": datatype,
        "arraysize": arraysize,
        "unit": c.meta.unit,
        "ucd": c.meta.ucd,
        "utype": c.meta.utype,
        "description": c.meta.description,
        "principal": c.meta.principal.unwrap_or(true),
    })
}

/// POST /api/validate (QUERY=...): the query checked as a run would check
/// it (syntax, names, types), without running it. A refused query is an
/// answer, not a failed request: 200 with `ok: false`, the message, and
/// the line and column where the editor underlines it.
pub(crate) async fn validate(
    State(state): State<Arc<AppState>>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Json {
    let params = Params::from_pairs(pairs);
    let Some(query) = params.get("QUERY") else {
        return Json(Err(ServiceError::BadRequest(
            "QUERY is missing: send QUERY=SELECT ...".into(),
        )));
    };
    Json(Ok(match state.engine.translate(query, &AllowAll) {
        Ok(t) => json!({
            "ok": true,
            "columns": t.columns.iter().map(column).collect::<Vec<_>>(),
            "warnings": t.warnings.iter().map(|w| json!({
                "message": w.message, "line": w.line, "column": w.column,
            })).collect::<Vec<_>>(),
        }),
        Err(e) => {
            let position = e.position();
            json!({
                "ok": false,
                "message": e.user_message(),
                "line": position.map(|p| p.0),
                "column": position.map(|p| p.1),
            })
        }
    }))
}

/// GET /api/jobs[?last=N]: the requester's most recent jobs (100 unless
/// `last` says otherwise, at most 1000), newest first, whole: what the job
/// list shows and polls. Only a browser (its cookie) or an authenticated
/// user has a list here: the anonymous owner's jobs are everyone's.
pub(crate) async fn jobs(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Json {
    Json(job_list(&state, &headers, pairs).await)
}

async fn job_list(
    state: &AppState,
    headers: &HeaderMap,
    pairs: Vec<(String, String)>,
) -> Result<Value, ServiceError> {
    let jobs = state.jobs()?;
    let last = whole_number(&Params::from_pairs(pairs), "last", 100, 1..=MOST_JOBS)?;
    let viewer = state.viewer(headers);
    let Viewer::Owner(Some(owner)) = &viewer else {
        return Err(ServiceError::Forbidden(
            "this browser has no identity yet, so it has no jobs to list; reload the page".into(),
        ));
    };
    let list: Vec<Value> = jobs
        .recent(&viewer, last)
        .await?
        .iter()
        .map(|job| job_json(state, job))
        .collect();
    Ok(json!({ "owner": owner, "jobs": list }))
}

/// A job as the job list shows it.
fn job_json(state: &AppState, job: &Job) -> Value {
    let iso = |t: Option<uws_jobs::Millis>| t.map(|t| t.to_iso());
    let result = job.results.first();
    let progress = state
        .jobs
        .get()
        .and_then(|jobs| jobs.progress(&job.id))
        .map(|(read, estimated)| json!({ "rowsRead": read, "rowsEstimated": estimated }));
    let id = job.id.as_str();
    let root = state.base_url.trim_end_matches("/tap");
    json!({
        "id": id,
        "runId": job.run_id,
        "phase": job.phase.as_str(),
        "queue": job.queue,
        "created": job.creation_time.to_iso(),
        "started": iso(job.start_time),
        "ended": iso(job.end_time),
        "destruction": job.destruction.to_iso(),
        "query": job.parameter("QUERY"),
        "format": job.parameter("RESPONSEFORMAT").or(job.parameter("FORMAT")),
        "maxrec": job.parameter("MAXREC"),
        "estimatedRows": job.estimated_rows,
        "progress": progress,
        "rows": result.map(|r| r.rows),
        "size": result.map(|r| r.size),
        "mimeType": result.map(|r| r.mime_type.as_str()),
        "overflow": result.map(|r| r.overflow),
        "error": job.error.as_ref().map(|e| e.message.as_str()),
        "url": state.job_url(&job.id),
        // Opens the result to a program without the browser's cookie (a
        // SAMP hub): see `owner::link_key`.
        "sharedVotableUrl": result.zip(state.link_key.as_ref()).map(|(_, key)| format!(
            "{root}/api/jobs/{id}/download?FORMAT=votable&key={}",
            owner::link_key(key, id)
        )),
    })
}
