//! Jobs in SQLite: one row per job in the data directory's state file,
//! written before anything is said to the client, so that a job the
//! service answered for survives `kill -9` (WAL with `synchronous=NORMAL`
//! loses nothing when the process dies, only on a power cut).
//!
//! Every change of phase is a conditional UPDATE (`WHERE phase IN (...)`):
//! two actors racing (a worker finishing, an owner aborting, the command
//! line deleting) cannot both win, and the loser sees that it lost.
//!
//! Two connections: one writes, one reads, so that a long list does not
//! hold up a job's progress (WAL lets a reader and a writer work at once).

use crate::model::{
    Job, JobFailure, JobId, JobResult, JobSummary, ListFilter, Parameter, Phase, Viewer,
};
use crate::time::Millis;
use crate::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use std::path::Path;
use std::sync::Mutex;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS uws_jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,            -- '' for the anonymous owner
    run_id TEXT,
    phase TEXT NOT NULL,
    queue TEXT NOT NULL,
    parameters TEXT NOT NULL,       -- JSON [[name, value], ...]
    creation_time INTEGER NOT NULL, -- ms since 1970
    queued_time INTEGER,
    start_time INTEGER,
    end_time INTEGER,
    execution_seconds INTEGER NOT NULL,
    destruction INTEGER NOT NULL,
    quote INTEGER,
    estimated_rows INTEGER,
    error TEXT,                     -- JSON JobFailure
    results TEXT NOT NULL,          -- JSON [JobResult, ...]
    abort_requested INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
-- The owner's job list, in creation order (ties by id) and read from the
-- index alone: no table row and no sort.
CREATE INDEX IF NOT EXISTS uws_jobs_by_owner_time
    ON uws_jobs (owner, creation_time, id, phase, run_id);
CREATE INDEX IF NOT EXISTS uws_jobs_by_phase ON uws_jobs (phase);
CREATE INDEX IF NOT EXISTS uws_jobs_by_destruction ON uws_jobs (destruction);
";

