//! The data-directory verbs: `ingest`, `tables`, `drop`, `query`.

use anyhow::{Context, bail};
use catalog_model::AllowAll;
use catalog_store::DataDir;
use clap::Args;
use query_engine::{Ending, Engine, EngineConfig, QueryOptions, WriteSink, write_result};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use table_writers::{DelimitedWriter, ResultWriter};

/// Where the data directory is.
#[derive(Args, Clone)]
pub(crate) struct DataArg {
    /// The data directory (created if missing).
    #[arg(
        long,
        value_name = "DIR",
        env = "CORVUS_DATA",
        default_value = "corvus-data"
    )]
    pub(crate) data: PathBuf,
}

#[derive(Args)]
pub(crate) struct IngestArgs {
    /// Input files, read in order into one table (.gz is decompressed).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The table to create, as SCHEMA.TABLE (default: the descriptor's [table] schema and name).
    #[arg(long, value_name = "SCHEMA.TABLE")]
    table: Option<String>,
    /// Print a draft descriptor inferred from the data instead of ingesting.
    #[arg(long)]
    describe: bool,
    /// Table descriptor: TOML (types, units, UCDs, derived columns), or a
    /// CDS/VizieR ReadMe with a byte-by-byte description of the file.
    #[arg(long, value_name = "FILE")]
    meta: Option<PathBuf>,
    /// Replace the table if it exists.
    #[arg(long, conflicts_with = "append")]
    replace: bool,
    /// Add the rows to an existing table with the same columns.
    #[arg(long)]
    append: bool,
    /// Skip up to N malformed rows of an ASCII table, listing them, instead of stopping.
    #[arg(long, value_name = "N", default_value_t = 0)]
    skip_bad_rows: usize,
    /// Refuse the input when a column's type cannot be stored (complex
    /// numbers, bit arrays, ...) instead of leaving the column out with a warning.
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    data: DataArg,
}

/// Expands `*` and `?` in file arguments the shell left alone (quoted, or on
/// systems without globbing), in sorted order.
fn expand_globs(files: Vec<PathBuf>) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for f in files {
        let text = f.to_string_lossy().into_owned();
        if !text.contains(['*', '?', '[']) {
            out.push(f);
            continue;
        }
        let mut matched: Vec<PathBuf> = glob::glob(&text)
            .with_context(|| format!("bad file pattern {text}"))?
            .filter_map(Result::ok)
            .collect();
        if matched.is_empty() {
            bail!("no file matches {text}");
        }
        matched.sort();
        out.extend(matched);
    }
    Ok(out)
}

pub(crate) fn split_table(name: &str) -> anyhow::Result<(String, String)> {
    match name.split_once('.') {
        Some((s, t)) if !s.is_empty() && !t.is_empty() && !t.contains('.') => {
            Ok((s.to_string(), t.to_string()))
        }
        _ => bail!("table name '{name}' must be SCHEMA.TABLE, e.g. hip.main"),
    }
}

