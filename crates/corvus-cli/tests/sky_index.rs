//! The sky index never changes a result: every query here runs twice
//! through `corvus query`, with the HEALPix rewrites and without
//! (`--no-sky-index`), on tables ingested from random positions crowded at
//! the poles and around RA 0/360, and the sorted rows must be identical.
//! `--explain` shows that the rewrite really took place, so no comparison
//! passes by comparing the plain plan with itself.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed test

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn corvus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corvus"))
        .args(args)
        .output()
        .expect("run corvus")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn query(data: &Path, adql: &str, extra: &[&str]) -> String {
    let mut args = vec!["query", "--data", data.to_str().unwrap()];
    args.extend(extra);
    args.push(adql);
    let out = corvus(&args);
    assert!(out.status.success(), "{adql}: {}", text(&out.stderr));
    text(&out.stdout)
}

fn sorted_rows(data: &Path, adql: &str, extra: &[&str]) -> Vec<String> {
    let out = query(data, adql, extra);
    let mut rows: Vec<String> = out.lines().skip(1).map(str::to_string).collect();
    rows.sort();
    rows
}

/// xorshift: the same positions on every run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A position: anywhere, near a pole, or near RA 0/360.
    fn position(&mut self) -> (f64, f64) {
        let ra = self.next() * 360.0;
        match (self.next() * 4.0) as u32 {
            0 => (ra, 89.0 + self.next()),
            1 => (ra, -89.0 - self.next()),
            2 => (
                (self.next() - 0.5).rem_euclid(360.0),
                self.next() * 10.0 - 5.0,
            ),
            _ => (ra, (self.next() * 2.0 - 1.0).asin().to_degrees()),
        }
    }
}

/// The point `d` degrees from (ra, dec) towards `bearing` degrees.
fn offset(ra: f64, dec: f64, d: f64, bearing: f64) -> (f64, f64) {
    let (lat1, lon1) = (dec.to_radians(), ra.to_radians());
    let (d, b) = (d.to_radians(), bearing.to_radians());
    let lat2 = (lat1.sin() * d.cos() + lat1.cos() * d.sin() * b.cos()).asin();
    let lon2 = lon1 + (b.sin() * d.sin() * lat1.cos()).atan2(d.cos() - lat1.sin() * lat2.sin());
    (lon2.to_degrees().rem_euclid(360.0), lat2.to_degrees())
}

