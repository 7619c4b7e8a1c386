//! `corvus moc SCHEMA.TABLE`: a positioned table's sky coverage as an IVOA
//! MOC, in FITS, JSON or ASCII (the engine computes it, `query_engine::
//! Coverage` writes it). A file is written under a temporary name and
//! renamed when complete, so a failure leaves nothing behind.

use crate::data::{DataArg, open_data_dir, split_table};
use anyhow::{Context, bail};
use clap::Args;
use query_engine::{
    DEFAULT_ORDER, Engine, EngineConfig, FileSink, MAX_ORDER, MocFormat, ResultSink,
};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(crate) struct MocArgs {
    /// The table, as SCHEMA.TABLE; it must have a main position.
    table: String,
    /// The HEALPix order of the cells, 0 to 29 (default 8: cells of
    /// 13.7 arcminutes; each order up halves the cells' side).
    #[arg(long, value_name = "N")]
    order: Option<u32>,
    /// fits, json or ascii (default: from the output file's extension,
    /// .fits, .json, .txt or .moc; else FITS into a file, JSON on standard output).
    #[arg(long)]
    format: Option<String>,
    /// The output file (default: standard output; FITS only when it is not a terminal).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    data: DataArg,
}

/// `--format`, else the output's extension, else FITS for a file (the
/// MOC standard's own serialisation) and JSON for standard output
/// (readable on a terminal, and what Aladin Lite takes).
fn format_of(args: &MocArgs) -> anyhow::Result<MocFormat> {
    if let Some(name) = &args.format {
        return MocFormat::parse(name).with_context(|| {
            format!(
                "unknown MOC format '{name}'; use one of {}",
                MocFormat::names()
            )
        });
    }
    Ok(match &args.output {
        Some(path) => path
            .extension()
            .and_then(|e| e.to_str())
            .and_then(MocFormat::from_extension)
            .unwrap_or(MocFormat::Fits),
        None => MocFormat::Json,
    })
}

fn order_of(args: &MocArgs) -> anyhow::Result<u8> {
    match args.order {
        None => Ok(DEFAULT_ORDER),
        Some(n) => match u8::try_from(n) {
            Ok(o) if o <= MAX_ORDER => Ok(o),
            _ => bail!("HEALPix order {n} is out of range: give 0 to {MAX_ORDER}"),
        },
    }
}

pub(crate) async fn moc(args: MocArgs) -> anyhow::Result<ExitCode> {
    let format = format_of(&args)?;
    let order = order_of(&args)?;
    // Checked before any work: binary bytes would garble the terminal.
    if args.output.is_none() && format.is_binary() && std::io::stdout().is_terminal() {
        bail!(
            "a FITS MOC is binary: write it to a file with --output FILE, or ask for --format json or ascii"
        );
    }
    let (schema, table) = split_table(&args.table)?;
    let dir = open_data_dir(&args.data.data)?;
    // The table as the catalog spells it, whatever the case typed.
    let record = dir
        .records()?
        .into_iter()
        .find(|r| {
            r.info.schema.eq_ignore_ascii_case(&schema) && r.info.name.eq_ignore_ascii_case(&table)
        })
        .with_context(|| format!("no table {}; `corvus tables` lists them", args.table))?;
    let (schema, table) = (record.info.schema, record.info.name);
    // An engine over this one table: no other table's files are opened.
    let engine = Engine::open(dir.snapshot_of(&schema, &table)?, EngineConfig::default()).await?;
    let coverage = engine.coverage(&schema, &table, order).await?;
    let bytes = coverage.to_bytes(format)?;
    match &args.output {
        Some(path) => {
            let fail = || format!("cannot write {}", path.display());
            let mut sink = FileSink::create(path).with_context(fail)?;
            let size = bytes.len();
            sink.write(bytes).await.with_context(fail)?;
            sink.finish().await.with_context(fail)?;
            sink.commit().with_context(fail)?;
            println!(
                "{schema}.{table}: {} cells of order {order} in {} ranges, {:.3} % of the sky; {} bytes of {} in {}",
                coverage.cell_count(),
                coverage.ranges(),
                coverage.sky_fraction() * 100.0,
                size,
                format.name(),
                path.display()
            );
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)
                .and_then(|()| out.flush())
                .context("cannot write to standard output")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
