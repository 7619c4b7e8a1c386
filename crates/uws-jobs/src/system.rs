//! The job system: the state machine over the store, the queues and their
//! workers, the time limits, WAIT, and the reaper.
//!
//! The store is the truth; memory holds only what the store cannot: which
//! jobs wait in which queue (in the order they were queued), which run,
//! their cancellation tokens and progress, and the WAIT subscriptions.
//! Every change is written to the store before it is announced.
//!
//! A dispatcher task starts jobs when a worker is free: in each queue, the
//! waiting job whose owner has the fewest jobs executing goes first, the
//! earliest queued among equals (fair share), and an owner at
//! `max_running_per_owner` waits. A job executes as a task of its own; the
//! system, not the runner, enforces its execution duration: it cancels
//! the job's token when the time is up, and gives the runner five seconds
//! to return before it drops the job's future outright.

use crate::config::{JobsConfig, OnRestart, QueueConfig};
use crate::model::{
    Job, JobFailure, JobId, JobResult, JobSummary, ListFilter, Parameter, Phase, Progress, Viewer,
};
use crate::store::{Change, Store};
use crate::time::Millis;
use crate::{Error, Result};
use futures::future::BoxFuture;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

/// How long a runner has to return after its token was cancelled.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How often the reaper and the command line's requests are looked at.
const HOUSEKEEPING: Duration = Duration::from_secs(1);

/// What executes a job: given the job, its folder, a token and a progress
/// handle, it writes its results into the folder and says what they are.
/// It must stop soon after the token is cancelled (abort, time limit,
/// shutdown); what it returns then is ignored.
pub trait Runner: Send + Sync + 'static {
    /// Runs the job.
    fn run(&self, job: RunContext) -> BoxFuture<'static, Result<Vec<JobResult>, JobFailure>>;
}

/// What a runner gets.
pub struct RunContext {
    /// The job, as stored when it started.
    pub job: Job,
    /// The job's folder (it exists): results go here, under their ids.
    pub folder: PathBuf,
    /// Cancelled when the job must stop.
    pub cancel: CancellationToken,
    /// Where to report how far it has come.
    pub progress: Arc<Progress>,
}

/// A job to create.
#[derive(Debug, Clone, Default)]
pub struct NewJob {
    /// Its owner (`None`: anonymous).
    pub owner: Option<String>,
    /// The owner's label.
    pub run_id: Option<String>,
    /// Its parameters.
    pub parameters: Vec<Parameter>,
    /// Its queue; `None`: chosen from the estimate.
    pub queue: Option<String>,
    /// Its execution duration in seconds, if the owner asked for one.
    pub execution_seconds: Option<u64>,
    /// Its destruction time, if the owner asked for one.
    pub destruction: Option<Millis>,
    /// Seconds it is expected to execute, if known.
    pub estimated_seconds: Option<f64>,
    /// Rows it is expected to read, if known.
    pub estimated_rows: Option<u64>,
    /// Queue it at once (PHASE=RUN at creation).
    pub run: bool,
}

/// Why a running job is being stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Abort,
    TimeLimit,
    Shutdown,
}

struct Running {
    owner: Option<String>,
    queue: String,
    cancel: CancellationToken,
    progress: Arc<Progress>,
    stop: Option<Stop>,
}

#[derive(Default)]
struct Schedule {
    /// Per queue: the waiting jobs by (queued time, id), with their owners.
    waiting: HashMap<String, BTreeMap<(Millis, JobId), Option<String>>>,
    running: HashMap<JobId, Running>,
}

impl Schedule {
    fn running_in(&self, queue: &str) -> usize {
        self.running.values().filter(|r| r.queue == queue).count()
    }

    fn running_of(&self, owner: &Option<String>) -> usize {
        self.running.values().filter(|r| &r.owner == owner).count()
    }

    fn active_of(&self, owner: &Option<String>) -> usize {
        self.running_of(owner)
            + self
                .waiting
                .values()
                .flat_map(|q| q.values())
                .filter(|o| *o == owner)
                .count()
    }

