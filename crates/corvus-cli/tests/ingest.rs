//! End-to-end tests of `corvus ingest`, `tables`, `drop` and `query` on real
//! files: the Hipparcos demo catalog, CSV, Parquet, and broken inputs.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed test

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn corvus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corvus"))
        .args(args)
        .output()
        .expect("run corvus")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn query(data: &Path, adql: &str) -> Vec<Vec<String>> {
    let out = corvus(&["query", "--data", data.to_str().unwrap(), adql]);
    assert!(out.status.success(), "{adql}: {}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .skip(1)
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// A descriptor for whitespace-separated `id ra dec` lines.
const WHITESPACE_ID_RA_DEC: &str = "[source]\nformat = \"whitespace\"\n\
    [[columns]]\nname = \"id\"\ntype = \"integer\"\n\
    [[columns]]\nname = \"ra\"\ntype = \"double\"\n\
    [[columns]]\nname = \"dec\"\ntype = \"double\"\n";

/// The tables' Parquet files, key indexes (`_key_index/`) left out.
fn parquet_files(data: &Path) -> Vec<PathBuf> {
    all_parquet_files(data)
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "_key_index"))
        .collect()
}

fn all_parquet_files(data: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![data.join("tables")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn hipparcos_demo_catalog_ingests_whole_with_metadata_and_sky_order() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let demo = repo().join("data/demo");
    let out = corvus(&[
        "ingest",
        demo.join("hip2.dat.gz").to_str().unwrap(),
        "--meta",
        demo.join("hipparcos.toml").to_str().unwrap(),
        "--table",
        "hip.main",
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("hip.main: 117955 rows"),
        "{}",
        text(&out.stdout)
    );

    // The first line of the file, to the last digit: RA 0.0000159148 rad.
    let rows = query(
        &data,
        "SELECT hip, rarad, ra, plx, pmra, hpmag FROM hip.main WHERE hip = 1",
    );
    assert_eq!(rows[0][..2], ["1".to_string(), "0.0000159148".to_string()]);
    assert!((rows[0][2].parse::<f64>().unwrap() - 0.0000159148f64.to_degrees()).abs() < 1e-15);
    assert_eq!(rows[0][3..], ["4.55", "-4.55", "9.2043"].map(String::from));

    // Metadata from the descriptor reached the catalog.
    let out = corvus(&[
        "adql",
        "check",
        "--columns",
        "--catalog",
        data.to_str().unwrap(),
        "SELECT ra, plx FROM hip.main",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cols = text(&out.stdout);
    assert!(
        cols.contains("ra\tDouble\tdeg\tpos.eq.ra;meta.main"),
        "{cols}"
    );
    assert!(
        cols.contains("plx\tDouble\tmas\tpos.parallax.trig"),
        "{cols}"
    );

    // A cone search finds Vega (HIP 91262).
    let rows = query(
        &data,
        "SELECT hip FROM hip.main WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(279.2347, 38.7837, 0.01))",
    );
    assert_eq!(rows, vec![vec!["91262".to_string()]]);
    assert_eq!(
        query(&data, "SELECT COUNT(*) FROM hip.main"),
        vec![vec!["117955".to_string()]]
    );

    // Stored in HEALPix order, in row groups small enough to prune, with
    // a key index for its identifier (HIP, `meta.id;meta.main`).
    let files = parquet_files(&data);
    assert_eq!(files.len(), 1);
    assert_eq!(all_parquet_files(&data).len(), 2);
    let lookup = "SELECT ra FROM hip.main WHERE hip = 91262";
    let plan = text(
        &corvus(&[
            "query",
            "--data",
            data.to_str().unwrap(),
            "--explain",
            lookup,
        ])
        .stdout,
    );
    assert!(plan.contains("main$key_index"), "{plan}");
    assert_eq!(
        query(&data, lookup),
        vec![vec!["279.2341082481229".to_string()]]
    );
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&files[0]).unwrap()).unwrap();
    assert!(builder.metadata().num_row_groups() >= 4);
    let idx = builder.schema().index_of("_healpix").unwrap();
    let mut last = i64::MIN;
    for batch in builder.build().unwrap() {
        let col = batch.unwrap().column(idx).clone();
        let col = col.as_primitive::<Int64Type>();
        assert_eq!(col.null_count(), 0);
        for v in col.values().iter() {
            assert!(*v >= last, "not sorted by HEALPix index");
            last = *v;
        }
    }

    // `tables` lists it; ingesting it again is refused and changes nothing.
    let out = corvus(&["tables", "--data", data.to_str().unwrap()]);
    assert!(text(&out.stdout).contains("hip.main") && text(&out.stdout).contains("117955"));
    let again = corvus(&[
        "ingest",
        demo.join("hip2.dat.gz").to_str().unwrap(),
        "--meta",
        demo.join("hipparcos.toml").to_str().unwrap(),
        "--table",
        "hip.main",
        "--data",
        data.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("table hip.main already exists"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(
        query(&data, "SELECT COUNT(*) FROM hip.main"),
        vec![vec!["117955".to_string()]]
    );

    let out = corvus(&["drop", "hip.main", "--data", data.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(all_parquet_files(&data).is_empty());
}

#[test]
fn csv_without_descriptor_infers_types_and_position() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let csv = tmp.path().join("stars.csv");
    std::fs::write(
        &csv,
        "source_id,RA_deg,Dec_deg,gmag,name\n9007199254740993,10.5,-5.25,12.5,a\n4,200.0,45.0,,b\n",
    )
    .unwrap();
    let out = corvus(&[
        "ingest",
        csv.to_str().unwrap(),
        "--table",
        "my.stars",
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("indexed by position (RA_deg, Dec_deg)"),
        "{}",
        text(&out.stdout)
    );
    let rows = query(
        &data,
        "SELECT source_id, gmag, name FROM my.stars ORDER BY source_id DESC",
    );
    assert_eq!(rows[0], ["9007199254740993", "12.5", "a"].map(String::from));
    assert_eq!(rows[1], ["4", "NULL", "b"].map(String::from));
    let rows = query(
        &data,
        "SELECT name FROM my.stars WHERE 1 = CONTAINS(POINT(ra_deg, dec_deg), CIRCLE(200, 45, 1))",
    );
    assert_eq!(rows, vec![vec!["b".to_string()]]);
}

#[test]
fn parquet_input_and_replace() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let csv = tmp.path().join("t.csv");
    std::fs::write(&csv, "id,ra,dec\n1,10,20\n2,30,40\n").unwrap();
    let d = data.to_str().unwrap();
    assert!(
        corvus(&[
            "ingest",
            csv.to_str().unwrap(),
            "--table",
            "a.t",
            "--data",
            d
        ])
        .status
        .success()
    );
    // Re-ingest the stored Parquet as another table.
    let pq = parquet_files(&data).pop().unwrap();
    let out = corvus(&[
        "ingest",
        pq.to_str().unwrap(),
        "--table",
        "b.t",
        "--data",
        d,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        query(&data, "SELECT COUNT(*) FROM b.t"),
        vec![vec!["2".to_string()]]
    );
    // --replace swaps the table whole.
    std::fs::write(&csv, "id,ra,dec\n7,1,2\n").unwrap();
    let out = corvus(&[
        "ingest",
        csv.to_str().unwrap(),
        "--table",
        "a.t",
        "--replace",
        "--data",
        d,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        query(&data, "SELECT id FROM a.t"),
        vec![vec!["7".to_string()]]
    );
}

#[test]
fn bad_inputs_stop_with_a_clear_error_and_leave_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();

    // A float in an integer column: file, line, column, value, expected type.
    let dat = tmp.path().join("t.dat");
    std::fs::write(&dat, "1 10.0 20.0\n2.5 11.0 21.0\n").unwrap();
    let meta = tmp.path().join("t.toml");
    std::fs::write(&meta, WHITESPACE_ID_RA_DEC).unwrap();
    let out = corvus(&[
        "ingest",
        dat.to_str().unwrap(),
        "--meta",
        meta.to_str().unwrap(),
        "--table",
        "x.t",
        "--data",
        d,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("t.dat: line 2: column id: value '2.5' is not a 32-bit integer"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // A truncated gzip file.
    let gz = tmp.path().join("cut.dat.gz");
    let full = std::fs::read(repo().join("data/demo/hip2.dat.gz")).unwrap();
    std::fs::write(&gz, &full[..full.len() / 50]).unwrap();
    let demo_meta = repo().join("data/demo/hipparcos.toml");
    let out = corvus(&[
        "ingest",
        gz.to_str().unwrap(),
        "--meta",
        demo_meta.to_str().unwrap(),
        "--table",
        "x.cut",
        "--data",
        d,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));

    // A descriptor with a typo is refused with the key named.
    std::fs::write(&meta, "[source]\nformatt = \"csv\"\n").unwrap();
    let out = corvus(&[
        "ingest",
        dat.to_str().unwrap(),
        "--meta",
        meta.to_str().unwrap(),
        "--table",
        "x.t",
        "--data",
        d,
    ]);
    assert!(
        text(&out.stderr).contains("formatt"),
        "{}",
        text(&out.stderr)
    );

    // Nothing was published and nothing is left behind.
    assert!(text(&corvus(&["tables", "--data", d]).stdout).starts_with("no tables"));
    assert!(all_parquet_files(&data).is_empty());
    assert!(
        !data.join("tables/.staging").exists()
            || std::fs::read_dir(data.join("tables/.staging"))
                .unwrap()
                .next()
                .is_none()
    );

    // A data directory that cannot be created.
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let bad = file.join("data");
    let out = corvus(&[
        "ingest",
        dat.to_str().unwrap(),
        "--table",
        "x.t",
        "--data",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot"),
        "{}",
        text(&out.stderr)
    );

    // A bad table name.
    let out = corvus(&[
        "ingest",
        dat.to_str().unwrap(),
        "--table",
        "nodot",
        "--data",
        d,
    ]);
    assert!(text(&out.stderr).contains("must be SCHEMA.TABLE"));
}

#[test]
fn describe_drafts_a_descriptor_that_ingests_several_files() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::write(
        tmp.path().join("part1.csv"),
        "id;RAJ2000;DEJ2000;flux\n1;10.5;20.25;-999\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("part2.csv"),
        "id;RAJ2000;DEJ2000;flux\n2;11.5;21.25;3.5\n",
    )
    .unwrap();
    let pattern = tmp.path().join("part*.csv");
    // The delimiter and the NULL sentinel come from a hand-written [source].
    let src = tmp.path().join("source.toml");
    std::fs::write(&src, "[source]\ndelimiter = \";\"\nnull = [\"-999\"]\n").unwrap();
    let out = corvus(&[
        "ingest",
        pattern.to_str().unwrap(),
        "--meta",
        src.to_str().unwrap(),
        "--describe",
        "--table",
        "cat.parts",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let draft = text(&out.stdout);
    assert!(
        draft.contains("ra = \"RAJ2000\"") && draft.contains("name = \"flux\""),
        "{draft}"
    );
    // The operator fills in a unit and keeps the [source] settings.
    let meta = tmp.path().join("parts.toml");
    let filled = draft.replacen("unit = \"\"\nucd = \"\"\ndescription = \"\"\n\n[[columns]]\nname = \"RAJ2000\"", "unit = \"\"\nucd = \"meta.id;meta.main\"\ndescription = \"Running number\"\n\n[[columns]]\nname = \"RAJ2000\"", 1)
        + "\n[source]\ndelimiter = \";\"\nnull = [\"-999\"]\n";
    std::fs::write(&meta, filled).unwrap();
    let out = corvus(&[
        "ingest",
        pattern.to_str().unwrap(),
        "--meta",
        meta.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("cat.parts: 2 rows"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        query(&data, "SELECT id, flux FROM cat.parts ORDER BY id"),
        vec![
            vec!["1".to_string(), "NULL".to_string()],
            vec!["2".to_string(), "3.5".to_string()]
        ]
    );
}

#[test]
fn append_adds_rows_and_keeps_sky_order() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    let a = tmp.path().join("a.csv");
    let b = tmp.path().join("b.csv");
    std::fs::write(&a, "id,ra,dec\n1,10,20\n2,200,-30\n").unwrap();
    std::fs::write(&b, "id,ra,dec\n3,10.001,20.001\n").unwrap();
    assert!(
        corvus(&["ingest", a.to_str().unwrap(), "--table", "s.t", "--data", d])
            .status
            .success()
    );
    let out = corvus(&[
        "ingest",
        b.to_str().unwrap(),
        "--table",
        "s.t",
        "--append",
        "--data",
        d,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("s.t: 3 rows"),
        "{}",
        text(&out.stdout)
    );
    let rows = query(
        &data,
        "SELECT id FROM s.t WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 0.1)) ORDER BY id",
    );
    assert_eq!(rows, vec![vec!["1".to_string()], vec!["3".to_string()]]);
    // Different columns are refused, and the table stays as it was.
    let c = tmp.path().join("c.csv");
    std::fs::write(&c, "id,ra,dec,extra\n4,1,2,3\n").unwrap();
    let out = corvus(&[
        "ingest",
        c.to_str().unwrap(),
        "--table",
        "s.t",
        "--append",
        "--data",
        d,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(
            "the new rows have the columns (id, ra, dec, extra) but the table has (id, ra, dec)"
        ),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        query(&data, "SELECT COUNT(*) FROM s.t"),
        vec![vec!["3".to_string()]]
    );
    // Appending to a missing table says so.
    let out = corvus(&[
        "ingest",
        c.to_str().unwrap(),
        "--table",
        "s.none",
        "--append",
        "--data",
        d,
    ]);
    assert!(
        text(&out.stderr).contains("no table s.none to append to"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn skip_bad_rows_skips_and_reports_up_to_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    let dat = tmp.path().join("t.dat");
    std::fs::write(&dat, "1 10.0 20.0\nx 11.0 21.0\n3 12.0 oops\n4 13.0 23.0\n").unwrap();
    let meta = tmp.path().join("t.toml");
    std::fs::write(&meta, WHITESPACE_ID_RA_DEC).unwrap();
    let m = meta.to_str().unwrap();
    let out = corvus(&[
        "ingest",
        dat.to_str().unwrap(),
        "--meta",
        m,
        "--table",
        "s.t",
        "--skip-bad-rows",
        "1",
        "--data",
        d,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("more than 1 bad rows; this one: "),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("line 3: column dec: value 'oops' is not a number"),
        "{}",
        text(&out.stderr)
    );
    let out = corvus(&[
        "ingest",
        dat.to_str().unwrap(),
        "--meta",
        m,
        "--table",
        "s.t",
        "--skip-bad-rows",
        "2",
        "--data",
        d,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("skipped 2 bad rows:")
            && err.contains("line 2: column id: value 'x' is not a 32-bit integer"),
        "{err}"
    );
    assert_eq!(
        query(&data, "SELECT id FROM s.t ORDER BY id"),
        vec![vec!["1".to_string()], vec!["4".to_string()]]
    );
}

#[test]
fn a_vizier_readme_describes_a_fixed_width_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let readme = tmp.path().join("ReadMe");
    std::fs::write(
        &readme,
        "Byte-by-byte Description of file: stars.dat\n\
         --------------------------------------------------------------------------------\n\
            Bytes Format Units   Label     Explanations\n\
         --------------------------------------------------------------------------------\n\
            1-  4  I4    ---     Seq       Sequential number\n\
            6- 14  F9.5  deg     RAdeg     Right ascension (J2000)\n\
           16- 24  F9.5  deg     DEdeg     Declination (J2000)\n\
           26- 30  F5.2  mag     Vmag      ? V magnitude\n\
         --------------------------------------------------------------------------------\n",
    )
    .unwrap();
    let dat = tmp.path().join("stars.dat");
    std::fs::write(
        &dat,
        "   1  10.50000 -20.25000 12.50\n   2 200.00000  45.00000      \n",
    )
    .unwrap();
    let out = corvus(&[
        "ingest",
        dat.to_str().unwrap(),
        "--meta",
        readme.to_str().unwrap(),
        "--table",
        "viz.stars",
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("indexed by position (radeg, dedeg)"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        query(&data, "SELECT seq, vmag FROM viz.stars ORDER BY seq"),
        vec![
            vec!["1".to_string(), "12.5".to_string()],
            vec!["2".to_string(), "NULL".to_string()]
        ]
    );
    let out = corvus(&[
        "adql",
        "check",
        "--columns",
        "--catalog",
        data.to_str().unwrap(),
        "SELECT vmag FROM viz.stars",
    ]);
    assert!(
        text(&out.stdout).contains("vmag\tDouble\tmag"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn headerless_csv_with_quotes_takes_names_from_the_descriptor() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let csv = tmp.path().join("t.csv");
    std::fs::write(&csv, "1|'a|b'|10.5|20\n2|'c'|11|21\n").unwrap();
    let meta = tmp.path().join("t.toml");
    std::fs::write(
        &meta,
        "[source]\nformat = \"csv\"\nheader = false\ndelimiter = \"|\"\nquote = \"'\"\n\
         [[columns]]\nname = \"id\"\n[[columns]]\nname = \"label\"\n[[columns]]\nname = \"ra\"\n[[columns]]\nname = \"dec\"\nunit = \"deg\"\n",
    )
    .unwrap();
    let out = corvus(&[
        "ingest",
        csv.to_str().unwrap(),
        "--meta",
        meta.to_str().unwrap(),
        "--table",
        "x.t",
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        query(&data, "SELECT id, label, ra, dec FROM x.t ORDER BY id"),
        vec![
            ["1", "a|b", "10.5", "20.0"].map(String::from).to_vec(),
            ["2", "c", "11.0", "21.0"].map(String::from).to_vec()
        ]
    );
}

/// A VOTable as IRSA's TAP service writes one: `null` in float cells,
/// empty and `NaN` cells, and an integer column with a null sentinel.
const IRSA_LIKE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
<RESOURCE type="results"><INFO name="QUERY_STATUS" value="OK"/>
<TABLE>
<FIELD name="ra" datatype="double" unit="deg" ucd="pos.eq.ra;meta.main"/>
<FIELD name="dec" datatype="double" unit="deg" ucd="pos.eq.dec;meta.main"/>
<FIELD name="w1mpro" datatype="float" unit="mag"/>
<FIELD name="w1nm" datatype="int"><VALUES null="-2147483648"/></FIELD>
<DATA><TABLEDATA>
<TR><TD>10.684793</TD><TD>41.269065</TD><TD>null</TD><TD>-2147483648</TD></TR>
<TR><TD>10.685</TD><TD>41.27</TD><TD>NaN</TD><TD>null</TD></TR>
<TR><TD>10.686</TD><TD>41.271</TD><TD>9.87</TD><TD>12</TD></TR>
<TR><TD>10.687</TD><TD>41.272</TD><TD></TD><TD>NULL</TD></TR>
</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>
"#;

#[test]
fn archive_votables_with_null_words_ingest_as_nulls() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let vot = tmp.path().join("irsa.vot");
    std::fs::write(&vot, IRSA_LIKE).unwrap();
    let out = corvus(&[
        "ingest",
        vot.to_str().unwrap(),
        "--table",
        "irsa.allwise",
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows = query(&data, "SELECT w1mpro, w1nm FROM irsa.allwise ORDER BY ra");
    assert_eq!(
        rows,
        [
            ["NULL", "NULL"],
            ["NULL", "NULL"],
            ["9.87", "12"],
            ["NULL", "NULL"]
        ]
    );
}

/// A VOTable with a complex column between two that can be stored.
const WITH_COMPLEX: &str = r#"<VOTABLE version="1.5"><RESOURCE><TABLE>
<FIELD name="ra" datatype="double"/><FIELD name="visibility" datatype="floatComplex"/>
<FIELD name="dec" datatype="double"/>
<DATA><TABLEDATA>
<TR><TD>10.5</TD><TD>1.5 -2</TD><TD>20.5</TD></TR>
<TR><TD>11.5</TD><TD/><TD>21.5</TD></TR>
</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"#;

#[test]
fn a_column_that_cannot_be_stored_is_left_out_with_a_warning_or_refused_when_strict() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    let vot = tmp.path().join("vis.vot");
    std::fs::write(&vot, WITH_COMPLEX).unwrap();
    let reason = "column visibility: datatype floatComplex: complex numbers cannot be stored";

    let out = corvus(&[
        "ingest",
        vot.to_str().unwrap(),
        "--table",
        "v.strict",
        "--strict",
        "--data",
        d,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("vis.vot: {reason}; --strict refuses")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(text(&corvus(&["tables", "--data", d]).stdout).starts_with("no tables"));

    let out = corvus(&[
        "ingest",
        vot.to_str().unwrap(),
        "--table",
        "v.t",
        "--data",
        d,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("warning: ") && err.contains("vis.vot: column visibility left out: datatype floatComplex: complex numbers cannot be stored"),
        "{err}"
    );
    assert!(
        text(&out.stdout).contains("2 rows, 2 columns"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        query(&data, "SELECT ra, dec FROM v.t ORDER BY ra"),
        [["10.5", "20.5"], ["11.5", "21.5"]]
    );
}

#[test]
fn an_arraysize_the_cells_do_not_have_is_refused_with_the_place() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    let vot = tmp.path().join("claim.vot");
    std::fs::write(
        &vot,
        r#"<VOTABLE><RESOURCE><TABLE><FIELD name="ra" datatype="double"/>
<FIELD name="spectrum" datatype="float" arraysize="1000000000"/>
<DATA><TABLEDATA><TR><TD>1</TD><TD>0.5 0.25 0.125</TD></TR></TABLEDATA></DATA>
</TABLE></RESOURCE></VOTABLE>"#,
    )
    .unwrap();
    let out = corvus(&[
        "ingest",
        vot.to_str().unwrap(),
        "--table",
        "c.t",
        "--data",
        d,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("claim.vot: row 1: column spectrum: value '0.5 0.25 0.125' is not exactly 1000000000 numbers (arraysize 1000000000), but it has 3"),
        "{err}"
    );
    assert!(text(&corvus(&["tables", "--data", d]).stdout).starts_with("no tables"));
}

#[test]
fn a_leftover_that_cannot_be_removed_is_a_warning_not_a_failed_command() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let csv = tmp.path().join("t.csv");
    std::fs::write(&csv, "id,ra,dec\n1,10.5,-5.25\n").unwrap();
    let data_arg = data.to_str().unwrap();
    let out = corvus(&[
        "ingest",
        csv.to_str().unwrap(),
        "--table",
        "s.t",
        "--data",
        data_arg,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A folder where a dead ingest's staging lock file should be: it cannot
    // be opened as a lock, whatever the permissions (tests may run as root).
    std::fs::create_dir_all(data.join("tables/.staging/1-stuck.lock")).unwrap();
    let out = corvus(&["tables", "--data", data_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("s.t"), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("warning: a leftover in the data directory could not be cleaned up (cannot open the lock file")
            && stderr.contains("1-stuck.lock"),
        "{stderr}"
    );
    assert_eq!(
        query(&data, "SELECT id FROM s.t"),
        vec![vec!["1".to_string()]]
    );
}
