//! Executing a translation: [`Engine::execute`] plans it, picks its lane
//! from the estimated cost, waits for a slot, and starts it on the lane's
//! pool; the rows come back as a [`ResultStream`] that carries the MAXREC
//! cut, the execution time limit and cancellation.
//!
//! The rows are computed by a producer task on the lane's pool and handed
//! over a small channel, so whoever reads the stream does none of
//! DataFusion's work. The producer stops at once, dropping the DataFusion
//! stream (which aborts its tasks and frees their memory), when the
//! caller's token is cancelled, the deadline passes, the engine shuts
//! down, or the [`ResultStream`] is dropped.

use crate::error::{CancelReason, Error, Result};
use crate::estimate::{ScanProgress, rows_to_read};
use crate::lanes::{Lane, Slot};
use crate::local_plan::for_this_process;
use crate::session::Engine;
use adql_planner::Translation;
use catalog_model::with_metadata;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use futures::StreamExt;
use plan_interrupt::interruptible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How one query is to run.
#[derive(Debug, Clone, Default)]
pub struct QueryOptions {
    /// Return at most this many rows; one more is asked of the engine to
    /// tell whether the result overflowed (TAP 1.1 §4.9). `None`: all.
    pub maxrec: Option<u64>,
    /// The execution time limit, counted from the moment the query gets its
    /// slot (time waiting in line is not execution).
    pub timeout: Option<Duration>,
    /// Cancelling this token stops the query: a client gone, a job aborted.
    pub cancel: CancellationToken,
}

/// How a result ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Every row was returned.
    Complete,
    /// MAXREC cut the result; more rows exist.
    Overflow,
}

/// What the producer hands over.
enum Message {
    Rows(RecordBatch),
    End(Completion),
}

/// The rows of an executing query, with their column metadata stamped on
/// the schema. Read it with [`ResultStream::next`] until `None`, then ask
/// [`ResultStream::completion`]. Dropping it cancels the query.
pub struct ResultStream {
    schema: SchemaRef,
    rows: mpsc::Receiver<Result<Message>>,
    completion: Option<Completion>,
    lane: Lane,
    estimated_rows: Option<u64>,
    progress: ScanProgress,
}

impl ResultStream {
    /// The result's schema, each field carrying unit, UCD, utype, xtype and
    /// description in its metadata.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// The next batch; `None` at the end of the result. An error ends it.
    pub async fn next(&mut self) -> Option<Result<RecordBatch>> {
        if self.completion.is_some() {
            return None;
        }
        match self.rows.recv().await {
            Some(Ok(Message::Rows(batch))) => Some(Ok(batch)),
            Some(Ok(Message::End(c))) => {
                self.completion = Some(c);
                None
            }
            Some(Err(e)) => {
                self.completion = Some(Completion::Complete);
                Some(Err(e))
            }
            None => {
                self.completion = Some(Completion::Complete);
                Some(Err(Error::Internal(
                    "the query's execution ended without a result (a task of the engine failed); the operator's log may say more".into(),
                )))
            }
        }
    }

    /// How the result ended, once [`ResultStream::next`] returned `None`.
    pub fn completion(&self) -> Option<Completion> {
        self.completion
    }

    /// The lane the query executes in.
    pub fn lane(&self) -> Lane {
        self.lane
    }

    /// Rows the plan was estimated to read, if the tables said.
    pub fn estimated_rows(&self) -> Option<u64> {
        self.estimated_rows
    }

    /// A handle that tells how many rows the query has read so far, for
    /// progress reports while someone else reads the stream.
    pub fn progress(&self) -> ScanProgress {
        self.progress.clone()
    }
}

