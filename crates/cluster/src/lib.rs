//! Execution on an Apache Ballista cluster: the same plans DataFusion runs
//! in one process, shipped to a scheduler that spreads them over workers.
//!
//! - [`run_scheduler`] (`scheduler.rs`) and [`run_worker`] (`worker.rs`):
//!   Ballista's scheduler and executor embedded, each with Corvus's sky
//!   functions registered and Corvus's plan codec, so that any plan the
//!   front end ships decodes on every node. `corvus scheduler` and
//!   `corvus worker` are these two functions.
//! - [`connect`] (`planner.rs`): turns a front end's DataFusion session
//!   into one whose plans run on the cluster, except plans that read only
//!   what lives in the front end's memory (TAP_SCHEMA, uploads alone, a
//!   stored result), which run where they were planned.
//! - [`cancel`], [`rows_read`] and [`status`] (`client.rs`): stop a plan's
//!   cluster jobs; ask what they have read (a job's progress); ask the
//!   scheduler which workers it has.
//! - The worker's execution engine (`stage_watch.rs`): a stage with a
//!   filtered nested-loop join runs interruptible (`plan-interrupt`) and
//!   stops within a second of its job's end, which Ballista's own abort
//!   cannot reach inside that loop.
//! - [`start_local`] (`local.rs`): a scheduler and workers in this
//!   process on loopback ports, for tests and benchmarks.
//! - [`physical_optimizer_rules`] (`broadcast.rs`): DataFusion's, with a
//!   small build side broadcast where an unnest hides its size; the front
//!   end and the scheduler plan with them.
//! - [`CorvusLogicalCodec`] (`codec.rs`): Ballista's codec plus in-memory
//!   tables, shipped inline as Arrow IPC.
//!
//! **Boundary:** knows Ballista and DataFusion; nothing of ADQL, TAP or the
//! data directory. Tables reach workers by the paths in the plan, so the
//! front end and every worker must see the data directory at one path.

mod broadcast;
mod client;
mod codec;
mod error;
mod local;
mod planner;
mod scheduler;
mod stage_watch;
mod worker;

pub use broadcast::physical_optimizer_rules;
pub use client::{
    ClusterStatus, Worker, cancel, is_link_failure, job_ids, rows_read, ships, status,
};
pub use codec::CorvusLogicalCodec;
pub use error::{Error, Result};
pub use local::{LocalCluster, free_port, start_local};
pub use planner::{connect, host_and_port, runs_on_cluster};
pub use scheduler::{SchedulerOptions, run_scheduler};
pub use worker::{WorkerOptions, run_worker};

use datafusion::logical_expr::ScalarUDF;
use std::sync::Arc;

/// The functions every node registers beside DataFusion's: Corvus's sky
/// functions. A plan names a function, and a node that lacks it cannot
/// decode the plan.
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    sky_functions::all_functions()
        .into_iter()
        .map(Arc::new)
        .collect()
}
