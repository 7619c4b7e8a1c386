//! `corvus ingest`: catalogs in, HEALPix-ordered Parquet out.
//!
//! An ingest opens its input (`input.rs`: CSV/TSV and Parquet with
//! DataFusion's readers, fixed-width and whitespace ASCII, FITS and VOTable
//! with ours), applies the descriptor (types, NULL values, metadata,
//! derived columns written in ADQL and translated by `adql-planner`), adds the
//! hidden `_healpix` column (NESTED index at order 29 of the main position)
//! and sorts by it with DataFusion's spilling sort, writes one Parquet file
//! with statistics and a page index into a staging folder, and publishes it
//! through [`catalog_store::DataDir::publish`]: whole or not at all.
//!
//! Modules depend downwards only: `lib.rs` on `input` (and `request`),
//! `input` on the readers (`fits`, `votable`, `text_table`, and `source`,
//! which runs them), the readers on `columns` and `error`; no reader knows
//! another or this one.

mod columns;
pub mod demo;
pub mod describe;
pub mod descriptor;
mod error;
pub mod fits;
mod format;
mod input;
pub mod parquet_info;
mod progress;
mod request;
mod session;
mod source;
pub mod text_table;
pub mod votable;

pub use columns::{LeftOut, MAX_IDENTIFIER_CHARS};
pub use error::{Error, Result};
pub use format::InputFormat;
pub use request::{Mode, Request};

use catalog_model::{
    AdqlType, Catalog, ColumnInfo, ColumnMeta, KEY_INDEX_FOLDER, Position, TableInfo,
};
use catalog_store::{DataDir, Replace, TableRecord};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::config::{ParquetColumnOptions, TableParquetOptions};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::{DataFrame, ParquetReadOptions};
use descriptor::Descriptor;
use input::{format_of, key_column, main_position, open_input, register_input};
use session::Session;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What an ingest did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The published table.
    pub record: TableRecord,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Rows skipped as bad: "file: line N: what was wrong".
    pub skipped: Vec<String>,
    /// Columns left out: "file: column NAME left out: why".
    pub warnings: Vec<String>,
}

/// Rows per Parquet row group: small enough that a cone search reads little.
const ROW_GROUP_ROWS: usize = 32 * 1024;
/// Rows per Parquet page (the page index lets readers skip within a group).
const PAGE_ROWS: usize = 4 * 1024;
/// False-positive rate of the key column's Bloom filters: about 1 row group
/// in 100 is read for nothing; each filter takes about 40 KB.
const KEY_BLOOM_FPP: f64 = 0.01;
/// Memory the sort may hold before it spills to temporary files.
const INGEST_MEMORY: usize = 512 * 1024 * 1024;
/// Name of the hidden HEALPix column (the planner's sky index).
pub const HEALPIX_COLUMN: &str = catalog_model::SKY_INDEX_COLUMN;
/// HEALPix order of the hidden index (the finest cdshealpix offers).
pub const HEALPIX_ORDER: u8 = catalog_model::SKY_INDEX_ORDER;

/// How a published table is written: row groups and pages small enough that
/// a cone search reads little, page statistics for the sky index, Snappy
/// (it decodes about four times faster than ZSTD), and numbers plain.
///
/// Dictionary encoding stays for strings only. A row group of 32768 distinct
/// doubles fits parquet's 1 MiB dictionary limit, so numbers were written as
/// a 256 KiB dictionary plus indices: every page read then needed its column
/// chunk's whole dictionary read and decoded (a 1-arcmin cone read 3.2 MB
/// for one row), and a scan decoded indices instead of copying values.
///
/// Floating-point columns and the sky index are not compressed: to Snappy
/// their bytes look random (it kept 100 % of each on 10^7 rows), and its
/// decoding was then pure cost, 18 % of the CPU time of an upload
/// crossmatch. Other columns keep it (an `id` column shrank to 65 %).
fn parquet_options(
    schema: &datafusion::arrow::datatypes::Schema,
    key: Option<String>,
) -> TableParquetOptions {
    let mut options = TableParquetOptions::default();
    options.global.max_row_group_size = ROW_GROUP_ROWS;
    options.global.data_page_row_count_limit = PAGE_ROWS;
    options.global.statistics_enabled = Some("page".into());
    options.global.compression = Some("snappy".into());
    for field in schema.fields() {
        if field.data_type().is_numeric() {
            let incompressible = field.data_type().is_floating() || field.name() == HEALPIX_COLUMN;
            options.column_specific_options.insert(
                field.name().clone(),
                ParquetColumnOptions {
                    dictionary_enabled: Some(false),
                    compression: incompressible.then(|| "uncompressed".into()),
                    ..Default::default()
                },
            );
        }
    }
    // `WHERE key = value` reads each row group's Bloom filter of the key
    // (a few kilobytes) instead of the column: rows are in sky order, so
    // the key's min/max statistics span nearly every value in every group.
    if let Some(key) = key {
        let column = options.column_specific_options.entry(key).or_default();
        column.bloom_filter_enabled = Some(true);
        column.bloom_filter_fpp = Some(KEY_BLOOM_FPP);
        column.bloom_filter_ndv = Some(ROW_GROUP_ROWS as u64);
    }
    options
}

