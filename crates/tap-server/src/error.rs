//! The one error of the service, and the one place that turns an error into
//! an HTTP status and an error document.
//!
//! Every handler returns `Result<_, ServiceError>`; [`ServiceError::status`]
//! alone picks the status: the caller's mistakes are 400 with the message
//! that says what to change (ADQL errors with line and column), a request
//! over a size limit 413, a busy service 503 with `Retry-After`, and the
//! service's own failures 500 with a message that names no server path
//! (the log gets the whole error). The body is a DALI error document (DALI
//! 1.1 §4.4: a VOTable with `QUERY_STATUS=ERROR`); cone search answers in
//! its own dialect (SCS 1.03 §2.3).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use query_engine::{CancelReason, Fault};
use table_writers::{VOTABLE_OPEN, xml_escape};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A parameter is missing or wrong, or an upload cannot be read.
    #[error("{0}")]
    BadRequest(String),
    /// No such table or resource.
    #[error("{0}")]
    NotFound(String),
    /// The request body is over a size limit (the message names it).
    #[error("{0}")]
    TooLarge(String),
    /// The request does not fit the state of what it asks about (a job's
    /// phase), or a limit refuses it; the message names the limit (UWS 1.1 §2.2: 403).
    #[error("{0}")]
    Forbidden(String),
    /// The service cannot take the request now (it is stopping).
    #[error("{0}")]
    Unavailable(String),
    /// The query failed before its first row.
    #[error(transparent)]
    Query(#[from] query_engine::Error),
    /// The service failed; the first field is for the log only, the second
    /// for the user (it names no path).
    #[error("{1}")]
    Internal(String, &'static str),
}

impl ServiceError {
    /// The service failed at `what` (for the user) because of `detail`
    /// (for the log).
    pub(crate) fn internal(what: &'static str, detail: impl std::fmt::Display) -> ServiceError {
        ServiceError::Internal(detail.to_string(), what)
    }

    /// The HTTP status: the one mapping from errors to statuses.
    pub fn status(&self) -> StatusCode {
        match self {
            ServiceError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Query(e) => match e.fault() {
                Fault::User | Fault::Limit => StatusCode::BAD_REQUEST,
                Fault::Busy | Fault::Cancelled => StatusCode::SERVICE_UNAVAILABLE,
                Fault::Service => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ServiceError::Internal(..) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message for the user.
    pub fn message(&self) -> String {
        match self {
            ServiceError::Query(e) => e.user_message(),
            ServiceError::Internal(_, what) => {
                format!("{what}; the operator's log has the details")
            }
            other => other.to_string(),
        }
    }

    /// Seconds after which the same request may succeed, for `Retry-After`.
    fn retry_after(&self) -> Option<u64> {
        match self {
            ServiceError::Query(query_engine::Error::Busy {
                retry_after_seconds,
                ..
            }) => Some(*retry_after_seconds),
            ServiceError::Query(query_engine::Error::Cancelled(CancelReason::Shutdown))
            | ServiceError::Unavailable(_) => Some(30),
            _ => None,
        }
    }

    /// Logs what the operator must see: the service's own failures, whole.
    fn log(&self) {
        match self {
            ServiceError::Internal(detail, what) => tracing::error!("{what}: {detail}"),
            ServiceError::Query(e) if e.fault() == Fault::Service => {
                tracing::error!("query failed: {e:?}")
            }
            _ => {}
        }
    }

    /// Cone search's error document: a VOTable with an INFO named Error
    /// (SCS 1.03 §2.3), with status 200, since SCS clients read the INFO and
    /// many drop the body of any other status.
    pub(crate) fn into_scs_response(self) -> Response {
        self.log();
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{VOTABLE_OPEN}\n<INFO ID=\"Error\" name=\"Error\" value=\"{}\"/>\n<RESOURCE type=\"results\"><TABLE><FIELD name=\"error\" datatype=\"char\" arraysize=\"*\"/><DATA><TABLEDATA/></DATA></TABLE></RESOURCE>\n</VOTABLE>\n",
            xml_escape(&self.message())
        );
        (
            [(header::CONTENT_TYPE, "text/xml; content=x-votable")],
            body,
        )
            .into_response()
    }
}

/// A job request's error: its kind picks the status here, like any other.
impl From<uws_jobs::Error> for ServiceError {
    fn from(e: uws_jobs::Error) -> Self {
        use uws_jobs::Error as E;
        match e {
            E::NotFound(_) => ServiceError::NotFound(e.to_string()),
            E::WrongPhase(m) | E::Refused(m) => ServiceError::Forbidden(m),
            E::BadValue(m) => ServiceError::BadRequest(m),
            E::ShuttingDown => ServiceError::Unavailable(e.to_string()),
            other => ServiceError::internal("the job store failed", other),
        }
    }
}

/// A writer that cannot start (FITS's spool file) fails like a query does:
/// its fault and message come from the engine's one classification.
impl From<table_writers::Error> for ServiceError {
    fn from(e: table_writers::Error) -> Self {
        ServiceError::Query(query_engine::Error::Write(e))
    }
}

impl ServiceError {
    /// The web interface's JSON API's error: the same status and message
    /// as the DALI document, as `{"error": message}`.
    pub(crate) fn into_json_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message() }).to_string();
        self.respond("application/json", body)
    }

    fn respond(self, content_type: &'static str, body: String) -> Response {
        self.log();
        let mut response =
            (self.status(), [(header::CONTENT_TYPE, content_type)], body).into_response();
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let body = table_writers::error_document(&self.message());
        self.respond("application/x-votable+xml", body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_whose_fault_it_is() {
        let busy = ServiceError::Query(query_engine::Error::Busy {
            running: 2,
            waiting: 8,
            retry_after_seconds: 10,
        });
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        let response = busy.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "10");
        let internal = ServiceError::internal(
            "cannot store the upload",
            "/tmp/corvus-upload-x/part0: No space left on device",
        );
        assert_eq!(internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            !internal.message().contains("/tmp"),
            "{}",
            internal.message()
        );
        assert_eq!(
            ServiceError::TooLarge("over 1 MB".into()).status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }
}
