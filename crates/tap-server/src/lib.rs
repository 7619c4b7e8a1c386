//! The TAP service: IVOA TAP 1.1 synchronous queries, cone search, the VOSI
//! endpoints (availability, capabilities, tables), examples, the registry
//! record and metrics, on axum.
//!
//! A query request is validated once into a `QueryRequest` (`request.rs`)
//! and run by `query.rs`: the engine executes it on its own pools and
//! writes the result through its one pipeline into the response body.
//! Every failure is a [`ServiceError`] (`error.rs`), the one place that
//! picks an HTTP status and the DALI error document.
//!
//! **Boundary:** the only crate that knows HTTP. It asks `query-engine` to
//! translate, execute and write, and never touches DataFusion itself.

mod async_jobs;
mod coverage;
mod encoding;
mod error;
pub mod examples;
mod fetch;
mod job_runner;
pub mod metrics;
mod query;
pub mod registry;
mod request;
mod scs;
mod sync;
mod ui;
mod uploads;
mod uws_xml;
mod vosi;

pub use axum::http::HeaderName;
pub use error::ServiceError;
pub use fetch::UrlUploads;

use axum::Router;
use axum::handler::Handler;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use query_engine::Engine;
use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

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
    /// Tables fetched from the URLs an UPLOAD names: on by default, from
    /// public addresses only unless the operator trusts a host, each at
    /// most `max_upload_bytes`.
    pub upload_urls: UrlUploads,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            default_maxrec: 20_000,
            hard_maxrec: 16_000_000,
            execution_seconds: 600,
            max_upload_bytes: 100 << 20,
            max_upload_rows: 1_000_000,
            upload_urls: UrlUploads::default(),
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
    /// Counters for `/metrics`.
    pub metrics: metrics::Metrics,
    /// Who runs the service, for its registry record.
    pub registry: registry::RegistryInfo,
    /// Query requests between their start and the end of their response.
    pub queries_in_flight: Arc<AtomicUsize>,
    /// Set when a shutdown began: availability says so from then on.
    pub stopping: AtomicBool,
    /// The asynchronous jobs, once [`start_jobs`] started them.
    pub jobs: std::sync::OnceLock<uws_jobs::JobSystem>,
    /// The request header that names the authenticated user (set by a
    /// proxy in front of the service); without it every request is the
    /// anonymous owner's.
    pub owner_header: Option<axum::http::HeaderName>,
    /// Signs the web interface's shared result links (see `ui::owner`).
    pub link_key: Option<ring::hmac::Key>,
}

/// Counts a query request while it lives (see [`AppState::in_flight`]).
pub(crate) struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl AppState {
    /// A service over `engine` at `base_url` with these limits; no cone
    /// searches, the default registry record, counters at zero.
    pub fn new(engine: Engine, base_url: String, limits: Limits) -> Self {
        AppState {
            engine,
            base_url,
            limits,
            metrics: Default::default(),
            registry: Default::default(),
            queries_in_flight: Default::default(),
            stopping: AtomicBool::new(false),
            jobs: Default::default(),
            owner_header: None,
            link_key: ui::owner::new_link_key(),
        }
    }

    /// Counts one more query request until the guard is dropped.
    pub(crate) fn in_flight(&self) -> InFlight {
        self.queries_in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(&self.queries_in_flight))
    }
}

/// The service's routes.
pub fn app(state: Arc<AppState>) -> Router {
    // Results are compressed by the query pipeline itself (on the engine's
    // pool, at fast levels, never for Parquet); the compression layer is
    // for the other documents only.
    let results = Router::new()
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
        .route("/scs/{table}", get(scs::search))
        // Result files are served whole or by ranges, never recompressed.
        .route("/tap/async/{id}/results/{result}", get(async_jobs::result))
        .route(
            "/tap/async/{id}/parameters/{name}",
            get(async_jobs::parameter),
        )
        .merge(ui::results());
    let jobs = Router::new()
        .route(
            "/tap/async",
            get(async_jobs::list).post(async_jobs::create.layer(
                axum::extract::DefaultBodyLimit::max(
                    (state.limits.max_upload_bytes as usize).saturating_add(1 << 20),
                ),
            )),
        )
        .route(
            "/tap/async/{id}",
            get(async_jobs::job)
                .post(async_jobs::post_job)
                .delete(async_jobs::delete_job),
        )
        .route(
            "/tap/async/{id}/phase",
            get(async_jobs::phase).post(async_jobs::post_phase),
        )
        .route(
            "/tap/async/{id}/executionduration",
            get(async_jobs::execution_duration).post(async_jobs::post_execution_duration),
        )
        .route(
            "/tap/async/{id}/destruction",
            get(async_jobs::destruction).post(async_jobs::post_destruction),
        )
        .route("/tap/async/{id}/quote", get(async_jobs::quote))
        .route("/tap/async/{id}/owner", get(async_jobs::owner))
        .route("/tap/async/{id}/error", get(async_jobs::error))
        .route("/tap/async/{id}/results", get(async_jobs::results))
        .route(
            "/tap/async/{id}/parameters",
            get(async_jobs::parameters).post(async_jobs::post_parameters),
        )
        .layer(tower_http::compression::CompressionLayer::new());
    let documents = Router::new()
        .merge(ui::documents())
        .route("/tap", get(root))
        .route("/tap/availability", get(vosi::availability))
        .route("/tap/capabilities", get(vosi::capabilities))
        .route("/tap/tables", get(vosi::tables))
        .route("/tap/tables/{name}", get(vosi::table))
        .route("/tap/examples", get(examples::examples))
        .route("/tap/resource", get(registry::resource))
        .route("/metrics", get(metrics::metrics))
        .route("/scs/{table}/capabilities", get(scs::capabilities))
        .route("/coverage/{table}", get(coverage::coverage))
        // gzip (or deflate, br, zstd) when the client's Accept-Encoding asks.
        .layer(tower_http::compression::CompressionLayer::new());
    results
        .merge(jobs)
        .merge(documents)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            metrics::count,
        ))
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