/// Writes the key index of the table file `table`: its `key` and sky index
/// columns, rows with a key only, sorted by key, as `folder/part-0.parquet`.
/// A lookup of one key then reads one page of it (the page statistics of a
/// sorted column are disjoint ranges), and the row's sky index leads to one
/// page of the table. Qserv keeps such a secondary index for the same reason:
/// rows sorted by position have their identifiers scattered everywhere.
async fn write_key_index(session: &Session, table: &Path, key: &str, folder: &Path) -> Result<()> {
    use datafusion::prelude::ident;
    let file = folder.join("part-0.parquet");
    let df = session
        .ctx
        .read_parquet(
            table.to_string_lossy().into_owned(),
            ParquetReadOptions::default(),
        )
        .await?
        .filter(ident(key).is_not_null())?
        .select(vec![ident(key), ident(HEALPIX_COLUMN)])?
        .sort(vec![ident(key).sort(true, false)])?;
    let options = parquet_options(df.schema().as_arrow(), None);
    df.write_parquet(
        &file.to_string_lossy(),
        DataFrameWriteOptions::new().with_single_file_output(true),
        Some(options),
    )
    .await?;
    Ok(())
}

/// A table read whole by [`read_table_leaving_out`].
#[derive(Debug, Clone)]
pub struct TableRead {
    /// The columns, with the metadata the file carries.
    pub info: TableInfo,
    /// The Arrow schema of `batches`.
    pub schema: SchemaRef,
    /// Every row.
    pub batches: Vec<RecordBatch>,
    /// Columns left out because their type cannot be stored:
    /// "file: column NAME left out: why".
    pub warnings: Vec<String>,
}

/// Reads one file of a self-describing format (VOTable, FITS, CSV, TSV,
/// Parquet) whole into memory as a table named `schema.table`, with the
/// metadata the file carries (VOTable FIELDs, FITS TUNIT/TUCD/TCOMM,
/// Parquet field metadata). More than `max_rows` rows is an error
/// ([`Error::TooManyRows`]). This is how TAP uploads are read.
///
/// A column whose type cannot be stored (complex numbers, bit arrays, ...)
/// refuses the table, naming the column and why: an upload has no channel
/// for warnings, and a column silently missing would only surface as "no
/// such column" in the query. [`read_table_leaving_out`] reads the rest.
pub async fn read_table(
    file: &Path,
    format: InputFormat,
    schema: &str,
    table: &str,
    max_rows: u64,
) -> Result<(TableInfo, SchemaRef, Vec<RecordBatch>)> {
    let read = read_whole(file, format, schema, table, max_rows, true).await?;
    Ok((read.info, read.schema, read.batches))
}

/// [`read_table`], but a column whose type cannot be stored is left out,
/// with a warning in [`TableRead::warnings`].
pub async fn read_table_leaving_out(
    file: &Path,
    format: InputFormat,
    schema: &str,
    table: &str,
    max_rows: u64,
) -> Result<TableRead> {
    read_whole(file, format, schema, table, max_rows, false).await
}

