//! `/tap/async`: TAP 1.1 §2.2 asynchronous queries, the REST binding of
//! UWS 1.1 §2.2 over the `uws-jobs` job system.
//!
//! Every state change answers 303 See Other with an absolute Location: the
//! job after creation and changes (§2.2.3), the job list after a deletion
//! (§2.2.3.2). A job of another owner is answered as one that does not
//! exist (404). A request the job's phase does not allow, or a limit
//! refuses, is 403 (§2.2), with a DALI error document that says why.

use crate::error::ServiceError;
use crate::job_runner::{self, RESULT};
use crate::ui::owner;
use crate::{AppState, uws_xml, xml};
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;
use uws_jobs::{Job, JobId, JobSystem, ListFilter, Millis, NewJob, Phase, Viewer};

/// The longest a WAIT blocks, whatever it asks (UWS 1.1 §2.2.1.2: answer
/// within the usual TCP time-outs).
const LONGEST_WAIT: Duration = Duration::from_secs(300);

/// UWS's job control parameters: they set the job, they are not its parameters.
const CONTROL: [&str; 4] = ["PHASE", "EXECUTIONDURATION", "DESTRUCTION", "ACTION"];

type Pairs = Query<Vec<(String, String)>>;

impl AppState {
    pub(crate) fn jobs(&self) -> Result<&JobSystem, ServiceError> {
        self.jobs.get().ok_or_else(|| {
            ServiceError::NotFound("this service runs no asynchronous jobs; use /tap/sync".into())
        })
    }

    /// Who asks: the user the configured header names (set by an
    /// authenticating proxy in front of the service), else the browser its
    /// cookie identifies (the web interface's, see `ui::owner`), else the
    /// anonymous owner.
    pub(crate) fn viewer(&self, headers: &HeaderMap) -> Viewer {
        let user = self
            .owner_header
            .as_ref()
            .and_then(|h| headers.get(h))
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .or_else(|| owner::browser_token(headers).map(owner::browser_owner));
        Viewer::Owner(user)
    }

    /// The job `id` as the requester may see it (404 for anyone else's).
    async fn job(&self, id: &str, headers: &HeaderMap) -> Result<Job, ServiceError> {
        Ok(self
            .jobs()?
            .get(&job_id(id)?, &self.viewer(headers))
            .await?)
    }

    fn async_url(&self) -> String {
        format!("{}/async", self.base_url)
    }

    pub(crate) fn job_url(&self, id: &JobId) -> String {
        format!("{}/async/{id}", self.base_url)
    }
}

fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The parameter `name`, which the request must have; `example` shows a value.
fn required<'a>(
    pairs: &'a [(String, String)],
    name: &str,
    example: &str,
) -> Result<&'a str, ServiceError> {
    first(pairs, name).ok_or_else(|| {
        ServiceError::BadRequest(format!("{name} is missing: send {name}={example}"))
    })
}

pub(crate) fn job_id(id: &str) -> Result<JobId, ServiceError> {
    JobId::parse(id).ok_or_else(|| ServiceError::NotFound(format!("there is no job {id} here")))
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// GET /async: the job list, with the PHASE, AFTER and LAST filters (UWS 1.1 §2.2.2.1).
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Result<Response, ServiceError> {
    let jobs = state.jobs()?;
    let mut filter = ListFilter::default();
    for (k, v) in &pairs {
        match k.to_ascii_uppercase().as_str() {
            "PHASE" => filter.phases.push(Phase::parse(v).ok_or_else(|| {
                ServiceError::BadRequest(format!(
                    "PHASE={v} is not a UWS phase; use one of PENDING, QUEUED, EXECUTING, COMPLETED, ERROR, ABORTED, UNKNOWN, HELD, SUSPENDED, ARCHIVED"
                ))
            })?),
            "AFTER" => {
                filter.after = Some(Millis::parse_iso(v).ok_or_else(|| {
                    ServiceError::BadRequest(format!(
                        "AFTER={v} is not an ISO 8601 instant; write it as 2026-12-02T13:48:03Z"
                    ))
                })?)
            }
            "LAST" => {
                filter.last = Some(v.trim().parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    ServiceError::BadRequest(format!("LAST={v} is not a whole number above 0"))
                })?)
            }
            _ => {}
        }
    }
    let url = state.async_url();
    // Rendered as the rows are read, off the threads that answer requests.
    let mut body = jobs
        .fold(
            &state.viewer(&headers),
            &filter,
            uws_xml::jobs_head(1 << 16),
            move |s, job| uws_xml::jobref(s, job, &url),
        )
        .await?;
    body.push_str(uws_xml::JOBS_END);
    Ok(xml(body))
}