impl Engine {
    /// Plans `translation`, waits for a slot in its lane, and starts it.
    /// Errors here come before any row: a refused plan, a full lane, a
    /// cancellation while waiting.
    pub async fn execute(
        &self,
        translation: &Translation,
        options: QueryOptions,
    ) -> Result<ResultStream> {
        let shared = &self.shared;
        if shared.shutdown.is_cancelled() {
            return Err(Error::Cancelled(CancelReason::Shutdown));
        }
        let interrupt = Arc::new(AtomicBool::new(false));
        let compared = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let Planned {
            plan,
            estimated_rows,
        } = self.plan(translation, options.maxrec).await?;
        let plan = interruptible(plan, &interrupt, &compared)?;
        let schema = Arc::new(with_metadata(&plan.schema(), &translation.columns));
        let lane = match estimated_rows {
            Some(n) if n <= shared.quick_rows => Lane::Quick,
            _ => Lane::Long,
        };
        let lane_state = shared.lane(lane);
        let slot = lane_state.admit(&options.cancel, &shared.shutdown).await?;
        let (tx, rx) = mpsc::channel(2);
        let deadline = options.timeout.map(|t| (Instant::now() + t, t.as_secs()));
        let ends = Ends {
            deadline,
            cancel: options.cancel,
            shutdown: shared.shutdown.clone(),
            tx,
        };
        // The watcher raises the interrupt flag when the query must stop. It
        // runs on a thread of its own, not the lane's pool, whose threads
        // may be held by the very poll it has to interrupt.
        let done = CancellationToken::new();
        shared
            .watchers
            .running()?
            .spawn(watch(ends.clone(), Arc::clone(&interrupt), done.clone()));
        let progress = ScanProgress::new(&plan, &compared, shared.cluster.clone());
        let producer = Producer {
            plan,
            progress: progress.clone(),
            shared: Arc::clone(shared),
            task: self.ctx.task_ctx(),
            schema: Arc::clone(&schema),
            maxrec: options.maxrec,
            ends,
            interrupt,
            _done: done.drop_guard(),
            _slot: slot,
            _staged: self.staged.clone(),
        };
        lane_state.spawn(producer.run())?;
        Ok(ResultStream {
            schema,
            rows: rx,
            completion: None,
            lane,
            estimated_rows,
            progress,
        })
    }

    /// Runs a translation and collects its whole result (small results:
    /// `corvus query`, tests).
    pub async fn collect(
        &self,
        translation: &Translation,
        options: QueryOptions,
    ) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let mut stream = self.execute(translation, options).await?;
        let mut batches = Vec::new();
        while let Some(batch) = stream.next().await {
            batches.push(batch?);
        }
        Ok((stream.schema(), batches))
    }

    /// The physical plan of a translation, as DataFusion prints it (with
    /// the Parquet scans' pruning predicates): what `corvus query --explain`
    /// shows.
    pub async fn explain(&self, t: &Translation) -> Result<String> {
        let planned = self.plan(t, None).await?;
        Ok(
            datafusion::physical_plan::displayable(planned.plan.as_ref())
                .indent(true)
                .to_string(),
        )
    }

    /// The physical plan, made on the quick lane's pool (planning reads
    /// Parquet footers): the SQL with one row more than MAXREC asked for,
    /// and the rows it is estimated to read.
    ///
    /// On a cluster the plan is first made as this process would run it,
    /// to estimate it: one estimated to read fewer than
    /// `EngineConfig::cluster_from_rows` rows runs here (the front end sees
    /// the tables' files at the workers' paths), which spares it the
    /// cluster's scheduling and keeps it from queueing behind heavy jobs on
    /// the workers; the others are planned again for the cluster.
    pub(crate) async fn plan(&self, t: &Translation, maxrec: Option<u64>) -> Result<Planned> {
        let ctx = self.ctx.clone();
        let sql = t.sql.clone();
        let on_cluster = self.shared.cluster.is_some();
        let cluster_from_rows = self.shared.cluster_from_rows;
        // The limit goes on the DataFrame, not around the SQL as a
        // subquery: the optimizer may drop the ORDER BY of a subquery (SQL
        // gives a derived table no order), and rows must come in the order
        // asked for.
        let fetch = maxrec.map(|m| usize::try_from(m.saturating_add(1)).unwrap_or(usize::MAX));
        self.shared
            .quick
            .run(async move {
                let mut df = ctx.sql(&sql).await?;
                if fetch.is_some() {
                    df = df.limit(0, fetch)?;
                }
                let state = ctx.state();
                let logical = state.optimize(df.logical_plan())?;
                // The cluster's own session is kept for a plan that ships;
                // without a cluster the one state is made this process's.
                let (local, cluster_state) = match on_cluster {
                    true => (state.clone(), Some(state)),
                    false => (state, None),
                };
                let local = for_this_process(local, on_cluster, &logical)?;
                let here = DefaultPhysicalPlanner::default()
                    .create_physical_plan(&logical, &local)
                    .await?;
                let estimated_rows = rows_to_read(here.as_ref());
                let ships = estimated_rows.is_none_or(|rows| rows >= cluster_from_rows);
                let plan = match cluster_state {
                    Some(state) if ships => {
                        state
                            .query_planner()
                            .create_physical_plan(&logical, &state)
                            .await?
                    }
                    _ => here,
                };
                Ok::<_, datafusion::error::DataFusionError>(Planned {
                    plan,
                    estimated_rows,
                })
            })
            .await?
            .map_err(Error::from)
    }
}

/// A physical plan and the rows it is estimated to read.
pub(crate) struct Planned {
    pub(crate) plan: Arc<dyn ExecutionPlan>,
    /// As [`rows_to_read`] counts them, on the plan as this process would
    /// run it (a plan shipped to a cluster does not say).
    pub(crate) estimated_rows: Option<u64>,
}

