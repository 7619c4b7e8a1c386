//! The [`Engine`]: a DataFusion session with the sky functions registered
//! and the catalog's tables published under their schemas, executing on
//! the lanes' pools. It is the only door to DataFusion: callers translate
//! and execute through it and never see the session.

use crate::error::{Error, Result};
use crate::lanes::{Lane, LaneConfig, LaneState, Pool};
use crate::staged_uploads::UploadedTable;
use adql_planner::{TranslateOptions, Translation, translate, translate_with};
use catalog_model::{AccessPolicy, Catalog, StaticCatalog, TableInfo};
use catalog_store::{Snapshot, Staging};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{
    CatalogProvider, CatalogProviderList, MemTable, MemoryCatalogProvider,
    MemoryCatalogProviderList, MemorySchemaProvider, SchemaProvider, TableProvider,
};
use datafusion::datasource::source_as_provider;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{DataFrame, ParquetReadOptions, SessionConfig, SessionContext};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// How the engine executes: its lanes and its memory.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The lane of queries estimated to be cheap.
    pub quick: LaneConfig,
    /// The lane of every other query.
    pub long: LaneConfig,
    /// A query whose plan reads at most this many rows (pairs, for a join
    /// without an equality) takes the quick lane.
    pub quick_rows: u64,
    /// Memory that operators holding data (sorts, joins, aggregates) may
    /// share; beyond it they spill to temporary files or fail. `None`: no limit.
    pub memory_limit: Option<usize>,
    /// The scheduler of the Ballista cluster that executes the queries
    /// (`host:port`); `None`: this process executes them.
    pub cluster: Option<String>,
    /// On a cluster, a query estimated to read fewer rows than this runs in
    /// this process instead (0: every query that reads a table ships).
    pub cluster_from_rows: u64,
    /// The data directory, when every node of the cluster mounts it at this
    /// same (absolute) path: uploaded tables are staged there as Parquet
    /// for the workers to read. `None`: they travel inside the plan.
    pub shared_data: Option<PathBuf>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        EngineConfig {
            // As many threads as the long lane: a lane is apart from the
            // other for isolation, and a quick query's large result still
            // formats and compresses on two cores.
            quick: LaneConfig {
                threads: cores,
                max_running: 8,
                max_waiting: 64,
            },
            long: LaneConfig {
                threads: cores,
                max_running: cores.max(2),
                max_waiting: 32,
            },
            quick_rows: 2_000_000,
            memory_limit: None,
            cluster: None,
            cluster_from_rows: 2_000_000,
            shared_data: None,
        }
    }
}

/// What every session of one engine shares: pools, admission, the memory
/// pool, and the shutdown signal.
pub(crate) struct Shared {
    pub(crate) quick: LaneState,
    pub(crate) long: LaneState,
    /// One thread for the queries' watchers (`execute.rs`), apart from the
    /// lanes, whose threads a watcher may have to interrupt.
    pub(crate) watchers: Pool,
    pub(crate) quick_rows: u64,
    pub(crate) shutdown: CancellationToken,
    /// Rows per second that finished scans read, for estimates (`estimate.rs`).
    pub(crate) scan_rate: crate::estimate::ScanRate,
    /// The tables' sky coverages computed so far (`coverage.rs`).
    pub(crate) coverages: crate::coverage::CoverageCache,
    /// The cluster's scheduler, when queries execute there.
    pub(crate) cluster: Option<String>,
    /// Where uploads are staged for the cluster (`EngineConfig::shared_data`).
    shared_data: Option<PathBuf>,
    /// Queries estimated to read fewer rows stay off the cluster.
    pub(crate) cluster_from_rows: u64,
    /// The data directory's tables this engine reads, with their leases:
    /// their files stay while any session of the engine lives.
    _tables: Snapshot,
}

impl Shared {
    pub(crate) fn lane(&self, lane: Lane) -> &LaneState {
        match lane {
            Lane::Quick => &self.quick,
            Lane::Long => &self.long,
        }
    }
}

/// Queries running and waiting, and memory held, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Load {
    /// Quick-lane queries executing.
    pub quick_running: usize,
    /// Quick-lane queries waiting for a slot.
    pub quick_waiting: usize,
    /// Long-lane queries executing.
    pub long_running: usize,
    /// Long-lane queries waiting for a slot.
    pub long_waiting: usize,
    /// Bytes that operators hold in the memory pool.
    pub memory_bytes: usize,
}

