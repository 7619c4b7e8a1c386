//! `corvus`: the one binary. `main` only parses arguments and dispatches to
//! a module per verb; each returns `anyhow::Result` and errors end in one
//! readable line on stderr and a non-zero exit.

mod adql;
mod catalog_dir;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Adql(cmd) => adql::run(cmd),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("corvus: {e:#}");
            ExitCode::from(2)
        }
    }
}
