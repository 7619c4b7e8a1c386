//! The session settings for a plan that runs in this process, chosen per
//! query from its optimized logical plan.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::execution::SessionState;
use datafusion::logical_expr::LogicalPlan;

/// `state` for planning `logical` to run in this process.
///
/// A cluster's session has the settings Ballista needs to split a plan into
/// stages: no dynamic filters (it cannot carry them between stages),
/// sort-merge rather than hash joins, no round-robin repartitions, its own
/// broadcast thresholds. A plan that stays here is planned as in a session
/// without a cluster: a key lookup (`adql-planner`'s `key_index.rs`) needs
/// its hash join's dynamic filter to read one page of the table instead of
/// all its row groups' Bloom filters, and the estimate sees the lookup by
/// that filter.
///
/// Where [`filters_pay_per_row`], the scans evaluate their filters row by
/// row while they decode (Parquet's row filters: late materialisation).
pub(crate) fn for_this_process(
    mut state: SessionState,
    on_cluster: bool,
    logical: &LogicalPlan,
) -> datafusion::error::Result<SessionState> {
    let options = state.config_mut().options_mut();
    options.execution.parquet.pushdown_filters = filters_pay_per_row(logical);
    if on_cluster {
        // By its name: `set` turns on the join, TopK and aggregate filters too.
        options.set(
            "datafusion.optimizer.enable_dynamic_filter_pushdown",
            "true",
        )?;
        options.optimizer.prefer_hash_join = true;
        options.optimizer.enable_round_robin_repartition = true;
        let defaults = datafusion::config::OptimizerOptions::default();
        options.optimizer.hash_join_single_partition_threshold =
            defaults.hash_join_single_partition_threshold;
        options.optimizer.hash_join_single_partition_threshold_rows =
            defaults.hash_join_single_partition_threshold_rows;
    }
    Ok(state)
}

/// Whether the scans of `plan` should evaluate their filters on each row as
/// they decode it, and decode the other columns only for the rows that
/// pass, rather than decode whole pages and filter after.
///
/// It pays where a filter keeps few rows of the pages that are read:
/// `TOP n ... ORDER BY`, whose growing top-k bound is a filter, took 12.9
/// ms instead of 14.5 on 10^7 rows (the same binary either way, queries
/// interleaved); a cone or a key lookup, which read a page or two, took
/// the same time either way. It costs where a hash join's dynamic
/// filter (a lookup in the join's hash table) would be evaluated on every
/// row of a large probe side that mostly passes it: it doubled an upload
/// crossmatch against 10^7 rows (214 -> 419 ms). So: not for plans with a
/// join, save the key index's join, whose build side is one key's rows.
pub(crate) fn filters_pay_per_row(plan: &LogicalPlan) -> bool {
    let mut pays = true;
    // Subqueries that the optimizer could not turn into joins are
    // searched too.
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::Join(join) = node
            && !(reads_a_key_index_only(&join.left) || reads_a_key_index_only(&join.right))
        {
            pays = false;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    pays
}

/// Whether the only tables `plan` reads are key indexes
/// (`catalog_model::key_index_table`): a join with it is a key lookup.
fn reads_a_key_index_only(plan: &LogicalPlan) -> bool {
    let (mut indexes, mut others) = (0, 0);
    let _ = plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            if catalog_model::is_key_index_table(scan.table_name.table()) {
                indexes += 1;
            } else {
                others += 1;
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    indexes > 0 && others == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::session::{Engine, EngineConfig};
    use crate::test_tables::engine_with_keyed_table;
    use catalog_model::AllowAll;
    use datafusion::physical_plan::ExecutionPlan;
    use datafusion::physical_plan::filter::FilterExec;

    /// Whether some rows of `plan` are filtered after their scan decoded
    /// them, rather than in it.
    fn filters_after_decoding(plan: &dyn ExecutionPlan) -> bool {
        plan.downcast_ref::<FilterExec>().is_some()
            || plan
                .children()
                .into_iter()
                .any(|child| filters_after_decoding(child.as_ref()))
    }

    async fn filtered_after_decoding(engine: &Engine, adql: &str) -> bool {
        let translation = engine.translate(adql, &AllowAll).unwrap();
        let planned = engine.plan(&translation, None).await.unwrap();
        filters_after_decoding(planned.plan.as_ref())
    }

    #[tokio::test]
    async fn scans_filter_rows_as_they_decode_them_unless_a_join_reads_them() {
        let (_tmp, engine) = engine_with_keyed_table(1_000, EngineConfig::default()).await;
        let in_scan = [
            "SELECT * FROM t.stars WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 1))",
            "SELECT * FROM t.stars WHERE id > 2",
            // The key index's join is one key's rows.
            "SELECT * FROM t.keyed WHERE id = 77",
        ];
        for adql in in_scan {
            assert!(!filtered_after_decoding(&engine, adql).await, "{adql}");
        }
        let after = [
            "SELECT * FROM t.stars AS a JOIN t.keyed AS b ON a.id = b.id WHERE a.ra > 5",
            "SELECT * FROM t.stars WHERE ra > 5 AND id IN (SELECT id FROM t.plain)",
            "SELECT * FROM t.stars AS a JOIN t.keyed AS b ON a.id = b.ra WHERE b.id = 77",
        ];
        for adql in after {
            assert!(filtered_after_decoding(&engine, adql).await, "{adql}");
        }
    }
}