/// A DataFusion session that answers ADQL.
pub struct Engine {
    pub(crate) ctx: SessionContext,
    catalog: StaticCatalog,
    pub(crate) shared: Arc<Shared>,
    /// This session's uploads staged for the cluster's workers; the folder
    /// goes when the session and the last of its queries are gone.
    pub(crate) staged: Option<Arc<Staging>>,
}

impl Engine {
    /// An engine with its own pools and no tables.
    pub fn new(config: EngineConfig) -> Result<Self> {
        Self::with_snapshot(config, Snapshot::default())
    }

    fn with_snapshot(config: EngineConfig, tables: Snapshot) -> Result<Self> {
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(bytes) = config.memory_limit {
            runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(bytes)));
        }
        let state = SessionStateBuilder::new()
            .with_default_features()
            .with_config(Self::session_config())
            .with_runtime_env(runtime.build_arc()?)
            .with_physical_optimizer_rules(cluster::physical_optimizer_rules())
            .build();
        let mut ctx = SessionContext::new_with_state(state);
        if let Some(scheduler) = &config.cluster {
            ctx = SessionContext::new_with_state(
                cluster::connect(ctx.state(), scheduler).map_err(Error::Cluster)?,
            );
        }
        sky_functions::register_all(&ctx);
        let pool_error = |e: std::io::Error| Error::Internal(format!("cannot start a pool: {e}"));
        Ok(Engine {
            ctx,
            staged: None,
            catalog: StaticCatalog::new(Vec::new()),
            shared: Arc::new(Shared {
                quick: LaneState::new(Lane::Quick, config.quick).map_err(pool_error)?,
                long: LaneState::new(Lane::Long, config.long).map_err(pool_error)?,
                watchers: Pool::new("corvus-watch", 1).map_err(pool_error)?,
                quick_rows: config.quick_rows,
                shutdown: CancellationToken::new(),
                scan_rate: Default::default(),
                coverages: Default::default(),
                shared_data: config.shared_data.filter(|_| config.cluster.is_some()),
                cluster_from_rows: config.cluster_from_rows,
                cluster: config.cluster,
                _tables: tables,
            }),
        })
    }

    /// An engine over the published tables of a data directory, TAP_SCHEMA
    /// included; it keeps the snapshot's leases for as long as it lives.
    pub async fn open(tables: Snapshot, config: EngineConfig) -> Result<Self> {
        let records = tables.records.clone();
        let mut engine = Engine::with_snapshot(config, tables)?;
        for r in records {
            engine.publish_parquet(r.info, &r.directory).await?;
        }
        engine.publish_tap_schema()?;
        Ok(engine)
    }

    /// Publishes the Parquet files of the folder `directory` as `info`'s
    /// table. The scan is DataFusion's listing table itself, not a view
    /// over it, so a plan that reads it can be shipped to a cluster.
    pub async fn publish_parquet(&mut self, mut info: TableInfo, directory: &Path) -> Result<()> {
        let df = self.read_parquet(directory).await?;
        // The sky index is used only where the files really have it.
        info.layout.sky_index &= df
            .schema()
            .has_column_with_unqualified_name(catalog_model::SKY_INDEX_COLUMN);
        info.layout.key_index = None;
        let key_folder = directory.join(catalog_model::KEY_INDEX_FOLDER);
        if info.layout.sky_index && key_folder.is_dir() {
            let index = self.read_parquet(&key_folder).await?;
            info.layout.key_index = index.schema().fields().first().map(|f| f.name().clone());
            let name = catalog_model::key_index_table(&info.name);
            self.schema_provider(&info.schema)?
                .register_table(name, Self::provider(index)?)?;
        }
        let provider = Self::provider(df)?;
        self.register(info, provider)
    }

    /// The Parquet files of the folder `directory` (not its subfolders).
    async fn read_parquet(&self, directory: &Path) -> Result<DataFrame> {
        let path = directory.to_string_lossy().into_owned();
        let ctx = self.ctx.clone();
        Ok(self
            .shared
            .quick
            .run(async move { ctx.read_parquet(path, ParquetReadOptions::default()).await })
            .await??)
    }

    /// The scan of a read table: DataFusion's listing table itself, not a
    /// view over it, so a plan that reads it can be shipped to a cluster.
    fn provider(df: DataFrame) -> Result<Arc<dyn TableProvider>> {
        Ok(match df.logical_plan() {
            LogicalPlan::TableScan(scan) => source_as_provider(&scan.source)?,
            _ => df.into_view(),
        })
    }

    /// The cluster's scheduler, when queries execute on a cluster.
    pub fn cluster(&self) -> Option<&str> {
        self.shared.cluster.as_deref()
    }

    /// The cluster's workers as its scheduler lists them; `None` when
    /// queries execute in this process.
    pub async fn cluster_status(&self) -> Option<Result<cluster::ClusterStatus>> {
        let scheduler = self.shared.cluster.as_deref()?;
        Some(cluster::status(scheduler).await.map_err(Error::Cluster))
    }

    fn session_config() -> SessionConfig {
        SessionConfig::new()
            .with_information_schema(false)
            // Keep strings as Utf8 so the UDFs and writers see one string type.
            .set_bool(
                "datafusion.execution.parquet.schema_force_view_types",
                false,
            )
            // The grouped top-k aggregation sizes a hash table for k groups
            // before it sees a row: `TOP 1000000000 ... GROUP BY ... ORDER BY
            // MAX(x)` (or a large MAXREC) asked for 150 GB and aborted the
            // process. Without it such a query is an ordinary aggregation.
            .set_bool("datafusion.optimizer.enable_topk_aggregation", false)
        // `parquet.pushdown_filters` (late materialisation) is chosen for
        // each query: `local_plan.rs`.
    }

    /// The catalog the engine's tables form.
    pub fn catalog(&self) -> &StaticCatalog {
        &self.catalog
    }

    /// Queries running and waiting, and memory held, now.
    pub fn load(&self) -> Load {
        let s = &self.shared;
        Load {
            quick_running: s.quick.running(),
            quick_waiting: s.quick.waiting(),
            long_running: s.long.running(),
            long_waiting: s.long.waiting(),
            memory_bytes: self.ctx.runtime_env().memory_pool.reserved(),
        }
    }

    /// Starts `work` on `lane`'s pool: where a result is written (the
    /// writers' formatting and any compression are CPU work too, kept off
    /// the threads that serve requests).
    pub fn spawn<F>(&self, lane: Lane, work: F) -> Result<tokio::task::JoinHandle<F::Output>>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.lane(lane).spawn(work)
    }

    /// Runs `work` on `lane`'s pool and waits for it; if the waiting future
    /// is dropped (the request went away), the work is aborted at its next
    /// await.
    pub async fn run<F, T>(&self, lane: Lane, work: F) -> Result<T>
    where
        F: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.shared.lane(lane).run(work).await
    }

    /// Runs `work` on a thread of `lane`'s blocking pool: for a stage that
    /// must run beside the others on a core of its own (compressing a
    /// result), which tokio's scheduler would otherwise keep on the thread
    /// of the task that feeds it.
    pub fn spawn_blocking<F, T>(&self, lane: Lane, work: F) -> Result<tokio::task::JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.shared.lane(lane).spawn_blocking(work)
    }

    /// Cancels every query of this engine and its sessions, running or
    /// waiting, and refuses new ones: the end of a shutdown's grace period.
    pub fn shut_down(&self) {
        self.shared.shutdown.cancel();
    }

    /// True once [`Engine::shut_down`] was called.
    pub fn is_shut_down(&self) -> bool {
        self.shared.shutdown.is_cancelled()
    }

    /// Publishes `provider` as `schema.table`, with `info` describing its columns.
    pub(crate) fn register(
        &mut self,
        info: TableInfo,
        provider: Arc<dyn TableProvider>,
    ) -> Result<()> {
        self.schema_provider(&info.schema)?
            .register_table(info.name.clone(), provider)?;
        self.catalog.add(info);
        Ok(())
    }

    /// The execution schema `name`, created if new.
    fn schema_provider(&self, name: &str) -> Result<Arc<dyn SchemaProvider>> {
        let catalog = self
            .ctx
            .catalog("datafusion")
            .ok_or_else(|| Error::Internal("the default catalog is missing".into()))?;
        Ok(match catalog.schema(name) {
            Some(s) => s,
            None => {
                let s: Arc<dyn SchemaProvider> = Arc::new(MemorySchemaProvider::new());
                catalog.register_schema(name, Arc::clone(&s))?;
                s
            }
        })
    }

    /// Publishes rows held in memory as `info`'s table (TAP_SCHEMA,
    /// uploads, test fixtures).
    pub fn register_batches(
        &mut self,
        info: TableInfo,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
    ) -> Result<()> {
        self.register_partitions(info, schema, vec![batches])
    }

    /// Publishes rows held in memory in `partitions` (scanned in parallel,
    /// as a table of several files is) as `info`'s table.
    pub fn register_partitions(
        &mut self,
        mut info: TableInfo,
        schema: SchemaRef,
        partitions: Vec<Vec<RecordBatch>>,
    ) -> Result<()> {
        info.layout.rows = Some(
            partitions
                .iter()
                .flatten()
                .map(|b| b.num_rows() as u64)
                .sum(),
        );
        let provider = MemTable::try_new(schema, partitions)?;
        self.register(info, Arc::new(provider))
    }

    /// Publishes TAP_SCHEMA (TAP 1.1 §4) describing every table registered so
    /// far and itself. Call it once, after the last table.
    pub fn publish_tap_schema(&mut self) -> Result<()> {
        let mut tables: Vec<TableInfo> = self
            .catalog
            .tables()
            .into_iter()
            .filter(|t| t.schema != crate::tap_schema::TAP_SCHEMA)
            .cloned()
            .collect();
        tables.extend(crate::tap_schema::tap_schema_infos());
        let batches = crate::tap_schema::tap_schema_batches(&tables)
            .map_err(|e| Error::Internal(format!("cannot build TAP_SCHEMA: {e}")))?;
        for (info, batch) in batches {
            self.register_batches(info, batch.schema(), vec![batch])?;
        }
        Ok(())
    }

    /// A session for one request: everything this engine publishes plus
    /// `extra` tables (TAP uploads) that only this session sees. Pools,
    /// admission, settings and the memory pool are shared; so are the
    /// published tables' providers, so this costs a few pointer copies.
    pub fn with_tables(&self, extra: Vec<UploadedTable>) -> Result<Engine> {
        let catalogs = Arc::new(MemoryCatalogProviderList::new());
        let state = SessionStateBuilder::new_from_existing(self.ctx.state())
            .with_catalog_list(catalogs.clone())
            .build();
        let default = Arc::new(MemoryCatalogProvider::new());
        if let Some(shared) = self.ctx.catalog("datafusion") {
            for name in shared.schema_names() {
                if let Some(schema) = shared.schema(&name) {
                    default.register_schema(&name, schema)?;
                }
            }
        }
        catalogs.register_catalog("datafusion".to_string(), default);
        let mut engine = Engine {
            ctx: SessionContext::new_with_state(state),
            catalog: self.catalog.clone(),
            shared: Arc::clone(&self.shared),
            staged: None,
        };
        for (info, schema, batches) in extra {
            engine.register_batches(info, schema, batches)?;
        }
        Ok(engine)
    }

    /// A session for one request with its uploaded `tables` (TAP_UPLOAD),
    /// which only it sees. On a cluster whose nodes share the data directory
    /// ([`EngineConfig::shared_data`]) they are written there as Parquet for
    /// the workers to read, and removed once the session and its queries
    /// are gone; otherwise they are held in memory, as [`Engine::with_tables`]
    /// does (and a shipped plan carries them).
    pub async fn with_uploads(&self, tables: Vec<UploadedTable>) -> Result<Engine> {
        let root = match &self.shared.shared_data {
            Some(root) if !tables.is_empty() => root.clone(),
            _ => return self.with_tables(tables),
        };
        // Encoding Parquet is CPU work: on a lane's pool, not the caller's thread.
        let (staging, staged) = self
            .shared
            .quick
            .run(async move { crate::staged_uploads::stage(&root, tables) })
            .await??;
        let mut session = self.with_tables(Vec::new())?;
        session.staged = Some(Arc::new(staging));
        for (info, folder) in staged {
            session.publish_parquet(info, &folder).await?;
        }
        Ok(session)
    }

    /// Translates `adql` against the registered tables.
    pub fn translate(&self, adql: &str, policy: &dyn AccessPolicy) -> Result<Translation> {
        Ok(translate(adql, &self.catalog, policy)?)
    }

    /// Translates `adql` with only the rewrites `options` allow (the plain
    /// plan, to compare with or to explain).
    pub fn translate_with(
        &self,
        adql: &str,
        policy: &dyn AccessPolicy,
        options: TranslateOptions,
    ) -> Result<Translation> {
        Ok(translate_with(adql, &self.catalog, policy, options)?)
    }
}