    fn unqueue(&mut self, id: &JobId) -> bool {
        for q in self.waiting.values_mut() {
            if let Some(key) = q.keys().find(|(_, j)| j == id).cloned() {
                q.remove(&key);
                return true;
            }
        }
        false
    }

    /// The next job to start in `queue` (fair share, see the module doc).
    fn pick(&self, queue: &QueueConfig, per_owner: usize) -> Option<(Millis, JobId)> {
        if self.running_in(&queue.name) >= queue.workers {
            return None;
        }
        let mut counts: HashMap<&Option<String>, usize> = HashMap::new();
        for r in self.running.values() {
            *counts.entry(&r.owner).or_default() += 1;
        }
        let mut best: Option<(usize, &(Millis, JobId))> = None;
        for (key, owner) in self.waiting.get(&queue.name)? {
            let n = counts.get(owner).copied().unwrap_or(0);
            if n >= per_owner {
                continue;
            }
            if best.is_none_or(|(b, _)| n < b) {
                best = Some((n, key));
                if n == 0 {
                    break;
                }
            }
        }
        best.map(|(_, key)| key.clone())
    }
}

struct Inner {
    store: Store,
    config: JobsConfig,
    runner: Arc<dyn Runner>,
    schedule: Mutex<Schedule>,
    dispatch: Notify,
    watchers: Mutex<HashMap<JobId, watch::Sender<Phase>>>,
    shutdown: CancellationToken,
}

/// The job system. Cheap to clone; every clone is the same system.
#[derive(Clone)]
pub struct JobSystem {
    inner: Arc<Inner>,
}

impl JobSystem {
    /// Starts the job system on `store`: recovers the jobs a previous run
    /// left queued or executing (see [`OnRestart`]), removes job folders
    /// that no job owns, and starts the dispatcher and the housekeeping
    /// (reaper, the command line's abort requests). Call within a Tokio
    /// runtime.
    pub async fn start(
        store: Store,
        config: JobsConfig,
        runner: Arc<dyn Runner>,
    ) -> Result<JobSystem> {
        config.check().map_err(Error::BadValue)?;
        std::fs::create_dir_all(&config.results_dir)
            .map_err(Error::io("create the results folder", &config.results_dir))?;
        let system = JobSystem {
            inner: Arc::new(Inner {
                store,
                config,
                runner,
                schedule: Mutex::new(Schedule::default()),
                dispatch: Notify::new(),
                watchers: Mutex::new(HashMap::new()),
                shutdown: CancellationToken::new(),
            }),
        };
        let recovering = system.clone();
        blocking(move || recovering.recover()).await?;
        let dispatcher = system.clone();
        tokio::spawn(async move { dispatcher.dispatch_loop().await });
        let housekeeper = system.clone();
        tokio::spawn(async move { housekeeper.housekeeping_loop().await });
        Ok(system)
    }

    /// The settings.
    pub fn config(&self) -> &JobsConfig {
        &self.inner.config
    }

    /// The folder of job `id`.
    pub fn folder(&self, id: &JobId) -> PathBuf {
        self.inner.config.results_dir.join(id.as_str())
    }

    /// A fresh identifier and its folder, created, for a job about to be
    /// created with [`JobSystem::create_with_id`] (inline uploads are
    /// written there first).
    pub fn reserve(&self) -> Result<(JobId, PathBuf)> {
        let id = JobId::generate(Millis::now());
        let folder = self.folder(&id);
        std::fs::create_dir_all(&folder).map_err(Error::io("create the job folder", &folder))?;
        Ok((id, folder))
    }

    /// Creates a job, and queues it if `new.run`.
    pub async fn create(&self, new: NewJob) -> Result<Job> {
        let (id, _) = self.reserve()?;
        self.create_with_id(id, new).await
    }

    /// Creates a job under an identifier from [`JobSystem::reserve`]. A
    /// refused job leaves nothing behind, its folder included.
    pub async fn create_with_id(&self, id: JobId, new: NewJob) -> Result<Job> {
        let result = self.try_create(id.clone(), new).await;
        if result.is_err() {
            let _ = std::fs::remove_dir_all(self.folder(&id));
        }
        result
    }

