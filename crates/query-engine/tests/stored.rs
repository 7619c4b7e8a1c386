//! Stored results read back (`Engine::stored_result`): a Parquet result
//! written by the pipeline, paged with and without a sort, must give every
//! row exactly once, in a stable order, with its column metadata.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed test

use catalog_model::AllowAll;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int64Type;
use query_engine::{Engine, QueryOptions, Window, WriteSink, write_result};
use std::path::Path;

const ROWS: u64 = 1000;

/// Writes `SELECT id, id % 3 AS g, ra FROM big.t` (many ties in g) as a
/// Parquet result file named like a job's, without extension.
async fn stored(engine: &Engine, path: &Path) {
    let t = engine
        .translate("SELECT id, MOD(id, 3) AS g, ra FROM big.t", &AllowAll)
        .unwrap();
    let stream = engine.execute(&t, QueryOptions::default()).await.unwrap();
    let writer = table_writers::Format::Parquet
        .writer(stream.schema(), "q")
        .unwrap();
    let mut sink = WriteSink(std::fs::File::create(path).unwrap());
    let written = write_result(stream, writer, &mut sink).await.unwrap();
    assert_eq!(written.rows, ROWS);
}

/// The ids (first column) and g (second) of `window`.
async fn read(engine: &Engine, path: &Path, window: &Window) -> Vec<(i64, i64)> {
    let stored = engine.stored_result(path).await.unwrap();
    let adql = stored.adql(window).unwrap();
    let t = stored.engine.translate(&adql, &AllowAll).unwrap();
    let (_, batches) = stored
        .engine
        .collect(&t, QueryOptions::default())
        .await
        .unwrap();
    let mut rows = Vec::new();
    for b in batches {
        let ids = b.column(0).as_primitive::<Int64Type>();
        let g = b.column(1).as_primitive::<Int64Type>();
        rows.extend((0..b.num_rows()).map(|i| (ids.value(i), g.value(i))));
    }
    rows
}

fn engine() -> Engine {
    let mut e = test_support::fixture::engine();
    test_support::fixture::add_sky_table(&mut e, "big", "t", ROWS as usize);
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_cover_every_row_once_in_a_stable_order() {
    let e = engine();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("result");
    stored(&e, &path).await;

    // Unsorted: the file's order, page after page.
    let mut all = Vec::new();
    for page in 0..10 {
        let window = Window {
            offset: page * 100,
            limit: Some(100),
            ..Window::default()
        };
        all.extend(read(&e, &path, &window).await);
    }
    let ids: Vec<i64> = all.iter().map(|r| r.0).collect();
    assert_eq!(ids, (0..ROWS as i64).collect::<Vec<_>>());

    // Sorted by a column of ties, pages of a size that cuts through ties:
    // every row once, g descending, ties in the file's order.
    let mut sorted = Vec::new();
    for page in 0..(ROWS / 70 + 1) {
        let window = Window {
            offset: page * 70,
            limit: Some(70),
            order: Some(("g".into(), true)),
            columns: None,
        };
        sorted.extend(read(&e, &path, &window).await);
    }
    let mut expected: Vec<(i64, i64)> = (0..ROWS as i64).map(|i| (i, i % 3)).collect();
    expected.sort_by_key(|(id, g)| (-g, *id));
    assert_eq!(sorted, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn columns_are_chosen_checked_and_keep_their_metadata() {
    let e = engine();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("result");
    stored(&e, &path).await;
    let stored = e.stored_result(&path).await.unwrap();
    // The row numbers are the reader's, not the result's.
    assert_eq!(stored.columns(), ["id", "g", "ra"]);
    let err = stored
        .adql(&Window {
            order: Some(("nope".into(), false)),
            ..Window::default()
        })
        .unwrap_err();
    assert!(
        err.to_string().contains("no column nope; it has id, g, ra"),
        "{err}"
    );
    let adql = stored
        .adql(&Window {
            columns: Some(vec!["ra".into(), "id".into()]),
            limit: Some(5),
            ..Window::default()
        })
        .unwrap();
    let t = stored.engine.translate(&adql, &AllowAll).unwrap();
    let (schema, batches) = stored
        .engine
        .collect(&t, QueryOptions::default())
        .await
        .unwrap();
    assert_eq!(schema.field(0).name(), "ra");
    assert_eq!(
        schema.field(0).metadata().get(catalog_model::keys::UCD),
        Some(&"pos.eq.ra;meta.main".to_string())
    );
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 5);
    assert!(batches[0].column(1).null_count() == 0);
}
