//! Opening an ingest's input: the format (named by the descriptor or
//! told by the file name), the reader for it (ours for ASCII, FITS and
//! VOTable; DataFusion's for CSV/TSV and Parquet) as a DataFusion table
//! provider, and the columns' metadata from the file and the descriptor.
//! Columns whose type cannot be stored are left out here and listed.
//!
//! Must never know the pipeline after the input (translation, sorting,
//! writing, publishing): `lib.rs` depends on this module, not it on that.

use crate::columns::{LeftOut, check_identifier};
use crate::descriptor::Descriptor;
use crate::descriptor::parse_type;
use crate::error::{Error, Result};
use crate::fits::FitsTable;
use crate::format::InputFormat;
use crate::request::Request;
use crate::session::Session;
use crate::source::SourcePartition;
use crate::text_table::{Layout, TextColumn, TextTable};
use crate::votable::VoTable;
use catalog_model::{AdqlType, ColumnInfo, Position, TableInfo};
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::catalog::TableProvider;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};
use std::path::PathBuf;
use std::sync::Arc;

/// The input, opened.
pub(crate) struct Input {
    /// The columns, named `ingest.raw`, with their metadata.
    pub(crate) info: TableInfo,
    /// Where the rows come from.
    pub(crate) provider: Arc<dyn TableProvider>,
    /// The file the left-out columns are in.
    pub(crate) file: PathBuf,
    /// Columns of the file left out because their type cannot be stored.
    pub(crate) left_out: Vec<LeftOut>,
}

impl Input {
    /// One warning per left-out column.
    pub(crate) fn warnings(&self) -> Vec<String> {
        self.left_out
            .iter()
            .map(|l| l.warning(&self.file))
            .collect()
    }

    /// The first left-out column as an error, for callers that refuse them;
    /// `hint` says what to do about it.
    pub(crate) fn refuse_left_out(&self, hint: &str) -> Result<()> {
        match self.left_out.first() {
            Some(l) => Err(l.refusal(&self.file, hint)),
            None => Ok(()),
        }
    }
}

/// The input's format: the descriptor's `[source] format`, else the first
/// file's name, else fixed-width when the descriptor gives byte ranges,
/// else whitespace for `.txt`, `.dat` and `.ascii`.
pub(crate) fn format_of(req: &Request) -> Result<InputFormat> {
    if let Some(f) = req.descriptor.source.format {
        return Ok(f);
    }
    let first = req
        .files
        .first()
        .ok_or_else(|| Error::Request("no input files".into()))?;
    if let Some(f) = InputFormat::from_file_name(first) {
        return Ok(f);
    }
    let name = first.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if req.descriptor.columns.iter().any(|c| c.bytes.is_some()) {
        Ok(InputFormat::FixedWidth)
    } else if name.ends_with(".txt") || name.ends_with(".dat") || name.ends_with(".ascii") {
        Ok(InputFormat::Whitespace)
    } else {
        let names: Vec<&str> = InputFormat::ALL.iter().map(|f| f.name()).collect();
        Err(Error::input(
            first,
            format!(
                "cannot tell the format from the name; set [source] format in a descriptor ({})",
                names.join(", ")
            ),
        ))
    }
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
/// Its left-out columns are returned as warnings, or refused when the
/// request is strict.
pub(crate) async fn register_input(
    session: &mut Session,
    req: &Request,
    skipped: &Arc<std::sync::Mutex<Vec<String>>>,
) -> Result<Vec<String>> {
    let ctx = session.ctx.clone();
    let input = open_input(&ctx, req, skipped).await?;
    if req.strict {
        input.refuse_left_out(
            "--strict refuses a column that cannot be stored (without it the column is left out with a warning)",
        )?;
    }
    let warnings = input.warnings();
    session.register(input.info, input.provider)?;
    Ok(warnings)
}

/// The input of `req` as a table provider named `ingest.raw`, with the
/// column metadata of the input and the descriptor.
pub(crate) async fn open_input(
    ctx: &SessionContext,
    req: &Request,
    skipped: &Arc<std::sync::Mutex<Vec<String>>>,
) -> Result<Input> {
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
    let mut left_out: Vec<LeftOut> = Vec::new();
    if req.skip_bad_rows > 0 && format.is_self_describing() {
        return Err(Error::Request(
            "--skip-bad-rows works on ASCII tables; in CSV, FITS, VOTable and Parquet input the first bad value stops the ingest".into(),
        ));
    }
    let provider: Arc<dyn TableProvider> = match format {
        InputFormat::FixedWidth | InputFormat::Whitespace => {
            let fixed = format == InputFormat::FixedWidth;
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
                Arc::clone(PartitionStream::schema(part.as_ref())),
                vec![part],
            )?)
        }
        InputFormat::Csv | InputFormat::Tsv => {
            let delim = match format {
                InputFormat::Tsv => b'\t',
                _ => delimiter(req)?.unwrap_or(b','),
            };
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
        InputFormat::Parquet => {
            let df = ctx
                // Keep the Arrow schema's field metadata: units, UCDs and
                // descriptions that Corvus (or pyarrow) wrote there.
                .read_parquet(
                    paths.clone(),
                    ParquetReadOptions::default().skip_metadata(false),
                )
                .await?;
            // Nested, binary and other types without a column type here
            // are left out, like a FITS or VOTable column of such a type.
            let mut kept = Vec::new();
            for f in df.schema().fields() {
                let xtype = f
                    .metadata()
                    .get(catalog_model::keys::XTYPE)
                    .map(String::as_str);
                if AdqlType::from_arrow(f.data_type(), xtype) == AdqlType::Unknown {
                    left_out.push(LeftOut {
                        column: f.name().clone(),
                        reason: format!("the Parquet type {} cannot be stored", f.data_type()),
                    });
                } else {
                    kept.push(datafusion::prelude::col(
                        datafusion::common::Column::from_name(f.name()),
                    ));
                }
            }
            if left_out.is_empty() {
                df.into_view()
            } else {
                df.select(kept)?.into_view()
            }
        }
        InputFormat::Fits => {
            let [file] = req.files.as_slice() else {
                return Err(Error::Request(
                    "FITS tables are ingested one file at a time".into(),
                ));
            };
            let table = FitsTable::open(file)?;
            left_out = table.left_out();
            vo_metadata = table.column_infos();
            timestamps = table.timestamp_columns();
            let part = Arc::new(SourcePartition::new(table));
            let schema = Arc::clone(PartitionStream::schema(part.as_ref()));
            Arc::new(StreamingTable::try_new(schema, vec![part])?)
        }
        InputFormat::VoTable => {
            let [file] = req.files.as_slice() else {
                return Err(Error::Request(
                    "VOTables are ingested one file at a time".into(),
                ));
            };
            let table = VoTable::open(file)?;
            left_out = table.left_out();
            vo_metadata = table.stored_fields().map(|f| f.column.clone()).collect();
            timestamps = table
                .stored_fields()
                .filter(|f| f.timestamp)
                .map(|f| f.column.name.clone())
                .collect();
            let part = Arc::new(SourcePartition::new(table));
            let schema = Arc::clone(PartitionStream::schema(part.as_ref()));
            Arc::new(StreamingTable::try_new(schema, vec![part])?)
        }
    };
    let provider = cast_timestamps(ctx, provider, &timestamps)?;
    let arrow = provider.schema();
    let mut info = TableInfo::from_arrow(crate::session::SCHEMA, "raw", &arrow);
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
    let names = info.columns.iter().map(|c| &c.name);
    for name in names.chain(left_out.iter().map(|l| &l.column)) {
        check_identifier(name).map_err(|m| Error::input(&req.files[0], m))?;
    }
    Ok(Input {
        info,
        provider,
        file: req.files[0].clone(),
        left_out,
    })
}