    async fn try_create(&self, id: JobId, new: NewJob) -> Result<Job> {
        if self.inner.shutdown.is_cancelled() {
            return Err(Error::ShuttingDown);
        }
        let config = &self.inner.config;
        let queue = match &new.queue {
            Some(name) => self.queue_named(name)?,
            None => config
                .queue_for(new.estimated_seconds)
                .ok_or_else(|| Error::BadValue("no queue is configured".into()))?,
        };
        let now = Millis::now();
        let execution_seconds = new
            .execution_seconds
            .filter(|s| *s > 0)
            .map_or(queue.max_seconds, |s| s.min(queue.max_seconds));
        let job = Job {
            id,
            owner: new.owner,
            run_id: new.run_id,
            phase: Phase::Pending,
            queue: queue.name.clone(),
            parameters: new.parameters,
            creation_time: now,
            queued_time: None,
            start_time: None,
            end_time: None,
            execution_seconds,
            destruction: self.clamp_destruction(
                now,
                new.destruction
                    .unwrap_or(now.plus_seconds(config.destruction_seconds)),
            ),
            quote: quote(now, new.estimated_seconds),
            estimated_rows: new.estimated_rows,
            error: None,
            results: Vec::new(),
        };
        if new.run {
            // Checked before the job exists: a refused creation creates nothing.
            self.check_limits(&job.owner, &job.queue)?;
        }
        let stored = job.clone();
        self.on_store(move |store| store.insert(&stored)).await?;
        if new.run {
            return self.queue_job(job).await;
        }
        Ok(job)
    }

    fn queue_named(&self, name: &str) -> Result<&QueueConfig> {
        self.inner.config.queue(name).ok_or_else(|| {
            Error::BadValue(format!(
                "QUEUE={name} is not a queue of this service; use one of {}",
                self.queue_names().join(", ")
            ))
        })
    }

    /// The queues' names.
    pub fn queue_names(&self) -> Vec<String> {
        self.inner
            .config
            .queues
            .iter()
            .map(|q| q.name.clone())
            .collect()
    }

    fn clamp_destruction(&self, creation: Millis, asked: Millis) -> Millis {
        let latest = creation.plus_seconds(self.inner.config.max_destruction_seconds);
        asked.min(latest)
    }

    /// Refuses to queue one more job of `owner` in `queue` when a limit is reached.
    fn check_limits(&self, owner: &Option<String>, queue: &str) -> Result<()> {
        let schedule = self.lock();
        let active = schedule.active_of(owner);
        let max = self.inner.config.max_active_per_owner;
        if active >= max {
            return Err(Error::Refused(format!(
                "you already have {active} jobs queued or executing, the most one user may have ({max}); wait for some to finish, or abort them"
            )));
        }
        if let Some(q) = self.inner.config.queue(queue) {
            let waiting = schedule.waiting.get(&q.name).map_or(0, BTreeMap::len);
            if waiting >= q.max_queued {
                return Err(Error::Refused(format!(
                    "queue {} is full: {waiting} jobs are waiting, its limit; try again later or use another queue",
                    q.name
                )));
            }
        }
        Ok(())
    }

