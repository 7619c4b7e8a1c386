//! Table uploads (TAP 1.1 §2.5.8, DALI 1.1 §3.4.5): `UPLOAD=name,param:part`
//! names a part of a multipart POST that holds a table (VOTable, FITS, CSV,
//! TSV or Parquet, told apart by their first bytes); the query reads it as
//! `TAP_UPLOAD.name`. A table named by URL (`name,http://...` or `https://`)
//! is fetched by `fetch.rs`, from public addresses only.

use crate::Limits;
use crate::error::ServiceError;
use catalog_model::TableInfo;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use ingest::InputFormat;
use query_engine::{Engine, Lane};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The schema uploaded tables live in.
pub(crate) const TAP_UPLOAD: &str = "TAP_UPLOAD";

/// A table read from an upload: what [`Engine::with_tables`] takes.
pub(crate) type Uploaded = (TableInfo, SchemaRef, Vec<RecordBatch>);

/// One table of an UPLOAD parameter: `name,param:part` or `name,URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UploadSpec {
    /// The table's name in TAP_UPLOAD.
    pub(crate) name: String,
    /// Where its rows are.
    pub(crate) source: UploadSource,
}

/// Where an uploaded table comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UploadSource {
    /// A part of the multipart request.
    Part(String),
    /// A URL to fetch.
    Url(String),
}

impl UploadSpec {
    /// Reads an UPLOAD value: `name,source` pairs separated by semicolons.
    pub(crate) fn parse_all(spec: &str) -> Result<Vec<UploadSpec>, ServiceError> {
        let bad = |m: String| Err(ServiceError::BadRequest(m));
        let mut out: Vec<UploadSpec> = Vec::new();
        for item in spec.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let Some((name, source)) = item.split_once(',') else {
                return bad(format!(
                    "UPLOAD={item} is not name,source: write UPLOAD=mytable,param:part for a multipart part"
                ));
            };
            let name = name.trim();
            if catalog_name_invalid(name) {
                let shown: String = name.chars().take(40).collect();
                return bad(format!(
                    "UPLOAD table name '{shown}' is not a plain ADQL name (a letter, then at most {MAX_NAME} letters, digits or _)"
                ));
            }
            if out.iter().any(|u| u.name.eq_ignore_ascii_case(name)) {
                return bad(format!("UPLOAD names the table {name} twice"));
            }
            let source = source.trim();
            let source = if let Some(part) = source.strip_prefix("param:") {
                UploadSource::Part(part.to_string())
            } else if source.starts_with("http://") || source.starts_with("https://") {
                UploadSource::Url(source.to_string())
            } else {
                return bad(format!(
                    "UPLOAD {name}: '{source}' is neither param:PART nor a URL"
                ));
            };
            out.push(UploadSpec {
                name: name.to_string(),
                source,
            });
        }
        Ok(out)
    }
}

/// The most tables one request may upload.
const MAX_UPLOADS: usize = 32;

/// The files of a multipart request, by part name, in a folder removed when
/// the request is done.
#[derive(Default)]
pub(crate) struct Parts {
    pub(crate) files: HashMap<String, PathBuf>,
    pub(crate) dir: Option<tempfile::TempDir>,
    /// Bytes the request sent in all its parts, counted against the upload
    /// limit together with what URL uploads fetch.
    pub(crate) bytes: u64,
}

impl Parts {
    /// A new file in the request's folder.
    fn new_file(&mut self) -> Result<PathBuf, ServiceError> {
        let dir = match &self.dir {
            Some(d) => d.path().to_path_buf(),
            None => {
                let d = temp_folder()?;
                let path = d.path().to_path_buf();
                self.dir = Some(d);
                path
            }
        };
        Ok(dir.join(format!("part{}", self.files.len())))
    }
}

/// A folder for one request's upload files, removed when dropped.
fn temp_folder() -> Result<tempfile::TempDir, ServiceError> {
    tempfile::Builder::new()
        .prefix("corvus-upload-")
        .tempdir()
        .map_err(|e| ServiceError::internal("cannot store the upload", e))
}

