//! A table's sky coverage: [`Engine::coverage`] reads the hidden HEALPix
//! column every positioned table has, keeps the cells of the order asked
//! for, and builds the [`Coverage`] (a MOC) from them; the engine keeps
//! each coverage it computed for as long as it lives, since its tables do
//! not change while published.
//!
//! `corvus ingest` adds `_healpix` (the NESTED index at order 29 of the
//! main position) to every table with a position and sorts the rows by
//! it, so a cell at order `k` is the index shifted right by 2·(29 − k), and
//! the cells of a scan come in runs. The scan is therefore a projection of
//! that one Parquet column, deduplicated run by run and folded into the MOC
//! a million cells at a time: memory grows with the MOC's ranges, not with
//! the rows or the distinct cells, as it would with `SELECT DISTINCT`'s
//! hash table.

use crate::error::{CancelReason, Error, Result};
use crate::estimate::rows_to_read;
use crate::lanes::Lane;
use crate::moc_format::{Coverage, SkyMoc, cell_count, check_order};
use crate::session::Engine;
use catalog_model::{Catalog, TableInfo};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Int64Type, UInt64Type};
use datafusion::common::TableReference;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::ident;
use futures::StreamExt;
use moc::moc::range::RangeMOC;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

use catalog_model::{SKY_INDEX_COLUMN as HEALPIX_COLUMN, SKY_INDEX_ORDER as HEALPIX_ORDER};

/// The most ranges one coverage may have (64 MiB in memory and as FITS):
/// past it, a coarser order describes the table as well for any use a
/// MOC has, and the service does not hold a copy of the table's positions.
pub const MAX_COVERAGE_RANGES: usize = 1 << 22;
/// The ranges all cached coverages may hold together (256 MiB); a coverage
/// computed past it is answered but not kept.
const CACHE_RANGES: usize = 1 << 24;
/// Cells gathered before they are sorted and folded into the MOC.
const BATCH_CELLS: usize = 1 << 20;

type Key = (String, String, u8);

/// The coverages an engine computed, by (schema, table, order). One
/// request computes a coverage while the others asking for it wait; a
/// failed or abandoned computation leaves the slot empty for the next.
#[derive(Default)]
pub(crate) struct CoverageCache {
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    slots: HashMap<Key, Arc<tokio::sync::OnceCell<Arc<Coverage>>>>,
    /// Ranges the computed coverages in `slots` hold.
    ranges: usize,
}

impl CoverageCache {
    fn slot(&self, key: &Key) -> Arc<tokio::sync::OnceCell<Arc<Coverage>>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(state.slots.entry(key.clone()).or_default())
    }

    /// Counts a computed coverage against the budget, or drops its slot
    /// (its waiters still get it) when the budget is spent.
    fn account(&self, key: &Key, coverage: &Coverage) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.ranges + coverage.ranges() <= CACHE_RANGES {
            state.ranges += coverage.ranges();
        } else {
            state.slots.remove(key);
        }
    }
}

impl Engine {
    /// The sky coverage of `schema.table` (exact names) at HEALPix `order`
    /// (0 to 29): the cells that hold at least one row. Computed on the
    /// engine's pools, under its admission control, the first time it is
    /// asked for; kept for the engine's life after that.
    pub async fn coverage(&self, schema: &str, table: &str, order: u8) -> Result<Arc<Coverage>> {
        check_order(order)?;
        let info = self.positioned_table(schema, table)?;
        let key = (info.schema.clone(), info.name.clone(), order);
        let cache = &self.shared.coverages;
        let slot = cache.slot(&key);
        let coverage = slot
            .get_or_try_init(|| async {
                let started = std::time::Instant::now();
                let coverage = Arc::new(self.compute_coverage(info, order).await?);
                tracing::info!(
                    "coverage of {} at order {order}: {} cells in {} ranges, {:.1} % of the sky, {:.2} s",
                    info.qualified_name(),
                    coverage.cell_count(),
                    coverage.ranges(),
                    coverage.sky_fraction() * 100.0,
                    started.elapsed().as_secs_f64()
                );
                cache.account(&key, &coverage);
                Ok::<_, Error>(coverage)
            })
            .await?;
        Ok(Arc::clone(coverage))
    }

    /// The published table `schema.table` if it has a main position.
    fn positioned_table(&self, schema: &str, table: &str) -> Result<&TableInfo> {
        let info = self
            .catalog()
            .tables()
            .into_iter()
            .find(|t| t.schema == schema && t.name == table)
            .ok_or_else(|| Error::Request(format!("no table {schema}.{table}")))?;
        if info.position.is_none() {
            return Err(Error::Request(format!(
                "{} has no main position, so it has no sky coverage",
                info.qualified_name()
            )));
        }
        Ok(info)
    }

