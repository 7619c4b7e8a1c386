//! `corvus ingest`: catalogs in, HEALPix-ordered Parquet out.
//!
//! An ingest reads its input through DataFusion (CSV/TSV and Parquet with
//! DataFusion's readers, fixed-width and whitespace ASCII with
//! [`text_table`]), applies the descriptor (types, NULL values, metadata,
//! derived columns written in ADQL and translated by `adql-planner`), adds the
//! hidden `_healpix` column (NESTED index at order 29 of the main position)
//! and sorts by it with DataFusion's spilling sort, writes one Parquet file
//! with statistics and a page index into a staging folder, and publishes it
//! through [`catalog_store::DataDir::publish`]: whole or not at all.

pub mod demo;
pub mod describe;
pub mod descriptor;
pub mod fits;
pub mod parquet_info;
mod progress;
mod session;
mod source;
pub mod text_table;
pub mod votable;

use catalog_model::{AdqlType, Catalog, ColumnInfo, ColumnMeta, Position, TableInfo};
use catalog_store::{DataDir, TableRecord};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::common::config::TableParquetOptions;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::prelude::{CsvReadOptions, DataFrame, ParquetReadOptions, SessionContext};
use descriptor::{Descriptor, parse_type};
use session::Session;
use source::SourcePartition;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use text_table::{Layout, TextColumn, TextTable};

/// Errors of an ingest. Each names the file (and where possible the line,
/// column and value) and says what was expected.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input or descriptor is wrong.
    #[error("{file}: {message}")]
    Input {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Something about the request as a whole.
    #[error("{0}")]
    Request(String),
    /// Reading, sorting or writing failed.
    #[error("{0}")]
    Engine(String),
    /// The data directory refused.
    #[error(transparent)]
    Store(#[from] catalog_store::Error),
    /// A table read whole has more rows than allowed.
    #[error("it has more than {0} rows, this service's limit")]
    TooManyRows(u64),
}

impl From<datafusion::error::DataFusionError> for Error {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        let text = e.find_root().to_string();
        let text = text
            .strip_prefix("Execution error: ")
            .unwrap_or(&text)
            .to_string();
        Error::Engine(text)
    }
}

impl From<adql_planner::Error> for Error {
    fn from(e: adql_planner::Error) -> Self {
        Error::Engine(e.to_string())
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What to do when the table exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Refuse.
    Create,
    /// Replace it whole.
    Replace,
    /// Add the rows to it (the columns must match); the table is rewritten
    /// in sky order and swapped in whole, like a replace.
    Append,
}

/// One ingest.
#[derive(Debug, Clone)]
pub struct Request {
    /// Input files (globs expanded by the caller), read in order into one table.
    pub files: Vec<PathBuf>,
    /// `schema.table`
    pub schema: String,
    /// Table name.
    pub table: String,
    /// The descriptor, if any.
    pub descriptor: Descriptor,
    /// Create or replace.
    pub mode: Mode,
    /// Counts the rows read so far, for a progress display.
    pub rows_read: Option<Arc<std::sync::atomic::AtomicU64>>,
    /// Bad rows of an ASCII table to skip (reported) before one stops the ingest.
    pub skip_bad_rows: usize,
}

/// What an ingest did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The published table.
    pub record: TableRecord,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Rows skipped as bad: "file: line N: what was wrong".
    pub skipped: Vec<String>,
}

/// Rows per Parquet row group: small enough that a cone search reads little.
const ROW_GROUP_ROWS: usize = 32 * 1024;
/// Rows per Parquet page (the page index lets readers skip within a group).
const PAGE_ROWS: usize = 4 * 1024;
/// Memory the sort may hold before it spills to temporary files.
const INGEST_MEMORY: usize = 512 * 1024 * 1024;
/// Name of the hidden HEALPix column.
pub const HEALPIX_COLUMN: &str = "_healpix";
/// HEALPix order of the hidden index (the finest cdshealpix offers).
pub const HEALPIX_ORDER: u8 = 29;

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    FixedWidth,
    Whitespace,
    Csv(u8),
    Parquet,
    VoTable,
    Fits,
}

