//! What a query will cost, estimated from its physical plan and the
//! tables' statistics before it runs: the rows it will read, with the
//! pairs a nested-loop or cross join compares counted as rows. It picks the
//! lane, and (for asynchronous jobs) makes the quote.

use datafusion::common::stats::Precision;
use datafusion::physical_plan::{ExecutionPlan, StatisticsArgs, StatisticsContext};

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