/// Reads a multipart body: parts with a file name are saved to disk (at
/// most `limits.max_upload_bytes` in all), the others are parameters. A
/// part without a file name that UPLOAD names (`curl -F 't=<table.vot'`
/// sends one) is a table too, and is saved to disk as well.
pub(crate) async fn read_multipart(
    mut multipart: axum::extract::Multipart,
    limits: &Limits,
) -> Result<(Vec<(String, String)>, Parts), ServiceError> {
    use tokio::io::AsyncWriteExt;
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        ServiceError::BadRequest(format!(
            "cannot read the multipart request: {}",
            e.body_text()
        ))
    };
    let stored = |e: std::io::Error| ServiceError::internal("cannot store the upload", e);
    let too_large = || {
        ServiceError::TooLarge(format!(
            "the uploads exceed this service's limit of {} bytes",
            limits.max_upload_bytes
        ))
    };
    let mut params = Vec::new();
    // Parts without a file name whose bytes are not text.
    let mut binary: HashMap<String, Vec<u8>> = HashMap::new();
    let mut parts = Parts::default();
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        if field.file_name().is_none() {
            let value = field.bytes().await.map_err(unreadable)?;
            parts.bytes += value.len() as u64;
            if parts.bytes > limits.max_upload_bytes {
                return Err(too_large());
            }
            match String::from_utf8(value.to_vec()) {
                Ok(text) => params.push((name, text)),
                Err(e) => {
                    binary.insert(name, e.into_bytes());
                }
            }
            continue;
        }
        let path = parts.new_file()?;
        let mut file = tokio::fs::File::create(&path).await.map_err(stored)?;
        while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
            parts.bytes += chunk.len() as u64;
            if parts.bytes > limits.max_upload_bytes {
                return Err(too_large());
            }
            file.write_all(&chunk).await.map_err(stored)?;
        }
        file.flush().await.map_err(stored)?;
        parts.files.insert(name, path);
    }
    // Tables sent as plain fields: UPLOAD says which.
    let upload = params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("UPLOAD"))
        .map(|(_, v)| v.clone());
    for spec in upload
        .as_deref()
        .map(UploadSpec::parse_all)
        .transpose()?
        .unwrap_or_default()
    {
        let UploadSource::Part(part) = spec.source else {
            continue;
        };
        if parts.files.contains_key(&part) {
            continue;
        }
        let bytes = match binary.remove(&part) {
            Some(b) => b,
            None => match params.iter().position(|(k, _)| *k == part) {
                Some(i) => params.remove(i).1.into_bytes(),
                None => continue,
            },
        };
        let path = parts.new_file()?;
        tokio::fs::write(&path, bytes).await.map_err(stored)?;
        parts.files.insert(part, path);
    }
    Ok((params, parts))
}

