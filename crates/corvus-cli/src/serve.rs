//! `corvus serve`: the TAP service over a data directory, or with `--demo`
//! over the bundled Hipparcos catalog published into a throw-away directory.

use crate::data::{DataArg, demo_directory, engine_for};
use anyhow::Context;
use catalog_store::DataDir;
use clap::Args;
use query_engine::{EngineConfig, LaneConfig};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Serve the bundled demo catalog (Hipparcos, as hip.main) from a throw-away data directory.
    #[arg(long)]
    demo: bool,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    bind: String,
    /// The public URL of the TAP endpoint, if not http://ADDR/tap (behind a proxy).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Service settings (limits, uploads) in TOML; see corvus.example.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// Execute queries on the Ballista cluster whose scheduler is at
    /// HOST:PORT (`corvus scheduler`); overrides [execution] cluster.
    #[arg(long, value_name = "HOST:PORT")]
    cluster: Option<String>,
    /// With --cluster: queries estimated to read fewer rows than N run in
    /// this process (0: every query that reads a table goes to the
    /// cluster); overrides [execution] cluster_from_rows.
    #[arg(long, value_name = "N")]
    cluster_from_rows: Option<u64>,
    #[command(flatten)]
    data: DataArg,
}

/// `corvus.toml`: every key optional, unknown keys refused (a typo must
/// not silently leave a limit at its default).
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    limits: LimitsConfig,
    #[serde(default)]
    uploads: UploadsConfig,
    #[serde(default)]
    registry: RegistryConfig,
    #[serde(default)]
    execution: ExecutionConfig,
    #[serde(default)]
    jobs: crate::jobs::JobsSection,
}

/// How queries execute: the two lanes, memory, and shutdown.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ExecutionConfig {
    /// Long queries executing at once.
    max_running: Option<usize>,
    /// Long queries waiting for a slot before new ones are refused (503).
    max_waiting: Option<usize>,
    /// Threads executing long queries.
    threads: Option<usize>,
    /// Quick queries executing at once.
    quick_max_running: Option<usize>,
    /// Quick queries waiting for a slot before new ones are refused.
    quick_max_waiting: Option<usize>,
    /// Threads executing quick queries.
    quick_threads: Option<usize>,
    /// A query estimated to read at most this many rows is quick.
    quick_rows: Option<u64>,
    /// Memory queries may hold in all, in MiB; sorts and joins spill beyond it.
    memory_mib: Option<usize>,
    /// Seconds running queries get to finish after SIGTERM or Ctrl-C.
    shutdown_grace_seconds: Option<u64>,
    /// The scheduler (HOST:PORT) of the Ballista cluster that executes the
    /// queries; queries execute in this process when it is not set.
    cluster: Option<String>,
    /// On a cluster, queries estimated to read fewer rows run here.
    cluster_from_rows: Option<u64>,
}

impl ExecutionConfig {
    fn engine(&self) -> EngineConfig {
        let d = EngineConfig::default();
        let lane = |l: &LaneConfig,
                    threads: Option<usize>,
                    running: Option<usize>,
                    waiting: Option<usize>| LaneConfig {
            threads: threads.unwrap_or(l.threads),
            max_running: running.unwrap_or(l.max_running),
            max_waiting: waiting.unwrap_or(l.max_waiting),
        };
        EngineConfig {
            quick: lane(
                &d.quick,
                self.quick_threads,
                self.quick_max_running,
                self.quick_max_waiting,
            ),
            long: lane(&d.long, self.threads, self.max_running, self.max_waiting),
            quick_rows: self.quick_rows.unwrap_or(d.quick_rows),
            memory_limit: Some(
                self.memory_mib
                    .unwrap_or(DEFAULT_MEMORY_MIB)
                    .saturating_mul(1 << 20),
            ),
            cluster: self.cluster.clone(),
            cluster_from_rows: self.cluster_from_rows.unwrap_or(d.cluster_from_rows),
            shared_data: None,
        }
    }

