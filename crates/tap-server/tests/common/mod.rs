//! What the in-process route tests share: a request sent through `app()`
//! without a socket (the axum `oneshot` pattern) and its whole answer.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use std::sync::Arc;
use tap_server::{AppState, app};
use tower::ServiceExt;

/// An answer, read whole.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request` to the service of `state` and reads the answer whole.
pub(crate) async fn send(state: &Arc<AppState>, request: Request<Body>) -> Answer {
    #[allow(clippy::unwrap_used)] // test helper: a panic is a failed test
    let response = app(Arc::clone(state)).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    #[allow(clippy::unwrap_used)]
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}
