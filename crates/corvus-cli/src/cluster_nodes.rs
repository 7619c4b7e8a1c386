//! `corvus scheduler` and `corvus worker`: the two kinds of node of a
//! Ballista cluster that `corvus serve --cluster` executes its queries on.

use anyhow::Context;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub(crate) struct SchedulerArgs {
    /// Address to listen on, for workers and front ends (gRPC and
    /// Ballista's REST API on one port).
    #[arg(long, default_value = "127.0.0.1:50050", value_name = "ADDR")]
    bind: String,
    /// The host name workers and front ends reach this scheduler by
    /// (default: the address it listens on).
    #[arg(long, value_name = "HOST")]
    external_host: Option<String>,
    /// Seconds without a heartbeat after which a worker is taken for dead
    /// and its tasks run again on the others.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    worker_timeout: u64,
    /// Attempts of one task before its query fails.
    #[arg(long, default_value_t = 4, value_name = "N")]
    task_attempts: usize,
}

#[derive(Args)]
pub(crate) struct WorkerArgs {
    /// The scheduler, as HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:50050", value_name = "HOST:PORT")]
    scheduler: String,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1", value_name = "HOST")]
    bind_host: String,
    /// The host name the scheduler, other workers and front ends reach this
    /// worker by (default: the address it listens on).
    #[arg(long, value_name = "HOST")]
    external_host: Option<String>,
    /// The port results and shuffled partitions are fetched from (Arrow Flight).
    #[arg(long, default_value_t = 50051)]
    port: u16,
    /// The port the scheduler sends tasks to.
    #[arg(long, default_value_t = 50052)]
    grpc_port: u16,
    /// Tasks to run at once (default: this machine's cores).
    #[arg(long, value_name = "N")]
    cores: Option<usize>,
    /// Where shuffle files go (default: a temporary folder).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Seconds between the heartbeats that tell the scheduler it is alive.
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    heartbeat: u64,
}

fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

/// The line scripts and tests read, in one write that a closed pipe cannot fail.
fn announce(line: String) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
}

pub(crate) async fn scheduler(args: SchedulerArgs) -> anyhow::Result<ExitCode> {
    logs();
    if args.worker_timeout == 0 || args.task_attempts == 0 {
        anyhow::bail!("--worker-timeout and --task-attempts must be at least 1");
    }
    let listener = tokio::net::TcpListener::bind(&args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr()?;
    let external_host = args.external_host.unwrap_or_else(|| addr.ip().to_string());
    let options = cluster::SchedulerOptions {
        external_host: external_host.clone(),
        worker_timeout: Duration::from_secs(args.worker_timeout),
        task_attempts: args.task_attempts,
        ..Default::default()
    };
    announce(format!(
        "Corvus scheduler at {external_host}:{} (serve --cluster {external_host}:{})\n",
        addr.port(),
        addr.port()
    ));
    tokio::select! {
        served = cluster::run_scheduler(listener, options) => served?,
        () = crate::serve::shutdown() => {}
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn worker(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    logs();
    let (host, port) = cluster::host_and_port(&args.scheduler)
        .with_context(|| format!("--scheduler {:?}", args.scheduler))?;
    if args.port == 0 || args.grpc_port == 0 || args.port == args.grpc_port {
        anyhow::bail!(
            "--port and --grpc-port must be two different ports other than 0: the worker tells the scheduler where to find it"
        );
    }
    let cores = args
        .cores
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if cores == 0 {
        anyhow::bail!("--cores must be at least 1");
    }
    let external_host = args.external_host.unwrap_or_else(|| args.bind_host.clone());
    let options = cluster::WorkerOptions {
        scheduler: (host.clone(), port),
        bind_host: args.bind_host,
        external_host: external_host.clone(),
        flight_port: args.port,
        grpc_port: args.grpc_port,
        cores,
        work_dir: args.work_dir,
        heartbeat: Duration::from_secs(args.heartbeat.max(1)),
    };
    announce(format!(
        "Corvus worker at {external_host}:{} ({cores} cores) for the scheduler at {host}:{port}\n",
        args.port
    ));
    cluster::run_worker(options)
        .await
        .with_context(|| format!("the worker stopped (scheduler {host}:{port})"))?;
    Ok(ExitCode::SUCCESS)
}
