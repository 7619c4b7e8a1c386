//! `corvus`: the one binary. `main` only parses arguments and dispatches to
//! a module per verb; each returns `anyhow::Result` and errors end in one
//! readable line on stderr and a non-zero exit.
//!
//! **Boundary:** the only crate that uses `anyhow`. It knows no HTTP (`serve`
//! calls `tap_server::serve`), no DataFusion session (queries go through
//! `query_engine::Engine`) and not the data directory's layout (that is
//! `catalog_store`'s).

mod adql;
mod bench;
mod bench_jobs;
mod bench_load;
mod catalog_dir;
mod cluster_nodes;
mod coverage;
mod data;
mod export;
mod jobs;
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc, as DataFusion's and Ballista's own binaries use: a query
/// allocates and frees many small buffers from several threads, where
/// glibc's allocator took 15 % of a key lookup's CPU time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Corvus publishes astronomical catalogs through IVOA TAP and ADQL.
#[derive(Parser)]
#[command(name = "corvus", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with ADQL queries.
    #[command(subcommand)]
    Adql(adql::AdqlCommand),
    /// Serve the published tables through IVOA TAP (prints the URL).
    Serve(serve::ServeArgs),
    /// Run the scheduler of a Ballista cluster that `serve --cluster` executes queries on.
    Scheduler(cluster_nodes::SchedulerArgs),
    /// Run a worker of a Ballista cluster (it reads the tables by the paths the scheduler sends).
    Worker(cluster_nodes::WorkerArgs),
    /// Publish a catalog file (fixed-width ASCII, CSV/TSV, FITS, VOTable, Parquet) as a table.
    Ingest(data::IngestArgs),
    /// Write a published table out whole with its metadata (VOTable, FITS, CSV, Parquet, ...).
    Export(export::ExportArgs),
    /// Write a positioned table's sky coverage as an IVOA MOC (FITS, JSON or ASCII).
    Moc(coverage::MocArgs),
    /// List the published tables.
    Tables {
        #[command(flatten)]
        data: data::DataArg,
    },
    /// Remove a published table.
    Drop {
        /// The table, as SCHEMA.TABLE.
        table: String,
        #[command(flatten)]
        data: data::DataArg,
    },
    /// The asynchronous jobs of every owner: list, show, abort, delete.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Measure speed and memory (prints a table; not part of the tests).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run an ADQL query on the published tables and print the result (tab-separated).
    Query {
        /// The ADQL query.
        query: String,
        /// Write the result as votable, binary2, fits, csv, tsv, parquet or
        /// json (default: tab-separated text, NULL shown as NULL).
        #[arg(long)]
        format: Option<String>,
        /// Query the bundled demo catalog (Hipparcos, as hip.main) in a throw-away data directory.
        #[arg(long)]
        demo: bool,
        /// Print the SQL and DataFusion's execution plan instead of running the query.
        #[arg(long)]
        explain: bool,
        /// Translate without the sky index (no HEALPix ranges, crossmatches
        /// as plain joins): slower, for comparing results and plans.
        #[arg(long)]
        no_sky_index: bool,
        #[command(flatten)]
        data: data::DataArg,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Ingest a generated 10-column numeric CSV and report rows/s and peak memory.
    Ingest {
        /// Number of rows.
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
    },
    /// Serve the demo catalog on loopback and report result throughput per output format.
    Serve {
        /// Fetches of each format.
        #[arg(long, default_value_t = 3)]
        repeat: u32,
    },
    /// Submit, run and fetch asynchronous jobs from concurrent clients, and
    /// time dispatch, short jobs beside a long one, and a 100,000-job list.
    Jobs {
        /// Concurrent clients.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Jobs each client runs.
        #[arg(long, default_value_t = 50)]
        jobs: usize,
        /// Jobs stored for the listing.
        #[arg(long, default_value_t = 100_000)]
        listed: usize,
    },
    /// Saturate the service with crossmatches and report how fast it still
    /// answers, and how fast queries stop when their clients go or it shuts down.
    Load {
        /// Crossmatches to run at once.
        #[arg(long, default_value_t = 2)]
        heavy: usize,
        /// Availability requests to time (other documents: a fifth of this).
        #[arg(long, default_value_t = 500)]
        requests: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("corvus: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = match cli.command {
        Command::Adql(cmd) => adql::run(cmd),
        Command::Ingest(args) => runtime.block_on(data::ingest(args)),
        Command::Serve(args) => runtime.block_on(serve::serve(args)),
        Command::Scheduler(args) => runtime.block_on(cluster_nodes::scheduler(args)),
        Command::Worker(args) => runtime.block_on(cluster_nodes::worker(args)),
        Command::Export(args) => runtime.block_on(export::export(args)),
        Command::Moc(args) => runtime.block_on(coverage::moc(args)),
        Command::Tables { data } => data::tables(data),
        Command::Drop { table, data } => data::drop(&table, data),
        Command::Jobs(cmd) => jobs::run(cmd),
        Command::Query {
            query,
            format,
            demo,
            explain,
            no_sky_index,
            data,
        } => {
            let how = data::QueryHow {
                format,
                demo,
                explain,
                options: adql_planner::TranslateOptions {
                    sky_index: !no_sky_index,
                },
            };
            runtime.block_on(data::query(&query, how, data))
        }
        Command::Bench(BenchCommand::Ingest { rows }) => runtime.block_on(bench::ingest(rows)),
        Command::Bench(BenchCommand::Serve { repeat }) => runtime.block_on(bench::serve(repeat)),
        Command::Bench(BenchCommand::Jobs {
            clients,
            jobs,
            listed,
        }) => runtime.block_on(bench_jobs::jobs(clients, jobs, listed)),
        Command::Bench(BenchCommand::Load { heavy, requests }) => {
            runtime.block_on(bench_load::load(heavy, requests))
        }
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("corvus: {e:#}");
            ExitCode::from(2)
        }
    }
}