/// Publishes `sky.<table>` with columns id, name (`S<id mod names>`), ra
/// and dec, and `key` as its key column.
fn ingest(data: &Path, dir: &Path, table: &str, rows: &[(f64, f64)], key: &str, names: usize) {
    let mut csv = String::from("id,name,ra,dec\n");
    for (i, (ra, dec)) in rows.iter().enumerate() {
        writeln!(csv, "{i},S{},{ra:.10},{dec:.10}", i % names).unwrap();
    }
    let file = dir.join(format!("{table}.csv"));
    std::fs::write(&file, csv).unwrap();
    let meta = dir.join(format!("{table}.toml"));
    let descriptor = format!(
        "[table]\nschema = \"sky\"\nname = \"{table}\"\nra = \"ra\"\ndec = \"dec\"\nkey = \"{key}\"\n"
    );
    std::fs::write(&meta, descriptor).unwrap();
    let out = corvus(&[
        "ingest",
        file.to_str().unwrap(),
        "--meta",
        meta.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn sky_index_rewrites_never_change_a_result() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut rng = Random(0x2545_f491_4f6c_dd1d);
    let a: Vec<(f64, f64)> = (0..6000).map(|_| rng.position()).collect();
    // b: copies of a's rows moved by up to 2 arcsec (about half within
    // 1 arcsec of their original), and random positions.
    let b: Vec<(f64, f64)> = (0..1500)
        .map(|i| {
            if i % 3 == 2 {
                rng.position()
            } else {
                let (ra, dec) = a[(rng.next() * a.len() as f64) as usize];
                offset(ra, dec, rng.next() * 2.0 / 3600.0, rng.next() * 360.0)
            }
        })
        .collect();
    ingest(&data, dir.path(), "a", &a, "id", a.len());
    // b's names repeat: a key need not be unique.
    ingest(&data, dir.path(), "b", &b, "name", 1000);

    let cones = [
        "1 = CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 5))",
        "CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 0, 90, 0.7)) = 1",
        "1 = CONTAINS(POINT(ra, dec), CIRCLE(POINT(123, -89.5), 0.6))",
        "1 = CONTAINS(POINT(ra, dec), CIRCLE(359.9, 1, 2))",
        "1 = CONTAINS(POINT(ra, dec), CIRCLE(-0.1, 1, 2))",
        "1 = CONTAINS(POINT(ra, dec), CIRCLE(0, 0, 1/3600))",
        "1 = CONTAINS(POINT(ra, dec), BOX(0, 0, 3, 4))",
        "1 = CONTAINS(POINT(ra, dec), POLYGON(358, -3, 2, -3, 2, 3, 358, 3))",
        "1 = CONTAINS(POINT(ra, dec), REGION('Union ICRS (Circle 0 89.5 1 Circle 200 -30 8)'))",
        "1 = INTERSECTS(CIRCLE(45, -60, 12), POINT(ra, dec))",
        "1 = INTERSECTS(POINT(ra, dec), CIRCLE(45, -60, 12))",
        "DISTANCE(POINT(ra, dec), POINT(300, 40)) < 9",
        "9 >= DISTANCE(POINT(300, 40), POINT(ra, dec))",
        "DISTANCE(ra, dec, 0.2, -89.9) <= 0.5",
        "(1 = CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 5)) OR 1 = CONTAINS(POINT(ra, dec), CIRCLE(0, -90, 1)))",
        "(1 = CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 5)) AND id > 100) OR id < 3",
        "NOT (1 = CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 50)))",
        "1 = CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 0)) OR dec > 89.9",
    ];
    for cone in cones {
        let adql = format!("SELECT id, ra, dec FROM sky.a WHERE {cone}");
        assert_same(&data, &adql);
    }
    // Only where the region is constant and the predicate decides the row.
    let plan = query(
        &data,
        &format!("SELECT id FROM sky.a WHERE {}", cones[0]),
        &["--explain"],
    );
    assert!(plan.contains("_healpix"), "{plan}");
    let plan = query(
        &data,
        &format!("SELECT id FROM sky.a WHERE {}", cones[16]),
        &["--explain"],
    );
    assert!(!plan.contains("_healpix"), "{plan}");

    let nested = [
        "SELECT COUNT(*) FROM sky.a WHERE id IN (SELECT id FROM sky.a WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(0, 0, 10)))",
        "SELECT x.id FROM (SELECT id, ra, dec FROM sky.a WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(0, 89, 3))) AS x",
        "SELECT s.id, t.id FROM sky.a AS s JOIN sky.b AS t ON s.id = t.id WHERE 1 = CONTAINS(POINT(t.ra, t.dec), CIRCLE(0, 0, 20))",
        // After grouping, only grouped columns may be named: no index there.
        "SELECT ra, dec, COUNT(*) FROM sky.a GROUP BY ra, dec HAVING 1 = CONTAINS(POINT(ra, dec), CIRCLE(0, 0, 10))",
    ];
    for q in nested {
        assert_same(&data, q);
    }

    let crossmatches = [
        "SELECT a.id, b.id FROM sky.a AS a JOIN sky.b AS b ON 1 = CONTAINS(POINT(a.ra, a.dec), CIRCLE(b.ra, b.dec, 1.0/3600))",
        "SELECT a.id, b.id FROM sky.b AS b JOIN sky.a AS a ON CONTAINS(POINT(b.ra, b.dec), CIRCLE(a.ra, a.dec, 1.0/3600)) = 1",
        "SELECT a.id, b.id FROM sky.a AS a JOIN sky.b AS b ON DISTANCE(POINT(a.ra, a.dec), POINT(b.ra, b.dec)) < 1.0/3600",
        "SELECT a.id, b.id FROM sky.a AS a, sky.b AS b WHERE 1.0/3600 > DISTANCE(b.ra, b.dec, a.ra, a.dec) AND a.id < 5000",
        "SELECT b.id, a.id FROM sky.b AS b LEFT JOIN sky.a AS a ON 1 = CONTAINS(POINT(a.ra, a.dec), CIRCLE(b.ra, b.dec, 1.5/3600))",
        "SELECT a.id, b.id FROM sky.a AS a JOIN sky.b AS b ON 1 = CONTAINS(POINT(a.ra, a.dec), CIRCLE(b.ra, b.dec, 0.5)) AND a.dec > 88",
    ];
    for q in crossmatches {
        let plan = query(&data, q, &["--explain"]);
        assert!(plan.contains("_xmatch_cell"), "{q}: {plan}");
        assert!(plan.contains("HashJoinExec"), "{q}: {plan}");
        assert_same(&data, q);
    }
    // About half of b's 1,000 moved copies lie within 1 arcsec of their
    // origin: the comparison is over pairs that exist.
    let pairs = sorted_rows(&data, crossmatches[0], &[]);
    assert!(pairs.len() > 400, "{}", pairs.len());

    // Key lookups through the key index: found, missing, repeated keys,
    // strings, beside other conditions, in joins and subqueries.
    let hinted = [
        "SELECT * FROM sky.a WHERE id = 17",
        "SELECT * FROM sky.a WHERE 5999 = id",
        "SELECT * FROM sky.a WHERE id = 6000",
        "SELECT * FROM sky.a WHERE id = -1",
        "SELECT * FROM sky.a WHERE id = 17.0",
        "SELECT * FROM sky.a WHERE id = 17 AND dec > -100",
        "SELECT * FROM sky.a WHERE id = 17 AND 1 = CONTAINS(POINT(ra, dec), CIRCLE(0, 0, 1))",
        "SELECT * FROM sky.a WHERE (id = 17 OR ra > 359) AND id = 17",
        "SELECT * FROM sky.b WHERE name = 'S42'",
        "SELECT * FROM sky.b WHERE name = 'S1499'",
        "SELECT * FROM sky.b WHERE name = 'nobody'",
        "SELECT a.id, b.id FROM sky.a AS a JOIN sky.b AS b ON a.id = b.id WHERE b.name = 'S7'",
        "SELECT COUNT(*) FROM sky.a WHERE ra IN (SELECT ra FROM sky.a WHERE id = 3)",
    ];
    // Beneath OR or NOT the lookup could not be a join: nothing is added.
    let plain = [
        "SELECT * FROM sky.a WHERE (id = 17 OR id = 18)",
        "SELECT * FROM sky.a WHERE NOT (id = 17) AND id < 20",
    ];
    for q in hinted.iter().chain(&plain) {
        assert_same(&data, q);
        let plan = query(&data, q, &["--explain"]);
        assert_eq!(
            plan.contains("$key_index"),
            hinted.contains(q),
            "{q}: {plan}"
        );
    }
    assert_eq!(sorted_rows(&data, hinted[0], &[]).len(), 1);
    assert_eq!(sorted_rows(&data, hinted[8], &[]).len(), 2);
}

fn assert_same(data: &Path, adql: &str) {
    let indexed = sorted_rows(data, adql, &[]);
    let plain = sorted_rows(data, adql, &["--no-sky-index"]);
    assert_eq!(indexed.len(), plain.len(), "{adql}");
    assert!(indexed == plain, "{adql}: rows differ");
}

/// The first cell of each TABLEDATA row of a VOTable, sorted.
fn first_cells(votable: &str) -> Vec<String> {
    let mut ids: Vec<String> = votable
        .split("<TR>")
        .skip(1)
        .filter_map(|row| {
            let cell = row.split_once("<TD>")?.1;
            Some(cell.split_once("</TD>")?.0.to_string())
        })
        .collect();
    ids.sort();
    ids
}

/// GET `path` from `host` over HTTP/1.0 (the body ends with the connection).
fn get(host: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.0 200"), "{path}: {response}");
    body.to_string()
}

#[test]
fn cone_search_and_adql_return_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut rng = Random(0x9e37_79b9_7f4a_7c15);
    let rows: Vec<(f64, f64)> = (0..5000).map(|_| rng.position()).collect();
    ingest(&data, dir.path(), "a", &rows, "id", rows.len());
    let mut server = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_corvus"))
            .args([
                "serve",
                "--data",
                data.to_str().unwrap(),
                "--bind",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let host = line
        .trim()
        .trim_start_matches("Corvus TAP service at http://")
        .trim_end_matches("/tap")
        .to_string();
    for (ra, dec, sr) in [(0.2, 0.5, 1.5), (100.0, 89.7, 0.8), (250.0, -30.0, 6.0)] {
        let scs = get(
            &host,
            &format!("/scs/sky.a?RA={ra}&DEC={dec}&SR={sr}&VERB=1"),
        );
        let adql = format!(
            "SELECT CAST(id AS VARCHAR) FROM sky.a WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE({ra}, {dec}, {sr}))"
        );
        let encoded: String = adql
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let tap = get(
            &host,
            &format!("/tap/sync?REQUEST=doQuery&LANG=ADQL&QUERY={encoded}"),
        );
        let (from_scs, from_tap) = (first_cells(&scs), first_cells(&tap));
        assert!(!from_scs.is_empty(), "no rows at ({ra}, {dec})");
        assert_eq!(from_scs, from_tap, "cone ({ra}, {dec}, {sr})");
    }
}

/// A child process killed when the test ends, passed or failed.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