/// The jobs table of a state file.
pub struct Store {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

const JOB_COLUMNS: &str = "id, owner, run_id, phase, queue, parameters, creation_time, queued_time, start_time, end_time, execution_seconds, destruction, quote, estimated_rows, error, results";

impl Store {
    /// Opens (creating if need be) the jobs table in the SQLite file `path`.
    pub fn open(path: &Path) -> Result<Store> {
        let open = || -> Result<Connection> {
            let c = Connection::open(path).map_err(|e| Error::store(path, e))?;
            c.busy_timeout(std::time::Duration::from_secs(10))
                .map_err(|e| Error::store(path, e))?;
            c.pragma_update(None, "journal_mode", "WAL")
                .map_err(|e| Error::store(path, e))?;
            c.pragma_update(None, "synchronous", "NORMAL")
                .map_err(|e| Error::store(path, e))?;
            Ok(c)
        };
        let writer = open()?;
        writer
            .execute_batch(SCHEMA)
            .map_err(|e| Error::store(path, e))?;
        let reader = open()?;
        Ok(Store {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    fn write<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let mut c = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut c).map_err(Error::Sql)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let c = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        f(&c).map_err(Error::Sql)
    }

    /// Stores a new job.
    pub fn insert(&self, job: &Job) -> Result<()> {
        let values = row_values(job)?;
        self.write(|c| {
            c.prepare_cached(&format!(
                "INSERT INTO uws_jobs ({JOB_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
            ))?
            .execute(values)?;
            Ok(())
        })
    }

    /// Stores many jobs in one transaction (benchmarks, imports).
    pub fn insert_many(&self, jobs: impl Iterator<Item = Job>) -> Result<()> {
        let mut c = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = c.transaction()?;
        {
            let mut insert = tx.prepare_cached(&format!(
                "INSERT INTO uws_jobs ({JOB_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
            ))?;
            for job in jobs {
                insert.execute(row_values(&job)?)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The job `id`, if it exists and `viewer` may see it.
    pub fn get(&self, id: &JobId, viewer: &Viewer) -> Result<Option<Job>> {
        let job = self.read(|c| {
            c.prepare_cached(&format!("SELECT {JOB_COLUMNS} FROM uws_jobs WHERE id = ?1"))?
                .query_row([id.as_str()], job_of_row)
                .optional()
        })?;
        Ok(job.filter(|j| viewer.sees(&j.owner)))
    }

    /// The `limit` most recent jobs `viewer` may see, whole and newest
    /// first (the web interface's job list, which shows more of each job
    /// than UWS's ShortJobDescription has).
    pub fn recent(&self, viewer: &Viewer, limit: u64) -> Result<Vec<Job>> {
        let mut sql = format!("SELECT {JOB_COLUMNS} FROM uws_jobs WHERE phase != 'ARCHIVED'");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Viewer::Owner(owner) = viewer {
            sql.push_str(" AND owner = ?");
            args.push(owner_key(owner).to_string().into());
        }
        sql.push_str(" ORDER BY creation_time DESC, id DESC LIMIT ?");
        args.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
        self.read(|c| {
            c.prepare_cached(&sql)?
                .query_map(params_from_iter(args), job_of_row)?
                .collect()
        })
    }

    /// The jobs `viewer` may see that pass `filter`, oldest first, or with
    /// LAST newest first (UWS 1.1 §2.2.2.1).
    pub fn list(&self, viewer: &Viewer, filter: &ListFilter) -> Result<Vec<JobSummary>> {
        self.fold(viewer, filter, Vec::new(), |list, j| {
            list.push(JobSummary {
                id: JobId::stored(j.id.to_string()),
                phase: j.phase,
                run_id: j.run_id.map(str::to_string),
                owner: j.owner.map(str::to_string),
                creation_time: j.creation_time,
            })
        })
    }

    /// Folds the jobs [`Store::list`] would return into `init`, each seen
    /// as borrowed text straight from SQLite's row: a list of 10^5 jobs is
    /// rendered without a copy of each.
    pub fn fold<A>(
        &self,
        viewer: &Viewer,
        filter: &ListFilter,
        init: A,
        mut f: impl FnMut(&mut A, &SummaryRef<'_>),
    ) -> Result<A> {
        let mut sql = String::from(
            "SELECT id, phase, run_id, owner, creation_time FROM uws_jobs WHERE 1 = 1",
        );
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Viewer::Owner(owner) = viewer {
            sql.push_str(" AND owner = ?");
            args.push(owner_key(owner).to_string().into());
        }
        if filter.phases.is_empty() {
            sql.push_str(" AND phase != 'ARCHIVED'");
        } else {
            push_phases(&mut sql, &mut args, &filter.phases);
        }
        if let Some(after) = filter.after {
            sql.push_str(" AND creation_time > ?");
            args.push(after.0.into());
        }
        match filter.last {
            Some(n) => {
                sql.push_str(" ORDER BY creation_time DESC, id DESC LIMIT ?");
                args.push(i64::try_from(n).unwrap_or(i64::MAX).into());
            }
            None => sql.push_str(" ORDER BY creation_time, id"),
        }
        self.read(|c| {
            let mut statement = c.prepare_cached(&sql)?;
            let mut rows = statement.query(params_from_iter(args))?;
            let mut acc = init;
            while let Some(row) = rows.next()? {
                let text = |i: usize| -> rusqlite::Result<Option<&str>> {
                    Ok(row.get_ref(i)?.as_str_or_null()?)
                };
                let job = SummaryRef {
                    id: text(0)?.unwrap_or_default(),
                    phase: text(1)?.and_then(Phase::parse).unwrap_or(Phase::Unknown),
                    run_id: text(2)?,
                    owner: text(3)?.filter(|o| !o.is_empty()),
                    creation_time: Millis(row.get(4)?),
                };
                f(&mut acc, &job);
            }
            Ok(acc)
        })
    }

    /// Moves job `id` from one of the phases `from` to `to`, applying
    /// `change` to its other columns; false if the job is gone or in
    /// another phase (someone else moved it first).
    pub fn transition(
        &self,
        id: &JobId,
        from: &[Phase],
        to: Phase,
        change: &Change,
    ) -> Result<bool> {
        self.update_where(id, from, Some(to), change)
    }

    /// Changes columns of job `id` while it is in one of `phases`; false
    /// if it is not (or gone).
    pub fn update(&self, id: &JobId, phases: &[Phase], change: &Change) -> Result<bool> {
        self.update_where(id, phases, None, change)
    }

    /// The one conditional UPDATE behind [`Store::transition`] and [`Store::update`].
    fn update_where(
        &self,
        id: &JobId,
        phases: &[Phase],
        to: Option<Phase>,
        change: &Change,
    ) -> Result<bool> {
        let mut sql = String::from("UPDATE uws_jobs SET id = id");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(to) = to {
            sql.push_str(", phase = ?");
            args.push(to.as_str().to_string().into());
        }
        change.append(&mut sql, &mut args)?;
        sql.push_str(" WHERE id = ?");
        args.push(id.as_str().to_string().into());
        push_phases(&mut sql, &mut args, phases);
        self.write(|c| Ok(c.prepare_cached(&sql)?.execute(params_from_iter(args))? == 1))
    }

    /// Removes job `id`'s row; false if it was not there.
    pub fn delete(&self, id: &JobId) -> Result<bool> {
        self.write(|c| {
            Ok(c.prepare_cached("DELETE FROM uws_jobs WHERE id = ?1")?
                .execute([id.as_str()])?
                == 1)
        })
    }

    /// Every job in one of `phases`, oldest first (recovery at start).
    pub fn in_phases(&self, phases: &[Phase]) -> Result<Vec<Job>> {
        let marks = vec!["?"; phases.len()].join(", ");
        self.read(|c| {
            let mut s = c.prepare(&format!(
                "SELECT {JOB_COLUMNS} FROM uws_jobs WHERE phase IN ({marks}) ORDER BY creation_time, id"
            ))?;
            let rows = s.query_map(params_from_iter(phases.iter().map(|p| p.as_str())), job_of_row)?;
            rows.collect()
        })
    }

    /// Up to `limit` jobs whose destruction time has passed, with their phases.
    pub fn expired(&self, now: Millis, limit: usize) -> Result<Vec<(JobId, Phase)>> {
        self.read(|c| {
            let mut s = c.prepare_cached(
                "SELECT id, phase FROM uws_jobs WHERE destruction <= ?1 ORDER BY destruction LIMIT ?2",
            )?;
            let rows = s.query_map(params![now.0, limit as i64], |row| {
                Ok((
                    JobId::stored(row.get(0)?),
                    phase_of(row, 1)?,
                ))
            })?;
            rows.collect()
        })
    }

    /// Executing jobs that the command line asked to abort.
    pub fn abort_requests(&self) -> Result<Vec<JobId>> {
        self.read(|c| {
            let mut s = c.prepare_cached(
                "SELECT id FROM uws_jobs WHERE abort_requested = 1 AND phase = 'EXECUTING'",
            )?;
            let rows = s.query_map([], |row| Ok(JobId::stored(row.get(0)?)))?;
            rows.collect()
        })
    }

    /// Every job's identifier (for the sweep of orphaned result folders).
    pub fn all_ids(&self) -> Result<std::collections::HashSet<String>> {
        self.read(|c| {
            let mut s = c.prepare("SELECT id FROM uws_jobs")?;
            let rows = s.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect()
        })
    }
}

/// A line of a job list, borrowed from the store's row.
#[derive(Debug, Clone, Copy)]
pub struct SummaryRef<'a> {
    /// The job's identifier.
    pub id: &'a str,
    /// Its phase.
    pub phase: Phase,
    /// The owner's label.
    pub run_id: Option<&'a str>,
    /// Its owner; `None`: anonymous.
    pub owner: Option<&'a str>,
    /// When it was created.
    pub creation_time: Millis,
}

/// Columns to set along with a phase change.
#[derive(Debug, Default, Clone)]
pub struct Change {
    /// Parameters, replaced whole.
    pub parameters: Option<Vec<Parameter>>,
    /// The queue.
    pub queue: Option<String>,
    /// When queued.
    pub queued_time: Option<Option<Millis>>,
    /// When started.
    pub start_time: Option<Option<Millis>>,
    /// When ended.
    pub end_time: Option<Option<Millis>>,
    /// The execution duration limit.
    pub execution_seconds: Option<u64>,
    /// The destruction time.
    pub destruction: Option<Millis>,
    /// The quote.
    pub quote: Option<Option<Millis>>,
    /// The estimate.
    pub estimated_rows: Option<Option<u64>>,
    /// The error.
    pub error: Option<Option<JobFailure>>,
    /// The results.
    pub results: Option<Vec<JobResult>>,
    /// The command line's request to abort.
    pub abort_requested: Option<bool>,
}

impl Change {
    fn append(&self, sql: &mut String, args: &mut Vec<rusqlite::types::Value>) -> Result<()> {
        use rusqlite::types::Value;
        let mut set = |column: &str, value: Value| {
            sql.push_str(&format!(", {column} = ?"));
            args.push(value);
        };
        let time = |t: Option<Millis>| t.map_or(Value::Null, |t| Value::Integer(t.0));
        if let Some(p) = &self.parameters {
            set("parameters", Value::Text(json(p)?));
        }
        if let Some(q) = &self.queue {
            set("queue", Value::Text(q.clone()));
        }
        if let Some(t) = self.queued_time {
            set("queued_time", time(t));
        }
        if let Some(t) = self.start_time {
            set("start_time", time(t));
        }
        if let Some(t) = self.end_time {
            set("end_time", time(t));
        }
        if let Some(s) = self.execution_seconds {
            set("execution_seconds", Value::Integer(s as i64));
        }
        if let Some(t) = self.destruction {
            set("destruction", Value::Integer(t.0));
        }
        if let Some(t) = self.quote {
            set("quote", time(t));
        }
        if let Some(n) = self.estimated_rows {
            set(
                "estimated_rows",
                n.map_or(Value::Null, |n| Value::Integer(n as i64)),
            );
        }
        if let Some(e) = &self.error {
            set(
                "error",
                e.as_ref()
                    .map(json)
                    .transpose()?
                    .map_or(Value::Null, Value::Text),
            );
        }
        if let Some(r) = &self.results {
            set("results", Value::Text(json(r)?));
        }
        if let Some(a) = self.abort_requested {
            set("abort_requested", Value::Integer(i64::from(a)));
        }
        Ok(())
    }
}

/// Appends ` AND phase IN (?, ...)` with `phases` as its arguments.
fn push_phases(sql: &mut String, args: &mut Vec<rusqlite::types::Value>, phases: &[Phase]) {
    sql.push_str(" AND phase IN (");
    for (i, p) in phases.iter().enumerate() {
        sql.push_str(if i == 0 { "?" } else { ", ?" });
        args.push(p.as_str().to_string().into());
    }
    sql.push(')');
}

/// A job's columns, in [`JOB_COLUMNS`]'s order.
fn row_values(job: &Job) -> Result<rusqlite::ParamsFromIter<Vec<rusqlite::types::Value>>> {
    use rusqlite::types::Value;
    let time = |t: Option<Millis>| t.map_or(Value::Null, |t| Value::Integer(t.0));
    let text = |t: Option<&String>| t.map_or(Value::Null, |t| Value::Text(t.clone()));
    Ok(params_from_iter(vec![
        Value::Text(job.id.as_str().to_string()),
        Value::Text(owner_key(&job.owner).to_string()),
        text(job.run_id.as_ref()),
        Value::Text(job.phase.as_str().to_string()),
        Value::Text(job.queue.clone()),
        Value::Text(json(&job.parameters)?),
        Value::Integer(job.creation_time.0),
        time(job.queued_time),
        time(job.start_time),
        time(job.end_time),
        Value::Integer(job.execution_seconds as i64),
        Value::Integer(job.destruction.0),
        time(job.quote),
        job.estimated_rows
            .map_or(Value::Null, |n| Value::Integer(n as i64)),
        job.error
            .as_ref()
            .map(json)
            .transpose()?
            .map_or(Value::Null, Value::Text),
        Value::Text(json(&job.results)?),
    ]))
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Corrupt(e.to_string()))
}

fn owner_key(owner: &Option<String>) -> &str {
    owner.as_deref().unwrap_or("")
}

fn owner_of(key: String) -> Option<String> {
    (!key.is_empty()).then_some(key)
}

fn phase_of(row: &Row<'_>, i: usize) -> rusqlite::Result<Phase> {
    let name: String = row.get(i)?;
    Ok(Phase::parse(&name).unwrap_or(Phase::Unknown))
}

fn from_json<T: serde::de::DeserializeOwned>(i: usize, text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn job_of_row(row: &Row<'_>) -> rusqlite::Result<Job> {
    let time = |i: usize| -> rusqlite::Result<Option<Millis>> {
        Ok(row.get::<_, Option<i64>>(i)?.map(Millis))
    };
    let parameters: String = row.get(5)?;
    let error: Option<String> = row.get(14)?;
    let results: String = row.get(15)?;
    Ok(Job {
        id: JobId::stored(row.get(0)?),
        owner: owner_of(row.get(1)?),
        run_id: row.get(2)?,
        phase: phase_of(row, 3)?,
        queue: row.get(4)?,
        parameters: from_json(5, &parameters)?,
        creation_time: Millis(row.get(6)?),
        queued_time: time(7)?,
        start_time: time(8)?,
        end_time: time(9)?,
        execution_seconds: row.get::<_, i64>(10)?.max(0) as u64,
        destruction: Millis(row.get(11)?),
        quote: time(12)?,
        estimated_rows: row.get::<_, Option<i64>>(13)?.map(|n| n.max(0) as u64),
        error: error.map(|e| from_json(14, &e)).transpose()?,
        results: from_json(15, &results)?,
    })
}
