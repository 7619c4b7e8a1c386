//! Runs the `.slt` files in `tests/slt/` (at the workspace root) three
//! times over the fixture catalog, with the same expected results: in
//! process (each ADQL query translated, executed, and written as Parquet
//! through the result pipeline); through the TAP service (`/tap/sync` on a
//! loopback port, `RESPONSEFORMAT=parquet`; errors read from the DALI
//! error document); and on a Ballista cluster (a scheduler and two
//! one-core workers on loopback, started here, reading the fixture from
//! Parquet files). All read their rows back with the same code, so they
//! can differ only where the service or the cluster does.
//!
//! `COMPLETE=1 cargo test --workspace --test slt` rewrites the expected
//! results from the in-process engine (review the diff before committing).

use catalog_model::AllowAll;
use http_body_util::BodyExt;
use query_engine::{Engine, QueryOptions, WriteSink, write_result};
use sqllogictest::{DBOutput, DefaultColumnType};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use table_writers::Format;
use test_support::{fixture, rows::rows_of_parquet};

/// Where a query's result comes from.
enum AdqlDb {
    /// The engine, in this process.
    InProcess(Engine),
    /// The TAP service over the fixture, on a loopback port.
    Http(std::net::SocketAddr),
}

impl AdqlDb {
    async fn http() -> Result<AdqlDb, DbError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| DbError(e.to_string()))?;
        let addr = listener.local_addr().map_err(|e| DbError(e.to_string()))?;
        let limits = tap_server::Limits {
            default_maxrec: 1 << 30,
            ..Default::default()
        };
        let state = Arc::new(tap_server::AppState::new(
            fixture::engine(),
            format!("http://{addr}/tap"),
            limits,
        ));
        tokio::spawn(tap_server::serve(
            listener,
            state,
            std::future::pending(),
            std::time::Duration::ZERO,
        ));
        Ok(AdqlDb::Http(addr))
    }

    /// The query's result as Parquet bytes, and its width.
    async fn parquet(&self, adql: &str) -> Result<(Vec<u8>, usize), DbError> {
        match self {
            AdqlDb::InProcess(engine) => in_process(engine, adql).await,
            AdqlDb::Http(addr) => over_http(*addr, adql).await,
        }
    }
}

/// `/tap/sync` with the query as Parquet; an error document's message as the error.
async fn over_http(addr: std::net::SocketAddr, adql: &str) -> Result<(Vec<u8>, usize), DbError> {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let query = test_support::percent_encode(adql);
    let uri: hyper::Uri =
        format!("http://{addr}/tap/sync?LANG=ADQL&RESPONSEFORMAT=parquet&QUERY={query}")
            .parse()
            .map_err(|e| DbError(format!("{e}")))?;
    let client =
        Client::builder(TokioExecutor::new()).build_http::<http_body_util::Empty<bytes::Bytes>>();
    let response = client.get(uri).await.map_err(|e| DbError(e.to_string()))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| DbError(e.to_string()))?
        .to_bytes()
        .to_vec();
    if status.is_success() {
        let width = parquet_width(&body)?;
        return Ok((body, width));
    }
    Err(DbError(dali_message(&String::from_utf8_lossy(&body))))
}

/// The number of columns of a Parquet result.
fn parquet_width(bytes: &[u8]) -> Result<usize, DbError> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::copy_from_slice(bytes))
        .map(|b| b.schema().fields().len())
        .map_err(|e| DbError(format!("not a Parquet result: {e}")))
}