    /// Refuses values that cannot work, naming the key.
    fn check(&self, file: &str) -> anyhow::Result<()> {
        for (key, value) in [
            ("max_running", self.max_running),
            ("threads", self.threads),
            ("quick_max_running", self.quick_max_running),
            ("quick_threads", self.quick_threads),
            ("memory_mib", self.memory_mib),
        ] {
            if value == Some(0) {
                anyhow::bail!("{file}: [execution] {key} must be at least 1");
            }
        }
        if self
            .memory_mib
            .is_some_and(|m| m.checked_mul(1 << 20).is_none())
        {
            anyhow::bail!("{file}: [execution] memory_mib is larger than this machine can address");
        }
        Ok(())
    }

    fn grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_seconds.unwrap_or(10))
    }
}

/// Memory queries may hold in all unless configured: sorts, joins and
/// aggregates spill to disk beyond it instead of growing without bound.
const DEFAULT_MEMORY_MIB: usize = 4096;

/// What `corvus.toml` sets.
struct Settings {
    limits: tap_server::Limits,
    registry: tap_server::registry::RegistryInfo,
    execution: ExecutionConfig,
    jobs: crate::jobs::JobsSection,
    /// The configuration file's name, for errors in later checks.
    file: String,
}

/// Who runs the service, for its VOResource record at /tap/resource.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RegistryConfig {
    identifier: Option<String>,
    title: Option<String>,
    short_name: Option<String>,
    description: Option<String>,
    publisher: Option<String>,
    contact_name: Option<String>,
    contact_email: Option<String>,
    reference_url: Option<String>,
    subjects: Option<Vec<String>>,
    created: Option<String>,
    updated: Option<String>,
}

