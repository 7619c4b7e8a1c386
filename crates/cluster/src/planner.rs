//! The front end's side: a DataFusion session whose plans run on the
//! cluster. DataFusion parses, checks and optimises the SQL here, as it
//! would for local execution; at the physical planning step Ballista's
//! planner ships the logical plan to the scheduler instead.

use crate::codec::CorvusLogicalCodec;
use crate::error::{Error, Result};
use ballista_core::extension::{SessionConfigExt, SessionStateExt};
use ballista_core::planner::BallistaQueryPlanner;
use datafusion::catalog::MemTable;
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::listing::ListingTable;
use datafusion::datasource::source_as_provider;
use datafusion::execution::context::QueryPlanner;
use datafusion::execution::{FunctionRegistry, SessionState, SessionStateBuilder};
use datafusion::logical_expr::{LogicalPlan, TableScan};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::protobuf::LogicalPlanNode;
use std::sync::Arc;

/// The largest plan (with inline tables) or result message the cluster's
/// gRPC links carry. Ballista's default, 16 MiB, is smaller than an upload
/// may be; the TAP upload limit stays the real bound.
pub(crate) const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// `state` with its plans executed by the cluster whose scheduler is at
/// `scheduler_url` (`http://host:port`, `df://host:port` or `host:port`).
/// Everything else of the session (tables, functions, settings) is kept.
pub fn connect(state: SessionState, scheduler_url: &str) -> Result<SessionState> {
    let url = scheduler_address(scheduler_url)?;
    let codec: Arc<dyn LogicalExtensionCodec> = Arc::new(CorvusLogicalCodec::default());
    let mut config = state
        .config()
        .clone()
        .upgrade_for_ballista()
        .with_ballista_logical_extension_codec(Arc::clone(&codec));
    let options = config.options_mut();
    options.set(
        ballista_core::config::BALLISTA_CLIENT_GRPC_MAX_MESSAGE_SIZE,
        &MAX_MESSAGE_BYTES.to_string(),
    )?;
    // Ballista 55's adaptive planner loses track of a job when a worker
    // dies in the middle of it ("Can't find active stage to update stage
    // outputs") and the query never ends; the static planner reruns the
    // lost tasks on the other workers.
    options.set(
        ballista_core::config::BALLISTA_ADAPTIVE_PLANNER_ENABLED,
        "false",
    )?;
    let remote = BallistaQueryPlanner::<LogicalPlanNode>::with_extension(
        url.clone(),
        config.ballista_config(),
        codec,
    );
    let config = config.with_ballista_query_planner(Arc::new(SplitPlanner { remote }));
    let mut state = SessionStateBuilder::new_from_existing(state)
        .with_config(config)
        .build()
        .upgrade_for_ballista(url)?;
    // Ballista's upgrade resets the scalar functions to DataFusion's own.
    for f in crate::functions() {
        state.register_udf(f)?;
    }
    Ok(state)
}

/// `http://host:port` from the forms an operator may write.
pub(crate) fn scheduler_address(given: &str) -> Result<String> {
    let (host, port) = host_and_port(given)?;
    Ok(format!("http://{host}:{port}"))
}

/// The host and port of a scheduler's address, written `host:port`,
/// `http://host:port` or `df://host:port`.
pub fn host_and_port(given: &str) -> Result<(String, u16)> {
    let rest = given
        .strip_prefix("http://")
        .or_else(|| given.strip_prefix("df://"))
        .unwrap_or(given)
        .trim_end_matches('/');
    rest.rsplit_once(':')
        .filter(|(host, _)| !host.is_empty() && !rest.contains('/'))
        .and_then(|(host, port)| Some((host.to_string(), port.parse::<u16>().ok()?)))
        .filter(|(_, port)| *port > 0)
        .ok_or_else(|| {
            Error::Config(format!(
                "the cluster address {given:?} is not of the form host:port (for example scheduler.example.org:50050)"
            ))
        })
}

/// Ballista's planner for plans that read catalog tables; DataFusion's own
/// for plans that read only what the front end holds in memory.
#[derive(Debug)]
struct SplitPlanner {
    remote: BallistaQueryPlanner<LogicalPlanNode>,
}

#[async_trait::async_trait]
impl QueryPlanner for SplitPlanner {
    async fn create_physical_plan(
        &self,
        plan: &LogicalPlan,
        state: &dyn Session,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        if runs_on_cluster(plan)? {
            self.remote.create_physical_plan(plan, state).await
        } else {
            DefaultPhysicalPlanner::default()
                .create_physical_plan(plan, state)
                .await
        }
    }
}

/// True when `plan` reads a table from files (a Parquet listing) and
/// everything else it reads can travel with it (in-memory tables). A plan
/// of in-memory tables only (TAP_SCHEMA, an upload) is cheaper here than a
/// round trip; a plan that reads something else (a view of a stored
/// result on the front end's disk) cannot be shipped at all.
pub fn runs_on_cluster(plan: &LogicalPlan) -> datafusion::common::Result<bool> {
    let (mut files, mut local_only) = (false, false);
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(TableScan { source, .. }) = node {
            let provider = source_as_provider(source)?;
            if provider.downcast_ref::<ListingTable>().is_some() {
                files = true;
            } else if provider.downcast_ref::<MemTable>().is_none() {
                local_only = true;
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    Ok(files && !local_only)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_addresses() {
        assert_eq!(
            scheduler_address("localhost:50050").ok().as_deref(),
            Some("http://localhost:50050")
        );
        assert_eq!(
            scheduler_address("df://10.0.0.5:7000/").ok().as_deref(),
            Some("http://10.0.0.5:7000")
        );
        assert_eq!(
            scheduler_address("http://[::1]:9").ok().as_deref(),
            Some("http://[::1]:9")
        );
        for bad in [
            "localhost",
            "http://h:0",
            ":50050",
            "h:port",
            "http://h:1/x",
        ] {
            let err = scheduler_address(bad).err().map(|e| e.to_string());
            assert!(err.is_some_and(|e| e.contains("host:port")), "{bad}");
        }
    }
}