    async fn compute_coverage(&self, info: &TableInfo, order: u8) -> Result<Coverage> {
        let plan = self.coverage_plan(info).await?;
        // The lane as for a query reading the same rows.
        let lane = match rows_to_read(plan.as_ref()) {
            Some(n) if n <= self.shared.quick_rows => Lane::Quick,
            _ => Lane::Long,
        };
        let lane_state = self.shared.lane(lane);
        // Nobody cancels it but the caller, by dropping this future.
        let slot = lane_state
            .admit(&CancellationToken::new(), &self.shared.shutdown)
            .await?;
        let task = self.ctx.task_ctx();
        let shutdown = self.shared.shutdown.clone();
        lane_state
            .run(async move {
                let _slot = slot;
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => Err(Error::Cancelled(CancelReason::Shutdown)),
                    moc = scan_cells(plan, task, order) => moc,
                }
            })
            .await?
            .map(Coverage::from_moc)
    }

    /// The plan reading the table's non-null HEALPix indices, made on the
    /// quick lane's pool (planning reads Parquet footers).
    async fn coverage_plan(&self, info: &TableInfo) -> Result<Arc<dyn ExecutionPlan>> {
        let ctx = self.ctx.clone();
        let reference = TableReference::partial(info.schema.as_str(), info.name.as_str());
        let plan = self
            .shared
            .quick
            .run(async move {
                let df = ctx.table(reference).await?;
                if !df.schema().has_column_with_unqualified_name(HEALPIX_COLUMN) {
                    return Ok(None);
                }
                let df = df
                    .select(vec![ident(HEALPIX_COLUMN)])?
                    .filter(ident(HEALPIX_COLUMN).is_not_null())?;
                df.create_physical_plan().await.map(Some)
            })
            .await??;
        plan.ok_or_else(|| {
            Error::Request(format!(
                "{} has no HEALPix index (`corvus ingest` adds one to every table with a main position), so its coverage is unknown",
                info.qualified_name()
            ))
        })
    }
}

/// Runs `plan` (one column of order-29 indices) and folds its cells at `order` into a MOC.
async fn scan_cells(
    plan: Arc<dyn ExecutionPlan>,
    task: Arc<TaskContext>,
    order: u8,
) -> Result<SkyMoc> {
    let mut cells = CellFolder::new(order);
    let mut stream = execute_stream(plan, task)?;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let column = batch.column(0);
        if let Some(a) = column.as_primitive_opt::<Int64Type>() {
            for v in a.iter().flatten() {
                cells.push(u64::try_from(v).unwrap_or(u64::MAX))?;
            }
        } else if let Some(a) = column.as_primitive_opt::<UInt64Type>() {
            for v in a.iter().flatten() {
                cells.push(v)?;
            }
        } else {
            return Err(Error::Internal(format!(
                "the {HEALPIX_COLUMN} column is {}, not an integer",
                column.data_type()
            )));
        }
    }
    cells.finish()
}

/// Folds order-29 indices, as a scan gives them, into a MOC at `order`.
struct CellFolder {
    order: u8,
    shift: u32,
    last: Option<u64>,
    batch: Vec<u64>,
    moc: SkyMoc,
}

impl CellFolder {
    fn new(order: u8) -> CellFolder {
        CellFolder {
            order,
            shift: 2 * u32::from(HEALPIX_ORDER - order.min(HEALPIX_ORDER)),
            last: None,
            batch: Vec::new(),
            moc: RangeMOC::new_empty(order),
        }
    }

    fn push(&mut self, index: u64) -> Result<()> {
        if index >= cell_count(HEALPIX_ORDER) {
            return Err(Error::Internal(format!(
                "a value of the {HEALPIX_COLUMN} column is not a HEALPix index of order {HEALPIX_ORDER}"
            )));
        }
        let cell = index >> self.shift;
        // The rows are sorted by index: most cells repeat the one before.
        if self.last != Some(cell) {
            self.last = Some(cell);
            self.batch.push(cell);
            if self.batch.len() >= BATCH_CELLS {
                self.fold()?;
            }
        }
        Ok(())
    }

