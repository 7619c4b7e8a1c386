//! `/metrics`: counters and gauges in the Prometheus text format (version
//! 0.0.4), for the operator's monitoring. Counted where the work happens:
//! requests by endpoint in a middleware, queries, rows and bytes where
//! results are written; the gauges (queries running and waiting per lane,
//! memory held) are read from the engine when asked.

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The endpoints counted apart.
const ENDPOINTS: &[&str] = &[
    "sync",
    "async",
    "scs",
    "tables",
    "capabilities",
    "availability",
    "examples",
    "metrics",
    "other",
];

/// The service's counters.
#[derive(Default)]
pub struct Metrics {
    requests: [AtomicU64; ENDPOINTS.len()],
    /// Queries whose result started streaming.
    pub(crate) queries: AtomicU64,
    /// Requests answered with an error status (4xx or 5xx).
    pub(crate) errors: AtomicU64,
    /// Result rows sent.
    pub(crate) rows: AtomicU64,
    /// Result bytes sent (before any compression).
    pub(crate) bytes: AtomicU64,
    /// Results that MAXREC cut.
    pub(crate) overflows: AtomicU64,
}

impl Metrics {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

fn endpoint(path: &str) -> usize {
    let name = if path.starts_with("/scs/") {
        "scs"
    } else if path.starts_with("/tap/tables") {
        "tables"
    } else if path.starts_with("/tap/async") {
        "async"
    } else {
        path.trim_start_matches("/tap/").trim_start_matches('/')
    };
    ENDPOINTS
        .iter()
        .position(|e| *e == name)
        .unwrap_or(ENDPOINTS.len() - 1)
}

/// Counts every request by endpoint.
pub(crate) async fn count(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    Metrics::add(&state.metrics.requests[endpoint(request.uri().path())], 1);
    let response = next.run(request).await;
    if response.status().is_client_error() || response.status().is_server_error() {
        Metrics::add(&state.metrics.errors, 1);
    }
    response
}

pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let m = &state.metrics;
    let mut s = String::new();
    s.push_str("# HELP corvus_http_requests_total HTTP requests by endpoint.\n# TYPE corvus_http_requests_total counter\n");
    for (i, e) in ENDPOINTS.iter().enumerate() {
        let _ = writeln!(
            s,
            "corvus_http_requests_total{{endpoint=\"{e}\"}} {}",
            m.requests[i].load(Ordering::Relaxed)
        );
    }
    for (name, help, v) in [
        (
            "corvus_queries_total",
            "Queries whose result started streaming.",
            &m.queries,
        ),
        (
            "corvus_query_errors_total",
            "Requests answered with an error status (4xx or 5xx).",
            &m.errors,
        ),
        ("corvus_result_rows_total", "Result rows sent.", &m.rows),
        (
            "corvus_result_bytes_total",
            "Result bytes sent, before compression.",
            &m.bytes,
        ),
        (
            "corvus_result_overflows_total",
            "Results cut at MAXREC.",
            &m.overflows,
        ),
    ] {
        let _ = writeln!(
            s,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
            v.load(Ordering::Relaxed)
        );
    }
    if let Some(jobs) = state.jobs.get() {
        let _ = writeln!(
            s,
            "# HELP corvus_jobs_executing Asynchronous jobs executing now.\n# TYPE corvus_jobs_executing gauge\ncorvus_jobs_executing {}",
            jobs.executing()
        );
    }
    let load = state.engine.load();
    for (name, help, quick, long) in [
        (
            "corvus_queries_running",
            "Queries executing now, by lane.",
            load.quick_running,
            load.long_running,
        ),
        (
            "corvus_queries_waiting",
            "Queries waiting for an execution slot, by lane.",
            load.quick_waiting,
            load.long_waiting,
        ),
    ] {
        let _ = writeln!(
            s,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{lane=\"quick\"}} {quick}\n{name}{{lane=\"long\"}} {long}"
        );
    }
    let _ = writeln!(
        s,
        "# HELP corvus_query_memory_bytes Memory that running queries hold in the engine's pool.\n# TYPE corvus_query_memory_bytes gauge\ncorvus_query_memory_bytes {}",
        load.memory_bytes
    );
    if let Some(status) = state.engine.cluster_status().await {
        cluster_metrics(&mut s, status.ok());
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s,
    )
        .into_response()
}

/// The cluster as its scheduler lists it: whether it answered, and its
/// workers with the seconds since each one's last heartbeat.
fn cluster_metrics(s: &mut String, status: Option<query_engine::ClusterStatus>) {
    let _ = writeln!(
        s,
        "# HELP corvus_cluster_up Whether the cluster's scheduler answered (1) or not (0).\n# TYPE corvus_cluster_up gauge\ncorvus_cluster_up {}",
        u8::from(status.is_some())
    );
    let Some(status) = status else { return };
    let _ = writeln!(
        s,
        "# HELP corvus_cluster_workers Workers registered with the cluster's scheduler.\n# TYPE corvus_cluster_workers gauge\ncorvus_cluster_workers {}",
        status.workers.len()
    );
    s.push_str("# HELP corvus_cluster_worker_heartbeat_age_seconds Seconds since each worker's last heartbeat.\n# TYPE corvus_cluster_worker_heartbeat_age_seconds gauge\n");
    for w in &status.workers {
        if let Some(ms) = w.heartbeat_age_ms {
            let _ = writeln!(
                s,
                "corvus_cluster_worker_heartbeat_age_seconds{{worker=\"{}\",address=\"{}:{}\"}} {:.3}",
                label(&w.id),
                label(&w.host),
                w.port,
                ms as f64 / 1000.0
            );
        }
    }
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
