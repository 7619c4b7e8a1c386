//! `corvus bench jobs`: the asynchronous job system end to end, on the
//! demo catalog served in this process with the default queues (short:
//! 4 workers, long: 1). Raw HTTP/1.1 on loopback, one connection per
//! request, as a simple client would. Never run in CI.
//!
//! 1. Throughput: 8 clients, each submitting `SELECT TOP 1` with
//!    PHASE=RUN, waiting for COMPLETED with WAIT, and fetching the result.
//! 2. Dispatch: one client, a worker always free: startTime − creationTime.
//! 3. A short job while a full-table crossmatch holds the long queue:
//!    submit to COMPLETED.
//! 4. Listing 100,000 stored jobs of one owner (the anonymous one), from
//!    the store and through GET /tap/async.

use crate::bench::DemoService;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TRIVIAL: &str = "SELECT TOP 1 hip FROM hip.main";
const HEAVY: &str = "SELECT COUNT(*) FROM hip.main AS a JOIN hip.main AS b ON 1 = INTERSECTS(CIRCLE(a.ra, a.dec, 0.001), CIRCLE(b.ra, b.dec, 0.001))";

/// A response: status, Location, body.
struct Reply {
    status: u16,
    location: Option<String>,
    body: Vec<u8>,
}

async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    form: &[(&str, &str)],
) -> anyhow::Result<Reply> {
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{k}={}", test_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("{path}: no HTTP header in the answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("{path}: no status in {head}"))?;
    let location = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or(l.strip_prefix("Location: "))
        })
        .map(str::to_string);
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok(Reply {
        status,
        location,
        body,
    })
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&raw[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 || raw.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[(eol + 4 + size).min(raw.len())..];
    }
    out
}

fn test_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Submits `query` (PHASE=RUN); the job's path.
async fn submit(addr: SocketAddr, query: &str, queue: &str) -> anyhow::Result<String> {
    let r = request(
        addr,
        "POST",
        "/tap/async",
        &[
            ("LANG", "ADQL"),
            ("QUERY", query),
            ("PHASE", "RUN"),
            ("QUEUE", queue),
        ],
    )
    .await?;
    anyhow::ensure!(r.status == 303, "creation answered {}", r.status);
    let location = r.location.ok_or_else(|| anyhow::anyhow!("no Location"))?;
    let path = location
        .find("/tap/async/")
        .map(|i| location[i..].to_string())
        .ok_or_else(|| anyhow::anyhow!("Location {location}"))?;
    Ok(path)
}

fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<uws:{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find("</uws:")? + start;
    Some(&xml[start..end])
}