async fn read_whole(
    file: &Path,
    format: InputFormat,
    schema: &str,
    table: &str,
    max_rows: u64,
    strict: bool,
) -> Result<TableRead> {
    if !format.is_self_describing() {
        return Err(Error::Request(format!(
            "a {format} table needs a descriptor; send VOTable, FITS, CSV, TSV or Parquet"
        )));
    }
    let mut descriptor = Descriptor::default();
    descriptor.source.format = Some(format);
    let req = Request {
        files: vec![file.to_path_buf()],
        schema: schema.to_string(),
        table: table.to_string(),
        descriptor,
        mode: Mode::Create,
        rows_read: None,
        skip_bad_rows: 0,
        strict,
    };
    let session = Session::new(None)?;
    let skipped = Arc::new(std::sync::Mutex::new(Vec::new()));
    let input = open_input(&session.ctx, &req, &skipped).await?;
    if strict {
        input.refuse_left_out("remove the column from the uploaded table")?;
    }
    let warnings = input.warnings();
    let mut info = input.info;
    let provider = input.provider;
    info.schema = schema.to_string();
    info.name = table.to_string();
    let plan = provider.scan(&session.ctx.state(), None, &[], None).await?;
    let mut stream = datafusion::physical_plan::execute_stream(plan, session.ctx.task_ctx())?;
    let mut batches = Vec::new();
    let mut rows: u64 = 0;
    while let Some(batch) = futures::StreamExt::next(&mut stream).await {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        if rows > max_rows {
            return Err(Error::TooManyRows(max_rows));
        }
        batches.push(batch);
    }
    Ok(TableRead {
        info,
        schema: provider.schema(),
        batches,
        warnings,
    })
}

