//! Running translated ADQL on Apache DataFusion, apart from the threads
//! that serve requests, within limits, and writing results through one
//! pipeline.
//!
//! - [`Engine`] (`session.rs`): the DataFusion session with the sky
//!   functions and the catalog's tables (TAP_SCHEMA included,
//!   `tap_schema.rs`); the only door to DataFusion.
//! - Lanes (`lanes.rs`): two CPU pools, quick and long, each with admission
//!   control (slots, a bounded waiting line, refusal past it); the cost
//!   estimate that picks the lane is in `estimate.rs`.
//! - [`Engine::execute`] (`execute.rs`): plan, admit, run; a
//!   [`ResultStream`] with MAXREC, the execution time limit and
//!   cancellation built in. The settings a plan that runs in this process
//!   is made with are chosen per query (`local_plan.rs`).
//! - [`write_result`] (`pipeline.rs`): a [`ResultStream`] through any
//!   `table_writers::ResultWriter` into any [`ResultSink`].
//! - [`Engine::coverage`] (`coverage.rs`): a positioned table's sky
//!   coverage from its hidden HEALPix column, kept once computed; a
//!   [`Coverage`] is written as a MOC in FITS, JSON or ASCII
//!   (`moc_format.rs`, with CDS's `moc` crate).
//! - Uploads on a cluster (`staged_uploads.rs`): written as Parquet in a
//!   staging folder of the shared data directory for the workers, removed
//!   with the session's last query ([`Engine::with_uploads`]).
//! - [`Error`] (`error.rs`): keeps DataFusion's error whole and says whose
//!   [`Fault`] it is.
//!
//! **Invariant:** DataFusion's work (planning, execution) and the writing of
//! results run on the lanes' pools, never on the caller's threads.
//! **Invariant:** a query stops, and frees its memory, as soon as its token
//! is cancelled, its deadline passes, the engine shuts down or its stream
//! is dropped, at the next point where DataFusion yields.
//! **Boundary:** knows DataFusion, the planner and the writers; knows
//! nothing of HTTP, and of the data directory only the snapshot
//! `catalog-store` hands it (whose leases it keeps while it lives).

mod coverage;
mod error;
mod estimate;
mod execute;
mod lanes;
mod local_plan;
mod moc_format;
mod pipeline;
mod session;
mod staged_uploads;
mod stored;
pub mod tap_schema;
#[cfg(test)]
mod test_tables;

pub use cluster::{ClusterStatus, Worker as ClusterWorker};
pub use coverage::MAX_COVERAGE_RANGES;
pub use error::{CancelReason, Error, Fault, Result};
pub use estimate::{Estimate, ScanProgress};
pub use execute::{Completion, QueryOptions, ResultStream};
pub use lanes::{Lane, LaneConfig};
pub use moc_format::{Coverage, DEFAULT_ORDER, MAX_ORDER, MocFormat};
pub use pipeline::{Ending, FileSink, ResultSink, WriteSink, Written, write_result};
pub use session::{Engine, EngineConfig, Load};
pub use staged_uploads::UploadedTable;
pub use stored::{StoredResult, Window};
pub use tokio_util::sync::CancellationToken;