/// POST /async: creates a job from a form or a multipart request (with
/// inline uploads), queued at once with PHASE=RUN (UWS 1.1 §2.2.3.1).
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, ServiceError> {
    let jobs = state.jobs()?;
    let headers = request.headers().clone();
    // PHASE=RUN may come in the URL's query as well as in the body.
    let mut pairs: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let (body, parts) = crate::sync::read_post(request, &state).await?;
    pairs.extend(body);
    let run = match first(&pairs, "PHASE") {
        None => false,
        Some(p) if p.eq_ignore_ascii_case("RUN") => true,
        Some(p) => {
            return Err(ServiceError::BadRequest(format!(
                "PHASE={p} cannot create a job; send PHASE=RUN to start it at once, or no PHASE"
            )));
        }
    };
    let execution_seconds = first(&pairs, "EXECUTIONDURATION")
        .map(seconds)
        .transpose()?;
    let destruction = first(&pairs, "DESTRUCTION").map(instant).transpose()?;
    let parameters: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(k, _)| !CONTROL.iter().any(|c| k.eq_ignore_ascii_case(c)))
        .collect();
    // The TAP parameters are checked when the job runs: a job with a bad
    // query or language is created and ends in ERROR with the reason
    // (TAP 1.1 §2.2; taplint expects a 303 for it), not refused here.
    let estimate = estimate(&state, &parameters).await;
    let (id, folder) = jobs.reserve()?;
    if let Err(e) = job_runner::keep_parts(&parts, &folder) {
        let _ = std::fs::remove_dir_all(&folder);
        return Err(e);
    }
    let Viewer::Owner(owner) = state.viewer(&headers) else {
        return Err(ServiceError::internal(
            "cannot tell who owns the job",
            "an admin viewer over HTTP",
        ));
    };
    let new = NewJob {
        owner,
        run_id: first(&parameters, "RUNID").map(str::to_string),
        queue: first(&parameters, "QUEUE").map(str::to_string),
        execution_seconds,
        destruction,
        estimated_seconds: estimate.and_then(|e| e.seconds),
        estimated_rows: estimate.and_then(|e| e.rows),
        run,
        parameters,
    };
    let job = jobs.create_with_id(id, new).await?;
    Ok(Redirect::to(&state.job_url(&job.id)).into_response())
}

/// The cost of the job's query, when it can be told without its uploads.
async fn estimate(
    state: &AppState,
    parameters: &[(String, String)],
) -> Option<query_engine::Estimate> {
    if first(parameters, "UPLOAD").is_some_and(|u| !u.trim().is_empty()) {
        return None;
    }
    let adql = first(parameters, "QUERY")?;
    let translation = state
        .engine
        .translate(adql, &catalog_model::AllowAll)
        .ok()?;
    state.engine.estimate(&translation).await.ok()
}

fn seconds(v: &str) -> Result<u64, ServiceError> {
    v.trim().parse::<u64>().map_err(|_| {
        ServiceError::BadRequest(format!(
            "EXECUTIONDURATION={v} is not a whole number of seconds (0 or more)"
        ))
    })
}

fn instant(v: &str) -> Result<Millis, ServiceError> {
    Millis::parse_iso(v).ok_or_else(|| {
        ServiceError::BadRequest(format!(
            "DESTRUCTION={v} is not an ISO 8601 instant; write it as 2026-12-09T12:00:00Z"
        ))
    })
}