/// Runs one ingest into `dir`.
pub async fn ingest(dir: &mut DataDir, req: &Request) -> Result<Report> {
    let started = std::time::Instant::now();
    catalog_store::check_name(&req.schema)?;
    catalog_store::check_name(&req.table)?;
    if req.mode == Mode::Create && dir.exists(&req.schema, &req.table)? {
        return Err(
            catalog_store::Error::TableExists(format!("{}.{}", req.schema, req.table)).into(),
        );
    }
    // An append reads the table's current version under a lease (so no
    // cleaner removes it meanwhile) and publishes only if it is still the
    // table's version: a writer that replaced it in between is not undone.
    let leased = match req.mode {
        Mode::Append => Some(dir.snapshot_of(&req.schema, &req.table)?),
        _ => None,
    };
    let existing = match &leased {
        Some(snapshot) => Some(
            snapshot
                .record(&req.schema, &req.table)
                .cloned()
                .ok_or_else(|| {
                    Error::Request(format!(
                        "no table {}.{} to append to (leave out --append to create it)",
                        req.schema, req.table
                    ))
                })?,
        ),
        None => None,
    };
    let mut session = Session::new(Some(INGEST_MEMORY))?;
    let skipped = Arc::new(std::sync::Mutex::new(Vec::new()));
    let warnings = register_input(&mut session, req, &skipped).await?;

    // The published columns and derived ones, as one ADQL query over ingest.raw.
    let d = &req.descriptor;
    let raw = session.catalog.tables()[0].clone();
    let mut items = Vec::new();
    // Coordinates are angles: a position column whose sample held only whole
    // numbers is still published as double precision.
    let raw_position = main_position(d, &raw.columns);
    for c in &raw.columns {
        // A stored HEALPix index (re-ingesting Corvus's own Parquet) is recomputed.
        let published = c.name != HEALPIX_COLUMN
            && d.columns
                .iter()
                .find(|s| s.name == c.name)
                .and_then(|s| s.publish)
                .unwrap_or(true);
        let is_position = raw_position
            .as_ref()
            .is_some_and(|p| c.name == p.ra || c.name == p.dec);
        if published && is_position && c.ty.is_integer() {
            items.push(format!(
                "CAST({} AS DOUBLE PRECISION) AS {}",
                delimited(&c.name),
                delimited(&c.name)
            ));
        } else if published {
            items.push(with_null_values(c, d));
        }
    }
    for x in &d.derived {
        items.push(format!("{} AS {}", x.expr, delimited(&x.name)));
    }
    if items.is_empty() {
        return Err(Error::Request("no columns to publish".into()));
    }
    let adql = format!("SELECT {} FROM ingest.raw", items.join(", "));
    let translation = session
        .translate(&adql)
        .map_err(|e| Error::Request(format!("in the descriptor's derived columns: {e}")))?;
    let mut columns: Vec<ColumnInfo> = translation.columns.clone();
    for x in &d.derived {
        if let Some(c) = columns.iter_mut().find(|c| c.name == x.name) {
            c.meta = ColumnMeta {
                unit: x.unit.clone().or(c.meta.unit.take()),
                ucd: x.ucd.clone(),
                utype: None,
                description: x.description.clone(),
                principal: x.principal,
            };
        }
    }
    let mut position = main_position(d, &columns);
    let mut appended = String::new();
    if let Some(old) = &existing {
        check_same_columns(&old.info.columns, &columns)?;
        // The table keeps its own metadata and position.
        columns = old.info.columns.clone();
        position = old.info.position.clone();
        let df = session
            .ctx
            .read_parquet(
                old.directory.to_string_lossy().as_ref(),
                ParquetReadOptions::default(),
            )
            .await?;
        let info = TableInfo {
            schema: session::SCHEMA.into(),
            name: "existing".into(),
            description: None,
            columns: columns.clone(),
            position: None,
            layout: Default::default(),
        };
        session.register(info, df.into_view())?;
        let list: Vec<String> = columns.iter().map(|c| delimited(&c.name)).collect();
        appended = format!(
            " UNION ALL SELECT {} FROM \"ingest\".\"existing\"",
            list.join(", ")
        );
    }
    // Rows are counted as they leave the reader, before the sort.
    let counted = match &req.rows_read {
        Some(rows) => {
            session
                .ctx
                .register_udf(progress::counter(Arc::clone(rows)));
            let first = delimited(&columns[0].name);
            format!(
                "(SELECT * FROM ({}) AS c WHERE {}(c.{first}){appended})",
                translation.sql,
                progress::NAME
            )
        }
        None => format!("(SELECT * FROM ({}) AS c{appended})", translation.sql),
    };
    let sql = match &position {
        Some(Position { ra, dec }) => {
            if !columns.iter().any(|c| &c.name == ra) || !columns.iter().any(|c| &c.name == dec) {
                return Err(Error::Request(format!(
                    "the main position columns {ra}, {dec} are not in the table"
                )));
            }
            format!(
                "SELECT t.*, ivo_healpix_index({HEALPIX_ORDER}, t.{}, t.{}) AS \"{HEALPIX_COLUMN}\" FROM {counted} AS t ORDER BY \"{HEALPIX_COLUMN}\"",
                delimited(ra),
                delimited(dec),
            )
        }
        None => format!("SELECT * FROM {counted} AS t"),
    };
    let df: DataFrame = session.ctx.sql(&sql).await?;
    // Locked for this process until published or dropped (which removes it).
    let staging = dir.staging_folder()?;
    let file = staging.path().join("part-0.parquet");
    let key = key_column(d, &columns)?;
    let options = parquet_options(df.schema().as_arrow(), key.clone());
    let written = df
        .write_parquet(
            &file.to_string_lossy(),
            DataFrameWriteOptions::new().with_single_file_output(true),
            Some(options),
        )
        .await?;
    let rows = count_rows(&written);
    if let (Some(key), Some(_)) = (&key, &position) {
        write_key_index(&session, &file, key, &staging.path().join(KEY_INDEX_FOLDER)).await?;
    }
    let size_bytes = dir_size(staging.path());
    let record = TableRecord {
        info: TableInfo {
            schema: req.schema.clone(),
            name: req.table.clone(),
            description: d.table.description.clone(),
            columns,
            position,
            layout: Default::default(),
        },
        row_count: rows,
        size_bytes,
        directory: PathBuf::new(),
    };
    let replace = match (&req.mode, &existing) {
        (Mode::Create, _) => Replace::No,
        (Mode::Append, Some(old)) => Replace::IfStill(old.directory.clone()),
        _ => Replace::Yes,
    };
    let record = dir.publish(staging, record, replace)?;
    drop(leased);
    let skipped = skipped.lock().map(|s| s.clone()).unwrap_or_default();
    Ok(Report {
        record,
        seconds: started.elapsed().as_secs_f64(),
        skipped,
        warnings,
    })
}

