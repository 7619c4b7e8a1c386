//! The DataFusion session an ingest reads, sorts and writes with: the
//! input registered as `ingest.raw` (and, for an append, the existing table
//! as `ingest.existing`) in the session's default schema `ingest`, the sky
//! functions for the HEALPix index, and a memory pool that makes the sort
//! spill rather than grow.
//!
//! Ingest is a loader, not a query service: its writes are storage
//! (sorted, with row groups, statistics and a page index) through
//! DataFusion's own Parquet sink; query results go through `query-engine`.
//! ADQL (the descriptor's derived columns) is translated by the planner
//! against the input's columns, like any query.

use crate::error::Result;
use adql_planner::{Translation, translate};
use catalog_model::{AllowAll, StaticCatalog, TableInfo};
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use std::sync::Arc;

/// The schema of the tables an ingest registers.
pub(crate) const SCHEMA: &str = "ingest";

/// An ingest's session and the tables registered on it.
pub(crate) struct Session {
    pub(crate) ctx: SessionContext,
    pub(crate) catalog: StaticCatalog,
}

impl Session {
    /// A session whose sorts, joins and aggregates share at most `memory`
    /// bytes and spill to temporary files beyond; `None`: no limit.
    ///
    /// The pool is fair: each partition's sorter may hold only its share
    /// before it spills. With a greedy pool, one partition's sorter took
    /// nearly all of it now and then, and the other's merge of its spilled
    /// runs then failed ("Resources exhausted ... ExternalSorterMerge"),
    /// about one ingest of 10^7 rows in four.
    pub(crate) fn new(memory: Option<usize>) -> Result<Session> {
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(bytes) = memory {
            runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(bytes)));
        }
        let config = SessionConfig::new()
            .with_default_catalog_and_schema("datafusion", SCHEMA)
            .with_information_schema(false)
            .set_bool(
                "datafusion.execution.parquet.schema_force_view_types",
                false,
            );
        let ctx = SessionContext::new_with_config_rt(config, runtime.build_arc()?);
        sky_functions::register_all(&ctx);
        Ok(Session {
            ctx,
            catalog: StaticCatalog::new(Vec::new()),
        })
    }

    /// Registers `provider` as `info`'s table, which is in [`SCHEMA`] (the
    /// session's default schema, made with it: unlike the query engine,
    /// which publishes tables of any schema, an ingest needs no other).
    pub(crate) fn register(
        &mut self,
        info: TableInfo,
        provider: Arc<dyn TableProvider>,
    ) -> Result<()> {
        let name = TableReference::partial(info.schema.as_str(), info.name.as_str());
        self.ctx.register_table(name, provider)?;
        self.catalog.add(info);
        Ok(())
    }

    /// Translates ADQL over the registered tables.
    pub(crate) fn translate(
        &self,
        adql: &str,
    ) -> std::result::Result<Translation, adql_planner::Error> {
        translate(adql, &self.catalog, &AllowAll)
    }
}
