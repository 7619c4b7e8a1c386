//! The TAP service: IVOA TAP 1.1 synchronous queries, the VOSI endpoints
//! (availability, capabilities, tables) and DALI 1.1 error documents, on
//! axum. Results stream from DataFusion batches through a `table-writers`
//! writer straight into the response body.
//!
//! **Boundary:** the only crate that knows HTTP. It asks `adql-planner` to
//! translate and run queries and `table-writers` to serialise them.

pub mod examples;
pub mod metrics;
mod params;
pub mod registry;
mod scs;
mod sync;
mod uploads;
mod vosi;

use adql_planner::Engine;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;

/// Limits on what one request may ask for.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Rows returned when the request gives no MAXREC.
    pub default_maxrec: u64,
    /// The most rows any request may have.
    pub hard_maxrec: u64,
    /// The longest a synchronous query may run, in seconds.
    pub execution_seconds: u64,
    /// The most bytes of uploaded tables one request may send.
    pub max_upload_bytes: u64,
    /// The most rows one uploaded table may have.
    pub max_upload_rows: u64,
    /// Fetch tables from the URLs an UPLOAD names. Off by default: the
    /// service would make requests on the caller's behalf, possibly to
    /// hosts behind the firewall (server-side request forgery).
    pub fetch_upload_urls: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            default_maxrec: 20_000,
            hard_maxrec: 16_000_000,
            execution_seconds: 600,
            max_upload_bytes: 100 << 20,
            max_upload_rows: 1_000_000,
            fetch_upload_urls: false,
        }
    }
}

impl Limits {
    /// The row limit for a request's MAXREC (DALI 1.1 §3.3.3): the default
    /// when absent, never above the hard limit.
    pub(crate) fn maxrec(&self, value: Option<&str>) -> Result<u64, String> {
        match value {
            None => Ok(self.default_maxrec),
            Some(m) => m
                .trim()
                .parse::<u64>()
                .map(|n| n.min(self.hard_maxrec))
                .map_err(|_| format!("MAXREC={m} is not a non-negative whole number")),
        }
    }
}

/// What every handler shares.
pub struct AppState {
    /// The engine with the published tables.
    pub engine: Engine,
    /// The service's public URL up to and including `/tap`, for the links it writes.
    pub base_url: String,
    /// Request limits.
    pub limits: Limits,
    /// Main position columns (ra, dec) by qualified table name: the tables
    /// with a cone search.
    pub positions: std::collections::HashMap<String, (String, String)>,
    /// Counters for `/metrics`.
    pub metrics: metrics::Metrics,
    /// Who runs the service, for its registry record.
    pub registry: registry::RegistryInfo,
}

impl AppState {
    /// A service over `engine` at `base_url` with these limits; no cone
    /// searches, the default registry record, counters at zero.
    pub fn new(engine: Engine, base_url: String, limits: Limits) -> Self {
        AppState {
            engine,
            base_url,
            limits,
            positions: Default::default(),
            metrics: Default::default(),
            registry: Default::default(),
        }
    }
}

/// The service's routes.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/tap", get(root))
        .route(
            "/tap/sync",
            get(sync::sync_get)
                .post(sync::sync_post)
                // Uploads are limited by `Limits::max_upload_bytes` as they
                // arrive; the extra megabyte is for the other parameters.
                .layer(axum::extract::DefaultBodyLimit::max(
                    (state.limits.max_upload_bytes as usize).saturating_add(1 << 20),
                )),
        )
        .route("/tap/availability", get(vosi::availability))
        .route("/tap/capabilities", get(vosi::capabilities))
        .route("/tap/tables", get(vosi::tables))
        .route("/tap/tables/{name}", get(vosi::table))
        .route("/tap/examples", get(examples::examples))
        .route("/tap/resource", get(registry::resource))
        .route("/metrics", get(metrics::metrics))
        .route("/scs/{table}", get(scs::search))
        .route("/scs/{table}/capabilities", get(scs::capabilities))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            metrics::count,
        ))
        // gzip (or deflate, br, zstd) when the client's Accept-Encoding asks.
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(tower_http::cors::CorsLayer::permissive())
        // One log line per request: method, path, status, latency.
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(
                    tower_http::trace::DefaultMakeSpan::new().level(tracing::Level::INFO),
                )
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO),
                ),
        )
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::SERVER,
            header::HeaderValue::from_static(concat!("Corvus/", env!("CARGO_PKG_VERSION"))),
        ))
        .with_state(state)
}

async fn root(axum::extract::State(state): axum::extract::State<Arc<AppState>>) -> Response {
    let root = state.base_url.trim_end_matches("/tap");
    let body = format!(
        "Corvus TAP service\n\n\
TAP endpoint:        {0}\n\
Synchronous queries: {0}/sync?LANG=ADQL&QUERY=...\n\
Tables:              {0}/tables\n\
Capabilities:        {0}/capabilities\n\
Availability:        {0}/availability\n\
Examples:            {0}/examples\n\
Registry record:     {0}/resource\n\
Cone search:         {1}/scs/SCHEMA.TABLE?RA=&DEC=&SR=\n\
Metrics:             {1}/metrics\n",
        state.base_url, root
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// A refusal as a DALI error document (DALI 1.1 §4.4) with its HTTP status.
pub(crate) fn dali_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/x-votable+xml")],
        table_writers::error_document(message),
    )
        .into_response()
}

/// XML responses.
pub(crate) fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}