fn format_of(req: &Request) -> Result<Format> {
    if let Some(f) = &req.descriptor.source.format {
        return Ok(match f.to_ascii_lowercase().as_str() {
            "fixed-width" | "fixed" => Format::FixedWidth,
            "whitespace" | "ascii" => Format::Whitespace,
            "csv" => Format::Csv(delimiter(req)?.unwrap_or(b',')),
            "tsv" => Format::Csv(b'\t'),
            "parquet" => Format::Parquet,
            "votable" | "vot" | "xml" => Format::VoTable,
            "fits" => Format::Fits,
            other => {
                return Err(Error::Request(format!(
                    "unknown input format '{other}' (use fixed-width, whitespace, csv, tsv or parquet)"
                )));
            }
        });
    }
    let first = req
        .files
        .first()
        .ok_or_else(|| Error::Request("no input files".into()))?;
    let name = first.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    Ok(if name.ends_with(".csv") {
        Format::Csv(delimiter(req)?.unwrap_or(b','))
    } else if name.ends_with(".tsv") || name.ends_with(".tab") {
        Format::Csv(b'\t')
    } else if name.ends_with(".parquet") || name.ends_with(".pq") {
        Format::Parquet
    } else if name.ends_with(".vot") || name.ends_with(".xml") || name.ends_with(".votable") {
        Format::VoTable
    } else if name.ends_with(".fits") || name.ends_with(".fit") || name.ends_with(".fts") {
        Format::Fits
    } else if req.descriptor.columns.iter().any(|c| c.bytes.is_some()) {
        Format::FixedWidth
    } else if name.ends_with(".txt") || name.ends_with(".dat") || name.ends_with(".ascii") {
        Format::Whitespace
    } else {
        return Err(Error::Input {
            file: first.display().to_string(),
            message: "cannot tell the format from the name; set [source] format in a descriptor (csv, tsv, fixed-width, whitespace, parquet)".into(),
        });
    })
}

fn single_byte(value: Option<&str>, what: &str) -> Result<Option<u8>> {
    match value {
        None => Ok(None),
        Some(v) if v.len() == 1 => Ok(Some(v.as_bytes()[0])),
        Some(v) => Err(Error::Request(format!(
            "the CSV {what} character '{v}' must be a single ASCII character"
        ))),
    }
}

fn delimiter(req: &Request) -> Result<Option<u8>> {
    match req.descriptor.source.delimiter.as_deref() {
        None => Ok(None),
        Some("\\t") | Some("\t") => Ok(Some(b'\t')),
        Some(d) if d.len() == 1 => Ok(Some(d.as_bytes()[0])),
        Some(d) => Err(Error::Request(format!(
            "delimiter '{d}' must be a single character"
        ))),
    }
}

/// Reads the input as a table named `ingest.raw`, registered on `session`.
async fn register_input(
    session: &mut Session,
    req: &Request,
    skipped: &Arc<std::sync::Mutex<Vec<String>>>,
) -> Result<()> {
    let ctx = session.ctx.clone();
    let (info, provider) = open_input(&ctx, req, skipped).await?;
    session.register(info, provider)?;
    Ok(())
}

/// Formats [`read_table`] knows by name.
pub const TABLE_FORMATS: &[&str] = &["votable", "fits", "csv", "tsv", "parquet"];

/// Reads one file of a self-describing format (`votable`, `fits`, `csv`,
/// `tsv`, `parquet`) whole into memory as a table named `schema.table`,
/// with the metadata the file carries (VOTable FIELDs, FITS
/// TUNIT/TUCD/TCOMM, Parquet field metadata). More than `max_rows` rows is
/// an error ([`Error::TooManyRows`]). This is how TAP uploads are read.
pub async fn read_table(
    file: &Path,
    format: &str,
    schema: &str,
    table: &str,
    max_rows: u64,
) -> Result<(TableInfo, SchemaRef, Vec<RecordBatch>)> {
    let mut descriptor = Descriptor::default();
    descriptor.source.format = Some(format.to_string());
    let req = Request {
        files: vec![file.to_path_buf()],
        schema: schema.to_string(),
        table: table.to_string(),
        descriptor,
        mode: Mode::Create,
        rows_read: None,
        skip_bad_rows: 0,
    };
    let session = Session::new(None)?;
    let skipped = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (mut info, provider) = open_input(&session.ctx, &req, &skipped).await?;
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
    Ok((info, provider.schema(), batches))
}

