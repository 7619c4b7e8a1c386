//! The job system with a runner whose behaviour the job's parameters set:
//! `sleep` (milliseconds, stopping early when cancelled), `fail` (a
//! message), `ignore_cancel`.

use super::*;
use crate::config::QueueConfig;
use crate::model::ErrorKind;

struct TestRunner;

impl Runner for TestRunner {
    fn run(&self, ctx: RunContext) -> BoxFuture<'static, Result<Vec<JobResult>, JobFailure>> {
        Box::pin(async move {
            let sleep: u64 = ctx
                .job
                .parameter("sleep")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            ctx.progress.set_rows_read(7);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(sleep)) => {}
                _ = ctx.cancel.cancelled() => return Err(JobFailure::fatal("cancelled")),
            }
            if let Some(m) = ctx.job.parameter("fail") {
                return Err(JobFailure::fatal(m));
            }
            std::fs::write(ctx.folder.join("result"), b"hello")
                .map_err(|e| JobFailure::transient(e.to_string()))?;
            Ok(vec![JobResult {
                id: "result".into(),
                mime_type: "text/plain".into(),
                size: 5,
                rows: 1,
                overflow: false,
            }])
        })
    }
}

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn config(&self) -> JobsConfig {
        let mut c = JobsConfig::new(self.dir.path().join("results"));
        c.queues = vec![
            QueueConfig {
                name: "short".into(),
                workers: 2,
                max_seconds: 60,
                max_queued: 3,
            },
            QueueConfig {
                name: "long".into(),
                workers: 1,
                max_seconds: 3600,
                max_queued: 100,
            },
        ];
        c
    }

    async fn start(&self, config: JobsConfig) -> JobSystem {
        let store = Store::open(&self.dir.path().join("state.sqlite")).unwrap();
        JobSystem::start(store, config, Arc::new(TestRunner))
            .await
            .unwrap()
    }
}

fn new_job(owner: &str, params: &[(&str, &str)], queue: &str, run: bool) -> NewJob {
    NewJob {
        owner: (!owner.is_empty()).then(|| owner.to_string()),
        parameters: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        queue: Some(queue.into()),
        run,
        ..NewJob::default()
    }
}

fn anyone() -> Viewer {
    Viewer::Admin
}