/// How often a query waiting for a cluster job's rows asks whether its
/// workers are all still there.
const WORKER_WATCH: Duration = Duration::from_secs(2);

/// What ends a query before its last row, shared by its producer and watcher.
#[derive(Clone)]
struct Ends {
    /// When the query must be done, and the limit in seconds for the message.
    deadline: Option<(Instant, u64)>,
    cancel: CancellationToken,
    shutdown: CancellationToken,
    /// The reader's end; closed once nobody reads.
    tx: mpsc::Sender<Result<Message>>,
}

impl Ends {
    /// Resolves when the query must stop, with the error to report (none
    /// when nobody reads any more).
    async fn reached(&self) -> Stop {
        let sleep = async {
            match self.deadline {
                Some((at, _)) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => Stop::Error(Error::Cancelled(CancelReason::Shutdown)),
            _ = self.cancel.cancelled() => Stop::Error(Error::Cancelled(CancelReason::Caller)),
            _ = sleep => Stop::Error(self.timed_out()),
            _ = self.tx.closed() => Stop::Gone,
        }
    }

    /// Which end was reached, once one was.
    fn reason(&self) -> Stop {
        if self.shutdown.is_cancelled() {
            Stop::Error(Error::Cancelled(CancelReason::Shutdown))
        } else if self.cancel.is_cancelled() {
            Stop::Error(Error::Cancelled(CancelReason::Caller))
        } else if self.tx.is_closed() {
            Stop::Gone
        } else {
            Stop::Error(self.timed_out())
        }
    }

    fn timed_out(&self) -> Error {
        Error::TimedOut {
            seconds: self.deadline.map_or(0, |d| d.1),
        }
    }
}

/// Raises `interrupt` when the query reaches one of its ends, unless it is
/// `done` first.
async fn watch(ends: Ends, interrupt: Arc<AtomicBool>, done: CancellationToken) {
    tokio::select! {
        _ = done.cancelled() => {}
        _ = ends.reached() => interrupt.store(true, Ordering::Relaxed),
    }
}

/// The task that pulls batches out of DataFusion on a lane's pool.
struct Producer {
    plan: Arc<dyn ExecutionPlan>,
    /// What the plan has read, for the scan rate.
    progress: ScanProgress,
    /// Where the rate of finished scans is kept.
    shared: Arc<crate::session::Shared>,
    task: Arc<TaskContext>,
    schema: SchemaRef,
    maxrec: Option<u64>,
    ends: Ends,
    /// Raised by the watcher; the plan's join filters fail once it is.
    interrupt: Arc<AtomicBool>,
    /// Tells the watcher that the producer is done.
    _done: tokio_util::sync::DropGuard,
    /// Held until the producer ends, whichever way.
    _slot: Slot,
    /// The session's uploads staged for the cluster, kept while the plan
    /// that reads them runs (the session itself may be gone).
    _staged: Option<Arc<catalog_store::Staging>>,
}

/// What stopped a producer before the end of its rows.
enum Stop {
    /// Tell the reader why.
    Error(Error),
    /// Nobody reads any more.
    Gone,
}

impl Producer {
    /// The cluster's workers before a plan that runs on the cluster starts;
    /// `None` for a plan that runs here.
    async fn cluster_workers(&self) -> std::result::Result<Option<cluster::ClusterStatus>, Stop> {
        match &self.shared.cluster {
            Some(scheduler) if cluster::ships(&self.plan) => cluster::status(scheduler)
                .await
                .map(Some)
                .map_err(|e| Stop::Error(Error::Cluster(e))),
            _ => Ok(None),
        }
    }

    /// Fails the query when a worker of `before` left the cluster while it
    /// ran: Ballista 55 reruns the lost worker's tasks, and its planner can
    /// then count their rows twice (seen with a worker killed mid-join), so
    /// no answer is better than that one.
    async fn no_worker_lost(
        &self,
        before: &cluster::ClusterStatus,
    ) -> std::result::Result<(), Stop> {
        let Some(scheduler) = &self.shared.cluster else {
            return Ok(());
        };
        let now = cluster::status(scheduler)
            .await
            .map_err(|e| Stop::Error(Error::Cluster(e)))?;
        let lost = before.lost_in(&now);
        if lost.is_empty() {
            return Ok(());
        }
        tracing::warn!(
            ?lost,
            "workers left the cluster during a query; its answer is not given"
        );
        Err(Stop::Error(Error::Cluster(cluster::Error::WorkersLost(
            lost.len(),
        ))))
    }