/// Reads the tables `specs` name, each whole into memory (they are bounded
/// by the upload limits), on the engine's pool: parsing a table is CPU work.
pub(crate) async fn load(
    specs: &[UploadSpec],
    parts: &Parts,
    engine: &Engine,
    limits: &Limits,
) -> Result<Vec<Uploaded>, ServiceError> {
    if specs.len() > MAX_UPLOADS {
        return Err(ServiceError::BadRequest(format!(
            "UPLOAD names {} tables; this service takes at most {MAX_UPLOADS} in one request",
            specs.len()
        )));
    }
    let mut tables = Vec::new();
    // Tables fetched from URLs; read into memory before this goes.
    let mut fetched: Option<tempfile::TempDir> = None;
    // The upload limit covers the request's parts and every fetch together.
    let mut room = limits.max_upload_bytes.saturating_sub(parts.bytes);
    for spec in specs {
        let name = &spec.name;
        let path = match &spec.source {
            UploadSource::Part(part) => parts.files.get(part).cloned().ok_or_else(|| {
                ServiceError::BadRequest(format!(
                    "UPLOAD {name} refers to param:{part}, but the request has no file part named {part} (send it as multipart/form-data)"
                ))
            })?,
            UploadSource::Url(url) => {
                if !limits.upload_urls.enabled {
                    return Err(ServiceError::BadRequest(format!(
                        "UPLOAD {name}: this service does not fetch tables from URLs; send the table inline as a multipart part and write UPLOAD={name},param:PART"
                    )));
                }
                if fetched.is_none() {
                    fetched = Some(temp_folder()?);
                }
                let dir = fetched
                    .as_ref()
                    .map(|d| d.path().to_path_buf())
                    .unwrap_or_default();
                let path = dir.join(format!("url{}", tables.len()));
                let bytes =
                    crate::fetch::fetch(name, url, &path, room, &limits.upload_urls).await?;
                room = room.saturating_sub(bytes);
                path
            }
        };
        // Parsed on the quick lane's pool, whose threads long queries never
        // hold; aborted if the request goes away meanwhile.
        let (name, max_rows) = (name.clone(), limits.max_upload_rows);
        let table = engine
            .run(Lane::Quick, async move {
                read_one(&path, &name, max_rows).await
            })
            .await??;
        tables.push(table);
    }
    Ok(tables)
}

/// The longest name an uploaded table may have, as for published tables.
const MAX_NAME: usize = 64;

fn catalog_name_invalid(name: &str) -> bool {
    let mut chars = name.chars();
    !(name.len() <= MAX_NAME
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// The format of a table file, from its first bytes.
fn sniff(path: &Path) -> Result<InputFormat, ServiceError> {
    use std::io::Read;
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| ServiceError::internal("cannot read the upload", e))?;
    let head = &head[..n];
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let trimmed = text.trim_ascii_start();
    Ok(if head.starts_with(b"PAR1") {
        InputFormat::Parquet
    } else if head.starts_with(b"SIMPLE  =") {
        InputFormat::Fits
    } else if trimmed.starts_with(b"<") {
        InputFormat::VoTable
    } else {
        let first_line = text.split(|b| *b == b'\n').next().unwrap_or_default();
        if first_line.contains(&b'\t') && !first_line.contains(&b',') {
            InputFormat::Tsv
        } else {
            InputFormat::Csv
        }
    })
}

async fn read_one(path: &Path, name: &str, max_rows: u64) -> Result<Uploaded, ServiceError> {
    let format = sniff(path)?;
    // The CSV reader goes by the file's extension.
    let named = path.with_extension(format.name());
    std::fs::rename(path, &named)
        .map_err(|e| ServiceError::internal("cannot store the upload", e))?;
    // Messages name the upload, never the temporary file behind it.
    let temp = named.to_string_lossy().into_owned();
    ingest::read_table(&named, format, TAP_UPLOAD, name, max_rows)
        .await
        .map_err(|e| {
            ServiceError::BadRequest(format!(
                "UPLOAD {name} ({}): {}",
                format.name(),
                e.to_string().replace(&temp, name)
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_apart_by_their_first_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&[u8], &str); 6] = [
            (b"PAR1....", "parquet"),
            (b"SIMPLE  =                    T", "fits"),
            (b"\xEF\xBB\xBF<?xml version='1.0'?><VOTABLE>", "votable"),
            (b"  \n<VOTABLE>", "votable"),
            (b"a,b\n1,2\n", "csv"),
            (b"a\tb\n1\t2\n", "tsv"),
        ];
        for (i, (bytes, want)) in cases.iter().enumerate() {
            let p = dir.path().join(format!("f{i}"));
            std::fs::write(&p, bytes).unwrap();
            assert_eq!(sniff(&p).unwrap().name(), *want);
        }
    }

    #[test]
    fn upload_names_must_be_plain() {
        assert!(catalog_name_invalid("1abc"));
        assert!(catalog_name_invalid("a-b"));
        assert!(!catalog_name_invalid("my_stars2"));
        assert!(catalog_name_invalid(&"a".repeat(65)));
    }
}
