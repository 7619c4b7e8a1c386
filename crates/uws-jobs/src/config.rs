//! How the job system is set up: its queues and its limits.

use std::path::PathBuf;

/// A named queue (UWS leaves queues to the service; Daiquiri had a short
/// and a long one, and so do Corvus's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueConfig {
    /// Its name, as the QUEUE parameter gives it.
    pub name: String,
    /// Jobs it executes at once.
    pub workers: usize,
    /// The longest one of its jobs may execute, in seconds; also a job's
    /// executionduration when it asks for none.
    pub max_seconds: u64,
    /// Jobs that may wait in it; beyond, a request to run is refused.
    pub max_queued: usize,
}

/// What to do with jobs that were executing when the service died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnRestart {
    /// Queue them again, ahead of later jobs: they run from the start.
    Requeue,
    /// End them in ERROR with a message saying the service restarted.
    Error,
}

/// The job system's settings.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// The queues, by name; the first is the default for jobs that name
    /// none and come without an estimate.
    pub queues: Vec<QueueConfig>,
    /// Queued and executing jobs one owner may have; beyond, a request to
    /// run is refused.
    pub max_active_per_owner: usize,
    /// Jobs of one owner executing at once, over all queues; the owner's
    /// other jobs wait, and other owners' jobs go first (fair share).
    pub max_running_per_owner: usize,
    /// How long a job is kept after its creation unless its owner says
    /// otherwise, in seconds.
    pub destruction_seconds: u64,
    /// The longest an owner may keep a job, in seconds after its creation.
    pub max_destruction_seconds: u64,
    /// Jobs found executing at start.
    pub on_restart: OnRestart,
    /// Where the jobs' folders are.
    pub results_dir: PathBuf,
}

impl JobsConfig {
    /// The defaults, with job folders under `results_dir`: a `short` queue
    /// of four workers and one minute, a `long` one of one worker and a
    /// day; 100 active jobs and 2 executing ones per owner; jobs kept a
    /// week (at most 30 days); executing jobs queued again after a restart.
    pub fn new(results_dir: PathBuf) -> JobsConfig {
        JobsConfig {
            queues: vec![
                QueueConfig {
                    name: "short".into(),
                    workers: 4,
                    max_seconds: 60,
                    max_queued: 10_000,
                },
                QueueConfig {
                    name: "long".into(),
                    workers: 1,
                    max_seconds: 86_400,
                    max_queued: 10_000,
                },
            ],
            max_active_per_owner: 100,
            max_running_per_owner: 2,
            destruction_seconds: 7 * 86_400,
            max_destruction_seconds: 30 * 86_400,
            on_restart: OnRestart::Requeue,
            results_dir,
        }
    }

    /// The queue called `name`.
    pub fn queue(&self, name: &str) -> Option<&QueueConfig> {
        self.queues
            .iter()
            .find(|q| q.name.eq_ignore_ascii_case(name))
    }

    /// The queue for a job that names none: the quickest whose time limit
    /// is at least four times the job's estimated seconds, else the one
    /// with the longest limit; the first when there is no estimate. `None`
    /// only without queues, which [`JobsConfig::check`] refuses.
    pub fn queue_for(&self, estimated_seconds: Option<f64>) -> Option<&QueueConfig> {
        let first = self.queues.first()?;
        let Some(seconds) = estimated_seconds else {
            return Some(first);
        };
        let mut by_limit: Vec<&QueueConfig> = self.queues.iter().collect();
        by_limit.sort_by_key(|q| q.max_seconds);
        by_limit
            .iter()
            .find(|q| q.max_seconds as f64 >= 4.0 * seconds)
            .or(by_limit.last())
            .copied()
    }

    /// Refuses settings that cannot work, naming what to change.
    pub fn check(&self) -> Result<(), String> {
        if self.queues.is_empty() {
            return Err("at least one queue is needed".into());
        }
        for (i, q) in self.queues.iter().enumerate() {
            if q.name.is_empty()
                || !q
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!(
                    "queue name \"{}\" must be letters, digits, - or _",
                    q.name
                ));
            }
            if self.queues[..i]
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(&q.name))
            {
                return Err(format!("queue \"{}\" is defined twice", q.name));
            }
            if q.workers == 0 || q.max_seconds == 0 || q.max_queued == 0 {
                return Err(format!(
                    "queue \"{}\": workers, max_seconds and max_queued must each be at least 1",
                    q.name
                ));
            }
        }
        if self.max_active_per_owner == 0 || self.max_running_per_owner == 0 {
            return Err("max_active_per_owner and max_running_per_owner must be at least 1".into());
        }
        if self.destruction_seconds == 0 || self.destruction_seconds > self.max_destruction_seconds
        {
            return Err(
                "destruction_seconds must be at least 1 and at most max_destruction_seconds".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_without_a_queue_goes_where_its_estimate_fits() {
        let c = JobsConfig::new("r".into());
        assert!(c.check().is_ok());
        assert_eq!(c.queue_for(None).unwrap().name, "short");
        assert_eq!(c.queue_for(Some(1.0)).unwrap().name, "short");
        assert_eq!(c.queue_for(Some(30.0)).unwrap().name, "long");
        assert_eq!(c.queue_for(Some(1e9)).unwrap().name, "long");
        assert_eq!(c.queue("LONG").map(|q| q.workers), Some(1));
    }

    #[test]
    fn settings_that_cannot_work_are_refused() {
        let mut c = JobsConfig::new("r".into());
        c.queues[1].name = "Short".into();
        assert!(c.check().unwrap_err().contains("defined twice"));
        let mut c = JobsConfig::new("r".into());
        c.queues[0].workers = 0;
        assert!(c.check().unwrap_err().contains("at least 1"));
        let mut c = JobsConfig::new("r".into());
        c.queues.clear();
        assert!(c.check().is_err());
    }
}
