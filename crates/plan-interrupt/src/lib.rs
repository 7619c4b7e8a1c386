//! Making a query stop inside DataFusion's longest loop.
//!
//! Dropping a DataFusion stream stops a query at its next `await`, and most
//! operators reach one after every few batches (DataFusion's cooperative
//! budget). A nested-loop join does not: while its filter matches rarely
//! (a crossmatch on CONTAINS), one poll compares every buffered row with
//! batch after batch of the other side, minutes of work without yielding,
//! so a cancelled or timed-out query would burn a core to the end.
//!
//! So every nested-loop join filter of a query's plan is wrapped in an
//! [`Interruptible`] expression that, on each evaluation (one left row
//! against one batch: microseconds), checks the query's interrupt flag and
//! fails once it is raised. The flag is raised from outside the blocked
//! poll: by the query's watcher in the engine (`query-engine`'s
//! `execute.rs`), and on a cluster's worker by a watcher that asks the
//! scheduler whether the task's job still runs (`cluster`'s
//! `stage_watch.rs`).

use datafusion::arrow::datatypes::{FieldRef, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::joins::utils::JoinFilter;
use datafusion::physical_plan::joins::{NestedLoopJoinExec, NestedLoopJoinExecBuilder};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The message of the error an interrupted expression fails with. The
/// producer reports the real reason (cancelled, timed out, shutting down).
pub const INTERRUPTED: &str = "the query was interrupted";

/// `plan` with every nested-loop join filter checking `flag`, and counting
/// the pairs it compares into `compared` (the progress of a crossmatch).
pub fn interruptible(
    plan: Arc<dyn ExecutionPlan>,
    flag: &Arc<AtomicBool>,
    compared: &Arc<AtomicU64>,
) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let Some(join) = node.downcast_ref::<NestedLoopJoinExec>() else {
            return Ok(Transformed::no(node));
        };
        let Some(filter) = join.filter() else {
            return Ok(Transformed::no(node));
        };
        let checked = JoinFilter::new(
            Arc::new(Interruptible {
                inner: Arc::clone(filter.expression()),
                flag: Arc::clone(flag),
                compared: Arc::clone(compared),
            }),
            filter.column_indices().to_vec(),
            Arc::clone(filter.schema()),
        );
        let rebuilt = NestedLoopJoinExecBuilder::from(join)
            .with_filter(Some(checked))
            .build()?;
        Ok(Transformed::yes(Arc::new(rebuilt) as Arc<dyn ExecutionPlan>))
    })
    .data()
}

/// True when `plan` has a nested-loop join with a filter: the loop that
/// [`interruptible`] makes stoppable.
pub fn has_filtered_nested_loop(plan: &Arc<dyn ExecutionPlan>) -> bool {
    plan.exists(|node| {
        Ok(node
            .downcast_ref::<NestedLoopJoinExec>()
            .is_some_and(|join| join.filter().is_some()))
    })
    .unwrap_or(false)
}

/// An expression that fails once its query is interrupted, and otherwise
/// is the expression it wraps; it counts the rows (pairs) it evaluates.
#[derive(Debug)]
pub struct Interruptible {
    inner: Arc<dyn PhysicalExpr>,
    flag: Arc<AtomicBool>,
    compared: Arc<AtomicU64>,
}

impl fmt::Display for Interruptible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

// Equality and hashing are the wrapped expression's: the flag is not part of
// what the expression computes.
impl PartialEq for Interruptible {
    fn eq(&self, other: &Self) -> bool {
        self.inner.as_ref() == other.inner.as_ref()
    }
}

impl Eq for Interruptible {}

impl Hash for Interruptible {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.inner.hash(state);
    }
}

impl PhysicalExpr for Interruptible {
    fn return_field(&self, input_schema: &Schema) -> Result<FieldRef> {
        self.inner.return_field(input_schema)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        if self.flag.load(Ordering::Relaxed) {
            return exec_err!("{INTERRUPTED}");
        }
        self.compared
            .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        self.inner.evaluate(batch)
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        vec![&self.inner]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        match <[_; 1]>::try_from(children) {
            Ok([inner]) => Ok(Arc::new(Interruptible {
                inner,
                flag: Arc::clone(&self.flag),
                compared: Arc::clone(&self.compared),
            })),
            Err(_) => exec_err!("an interruptible expression has exactly one child"),
        }
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt_sql(f)
    }
}