/// How many rows the input holds, for a progress bar with an ETA: exact for
/// Parquet and FITS, estimated from the first 64 KiB for uncompressed text,
/// unknown for compressed files and VOTables.
pub fn estimate_rows(req: &Request) -> Option<u64> {
    let mut total = 0u64;
    let format = format_of(req).ok()?;
    for f in &req.files {
        if f.extension().is_some_and(|x| x == "gz") {
            return None;
        }
        total += match format {
            InputFormat::Parquet => {
                let file = std::fs::File::open(f).ok()?;
                let meta =
                    datafusion::parquet::file::reader::SerializedFileReader::new(file).ok()?;
                use datafusion::parquet::file::reader::FileReader;
                meta.metadata().file_metadata().num_rows() as u64
            }
            InputFormat::Fits => fits::FitsTable::open(f).ok()?.row_count(),
            InputFormat::VoTable => return None,
            InputFormat::FixedWidth
            | InputFormat::Whitespace
            | InputFormat::Csv
            | InputFormat::Tsv => {
                use std::io::Read;
                let size = std::fs::metadata(f).ok()?.len();
                let mut head = vec![0u8; 64 * 1024];
                let n = std::fs::File::open(f).ok()?.read(&mut head).ok()?;
                let lines = head[..n].iter().filter(|b| **b == b'\n').count().max(1) as u64;
                size * lines / n.max(1) as u64
            }
        };
    }
    Some(total)
}