/// The input of `req` as a table provider named `ingest.raw`, with the
/// column metadata of the input and the descriptor.
async fn open_input(
    ctx: &SessionContext,
    req: &Request,
    skipped: &Arc<std::sync::Mutex<Vec<String>>>,
) -> Result<(TableInfo, Arc<dyn datafusion::catalog::TableProvider>)> {
    let paths: Vec<String> = req
        .files
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    for p in &req.files {
        if !p.is_file() {
            return Err(Error::Input {
                file: p.display().to_string(),
                message: "no such file".into(),
            });
        }
    }
    let d = &req.descriptor;
    // Metadata the input carries itself (VOTable FIELDs); the descriptor wins.
    let mut vo_metadata: Vec<ColumnInfo> = Vec::new();
    // Text columns that the file marks as timestamps (xtype), cast below.
    let mut timestamps: Vec<String> = Vec::new();
    let format = format_of(req)?;
    if req.skip_bad_rows > 0 && !matches!(format, Format::FixedWidth | Format::Whitespace) {
        return Err(Error::Request(
            "--skip-bad-rows works on ASCII tables; in CSV, FITS, VOTable and Parquet input the first bad value stops the ingest".into(),
        ));
    }
    let provider: Arc<dyn datafusion::catalog::TableProvider> = match format {
        Format::FixedWidth | Format::Whitespace => {
            let fixed = format_of(req)? == Format::FixedWidth;
            if d.columns.is_empty() {
                return Err(Error::Request(
                    "an ASCII table needs a descriptor listing its columns (--meta FILE; draft one with --describe)".into(),
                ));
            }
            let layout = if fixed {
                let ranges: Vec<&str> = d
                    .columns
                    .iter()
                    .map(|c| {
                        c.bytes.as_deref().ok_or_else(|| {
                            Error::Request(format!("column {} has no byte range", c.name))
                        })
                    })
                    .collect::<Result<_>>()?;
                TextTable::fixed_layout(&ranges).ok_or_else(|| {
                    Error::Request("byte ranges are written \"first-last\", 1-based".into())
                })?
            } else {
                Layout::Whitespace
            };
            let columns = d
                .columns
                .iter()
                .map(|c| TextColumn {
                    name: c.name.clone(),
                    ty: c
                        .ty
                        .as_deref()
                        .and_then(parse_type)
                        .unwrap_or(AdqlType::Varchar),
                    nulls: c.null.iter().chain(&d.source.null).cloned().collect(),
                })
                .collect();
            let table = TextTable {
                files: req.files.clone(),
                layout,
                columns,
                batch_rows: 8192,
                skip_bad_rows: req.skip_bad_rows,
                skipped: Arc::clone(skipped),
            };
            let part = Arc::new(SourcePartition::new(table));
            Arc::new(StreamingTable::try_new(
                Arc::clone(
                    datafusion::physical_plan::streaming::PartitionStream::schema(part.as_ref()),
                ),
                vec![part],
            )?)
        }
        Format::Csv(delim) => {
            let gz = paths.iter().all(|p| p.ends_with(".gz"));
            let ext = paths.first().map(|p| extension_of(p)).unwrap_or_default();
            let nulls: Vec<String> = d.source.null.iter().map(|n| regex_escape(n)).collect();
            let mut options = CsvReadOptions::new()
                .has_header(d.source.header.unwrap_or(true))
                .delimiter(delim)
                .file_extension(&ext)
                .schema_infer_max_records(100_000);
            if let Some(q) = single_byte(d.source.quote.as_deref(), "quote")? {
                options = options.quote(q);
            }
            if let Some(e) = single_byte(d.source.escape.as_deref(), "escape")? {
                options = options.escape(e);
            }
            if gz {
                options = options.file_compression_type(FileCompressionType::GZIP);
            }
            if !nulls.is_empty() {
                options = options.null_regex(Some(format!("^({})$", nulls.join("|"))));
            }
            // Types from the descriptor, when it gives every column's, win over inference.
            let declared: Option<Vec<Field>> = d
                .columns
                .iter()
                .map(|c| {
                    let ty = parse_type(c.ty.as_deref()?)?;
                    Some(Field::new(&c.name, ty.to_arrow(), true))
                })
                .collect();
            let declared = declared.filter(|f| !f.is_empty()).map(Schema::new);
            // Otherwise infer each file's schema and merge them: an integer
            // column in one file and a float in another is a float column.
            let inferred = match &declared {
                Some(_) => None,
                None if paths.len() > 1 => {
                    let mut merged: Option<Schema> = None;
                    for p in &paths {
                        let s = ctx
                            .read_csv(p.clone(), options.clone())
                            .await?
                            .schema()
                            .as_arrow()
                            .clone();
                        merged = Some(match merged {
                            None => s,
                            Some(m) => merge_schemas(&m, &s, p)?,
                        });
                    }
                    merged
                }
                None => None,
            };
            if let Some(schema) = declared.as_ref().or(inferred.as_ref()) {
                options = options.schema(schema);
            }
            let mut df = ctx.read_csv(paths.clone(), options).await?;
            // Without a header line the columns are named by the descriptor, in order.
            if d.source.header == Some(false) && !d.columns.is_empty() {
                let found: Vec<String> = df
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                if found.len() != d.columns.len() {
                    return Err(Error::Input {
                        file: paths[0].clone(),
                        message: format!(
                            "{} columns, but the descriptor names {}",
                            found.len(),
                            d.columns.len()
                        ),
                    });
                }
                for (old, spec) in found.iter().zip(&d.columns) {
                    df = df.with_column_renamed(old, &spec.name)?;
                }
            }
            df.into_view()
        }
        Format::Parquet => {
            let df = ctx
                // Keep the Arrow schema's field metadata: units, UCDs and
                // descriptions that Corvus (or pyarrow) wrote there.
                .read_parquet(
                    paths.clone(),
                    ParquetReadOptions::default().skip_metadata(false),
                )
                .await?;
            df.into_view()
        }
        Format::Fits => {
            let [file] = req.files.as_slice() else {
                return Err(Error::Request(
                    "FITS tables are ingested one file at a time".into(),
                ));
            };
            let table = fits::FitsTable::open(file)?;
            vo_metadata = table.column_infos();
            timestamps = table.timestamp_columns();
            let part = Arc::new(SourcePartition::new(table));
            let schema = Arc::clone(
                datafusion::physical_plan::streaming::PartitionStream::schema(part.as_ref()),
            );
            Arc::new(StreamingTable::try_new(schema, vec![part])?)
        }
        Format::VoTable => {
            let [file] = req.files.as_slice() else {
                return Err(Error::Request(
                    "VOTables are ingested one file at a time".into(),
                ));
            };
            let table = votable::VoTable::open(file)?;
            vo_metadata = table.fields.iter().map(|f| f.column.clone()).collect();
            timestamps = table
                .fields
                .iter()
                .filter(|f| f.timestamp)
                .map(|f| f.column.name.clone())
                .collect();
            let part = Arc::new(SourcePartition::new(table));
            let schema = Arc::clone(
                datafusion::physical_plan::streaming::PartitionStream::schema(part.as_ref()),
            );
            Arc::new(StreamingTable::try_new(schema, vec![part])?)
        }
    };
    let provider = cast_timestamps(ctx, provider, &timestamps)?;
    let arrow = provider.schema();
    let mut info = TableInfo::from_arrow("ingest", "raw", &arrow);
    for c in &mut info.columns {
        if let Some(own) = vo_metadata.iter().find(|v| v.name == c.name) {
            c.meta = own.meta.clone();
            if !timestamps.contains(&c.name) {
                c.ty = own.ty;
            }
        }
        if let Some(spec) = d.columns.iter().find(|s| s.name == c.name) {
            let meta = &mut c.meta;
            // An empty string (as in a draft from --describe) says nothing.
            let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
            meta.unit = given(&spec.unit).or(meta.unit.take());
            meta.ucd = given(&spec.ucd).or(meta.ucd.take());
            meta.utype = given(&spec.utype).or(meta.utype.take());
            meta.description = given(&spec.description).or(meta.description.take());
            meta.principal = spec.principal.or(meta.principal);
        }
    }
    Ok((info, provider))
}

