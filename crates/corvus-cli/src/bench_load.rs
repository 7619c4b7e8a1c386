//! `corvus bench load`: the service while heavy queries saturate its pool.
//! The demo catalog is served in this process; `heavy` crossmatches (a
//! self-join of hip.main on INTERSECTS of circles, minutes of work each, no row before
//! the end) are started on raw connections; then it times VOSI documents and
//! a `TOP 1` query while they run, the time from the clients' disconnect to
//! an idle engine with its memory freed, and the time from a shutdown with
//! running queries to a stopped server. Never run in CI.

use crate::bench::{DemoService, get};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

const HEAVY: &str = "SELECT+COUNT(*)+FROM+hip.main+AS+a+JOIN+hip.main+AS+b+ON+1+%3D+INTERSECTS(CIRCLE(a.ra,+a.dec,+0.001),+CIRCLE(b.ra,+b.dec,+0.001))";

/// Sends the heavy query and keeps the connection open.
async fn start_heavy(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpStream> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET /tap/sync?LANG=ADQL&QUERY={HEAVY} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    Ok(stream)
}

/// Waits until `done` holds, polling every millisecond; the time it took.
async fn until(within: Duration, mut done: impl FnMut() -> bool) -> anyhow::Result<Duration> {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > within {
            anyhow::bail!("not within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(started.elapsed())
}

/// Milliseconds at the given quantile of sorted durations.
fn quantile(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

pub(crate) async fn load(heavy: usize, requests: usize) -> anyhow::Result<ExitCode> {
    let mut demo = DemoService::start(query_engine::EngineConfig::default()).await?;
    let (addr, engine) = (demo.addr, &demo.state.engine);
    let mut connections = Vec::new();
    for _ in 0..heavy {
        connections.push(start_heavy(addr).await?);
    }
    until(Duration::from_secs(60), || {
        engine.load().long_running == heavy.min(engine_slots())
    })
    .await?;
    println!(
        "{heavy} crossmatches running on {} cores\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| request while saturated | n | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|");
    for (name, path, n) in [
        ("/tap/availability", "/tap/availability", requests),
        ("/tap/capabilities", "/tap/capabilities", requests / 5),
        (
            "/tap/tables?detail=min",
            "/tap/tables?detail=min",
            requests / 5,
        ),
        (
            "SELECT TOP 1 hip FROM hip.main",
            "/tap/sync?LANG=ADQL&QUERY=SELECT+TOP+1+hip+FROM+hip.main",
            requests / 10,
        ),
    ] {
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let started = Instant::now();
            get(addr, path, "identity").await?;
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "| {name} | {n} | {:.2} | {:.2} | {:.2} |",
            quantile(&times, 0.5),
            quantile(&times, 0.99),
            quantile(&times, 1.0)
        );
    }
    // The clients go away before the first row.
    drop(connections);
    let idle = until(Duration::from_secs(30), || {
        let l = engine.load();
        l.long_running + l.quick_running == 0 && l.memory_bytes == 0
    })
    .await?;
    println!(
        "\nfrom the clients' disconnect to an idle engine, memory freed: {:.0} ms",
        idle.as_secs_f64() * 1000.0
    );
    // Shutdown with queries running: no grace period, so this is the time
    // to cancel them, answer their clients and stop.
    let mut again = Vec::new();
    for _ in 0..heavy {
        again.push(start_heavy(addr).await?);
    }
    until(Duration::from_secs(60), || {
        engine.load().long_running == heavy.min(engine_slots())
    })
    .await?;
    let started = Instant::now();
    demo.shut_down().await?;
    println!(
        "from shutdown with {heavy} queries running to a stopped server: {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(ExitCode::SUCCESS)
}

/// The long lane's slots in the default configuration.
fn engine_slots() -> usize {
    query_engine::EngineConfig::default().long.max_running
}
