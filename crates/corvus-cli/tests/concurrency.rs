//! End-to-end: several `corvus` processes on one data directory at once,
//! and ingests killed with SIGKILL at every stage (the locking protocol of
//! `catalog-store`). Real processes, a real CSV of millions of rows, real
//! HTTP; the instants inside publishing that no timer can hit are reached
//! through the test-only `CORVUS_TEST_FAILPOINT`.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed test

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Rows of the large input: enough that reading, sorting and writing it
/// take seconds, during which everything else happens.
const LARGE: u64 = 3_000_000;
/// Rows of the table the ingests replace.
const BASE: u64 = 1_000;
/// Rows of an input that only has to reach publishing.
const SMALL: u64 = 20_000;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_corvus"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn corvus(args: &[&str]) -> Output {
    bin().args(args).output().expect("run corvus")
}

/// Runs corvus and returns its standard output, failing the test (with
/// its standard error) if it failed.
fn ok(args: &[&str]) -> String {
    let out = corvus(args);
    assert!(
        out.status.success(),
        "corvus {args:?} failed: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `id,ra,dec,mag` rows with ids `1..=rows`, positions spread over the sky.
fn write_csv(path: &Path, rows: u64) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "id,ra,dec,mag").unwrap();
    for id in 1..=rows {
        // Integer arithmetic only: millions of rows in a debug build.
        let ra = id * 7_919 % 3_600_000;
        let dec = (id * 104_729 % 1_800_000) as i64 - 900_000;
        let sign = if dec < 0 { "-" } else { "" };
        let (dec, mag) = (dec.unsigned_abs(), id % 10_000);
        writeln!(
            w,
            "{id},{}.{:04},{sign}{}.{:04},{}.{:03}",
            ra / 10_000,
            ra % 10_000,
            dec / 10_000,
            dec % 10_000,
            5 + mag / 1_000,
            mag % 1_000
        )
        .unwrap();
    }
    w.flush().unwrap();
}

/// The count and sum of ids a table of `rows` rows has.
fn whole(rows: u64) -> (u64, u64) {
    (rows, rows * (rows + 1) / 2)
}

const COUNT_AND_SUM: &str = "SELECT COUNT(*) AS n, SUM(id) AS s FROM cat.stars";

/// `n` and `s` from the second line of a two-column result.
fn parse_count_and_sum(result: &str, separator: char) -> (u64, u64) {
    let line = result.lines().nth(1).unwrap_or_default();
    let mut cells = line.split(separator).map(|c| c.trim().parse::<u64>());
    match (cells.next(), cells.next()) {
        (Some(Ok(n)), Some(Ok(s))) => (n, s),
        _ => panic!("not a count and a sum: {result}"),
    }
}

