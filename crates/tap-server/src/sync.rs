//! `/tap/sync`: TAP 1.1 §2.3 synchronous queries, by GET, by form POST,
//! or by multipart POST with uploads (TAP 1.1 §2.5.8).

use crate::AppState;
use crate::error::ServiceError;
use crate::request::{Params, QueryRequest};
use crate::{query, uploads};
use axum::extract::{Form, FromRequest, Multipart, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
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
    mut request: Request,
    state: &AppState,
) -> Result<(Vec<(String, String)>, uploads::Parts), ServiceError> {
    quote_boundary(request.headers_mut());
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

/// Quotes a multipart boundary sent bare with characters that RFC 2045
/// allows only inside quotes: astroquery's TapPlus sends
/// `boundary====1796224315831===`, which the multipart parser would refuse.
fn quote_boundary(headers: &mut HeaderMap) {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let lower = value.to_ascii_lowercase();
    let Some(at) = lower.find("boundary=") else {
        return;
    };
    let start = at + "boundary=".len();
    let rest = &value[start..];
    if rest.starts_with('"') {
        return;
    }
    let end = rest.find(';').map_or(value.len(), |i| start + i);
    let boundary = value[start..end].trim();
    // RFC 2045 tspecials: a token may hold none of them.
    if !boundary.chars().any(|c| "()<>@,;:\\\"/[]?=".contains(c)) {
        return;
    }
    let quoted = format!("{}\"{boundary}\"{}", &value[..start], &value[end..]);
    if let Ok(v) = HeaderValue::from_str(&quoted) {
        headers.insert(header::CONTENT_TYPE, v);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_boundary_with_special_characters_is_quoted() {
        for (sent, read) in [
            (
                "multipart/form-data; boundary====1796224315831===",
                "multipart/form-data; boundary=\"===1796224315831===\"",
            ),
            (
                "multipart/form-data; boundary=a=b; charset=utf-8",
                "multipart/form-data; boundary=\"a=b\"; charset=utf-8",
            ),
            (
                "multipart/form-data; boundary=plain",
                "multipart/form-data; boundary=plain",
            ),
            (
                "multipart/form-data; boundary=\"q=q\"",
                "multipart/form-data; boundary=\"q=q\"",
            ),
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(sent));
            quote_boundary(&mut h);
            assert_eq!(h[header::CONTENT_TYPE], read);
        }
    }
}
