//! Stopping a cancelled job's work on a worker.
//!
//! Ballista cancels a task by aborting its future, which takes effect at
//! the task's next `await`. A nested-loop join whose filter rarely matches
//! reaches none for minutes (see `plan-interrupt`), so a query the front
//! end stopped (a client gone, a time limit, an abort) would hold the
//! worker's core to the end. So a worker runs each stage that has such a
//! join with its filters interruptible, and while the task runs, a watcher
//! on a thread of its own (the task's poll may hold the runtime's) asks
//! the scheduler every second whether the task's job still runs. Once it
//! does not, the watcher raises the flag, and the join fails at its next
//! evaluation of the filter.
//!
//! An engine of our own replaces Ballista's default one whole, so this
//! module also brings the pool of peer connections that the default has.

use ballista_core::JobId;
use ballista_core::client::BallistaClient;
use ballista_core::client_pool::{BallistaClientPool, PooledClient};
use ballista_core::extension::BallistaConfigGrpcEndpoint;
use ballista_core::serde::protobuf::ShuffleWritePartition;
use ballista_core::utils::GrpcClientConfig;
use ballista_executor::execution_engine::{
    DefaultExecutionEngine, ExecutionEngine, QueryStageExecutor,
};
use datafusion::error::Result;
use datafusion::execution::context::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::prelude::SessionConfig;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often a watcher asks the scheduler.
const WATCH_EVERY: Duration = Duration::from_secs(1);
/// Unanswered questions after which the watcher takes the job for lost
/// (its scheduler gone: no one will fetch the task's output).
const GIVE_UP_AFTER: u32 = 30;

/// Ballista's execution engine, with the stages that have a filtered
/// nested-loop join watched.
pub(crate) struct WatchingEngine {
    inner: DefaultExecutionEngine,
    /// The scheduler's address, `host:port`.
    scheduler: String,
}

impl WatchingEngine {
    pub(crate) fn new(scheduler: String) -> WatchingEngine {
        WatchingEngine {
            inner: DefaultExecutionEngine::with_client_pool(Arc::new(ClientPool::default())),
            scheduler,
        }
    }
}

/// The connections a worker keeps to its peers for fetching shuffled
/// partitions, reused from one fetch to the next. Ballista's engine keeps
/// such a pool by default, but its pool type is private, and an engine of
/// our own must bring one: without it every fetch opened a connection, and
/// shuffle-heavy queries (a crossmatch) took 40 to 70 % longer. A worker
/// talks to a fixed set of peers, so idle connections are not evicted.
#[derive(Default)]
struct ClientPool {
    idle: Arc<Mutex<HashMap<PoolKey, Vec<BallistaClient>>>>,
}

impl fmt::Debug for ClientPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientPool")
    }
}

type PoolKey = (String, u16, GrpcClientConfig);

#[async_trait::async_trait]
impl BallistaClientPool for ClientPool {
    async fn acquire(
        &self,
        host: &str,
        port: u16,
        config: &GrpcClientConfig,
        customize_endpoint: Option<Arc<BallistaConfigGrpcEndpoint>>,
    ) -> ballista_core::error::Result<PooledClient> {
        let key: PoolKey = (host.to_string(), port, config.clone());
        let idle = self
            .idle
            .lock()
            .ok()
            .and_then(|mut idle| idle.get_mut(&key).and_then(Vec::pop));
        let client = match idle {
            Some(client) => client,
            None => {
                BallistaClient::try_new(
                    host,
                    port,
                    config.max_message_size,
                    config.use_tls,
                    customize_endpoint,
                    config.io_retries_times,
                    config.io_retry_wait_time_ms,
                    config.initial_connection_window_size,
                    config.initial_stream_window_size,
                )
                .await?
            }
        };
        let pool = Arc::clone(&self.idle);
        Ok(PooledClient::new(
            client,
            Box::new(move |client| {
                if let Ok(mut idle) = pool.lock() {
                    idle.entry(key).or_default().push(client);
                }
            }),
        ))
    }