/// The provider with the `names` columns (ISO 8601 text) cast to
/// timestamps, so that a VOTable or FITS file written by Corvus reads back
/// with its timestamp columns as timestamps.
fn cast_timestamps(
    ctx: &SessionContext,
    provider: Arc<dyn TableProvider>,
    names: &[String],
) -> Result<Arc<dyn TableProvider>> {
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

/// The key column: the descriptor's, else the one whose UCD says it is
/// the main identifier.
pub(crate) fn key_column(d: &Descriptor, columns: &[ColumnInfo]) -> Result<Option<String>, Error> {
    if let Some(key) = &d.table.key {
        return match columns.iter().find(|c| &c.name == key) {
            Some(c) => Ok(Some(c.name.clone())),
            None => Err(Error::Request(format!(
                "the descriptor's [table] key = \"{key}\" names no column of the table; the columns are {}",
                columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        };
    }
    Ok(columns
        .iter()
        .find(|c| {
            c.meta
                .ucd
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case("meta.id;meta.main"))
        })
        .map(|c| c.name.clone()))
}

/// The main position: the descriptor's, else UCDs, else the usual names.
pub(crate) fn main_position(d: &Descriptor, columns: &[ColumnInfo]) -> Option<Position> {
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

    #[test]
    fn the_key_is_the_descriptor_s_else_the_main_identifier() {
        use catalog_model::{AdqlType, ColumnMeta};
        let col = |name: &str, ucd: Option<&str>| ColumnInfo {
            name: name.into(),
            ty: AdqlType::BigInt,
            meta: ColumnMeta {
                ucd: ucd.map(str::to_string),
                ..ColumnMeta::default()
            },
        };
        let columns = [
            col("flux", None),
            col("source_id", Some("meta.id;meta.main")),
        ];
        let mut d = Descriptor::default();
        assert_eq!(
            key_column(&d, &columns).unwrap().as_deref(),
            Some("source_id")
        );
        d.table.key = Some("flux".into());
        assert_eq!(key_column(&d, &columns).unwrap().as_deref(), Some("flux"));
        d.table.key = Some("id".into());
        let e = key_column(&d, &columns).unwrap_err().to_string();
        assert!(
            e.contains("key = \"id\"") && e.contains("flux, source_id"),
            "{e}"
        );
    }
}
