//! What a query will cost, estimated from its physical plan and the
//! tables' statistics before it runs: the rows it will read, with the
//! pairs a nested-loop or cross join compares counted as rows. It picks the
//! lane, and (for asynchronous jobs) makes the quote.

use crate::error::Result;
use crate::session::Engine;
use adql_planner::Translation;
use datafusion::common::ScalarValue;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{
    BinaryExpr, Column, DynamicFilterPhysicalExpr, Literal,
};
use datafusion::physical_expr::utils::{split_conjunction, split_disjunction};
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
        // A scan of a region reads about its share of the sky's rows.
        let rows = output_rows(plan, stats).map(|rows| match sky_fraction(plan) {
            _ if is_key_lookup(plan) => rows.min(KEY_LOOKUP_ROWS),
            Some(fraction) => (rows as f64 * fraction).ceil() as u64,
            None => rows,
        });
        // A limit pushed into a scan stops it early (`TOP n` without WHERE).
        return match (rows, plan.fetch()) {
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

/// The share of the sky that a file scan's sky-index predicate keeps:
/// the order-29 HEALPix ranges the planner adds for a region
/// (`_healpix >= a AND _healpix < b OR ...`, `adql-planner`'s
/// `sky_index.rs`), over all the cells. HEALPix cells have equal areas, so
/// a uniform sky would have that share of the rows; a real one is off by
/// its density contrast (ten to a hundred for the Milky Way), which still
/// tells a cone from a full scan. `None` for a scan without such ranges.
/// The statistics do not see this: row groups are pruned only as the scan
/// opens its files.
fn sky_fraction(plan: &dyn ExecutionPlan) -> Option<f64> {
    let scan = plan.downcast_ref::<DataSourceExec>()?;
    let files = scan.data_source().downcast_ref::<FileScanConfig>()?;
    let predicate = files.file_source().filter()?;
    split_conjunction(&predicate)
        .into_iter()
        .filter_map(index_ranges_fraction)
        .reduce(f64::min)
}

/// Rows a scan of a key lookup reads (`adql-planner`'s `key_index.rs`): a
/// row group, the most that the key index or the table is read for one key.
const KEY_LOOKUP_ROWS: u64 = 32 * 1024;

/// A scan of a key index, or of a table filtered by the sky index values
/// that a key lookup found (a join's dynamic filter on the sky index column
/// itself: nothing else joins on it). Their statistics are the whole files'.
fn is_key_lookup(plan: &dyn ExecutionPlan) -> bool {
    let Some(files) = plan
        .downcast_ref::<DataSourceExec>()
        .and_then(|scan| scan.data_source().downcast_ref::<FileScanConfig>())
    else {
        return false;
    };
    let in_key_index = format!("{}/", catalog_model::KEY_INDEX_FOLDER);
    if files
        .file_groups
        .iter()
        .flat_map(|group| group.iter())
        .any(|file| file.object_meta.location.as_ref().contains(&in_key_index))
    {
        return true;
    }
    let Some(predicate) = files.file_source().filter() else {
        return false;
    };
    let mut found = false;
    let _ = predicate.apply(|e| {
        if let Some(dynamic) = e.downcast_ref::<DynamicFilterPhysicalExpr>() {
            found |= matches!(
                dynamic.children().as_slice(),
                [key] if key.downcast_ref::<Column>()
                    .is_some_and(|c| c.name() == catalog_model::SKY_INDEX_COLUMN)
            );
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// All order-29 HEALPix cells: 12 base cells of 4^29 each.
const ALL_CELLS: u128 = 12 << 58;

/// The share of all cells in `expr` when it is an OR of
/// `_healpix >= a AND _healpix < b` ranges.
fn index_ranges_fraction(expr: &Arc<dyn PhysicalExpr>) -> Option<f64> {
    let mut cells: u128 = 0;
    for range in split_disjunction(expr) {
        let [low, high] = <[_; 2]>::try_from(split_conjunction(range)).ok()?;
        let from = index_bound(low, Operator::GtEq)?;
        let to = index_bound(high, Operator::Lt)?;
        cells += u128::from(to.saturating_sub(from));
    }
    Some(cells as f64 / ALL_CELLS as f64)
}

/// `b` of `_healpix <op> b`.
fn index_bound(expr: &Arc<dyn PhysicalExpr>, op: Operator) -> Option<u64> {
    let compare = expr.downcast_ref::<BinaryExpr>()?;
    let column = compare.left().downcast_ref::<Column>()?;
    if *compare.op() != op || column.name() != catalog_model::SKY_INDEX_COLUMN {
        return None;
    }
    match compare.right().downcast_ref::<Literal>()?.value() {
        ScalarValue::Int64(Some(v)) => u64::try_from(*v).ok(),
        ScalarValue::UInt64(Some(v)) => Some(*v),
        _ => None,
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::session::EngineConfig;
    use crate::test_tables::{POINTS, data_dir, engine_with_keyed_table};
    use catalog_model::AllowAll;

    #[tokio::test]
    async fn a_region_is_estimated_at_its_share_of_the_sky() {
        let (_tmp, dir) = data_dir().await;
        let engine = Engine::open(dir.snapshot().unwrap(), EngineConfig::default())
            .await
            .unwrap();
        let engine = &engine;
        let rows = |adql: &str| {
            let translation = engine.translate(adql, &AllowAll).unwrap();
            async move { engine.estimate(&translation).await.unwrap().rows }
        };
        let all = POINTS.len() as u64 + 1;
        assert_eq!(rows("SELECT * FROM t.stars").await, Some(all));
        // A 1-degree cone is 7.6e-5 of the sky: under one row of seven.
        let cone = "SELECT * FROM t.stars WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 1))";
        assert_eq!(rows(cone).await, Some(1));
        // A cap over 45 degrees gets no ranges: a full scan, as it is.
        let wide = "SELECT * FROM t.stars WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 60))";
        assert_eq!(rows(wide).await, Some(all));
    }

    #[tokio::test]
    async fn a_key_lookup_is_estimated_at_a_row_group() {
        let (_tmp, engine) = engine_with_keyed_table(100_000, EngineConfig::default()).await;
        let rows = |adql: &str| {
            let translation = engine.translate(adql, &AllowAll).unwrap();
            let engine = &engine;
            async move { engine.estimate(&translation).await.unwrap().rows }
        };
        assert_eq!(rows("SELECT * FROM t.keyed").await, Some(100_000));
        // A row group of the key index, one of the table.
        let lookup = "SELECT * FROM t.keyed WHERE id = 77777";
        assert_eq!(rows(lookup).await, Some(2 * KEY_LOOKUP_ROWS));
        // Another column: the whole table.
        let scan = "SELECT * FROM t.keyed WHERE ra = 77777";
        assert_eq!(rows(scan).await, Some(100_000));
    }

    /// A cluster's session turns the dynamic filters off that the lookup is
    /// recognised by; the plan made for this process has them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_key_lookup_is_estimated_alike_on_a_cluster() {
        let cluster = cluster::start_local(1, 1).await.unwrap();
        let config = EngineConfig {
            cluster: Some(cluster.scheduler.clone()),
            ..EngineConfig::default()
        };
        let (_tmp, engine) = engine_with_keyed_table(100_000, config).await;
        let lookup = engine
            .translate("SELECT * FROM t.keyed WHERE id = 77777", &AllowAll)
            .unwrap();
        let rows = engine.estimate(&lookup).await.unwrap().rows;
        assert_eq!(rows, Some(2 * KEY_LOOKUP_ROWS));
    }

    #[test]
    fn index_ranges_count_their_cells() {
        use datafusion::physical_expr::expressions::{col, lit};
        let schema = datafusion::arrow::datatypes::Schema::new(vec![
            datafusion::arrow::datatypes::Field::new(
                catalog_model::SKY_INDEX_COLUMN,
                datafusion::arrow::datatypes::DataType::Int64,
                false,
            ),
        ]);
        let index = col(catalog_model::SKY_INDEX_COLUMN, &schema).unwrap();
        let range = |a: i64, b: i64| -> Arc<dyn PhysicalExpr> {
            let low = Arc::new(BinaryExpr::new(Arc::clone(&index), Operator::GtEq, lit(a)));
            let high = Arc::new(BinaryExpr::new(Arc::clone(&index), Operator::Lt, lit(b)));
            Arc::new(BinaryExpr::new(low, Operator::And, high))
        };
        let quarter = (ALL_CELLS / 4) as i64;
        let both: Arc<dyn PhysicalExpr> = Arc::new(BinaryExpr::new(
            range(0, quarter),
            Operator::Or,
            range(2 * quarter, 3 * quarter),
        ));
        assert_eq!(index_ranges_fraction(&both), Some(0.5));
        // Anything else is not a set of ranges.
        let other = Arc::new(BinaryExpr::new(Arc::clone(&index), Operator::Eq, lit(5i64)));
        assert_eq!(
            index_ranges_fraction(&(other as Arc<dyn PhysicalExpr>)),
            None
        );
    }
}