/// GET /async/ID: the job, after blocking while WAIT asks (UWS 1.1 §2.2.1.2).
pub(crate) async fn job(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Result<Response, ServiceError> {
    let jobs = state.jobs()?;
    let id = job_id(&id)?;
    let viewer = state.viewer(&headers);
    let job = match first(&pairs, "WAIT") {
        None => jobs.get(&id, &viewer).await?,
        Some(w) => {
            let wait = match w.trim().parse::<i64>() {
                Ok(n) if n < 0 => LONGEST_WAIT,
                Ok(n) => Duration::from_secs(n as u64).min(LONGEST_WAIT),
                Err(_) => {
                    return Err(ServiceError::BadRequest(format!(
                        "WAIT={w} is not a whole number of seconds (-1: as long as the service allows)"
                    )));
                }
            };
            let phase = match first(&pairs, "PHASE") {
                Some(p) => Some(Phase::parse(p).ok_or_else(|| {
                    ServiceError::BadRequest(format!("PHASE={p} is not a UWS phase"))
                })?),
                None => None,
            };
            jobs.wait(&id, &viewer, phase, wait).await?
        }
    };
    let view = uws_xml::JobView {
        url: state.job_url(&job.id),
        progress: jobs.progress(&job.id),
        job: &job,
    };
    Ok(xml(uws_xml::job(&view)))
}

/// POST /async/ID: ACTION=DELETE (UWS 1.1 §2.2.3.2), a PHASE, or new parameters.
pub(crate) async fn post_job(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ServiceError> {
    if let Some(action) = first(&pairs, "ACTION") {
        if action.eq_ignore_ascii_case("DELETE") {
            return delete_job(State(state), Path(id), headers).await;
        }
        return Err(ServiceError::BadRequest(format!(
            "ACTION={action} is not an action of a job; use ACTION=DELETE"
        )));
    }
    if first(&pairs, "PHASE").is_some() {
        return post_phase(State(state), Path(id), headers, Form(pairs)).await;
    }
    post_parameters(State(state), Path(id), headers, Form(pairs)).await
}

/// DELETE /async/ID: the job and its files are gone; 303 to the job list.
pub(crate) async fn delete_job(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let jobs = state.jobs()?;
    jobs.delete(&job_id(&id)?, &state.viewer(&headers)).await?;
    Ok(Redirect::to(&state.async_url()).into_response())
}

/// GET /async/ID/phase.
pub(crate) async fn phase(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let job = state.job(&id, &headers).await?;
    Ok(text(job.phase.to_string()))
}

/// POST /async/ID/phase: PHASE=RUN (§2.2.3.5) or PHASE=ABORT (§2.2.3.6).
pub(crate) async fn post_phase(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ServiceError> {
    let jobs = state.jobs()?;
    let id = job_id(&id)?;
    let viewer = state.viewer(&headers);
    match first(&pairs, "PHASE")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("RUN") => jobs.run(&id, &viewer).await?,
        Some("ABORT") => jobs.abort(&id, &viewer).await?,
        other => {
            return Err(ServiceError::BadRequest(format!(
                "PHASE={} cannot be set; send PHASE=RUN or PHASE=ABORT",
                other.unwrap_or("(missing)")
            )));
        }
    };
    Ok(Redirect::to(&state.job_url(&id)).into_response())
}

/// GET /async/ID/executionduration: seconds.
pub(crate) async fn execution_duration(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let job = state.job(&id, &headers).await?;
    Ok(text(job.execution_seconds.to_string()))
}

/// POST /async/ID/executionduration (§2.2.3.4): clamped to the queue's limit.
pub(crate) async fn post_execution_duration(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ServiceError> {
    let value = required(&pairs, "EXECUTIONDURATION", "seconds")?;
    let id = job_id(&id)?;
    state
        .jobs()?
        .set_execution_seconds(&id, &state.viewer(&headers), seconds(value)?)
        .await?;
    Ok(Redirect::to(&state.job_url(&id)).into_response())
}

/// GET /async/ID/destruction: an ISO 8601 instant.
pub(crate) async fn destruction(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let job = state.job(&id, &headers).await?;
    Ok(text(job.destruction.to_iso()))
}

/// POST /async/ID/destruction (§2.2.3.3): clamped to the longest a job is kept.
pub(crate) async fn post_destruction(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ServiceError> {
    let value = required(&pairs, "DESTRUCTION", "2026-12-09T12:00:00Z")?;
    let id = job_id(&id)?;
    state
        .jobs()?
        .set_destruction(&id, &state.viewer(&headers), instant(value)?)
        .await?;
    Ok(Redirect::to(&state.job_url(&id)).into_response())
}

/// GET /async/ID/quote: when the job is expected to complete, or empty.
pub(crate) async fn quote(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let job = state.job(&id, &headers).await?;
    Ok(text(job.quote.map(Millis::to_iso).unwrap_or_default()))
}

/// GET /async/ID/owner: the owner's name, or empty for the anonymous owner.
pub(crate) async fn owner(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let job = state.job(&id, &headers).await?;
    Ok(text(job.owner.unwrap_or_default()))
}

/// GET /async/ID/error: the DALI error document of a job in ERROR (TAP 1.1 §2.2.2).
pub(crate) async fn error(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let job = state.job(&id, &headers).await?;
    match &job.error {
        Some(e) => Ok((
            [(header::CONTENT_TYPE, "application/x-votable+xml")],
            table_writers::error_document(&e.message),
        )
            .into_response()),
        None => Err(ServiceError::NotFound(format!(
            "job {} has no error: it is {}",
            job.id, job.phase
        ))),
    }
}

/// GET /async/ID/results.
pub(crate) async fn results(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let job = state.job(&id, &headers).await?;
    Ok(xml(uws_xml::results(&job, &state.job_url(&job.id))))
}

/// GET /async/ID/results/result: the result file, with HTTP range
/// requests (a large download resumes where it broke off).
pub(crate) async fn result(
    State(state): State<Arc<AppState>>,
    Path((id, result)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ServiceError> {
    let job = state.job(&id, request.headers()).await?;
    let jobs = state.jobs()?;
    let Some(r) = job.results.iter().find(|r| r.id == result) else {
        return Err(ServiceError::NotFound(
            if job.phase == Phase::Completed || result != RESULT {
                format!("job {} has no result {result}", job.id)
            } else {
                format!(
                    "job {} is {}; its result is there once it is COMPLETED",
                    job.id, job.phase
                )
            },
        ));
    };
    let path = jobs.folder(&job.id).join(&r.id);
    let response = tower_http::services::ServeFile::new_with_mime(&path, &media_type(&r.mime_type))
        .oneshot(request)
        .await
        .map_err(|e| ServiceError::internal("cannot read the job's result", e))?;
    if response.status() == StatusCode::NOT_FOUND {
        return Err(ServiceError::internal(
            "the job's result file is missing",
            path.display(),
        ));
    }
    Ok(response.map(axum::body::Body::new))
}

fn media_type(name: &str) -> mime::Mime {
    name.parse().unwrap_or(mime::APPLICATION_OCTET_STREAM)
}

/// GET /async/ID/parameters.
pub(crate) async fn parameters(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let job = state.job(&id, &headers).await?;
    Ok(xml(uws_xml::parameters(&job, &state.job_url(&job.id))))
}

/// POST /async/ID/parameters: new values for a PENDING job's parameters
/// (UWS 1.1 §2.1.11), checked, as at creation, when the job runs.
pub(crate) async fn post_parameters(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ServiceError> {
    let jobs = state.jobs()?;
    let id = job_id(&id)?;
    let viewer = state.viewer(&headers);
    let job = jobs.get(&id, &viewer).await?;
    let mut merged = job.parameters.clone();
    for (k, v) in pairs {
        if CONTROL.iter().any(|c| k.eq_ignore_ascii_case(c)) {
            continue;
        }
        match merged.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&k)) {
            Some(slot) => slot.1 = v,
            None => merged.push((k, v)),
        }
    }
    let estimate = estimate(&state, &merged).await;
    let queue = first(&merged, "QUEUE").map(str::to_string);
    jobs.set_parameters(
        &id,
        &viewer,
        merged,
        queue,
        estimate.and_then(|e| e.seconds),
        estimate.and_then(|e| e.rows),
    )
    .await?;
    Ok(Redirect::to(&state.job_url(&id)).into_response())
}

/// GET /async/ID/parameters/NAME: an inline upload's content, or a
/// parameter's value.
pub(crate) async fn parameter(
    State(state): State<Arc<AppState>>,
    Path((id, name)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ServiceError> {
    let job = state.job(&id, request.headers()).await?;
    let jobs = state.jobs()?;
    if let Some(path) = job_runner::stored_part(&jobs.folder(&job.id), &name) {
        let response = tower_http::services::ServeFile::new(&path)
            .oneshot(request)
            .await
            .map_err(|e| ServiceError::internal("cannot read the uploaded table", e))?;
        return Ok(response.map(axum::body::Body::new));
    }
    match job.parameter(&name) {
        Some(v) => Ok(text(v.to_string())),
        None => Err(ServiceError::NotFound(format!(
            "job {} has no parameter {name}",
            job.id
        ))),
    }
}
