//! Runs the `.slt` files in `tests/slt/` (at the workspace root): each ADQL
//! query is translated, executed over the fixture catalog and written as
//! Parquet through the result pipeline, and its rows compared with the
//! file. `COMPLETE=1 cargo test --workspace --test slt` rewrites the
//! expected results (review the diff before committing).

use catalog_model::AllowAll;
use query_engine::{Engine, QueryOptions, WriteSink, write_result};
use sqllogictest::{DBOutput, DefaultColumnType};
use std::path::{Path, PathBuf};
use table_writers::Format;
use test_support::{fixture, rows::rows_of_parquet};

struct AdqlDb {
    engine: Engine,
}

impl AdqlDb {
    /// The query's result as Parquet bytes, written by the one pipeline.
    async fn parquet(&self, adql: &str) -> Result<(Vec<u8>, usize), DbError> {
        let t = self
            .engine
            .translate(adql, &AllowAll)
            .map_err(|e| DbError(e.to_string()))?;
        let failed = |e: query_engine::Error| DbError(format!("{e}\n  translated: {}", t.sql));
        let stream = self
            .engine
            .execute(&t, QueryOptions::default())
            .await
            .map_err(failed)?;
        let writer = Format::Parquet
            .writer(stream.schema(), adql)
            .map_err(|e| DbError(e.to_string()))?;
        let mut sink = WriteSink(Vec::new());
        let written = write_result(stream, writer, &mut sink)
            .await
            .map_err(failed)?;
        if let query_engine::Ending::Failed(e) = written.ending {
            return Err(failed(e));
        }
        Ok((sink.0, t.columns.len()))
    }
}

#[derive(Debug)]
struct DbError(String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for DbError {}

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for AdqlDb {
    type Error = DbError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, adql: &str) -> Result<DBOutput<DefaultColumnType>, DbError> {
        let (bytes, width) = self.parquet(adql).await?;
        let rows = rows_of_parquet(bytes).map_err(DbError)?;
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; width],
            rows,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "corvus"
    }
}

fn slt_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    files
}

#[tokio::main]
async fn main() {
    let complete = std::env::var_os("COMPLETE").is_some();
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let (mut passed, mut failed) = (0, 0);
    for file in slt_files() {
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        let mut runner = sqllogictest::Runner::new(|| async {
            Ok(AdqlDb {
                engine: fixture::engine(),
            })
        });
        let outcome = if complete {
            runner
                .update_test_file(
                    &file,
                    " ",
                    sqllogictest::default_validator,
                    sqllogictest::default_normalizer,
                    sqllogictest::default_column_validator,
                )
                .await
                .map_err(|e| e.to_string())
        } else {
            runner
                .run_file_async(&file)
                .await
                .map_err(|e| e.display(true).to_string())
        };
        match outcome {
            Ok(()) => {
                println!("test slt::{name} ... ok");
                passed += 1;
            }
            Err(e) => {
                println!("test slt::{name} ... FAILED\n{e}");
                failed += 1;
            }
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