/// The message of a DALI error document (the QUERY_STATUS INFO's text).
fn dali_message(doc: &str) -> String {
    let start = "<INFO name=\"QUERY_STATUS\" value=\"ERROR\">";
    let text = doc
        .split_once(start)
        .and_then(|(_, rest)| rest.split_once("</INFO>"))
        .map_or(doc, |(message, _)| message);
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The query's result as Parquet bytes, written by the one pipeline.
async fn in_process(engine: &Engine, adql: &str) -> Result<(Vec<u8>, usize), DbError> {
    let t = engine
        .translate(adql, &AllowAll)
        .map_err(|e| DbError(e.to_string()))?;
    let failed = |e: query_engine::Error| DbError(format!("{e}\n  translated: {}", t.sql));
    let stream = engine
        .execute(&t, QueryOptions::default())
        .await
        .map_err(failed)?;
    let writer = Format::Parquet
        .writer(stream.schema(), adql)
        .map_err(|e| DbError(e.to_string()))?;
    let mut sink = WriteSink(Vec::new());
    let written = write_result(stream, writer, &mut sink)
        .await
        .map_err(failed)?;
    if let query_engine::Ending::Failed(e) = written.ending {
        return Err(failed(e));
    }
    Ok((sink.0, t.columns.len()))
}

#[derive(Debug)]
struct DbError(String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for DbError {}

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for AdqlDb {
    type Error = DbError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, adql: &str) -> Result<DBOutput<DefaultColumnType>, DbError> {
        let (bytes, width) = self.parquet(adql).await?;
        let rows = rows_of_parquet(bytes).map_err(DbError)?;
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; width],
            rows,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "corvus"
    }
}

fn slt_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    files
}

#[tokio::main]
async fn main() {
    let complete = std::env::var_os("COMPLETE").is_some();
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let (mut passed, mut failed) = (0, 0);
    for file in slt_files() {
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        // The expected results are rewritten from the engine in process.
        let engines: &[&str] = if complete {
            &["engine"]
        } else {
            &["engine", "sync", "cluster"]
        };
        for engine in engines {
            let outcome = run_file(&file, engine, complete).await;
            match outcome {
                Ok(()) => {
                    println!("test slt::{engine}::{name} ... ok");
                    passed += 1;
                }
                Err(e) => {
                    println!("test slt::{engine}::{name} ... FAILED\n{e}");
                    failed += 1;
                }
            }
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    if failed > 0 {
        std::process::exit(1);
    }
}

/// The cluster the `cluster` runs use, started once; and the folder of
/// the fixture's Parquet files, one subfolder per engine.
struct Cluster {
    nodes: cluster::LocalCluster,
    files: tempfile::TempDir,
    engines: std::sync::atomic::AtomicUsize,
}

static CLUSTER: tokio::sync::OnceCell<Result<Cluster, String>> = tokio::sync::OnceCell::const_new();

async fn on_cluster() -> Result<AdqlDb, DbError> {
    let cluster = CLUSTER
        .get_or_init(|| async {
            let nodes = cluster::start_local(2, 1)
                .await
                .map_err(|e| e.to_string())?;
            let files = tempfile::tempdir().map_err(|e| e.to_string())?;
            Ok(Cluster {
                nodes,
                files,
                engines: Default::default(),
            })
        })
        .await
        .as_ref()
        .map_err(|e| DbError(format!("cannot start the cluster: {e}")))?;
    let n = cluster
        .engines
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = cluster.files.path().join(n.to_string());
    let engine = fixture::engine_on_cluster(&cluster.nodes.scheduler, &dir).await;
    // A run that quietly executed here would prove nothing about the cluster.
    let probe = engine
        .translate("SELECT COUNT(*) FROM fix.measures", &AllowAll)
        .map_err(|e| DbError(e.to_string()))?;
    let plan = engine
        .explain(&probe)
        .await
        .map_err(|e| DbError(e.to_string()))?;
    if !plan.contains("DistributedQueryExec") {
        return Err(DbError(format!(
            "the fixture's queries do not execute on the cluster:\n{plan}"
        )));
    }
    Ok(AdqlDb::InProcess(engine))
}

/// Runs one file against one engine: `engine` in process, `sync` over
/// HTTP, `cluster` on the cluster.
async fn run_file(file: &Path, engine: &str, complete: bool) -> Result<(), String> {
    let engine = engine.to_string();
    let mut runner = sqllogictest::Runner::new(move || {
        let engine = engine.clone();
        async move {
            match engine.as_str() {
                "sync" => AdqlDb::http().await,
                "cluster" => on_cluster().await,
                _ => Ok(AdqlDb::InProcess(fixture::engine())),
            }
        }
    });
    if complete {
        runner
            .update_test_file(
                file,
                " ",
                sqllogictest::default_validator,
                sqllogictest::default_normalizer,
                sqllogictest::default_column_validator,
            )
            .await
            .map_err(|e| e.to_string())
    } else {
        runner
            .run_file_async(file)
            .await
            .map_err(|e| e.display(true).to_string())
    }
}
