//! Tables the unit tests of several modules share: an ingested data
//! directory with a positioned table and a plain one.

#![allow(clippy::unwrap_used)] // test data: a panic is a failed test

use crate::session::{Engine, EngineConfig};
use catalog_store::DataDir;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Positions (ra, dec in degrees), one row each; the last has none.
pub(crate) const POINTS: &[(f64, f64)] = &[
    (10.0, 20.0),
    (10.0001, 20.0001),
    (200.5, -45.25),
    (359.99, 89.9),
    (0.0, -89.9),
    (123.4, 5.6),
];

/// A data directory with `t.stars` (positions, ingested as any catalog
/// is, so with the hidden index) and `t.plain` (no position).
pub(crate) async fn data_dir() -> (tempfile::TempDir, DataDir) {
    let tmp = tempfile::tempdir().unwrap();
    let mut dir = DataDir::open(&tmp.path().join("data")).unwrap();
    let csv = tmp.path().join("stars.csv");
    let mut f = std::fs::File::create(&csv).unwrap();
    writeln!(f, "id,ra,dec").unwrap();
    for (i, (ra, dec)) in POINTS.iter().enumerate() {
        writeln!(f, "{i},{ra},{dec}").unwrap();
    }
    writeln!(f, "99,,").unwrap();
    drop(f);
    let plain = tmp.path().join("plain.csv");
    std::fs::write(&plain, "id,flux\n1,2.5\n").unwrap();
    for (file, table) in [(csv, "stars"), (plain, "plain")] {
        publish(&mut dir, file, table, Default::default()).await;
    }
    (tmp, dir)
}

/// Ingests `file` as the new table `t.<table>`.
async fn publish(
    dir: &mut DataDir,
    file: PathBuf,
    table: &str,
    descriptor: ingest::descriptor::Descriptor,
) {
    let req = ingest::Request {
        files: vec![file],
        schema: "t".into(),
        table: table.into(),
        descriptor,
        mode: ingest::Mode::Create,
        rows_read: None,
        skip_bad_rows: 0,
        strict: false,
    };
    ingest::ingest(dir, &req).await.unwrap();
}

/// An engine with `config` over [`data_dir`]'s tables and `t.keyed` of
/// `rows` rows ([`add_keyed_table`]); the folder goes with the engine.
pub(crate) async fn engine_with_keyed_table(
    rows: u64,
    config: EngineConfig,
) -> (tempfile::TempDir, Engine) {
    let (tmp, mut dir) = data_dir().await;
    add_keyed_table(tmp.path(), &mut dir, rows).await;
    let engine = Engine::open(dir.snapshot().unwrap(), config).await.unwrap();
    (tmp, engine)
}

/// Publishes `t.keyed`: `rows` rows (id, ra, dec) spread over the sky, with
/// `id` as its key column, so ingest writes its key index.
async fn add_keyed_table(tmp: &Path, dir: &mut DataDir, rows: u64) {
    let csv = tmp.join("keyed.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    writeln!(f, "id,ra,dec").unwrap();
    for i in 0..rows {
        // A golden-angle spiral: every row a different place.
        let dec = (1.0 - 2.0 * (i as f64 + 0.5) / rows as f64)
            .asin()
            .to_degrees();
        let ra = (i as f64 * 137.507_764_050_037_85).rem_euclid(360.0);
        writeln!(f, "{i},{ra},{dec}").unwrap();
    }
    drop(f);
    let mut descriptor = ingest::descriptor::Descriptor::default();
    descriptor.table.key = Some("id".into());
    publish(dir, csv, "keyed", descriptor).await;
}
