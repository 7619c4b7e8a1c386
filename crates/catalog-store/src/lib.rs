//! The data directory and the catalog of published tables.
//!
//! Layout (see the design brief): `state.sqlite` (this catalog, WAL mode),
//! `tables/<schema>/<table>/<version>/*.parquet` (the data), and
//! `tables/.staging/` (ingests in progress). A table's files are written under
//! `.staging`, moved to a fresh version folder, and only then made visible by
//! one SQLite transaction; so a table appears whole or not at all, a
//! replaced table stays as it was until the new one is complete, and
//! [`DataDir::open`] removes whatever a crash left behind.
//!
//! **Boundary:** knows SQLite and the file layout; not how files are read or
//! written (that is `ingest`), nor HTTP.

use catalog_model::{AdqlType, ColumnInfo, ColumnMeta, Position, StaticCatalog, TableInfo};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};

/// Errors of the catalog and data directory.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite failed.
    #[error("catalog database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The table exists and neither replace nor append was asked for.
    #[error("table {0} already exists (use --replace to overwrite it or --append to add rows)")]
    TableExists(String),
    /// No such table.
    #[error("no table {0}")]
    NoSuchTable(String),
    /// A name that cannot be used.
    #[error("invalid name '{0}': use letters, digits and underscores, starting with a letter")]
    InvalidName(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { what, path, source }
}

/// What the catalog records about a published table beyond its columns.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRecord {
    /// Names, columns and the main position.
    pub info: TableInfo,
    /// Number of rows.
    pub row_count: u64,
    /// Bytes on disk.
    pub size_bytes: u64,
    /// The folder holding its Parquet files.
    pub directory: PathBuf,
}

/// Checks a schema or table name: a regular ADQL identifier.
pub fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64;
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName(name.to_string()))
    }
}

/// A data directory, opened.
pub struct DataDir {
    root: PathBuf,
    db: Connection,
}

const SCHEMA_SQL: &str = "
CREATE TABLE IF NOT EXISTS tables (
    schema_name TEXT NOT NULL,
    table_name  TEXT NOT NULL,
    description TEXT,
    ra_column   TEXT,
    dec_column  TEXT,
    row_count   INTEGER NOT NULL,
    size_bytes  INTEGER NOT NULL,
    directory   TEXT NOT NULL,
    PRIMARY KEY (schema_name, table_name)
);
CREATE TABLE IF NOT EXISTS columns (
    schema_name  TEXT NOT NULL,
    table_name   TEXT NOT NULL,
    column_index INTEGER NOT NULL,
    column_name  TEXT NOT NULL,
    datatype     TEXT NOT NULL,
    unit         TEXT,
    ucd          TEXT,
    utype        TEXT,
    description  TEXT,
    principal    INTEGER,
    PRIMARY KEY (schema_name, table_name, column_name),
    FOREIGN KEY (schema_name, table_name) REFERENCES tables ON DELETE CASCADE
);
";

fn type_name(t: AdqlType) -> String {
    format!("{t:?}")
}

fn parse_type(s: &str) -> AdqlType {
    use AdqlType::*;
    [
        Boolean, SmallInt, Integer, BigInt, Real, Double, Varchar, Timestamp, Point, Circle,
        Polygon, Region, Array,
    ]
    .into_iter()
    .find(|t| type_name(*t) == s)
    .unwrap_or(Unknown)
}

impl DataDir {
    /// Opens (creating if needed) the data directory at `root`, and clears
    /// what an interrupted ingest left.
    pub fn open(root: &Path) -> Result<DataDir> {
        std::fs::create_dir_all(root.join("tables")).map_err(io("cannot create", root))?;
        let db = Connection::open(root.join("state.sqlite"))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.execute_batch(SCHEMA_SQL)?;
        let dir = DataDir {
            root: root.to_path_buf(),
            db,
        };
        dir.clean_up()?;
        Ok(dir)
    }

    /// The directory's root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A fresh, empty folder to write a new table version into.
    pub fn staging_folder(&self) -> Result<PathBuf> {
        let staging = self.root.join("tables/.staging");
        std::fs::create_dir_all(&staging).map_err(io("cannot create", &staging))?;
        let name = format!("{}-{}", std::process::id(), unique_suffix());
        let path = staging.join(name);
        std::fs::create_dir(&path).map_err(io("cannot create", &path))?;
        Ok(path)
    }

