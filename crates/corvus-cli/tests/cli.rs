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

/// Positions of the coverage tests, in degrees.
const MOC_POINTS: &[(f64, f64)] = &[
    (10.0, 20.0),
    (10.0001, 20.0001),
    (200.5, -45.25),
    (359.99, 89.9),
    (123.4, 5.6),
];

/// A data directory with `t.stars` (MOC_POINTS, ingested so with the
/// hidden HEALPix index) and `t.plain` (no position).
fn moc_data_dir() -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data").to_string_lossy().into_owned();
    let stars = tmp.path().join("stars.csv");
    let mut csv = String::from("id,ra,dec\n");
    for (i, (ra, dec)) in MOC_POINTS.iter().enumerate() {
        csv.push_str(&format!("{i},{ra},{dec}\n"));
    }
    std::fs::write(&stars, csv).expect("write csv");
    let plain = tmp.path().join("plain.csv");
    std::fs::write(&plain, "id,flux\n1,2.5\n").expect("write csv");
    for (file, table) in [(&stars, "t.stars"), (&plain, "t.plain")] {
        let file = file.to_string_lossy();
        let out = corvus(&["ingest", &file, "--table", table, "--data", &data], None);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    (tmp, data)
}

/// The cells of MOC_POINTS at `order`, as cdshealpix computes them.
fn moc_cells(order: u8) -> Vec<u64> {
    let layer = cdshealpix::nested::get(order);
    let mut cells: Vec<u64> = MOC_POINTS
        .iter()
        .map(|(ra, dec)| layer.hash(ra.to_radians(), dec.to_radians()))
        .collect();
    cells.sort_unstable();
    cells.dedup();
    cells
}

/// A FITS MOC read back by the moc crate: its order and cells.
fn fits_cells(bytes: &[u8]) -> (u8, Vec<u64>) {
    use moc::deser::fits::{MocIdxType, MocQtyType, from_fits_ivoa};
    match from_fits_ivoa(std::io::Cursor::new(bytes)).expect("a FITS MOC") {
        MocIdxType::U64(MocQtyType::Hpx(m)) => {
            let m = m.collect();
            (m.depth_max(), m.flatten_to_fixed_depth_cells().collect())
        }
        _ => panic!("not a 64-bit spatial MOC"),
    }
}

/// A JSON MOC read back by the moc crate: its order and cells.
fn json_cells(json: &str) -> (u8, Vec<u64>) {
    use moc::moc::{CellMOCIntoIterator, CellMOCIterator, RangeMOCIterator};
    let cells =
        moc::deser::json::from_json_aladin::<u64, moc::qty::Hpx<u64>>(json).expect("a JSON MOC");
    let m = cells.into_cell_moc_iter().ranges().into_range_moc();
    (m.depth_max(), m.flatten_to_fixed_depth_cells().collect())
}

#[test]
fn moc_writes_a_table_s_coverage_as_fits_json_and_ascii() {
    let (tmp, data) = moc_data_dir();
    // FITS, from the file's extension; nothing left beside it.
    let fits = tmp.path().join("stars.fits");
    let fits_arg = fits.to_string_lossy();
    let out = corvus(
        &[
            "moc", "t.stars", "--order", "10", "-o", &fits_arg, "--data", &data,
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("t.stars: 4 cells of order 10"),
        "{}",
        text(&out.stdout)
    );
    let bytes = std::fs::read(&fits).expect("the FITS file");
    assert!(bytes.starts_with(b"SIMPLE  ="));
    assert!(text(&bytes).contains("MOCORD_S= 10"));
    assert_eq!(fits_cells(&bytes), (10, moc_cells(10)));
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("list")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // JSON on standard output by default, at the default order (8); the
    // table's name in any case.
    let out = corvus(&["moc", "T.Stars", "--data", &data], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(json_cells(&text(&out.stdout)), (8, moc_cells(8)));

    // ASCII from a .moc file's extension; FITS on standard output when it is a pipe.
    let ascii = tmp.path().join("stars.moc");
    let ascii_arg = ascii.to_string_lossy();
    let out = corvus(
        &[
            "moc", "t.stars", "--order", "3", "--output", &ascii_arg, "--data", &data,
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cells3: Vec<String> = moc_cells(3).iter().map(u64::to_string).collect();
    assert_eq!(
        std::fs::read_to_string(&ascii)
            .expect("the ASCII file")
            .trim(),
        format!("3/{}", cells3.join(" "))
    );
    let out = corvus(
        &[
            "moc", "t.stars", "--format", "FITS", "--order", "29", "--data", &data,
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fits_cells(&out.stdout), (29, moc_cells(29)));
}

#[test]
fn moc_errors_are_one_line_and_leave_no_file() {
    let (tmp, data) = moc_data_dir();
    let missing = tmp.path().join("no/such/dir/x.fits");
    let missing = missing.to_string_lossy();
    for (args, expected) in [
        (vec!["t.plain"], "t.plain has no main position"),
        (vec!["t.nothing"], "no table t.nothing"),
        (vec!["stars"], "must be SCHEMA.TABLE"),
        (vec!["t.stars", "--order", "30"], "order 30 is out of range"),
        (
            vec!["t.stars", "--format", "votable"],
            "unknown MOC format 'votable'",
        ),
        (vec!["t.stars", "--output", &missing], "cannot write"),
    ] {
        let mut all = vec!["moc"];
        all.extend(&args);
        all.extend(["--data", &data]);
        let out = corvus(&all, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert!(!tmp.path().join("no").exists());
}
