//! What a query will cost, estimated from its physical plan and the
//! tables' statistics before it runs: the rows it will read, with the
//! pairs a nested-loop or cross join compares counted as rows. It picks the
//! lane, and (for asynchronous jobs) makes the quote.

use crate::error::Result;
use crate::session::Engine;
use adql_planner::Translation;
use datafusion::common::stats::Precision;
use datafusion::physical_plan::{ExecutionPlan, StatisticsArgs, StatisticsContext};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// What a query is expected to cost, before it runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Rows (and compared pairs) it will read, if the tables say.
    pub rows: Option<u64>,
    /// Seconds it will execute: the rows at the rate this engine's
    /// finished queries read at.
    pub seconds: Option<f64>,
}

impl Engine {
    /// Plans `translation` and estimates its cost without running it (the
    /// quote of an asynchronous job, UWS 1.1 §2.1.6).
    pub async fn estimate(&self, translation: &Translation) -> Result<Estimate> {
        let rows = self.plan(translation, None).await?.estimated_rows;
        Ok(Estimate {
            rows,
            seconds: rows.map(|r| r as f64 / self.shared.scan_rate.rows_per_second()),
        })
    }
}

/// The rate at which queries read rows, measured on the queries that
/// finished (a moving average), starting from a rate this machine's kind
/// reaches on a plain scan.
#[derive(Debug)]
pub(crate) struct ScanRate(AtomicU64);

impl Default for ScanRate {
    fn default() -> Self {
        ScanRate(AtomicU64::new(20_000_000))
    }
}

impl ScanRate {
    pub(crate) fn rows_per_second(&self) -> f64 {
        self.0.load(Ordering::Relaxed).max(1) as f64
    }

    /// Counts a finished query that read `rows` in `elapsed`; small ones
    /// say more about overheads than about reading, and are left out.
    pub(crate) fn record(&self, rows: u64, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if rows < 1_000_000 || seconds <= 0.0 {
            return;
        }
        let measured = rows as f64 / seconds;
        let old = self.rows_per_second();
        let new = 0.8 * old + 0.2 * measured;
        self.0.store(new as u64, Ordering::Relaxed);
    }
}

/// Rows an executing plan has read so far, counted as its estimate counts
/// them ([`rows_to_read`]): the rows its scans have read, from the live
/// metrics DataFusion keeps on each node, plus the pairs its nested-loop
/// joins have compared (counted by their filters, `plan-interrupt`), so that
/// a crossmatch's progress moves toward its estimate. It holds the plan
/// weakly: some plans keep their operators' state (a join's hash table),
/// which must go with the query, not with whoever watches it.
///
/// A plan shipped to a cluster reads nothing here: [`ScanProgress::rows_read_now`]
/// asks the scheduler what its jobs' scans have read.
#[derive(Clone)]
pub struct ScanProgress {
    plan: Weak<dyn ExecutionPlan>,
    compared: Arc<AtomicU64>,
    /// The scheduler, when the engine executes on a cluster.
    cluster: Option<String>,
}

impl ScanProgress {
    pub(crate) fn new(
        plan: &Arc<dyn ExecutionPlan>,
        compared: &Arc<AtomicU64>,
        cluster: Option<String>,
    ) -> ScanProgress {
        ScanProgress {
            plan: Arc::downgrade(plan),
            compared: Arc::clone(compared),
            cluster,
        }
    }

    /// Rows read and pairs compared so far in this process; `None` once
    /// the query is over.
    pub fn rows_read(&self) -> Option<u64> {
        let plan = self.plan.upgrade()?;
        Some(scanned(plan.as_ref()).saturating_add(self.compared.load(Ordering::Relaxed)))
    }

    /// Rows read so far wherever the query runs: for a plan shipped to a
    /// cluster, what the scheduler counts for its jobs (when it does not
    /// answer, what this process read: progress is only a report, and the
    /// query itself finds out about a lost scheduler); `None` once the
    /// query is over.
    pub async fn rows_read_now(&self) -> Option<u64> {
        let here = self.rows_read()?;
        let Some(scheduler) = &self.cluster else {
            return Some(here);
        };
        // The plan is let go before the call: it must not outlive the query.
        let jobs = cluster::job_ids(&self.plan.upgrade()?);
        if jobs.is_empty() {
            return Some(here);
        }
        match cluster::rows_read(scheduler, &jobs).await {
            Ok(rows) => Some(rows),
            Err(e) => {
                tracing::debug!(error = %e, "no progress from the cluster");
                Some(here)
            }
        }
    }
}

/// Rows the scans under `plan` have read.
fn scanned(plan: &dyn ExecutionPlan) -> u64 {
    let children = plan.children();
    if children.is_empty() {
        return plan.metrics().and_then(|m| m.output_rows()).unwrap_or(0) as u64;
    }
    children.iter().map(|c| scanned(c.as_ref())).sum()
}

/// The estimated cost of a plan in rows, or `None` when some input does not
/// say how many rows it has.
pub(crate) fn rows_to_read(plan: &dyn ExecutionPlan) -> Option<u64> {
    cost(plan, &StatisticsContext::new())
}

fn cost(plan: &dyn ExecutionPlan, stats: &StatisticsContext) -> Option<u64> {
    let children = plan.children();
    if children.is_empty() {
        // A limit pushed into a scan stops it early (`TOP n` without WHERE).
        return match (output_rows(plan, stats), plan.fetch()) {
            (Some(rows), Some(fetch)) => Some(rows.min(fetch as u64)),
            (None, Some(fetch)) => Some(fetch as u64),
            (rows, None) => rows,
        };
    }
    let mut total: u64 = 0;
    for child in &children {
        total = total.saturating_add(cost(child.as_ref(), stats)?);
    }
    // A join without an equality compares every pair of rows.
    if matches!(plan.name(), "NestedLoopJoinExec" | "CrossJoinExec") {
        let mut pairs: u64 = 1;
        for child in &children {
            pairs = pairs.saturating_mul(output_rows(child.as_ref(), stats)?.max(1));
        }
        total = total.saturating_add(pairs);
    }
    Some(total)
}

/// Rows a plan node yields, from its statistics (a scan knows its files'
/// row counts and any limit pushed into it).
fn output_rows(plan: &dyn ExecutionPlan, context: &StatisticsContext) -> Option<u64> {
    let stats = context.compute(plan, &StatisticsArgs::new()).ok()?;
    match stats.num_rows {
        Precision::Exact(n) | Precision::Inexact(n) => Some(n as u64),
        Precision::Absent => None,
    }
}