    /// Removes staging leftovers and table versions no catalog row points to.
    fn clean_up(&self) -> Result<()> {
        let staging = self.root.join("tables/.staging");
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(io("cannot remove", &staging))?;
        }
        let live: Vec<PathBuf> = self.records()?.into_iter().map(|r| r.directory).collect();
        for schema in subdirs(&self.root.join("tables"))? {
            for table in subdirs(&schema)? {
                for version in subdirs(&table)? {
                    if !live.contains(&version) {
                        std::fs::remove_dir_all(&version).map_err(io("cannot remove", &version))?;
                    }
                }
                let _ = std::fs::remove_dir(&table);
            }
            let _ = std::fs::remove_dir(&schema);
        }
        Ok(())
    }

    /// Publishes the Parquet files in `staged` as `record.info` in one step.
    /// With `replace`, an existing table of that name is superseded; without,
    /// it is an error. `record.directory` is set here.
    pub fn publish(
        &mut self,
        staged: &Path,
        mut record: TableRecord,
        replace: bool,
    ) -> Result<TableRecord> {
        check_name(&record.info.schema)?;
        check_name(&record.info.name)?;
        let old = self.record(&record.info.schema, &record.info.name)?;
        if old.is_some() && !replace {
            return Err(Error::TableExists(record.info.qualified_name()));
        }
        let table_dir = self
            .root
            .join("tables")
            .join(&record.info.schema)
            .join(&record.info.name);
        std::fs::create_dir_all(&table_dir).map_err(io("cannot create", &table_dir))?;
        let version = table_dir.join(format!("v{}", unique_suffix()));
        std::fs::rename(staged, &version)
            .map_err(io("cannot move the new table into", &version))?;
        record.directory = version.clone();
        let tx = self.db.transaction()?;
        tx.execute(
            "DELETE FROM tables WHERE schema_name = ?1 AND table_name = ?2",
            params![record.info.schema, record.info.name],
        )?;
        tx.execute(
            "INSERT INTO tables (schema_name, table_name, description, ra_column, dec_column, row_count, size_bytes, directory)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                record.info.schema,
                record.info.name,
                record.info.description,
                record.info.position.as_ref().map(|p| p.ra.clone()),
                record.info.position.as_ref().map(|p| p.dec.clone()),
                record.row_count as i64,
                record.size_bytes as i64,
                version.to_string_lossy(),
            ],
        )?;
        for (i, c) in record.info.columns.iter().enumerate() {
            tx.execute(
                "INSERT INTO columns (schema_name, table_name, column_index, column_name, datatype, unit, ucd, utype, description, principal)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    record.info.schema,
                    record.info.name,
                    i as i64,
                    c.name,
                    type_name(c.ty),
                    c.meta.unit,
                    c.meta.ucd,
                    c.meta.utype,
                    c.meta.description,
                    c.meta.principal
                ],
            )?;
        }
        tx.commit()?;
        if let Some(old) = old {
            // The catalog no longer points there; a failure here leaves an
            // orphan that the next open removes.
            let _ = std::fs::remove_dir_all(&old.directory);
        }
        Ok(record)
    }

    /// Removes a table: from the catalog first, then its files.
    pub fn drop_table(&mut self, schema: &str, table: &str) -> Result<()> {
        let Some(rec) = self.record(schema, table)? else {
            return Err(Error::NoSuchTable(format!("{schema}.{table}")));
        };
        self.db.execute(
            "DELETE FROM tables WHERE schema_name = ?1 AND table_name = ?2",
            params![schema, table],
        )?;
        let _ = std::fs::remove_dir_all(&rec.directory);
        let parent = self.root.join("tables").join(schema);
        let _ = std::fs::remove_dir(parent.join(table));
        let _ = std::fs::remove_dir(parent);
        Ok(())
    }

    /// One table's record.
    pub fn record(&self, schema: &str, table: &str) -> Result<Option<TableRecord>> {
        Ok(self
            .records()?
            .into_iter()
            .find(|r| r.info.schema == schema && r.info.name == table))
    }

    /// Every published table, ordered by schema and name.
    pub fn records(&self) -> Result<Vec<TableRecord>> {
        let mut stmt = self.db.prepare(
            "SELECT schema_name, table_name, description, ra_column, dec_column, row_count, size_bytes, directory
             FROM tables ORDER BY schema_name, table_name",
        )?;
        let mut records: Vec<TableRecord> = stmt
            .query_map([], |r| {
                let ra: Option<String> = r.get(3)?;
                let dec: Option<String> = r.get(4)?;
                Ok(TableRecord {
                    info: TableInfo {
                        schema: r.get(0)?,
                        name: r.get(1)?,
                        description: r.get(2)?,
                        columns: Vec::new(),
                        position: ra.zip(dec).map(|(ra, dec)| Position { ra, dec }),
                    },
                    row_count: r.get::<_, i64>(5)? as u64,
                    size_bytes: r.get::<_, i64>(6)? as u64,
                    directory: PathBuf::from(r.get::<_, String>(7)?),
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut cols = self.db.prepare(
            "SELECT column_name, datatype, unit, ucd, utype, description, principal FROM columns
             WHERE schema_name = ?1 AND table_name = ?2 ORDER BY column_index",
        )?;
        for rec in &mut records {
            rec.info.columns = cols
                .query_map(params![rec.info.schema, rec.info.name], |r| {
                    Ok(ColumnInfo {
                        name: r.get(0)?,
                        ty: parse_type(&r.get::<_, String>(1)?),
                        meta: ColumnMeta {
                            unit: r.get(2)?,
                            ucd: r.get(3)?,
                            utype: r.get(4)?,
                            description: r.get(5)?,
                            principal: r.get(6)?,
                        },
                    })
                })?
                .collect::<Result<_, _>>()?;
        }
        Ok(records)
    }

    /// The published tables as a catalog for the ADQL planner.
    pub fn catalog(&self) -> Result<StaticCatalog> {
        Ok(StaticCatalog::new(
            self.records()?.into_iter().map(|r| r.info).collect(),
        ))
    }

    /// True if the table exists.
    pub fn exists(&self, schema: &str, table: &str) -> Result<bool> {
        Ok(self
            .db
            .query_row(
                "SELECT 1 FROM tables WHERE schema_name = ?1 AND table_name = ?2",
                params![schema, table],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos:x}")
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io("cannot read", dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(schema: &str, name: &str, rows: u64) -> TableRecord {
        TableRecord {
            info: TableInfo {
                schema: schema.into(),
                name: name.into(),
                description: Some("test".into()),
                columns: vec![ColumnInfo {
                    name: "ra".into(),
                    ty: AdqlType::Double,
                    meta: ColumnMeta {
                        unit: Some("deg".into()),
                        ucd: Some("pos.eq.ra;meta.main".into()),
                        principal: Some(true),
                        ..Default::default()
                    },
                }],
                position: None,
            },
            row_count: rows,
            size_bytes: 0,
            directory: PathBuf::new(),
        }
    }

    fn staged(dir: &DataDir) -> PathBuf {
        let s = dir.staging_folder().unwrap();
        std::fs::write(s.join("part-0.parquet"), b"data").unwrap();
        s
    }

    #[test]
    fn publish_replace_drop_and_reopen() {
        let tmp = tempfile::tempdir().unwrap();
        let mut dir = DataDir::open(tmp.path()).unwrap();
        let s = staged(&dir);
        let first = dir.publish(&s, record("hip", "main", 10), false).unwrap();
        assert!(first.directory.join("part-0.parquet").exists());
        // A second publish without replace is refused and changes nothing.
        let s2 = staged(&dir);
        assert!(matches!(
            dir.publish(&s2, record("hip", "main", 20), false),
            Err(Error::TableExists(_))
        ));
        assert_eq!(dir.record("hip", "main").unwrap().unwrap().row_count, 10);
        // Replace swaps in the new version and removes the old files.
        let second = dir.publish(&s2, record("hip", "main", 20), true).unwrap();
        assert!(!first.directory.exists());
        drop(dir);
        let mut dir = DataDir::open(tmp.path()).unwrap();
        let rec = dir.record("hip", "main").unwrap().unwrap();
        assert_eq!(rec.row_count, 20);
        assert_eq!(rec.directory, second.directory);
        assert_eq!(rec.info.columns[0].meta.unit.as_deref(), Some("deg"));
        assert_eq!(rec.info.columns[0].meta.principal, Some(true));
        assert_eq!(dir.catalog().unwrap().tables().len(), 1);
        dir.drop_table("hip", "main").unwrap();
        assert!(!second.directory.exists());
        assert!(matches!(
            dir.drop_table("hip", "main"),
            Err(Error::NoSuchTable(_))
        ));
    }

    use catalog_model::Catalog;

    #[test]
    fn leftovers_of_a_crash_are_removed_on_open() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(tmp.path()).unwrap();
        let s = staged(&dir);
        let orphan = tmp.path().join("tables/hip/main/vdeadbeef");
        std::fs::create_dir_all(&orphan).unwrap();
        drop(dir);
        DataDir::open(tmp.path()).unwrap();
        assert!(!s.exists());
        assert!(!orphan.exists());
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("hip2").is_ok());
        assert!(check_name("2mass").is_err());
        assert!(check_name("a/b").is_err());
        assert!(check_name("").is_err());
    }
}