    fn fold(&mut self) -> Result<()> {
        self.batch.sort_unstable();
        self.batch.dedup();
        let n = self.batch.len().max(1);
        let part = RangeMOC::from_fixed_depth_cells(self.order, self.batch.drain(..), Some(n));
        self.moc = if self.moc.is_empty() {
            part
        } else {
            self.moc.or(&part)
        };
        if self.moc.len() > MAX_COVERAGE_RANGES {
            return Err(Error::Request(format!(
                "the coverage at order {} has more than {MAX_COVERAGE_RANGES} ranges of cells; ask for a lower order",
                self.order
            )));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<SkyMoc> {
        self.fold()?;
        Ok(self.moc)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::session::EngineConfig;
    use crate::test_tables::{POINTS, data_dir};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    fn expected(order: u8) -> Vec<u64> {
        let layer = cdshealpix::nested::get(order);
        let mut cells: Vec<u64> = POINTS
            .iter()
            .map(|(ra, dec)| layer.hash(ra.to_radians(), dec.to_radians()))
            .collect();
        cells.sort_unstable();
        cells.dedup();
        cells
    }

    #[tokio::test]
    async fn cells_are_those_of_the_rows_at_each_order() {
        let (_tmp, dir) = data_dir().await;
        let engine = Engine::open(dir.snapshot().unwrap(), test_config())
            .await
            .unwrap();
        for order in [0, 3, 10, 18, 29] {
            let c = engine.coverage("t", "stars", order).await.unwrap();
            assert_eq!(c.order(), order);
            assert_eq!(c.cells(), expected(order), "order {order}");
        }
        // The first two rows share their cell up to order 13 or so, not at 29.
        assert_eq!(expected(29).len(), POINTS.len());
        assert!(expected(10).len() < POINTS.len());
    }

    #[tokio::test]
    async fn a_coverage_is_computed_once_per_order() {
        let (_tmp, dir) = data_dir().await;
        let engine = Engine::open(dir.snapshot().unwrap(), test_config())
            .await
            .unwrap();
        let first = engine.coverage("t", "stars", 8).await.unwrap();
        let again = engine.coverage("t", "stars", 8).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let other = engine.coverage("t", "stars", 9).await.unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
        // A session for a request shares the engine's coverages.
        let session = engine.with_tables(Vec::new()).unwrap();
        let shared = session.coverage("t", "stars", 8).await.unwrap();
        assert!(Arc::ptr_eq(&first, &shared));
    }

    #[tokio::test]
    async fn tables_without_a_position_or_index_and_bad_orders_are_refused() {
        let (_tmp, dir) = data_dir().await;
        let engine = Engine::open(dir.snapshot().unwrap(), test_config())
            .await
            .unwrap();
        let message = |e: Error| {
            assert_eq!(e.fault(), crate::Fault::User);
            e.to_string()
        };
        let e = message(engine.coverage("t", "plain", 5).await.unwrap_err());
        assert!(e.contains("t.plain has no main position"), "{e}");
        let e = message(engine.coverage("t", "nothing", 5).await.unwrap_err());
        assert!(e.contains("no table t.nothing"), "{e}");
        let e = message(engine.coverage("t", "stars", 30).await.unwrap_err());
        assert!(e.contains("order 30 is out of range"), "{e}");
        // A positioned table that was not ingested (held in memory) has no index.
        let mut memory = Engine::new(test_config()).unwrap();
        let mut info = TableInfo::from_arrow("m", "stars", &POSITIONS);
        info.position = Some(catalog_model::Position {
            ra: "ra".into(),
            dec: "dec".into(),
        });
        let schema = Arc::new(POSITIONS.clone());
        memory.register_batches(info, schema, Vec::new()).unwrap();
        let e = message(memory.coverage("m", "stars", 5).await.unwrap_err());
        assert!(e.contains("no HEALPix index"), "{e}");
    }

    #[test]
    fn a_coverage_past_the_range_limit_is_refused() {
        let mut folder = CellFolder::new(HEALPIX_ORDER);
        // Every other cell: one range each.
        let mut outcome = Ok(());
        for i in 0..(MAX_COVERAGE_RANGES as u64 + BATCH_CELLS as u64) {
            outcome = folder.push(2 * i);
            if outcome.is_err() {
                break;
            }
        }
        let e = outcome
            .and_then(|()| folder.finish().map(|_| ()))
            .unwrap_err();
        assert!(e.to_string().contains("ask for a lower order"), "{e}");
    }

    static POSITIONS: std::sync::LazyLock<Schema> = std::sync::LazyLock::new(|| {
        Schema::new(vec![
            Field::new("ra", DataType::Float64, true),
            Field::new("dec", DataType::Float64, true),
        ])
    });

    /// Small pools: the tables are tiny.
    fn test_config() -> EngineConfig {
        let lane = crate::LaneConfig {
            threads: 1,
            max_running: 2,
            max_waiting: 4,
        };
        EngineConfig {
            quick: lane.clone(),
            long: lane,
            ..EngineConfig::default()
        }
    }
}