    /// Runs `f` on the store off the async threads.
    async fn on_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let system = self.clone();
        blocking(move || f(&system.inner.store)).await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Schedule> {
        self.inner
            .schedule
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The job `id` as `viewer` sees it.
    pub async fn get(&self, id: &JobId, viewer: &Viewer) -> Result<Job> {
        let (id2, v) = (id.clone(), viewer.clone());
        self.on_store(move |store| store.get(&id2, &v))
            .await?
            .ok_or_else(|| Error::NotFound(id.to_string()))
    }

    /// The jobs `viewer` may see, filtered.
    pub async fn list(&self, viewer: &Viewer, filter: &ListFilter) -> Result<Vec<JobSummary>> {
        let (v, f) = (viewer.clone(), filter.clone());
        self.on_store(move |store| store.list(&v, &f)).await
    }

    /// The `limit` most recent jobs `viewer` may see, newest first.
    pub async fn recent(&self, viewer: &Viewer, limit: u64) -> Result<Vec<Job>> {
        let v = viewer.clone();
        self.on_store(move |store| store.recent(&v, limit)).await
    }

    /// Folds the jobs `viewer` may see into `init` (see [`Store::fold`]),
    /// off the async threads.
    pub async fn fold<A: Send + 'static>(
        &self,
        viewer: &Viewer,
        filter: &ListFilter,
        init: A,
        f: impl FnMut(&mut A, &crate::SummaryRef<'_>) + Send + 'static,
    ) -> Result<A> {
        let (v, fl) = (viewer.clone(), filter.clone());
        self.on_store(move |store| store.fold(&v, &fl, init, f))
            .await
    }

    /// How far executing job `id` has come: rows read and rows estimated.
    pub fn progress(&self, id: &JobId) -> Option<(u64, u64)> {
        self.lock().running.get(id).map(|r| r.progress.get())
    }

    /// PHASE=RUN: queues a PENDING (or HELD) job; a job already queued or
    /// executing is left alone; a finished one cannot run again (403).
    pub async fn run(&self, id: &JobId, viewer: &Viewer) -> Result<Job> {
        let job = self.get(id, viewer).await?;
        match job.phase {
            Phase::Pending | Phase::Held => {
                self.check_limits(&job.owner, &job.queue)?;
                self.queue_job(job).await
            }
            Phase::Queued | Phase::Executing => Ok(job),
            other => Err(Error::WrongPhase(format!(
                "job {id} is {other} and cannot run again; create a new job"
            ))),
        }
    }

    async fn queue_job(&self, mut job: Job) -> Result<Job> {
        let now = Millis::now();
        let change = Change {
            queued_time: Some(Some(now)),
            ..Change::default()
        };
        let id = job.id.clone();
        let moved = self
            .on_store(move |store| {
                store.transition(&id, &[Phase::Pending, Phase::Held], Phase::Queued, &change)
            })
            .await?;
        if !moved {
            return self.get(&job.id, &Viewer::Admin).await;
        }
        job.phase = Phase::Queued;
        job.queued_time = Some(now);
        self.lock()
            .waiting
            .entry(job.queue.clone())
            .or_default()
            .insert((now, job.id.clone()), job.owner.clone());
        self.announce(&job.id, Phase::Queued);
        self.inner.dispatch.notify_one();
        Ok(job)
    }

    /// PHASE=ABORT: a job that has not started ends ABORTED at once; an
    /// executing one is cancelled and ends ABORTED when its runner has
    /// stopped (within a second or so); a finished one is left alone.
    pub async fn abort(&self, id: &JobId, viewer: &Viewer) -> Result<Job> {
        let job = self.get(id, viewer).await?;
        match job.phase {
            Phase::Executing => {
                self.stop_running(id, Stop::Abort);
                Ok(job)
            }
            p if Phase::NOT_STARTED.contains(&p) => {
                self.lock().unqueue(id);
                let now = Millis::now();
                let change = Change {
                    end_time: Some(Some(now)),
                    ..Change::default()
                };
                let id2 = id.clone();
                let moved = self
                    .on_store(move |store| {
                        store.transition(&id2, &Phase::NOT_STARTED, Phase::Aborted, &change)
                    })
                    .await?;
                if moved {
                    self.announce(id, Phase::Aborted);
                    self.inner.dispatch.notify_one();
                } else if self.lock().running.contains_key(id) {
                    // It started in between: stop it.
                    self.stop_running(id, Stop::Abort);
                }
                self.get(id, viewer).await
            }
            _ => Ok(job),
        }
    }

    /// Cancels a running job for `why`; false if it is not running here.
    fn stop_running(&self, id: &JobId, why: Stop) -> bool {
        let mut schedule = self.lock();
        let Some(r) = schedule.running.get_mut(id) else {
            return false;
        };
        r.stop.get_or_insert(why);
        r.cancel.cancel();
        true
    }

    /// DELETE: removes the job and its folder; an executing job is
    /// cancelled first (its runner's late answer finds no job to update).
    pub async fn delete(&self, id: &JobId, viewer: &Viewer) -> Result<()> {
        // Only what the viewer may see can be deleted.
        self.get(id, viewer).await?;
        self.destroy(id).await
    }

    async fn destroy(&self, id: &JobId) -> Result<()> {
        self.lock().unqueue(id);
        self.stop_running(id, Stop::Abort);
        let id2 = id.clone();
        // The row first: a crash between the two leaves an orphaned folder,
        // which the next start removes, never a job without its files.
        self.on_store(move |store| store.delete(&id2)).await?;
        remove_folder(&self.folder(id));
        self.announce(id, Phase::Archived);
        Ok(())
    }

    /// Replaces the parameters (and queue, estimate and quote) of a PENDING job.
    pub async fn set_parameters(
        &self,
        id: &JobId,
        viewer: &Viewer,
        parameters: Vec<Parameter>,
        queue: Option<String>,
        estimated_seconds: Option<f64>,
        estimated_rows: Option<u64>,
    ) -> Result<Job> {
        let job = self.get(id, viewer).await?;
        let queue = match &queue {
            Some(name) => self.queue_named(name)?,
            None => self
                .inner
                .config
                .queue_for(estimated_seconds)
                .ok_or_else(|| Error::BadValue("no queue is configured".into()))?,
        };
        let change = Change {
            parameters: Some(parameters),
            queue: Some(queue.name.clone()),
            execution_seconds: Some(job.execution_seconds.min(queue.max_seconds)),
            quote: Some(quote(Millis::now(), estimated_seconds)),
            estimated_rows: Some(estimated_rows),
            ..Change::default()
        };
        self.update_pending(&job, change).await
    }

    /// Sets a PENDING job's execution duration, clamped to its queue's
    /// limit (UWS 1.1 §2.2.3.4 lets the service choose); 0 asks for the
    /// longest.
    pub async fn set_execution_seconds(
        &self,
        id: &JobId,
        viewer: &Viewer,
        seconds: u64,
    ) -> Result<Job> {
        let job = self.get(id, viewer).await?;
        let limit = self
            .queue_named(&job.queue)
            .map_or(job.execution_seconds, |q| q.max_seconds);
        let seconds = if seconds == 0 {
            limit
        } else {
            seconds.min(limit)
        };
        let change = Change {
            execution_seconds: Some(seconds),
            ..Change::default()
        };
        self.update_pending(&job, change).await
    }

    async fn update_pending(&self, job: &Job, change: Change) -> Result<Job> {
        let id = job.id.clone();
        let updated = self
            .on_store(move |store| store.update(&id, &[Phase::Pending], &change))
            .await?;
        if !updated {
            return Err(Error::WrongPhase(format!(
                "job {} is {} now; its parameters can change only while it is PENDING",
                job.id, job.phase
            )));
        }
        self.get(&job.id, &Viewer::Admin).await
    }

    /// Sets the destruction time, clamped to the longest a job may be kept
    /// (UWS 1.1 §2.2.3.3 lets the service choose).
    pub async fn set_destruction(&self, id: &JobId, viewer: &Viewer, asked: Millis) -> Result<Job> {
        let job = self.get(id, viewer).await?;
        let change = Change {
            destruction: Some(self.clamp_destruction(job.creation_time, asked)),
            ..Change::default()
        };
        let id2 = id.clone();
        self.on_store(move |store| store.update(&id2, &Phase::ALL, &change))
            .await?;
        self.get(id, viewer).await
    }

    /// WAIT (UWS 1.1 §2.2.1.2): the job once its phase is no longer
    /// `phase` (its current one if `None`), or after `timeout`; at once
    /// when it is not in an active phase or not in `phase`.
    pub async fn wait(
        &self,
        id: &JobId,
        viewer: &Viewer,
        phase: Option<Phase>,
        timeout: Duration,
    ) -> Result<Job> {
        let job = self.get(id, viewer).await?;
        let waited = phase.unwrap_or(job.phase);
        if !job.phase.is_active() || job.phase != waited {
            return Ok(job);
        }
        let mut changes = {
            let mut watchers = self
                .inner
                .watchers
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            watchers
                .entry(id.clone())
                .or_insert_with(|| watch::channel(waited).0)
                .subscribe()
        };
        // The phase may have changed before the subscription.
        let again = self.get(id, viewer).await?;
        if again.phase == waited {
            let changed = async {
                while changes.changed().await.is_ok() {
                    if *changes.borrow_and_update() != waited {
                        return;
                    }
                }
            };
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep(timeout) => {}
                _ = self.inner.shutdown.cancelled() => {}
            }
        }
        drop(changes);
        self.forget_watcher(id);
        match self.get(id, viewer).await {
            Err(Error::NotFound(_)) => Ok(again),
            other => other,
        }
    }