/// Appended rows must have the table's columns, in its order, of its types.
fn check_same_columns(table: &[ColumnInfo], new: &[ColumnInfo]) -> Result<()> {
    let names = |cols: &[ColumnInfo]| {
        cols.iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if table.len() != new.len() || table.iter().zip(new).any(|(a, b)| a.name != b.name) {
        return Err(Error::Request(format!(
            "the new rows have the columns ({}) but the table has ({})",
            names(new),
            names(table)
        )));
    }
    for (a, b) in table.iter().zip(new) {
        let both_numeric_alike =
            a.ty.is_numeric() && b.ty.is_numeric() && a.ty.is_integer() == b.ty.is_integer();
        if a.ty != b.ty && !both_numeric_alike {
            return Err(Error::Request(format!(
                "column {} is {} in the new rows but {} in the table",
                a.name,
                b.ty.describe(),
                a.ty.describe()
            )));
        }
    }
    Ok(())
}

/// The column as an ADQL expression that turns its NULL sentinels (the
/// descriptor's `[source] null` and the column's own `null`) into NULL.
/// DataFusion's CSV reader does not apply them itself; the ASCII readers
/// already have, and repeating it there is harmless.
fn with_null_values(c: &ColumnInfo, d: &Descriptor) -> String {
    let own = d
        .columns
        .iter()
        .find(|s| s.name == c.name)
        .map(|s| s.null.as_slice())
        .unwrap_or(&[]);
    let mut expr = delimited(&c.name);
    for sentinel in d.source.null.iter().chain(own) {
        // A literal of the column's own kind, so that NULLIF keeps its type.
        let literal = if c.ty.is_integer() {
            match sentinel.trim().parse::<i64>() {
                Ok(v) => v.to_string(),
                Err(_) => continue,
            }
        } else if c.ty.is_numeric() {
            match sentinel.trim().parse::<f64>() {
                Ok(v) => format!("{v:?}"),
                Err(_) => continue,
            }
        } else if c.ty == AdqlType::Varchar {
            format!("'{}'", sentinel.replace('\'', "''"))
        } else {
            continue;
        };
        expr = format!("NULLIF({expr}, {literal})");
    }
    if expr.starts_with("NULLIF") {
        format!("{expr} AS {}", delimited(&c.name))
    } else {
        expr
    }
}

/// `name` as a delimited identifier: double quotes, inner ones doubled,
/// which ADQL (translated by the planner) and DataFusion's SQL both read.
fn delimited(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn count_rows(batches: &[datafusion::arrow::record_batch::RecordBatch]) -> u64 {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::UInt64Type;
    batches
        .iter()
        .filter_map(|b| {
            b.column(0)
                .as_primitive_opt::<UInt64Type>()
                .map(|a| a.values().iter().sum::<u64>())
        })
        .sum()
}

/// Bytes of the files in `dir` and its subfolders (a table's file and its
/// key index).
fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| {
                let e = e.ok()?;
                Some((e.path(), e.metadata().ok()?))
            })
            .map(|(e, m)| match m.is_dir() {
                true => dir_size(&e),
                false => m.len(),
            })
            .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WITH_COMPLEX: &str = r#"<VOTABLE><RESOURCE><TABLE>
<FIELD name="ra" datatype="double"/><FIELD name="z" datatype="doubleComplex"/>
<DATA><TABLEDATA><TR><TD>10.5</TD><TD>1 2</TD></TR><TR><TD>null</TD><TD/></TR></TABLEDATA></DATA>
</TABLE></RESOURCE></VOTABLE>"#;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[tokio::test]
    async fn read_table_reads_a_whole_table_and_names_a_bad_format() {
        let (_d, p) = write("t.csv", "a,b\n1,x\n2,y\n");
        let (info, _, batches) = read_table(&p, InputFormat::Csv, "TAP_UPLOAD", "t", 10)
            .await
            .unwrap();
        assert_eq!(info.qualified_name(), "TAP_UPLOAD.t");
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
        let e = InputFormat::parse("xls").unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown input format 'xls'; use one of csv"),
            "{e}"
        );
        let e = read_table(&p, InputFormat::Csv, "TAP_UPLOAD", "t", 1)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::TooManyRows(1)), "{e}");
    }

    #[tokio::test]
    async fn a_keyed_table_gets_plain_numbers_and_a_sorted_key_index() {
        use datafusion::parquet::basic::{Compression, Encoding};
        use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
        let (tmp, csv) = write(
            "k.csv",
            "id,name,ra,dec\n30,c,10,20\n10,a,200,-45\n,x,1,1\n20,b,0,89\n",
        );
        let mut dir = DataDir::open(&tmp.path().join("data")).unwrap();
        let mut descriptor = Descriptor::default();
        descriptor.table.key = Some("id".into());
        let req = Request {
            files: vec![csv],
            schema: "s".into(),
            table: "k".into(),
            descriptor,
            mode: Mode::Create,
            rows_read: None,
            skip_bad_rows: 0,
            strict: false,
        };
        let folder = ingest(&mut dir, &req).await.unwrap().record.directory;
        let open =
            |path: PathBuf| SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
        let table = open(folder.join("part-0.parquet"));
        let group = table.metadata().row_group(0);
        for column in group.columns() {
            let dictionary = column.encodings().any(|e| e == Encoding::RLE_DICTIONARY);
            let name = column.column_path().string();
            assert_eq!(
                dictionary,
                name == "name",
                "{name}: {:?}",
                column.encodings().collect::<Vec<_>>()
            );
            let compressed = column.compression() != Compression::UNCOMPRESSED;
            assert_eq!(
                compressed,
                ["id", "name"].contains(&name.as_str()),
                "{name}: {:?}",
                column.compression()
            );
        }
        let index = open(folder.join(KEY_INDEX_FOLDER).join("part-0.parquet"));
        let keys: Vec<String> = index
            .get_row_iter(None)
            .unwrap()
            .map(|row| row.unwrap().get_column_iter().next().unwrap().1.to_string())
            .collect();
        assert_eq!(keys, ["10", "20", "30"]);
    }

    #[tokio::test]
    async fn an_upload_names_the_column_it_cannot_store_or_reads_the_rest() {
        let (_d, p) = write("t.vot", WITH_COMPLEX);
        let e = read_table(&p, InputFormat::VoTable, "TAP_UPLOAD", "t", 10)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("t.vot: column z: datatype doubleComplex: complex numbers cannot be stored; remove the column from the uploaded table"),
            "{e}"
        );
        let read = read_table_leaving_out(&p, InputFormat::VoTable, "TAP_UPLOAD", "t", 10)
            .await
            .unwrap();
        let names: Vec<_> = read.info.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["ra"]);
        assert_eq!(read.batches[0].column(0).null_count(), 1);
        assert_eq!(read.warnings.len(), 1);
        assert!(read.warnings[0].ends_with(
            "t.vot: column z left out: datatype doubleComplex: complex numbers cannot be stored"
        ));
    }

    #[tokio::test]
    async fn a_column_name_past_the_limit_is_refused() {
        let name = "n".repeat(MAX_IDENTIFIER_CHARS + 1);
        let (_d, p) = write("t.csv", &format!("a,{name}\n1,2\n"));
        let e = read_table(&p, InputFormat::Csv, "TAP_UPLOAD", "t", 10)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("has 1001 characters; names of at most 1000 are accepted"),
            "{e}"
        );
        let (_d, p) = write(
            "t.vot",
            &format!(
                r#"<VOTABLE><RESOURCE><TABLE><FIELD name="{name}" datatype="int"/></TABLE></RESOURCE></VOTABLE>"#
            ),
        );
        let e = read_table(&p, InputFormat::VoTable, "TAP_UPLOAD", "t", 10)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("has 1001 characters"), "{e}");
    }
}
