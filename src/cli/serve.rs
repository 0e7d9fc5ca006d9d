//! `numinv serve`: the daemon — HTTP API and web UI, the scheduler and the expiry sweep,
//! with graceful shutdown on SIGTERM and Ctrl-C. Settings come from flags, else from
//! `--config numinv.toml` (see numinv.example.toml), else defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::watch;

use super::Global;
use crate::api::{self, ApiState};
use crate::clock::{Clock, FixedClock, SystemClock};
use crate::daemon::{run_scheduler, SchedulerOptions};
use crate::domain::connection::parse_interval;
use crate::domain::settings::SCHEDULE_DEFAULT_EVERY;
use crate::ops::{self, Ctx};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// A TOML configuration file (see numinv.example.toml); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address of the HTTP API and web UI [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Time between expiry sweeps, e.g. 1h (one also runs at start-up) [default: 1h].
    #[arg(long)]
    pub expiry_every: Option<String>,
}

/// The configuration file. Unknown keys are an error, so a typo is not silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub default_schedule_every: Option<String>,
    pub expiry_every: Option<String>,
    pub log_level: Option<String>,
    pub log_format: Option<String>,
}

impl ServeConfig {
    /// Reads and checks a configuration file; the error names the file and the problem.
    pub fn load(path: &Path) -> anyhow::Result<ServeConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read --config {}: {e}", path.display()))?;
        let cfg: ServeConfig = toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "--config {}: {}",
                path.display(),
                e.to_string().replace('\n', " ")
            )
        })?;
        for (key, v) in [
            ("default_schedule_every", &cfg.default_schedule_every),
            ("expiry_every", &cfg.expiry_every),
        ] {
            if let Some(v) = v {
                parse_interval(v)
                    .map_err(|e| anyhow::anyhow!("--config {}: {key}: {e}", path.display()))?;
            }
        }
        if let Some(f) = cfg.log_format.as_deref() {
            if f != "text" && f != "json" {
                anyhow::bail!(
                    "--config {}: log_format must be \"text\" or \"json\", not {f:?}",
                    path.display()
                );
            }
        }
        Ok(cfg)
    }
}

pub fn run(g: &Global, args: ServeArgs) -> anyhow::Result<String> {
    let cfg = match &args.config {
        Some(p) => ServeConfig::load(p)?,
        None => ServeConfig::default(),
    };
    let dir = g
        .data_dir
        .clone()
        .or(cfg.data_dir.clone())
        .unwrap_or_else(|| "numinv-data".into());
    let listen = args
        .listen
        .or(cfg.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let tls = match (
        args.tls_cert.clone().or(cfg.tls_cert.clone()),
        args.tls_key.clone().or(cfg.tls_key.clone()),
    ) {
        (Some(c), Some(k)) => Some(api::tls::acceptor(&c, &k).map_err(anyhow::Error::msg)?),
        (None, None) => None,
        _ => anyhow::bail!("TLS needs both tls_cert and tls_key"),
    };
    let expiry_every = args
        .expiry_every
        .clone()
        .or(cfg.expiry_every.clone())
        .unwrap_or_else(|| "1h".into());
    let expiry_every_s =
        parse_interval(&expiry_every).map_err(|e| anyhow::anyhow!("--expiry-every: {e}"))?;
    let store = Arc::new(Store::open(&dir, Duration::from_millis(g.lock_wait_ms))?);
    let clock: Arc<dyn Clock> = match g.now {
        Some(t) => Arc::new(FixedClock(t)),
        None => Arc::new(SystemClock),
    };
    if let Some(every) = &cfg.default_schedule_every {
        ops::admin::set_setting(
            &Ctx::new(&store, clock.now(), "cli"),
            SCHEDULE_DEFAULT_EVERY,
            every,
        )?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
            anyhow::anyhow!("cannot listen on {listen}: {e}; choose another with --listen")
        })?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr()?);
        store.announce_server("numinv serve", &url);
        eprintln!(
            "numinv serving {} on {url} (web UI {url}/, API {url}/api, /healthz, /metrics)",
            dir.display()
        );
        let (stop_tx, stop_rx) = watch::channel(false);
        let scheduler = tokio::spawn(run_scheduler(
            store.clone(),
            clock.clone(),
            SchedulerOptions {
                expiry_every: chrono::Duration::seconds(expiry_every_s as i64),
                ..SchedulerOptions::default()
            },
            stop_rx.clone(),
        ));
        let mut api_stop = stop_rx.clone();
        let stopped = async move {
            let _ = api_stop.wait_for(|s| *s).await;
        };
        let state = ApiState::new(store.clone(), clock.clone());
        let server = match tls {
            Some(acceptor) => tokio::spawn(api::tls::serve_tls(listener, acceptor, state, stopped)),
            None => tokio::spawn(api::serve(listener, state, stopped)),
        };
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        eprintln!("stopping: finishing the current run and open requests");
        // The scheduler stops between runs; a sync in flight commits whole or not at all.
        let _ = stop_tx.send(true);
        let _ = scheduler.await;
        server.await??;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok("stopped\n".into())
}

/// Log level and format for `serve --config` (flags of other commands use NUMINV_LOG).
pub fn log_settings(args: &ServeArgs) -> (Option<String>, bool) {
    match args.config.as_deref().map(ServeConfig::load) {
        Some(Ok(cfg)) => (cfg.log_level, cfg.log_format.as_deref() == Some("json")),
        _ => (None, false),
    }
}
