//! `corvus scheduler`: Ballista's scheduler, embedded, with every session
//! it builds knowing Corvus's functions and codec.

use crate::codec::CorvusLogicalCodec;
use crate::error::Result;
use crate::planner::MAX_MESSAGE_BYTES;
use ballista_core::extension::{
    SessionConfigExt, ballista_aggregate_functions, ballista_scalar_functions,
    ballista_window_functions,
};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::prelude::SessionConfig;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How the scheduler judges its workers.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// The host name workers and front ends reach this scheduler by.
    pub external_host: String,
    /// A worker silent this long is taken for dead and its tasks run again
    /// elsewhere. Workers send a heartbeat every few seconds.
    pub worker_timeout: Duration,
    /// How often the scheduler looks for dead workers.
    pub expiry_check: Duration,
    /// Attempts of one task (on any worker) before its query fails.
    pub task_attempts: usize,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            external_host: "localhost".into(),
            worker_timeout: Duration::from_secs(30),
            expiry_check: Duration::from_secs(5),
            task_attempts: 4,
        }
    }
}

/// Serves the scheduler (gRPC, and Ballista's REST API under `/api`) on
/// `listener` until the process ends.
pub async fn run_scheduler(listener: TcpListener, options: SchedulerOptions) -> Result<()> {
    let address = listener
        .local_addr()
        .map_err(ballista_core::error::BallistaError::from)?;
    let timeout = options.worker_timeout.as_secs().max(1);
    let config = SchedulerConfig {
        bind_host: address.ip().to_string(),
        bind_port: address.port(),
        external_host: options.external_host,
        executor_timeout_seconds: timeout,
        no_executors_grace_period_seconds: timeout,
        expire_dead_executor_interval_seconds: options.expiry_check.as_secs().max(1),
        task_max_failures: options.task_attempts.max(1),
        grpc_server_max_decoding_message_size: MAX_MESSAGE_BYTES as u32,
        grpc_server_max_encoding_message_size: MAX_MESSAGE_BYTES as u32,
        grpc_client_max_message_size: MAX_MESSAGE_BYTES as u32,
        override_session_builder: Some(Arc::new(session)),
        override_logical_codec: Some(Arc::new(CorvusLogicalCodec::default())),
        ..SchedulerConfig::default()
    };
    config.validate()?;
    let cluster = BallistaCluster::new_from_config(&config).await?;
    let scheduler =
        create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, Arc::new(config)).await?;
    start_grpc_service_with_listener(listener, scheduler).await?;
    Ok(())
}

/// The session the scheduler plans a query in: Ballista's, with Corvus's
/// functions beside DataFusion's.
fn session(config: SessionConfig) -> datafusion::common::Result<SessionState> {
    let mut scalar = ballista_scalar_functions();
    scalar.extend(crate::functions());
    Ok(SessionStateBuilder::new()
        .with_default_features()
        .with_config(config.upgrade_for_ballista())
        .with_runtime_env(Arc::new(RuntimeEnvBuilder::new().build()?))
        .with_optimizer_rules(ballista_core::optimizer::ballista_default_optimizer_rules())
        .with_physical_optimizer_rules(crate::physical_optimizer_rules())
        .with_scalar_functions(scalar)
        .with_aggregate_functions(ballista_aggregate_functions())
        .with_window_functions(ballista_window_functions())
        .build())
}
