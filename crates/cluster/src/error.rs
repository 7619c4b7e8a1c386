//! The cluster crate's one error type.

/// What can go wrong starting a node or talking to the scheduler.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Ballista refused a setting or failed to start or serve.
    #[error("{0}")]
    Ballista(#[from] ballista_core::error::BallistaError),
    /// DataFusion failed (building a session, encoding a plan).
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// The scheduler could not be reached or answered nonsense.
    #[error("the cluster's scheduler at {url} {reason}")]
    Scheduler {
        /// The scheduler's address as configured.
        url: String,
        /// What went wrong, to follow "the scheduler at URL".
        reason: String,
    },
    /// Workers left the cluster while a query ran on it. Ballista 55 reruns
    /// their tasks, and its static planner can then count a part of the
    /// answer twice, so such an answer is not given.
    #[error("{0} worker(s) of the cluster stopped while the query ran")]
    WorkersLost(usize),
    /// A setting is out of its range.
    #[error("{0}")]
    Config(String),
}

/// The cluster crate's result.
pub type Result<T> = std::result::Result<T, Error>;