pub(crate) async fn ingest(args: IngestArgs) -> anyhow::Result<ExitCode> {
    let descriptor = match &args.meta {
        Some(p) => {
            let first = args
                .files
                .first()
                .and_then(|f| f.file_name())
                .map(|n| n.to_string_lossy().into_owned());
            ingest::descriptor::Descriptor::load_for(p, first.as_deref().unwrap_or(""))?
        }
        None => Default::default(),
    };
    // --table, else the descriptor's [table] schema and name.
    let (schema, table) = match (
        &args.table,
        &descriptor.table.schema,
        &descriptor.table.name,
    ) {
        (Some(t), _, _) => split_table(t)?,
        (None, Some(s), Some(n)) => (s.clone(), n.clone()),
        (None, _, _) if args.describe => ("myschema".to_string(), "mytable".to_string()),
        _ => bail!(
            "name the table: --table SCHEMA.TABLE (or schema and name in the descriptor's [table])"
        ),
    };
    let rows_read = Arc::new(AtomicU64::new(0));
    let req = ingest::Request {
        files: expand_globs(args.files)?,
        schema,
        table,
        descriptor,
        mode: if args.replace {
            ingest::Mode::Replace
        } else if args.append {
            ingest::Mode::Append
        } else {
            ingest::Mode::Create
        },
        rows_read: Some(Arc::clone(&rows_read)),
        skip_bad_rows: args.skip_bad_rows,
        strict: args.strict,
    };
    if args.describe {
        print!("{}", ingest::describe::describe(&req).await?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut dir = open_data_dir(&args.data.data)?;
    let reporter = Reporter::start(Arc::clone(&rows_read), ingest::estimate_rows(&req));
    let outcome = ingest::ingest(&mut dir, &req).await;
    reporter.stop();
    let report = outcome?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if !report.skipped.is_empty() {
        eprintln!("skipped {} bad rows:", report.skipped.len());
        for s in report.skipped.iter().take(20) {
            eprintln!("  {s}");
        }
        if report.skipped.len() > 20 {
            eprintln!("  ... and {} more", report.skipped.len() - 20);
        }
    }
    let r = &report.record;
    let position = match &r.info.position {
        Some(p) => format!("indexed by position ({}, {})", p.ra, p.dec),
        None => "no main position found, so not indexed by position".to_string(),
    };
    println!(
        "{}: {} rows, {} columns, {}, {:.1} s ({:.0} rows/s), {}",
        r.info.qualified_name(),
        r.row_count,
        r.info.columns.len(),
        human_size(r.size_bytes),
        report.seconds,
        r.row_count as f64 / report.seconds.max(1e-9),
        position
    );
    Ok(ExitCode::SUCCESS)
}

/// Opens the data directory at `root`, printing as warnings what its
/// cleanup could not remove: the command goes on without (`serve` logs
/// them instead, through its tracing subscriber).
pub(crate) fn open_data_dir(root: &Path) -> anyhow::Result<DataDir> {
    let dir = DataDir::open(root)
        .with_context(|| format!("cannot open the data directory {}", root.display()))?;
    for w in dir.cleanup_warnings() {
        eprintln!("warning: {w}");
    }
    Ok(dir)
}

pub(crate) fn tables(data: DataArg) -> anyhow::Result<ExitCode> {
    let dir = open_data_dir(&data.data)?;
    let records = dir.records()?;
    if records.is_empty() {
        println!(
            "no tables in {} (add one with corvus ingest)",
            data.data.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let width = records
        .iter()
        .map(|r| r.info.qualified_name().len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "{:width$}  {:>12}  {:>7}  {:>10}  description",
        "table", "rows", "columns", "size"
    );
    for r in records {
        println!(
            "{:width$}  {:>12}  {:>7}  {:>10}  {}",
            r.info.qualified_name(),
            r.row_count,
            r.info.columns.len(),
            human_size(r.size_bytes),
            r.info.description.unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn drop(table: &str, data: DataArg) -> anyhow::Result<ExitCode> {
    let (schema, name) = split_table(table)?;
    let mut dir = open_data_dir(&data.data)?;
    dir.drop_table(&schema, &name)?;
    println!("dropped {schema}.{name}");
    Ok(ExitCode::SUCCESS)
}

/// An engine over every table of the data directory, TAP_SCHEMA included.
pub(crate) async fn engine_for(dir: &DataDir, config: EngineConfig) -> anyhow::Result<Engine> {
    Ok(Engine::open(dir.snapshot()?, config).await?)
}

/// `corvus query`: the result through the one pipeline, tab-separated
/// with NULL shown as NULL, or in `format`, on standard output.
/// How `corvus query` runs a query.
pub(crate) struct QueryHow {
    /// The output format (tab-separated text if `None`).
    pub(crate) format: Option<String>,
    /// On the bundled demo catalog.
    pub(crate) demo: bool,
    /// Print the plan instead of the result.
    pub(crate) explain: bool,
    pub(crate) options: adql_planner::TranslateOptions,
}

pub(crate) async fn query(adql: &str, how: QueryHow, data: DataArg) -> anyhow::Result<ExitCode> {
    let QueryHow {
        format,
        demo,
        explain,
        options,
    } = how;
    let format = format
        .as_deref()
        .map(crate::export::parse_format)
        .transpose()?;
    // The demo lives in a throw-away directory, removed when the query is done.
    let demo_dir = if demo {
        Some(demo_directory("demo").await?.0)
    } else {
        None
    };
    let root = demo_dir.as_ref().map_or(data.data.clone(), |t| t.0.clone());
    let dir = open_data_dir(&root)?;
    let engine = engine_for(&dir, EngineConfig::default()).await?;
    let t = match engine.translate_with(adql, &AllowAll, options) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(1));
        }
    };
    for w in &t.warnings {
        eprintln!("{w}");
    }
    if explain {
        println!("SQL:\n{}\n\nPlan:\n{}", t.sql, engine.explain(&t).await?);
        return Ok(ExitCode::SUCCESS);
    }
    let stream = engine.execute(&t, QueryOptions::default()).await?;
    let writer: Box<dyn ResultWriter> = match format {
        Some(f) => f.writer(stream.schema(), adql)?,
        None => Box::new(DelimitedWriter::new(stream.schema(), b'\t').with_null("NULL")),
    };
    let lane = stream.lane();
    let written = engine
        .spawn(lane, async move {
            let mut sink = WriteSink(std::io::BufWriter::new(std::io::stdout()));
            write_result(stream, writer, &mut sink).await
        })?
        .await??;
    if let Ending::Failed(e) = written.ending {
        anyhow::bail!(
            "the query failed after {} rows: {}",
            written.rows,
            e.user_message()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn human_size(bytes: u64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Shows ingest progress: a live bar on a terminal (rows, rows/s, elapsed),
/// a plain log line every five seconds otherwise.
struct Reporter {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reporter {
    fn start(rows: Arc<AtomicU64>, total: Option<u64>) -> Reporter {
        let done = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&done);
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let rate = |n: u64| n as f64 / started.elapsed().as_secs_f64().max(1e-3);
            if std::io::stderr().is_terminal() {
                // With a known (or estimated) row count: a bar and an ETA.
                let (bar, template) = match total {
                    Some(n) => (
                        indicatif::ProgressBar::new(n),
                        "{bar:30} {human_pos}/~{human_len} rows, {msg}, ETA {eta}",
                    ),
                    None => (
                        indicatif::ProgressBar::new_spinner(),
                        "{spinner} {human_pos} rows read, {msg}, {elapsed}",
                    ),
                };
                bar.set_style(
                    indicatif::ProgressStyle::with_template(template)
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                while !stop.load(Ordering::Relaxed) {
                    let n = rows.load(Ordering::Relaxed);
                    bar.set_position(n);
                    bar.set_message(format!("{:.0} rows/s", rate(n)));
                    std::thread::sleep(Duration::from_millis(100));
                }
                bar.finish_and_clear();
            } else {
                let mut last = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    if last.elapsed() >= Duration::from_secs(5) {
                        last = Instant::now();
                        let n = rows.load(Ordering::Relaxed);
                        let of = total.map(|t| format!(" of about {t}")).unwrap_or_default();
                        eprintln!("ingest: {n}{of} rows read ({:.0} rows/s)", rate(n));
                    }
                }
            }
        });
        Reporter {
            done,
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A throw-away data directory (`corvus-<purpose>-<pid>` in the system's
/// temporary folder) with the bundled demo catalog published in it, removed
/// when the guard goes; and the demo's ingest report.
pub(crate) async fn demo_directory(purpose: &str) -> anyhow::Result<(TempDir, ingest::Report)> {
    let tmp = std::env::temp_dir().join(format!("corvus-{purpose}-{}", std::process::id()));
    let guard = TempDir(tmp.clone());
    let mut dir = DataDir::open(&tmp).context("cannot create the demo data directory")?;
    let report = ingest::demo::ingest_demo(&mut dir).await?;
    Ok((guard, report))
}

/// A directory removed when dropped.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
