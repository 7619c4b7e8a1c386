//! The web interface: the page at the service's root, its embedded
//! scripts and styles (`web-assets`), and the small JSON API it calls
//! beside the TAP endpoints (`docs/web-api.md`). Everything else the page
//! does (queries, jobs, aborts, deletions) goes through the TAP endpoints
//! themselves, as any client's requests would: no back doors.

mod api;
pub(crate) mod owner;
mod stored;

use crate::AppState;
use crate::request::Params;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;

/// The page and the JSON API (compressed like the other documents).
pub(crate) fn documents() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(page))
        .route("/ui/{*path}", get(asset))
        .route("/api/service", get(api::service))
        .route("/api/tables", get(api::tables))
        .route("/api/validate", post(api::validate))
        .route("/api/jobs", get(api::jobs))
        .route("/api/jobs/{id}/rows", get(stored::rows))
}

/// Results in every format, which the query pipeline compresses itself.
pub(crate) fn results() -> Router<Arc<AppState>> {
    Router::new().route("/api/jobs/{id}/download", get(stored::download))
}

/// GET /: the web interface for a browser; for any other client (one that
/// does not ask for HTML: curl, scripts) the plain-text list of endpoints.
/// A browser without an identity gets one (see [`owner`]).
async fn page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let Some(index) = wants_html
        .then(|| web_assets::get(web_assets::INDEX))
        .flatten()
    else {
        return crate::root(State(state)).await;
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, index.mime),
            // The page names its hashed scripts: always ask for the newest.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        index.bytes,
    )
        .into_response();
    if owner::browser_token(&headers).is_none()
        && let Some(token) = owner::new_token()
    {
        response.headers_mut().insert(
            header::SET_COOKIE,
            owner::set_cookie(&token, state.base_url.starts_with("https://")),
        );
    }
    response
}

/// GET /ui/PATH: a built script, style or image; their names carry a hash
/// of their content, so browsers keep them for good.
async fn asset(Path(path): Path<String>) -> Response {
    match web_assets::get(&format!("ui/{path}")) {
        Some(asset) => {
            let cache = if asset.immutable {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            (
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static(asset.mime)),
                    (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
                ],
                asset.bytes,
            )
                .into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("the web interface has no file ui/{path}; reload the page"),
        )
            .into_response(),
    }
}

/// A JSON API answer: a value, or the service's error as `{"error": ...}`.
pub(crate) struct Json(Result<serde_json::Value, crate::ServiceError>);

impl IntoResponse for Json {
    fn into_response(self) -> Response {
        match self.0 {
            Ok(value) => (
                [(header::CONTENT_TYPE, "application/json")],
                value.to_string(),
            )
                .into_response(),
            Err(e) => e.into_json_response(),
        }
    }
}

/// The whole-number parameter `name` (case-insensitive, DALI 1.1 §3.1):
/// `default` when absent, else a number in `range`.
fn whole_number(
    params: &Params,
    name: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, crate::ServiceError> {
    let Some(v) = params.get(&name.to_ascii_uppercase()) else {
        return Ok(default);
    };
    v.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            crate::ServiceError::BadRequest(format!(
                "{name}={v} is not a whole number from {} to {}",
                range.start(),
                range.end()
            ))
        })
}