    fn forget_watcher(&self, id: &JobId) {
        let mut watchers = self
            .inner
            .watchers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if watchers.get(id).is_some_and(|w| w.receiver_count() == 0) {
            watchers.remove(id);
        }
    }

    /// Tells WAITing requests that job `id` is in `phase` now.
    fn announce(&self, id: &JobId, phase: Phase) {
        let watchers = self
            .inner
            .watchers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(w) = watchers.get(id) {
            w.send_replace(phase);
        }
    }

    /// Stops the system: no new jobs; executing ones are cancelled and
    /// left EXECUTING in the store, for the next start to handle as
    /// configured ([`OnRestart`]).
    pub fn shut_down(&self) {
        self.inner.shutdown.cancel();
        let mut schedule = self.lock();
        for r in schedule.running.values_mut() {
            r.stop.get_or_insert(Stop::Shutdown);
            r.cancel.cancel();
        }
    }

    /// Jobs executing now.
    pub fn executing(&self) -> usize {
        self.lock().running.len()
    }

    // ---- recovery, dispatch, execution, housekeeping ----

    fn recover(&self) -> Result<()> {
        let store = &self.inner.store;
        let now = Millis::now();
        for job in store.in_phases(&[Phase::Executing])? {
            remove_partial_files(&self.folder(&job.id));
            match self.inner.config.on_restart {
                OnRestart::Requeue => {
                    let change = Change {
                        start_time: Some(None),
                        ..Change::default()
                    };
                    store.transition(&job.id, &[Phase::Executing], Phase::Queued, &change)?;
                    tracing::info!(job = %job.id, "queued again: it was executing when the service stopped");
                }
                OnRestart::Error => {
                    let change = Change {
                        end_time: Some(Some(now)),
                        error: Some(Some(JobFailure::transient(
                            "the service restarted while this job was executing; run it again",
                        ))),
                        ..Change::default()
                    };
                    store.transition(&job.id, &[Phase::Executing], Phase::Error, &change)?;
                }
            }
        }
        let mut schedule = self.lock();
        for job in store.in_phases(&[Phase::Queued])? {
            // A queue that the configuration no longer has: the first one.
            let queue = match self.inner.config.queue(&job.queue) {
                Some(q) => q.name.clone(),
                None => self.inner.config.queues[0].name.clone(),
            };
            let at = job.queued_time.unwrap_or(job.creation_time);
            schedule
                .waiting
                .entry(queue)
                .or_default()
                .insert((at, job.id), job.owner);
        }
        drop(schedule);
        // Folders that no job owns: a crash between a job's deletion and
        // its folder's removal, or between a folder's creation and its job's.
        let ids = store.all_ids()?;
        if let Ok(entries) = std::fs::read_dir(&self.inner.config.results_dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !ids.contains(&name) {
                    remove_folder(&entry.path());
                }
            }
        }
        Ok(())
    }

    async fn dispatch_loop(self) {
        loop {
            while self.start_next().await {}
            tokio::select! {
                _ = self.inner.dispatch.notified() => {}
                _ = self.inner.shutdown.cancelled() => return,
            }
        }
    }

    /// Starts one job if a worker is free for one; false if none started.
    async fn start_next(&self) -> bool {
        if self.inner.shutdown.is_cancelled() {
            return false;
        }
        let per_owner = self.inner.config.max_running_per_owner;
        let picked = {
            let mut schedule = self.lock();
            let pick = self
                .inner
                .config
                .queues
                .iter()
                .find_map(|q| schedule.pick(q, per_owner).map(|key| (q.name.clone(), key)));
            let Some((queue, key)) = pick else {
                return false;
            };
            let owner = schedule
                .waiting
                .get_mut(&queue)
                .and_then(|w| w.remove(&key))
                .unwrap_or_default();
            // Counted as running from here, so that a second pick cannot
            // take the same worker while the store is written.
            let running = Running {
                owner,
                queue,
                cancel: CancellationToken::new(),
                progress: Arc::new(Progress::default()),
                stop: None,
            };
            schedule.running.insert(key.1.clone(), running);
            key.1
        };
        let now = Millis::now();
        let change = Change {
            start_time: Some(Some(now)),
            ..Change::default()
        };
        let id = picked.clone();
        let started = self
            .on_store(move |store| {
                if store.transition(&id, &[Phase::Queued], Phase::Executing, &change)? {
                    store.get(&id, &Viewer::Admin)
                } else {
                    Ok(None)
                }
            })
            .await;
        let job = match started {
            Ok(Some(job)) => job,
            Ok(None) => {
                // Aborted or deleted (by the command line) while it waited.
                self.lock().running.remove(&picked);
                return true;
            }
            Err(e) => {
                tracing::error!(job = %picked, "cannot start the job: {e}");
                self.lock().running.remove(&picked);
                return true;
            }
        };
        self.announce(&job.id, Phase::Executing);
        let me = self.clone();
        tokio::spawn(async move { me.execute(job).await });
        true
    }

    async fn execute(self, job: Job) {
        let id = job.id.clone();
        let (cancel, progress) = {
            let schedule = self.lock();
            match schedule.running.get(&id) {
                Some(r) => (r.cancel.clone(), Arc::clone(&r.progress)),
                None => return,
            }
        };
        if let Some(rows) = job.estimated_rows {
            progress.set_rows_estimated(rows);
        }
        let folder = self.folder(&id);
        let limit = Duration::from_secs(job.execution_seconds);
        let outcome = match std::fs::create_dir_all(&folder) {
            Err(e) => {
                tracing::error!(job = %id, "cannot create the job folder {}: {e}", folder.display());
                Err(JobFailure::transient(
                    "the service cannot store results at the moment (its results folder is not writable); the operator's log has the details",
                ))
            }
            Ok(()) => {
                let context = RunContext {
                    job: job.clone(),
                    folder,
                    cancel: cancel.clone(),
                    progress,
                };
                let mut running = tokio::spawn(self.inner.runner.run(context));
                let timed_out = tokio::select! {
                    r = &mut running => Some(r),
                    _ = tokio::time::sleep(limit), if job.execution_seconds > 0 => None,
                };
                let finished = match timed_out {
                    Some(r) => r,
                    None => {
                        self.stop_running(&id, Stop::TimeLimit);
                        match tokio::time::timeout(STOP_GRACE, &mut running).await {
                            Ok(r) => r,
                            Err(_) => {
                                tracing::warn!(job = %id, "the runner did not stop within {} s of its time limit; dropped", STOP_GRACE.as_secs());
                                running.abort();
                                Ok(Err(JobFailure::fatal("")))
                            }
                        }
                    }
                };
                finished.unwrap_or_else(|e| {
                    tracing::error!(job = %id, "the job's runner failed: {e}");
                    Err(JobFailure::transient(
                        "the service failed while running this job; the operator's log has the details",
                    ))
                })
            }
        };
        let stop = self.lock().running.get(&id).and_then(|r| r.stop);
        let now = Millis::now();
        let queue_limit = self
            .queue_named(&job.queue)
            .map_or(job.execution_seconds, |q| q.max_seconds);
        let (phase, change) = match (stop, outcome) {
            (Some(Stop::Shutdown), _) => {
                self.lock().running.remove(&id);
                return;
            }
            (Some(Stop::Abort), _) => (Phase::Aborted, Change::default()),
            (Some(Stop::TimeLimit), _) => (
                Phase::Error,
                Change {
                    error: Some(Some(JobFailure::fatal(time_limit_message(
                        &job,
                        queue_limit,
                        self.longest_queue(),
                    )))),
                    ..Change::default()
                },
            ),
            (None, Ok(results)) => (
                Phase::Completed,
                Change {
                    results: Some(results),
                    ..Change::default()
                },
            ),
            (None, Err(failure)) => (
                Phase::Error,
                Change {
                    error: Some(Some(failure)),
                    ..Change::default()
                },
            ),
        };
        let change = Change {
            end_time: Some(Some(now)),
            abort_requested: Some(false),
            ..change
        };
        let id2 = id.clone();
        match self
            .on_store(move |store| store.transition(&id2, &[Phase::Executing], phase, &change))
            .await
        {
            Ok(true) => {}
            // Deleted while it ran: its folder goes too.
            Ok(false) => remove_folder(&self.folder(&id)),
            Err(e) => tracing::error!(job = %id, "cannot record the end of the job: {e}"),
        }
        self.lock().running.remove(&id);
        self.announce(&id, phase);
        self.inner.dispatch.notify_one();
    }

    fn longest_queue(&self) -> Option<&QueueConfig> {
        self.inner
            .config
            .queues
            .iter()
            .max_by_key(|q| q.max_seconds)
    }

    async fn housekeeping_loop(self) {
        let mut tick = tokio::time::interval(HOUSEKEEPING);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = self.inner.shutdown.cancelled() => return,
            }
            if let Err(e) = self.housekeeping().await {
                tracing::warn!("job housekeeping failed: {e}");
            }
        }
    }

    /// Aborts what the command line asked to abort, and destroys the jobs
    /// past their destruction time (UWS 1.1 §2.1.4).
    async fn housekeeping(&self) -> Result<()> {
        let requests = self.on_store(|store| store.abort_requests()).await?;
        for id in requests {
            self.stop_running(&id, Stop::Abort);
        }
        let expired = self
            .on_store(|store| store.expired(Millis::now(), 1000))
            .await?;
        for (id, _) in expired {
            tracing::info!(job = %id, "destroyed: its destruction time has passed");
            self.destroy(&id).await?;
        }
        Ok(())
    }
}