    async fn evict_idle(&self) {}
}

impl ExecutionEngine for WatchingEngine {
    fn create_query_stage_exec(
        &self,
        job_id: JobId,
        stage_id: usize,
        task_id: usize,
        global_output_partition_ids: Vec<usize>,
        plan: Arc<dyn ExecutionPlan>,
        work_dir: &str,
        config: &SessionConfig,
    ) -> Result<Arc<dyn QueryStageExecutor>> {
        let watched = plan_interrupt::has_filtered_nested_loop(&plan)
            .then(|| (Arc::new(AtomicBool::new(false)), job_id.to_string()));
        let plan = match &watched {
            Some((flag, _)) => {
                plan_interrupt::interruptible(plan, flag, &Arc::new(AtomicU64::new(0)))?
            }
            None => plan,
        };
        let inner = self.inner.create_query_stage_exec(
            job_id,
            stage_id,
            task_id,
            global_output_partition_ids,
            plan,
            work_dir,
            config,
        )?;
        Ok(match watched {
            Some((flag, job)) => Arc::new(WatchedStage {
                inner,
                job,
                scheduler: self.scheduler.clone(),
                flag,
            }),
            None => inner,
        })
    }
}

/// A stage whose nested-loop joins stop when its job no longer runs.
#[derive(Debug)]
struct WatchedStage {
    inner: Arc<dyn QueryStageExecutor>,
    job: String,
    scheduler: String,
    flag: Arc<AtomicBool>,
}

impl fmt::Display for WatchedStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// Tells the watcher that the task is over, however it ends (an aborted
/// task's future is dropped).
struct Done(Arc<AtomicBool>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[async_trait::async_trait]
impl QueryStageExecutor for WatchedStage {
    async fn execute_query_stage(
        &self,
        task_id: usize,
        context: Arc<TaskContext>,
    ) -> Result<Vec<ShuffleWritePartition>> {
        let done = Done(Arc::new(AtomicBool::new(false)));
        watch(
            self.scheduler.clone(),
            self.job.clone(),
            Arc::clone(&self.flag),
            Arc::clone(&done.0),
        );
        self.inner.execute_query_stage(task_id, context).await
    }

    fn collect_plan_metrics(&self) -> Vec<MetricsSet> {
        self.inner.collect_plan_metrics()
    }

    fn collect_runtime_stats_reports(
        &self,
    ) -> Vec<ballista_core::serde::protobuf::RuntimeStatsReport> {
        self.inner.collect_runtime_stats_reports()
    }

    fn collect_window_state_reports(
        &self,
    ) -> Result<Vec<ballista_core::serde::protobuf::WindowStateReport>> {
        self.inner.collect_window_state_reports()
    }

    fn collect_column_stats(&self) -> Vec<ballista_core::serde::protobuf::TaskColumnStats> {
        self.inner.collect_column_stats()
    }
}

/// Starts the watcher of one task: until `done`, it asks the scheduler
/// every second whether `job` still runs, and raises `flag` once it does
/// not (or once the scheduler has not answered for half a minute).
fn watch(scheduler: String, job: String, flag: Arc<AtomicBool>, done: Arc<AtomicBool>) {
    let spawned = std::thread::Builder::new()
        .name("corvus-stage-watch".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => return tracing::warn!(error = %e, "cannot watch a task's job"),
            };
            runtime.block_on(async {
                let mut unanswered = 0;
                loop {
                    tokio::time::sleep(WATCH_EVERY).await;
                    if done.load(Ordering::Relaxed) {
                        return;
                    }
                    match crate::client::job_runs(&scheduler, &job).await {
                        Ok(true) => unanswered = 0,
                        Ok(false) => break,
                        Err(_) if unanswered + 1 < GIVE_UP_AFTER => unanswered += 1,
                        Err(_) => break,
                    }
                }
                tracing::info!(job, "the job no longer runs: stopping its task");
                flag.store(true, Ordering::Relaxed);
            });
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot watch a task's job");
    }
}
