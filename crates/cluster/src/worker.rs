//! `corvus worker`: Ballista's executor, embedded, with Corvus's functions
//! in its registry so the plans it is sent decode.

use crate::codec::CorvusLogicalCodec;
use crate::error::{Error, Result};
use crate::planner::MAX_MESSAGE_BYTES;
use crate::stage_watch::WatchingEngine;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where a worker listens and whom it serves.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The scheduler's host and port.
    pub scheduler: (String, u16),
    /// The address to listen on.
    pub bind_host: String,
    /// The host name the scheduler and other workers reach this one by.
    pub external_host: String,
    /// The Arrow Flight port other workers and the front end fetch
    /// partitions from.
    pub flight_port: u16,
    /// The port the scheduler sends tasks to.
    pub grpc_port: u16,
    /// Tasks run at once: the cores this worker may use.
    pub cores: usize,
    /// Where shuffle files go; a temporary folder when `None`.
    pub work_dir: Option<PathBuf>,
    /// How often the worker tells the scheduler it is alive.
    pub heartbeat: Duration,
}

/// Runs the worker until it is told to stop (SIGTERM, Ctrl-C, or the
/// scheduler).
pub async fn run_worker(options: WorkerOptions) -> Result<()> {
    let mut functions = BallistaFunctionRegistry::default();
    for f in crate::functions() {
        functions.scalar_functions.insert(f.name().to_string(), f);
    }
    let work_dir = match options.work_dir {
        Some(dir) => Some(
            dir.to_str()
                .ok_or_else(|| {
                    Error::Config(format!("the work folder {} is not UTF-8", dir.display()))
                })?
                .to_string(),
        ),
        None => None,
    };
    let scheduler = format!("{}:{}", options.scheduler.0, options.scheduler.1);
    let config = ExecutorProcessConfig {
        override_execution_engine: Some(Arc::new(WatchingEngine::new(scheduler))),
        scheduler_host: options.scheduler.0,
        scheduler_port: options.scheduler.1,
        bind_host: options.bind_host,
        external_host: Some(options.external_host),
        port: options.flight_port,
        grpc_port: options.grpc_port,
        vcores: options.cores.max(1),
        work_dir,
        print_thread_info: false,
        executor_heartbeat_interval_seconds: options.heartbeat.as_secs().max(1),
        grpc_max_decoding_message_size: MAX_MESSAGE_BYTES as u32,
        grpc_max_encoding_message_size: MAX_MESSAGE_BYTES as u32,
        override_function_registry: Some(Arc::new(functions)),
        override_logical_codec: Some(Arc::new(CorvusLogicalCodec::default())),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config)).await?;
    Ok(())
}
