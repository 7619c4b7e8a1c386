//! Asynchronous jobs: the `[jobs]` section of `corvus.toml`, and `corvus
//! jobs`, the operator's view of every owner's jobs, read and changed on
//! the data directory's state file whether the service runs or not.

use crate::data::DataArg;
use anyhow::Context;
use catalog_store::DataDir;
use clap::Subcommand;
use std::process::ExitCode;
use uws_jobs::{
    AdminAction, JobId, JobsConfig, ListFilter, Millis, OnRestart, Phase, QueueConfig, Store,
    Viewer,
};

/// `[jobs]`: queues and limits; every key optional.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobsSection {
    /// `requeue` (default) or `error`: what becomes of jobs that were
    /// executing when the service died.
    executing_on_restart: Option<String>,
    /// A request header naming the user, set by an authenticating proxy.
    owner_header: Option<String>,
    /// Queued and executing jobs one owner may have.
    max_active_per_owner: Option<usize>,
    /// Jobs of one owner executing at once.
    max_running_per_owner: Option<usize>,
    /// Days a job is kept unless its owner says otherwise.
    destruction_days: Option<u64>,
    /// The most days an owner may keep a job.
    max_destruction_days: Option<u64>,
    /// The queues, in order (the first is the default); replaces the defaults.
    queues: Option<Vec<QueueSection>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueSection {
    name: String,
    workers: usize,
    max_seconds: u64,
    max_queued: Option<usize>,
}

impl JobsSection {
    /// The job system's settings for the data directory `dir`; `file`
    /// names the configuration in errors.
    pub(crate) fn config(&self, dir: &DataDir, file: &str) -> anyhow::Result<JobsConfig> {
        let mut c = JobsConfig::new(dir.results_folder());
        c.on_restart = match self.executing_on_restart.as_deref() {
            None | Some("requeue") => OnRestart::Requeue,
            Some("error") => OnRestart::Error,
            Some(other) => anyhow::bail!(
                "{file}: [jobs] executing_on_restart = \"{other}\" is not \"requeue\" or \"error\""
            ),
        };
        c.max_active_per_owner = self.max_active_per_owner.unwrap_or(c.max_active_per_owner);
        c.max_running_per_owner = self
            .max_running_per_owner
            .unwrap_or(c.max_running_per_owner);
        let days = |d: u64| d.saturating_mul(86_400);
        c.destruction_seconds = self.destruction_days.map_or(c.destruction_seconds, days);
        c.max_destruction_seconds = self
            .max_destruction_days
            .map_or(c.max_destruction_seconds.max(c.destruction_seconds), days);
        if let Some(queues) = &self.queues {
            c.queues = queues
                .iter()
                .map(|q| QueueConfig {
                    name: q.name.clone(),
                    workers: q.workers,
                    max_seconds: q.max_seconds,
                    max_queued: q.max_queued.unwrap_or(10_000),
                })
                .collect();
        }
        c.check()
            .map_err(|e| anyhow::anyhow!("{file}: [jobs] {e}"))?;
        Ok(c)
    }

    /// The owner header, checked.
    pub(crate) fn owner_header(
        &self,
        file: &str,
    ) -> anyhow::Result<Option<tap_server::HeaderName>> {
        self.owner_header
            .as_deref()
            .map(|h| {
                h.parse().map_err(|_| {
                    anyhow::anyhow!(
                        "{file}: [jobs] owner_header \"{h}\" is not an HTTP header name"
                    )
                })
            })
            .transpose()
    }
}

#[derive(Subcommand)]
pub(crate) enum JobsCommand {
    /// List every owner's jobs, oldest first.
    List {
        /// Only this owner's jobs ("" for the anonymous owner).
        #[arg(long)]
        owner: Option<String>,
        /// Only jobs in this phase (repeat for several).
        #[arg(long)]
        phase: Vec<String>,
        #[command(flatten)]
        data: DataArg,
    },
    /// Show one job whole.
    Show {
        /// The job's identifier.
        id: String,
        #[command(flatten)]
        data: DataArg,
    },
    /// Abort a job (an executing one is stopped by the running service).
    Abort {
        /// The job's identifier.
        id: String,
        #[command(flatten)]
        data: DataArg,
    },
    /// Delete a job and its result.
    Delete {
        /// The job's identifier.
        id: String,
        #[command(flatten)]
        data: DataArg,
    },
}

