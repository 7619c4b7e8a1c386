//! A stored result read back: a job's Parquet result published as the
//! table `stored.result` of a session of its own, so that the web
//! interface's pages (a window of rows, sorted by a column) and downloads
//! in another format are ADQL queries through the same translation,
//! execution and result pipeline as every other query.
//!
//! Paging is only correct if the rows come back in one order every time:
//! the session reads the file in one partition (rows in the file's order),
//! and a sorted page breaks ties by each row's place in the file, so that
//! no row shows on two pages or on none.

use crate::error::{Error, Result};
use crate::session::Engine;
use catalog_model::TableInfo;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::prelude::ParquetReadOptions;
use std::path::Path;

/// The schema and table a stored result is published as.
const STORED_SCHEMA: &str = "stored";
/// See [`STORED_SCHEMA`].
const STORED_TABLE: &str = "result";

/// A stored result, ready to be queried.
pub struct StoredResult {
    /// The session that publishes it as `stored.result`.
    pub engine: Engine,
    /// Its columns, in order.
    columns: Vec<String>,
    /// The hidden column that numbers the rows in the file's order.
    row_column: String,
}

/// Which rows and columns of a stored result to read.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// Rows to skip.
    pub offset: u64,
    /// The most rows to read; `None`: all.
    pub limit: Option<u64>,
    /// The column to sort by, and whether descending; `None`: the file's order.
    pub order: Option<(String, bool)>,
    /// The columns to read; `None`: all.
    pub columns: Option<Vec<String>>,
}

impl Engine {
    /// Publishes the Parquet file at `path` (a stored result) as
    /// `stored.result` in a session of its own.
    pub async fn stored_result(&self, path: &Path) -> Result<StoredResult> {
        let mut engine = self.with_tables(Vec::new())?;
        // One partition, so rows come in the file's order (see the module's comment).
        engine
            .ctx
            .state_ref()
            .write()
            .config_mut()
            .options_mut()
            .execution
            .target_partitions = 1;
        let ctx = engine.ctx.clone();
        let file = path.to_string_lossy().into_owned();
        // A job's result file has no extension.
        let read = ParquetReadOptions::default()
            .file_extension("")
            .skip_metadata(false);
        let frame = self
            .run(crate::Lane::Quick, async move {
                ctx.read_parquet(file, read).await
            })
            .await??;
        let columns: Vec<String> = frame
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut row_column = String::from("_row");
        while columns.contains(&row_column) {
            row_column.insert(0, '_');
        }
        let numbered = frame.window(vec![row_number().alias(row_column.as_str())])?;
        let info = TableInfo::from_arrow(STORED_SCHEMA, STORED_TABLE, numbered.schema().as_arrow());
        engine.register(info, numbered.into_view())?;
        Ok(StoredResult {
            engine,
            columns,
            row_column,
        })
    }
}

impl StoredResult {
    /// The result's columns, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The ADQL that reads `window` of the result.
    pub fn adql(&self, window: &Window) -> Result<String> {
        let known = |name: &String| {
            if self.columns.contains(name) {
                Ok(delimited(name))
            } else {
                Err(Error::Request(format!(
                    "the result has no column {name}; it has {}",
                    self.columns.join(", ")
                )))
            }
        };
        let columns = match &window.columns {
            Some(names) if !names.is_empty() => {
                names.iter().map(known).collect::<Result<Vec<_>>>()?
            }
            _ => self.columns.iter().map(|c| delimited(c)).collect(),
        };
        let mut adql = String::from("SELECT ");
        if let Some(limit) = window.limit {
            adql.push_str(&format!("TOP {limit} "));
        }
        adql.push_str(&columns.join(", "));
        adql.push_str(&format!(" FROM {STORED_SCHEMA}.{STORED_TABLE}"));
        if let Some((column, descending)) = &window.order {
            let direction = if *descending { "DESC" } else { "ASC" };
            adql.push_str(&format!(
                " ORDER BY {} {direction}, {}",
                known(column)?,
                delimited(&self.row_column)
            ));
        }
        if window.offset > 0 {
            adql.push_str(&format!(" OFFSET {}", window.offset));
        }
        Ok(adql)
    }
}

/// `name` as an ADQL delimited identifier.
fn delimited(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