async fn not_found(uri: axum::http::Uri) -> ServiceError {
    ServiceError::NotFound(format!(
        "nothing at {}; the service's root lists its endpoints",
        uri.path()
    ))
}

/// Starts the asynchronous jobs of `state`: jobs in `store`, run by this
/// service's engine in the queues of `config`. Jobs that a previous run
/// left are recovered first (see [`uws_jobs::OnRestart`]).
pub async fn start_jobs(
    state: &Arc<AppState>,
    store: uws_jobs::Store,
    config: uws_jobs::JobsConfig,
) -> Result<(), uws_jobs::Error> {
    let runner = job_runner::TapRunner {
        state: std::sync::OnceLock::new(),
    };
    let _ = runner.state.set(Arc::downgrade(state));
    let system = uws_jobs::JobSystem::start(store, config, Arc::new(runner)).await?;
    if let Err(system) = state.jobs.set(system) {
        system.shut_down();
        return Err(uws_jobs::Error::BadValue(
            "the jobs were started twice".into(),
        ));
    }
    Ok(())
}

/// Serves `app(state)` on `listener` until `shutdown` resolves; then stops
/// accepting connections, lets running queries finish for up to `grace`,
/// cancels what still runs (those results end with QUERY_STATUS=ERROR
/// saying the service is shutting down), and returns once the last
/// response is done, or a few seconds later at the most.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    // Without TCP_NODELAY, a response whose last small write waits for the
    // client's delayed ACK arrives 40 ms late: about 1 small query in 5.
    let listener = listener.tap_io(|stream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::warn!("cannot set TCP_NODELAY on a connection: {e}");
        }
    });
    let server =
        axum::serve(listener, app(Arc::clone(&state))).with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stopping_tx.send(true);
        });
    let mut server = std::pin::pin!(server.into_future());
    let mut stopping = stopping;
    tokio::select! {
        result = &mut server => return result,
        _ = stopping.wait_for(|s| *s) => {}
    }
    tracing::info!(
        "shutting down: no new connections; running queries have {} s to finish",
        grace.as_secs()
    );
    state.stopping.store(true, Ordering::Relaxed);
    let engine = &state.engine;
    // Idle once no query request is left: executing, waiting for a slot,
    // reading its uploads or planning, or still sending its result.
    let idle = async {
        while state.queries_in_flight.load(Ordering::Relaxed) > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::select! {
        result = &mut server => return result,
        _ = tokio::time::sleep(grace) => {}
        _ = idle => {}
    }
    // Whatever still runs is cancelled; its response ends with an error.
    // Executing jobs stay EXECUTING in the store, for the next start.
    if let Some(jobs) = state.jobs.get() {
        jobs.shut_down();
    }
    engine.shut_down();
    match tokio::time::timeout(Duration::from_secs(5), &mut server).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                "connections still open 5 s after the queries were cancelled; stopping anyway"
            );
            Ok(())
        }
    }
}

pub(crate) async fn root(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> Response {
    use catalog_model::Catalog;
    use std::fmt::Write;
    let root = state.base_url.trim_end_matches("/tap");
    let mut body = format!(
        "Corvus TAP service\n\n\
Web interface:       {1}/ (in a browser)\n\
TAP endpoint:        {0}\n\
Synchronous queries: {0}/sync?LANG=ADQL&QUERY=...\n\
Async jobs (UWS):    {0}/async\n\
Tables:              {0}/tables\n\
Capabilities:        {0}/capabilities\n\
Availability:        {0}/availability\n\
Examples:            {0}/examples\n\
Registry record:     {0}/resource\n\
Cone search:         {1}/scs/SCHEMA.TABLE?RA=&DEC=&SR=\n\
Sky coverage (MOC):  {1}/coverage/SCHEMA.TABLE?FORMAT=fits|json|ascii&ORDER={2}\n\
Metrics:             {1}/metrics\n",
        state.base_url,
        root,
        query_engine::DEFAULT_ORDER
    );
    // VODataService's tableset has no element for a coverage, so the
    // tables that have one are listed here.
    let positioned: Vec<String> = state
        .engine
        .catalog()
        .tables()
        .into_iter()
        .filter(|t| t.position.is_some())
        .map(|t| t.qualified_name())
        .collect();
    if !positioned.is_empty() {
        body.push_str("\nSky coverage of each table with a position:\n");
        for name in positioned {
            let _ = writeln!(body, "  {root}/coverage/{name}");
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// XML responses.
pub(crate) fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}
