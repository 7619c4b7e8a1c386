//! `corvus bench`: speed and memory figures, printed as a table. Never run in CI.
//!
//! `corvus bench ingest --rows N` writes a CSV of N rows and 10 numeric
//! columns (id, ra, dec and 7 magnitudes and errors), ingests it into a
//! throw-away data directory, and reports rows per second and the peak
//! resident memory of this process.

use anyhow::Context;
use catalog_store::DataDir;
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

/// Peak resident set size of this process, in bytes (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

pub(crate) async fn ingest(rows: u64) -> anyhow::Result<ExitCode> {
    let tmp = std::env::temp_dir().join(format!("corvus-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).context("cannot create the benchmark folder")?;
    let csv = tmp.join("bench.csv");
    let started = Instant::now();
    {
        let mut w = BufWriter::new(std::fs::File::create(&csv)?);
        writeln!(w, "id,ra,dec,g,bp,rp,e_g,e_bp,e_rp,plx")?;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for i in 0..rows {
            let ra = next() * 360.0;
            let dec = (next() * 2.0 - 1.0).asin().to_degrees();
            writeln!(
                w,
                "{i},{ra:.8},{dec:.8},{:.4},{:.4},{:.4},{:.5},{:.5},{:.5},{:.3}",
                10.0 + next() * 10.0,
                10.5 + next() * 10.0,
                9.5 + next() * 10.0,
                next() * 0.01,
                next() * 0.02,
                next() * 0.02,
                next() * 5.0
            )?;
        }
    }
    let write_secs = started.elapsed().as_secs_f64();
    let csv_bytes = std::fs::metadata(&csv)?.len();
    let mut dir = DataDir::open(&tmp.join("data"))?;
    let req = ingest::Request {
        files: vec![csv.clone()],
        schema: "bench".into(),
        table: "csv".into(),
        descriptor: Default::default(),
        mode: ingest::Mode::Create,
        rows_read: None,
        skip_bad_rows: 0,
        strict: false,
    };
    let report = ingest::ingest(&mut dir, &req).await?;
    let rss = peak_rss();
    let _ = std::fs::remove_dir_all(&tmp);
    println!("{:<28} {:>16}", "benchmark", "value");
    println!("{:<28} {:>16}", "rows", rows);
    println!(
        "{:<28} {:>16.1}",
        "CSV size (MiB)",
        csv_bytes as f64 / 1048576.0
    );
    println!("{:<28} {:>16.2}", "CSV generation (s)", write_secs);
    println!("{:<28} {:>16.2}", "ingest (s)", report.seconds);
    println!(
        "{:<28} {:>16.0}",
        "ingest rows/s",
        rows as f64 / report.seconds
    );
    println!(
        "{:<28} {:>16.1}",
        "ingest MiB/s",
        csv_bytes as f64 / 1048576.0 / report.seconds
    );
    println!(
        "{:<28} {:>16.1}",
        "Parquet size (MiB)",
        report.record.size_bytes as f64 / 1048576.0
    );
    match rss {
        Some(b) => println!("{:<28} {:>16.1}", "peak RSS (MiB)", b as f64 / 1048576.0),
        None => println!("{:<28} {:>16}", "peak RSS (MiB)", "n/a"),
    }
    println!("{:<28} {:>16}", "target: rows/s", "> 1000000");
    println!("{:<28} {:>16}", "target: RSS at 1e7 rows", "< 2048 MiB");
    Ok(ExitCode::SUCCESS)
}

/// The demo catalog served on a loopback port in this process, with
/// `config`'s engine and a MAXREC large enough for whole-table downloads.
pub(crate) struct DemoService {
    pub(crate) addr: std::net::SocketAddr,
    pub(crate) state: std::sync::Arc<tap_server::AppState>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub(crate) dir: crate::data::TempDir,
}

impl DemoService {
    pub(crate) async fn start(config: query_engine::EngineConfig) -> anyhow::Result<DemoService> {
        let (guard, _) = crate::data::demo_directory("bench-serve").await?;
        let dir = DataDir::open(&guard.0)?;
        let engine = crate::data::engine_for(&dir, config).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let limits = tap_server::Limits {
            default_maxrec: 1 << 30,
            ..Default::default()
        };
        let state = std::sync::Arc::new(tap_server::AppState::new(
            engine,
            format!("http://{addr}/tap"),
            limits,
        ));
        // Asynchronous jobs with the default queues, in the demo directory.
        let store = uws_jobs::Store::open(&dir.state_file())?;
        tap_server::start_jobs(
            &state,
            store,
            uws_jobs::JobsConfig::new(dir.results_folder()),
        )
        .await?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(tap_server::serve(
            listener,
            std::sync::Arc::clone(&state),
            async move {
                let _ = stopped.await;
            },
            std::time::Duration::ZERO,
        ));
        Ok(DemoService {
            addr,
            state,
            server: Some(server),
            stop: Some(stop),
            dir: guard,
        })
    }

    /// Shuts the service down as SIGTERM does (no grace period) and waits
    /// until it has stopped.
    pub(crate) async fn shut_down(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await??;
        }
        Ok(())
    }
}

impl Drop for DemoService {
    fn drop(&mut self) {
        self.state.engine.shut_down();
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}

/// `corvus bench serve`: the demo catalog served on a loopback port in this
/// process; each output format fetched whole (`SELECT * FROM hip.main`,
/// 117,955 rows × 45 columns) `repeat` times over a plain HTTP/1.1
/// connection, without compression and as pyvo asks (`Accept-Encoding:
/// gzip, deflate`) and with zstd; the client does not decompress, so the
/// figures are the server's. Then a trivial query timed over many requests.
pub(crate) async fn serve(repeat: u32) -> anyhow::Result<ExitCode> {
    let demo = DemoService::start(query_engine::EngineConfig::default()).await?;
    let addr = demo.addr;
    println!(
        "| format | encoding | result MB | wire MB | seconds | result MB/s | rows/s | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for format in [
        "votable", "binary2", "fits", "csv", "tsv", "parquet", "json",
    ] {
        let path =
            format!("/tap/sync?LANG=ADQL&RESPONSEFORMAT={format}&QUERY=SELECT+*+FROM+hip.main");
        let mut plain = 0;
        for encoding in ["identity", "gzip, deflate", "zstd"] {
            let mut bytes = 0;
            reset_peak_rss();
            let started = Instant::now();
            for _ in 0..repeat {
                bytes += get(addr, &path, encoding).await?;
            }
            let secs = started.elapsed().as_secs_f64();
            if encoding == "identity" {
                plain = bytes;
            }
            println!(
                "| {format} | {} | {:.1} | {:.1} | {secs:.2} | {:.0} | {:.0} | {} |",
                encoding.split(',').next().unwrap_or(encoding),
                plain as f64 / 1e6 / f64::from(repeat),
                bytes as f64 / 1e6 / f64::from(repeat),
                plain as f64 / 1e6 / secs,
                117_955.0 * f64::from(repeat) / secs,
                peak_rss().unwrap_or(0) >> 20
            );
        }
    }
    let n = 200;
    let started = Instant::now();
    for _ in 0..n {
        get(
            addr,
            "/tap/sync?LANG=ADQL&QUERY=SELECT+TOP+1+hip+FROM+hip.main",
            "identity",
        )
        .await?;
    }
    println!(
        "\ntrivial sync query (SELECT TOP 1): {:.2} ms per request over {n}",
        started.elapsed().as_secs_f64() * 1000.0 / f64::from(n)
    );
    if let Some(rss) = peak_rss() {
        println!("peak RSS of the whole process: {} MiB", rss >> 20);
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts a new peak-RSS measurement (Linux: writing 5 to clear_refs
/// resets VmHWM to the current RSS), so each format's peak is its own.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// One GET with `Connection: close` and `Accept-Encoding: encoding`; the
/// bytes received (headers included), not decompressed.
pub(crate) async fn get(
    addr: std::net::SocketAddr,
    path: &str,
    encoding: &str,
) -> anyhow::Result<u64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept-Encoding: {encoding}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    let mut first = true;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        if first && !buf.starts_with(b"HTTP/1.1 200") {
            anyhow::bail!("{path}: {}", String::from_utf8_lossy(&buf[..n.min(300)]));
        }
        first = false;
        total += n as u64;
    }
    Ok(total)
}