impl RegistryConfig {
    fn apply(self, r: &mut tap_server::registry::RegistryInfo) {
        let set = |field: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *field = v;
            }
        };
        set(&mut r.identifier, self.identifier);
        set(&mut r.title, self.title);
        set(&mut r.short_name, self.short_name);
        set(&mut r.description, self.description);
        set(&mut r.publisher, self.publisher);
        set(&mut r.contact_name, self.contact_name);
        set(&mut r.contact_email, self.contact_email);
        set(&mut r.reference_url, self.reference_url);
        set(&mut r.created, self.created);
        set(&mut r.updated, self.updated);
        if let Some(s) = self.subjects {
            r.subjects = s;
        }
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LimitsConfig {
    /// Rows returned when a request gives no MAXREC.
    default_maxrec: Option<u64>,
    /// The most rows any request may have.
    hard_maxrec: Option<u64>,
    /// The longest a synchronous query may run, in seconds.
    execution_seconds: Option<u64>,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct UploadsConfig {
    /// The most bytes of uploaded tables in one request.
    max_bytes: Option<u64>,
    /// The most rows in one uploaded table.
    max_rows: Option<u64>,
    /// Fetch tables from URLs named in UPLOAD (from public addresses only).
    fetch_urls: Option<bool>,
    /// Hosts fetched from whatever they resolve to (internal hosts the
    /// operator trusts).
    allow_hosts: Option<Vec<String>>,
    /// The longest a URL's name may take to resolve and its connection to open.
    fetch_connect_seconds: Option<u64>,
    /// The longest a whole URL fetch may take, redirects included.
    fetch_seconds: Option<u64>,
    /// The most redirects a URL fetch follows.
    fetch_max_redirects: Option<u32>,
}

impl UploadsConfig {
    /// Sets the URL-fetching part of `limits`; `file` names the
    /// configuration in errors.
    fn apply_fetch(&self, u: &mut tap_server::UrlUploads, file: &str) -> anyhow::Result<()> {
        u.enabled = self.fetch_urls.unwrap_or(u.enabled);
        if let Some(hosts) = &self.allow_hosts {
            u.allow_hosts = hosts
                .iter()
                .map(|h| allowed_host(h, file))
                .collect::<anyhow::Result<_>>()?;
        }
        let seconds = |key: &str, value: Option<u64>, default: Duration| match value {
            Some(0) => anyhow::bail!("{file}: [uploads] {key} must be at least 1 (seconds)"),
            Some(n) => Ok(Duration::from_secs(n)),
            None => Ok(default),
        };
        u.connect_timeout = seconds(
            "fetch_connect_seconds",
            self.fetch_connect_seconds,
            u.connect_timeout,
        )?;
        u.timeout = seconds("fetch_seconds", self.fetch_seconds, u.timeout)?;
        u.max_redirects = self.fetch_max_redirects.unwrap_or(u.max_redirects);
        Ok(())
    }
}

/// An `allow_hosts` entry: a host name or an IP address alone, since it is
/// matched against the host of a URL exactly.
fn allowed_host(entry: &str, file: &str) -> anyhow::Result<String> {
    let host = entry.trim();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let is_ip = bare.parse::<std::net::IpAddr>().is_ok();
    let plain_name = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !is_ip && !plain_name {
        anyhow::bail!(
            "{file}: [uploads] allow_hosts entry \"{entry}\" is not a host name or IP address; write the host alone, without scheme, port or path (e.g. \"tables.internal\" or \"10.0.0.5\")"
        );
    }
    Ok(host.to_string())
}

fn settings_from(path: Option<&std::path::Path>) -> anyhow::Result<Settings> {
    let mut limits = tap_server::Limits::default();
    let mut registry = tap_server::registry::RegistryInfo::default();
    let Some(path) = path else {
        return Ok(Settings {
            limits,
            registry,
            execution: ExecutionConfig::default(),
            jobs: Default::default(),
            file: "corvus.toml".into(),
        });
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration {}", path.display()))?;
    let config: Config = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message()))?;
    config.registry.apply(&mut registry);
    let l = config.limits;
    let u = config.uploads;
    limits.default_maxrec = l.default_maxrec.unwrap_or(limits.default_maxrec);
    limits.hard_maxrec = l.hard_maxrec.unwrap_or(limits.hard_maxrec);
    limits.execution_seconds = l.execution_seconds.unwrap_or(limits.execution_seconds);
    limits.max_upload_bytes = u.max_bytes.unwrap_or(limits.max_upload_bytes);
    limits.max_upload_rows = u.max_rows.unwrap_or(limits.max_upload_rows);
    u.apply_fetch(&mut limits.upload_urls, &path.display().to_string())?;
    if limits.default_maxrec > limits.hard_maxrec {
        anyhow::bail!(
            "{}: default_maxrec ({}) is above hard_maxrec ({})",
            path.display(),
            limits.default_maxrec,
            limits.hard_maxrec
        );
    }
    if limits.execution_seconds == 0 {
        anyhow::bail!("{}: execution_seconds must be at least 1", path.display());
    }
    config.execution.check(&path.display().to_string())?;
    config.jobs.owner_header(&path.display().to_string())?;
    Ok(Settings {
        limits,
        registry,
        execution: config.execution,
        jobs: config.jobs,
        file: path.display().to_string(),
    })
}

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,tap_server=info,tower_http=info")
            }),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let Settings {
        limits,
        registry,
        execution,
        jobs,
        file,
    } = settings_from(args.config.as_deref())?;
    let mut execution = execution;
    if args.cluster.is_some() {
        execution.cluster = args.cluster.clone();
    }
    if args.cluster_from_rows.is_some() {
        execution.cluster_from_rows = args.cluster_from_rows;
    }
    let (root, _demo) = if args.demo {
        let (guard, report) = demo_directory("demo").await?;
        eprintln!(
            "demo catalog: {} rows published as hip.main in {:.1} s",
            report.record.row_count, report.seconds
        );
        (guard.0.clone(), Some(guard))
    } else {
        (args.data.data.clone(), None)
    };
    // Absolute, because a cluster's workers read its files by these paths.
    let root = std::path::absolute(&root)
        .with_context(|| format!("cannot open the data directory {}", root.display()))?;
    let dir = DataDir::open(&root)
        .with_context(|| format!("cannot open the data directory {}", root.display()))?;
    let mut config = execution.engine();
    config.shared_data = Some(root.clone());
    let engine = engine_for(&dir, config).await?;
    let cluster_line = match engine.cluster_status().await {
        None => String::new(),
        Some(Ok(status)) => format!(
            "Queries execute on the cluster at {} ({} now)\n",
            engine.cluster().unwrap_or_default(),
            match status.workers.len() {
                1 => "1 worker".to_string(),
                n => format!("{n} workers"),
            }
        ),
        Some(Err(e)) => {
            anyhow::bail!("{e}; start it with `corvus scheduler`, or serve without --cluster")
        }
    };
    let listener = tokio::net::TcpListener::bind(&args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr()?;
    let base_url = args
        .base_url
        .unwrap_or_else(|| format!("http://{addr}/tap"))
        .trim_end_matches('/')
        .to_string();
    let jobs_config = jobs.config(&dir, &file)?;
    let state = Arc::new(tap_server::AppState {
        registry,
        owner_header: jobs.owner_header(&file)?,
        ..tap_server::AppState::new(engine, base_url.clone(), limits)
    });
    let store = uws_jobs::Store::open(&dir.state_file())?;
    tap_server::start_jobs(&state, store, jobs_config)
        .await
        .context("cannot start the asynchronous jobs")?;
    // The first line is the one scripts and tests read; keep it first. Both
    // go in one write, and a reader that has gone (a test that read the
    // first line and closed the pipe) is no reason to stop serving.
    let web = base_url.trim_end_matches("/tap");
    let lines = format!(
        "Corvus TAP service at {base_url}\nWeb interface at {web}/ (open it in a browser)\n{cluster_line}"
    );
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(lines.as_bytes()).and_then(|()| out.flush());
    drop(out);
    tap_server::serve(listener, state, shutdown(), execution.grace())
        .await
        .context("the server stopped")?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml: &str) -> anyhow::Result<Settings> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("corvus.toml");
        std::fs::write(&path, toml)?;
        settings_from(Some(&path))
    }

    #[test]
    fn url_uploads_are_on_by_default_and_the_example_says_so() -> anyhow::Result<()> {
        let default = settings_from(None)?.limits.upload_urls;
        assert!(default.enabled && default.allow_hosts.is_empty());
        let example =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corvus.example.toml");
        let u = settings_from(Some(&example))?.limits.upload_urls;
        assert_eq!(
            (
                u.enabled,
                u.allow_hosts,
                u.connect_timeout,
                u.timeout,
                u.max_redirects
            ),
            (
                default.enabled,
                default.allow_hosts,
                default.connect_timeout,
                default.timeout,
                default.max_redirects
            )
        );
        Ok(())
    }

    #[test]
    fn the_uploads_section_sets_url_fetching() -> anyhow::Result<()> {
        let u = settings(
            "[uploads]\nfetch_urls = false\nallow_hosts = [\"tables.internal\", \"10.0.0.5\", \"[fd00::1]\"]\n\
             fetch_connect_seconds = 3\nfetch_seconds = 30\nfetch_max_redirects = 0\n",
        )?
        .limits
        .upload_urls;
        assert!(!u.enabled);
        assert_eq!(u.allow_hosts, ["tables.internal", "10.0.0.5", "[fd00::1]"]);
        assert_eq!(
            (u.connect_timeout, u.timeout, u.max_redirects),
            (Duration::from_secs(3), Duration::from_secs(30), 0)
        );
        Ok(())
    }

    #[test]
    fn an_allowed_host_must_be_a_host_alone() {
        for entry in [
            "http://tables.internal",
            "tables.internal:8080",
            "tables.internal/t",
            "",
        ] {
            let Err(e) = settings(&format!("[uploads]\nallow_hosts = [\"{entry}\"]\n")) else {
                panic!("{entry:?} was accepted");
            };
            let e = e.to_string();
            assert!(
                e.contains(&format!(
                    "allow_hosts entry \"{entry}\" is not a host name or IP address"
                )),
                "{e}"
            );
        }
        let Err(e) = settings("[uploads]\nfetch_seconds = 0\n") else {
            panic!("a zero time limit was accepted");
        };
        assert!(
            e.to_string().contains("fetch_seconds must be at least 1"),
            "{e}"
        );
    }
}
