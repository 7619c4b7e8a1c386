//! A whole cluster in this process: a scheduler and workers on loopback
//! ports, for tests and benchmarks that need a real cluster without
//! starting processes.

use crate::error::{Error, Result};
use crate::{SchedulerOptions, WorkerOptions, run_scheduler, run_worker, status};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A running in-process cluster; dropping it stops scheduling.
pub struct LocalCluster {
    /// The scheduler, as `serve --cluster` takes it.
    pub scheduler: String,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts a scheduler and `workers` workers of `cores` cores each, and
/// returns once the scheduler lists them all.
pub async fn start_local(workers: usize, cores: usize) -> Result<LocalCluster> {
    let io = |e: std::io::Error| Error::Config(format!("cannot listen on loopback: {e}"));
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(io)?;
    let port = listener.local_addr().map_err(io)?.port();
    let scheduler = format!("127.0.0.1:{port}");
    let options = SchedulerOptions {
        external_host: "127.0.0.1".into(),
        worker_timeout: Duration::from_secs(10),
        expiry_check: Duration::from_secs(1),
        ..SchedulerOptions::default()
    };
    let mut tasks = vec![tokio::spawn(async move {
        if let Err(e) = run_scheduler(listener, options).await {
            tracing::error!("the local scheduler stopped: {e}");
        }
    })];
    for _ in 0..workers {
        let options = WorkerOptions {
            scheduler: ("127.0.0.1".into(), port),
            bind_host: "127.0.0.1".into(),
            external_host: "127.0.0.1".into(),
            flight_port: free_port().map_err(io)?,
            grpc_port: free_port().map_err(io)?,
            cores,
            work_dir: None,
            heartbeat: Duration::from_secs(1),
        };
        tasks.push(tokio::spawn(async move {
            if let Err(e) = run_worker(options).await {
                tracing::error!("a local worker stopped: {e}");
            }
        }));
    }
    let cluster = LocalCluster { scheduler, tasks };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match status(&cluster.scheduler).await {
            Ok(s) if s.workers.len() >= workers => return Ok(cluster),
            _ if tokio::time::Instant::now() > deadline => {
                return Err(Error::Config(format!(
                    "the local cluster did not come up with {workers} workers within 30 s"
                )));
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// A port free on loopback now (the worker binds it itself a moment later).
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
