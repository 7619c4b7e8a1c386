//! `corvus export SCHEMA.TABLE`: a published table written out whole, with
//! all its column metadata, through the same writers the TAP service uses
//! (the successor of Daiquiri's mysqldump-vo). The rows stream from the
//! Parquet files to the output; a file is written under a temporary name
//! and renamed when complete, so a failed export leaves nothing behind.

use crate::data::{DataArg, engine_for};
use anyhow::{Context, bail};
use catalog_model::AllowAll;
use clap::Args;
use query_engine::{Ending, EngineConfig, FileSink, QueryOptions, WriteSink, write_result};
use std::path::PathBuf;
use std::process::ExitCode;
use table_writers::Format;

#[derive(Args)]
pub(crate) struct ExportArgs {
    /// The table, as SCHEMA.TABLE.
    table: String,
    /// votable, binary2, fits, csv, tsv, parquet or json (default: from the
    /// output file's extension, else votable).
    #[arg(long)]
    format: Option<String>,
    /// The output file (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    data: DataArg,
}

/// A format by the names TAP knows, or a one-line error listing them.
pub(crate) fn parse_format(name: &str) -> anyhow::Result<Format> {
    match Format::parse(name) {
        Some(f) => Ok(f),
        None => bail!(
            "unknown format '{name}'; use one of {}",
            Format::names().join(", ")
        ),
    }
}

fn format_of(args: &ExportArgs) -> anyhow::Result<Format> {
    let name = match (&args.format, &args.output) {
        (Some(f), _) => f.clone(),
        (None, Some(o)) => match o.extension().and_then(|e| e.to_str()) {
            Some("vot" | "xml") => "votable".into(),
            Some("fits" | "fit") => "fits".into(),
            Some(e) => e.to_string(),
            None => "votable".into(),
        },
        (None, None) => "votable".into(),
    };
    parse_format(&name)
}

pub(crate) async fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let format = format_of(&args)?;
    let (schema, table) = crate::data::split_table(&args.table)?;
    let (schema, table) = (schema.as_str(), table.as_str());
    let dir = crate::data::open_data_dir(&args.data.data)?;
    if !dir.exists(schema, table)? {
        bail!("no table {}; `corvus tables` lists them", args.table);
    }
    let engine = engine_for(&dir, EngineConfig::default()).await?;
    let adql = format!(
        "SELECT * FROM {}.{}",
        adql_syntax::name_as_written(schema),
        adql_syntax::name_as_written(table)
    );
    let t = engine.translate(&adql, &AllowAll)?;
    let stream = engine.execute(&t, QueryOptions::default()).await?;
    let writer = format.writer(stream.schema(), &adql)?;
    let lane = stream.lane();
    let output = args.output.clone();
    // Written on the engine's pool, through the same pipeline as every
    // result; a file appears under its name only once it is complete.
    let written = engine
        .spawn(lane, async move {
            match output {
                Some(path) => {
                    let mut sink = FileSink::create(&path)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    let written = write_result(stream, writer, &mut sink).await?;
                    if matches!(written.ending, Ending::Complete) {
                        sink.commit()
                            .with_context(|| format!("cannot write {}", path.display()))?;
                    }
                    anyhow::Ok(written)
                }
                None => {
                    let mut sink = WriteSink(std::io::BufWriter::new(std::io::stdout()));
                    Ok(write_result(stream, writer, &mut sink).await?)
                }
            }
        })?
        .await??;
    match written.ending {
        Ending::Failed(e) => bail!(
            "the export failed after {} rows: {}",
            written.rows,
            e.user_message()
        ),
        _ => Ok(ExitCode::SUCCESS),
    }
}