/// The provider with the `names` columns (ISO 8601 text) cast to
/// timestamps, so that a VOTable or FITS file written by Corvus reads back
/// with its timestamp columns as timestamps.
fn cast_timestamps(
    ctx: &SessionContext,
    provider: Arc<dyn datafusion::catalog::TableProvider>,
    names: &[String],
) -> Result<Arc<dyn datafusion::catalog::TableProvider>> {
    use datafusion::arrow::datatypes::{DataType, TimeUnit};
    use datafusion::prelude::{cast, col};
    if names.is_empty() {
        return Ok(provider);
    }
    let schema = provider.schema();
    let exprs: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| {
            let c = col(datafusion::common::Column::from_name(f.name()));
            if names.contains(f.name()) {
                cast(c, DataType::Timestamp(TimeUnit::Microsecond, None)).alias(f.name())
            } else {
                c
            }
        })
        .collect();
    Ok(ctx.read_table(provider)?.select(exprs)?.into_view())
}

/// The schema that holds both: same names in the same order; integer and
/// float columns merge to float, anything else that differs to text.
fn merge_schemas(a: &Schema, b: &Schema, file: &str) -> Result<Schema> {
    use datafusion::arrow::datatypes::DataType;
    if a.fields().len() != b.fields().len() {
        return Err(Error::Input {
            file: file.to_string(),
            message: format!(
                "{} columns, but the first file has {}",
                b.fields().len(),
                a.fields().len()
            ),
        });
    }
    let fields = a
        .fields()
        .iter()
        .zip(b.fields())
        .map(|(x, y)| {
            if x.name() != y.name() {
                return Err(Error::Input {
                    file: file.to_string(),
                    message: format!(
                        "column '{}' where the first file has '{}'",
                        y.name(),
                        x.name()
                    ),
                });
            }
            let ty = match (x.data_type(), y.data_type()) {
                (s, t) if s == t => s.clone(),
                (DataType::Null, t) | (t, DataType::Null) => t.clone(),
                (DataType::Int64, DataType::Float64) | (DataType::Float64, DataType::Int64) => {
                    DataType::Float64
                }
                _ => DataType::Utf8,
            };
            Ok(Field::new(x.name(), ty, true))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Schema::new(fields))
}

fn extension_of(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.find('.') {
        Some(i) => name[i..].to_string(),
        None => String::new(),
    }
}

/// Escapes regex metacharacters: only ASCII punctuation may be escaped
/// (DataFusion panics on a regex that does not compile).
fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_punctuation() {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The main position: the descriptor's, else UCDs, else the usual names.
fn main_position(d: &Descriptor, columns: &[ColumnInfo]) -> Option<Position> {
    if let (Some(ra), Some(dec)) = (&d.table.ra, &d.table.dec) {
        return Some(Position {
            ra: ra.clone(),
            dec: dec.clone(),
        });
    }
    let by_ucd = |ucd: &str| {
        columns
            .iter()
            .find(|c| {
                c.meta
                    .ucd
                    .as_deref()
                    .is_some_and(|u| u.eq_ignore_ascii_case(ucd))
            })
            .map(|c| c.name.clone())
    };
    if let (Some(ra), Some(dec)) = (
        by_ucd("pos.eq.ra;meta.main"),
        by_ucd("pos.eq.dec;meta.main"),
    ) {
        return Some(Position { ra, dec });
    }
    const PAIRS: &[(&str, &str)] = &[
        ("ra", "dec"),
        ("ra_deg", "dec_deg"),
        ("raj2000", "dej2000"),
        ("ra_icrs", "de_icrs"),
        ("radeg", "dedeg"),
        ("_ra", "_de"),
        ("alpha", "delta"),
        ("ra", "de"),
    ];
    let find = |n: &str| {
        columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(n) && c.ty.is_numeric())
    };
    PAIRS.iter().find_map(|(r, d)| {
        Some(Position {
            ra: find(r)?.name.clone(),
            dec: find(d)?.name.clone(),
        })
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
    let existing = match req.mode {
        Mode::Append => Some(dir.record(&req.schema, &req.table)?.ok_or_else(|| {
            Error::Request(format!(
                "no table {}.{} to append to (leave out --append to create it)",
                req.schema, req.table
            ))
        })?),
        _ => None,
    };
    let mut session = Session::new(Some(INGEST_MEMORY))?;
    let skipped = Arc::new(std::sync::Mutex::new(Vec::new()));
    register_input(&mut session, req, &skipped).await?;

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
                adql_syntax_quote(&c.name),
                adql_syntax_quote(&c.name)
            ));
        } else if published {
            items.push(with_null_values(c, d));
        }
    }
    for x in &d.derived {
        items.push(format!("{} AS {}", x.expr, adql_syntax_quote(&x.name)));
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
            schema: "ingest".into(),
            name: "existing".into(),
            description: None,
            columns: columns.clone(),
            position: None,
        };
        session.register(info, df.into_view())?;
        let list: Vec<String> = columns.iter().map(|c| sql_quote(&c.name)).collect();
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
            let first = sql_quote(&columns[0].name);
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
                sql_quote(ra),
                sql_quote(dec),
            )
        }
        None => format!("SELECT * FROM {counted} AS t"),
    };
    let df: DataFrame = session.ctx.sql(&sql).await?;
    // Locked for this process until published or dropped (which removes it).
    let staging = dir.staging_folder()?;
    let file = staging.path().join("part-0.parquet");
    let mut options = TableParquetOptions::default();
    options.global.max_row_group_size = ROW_GROUP_ROWS;
    options.global.data_page_row_count_limit = PAGE_ROWS;
    options.global.statistics_enabled = Some("page".into());
    options.global.compression = Some("snappy".into());
    let written = df
        .write_parquet(
            &file.to_string_lossy(),
            DataFrameWriteOptions::new().with_single_file_output(true),
            Some(options),
        )
        .await?;
    let rows = count_rows(&written);
    let size_bytes = dir_size(staging.path());
    let record = TableRecord {
        info: TableInfo {
            schema: req.schema.clone(),
            name: req.table.clone(),
            description: d.table.description.clone(),
            columns,
            position,
        },
        row_count: rows,
        size_bytes,
        directory: PathBuf::new(),
    };
    let record = dir.publish(staging, record, req.mode != Mode::Create)?;
    let skipped = skipped.lock().map(|s| s.clone()).unwrap_or_default();
    Ok(Report {
        record,
        seconds: started.elapsed().as_secs_f64(),
        skipped,
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
            Format::Parquet => {
                let file = std::fs::File::open(f).ok()?;
                let meta =
                    datafusion::parquet::file::reader::SerializedFileReader::new(file).ok()?;
                use datafusion::parquet::file::reader::FileReader;
                meta.metadata().file_metadata().num_rows() as u64
            }
            Format::Fits => fits::FitsTable::open(f).ok()?.row_count(),
            Format::VoTable => return None,
            Format::FixedWidth | Format::Whitespace | Format::Csv(_) => {
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
    let mut expr = adql_syntax_quote(&c.name);
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
        format!("{expr} AS {}", adql_syntax_quote(&c.name))
    } else {
        expr
    }
}

fn adql_syntax_quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn sql_quote(name: &str) -> String {
    adql_syntax_quote(name)
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

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_sentinels_become_valid_regexes() {
        for s in ["-999", "n/a", "é", "(none)", "*", "\\", "1.5e3"] {
            let r = format!("^({})$", regex_escape(s));
            let re = regex::Regex::new(&r).unwrap();
            assert!(re.is_match(s), "{r}");
        }
    }
}