/// Waits for a final phase with WAIT; the job document.
async fn finish(addr: SocketAddr, job: &str) -> anyhow::Result<String> {
    loop {
        let r = request(addr, "GET", &format!("{job}?WAIT=30"), &[]).await?;
        let xml = String::from_utf8_lossy(&r.body).into_owned();
        match element(&xml, "phase") {
            Some("COMPLETED") => return Ok(xml),
            Some("ERROR" | "ABORTED") => anyhow::bail!("{job} ended: {xml}"),
            _ => {}
        }
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(i).copied().unwrap_or(f64::NAN)
}

fn millis_between(xml: &str, from: &str, to: &str) -> Option<f64> {
    let t = |name| {
        element(xml, name)
            .and_then(uws_jobs::Millis::parse_iso)
            .map(|m| m.0 as f64)
    };
    Some(t(to)? - t(from)?)
}

pub(crate) async fn jobs(
    clients: usize,
    jobs_each: usize,
    listed: usize,
) -> anyhow::Result<ExitCode> {
    let demo = DemoService::start(query_engine::EngineConfig::default()).await?;
    let addr = demo.addr;
    println!("| measure | value | target |");
    println!("|---|---|---|");

    // 1. Throughput from concurrent clients.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        tasks.push(tokio::spawn(async move {
            for _ in 0..jobs_each {
                let job = submit(addr, TRIVIAL, "short").await?;
                finish(addr, &job).await?;
                let r = request(addr, "GET", &format!("{job}/results/result"), &[]).await?;
                anyhow::ensure!(
                    r.status == 200 && r.body.starts_with(b"<?xml"),
                    "result: {}",
                    r.status
                );
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let n = clients * jobs_each;
    println!(
        "| trivial jobs end to end, {clients} clients ({n} jobs) | {:.0} jobs/s | ≥ 50 jobs/s |",
        n as f64 / started.elapsed().as_secs_f64()
    );

    // 2. Dispatch latency with a free worker.
    let mut dispatch = Vec::new();
    for _ in 0..200 {
        let job = submit(addr, TRIVIAL, "short").await?;
        let xml = finish(addr, &job).await?;
        if let Some(ms) = millis_between(&xml, "creationTime", "startTime") {
            dispatch.push(ms);
        }
    }
    dispatch.sort_by(f64::total_cmp);
    println!(
        "| creation to EXECUTING, worker free (n={}) | p50 {:.0} ms, p99 {:.0} ms | p99 ≤ 50 ms |",
        dispatch.len(),
        quantile(&dispatch, 0.5),
        quantile(&dispatch, 0.99)
    );

    // 3. Short jobs while a full-table crossmatch holds the long queue.
    let heavy = submit(addr, HEAVY, "long").await?;
    loop {
        let r = request(addr, "GET", &format!("{heavy}/phase"), &[]).await?;
        if r.body == b"EXECUTING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut short = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        let job = submit(addr, TRIVIAL, "short").await?;
        finish(addr, &job).await?;
        short.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    short.sort_by(f64::total_cmp);
    println!(
        "| short job submit to COMPLETED, long queue busy (n=100) | p50 {:.0} ms, p95 {:.0} ms | p95 ≤ 200 ms |",
        quantile(&short, 0.5),
        quantile(&short, 0.95)
    );
    request(
        addr,
        "POST",
        &format!("{heavy}/phase"),
        &[("PHASE", "ABORT")],
    )
    .await?;

    // 4. Listing one owner's stored jobs.
    let dir = catalog_store::DataDir::open(&demo.dir.0)?;
    let store = uws_jobs::Store::open(&dir.state_file())?;
    let stored = Instant::now();
    let now = uws_jobs::Millis::now();
    store.insert_many((0..listed).map(|i| uws_jobs::Job {
        id: uws_jobs::JobId::generate(uws_jobs::Millis(now.0 - i as i64)),
        owner: None,
        run_id: None,
        phase: uws_jobs::Phase::Completed,
        queue: "short".into(),
        parameters: vec![("QUERY".into(), TRIVIAL.into())],
        creation_time: uws_jobs::Millis(now.0 - i as i64),
        queued_time: None,
        start_time: None,
        end_time: None,
        execution_seconds: 60,
        destruction: now.plus_seconds(86_400),
        quote: None,
        estimated_rows: None,
        error: None,
        results: Vec::new(),
    }))?;
    let insert_seconds = stored.elapsed().as_secs_f64();
    let viewer = uws_jobs::Viewer::Owner(None);
    let mut store_ms = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let list = store.list(&viewer, &uws_jobs::ListFilter::default())?;
        anyhow::ensure!(list.len() >= listed, "listed {}", list.len());
        store_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    store_ms.sort_by(f64::total_cmp);
    println!("| {listed} jobs of one owner stored | {insert_seconds:.1} s | |");
    println!(
        "| listing them from the store (median of 5) | {:.0} ms | ≪ 100 ms |",
        quantile(&store_ms, 0.5)
    );
    let mut http_ms = Vec::new();
    let mut bytes = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let r = request(addr, "GET", "/tap/async", &[]).await?;
        anyhow::ensure!(r.status == 200, "the job list answered {}", r.status);
        bytes = r.body.len();
        http_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    http_ms.sort_by(f64::total_cmp);
    println!(
        "| the same through GET /tap/async, XML (median of 5, {:.1} MB) | {:.0} ms | ≪ 100 ms |",
        bytes as f64 / 1e6,
        quantile(&http_ms, 0.5)
    );
    Ok(ExitCode::SUCCESS)
}
