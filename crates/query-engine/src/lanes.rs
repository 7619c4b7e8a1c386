//! Where queries execute: two lanes, each a CPU pool of its own (a tokio
//! runtime apart from the one that serves HTTP, the pattern of DataFusion's
//! `thread_pools` example) with admission control in front.
//!
//! The *long* lane takes every query whose estimated cost is high; it
//! has as many threads as the machine has cores, lets at most
//! `max_running` queries execute at once and `max_waiting` wait, and
//! refuses the rest ([`Error::Busy`]). The *quick* lane takes queries that
//! read few rows (a `TOP 1`, a lookup, anything on a small table) on threads
//! of its own, so a quick query is never stuck behind long ones: the
//! operating system shares the cores between the two pools, and the quick
//! query needs only a sliver of them. The HTTP threads never run DataFusion.

use crate::error::{CancelReason, Error, Result};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// The two lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Queries estimated to read few rows.
    Quick,
    /// Everything else.
    Long,
}

impl Lane {
    /// The name in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Lane::Quick => "quick",
            Lane::Long => "long",
        }
    }
}

/// How many threads and queries each lane takes.
#[derive(Debug, Clone)]
pub struct LaneConfig {
    /// Threads of the pool.
    pub threads: usize,
    /// Queries executing at once.
    pub max_running: usize,
    /// Queries waiting for a slot; past that, new queries are refused.
    pub max_waiting: usize,
}

/// A tokio runtime used as a pool of threads. Dropping it does not wait for
/// the work on it (that would block, and panics inside another runtime).
pub(crate) struct Pool {
    runtime: Option<Runtime>,
}

impl Pool {
    pub(crate) fn new(name: &str, threads: usize) -> std::io::Result<Pool> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name(name)
            .enable_all()
            .build()?;
        Ok(Pool {
            runtime: Some(runtime),
        })
    }

    pub(crate) fn handle(&self) -> Option<&Handle> {
        self.runtime.as_ref().map(Runtime::handle)
    }

    /// The runtime's handle, or an error once it is shut down.
    pub(crate) fn running(&self) -> Result<&Handle> {
        self.handle()
            .ok_or_else(|| Error::Internal("the pool is shut down".into()))
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// One lane: its pool and its admission control.
pub(crate) struct LaneState {
    pool: Pool,
    slots: Arc<Semaphore>,
    config: LaneConfig,
    running: Arc<AtomicUsize>,
    waiting: AtomicUsize,
}

/// A slot in a lane, held while a query executes; released when dropped.
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    running: Arc<AtomicUsize>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.running.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Decrements the waiting count however the wait ends (admitted,
/// cancelled, or the waiting future dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl LaneState {
    pub(crate) fn new(lane: Lane, config: LaneConfig) -> std::io::Result<LaneState> {
        Ok(LaneState {
            pool: Pool::new(&format!("corvus-{}", lane.name()), config.threads)?,
            slots: Arc::new(Semaphore::new(config.max_running.max(1))),
            config,
            running: Arc::new(AtomicUsize::new(0)),
            waiting: AtomicUsize::new(0),
        })
    }

    /// Queries executing now.
    pub(crate) fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// Queries waiting for a slot now.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Waits for a slot: at once if one is free, in line if the line has
    /// room, else refused. `cancel` or `shutdown` end the wait.
    pub(crate) async fn admit(
        &self,
        cancel: &CancellationToken,
        shutdown: &CancellationToken,
    ) -> Result<Slot> {
        let permit = match Arc::clone(&self.slots).try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                // Counted before the check so two racing requests cannot
                // both take the last place in line.
                let in_line = self.waiting.fetch_add(1, Ordering::Relaxed);
                let waiting = Waiting(&self.waiting);
                if in_line >= self.config.max_waiting {
                    drop(waiting);
                    return Err(Error::Busy {
                        running: self.running(),
                        waiting: in_line,
                        retry_after_seconds: 10,
                    });
                }
                // Biased: a shutdown frees the running queries' slots, and a
                // waiter woken by both must see the shutdown, not the slot
                // (the limits test once got the slot, under a full run's load).
                let permit = tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => return Err(Error::Cancelled(CancelReason::Shutdown)),
                    _ = cancel.cancelled() => return Err(Error::Cancelled(CancelReason::Caller)),
                    p = Arc::clone(&self.slots).acquire_owned() => p,
                };
                drop(waiting);
                permit.map_err(|_| Error::Internal("the lane is closed".into()))?
            }
        };
        self.running.fetch_add(1, Ordering::Relaxed);
        Ok(Slot {
            _permit: permit,
            running: Arc::clone(&self.running),
        })
    }

    /// Runs `work` on this lane's pool and waits for it. If the waiting
    /// future is dropped, the work is aborted at its next await.
    pub(crate) async fn run<F, T>(&self, work: F) -> Result<T>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let handle = self.pool.running()?;
        let task = AbortOnDrop(handle.spawn(work));
        task.await
    }

    /// Starts `work` on this lane's pool.
    pub(crate) fn spawn<F>(&self, work: F) -> Result<tokio::task::JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = self.pool.running()?;
        Ok(handle.spawn(work))
    }

    /// Runs `work` on a thread of this lane's blocking pool.
    pub(crate) fn spawn_blocking<F, T>(&self, work: F) -> Result<tokio::task::JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let handle = self.pool.running()?;
        Ok(handle.spawn_blocking(work))
    }
}

/// A task handle that aborts its task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.map_err(|e| Error::Internal(format!("a query task failed: {e}"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane(max_running: usize, max_waiting: usize) -> LaneState {
        LaneState::new(
            Lane::Long,
            LaneConfig {
                threads: 1,
                max_running,
                max_waiting,
            },
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_full_lane_queues_then_refuses() {
        let lane = lane(1, 1);
        let (cancel, shutdown) = (CancellationToken::new(), CancellationToken::new());
        let first = lane.admit(&cancel, &shutdown).await.unwrap();
        assert_eq!((lane.running(), lane.waiting()), (1, 0));
        // The second waits in line...
        let second = async { lane.admit(&cancel, &shutdown).await };
        tokio::pin!(second);
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), &mut second)
                .await
                .is_err()
        );
        assert_eq!(lane.waiting(), 1);
        // ...the third finds the line full.
        match lane.admit(&cancel, &shutdown).await {
            Err(Error::Busy {
                running, waiting, ..
            }) => assert_eq!((running, waiting), (1, 1)),
            other => panic!("expected Busy, got {:?}", other.map(|_| ())),
        }
        // A freed slot goes to the one in line.
        drop(first);
        let second = second.await.unwrap();
        assert_eq!((lane.running(), lane.waiting()), (1, 0));
        drop(second);
        assert_eq!(lane.running(), 0);
    }

    #[tokio::test]
    async fn waiting_ends_when_cancelled() {
        let lane = lane(1, 4);
        let (cancel, shutdown) = (CancellationToken::new(), CancellationToken::new());
        let _held = lane.admit(&cancel, &shutdown).await.unwrap();
        let other = CancellationToken::new();
        other.cancel();
        assert!(matches!(
            lane.admit(&other, &shutdown).await,
            Err(Error::Cancelled(CancelReason::Caller))
        ));
        assert_eq!(lane.waiting(), 0);
    }
}
