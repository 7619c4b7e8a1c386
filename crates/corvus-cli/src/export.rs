//! `corvus export SCHEMA.TABLE`: a published table written out whole, with
//! all its column metadata, through the same writers the TAP service uses
//! (the successor of Daiquiri's mysqldump-vo). The rows stream from the
//! Parquet files to the output; a file is written under a temporary name
//! and renamed when complete, so a failed export leaves nothing behind.

use crate::data::{DataArg, engine_for};
use adql_planner::{AllowAll, with_metadata};
use anyhow::{Context, bail};
use catalog_store::DataDir;
use clap::Args;
use futures::StreamExt;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use table_writers::{Format, QueryStatus};

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
    match Format::parse(&name) {
        Some(f) => Ok(f),
        None => bail!(
            "unknown format '{name}'; use one of {}",
            Format::names().join(", ")
        ),
    }
}

pub(crate) async fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let format = format_of(&args)?;
    let Some((schema, table)) = args.table.split_once('.') else {
        bail!("name the table as SCHEMA.TABLE, e.g. hip.main");
    };
    let dir = DataDir::open(&args.data.data).with_context(|| {
        format!(
            "cannot open the data directory {}",
            args.data.data.display()
        )
    })?;
    if !dir.exists(schema, table)? {
        bail!("no table {}; `corvus tables` lists them", args.table);
    }
    let engine = engine_for(&dir).await?;
    let adql = format!(
        "SELECT * FROM {}.{}",
        adql_syntax::name_as_written(schema),
        adql_syntax::name_as_written(table)
    );
    let t = engine.translate(&adql, &AllowAll)?;
    let df = engine.context().sql(&t.sql).await?;
    let arrow = with_metadata(&Arc::new(df.schema().as_arrow().clone()), &t.columns);
    let mut stream = df.execute_stream().await?;
    let mut writer = format.writer(arrow, &adql)?;

    let (mut out, partial): (Box<dyn Write>, Option<PathBuf>) = match &args.output {
        Some(path) => {
            let partial = path.with_extension("partial");
            let file = std::fs::File::create(&partial)
                .with_context(|| format!("cannot write {}", partial.display()))?;
            (Box::new(std::io::BufWriter::new(file)), Some(partial))
        }
        None => (Box::new(std::io::stdout().lock()), None),
    };
    let written = async {
        out.write_all(&writer.header()?)?;
        while let Some(batch) = stream.next().await {
            out.write_all(&writer.batch(&batch?)?)?;
        }
        out.write_all(&writer.footer(QueryStatus::Ok)?)?;
        if let Some(tail) = writer.spooled()? {
            for chunk in tail {
                out.write_all(&chunk?)?;
            }
        }
        out.flush()?;
        anyhow::Ok(())
    }
    .await;
    drop(out);
    match (written, partial, &args.output) {
        (Ok(()), Some(partial), Some(path)) => {
            std::fs::rename(&partial, path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        (Ok(()), ..) => Ok(ExitCode::SUCCESS),
        (Err(e), partial, _) => {
            if let Some(p) = partial {
                let _ = std::fs::remove_file(p);
            }
            Err(e)
        }
    }
}
