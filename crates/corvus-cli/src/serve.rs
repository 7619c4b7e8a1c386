//! `corvus serve`: the TAP service over a data directory, or with `--demo`
//! over the bundled Hipparcos catalog published into a throw-away directory.

use crate::data::{DataArg, TempDir, engine_for};
use anyhow::Context;
use catalog_store::DataDir;
use clap::Args;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Serve the bundled demo catalog (Hipparcos, as hip.main) from a throw-away data directory.
    #[arg(long)]
    demo: bool,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    bind: String,
    /// The public URL of the TAP endpoint, if not http://ADDR/tap (behind a proxy).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    #[command(flatten)]
    data: DataArg,
}

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let (root, _demo) = if args.demo {
        let tmp = std::env::temp_dir().join(format!("corvus-demo-{}", std::process::id()));
        let mut dir = DataDir::open(&tmp).context("cannot create the demo data directory")?;
        let guard = TempDir(tmp.clone());
        let report = ingest::demo::ingest_demo(&mut dir).await?;
        eprintln!(
            "demo catalog: {} rows published as hip.main in {:.1} s",
            report.record.row_count, report.seconds
        );
        (tmp, Some(guard))
    } else {
        (args.data.data.clone(), None)
    };
    let dir = DataDir::open(&root)
        .with_context(|| format!("cannot open the data directory {}", root.display()))?;
    let engine = engine_for(&dir).await?;
    let positions = dir
        .records()?
        .into_iter()
        .filter_map(|r| Some((r.info.qualified_name(), r.position?)))
        .collect();
    let listener = tokio::net::TcpListener::bind(&args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr()?;
    let base_url = args
        .base_url
        .unwrap_or_else(|| format!("http://{addr}/tap"))
        .trim_end_matches('/')
        .to_string();
    let state = Arc::new(tap_server::AppState {
        engine,
        base_url: base_url.clone(),
        limits: Default::default(),
        positions,
    });
    println!("Corvus TAP service at {base_url}");
    let _ = std::io::stdout().flush();
    axum::serve(listener, tap_server::app(state))
        .with_graceful_shutdown(shutdown())
        .await
        .context("the server stopped")?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C or SIGTERM: stop accepting, finish the requests in flight.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
