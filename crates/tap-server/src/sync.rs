//! `/tap/sync`: TAP 1.1 §2.3 synchronous queries, by GET, by form POST,
//! or by multipart POST with uploads (TAP 1.1 §2.5.8).

use crate::AppState;
use crate::error::ServiceError;
use crate::request::{Params, QueryRequest};
use crate::{query, uploads};
use axum::extract::{Form, FromRequest, Multipart, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use std::sync::Arc;

pub(crate) async fn sync_get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ServiceError> {
    run(
        &state,
        Params::from_pairs(pairs),
        uploads::Parts::default(),
        &headers,
    )
    .await
}

/// A POST, as a form (`application/x-www-form-urlencoded`) or, with
/// uploads, as `multipart/form-data`.
pub(crate) async fn sync_post(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, ServiceError> {
    let headers = request.headers().clone();
    let (pairs, parts) = read_post(request, &state).await?;
    run(&state, Params::from_pairs(pairs), parts, &headers).await
}

/// The parameters of a POST and, for multipart, its files.
pub(crate) async fn read_post(
    request: Request,
    state: &AppState,
) -> Result<(Vec<(String, String)>, uploads::Parts), ServiceError> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    // A body over the limit is refused by axum with 413; keep that status.
    let refused = |status: StatusCode, text: String| {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ServiceError::TooLarge(format!(
                "the request is larger than this service's upload limit of {} bytes",
                state.limits.max_upload_bytes
            ))
        } else {
            ServiceError::BadRequest(text)
        }
    };
    if multipart {
        let m = Multipart::from_request(request, &())
            .await
            .map_err(|e| refused(e.status(), e.body_text()))?;
        uploads::read_multipart(m, &state.limits).await
    } else {
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(request, &())
            .await
            .map_err(|e| refused(e.status(), e.body_text()))?;
        Ok((pairs, uploads::Parts::default()))
    }
}

async fn run(
    state: &Arc<AppState>,
    params: Params,
    parts: uploads::Parts,
    headers: &HeaderMap,
) -> Result<Response, ServiceError> {
    let request = QueryRequest::from_tap(&params, &state.limits)?;
    query::run(state, request, parts, headers, |_| {}).await
}