/// The message of a job stopped by its execution duration.
fn time_limit_message(job: &Job, queue_limit: u64, longest: Option<&QueueConfig>) -> String {
    let mut m = format!(
        "execution time of {} s exceeded: the job's executionduration",
        job.execution_seconds
    );
    if job.execution_seconds < queue_limit {
        m.push_str(&format!(
            "; queue {} allows up to {queue_limit} s, set EXECUTIONDURATION higher",
            job.queue
        ));
    } else if let Some(q) = longest.filter(|q| q.max_seconds > queue_limit) {
        m.push_str(&format!(
            ", the limit of queue {}; submit it with QUEUE={} (up to {} s), or add constraints to the query",
            job.queue, q.name, q.max_seconds
        ));
    } else {
        m.push_str(", the longest this service allows; add constraints to the query or use TOP");
    }
    m
}

/// The quote: now plus the estimate, when there is one (UWS 1.1 §2.1.6).
fn quote(now: Millis, estimated_seconds: Option<f64>) -> Option<Millis> {
    let seconds = estimated_seconds.filter(|s| s.is_finite() && *s >= 0.0)?;
    Some(Millis(
        now.0.saturating_add((seconds * 1000.0).ceil() as i64),
    ))
}

fn remove_folder(folder: &Path) {
    if let Err(e) = std::fs::remove_dir_all(folder)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!("cannot remove the job folder {}: {e}", folder.display());
    }
}

/// Results a dead process left half-written.
fn remove_partial_files(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().ends_with(".partial") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Runs store work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Corrupt(format!("a job store task failed: {e}")))?
}

#[cfg(test)]
mod tests;
