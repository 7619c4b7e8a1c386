//! `corvus adql check`: parse, validate and translate a query, as a user or
//! a script would before sending it. Exit 0 and the translated SQL on stdout
//! when the query is valid; exit 1 and the positioned error on stderr when not.

use crate::catalog_dir::load_catalog;
use adql_planner::translate;
use anyhow::Context;
use catalog_model::{AllowAll, StaticCatalog};
use clap::Subcommand;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub(crate) enum AdqlCommand {
    /// Check a query: print the SQL it translates to (exit 0) or where and why it is wrong (exit 1).
    Check {
        /// The ADQL query, or - to read it from standard input.
        query: String,
        /// Validate names and types against the tables of this data directory.
        #[arg(long, value_name = "DIR")]
        catalog: Option<PathBuf>,
        /// Also print the result columns with their types and units.
        #[arg(long)]
        columns: bool,
    },
}

pub(crate) fn run(cmd: AdqlCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AdqlCommand::Check {
            query,
            catalog,
            columns,
        } => check(&query, catalog, columns),
    }
}

fn check(query: &str, catalog: Option<PathBuf>, columns: bool) -> anyhow::Result<ExitCode> {
    let text = if query == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the query from standard input")?;
        s
    } else {
        query.to_string()
    };
    let catalog = match catalog {
        Some(dir) => load_catalog(&dir)?,
        None => StaticCatalog::open_world(),
    };
    match translate(&text, &catalog, &AllowAll) {
        Ok(t) => {
            for w in &t.warnings {
                eprintln!("{w}");
            }
            println!("{}", t.sql);
            if columns {
                for c in &t.columns {
                    let unit = c.meta.unit.as_deref().unwrap_or("");
                    let ucd = c.meta.ucd.as_deref().unwrap_or("");
                    println!("-- {}\t{:?}\t{unit}\t{ucd}", c.name, c.ty);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            if let Some((line, column)) = e.position()
                && let Some(src) = text.lines().nth(line - 1)
            {
                eprintln!("  {src}");
                let pad: String = src
                    .chars()
                    .take(column - 1)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                eprintln!("  {pad}^");
            }
            Ok(ExitCode::from(1))
        }
    }
}
