//! End-to-end tests of the `corvus` binary.

use datafusion::arrow::array::{Float64Array, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

fn corvus(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_corvus"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start corvus");
    if let Some(s) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(s.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("corvus output")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A data directory with one table, `hip.main`, written as real Parquet.
fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let table = dir.path().join("tables/hip/main");
    std::fs::create_dir_all(&table).expect("mkdir");
    let md = |unit: &str, ucd: &str| {
        HashMap::from([
            ("unit".to_string(), unit.to_string()),
            ("ucd".to_string(), ucd.to_string()),
        ])
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("hip", DataType::Int64, false),
        Field::new("ra", DataType::Float64, false).with_metadata(md("deg", "pos.eq.ra;meta.main")),
        Field::new("dec", DataType::Float64, false)
            .with_metadata(md("deg", "pos.eq.dec;meta.main")),
        Field::new("plx", DataType::Float64, true).with_metadata(md("mas", "pos.parallax.trig")),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(Int64Array::from(vec![1, 2])),
            Arc::new(Float64Array::from(vec![0.0009, 0.0050])),
            Arc::new(Float64Array::from(vec![1.089, -19.498])),
            Arc::new(Float64Array::from(vec![Some(4.55), None])),
        ],
    )
    .expect("batch");
    let file = std::fs::File::create(table.join("part-0.parquet")).expect("create parquet");
    let mut w = ArrowWriter::try_new(file, schema, None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    dir
}

#[test]
fn check_prints_translated_sql_and_exits_zero() {
    let out = corvus(
        &[
            "adql",
            "check",
            "SELECT TOP 5 ra, dec FROM hip.main WHERE plx > 10",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        r#"SELECT "main"."ra" AS "ra", "main"."dec" AS "dec" FROM "hip"."main" AS "main" WHERE ("main"."plx" > 10) LIMIT 5"#
    );
}

#[test]
fn check_reports_the_position_and_exits_one() {
    let out = corvus(
        &["adql", "check", "SELECT ra\nFROM hip.main\nWHERE ra >"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("line 3, column 11"), "{err}");
    assert!(err.contains("expected an expression"), "{err}");
    assert!(
        err.lines().any(|l| l.trim_end().ends_with('^')),
        "caret line: {err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn check_reads_the_query_from_stdin() {
    let out = corvus(
        &["adql", "check", "-"],
        Some("SELECT COUNT(*) FROM hip.main"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("COUNT(*)"));
}

#[test]
fn check_warns_about_limit_but_accepts_it() {
    let out = corvus(&["adql", "check", "SELECT ra FROM hip.main LIMIT 3"], None);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("LIMIT 3"));
    assert!(
        text(&out.stderr).contains("LIMIT is not ADQL; read as TOP 3"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn check_with_catalog_resolves_names_and_units() {
    let dir = data_dir();
    let path = dir.path().to_str().expect("utf-8 path");
    let out = corvus(
        &[
            "adql",
            "check",
            "--catalog",
            path,
            "--columns",
            "SELECT IN_UNIT(plx, 'arcsec') FROM hip.main",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("0.001"), "{stdout}");
    assert!(stdout.contains("arcsec\tpos.parallax.trig"), "{stdout}");

    let out = corvus(
        &[
            "adql",
            "check",
            "--catalog",
            path,
            "SELECT raa FROM hip.main",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("no column 'raa' in hip.main") && err.contains("did you mean 'ra'?"),
        "{err}"
    );

    let out = corvus(
        &[
            "adql",
            "check",
            "--catalog",
            path,
            "SELECT ra FROM gaia.dr3",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no table 'gaia.dr3'"));
}

#[test]
fn missing_catalog_directory_is_one_readable_line() {
    let out = corvus(
        &[
            "adql",
            "check",
            "--catalog",
            "/nonexistent/corvus",
            "SELECT 1 FROM t",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("corvus: data directory /nonexistent/corvus does not exist"),
        "{err}"
    );
}

#[test]
fn query_demo_answers_on_the_bundled_hipparcos_catalog() {
    let out = corvus(
        &[
            "query",
            "--demo",
            "SELECT hip, hpmag FROM hip.main WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(279.2347, 38.7837, 0.01))",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hip\thpmag\n91262\t0.0868\n");
}
