//! The SQLite catalog, `state.sqlite`: one row in `tables` per published
//! table (with the name of its current version folder) and its `columns`.
//! Opened in WAL mode (readers never wait for a writer) with a busy timeout
//! (writers of several processes queue rather than fail with SQLITE_BUSY);
//! every change of several statements is one IMMEDIATE transaction, which
//! takes the write lock at its start so that it never has to upgrade a read
//! lock (the one case where WAL gives up at once, without the timeout).
//!
//! **Never knows:** files, folders or locks; a row names its version folder
//! and nothing here looks at it.

use crate::{Error, Result, TableRecord};
use catalog_model::{AdqlType, ColumnInfo, ColumnMeta, Layout, Position, TableInfo};
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a statement waits for another process's write transaction.
/// Publishing holds the write lock for milliseconds; a minute covers a
/// loaded machine and still ends a wait on a wedged process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

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

/// Opens (creating) the catalog database at `path`.
pub(crate) fn open(path: &Path) -> Result<Connection> {
    let mut db = Connection::open(path)?;
    // First: every statement below may meet another process's transaction.
    db.busy_timeout(BUSY_TIMEOUT)?;
    use_wal(&db)?;
    db.pragma_update(None, "foreign_keys", "ON")?;
    // FULL: a commit is on disk before publish removes the version it
    // replaced, so a power cut cannot bring back a row whose files are gone.
    // Commits are rare (one per publish or drop), so the extra sync is cheap.
    db.pragma_update(None, "synchronous", "FULL")?;
    // Most opens find the schema there: check with a read, so that opening
    // never queues for the write lock behind a publish.
    let tables: i64 = db.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('tables', 'columns')",
        [],
        |r| r.get(0),
    )?;
    if tables < 2 {
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(SCHEMA_SQL)?;
        tx.commit()?;
    }
    Ok(db)
}

/// Switches the database to WAL (a no-op once it is). While switching,
/// SQLite needs the database to itself and, when another connection has it
/// open, fails with SQLITE_BUSY without calling the busy handler: so the
/// processes that create a data directory together wait here instead.
fn use_wal(db: &Connection) -> Result<()> {
    let started = Instant::now();
    loop {
        match db.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::DatabaseBusy && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            done => return Ok(done?),
        }
    }
}

/// Starts a transaction that holds the write lock from its first statement.
pub(crate) fn write(db: &mut Connection) -> Result<rusqlite::Transaction<'_>> {
    Ok(db.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

/// A catalog row: the record (its `directory` left empty) and the name of
/// its version folder.
pub(crate) struct Row {
    pub(crate) record: TableRecord,
    pub(crate) version: String,
}

/// Every published table, ordered by schema and name, read in one
/// transaction so that a table and its columns come from the same commit.
pub(crate) fn rows(db: &Connection) -> Result<Vec<Row>> {
    let tx = db.unchecked_transaction()?;
    let mut stmt = tx.prepare(
        "SELECT schema_name, table_name, description, ra_column, dec_column, row_count, size_bytes, directory
         FROM tables ORDER BY schema_name, table_name",
    )?;
    let mut rows: Vec<(TableRecord, String)> = stmt
        .query_map([], |r| {
            let ra: Option<String> = r.get(3)?;
            let dec: Option<String> = r.get(4)?;
            let row_count = r.get::<_, i64>(5)? as u64;
            Ok((
                TableRecord {
                    info: TableInfo {
                        schema: r.get(0)?,
                        name: r.get(1)?,
                        description: r.get(2)?,
                        columns: Vec::new(),
                        // Ingest gives every table with a main position
                        // the sky index column and sorts it by that.
                        layout: Layout {
                            rows: Some(row_count),
                            sky_index: ra.is_some() && dec.is_some(),
                            // Known from the files: the engine looks.
                            key_index: None,
                        },
                        position: ra.zip(dec).map(|(ra, dec)| Position { ra, dec }),
                    },
                    row_count,
                    size_bytes: r.get::<_, i64>(6)? as u64,
                    directory: PathBuf::new(),
                },
                r.get::<_, String>(7)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut cols = tx.prepare(
        "SELECT column_name, datatype, unit, ucd, utype, description, principal FROM columns
         WHERE schema_name = ?1 AND table_name = ?2 ORDER BY column_index",
    )?;
    for (rec, _) in &mut rows {
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
    rows.into_iter()
        .map(|(record, directory)| {
            // Rows written before versions were named relative to the data
            // directory hold a whole path; the folder's name is what counts
            // either way, so a directory opened under another spelling
            // (`./data`, `/srv/data`) finds the same folders.
            let version = Path::new(&directory)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| Error::Damaged {
                    table: record.info.qualified_name(),
                    problem: format!("its catalog row names no version folder ('{directory}')"),
                })?;
            Ok(Row { record, version })
        })
        .collect()
}

/// The name of the table's current version folder, if it is published.
pub(crate) fn version(db: &Connection, schema: &str, table: &str) -> Result<Option<String>> {
    let directory: Option<String> = db
        .query_row(
            "SELECT directory FROM tables WHERE schema_name = ?1 AND table_name = ?2",
            params![schema, table],
            |r| r.get(0),
        )
        .optional()?;
    Ok(directory.and_then(|d| {
        Path::new(&d)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    }))
}

/// True if the table has a catalog row.
pub(crate) fn exists(db: &Connection, schema: &str, table: &str) -> Result<bool> {
    Ok(db
        .query_row(
            "SELECT 1 FROM tables WHERE schema_name = ?1 AND table_name = ?2",
            params![schema, table],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Removes a table's row and (by the foreign key's cascade) its columns;
/// false if there was none.
pub(crate) fn delete(db: &Connection, schema: &str, table: &str) -> Result<bool> {
    let n = db.execute(
        "DELETE FROM tables WHERE schema_name = ?1 AND table_name = ?2",
        params![schema, table],
    )?;
    Ok(n > 0)
}

/// Writes `record` as a new row pointing at `directory` (relative to the
/// data directory). Call it inside a transaction, after [`delete`].
pub(crate) fn insert(db: &Connection, record: &TableRecord, directory: &str) -> Result<()> {
    let info = &record.info;
    db.execute(
        "INSERT INTO tables (schema_name, table_name, description, ra_column, dec_column, row_count, size_bytes, directory)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            info.schema,
            info.name,
            info.description,
            info.position.as_ref().map(|p| p.ra.clone()),
            info.position.as_ref().map(|p| p.dec.clone()),
            record.row_count as i64,
            record.size_bytes as i64,
            directory,
        ],
    )?;
    let mut stmt = db.prepare(
        "INSERT INTO columns (schema_name, table_name, column_index, column_name, datatype, unit, ucd, utype, description, principal)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (i, c) in info.columns.iter().enumerate() {
        stmt.execute(params![
            info.schema,
            info.name,
            i as i64,
            c.name,
            type_name(c.ty),
            c.meta.unit,
            c.meta.ucd,
            c.meta.utype,
            c.meta.description,
            c.meta.principal
        ])?;
    }
    Ok(())
}

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
