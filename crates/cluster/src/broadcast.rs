//! A physical optimizer rule: a hash join whose build side is small by its
//! input's row count is a broadcast (`CollectLeft`) join, even where an
//! operator between that input and the join hides the count.
//!
//! The crossmatch (`adql-planner`'s `sky_index.rs`) expands its smaller side
//! with `unnest(adql_cone_cells(...))`, and an unnest's statistics are
//! unknown. DataFusion's `JoinSelection` then picks a partitioned join, which
//! hash-repartitions the other side: for an uploaded list of 10^4 rows
//! against a catalog of 10^7, every catalog row is hashed and copied once
//! more only to meet a build side of about 10^5 cells. Broadcast, the catalog
//! streams straight into the probe.
//!
//! Only join types that never emit unmatched build rows are changed: with a
//! broadcast build each task of a Ballista stage holds its own copy, and
//! each would emit them.

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::logical_expr::JoinType;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::joins::{HashJoinExec, PartitionMode};
use datafusion::physical_plan::{ExecutionPlan, StatisticsArgs, StatisticsContext};
use std::sync::Arc;

/// See the module's documentation.
#[derive(Debug, Default)]
pub(crate) struct BroadcastSmallBuild;

/// Name of the rule, after which it runs ("join_selection" picks the modes
/// it revises; the distribution rules that follow add the repartitions the
/// modes need).
pub(crate) const AFTER: &str = "join_selection";

impl PhysicalOptimizerRule for BroadcastSmallBuild {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let limit = config.optimizer.hash_join_single_partition_threshold_rows as u64;
        plan.transform_up(|node| {
            let Some(join) = node.downcast_ref::<HashJoinExec>() else {
                return Ok(Transformed::no(node));
            };
            let build_rows = input_rows(join.left().as_ref());
            if *join.partition_mode() != PartitionMode::Partitioned
                || !never_emits_unmatched_build_rows(*join.join_type())
                || build_rows.is_none_or(|rows| rows > limit)
            {
                return Ok(Transformed::no(node));
            }
            let broadcast = join
                .builder()
                .with_partition_mode(PartitionMode::CollectLeft)
                .build()?;
            Ok(Transformed::yes(
                Arc::new(broadcast) as Arc<dyn ExecutionPlan>
            ))
        })
        .data()
    }

    fn name(&self) -> &str {
        "broadcast_small_build"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Join types whose output holds build rows only where they matched.
fn never_emits_unmatched_build_rows(join_type: JoinType) -> bool {
    matches!(
        join_type,
        JoinType::Inner | JoinType::Right | JoinType::RightSemi | JoinType::RightAnti
    )
}

/// The rows of the one input beneath a chain of single-input operators
/// (projections, unnests, filters, repartitions), as its statistics say;
/// `None` for anything that joins or does not know.
fn input_rows(plan: &dyn ExecutionPlan) -> Option<u64> {
    match plan.children().as_slice() {
        [] => match StatisticsContext::new()
            .compute(plan, &StatisticsArgs::new())
            .ok()?
            .num_rows
        {
            Precision::Exact(n) | Precision::Inexact(n) => Some(n as u64),
            Precision::Absent => None,
        },
        [only] => input_rows(only.as_ref()),
        _ => None,
    }
}

/// DataFusion's physical optimizer rules with [`BroadcastSmallBuild`] after
/// the join selection.
pub fn physical_optimizer_rules() -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    let mut rules = datafusion::physical_optimizer::optimizer::PhysicalOptimizer::new().rules;
    let at = rules
        .iter()
        .position(|r| r.name() == AFTER)
        .map_or(rules.len(), |i| i + 1);
    rules.insert(at, Arc::new(BroadcastSmallBuild));
    rules
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::datasource::MemTable;
    use datafusion::execution::SessionStateBuilder;
    use datafusion::physical_plan::displayable;
    use datafusion::prelude::{SessionConfig, SessionContext};

    fn table(column: &str, rows: i64) -> Arc<MemTable> {
        let schema = Arc::new(Schema::new(vec![Field::new(
            column,
            DataType::Int64,
            false,
        )]));
        let values = Int64Array::from_iter_values(0..rows);
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(values)]).unwrap();
        Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap())
    }

    /// The plan of `sql` over `small` (100 rows), `mid` (10^5) and `big`
    /// (3 x 10^5), with or without the rule.
    async fn plan(sql: &str, with_rule: bool) -> String {
        let rules = match with_rule {
            true => physical_optimizer_rules(),
            false => datafusion::physical_optimizer::optimizer::PhysicalOptimizer::new().rules,
        };
        let state = SessionStateBuilder::new()
            .with_default_features()
            .with_config(SessionConfig::new().with_target_partitions(2))
            .with_physical_optimizer_rules(rules)
            .build();
        let ctx = SessionContext::new_with_state(state);
        ctx.register_table("small", table("a", 100)).unwrap();
        ctx.register_table("mid", table("m", 100_000)).unwrap();
        ctx.register_table("big", table("k", 300_000)).unwrap();
        let df = ctx.sql(sql).await.unwrap();
        let plan = df.create_physical_plan().await.unwrap();
        displayable(plan.as_ref()).indent(false).to_string()
    }

    const EXPANDED: &str = "(SELECT a, unnest(make_array(a, a + 1, a + 2)) AS c FROM small) AS s";

    #[tokio::test]
    async fn a_small_expanded_side_is_broadcast() {
        let sql = format!("SELECT * FROM {EXPANDED} JOIN big ON s.c = big.k");
        // DataFusion alone cannot see through the unnest.
        assert!(plan(&sql, false).await.contains("mode=Partitioned"));
        let broadcast = plan(&sql, true).await;
        assert!(broadcast.contains("mode=CollectLeft"), "{broadcast}");
        assert!(!broadcast.contains("Hash([k"), "{broadcast}");
    }

    #[tokio::test]
    async fn outer_joins_and_large_sides_stay_partitioned() {
        // The expanded side preserved: its unmatched rows would come from
        // every task.
        let left = format!("SELECT * FROM {EXPANDED} LEFT JOIN big ON s.c = big.k");
        let planned = plan(&left, true).await;
        assert!(!planned.contains("mode=CollectLeft"), "{planned}");
        // A build side over 3 x 10^5 input rows is more than DataFusion's
        // 131,072 for a broadcast.
        let large = "SELECT * FROM (SELECT k, unnest(make_array(k, k + 1)) AS c FROM big) AS s \
                     JOIN (SELECT m, unnest(make_array(m)) AS d FROM mid) AS t ON s.c = t.d";
        let planned = plan(large, true).await;
        assert!(planned.contains("mode=Partitioned"), "{planned}");
    }
}