async fn wait_for(jobs: &JobSystem, id: &JobId, phase: Phase) -> Job {
    for _ in 0..100 {
        let job = jobs
            .wait(id, &anyone(), None, Duration::from_millis(100))
            .await
            .unwrap();
        if job.phase == phase {
            return job;
        }
    }
    panic!("job {id} never reached {phase}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_to_completion_and_wait_returns_on_the_change() {
    let s = Setup::new();
    let jobs = s.start(s.config()).await;
    let job = jobs
        .create(new_job("ann", &[("sleep", "300")], "short", false))
        .await
        .unwrap();
    assert_eq!(job.phase, Phase::Pending);
    assert_eq!(job.execution_seconds, 60);
    // WAIT on a PENDING job blocks until its timeout.
    let t = std::time::Instant::now();
    let same = jobs
        .wait(&job.id, &anyone(), None, Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(same.phase, Phase::Pending);
    assert!(t.elapsed() >= Duration::from_millis(190));
    jobs.run(&job.id, &anyone()).await.unwrap();
    let executing = wait_for(&jobs, &job.id, Phase::Executing).await;
    assert!(executing.start_time.is_some());
    // The runner reports progress as soon as it starts.
    let mut progress = None;
    for _ in 0..100 {
        progress = jobs.progress(&job.id).map(|p| p.0);
        if progress == Some(7) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(progress, Some(7));
    // WAIT returns as soon as the phase changes, long before its timeout.
    let t = std::time::Instant::now();
    let done = jobs
        .wait(
            &job.id,
            &anyone(),
            Some(Phase::Executing),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(done.phase, Phase::Completed);
    assert_eq!(done.results[0].size, 5);
    assert!(done.end_time.is_some());
    assert_eq!(
        std::fs::read(jobs.folder(&job.id).join("result")).unwrap(),
        b"hello"
    );
    // A finished job cannot run again; WAIT on it returns at once.
    assert!(matches!(
        jobs.run(&job.id, &anyone()).await,
        Err(Error::WrongPhase(_))
    ));
    let t = std::time::Instant::now();
    jobs.wait(&job.id, &anyone(), None, Duration::from_secs(30))
        .await
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_stops_an_executing_job_and_time_limits_end_in_error() {
    let s = Setup::new();
    let jobs = s.start(s.config()).await;
    let job = jobs
        .create(new_job("", &[("sleep", "60000")], "long", true))
        .await
        .unwrap();
    wait_for(&jobs, &job.id, Phase::Executing).await;
    let t = std::time::Instant::now();
    jobs.abort(&job.id, &anyone()).await.unwrap();
    wait_for(&jobs, &job.id, Phase::Aborted).await;
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());

    let mut slow = new_job("", &[("sleep", "60000")], "short", false);
    slow.execution_seconds = Some(1);
    let slow = jobs.create(slow).await.unwrap();
    assert_eq!(slow.execution_seconds, 1);
    jobs.run(&slow.id, &anyone()).await.unwrap();
    let failed = wait_for(&jobs, &slow.id, Phase::Error).await;
    let error = failed.error.unwrap();
    assert!(
        error.message.contains("execution time of 1 s exceeded"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("EXECUTIONDURATION"),
        "{}",
        error.message
    );

    let bad = jobs
        .create(new_job("", &[("fail", "no such table")], "short", true))
        .await
        .unwrap();
    let bad = wait_for(&jobs, &bad.id, Phase::Error).await;
    assert_eq!(
        bad.error.map(|e| (e.message, e.kind)),
        Some(("no such table".into(), ErrorKind::Fatal))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_refuse_with_their_values_and_durations_are_clamped() {
    let s = Setup::new();
    let mut config = s.config();
    config.max_active_per_owner = 2;
    let jobs = s.start(config).await;
    let mut long = new_job("bob", &[("sleep", "60000")], "long", true);
    long.execution_seconds = Some(999_999);
    let first = jobs.create(long.clone()).await.unwrap();
    assert_eq!(first.execution_seconds, 3600);
    jobs.create(long.clone()).await.unwrap();
    let e = jobs.create(long.clone()).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("already have 2 jobs queued or executing"),
        "{e}"
    );
    // Nothing was left behind by the refusal.
    let listed = jobs
        .list(&Viewer::Owner(Some("bob".into())), &ListFilter::default())
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    // Another owner is not limited by bob's jobs; a full queue refuses.
    for _ in 0..2 {
        jobs.create(new_job("cy", &[("sleep", "60000")], "short", true))
            .await
            .unwrap();
    }
    for owner in ["d1", "d2", "d3"] {
        jobs.create(new_job(owner, &[("sleep", "60000")], "short", true))
            .await
            .unwrap();
    }
    let e = jobs
        .create(new_job("d4", &[], "short", true))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("queue short is full: 3 jobs are waiting"),
        "{e}"
    );
    let e = jobs
        .create(new_job("d4", &[], "medium", false))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("QUEUE=medium is not a queue of this service; use one of short, long"),
        "{e}"
    );
    // A PENDING job's duration is clamped to its queue's limit.
    let p = jobs
        .create(new_job("e", &[], "short", false))
        .await
        .unwrap();
    assert_eq!(
        jobs.set_execution_seconds(&p.id, &anyone(), 86_400)
            .await
            .unwrap()
            .execution_seconds,
        60
    );
    let far = Millis::now().plus_seconds(10 * 365 * 86_400);
    let d = jobs
        .set_destruction(&p.id, &anyone(), far)
        .await
        .unwrap()
        .destruction;
    assert!(d <= p.creation_time.plus_seconds(30 * 86_400));
    jobs.shut_down();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_with_jobs_running_lets_others_go_first() {
    let s = Setup::new();
    let mut config = s.config();
    config.queues[0].workers = 2;
    let jobs = s.start(config).await;
    // ann fills one of the two short workers and queues three more.
    let a0 = jobs
        .create(new_job("ann", &[("sleep", "60000")], "short", true))
        .await
        .unwrap();
    wait_for(&jobs, &a0.id, Phase::Executing).await;
    let mut queued = Vec::new();
    let hold = jobs
        .create(new_job("z", &[("sleep", "60000")], "short", true))
        .await
        .unwrap();
    wait_for(&jobs, &hold.id, Phase::Executing).await;
    for _ in 0..2 {
        queued.push(
            jobs.create(new_job("ann", &[("sleep", "60000")], "short", true))
                .await
                .unwrap(),
        );
    }
    let bob = jobs
        .create(new_job("bob", &[("sleep", "60000")], "short", true))
        .await
        .unwrap();
    // A worker frees: bob (no job running) goes before ann's earlier ones.
    jobs.abort(&hold.id, &anyone()).await.unwrap();
    wait_for(&jobs, &bob.id, Phase::Executing).await;
    for q in &queued {
        assert_eq!(
            jobs.get(&q.id, &anyone()).await.unwrap().phase,
            Phase::Queued
        );
    }
    jobs.shut_down();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_see_only_their_jobs_and_lists_filter() {
    let s = Setup::new();
    let jobs = s.start(s.config()).await;
    let a = jobs
        .create(new_job("ann", &[], "short", false))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let b = jobs
        .create(new_job("ann", &[], "short", true))
        .await
        .unwrap();
    let c = jobs.create(new_job("", &[], "short", false)).await.unwrap();
    let ann = Viewer::Owner(Some("ann".into()));
    let anonymous = Viewer::Owner(None);
    assert!(matches!(
        jobs.get(&a.id, &anonymous).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        jobs.delete(&a.id, &anonymous).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(jobs.get(&c.id, &anonymous).await.unwrap().owner, None);
    let ids = |l: Vec<JobSummary>| l.into_iter().map(|j| j.id).collect::<Vec<_>>();
    assert_eq!(
        ids(jobs.list(&ann, &ListFilter::default()).await.unwrap()),
        [a.id.clone(), b.id.clone()]
    );
    let last = ListFilter {
        last: Some(1),
        ..ListFilter::default()
    };
    assert_eq!(
        ids(jobs.list(&ann, &last).await.unwrap()),
        std::slice::from_ref(&b.id)
    );
    let pending = ListFilter {
        phases: vec![Phase::Pending],
        ..ListFilter::default()
    };
    assert_eq!(
        ids(jobs.list(&ann, &pending).await.unwrap()),
        std::slice::from_ref(&a.id)
    );
    let after = ListFilter {
        after: Some(a.creation_time),
        ..ListFilter::default()
    };
    assert_eq!(
        ids(jobs.list(&ann, &after).await.unwrap()),
        std::slice::from_ref(&b.id)
    );
    assert_eq!(
        jobs.list(&Viewer::Admin, &ListFilter::default())
            .await
            .unwrap()
            .len(),
        3
    );
    // The whole jobs, newest first, the owner's only, at most `limit`.
    let recent = |l: Vec<Job>| l.into_iter().map(|j| j.id).collect::<Vec<_>>();
    assert_eq!(
        recent(jobs.recent(&ann, 10).await.unwrap()),
        [b.id.clone(), a.id.clone()]
    );
    assert_eq!(
        recent(jobs.recent(&ann, 1).await.unwrap()),
        std::slice::from_ref(&b.id)
    );
    assert_eq!(
        recent(jobs.recent(&anonymous, 10).await.unwrap()),
        std::slice::from_ref(&c.id)
    );
    jobs.delete(&a.id, &ann).await.unwrap();
    assert!(!jobs.folder(&a.id).exists());
    assert!(matches!(
        jobs.get(&a.id, &ann).await,
        Err(Error::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_requeues_or_fails_what_was_executing_and_keeps_the_rest() {
    for on_restart in [OnRestart::Requeue, OnRestart::Error] {
        let s = Setup::new();
        let (done, running, queued, pending) = {
            let jobs = s.start(s.config()).await;
            let done = jobs.create(new_job("", &[], "long", true)).await.unwrap();
            wait_for(&jobs, &done.id, Phase::Completed).await;
            let running = jobs
                .create(new_job("", &[("sleep", "60000")], "long", true))
                .await
                .unwrap();
            wait_for(&jobs, &running.id, Phase::Executing).await;
            std::fs::write(jobs.folder(&running.id).join("result.partial"), b"half").unwrap();
            // Queue order is by the millisecond queued (ties by id): keep
            // the two apart so that the order asserted below is the real one.
            tokio::time::sleep(Duration::from_millis(3)).await;
            let queued = jobs
                .create(new_job("", &[("sleep", "10")], "long", true))
                .await
                .unwrap();
            let pending = jobs.create(new_job("", &[], "long", false)).await.unwrap();
            // As if killed: the store keeps what it had, nothing is told.
            jobs.inner.shutdown.cancel();
            (done, running, queued, pending)
        };
        std::fs::create_dir_all(s.dir.path().join("results/ORPHAN")).unwrap();
        let mut config = s.config();
        config.on_restart = on_restart;
        let jobs = s.start(config).await;
        assert!(!s.dir.path().join("results/ORPHAN").exists());
        assert!(!jobs.folder(&running.id).join("result.partial").exists());
        assert_eq!(
            std::fs::read(jobs.folder(&done.id).join("result")).unwrap(),
            b"hello"
        );
        assert_eq!(
            jobs.get(&pending.id, &anyone()).await.unwrap().phase,
            Phase::Pending
        );
        match on_restart {
            OnRestart::Requeue => {
                // Queued again ahead of the later job: it runs first.
                let again = wait_for(&jobs, &running.id, Phase::Executing).await;
                assert!(again.start_time.is_some());
                assert_eq!(
                    jobs.get(&queued.id, &anyone()).await.unwrap().phase,
                    Phase::Queued
                );
                jobs.abort(&running.id, &anyone()).await.unwrap();
            }
            OnRestart::Error => {
                let failed = jobs.get(&running.id, &anyone()).await.unwrap();
                assert_eq!(failed.phase, Phase::Error);
                assert!(
                    failed
                        .error
                        .unwrap()
                        .message
                        .contains("the service restarted")
                );
            }
        }
        wait_for(&jobs, &queued.id, Phase::Completed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reaper_and_the_command_line_reach_running_jobs() {
    let s = Setup::new();
    let jobs = s.start(s.config()).await;
    let old = jobs.create(new_job("", &[], "short", true)).await.unwrap();
    wait_for(&jobs, &old.id, Phase::Completed).await;
    jobs.set_destruction(&old.id, &anyone(), Millis(0))
        .await
        .unwrap();
    let running = jobs
        .create(new_job("", &[("sleep", "60000")], "long", true))
        .await
        .unwrap();
    wait_for(&jobs, &running.id, Phase::Executing).await;
    // The command line works on the store, beside the running system.
    let store = Store::open(&s.dir.path().join("state.sqlite")).unwrap();
    assert_eq!(
        abort_from_admin_here(&store, &running.id),
        crate::AdminAction::Requested
    );
    wait_for(&jobs, &running.id, Phase::Aborted).await;
    assert_eq!(
        abort_from_admin_here(&store, &running.id),
        crate::AdminAction::AlreadyEnded(Phase::Aborted)
    );
    for _ in 0..50 {
        if !jobs.folder(&old.id).exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(matches!(
        jobs.get(&old.id, &anyone()).await,
        Err(Error::NotFound(_))
    ));
    assert!(!jobs.folder(&old.id).exists());
    let results = s.dir.path().join("results");
    assert_eq!(
        crate::delete_from_admin(&store, &results, &running.id).unwrap(),
        crate::AdminAction::Done
    );
    assert!(!jobs.folder(&running.id).exists());
}

fn abort_from_admin_here(store: &Store, id: &JobId) -> crate::AdminAction {
    crate::abort_from_admin(store, id).unwrap()
}
