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