    /// Resolves, with the error, once a worker of `before` has left the
    /// cluster; asks the scheduler every [`WORKER_WATCH`]. A scheduler that
    /// does not answer is left to the job's own stream, which reports a
    /// broken link.
    async fn watch_for_lost_workers(
        &self,
        before: &cluster::ClusterStatus,
    ) -> std::result::Result<(), Stop> {
        loop {
            tokio::time::sleep(WORKER_WATCH).await;
            if let Err(lost @ Stop::Error(Error::Cluster(cluster::Error::WorkersLost(_)))) =
                self.no_worker_lost(before).await
            {
                return Err(lost);
            }
        }
    }

    /// The error of a failed batch: a broken link to the cluster is the
    /// service's failure, not the query's.
    fn failure(&self, e: datafusion::error::DataFusionError) -> Error {
        match &self.shared.cluster {
            Some(scheduler) if cluster::is_link_failure(&e) => {
                Error::Cluster(cluster::Error::Scheduler {
                    url: scheduler.clone(),
                    reason: format!("broke off a query: {e}"),
                })
            }
            _ => e.into(),
        }
    }

    async fn run(self) {
        let ends = self.ends.clone();
        let interrupt = Arc::clone(&self.interrupt);
        // A query stopped here must stop on the cluster too: dropping the
        // stream only stops fetching its results.
        let on_cluster = self
            .shared
            .cluster
            .clone()
            .map(|scheduler| (scheduler, Arc::clone(&self.plan)));
        // Whatever the producer awaits (a batch, room in the channel), the
        // ends stop it, dropping the DataFusion stream and with it its
        // tasks and their memory. A poll that does not return (a nested-loop
        // join) is ended by the interrupt flag instead.
        let outcome = tokio::select! {
            biased;
            stop = ends.reached() => Err(stop),
            outcome = self.produce() => outcome,
        };
        let outcome = match outcome {
            Err(Stop::Error(_)) if interrupt.load(Ordering::Relaxed) => Err(ends.reason()),
            other => other,
        };
        // Not a job that lost a worker: cancelling one while Ballista 55
        // rolls the lost worker back wedged its scheduler, and the next
        // query then never ended. The job ends or fails on its own.
        let lost_a_worker = matches!(
            &outcome,
            Err(Stop::Error(Error::Cluster(cluster::Error::WorkersLost(_))))
        );
        if let (Err(_), Some((scheduler, plan)), false) = (&outcome, on_cluster, lost_a_worker) {
            match cluster::cancel(&scheduler, &plan).await {
                Ok(jobs) => tracing::debug!(jobs, "cancelled the query's cluster jobs"),
                Err(e) => tracing::warn!("cannot cancel a stopped query's cluster jobs: {e}"),
            }
        }
        if let Err(Stop::Error(e)) = outcome {
            let _ = ends.tx.send(Err(e)).await;
        }
    }

    async fn produce(self) -> std::result::Result<(), Stop> {
        let tx = &self.ends.tx;
        let send = |m: Result<Message>| async move { tx.send(m).await.map_err(|_| Stop::Gone) };
        let mut workers = self.cluster_workers().await?;
        let mut stream = execute_stream(Arc::clone(&self.plan), Arc::clone(&self.task))
            .map_err(|e| Stop::Error(e.into()))?;
        let started = std::time::Instant::now();
        let mut sent: u64 = 0;
        loop {
            // Until a cluster job's rows come, the workers are watched: a
            // job that lost one is refused anyway, and Ballista 55 may
            // never end it (about one such job in two).
            let next = match &workers {
                Some(before) => tokio::select! {
                    next = stream.next() => next,
                    lost = self.watch_for_lost_workers(before) => return lost,
                },
                None => stream.next().await,
            };
            let Some(batch) = next else { break };
            let batch = batch.map_err(|e| Stop::Error(self.failure(e)))?;
            // A cluster job's rows come once the job is done: check now.
            if let Some(before) = workers.take() {
                self.no_worker_lost(&before).await?;
            }
            let batch = batch
                .with_schema(Arc::clone(&self.schema))
                .map_err(|e| Stop::Error(Error::Internal(e.to_string())))?;
            match self.maxrec {
                Some(max) if sent + batch.num_rows() as u64 > max => {
                    // More rows than MAXREC: hand over what fits, then say so.
                    let room = (max - sent) as usize;
                    if room > 0 {
                        send(Ok(Message::Rows(batch.slice(0, room)))).await?;
                    }
                    return send(Ok(Message::End(Completion::Overflow))).await;
                }
                _ => {}
            }
            sent += batch.num_rows() as u64;
            if batch.num_rows() > 0 {
                send(Ok(Message::Rows(batch))).await?;
            }
        }
        if let Some(before) = workers.take() {
            self.no_worker_lost(&before).await?;
        }
        // A whole scan tells the rate at which this machine reads rows.
        if let Some(rows) = self.progress.rows_read() {
            self.shared.scan_rate.record(rows, started.elapsed());
        }
        send(Ok(Message::End(Completion::Complete))).await
    }
}