/// `corvus query` of the table's count and sum of ids.
fn count_and_sum(data: &Path) -> (u64, u64) {
    parse_count_and_sum(
        &ok(&["query", "--data", data.to_str().unwrap(), COUNT_AND_SUM]),
        '\t',
    )
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(l) => l
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

/// The version folders of `cat.stars`, with their lease files.
fn versions(data: &Path) -> Vec<String> {
    names_in(&data.join("tables/cat/stars"))
}

/// What ingests in progress (or dead) left in the staging area.
fn staging(data: &Path) -> Vec<String> {
    names_in(&data.join("tables/.staging"))
}

/// Waits until `ready` holds, failing after a generous bound (this is a
/// guard against a hang, not a measure of speed).
fn wait_until(what: &str, child: &mut Child, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the ingest ended ({status}) before {what}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "waited ten minutes for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn start_ingest(data: &Path, csv: &Path, failpoint: Option<&str>) -> Child {
    let mut cmd = bin();
    cmd.args([
        "ingest",
        csv.to_str().unwrap(),
        "--table",
        "cat.stars",
        "--replace",
        "--data",
        data.to_str().unwrap(),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if let Some(point) = failpoint {
        cmd.env("CORVUS_TEST_FAILPOINT", point);
    }
    cmd.spawn().expect("start corvus ingest")
}

/// A `corvus serve` on a loopback port of its own; killed (SIGKILL) when
/// dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data: &Path, log: &Path) -> Server {
        let mut child = bin()
            .args([
                "serve",
                "--data",
                data.to_str().unwrap(),
                "--bind",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("start corvus serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(url) = line.trim().strip_prefix("Corvus TAP service at http://") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "serve did not start: {line}{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        };
        Server {
            base: url.trim_end_matches("/tap").to_string(),
            child,
        }
    }

    /// The table's count and sum of ids, over HTTP (TAP sync, CSV).
    fn count_and_sum(&self) -> (u64, u64) {
        let mut stream = std::net::TcpStream::connect(&self.base).unwrap();
        let query: String = COUNT_AND_SUM
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        // HTTP/1.0: the body ends with the connection, never chunked.
        write!(
            stream,
            "GET /tap/sync?REQUEST=doQuery&LANG=ADQL&RESPONSEFORMAT=csv&QUERY={query} HTTP/1.0\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        assert!(head.starts_with("HTTP/1.0 200"), "{response}");
        parse_count_and_sum(body, ',')
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A data directory whose `cat.stars` holds `BASE` rows.
fn with_base_table(tmp: &Path) -> PathBuf {
    let data = tmp.join("data");
    let base = tmp.join("base.csv");
    write_csv(&base, BASE);
    ok(&[
        "ingest",
        base.to_str().unwrap(),
        "--table",
        "cat.stars",
        "--data",
        data.to_str().unwrap(),
    ]);
    assert_eq!(count_and_sum(&data), whole(BASE));
    data
}

#[test]
fn readers_run_beside_an_ingest_that_replaces_what_they_read() {
    let tmp = tempfile::tempdir().unwrap();
    let data = with_base_table(tmp.path());
    let data_arg = data.to_str().unwrap().to_string();
    let large = tmp.path().join("large.csv");
    write_csv(&large, LARGE);
    let old_versions = versions(&data);

    // A service that was running before the ingest, and runs after it.
    let service = Server::start(&data, &tmp.path().join("service.log"));
    assert_eq!(service.count_and_sum(), whole(BASE));

    let mut ingest = start_ingest(&data, &large, None);
    wait_until("the ingest staged its folder", &mut ingest, || {
        !staging(&data).is_empty()
    });

    // While it runs: every kind of process that opens the directory, in a
    // loop, from two threads. Each sees the old table or the new one whole.
    let done = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicUsize::new(0));
    let either = |seen: (u64, u64)| {
        assert!(
            seen == whole(BASE) || seen == whole(LARGE),
            "saw {seen:?}, neither the old table nor the new one"
        );
    };
    let cli = {
        let (done, rounds, data, data_arg) =
            (done.clone(), rounds.clone(), data.clone(), data_arg.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let columns = ok(&[
                    "adql",
                    "check",
                    "--catalog",
                    &data_arg,
                    "SELECT id, ra FROM cat.stars",
                ]);
                assert!(!columns.is_empty());
                assert!(ok(&["tables", "--data", &data_arg]).contains("cat.stars"));
                either(count_and_sum(&data));
                rounds.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let services = {
        let (done, rounds, data) = (done.clone(), rounds.clone(), data.clone());
        let log = tmp.path().join("short.log");
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let server = Server::start(&data, &log);
                either(server.count_and_sum());
                drop(server);
                rounds.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let mut during = 0;
    let outcome = loop {
        if let Some(status) = ingest.try_wait().unwrap() {
            break status;
        }
        during = rounds.load(Ordering::Relaxed);
        // The service keeps its snapshot: the old table, whole.
        assert_eq!(service.count_and_sum(), whole(BASE));
        std::thread::sleep(Duration::from_millis(50));
    };
    done.store(true, Ordering::Relaxed);
    cli.join().unwrap();
    services.join().unwrap();
    let output = ingest.wait_with_output().unwrap();
    assert!(
        outcome.success(),
        "the ingest failed ({outcome}): {}",
        text(&output.stderr)
    );
    assert!(during > 0, "no reader finished while the ingest ran");
    eprintln!("{during} reader rounds finished while the ingest ran");

    // The new table is complete, for every new reader.
    assert_eq!(count_and_sum(&data), whole(LARGE));
    let fresh = Server::start(&data, &tmp.path().join("fresh.log"));
    assert_eq!(fresh.count_and_sum(), whole(LARGE));
    drop(fresh);
    // The old service still reads the old version, which is still there...
    assert_eq!(service.count_and_sum(), whole(BASE));
    assert!(
        data.join("tables/cat/stars")
            .join(&old_versions[0])
            .is_dir(),
        "the version a service reads was removed"
    );
    // ... until it stops; then the next open removes it.
    drop(service);
    ok(&["tables", "--data", &data_arg]);
    let now = versions(&data);
    assert_eq!(now.len(), 2, "one version and its lease file: {now:?}");
    assert!(!now.contains(&old_versions[0]));
    assert!(staging(&data).iter().all(|n| !n.ends_with(".lock")));
}

/// Kills the ingest (SIGKILL) and checks that it left something behind,
/// that the next open removes it, and that the old table is as it was.
fn kill_and_check(
    mut ingest: Child,
    data: &Path,
    stage: &str,
    before: &[String],
    expected: (u64, u64),
) {
    ingest.kill().unwrap();
    ingest.wait().unwrap();
    let left = [staging(data), versions(data)].concat();
    assert!(
        left.len() > before.len(),
        "{stage}: a killed ingest left nothing to clean up: {left:?}"
    );
    let data_arg = data.to_str().unwrap();
    assert!(ok(&["tables", "--data", data_arg]).contains("cat.stars"));
    assert_eq!(staging(data), Vec::<String>::new(), "{stage}: staging left");
    assert_eq!(versions(data), before, "{stage}: versions");
    assert_eq!(count_and_sum(data), expected, "{stage}: rows");
}

/// Reads the process's standard error until the failpoint's line.
fn wait_for_failpoint(ingest: &mut Child, point: &str) {
    let mut lines = BufReader::new(ingest.stderr.take().unwrap()).lines();
    let mark = format!("CORVUS_TEST_FAILPOINT {point}");
    let mut seen = Vec::new();
    loop {
        match lines.next() {
            Some(Ok(line)) if line == mark => return,
            Some(Ok(line)) => seen.push(line),
            _ => panic!("the ingest ended before {point}: {}", seen.join("\n")),
        }
    }
}

#[test]
fn an_ingest_killed_at_any_stage_leaves_the_old_table_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let data = with_base_table(tmp.path());
    let data_arg = data.to_str().unwrap().to_string();
    let large = tmp.path().join("large.csv");
    write_csv(&large, LARGE);
    let small = tmp.path().join("small.csv");
    write_csv(&small, SMALL);
    let before = versions(&data);
    assert_eq!(before.len(), 2, "{before:?}");

    // While reading: the staging folder exists, no Parquet yet.
    let mut ingest = start_ingest(&data, &large, None);
    wait_until("the ingest staged its folder", &mut ingest, || {
        staging(&data).len() == 2
    });
    // Into the reading, which takes seconds (not a measure: any instant
    // before the first Parquet byte is this stage).
    std::thread::sleep(Duration::from_millis(300));
    kill_and_check(ingest, &data, "reading", &before, whole(BASE));

    // While sorting and writing: Parquet bytes in the staging folder.
    let mut ingest = start_ingest(&data, &large, None);
    wait_until("the ingest wrote Parquet", &mut ingest, || {
        staging(&data)
            .iter()
            .any(|n| !names_in(&data.join("tables/.staging").join(n)).is_empty())
    });
    kill_and_check(ingest, &data, "writing", &before, whole(BASE));

    // After publish's rename, before its commit: the new version is in
    // place and the publish lock held. Other processes neither wait for it
    // nor take the new version for an orphan.
    let mut ingest = start_ingest(&data, &small, Some("publish-after-rename"));
    wait_for_failpoint(&mut ingest, "publish-after-rename");
    let renamed = versions(&data);
    assert_eq!(renamed.len(), 4, "{renamed:?}");
    assert!(ok(&["tables", "--data", &data_arg]).contains("cat.stars"));
    assert_eq!(count_and_sum(&data), whole(BASE));
    assert_eq!(versions(&data), renamed);
    kill_and_check(ingest, &data, "renamed", &before, whole(BASE));

    // After the commit, before the old version's removal: the new table,
    // whole; the next open removes the old version.
    let mut ingest = start_ingest(&data, &small, Some("publish-after-commit"));
    wait_for_failpoint(&mut ingest, "publish-after-commit");
    ingest.kill().unwrap();
    ingest.wait().unwrap();
    assert_eq!(versions(&data).len(), 4);
    ok(&["tables", "--data", &data_arg]);
    let after = versions(&data);
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(!after.contains(&before[0]));
    assert_eq!(staging(&data), Vec::<String>::new());
    assert_eq!(count_and_sum(&data), whole(SMALL));
}