fn open(data: &DataArg) -> anyhow::Result<(Store, DataDir)> {
    let dir = DataDir::open(&data.data)
        .with_context(|| format!("cannot open the data directory {}", data.data.display()))?;
    let store = Store::open(&dir.state_file())?;
    Ok((store, dir))
}

fn id_of(text: &str) -> anyhow::Result<JobId> {
    JobId::parse(text).ok_or_else(|| anyhow::anyhow!("\"{text}\" is not a job identifier"))
}

pub(crate) fn run(command: JobsCommand) -> anyhow::Result<ExitCode> {
    match command {
        JobsCommand::List { owner, phase, data } => {
            let (store, _) = open(&data)?;
            let phases = phase
                .iter()
                .map(|p| Phase::parse(p).ok_or_else(|| anyhow::anyhow!("{p} is not a UWS phase")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let viewer = match owner {
                Some(o) => Viewer::Owner((!o.is_empty()).then_some(o)),
                None => Viewer::Admin,
            };
            let filter = ListFilter {
                phases: if phases.is_empty() {
                    Phase::ALL.to_vec()
                } else {
                    phases
                },
                ..ListFilter::default()
            };
            println!("id\tphase\towner\tcreated\trunid");
            for j in store.list(&viewer, &filter)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    j.id,
                    j.phase,
                    j.owner.as_deref().unwrap_or("(anonymous)"),
                    j.creation_time.to_iso(),
                    j.run_id.unwrap_or_default()
                );
            }
        }
        JobsCommand::Show { id, data } => {
            let (store, _) = open(&data)?;
            let id = id_of(&id)?;
            let j = store
                .get(&id, &Viewer::Admin)?
                .ok_or_else(|| anyhow::anyhow!("there is no job {id}"))?;
            let time = |t: Option<Millis>| t.map(Millis::to_iso).unwrap_or_else(|| "-".into());
            println!("id:          {}", j.id);
            println!("phase:       {}", j.phase);
            println!(
                "owner:       {}",
                j.owner.as_deref().unwrap_or("(anonymous)")
            );
            println!("run id:      {}", j.run_id.as_deref().unwrap_or("-"));
            println!("queue:       {}", j.queue);
            println!("created:     {}", j.creation_time.to_iso());
            println!("started:     {}", time(j.start_time));
            println!("ended:       {}", time(j.end_time));
            println!("quote:       {}", time(j.quote));
            println!("duration:    {} s at most", j.execution_seconds);
            println!("destruction: {}", j.destruction.to_iso());
            for (k, v) in &j.parameters {
                println!("parameter:   {k} = {v}");
            }
            for r in &j.results {
                println!(
                    "result:      {} ({}, {} rows, {} bytes{})",
                    r.id,
                    r.mime_type,
                    r.rows,
                    r.size,
                    if r.overflow { ", cut at MAXREC" } else { "" }
                );
            }
            if let Some(e) = &j.error {
                println!("error:       {} ({})", e.message, e.kind.as_str());
            }
        }
        JobsCommand::Abort { id, data } => {
            let (store, _) = open(&data)?;
            let id = id_of(&id)?;
            match uws_jobs::abort_from_admin(&store, &id)? {
                AdminAction::Done => println!("job {id} aborted"),
                AdminAction::Requested => {
                    println!("job {id} is executing; the service stops it within a few seconds")
                }
                AdminAction::AlreadyEnded(p) => println!("job {id} had already ended ({p})"),
            }
        }
        JobsCommand::Delete { id, data } => {
            let (store, dir) = open(&data)?;
            let id = id_of(&id)?;
            match uws_jobs::delete_from_admin(&store, &dir.results_folder(), &id)? {
                AdminAction::Requested => println!(
                    "job {id} is executing; the service stops and deletes it within a few seconds"
                ),
                _ => println!("job {id} deleted"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
