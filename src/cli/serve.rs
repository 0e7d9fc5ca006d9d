//! `numinv serve`: the daemon — HTTP API and web UI, the scheduler and the expiry sweep,
//! with graceful shutdown on SIGTERM and Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::Global;
use crate::api::{self, ApiState};
use crate::clock::{Clock, FixedClock, SystemClock};
use crate::daemon::{run_scheduler, SchedulerOptions};
use crate::store::{Store, HOLDER_FILE};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address of the HTTP API and web UI.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Seconds between expiry sweeps (one also runs at start-up).
    #[arg(long, default_value_t = 3600)]
    pub expiry_every_s: u64,
}

pub fn run(g: &Global, args: ServeArgs) -> anyhow::Result<String> {
    let dir = g.data_dir.clone().unwrap_or_else(|| "numinv-data".into());
    let store = Arc::new(Store::open(&dir, Duration::from_millis(g.lock_wait_ms))?);
    let clock: Arc<dyn Clock> = match g.now {
        Some(t) => Arc::new(FixedClock(t)),
        None => Arc::new(SystemClock),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot listen on {}: {e}; choose another with --listen",
                    args.listen
                )
            })?;
        let url = format!("http://{}", listener.local_addr()?);
        let _ = std::fs::write(
            dir.join(HOLDER_FILE),
            format!("numinv serve pid {} at {url}", std::process::id()),
        );
        eprintln!(
            "numinv serving {} on {url} (web UI {url}/, API {url}/api, /healthz, /metrics)",
            dir.display()
        );
        let (stop_tx, stop_rx) = watch::channel(false);
        let scheduler = tokio::spawn(run_scheduler(
            store.clone(),
            clock.clone(),
            SchedulerOptions {
                expiry_every: chrono::Duration::seconds(args.expiry_every_s.max(1) as i64),
                ..SchedulerOptions::default()
            },
            stop_rx.clone(),
        ));
        let mut api_stop = stop_rx.clone();
        let server = tokio::spawn(api::serve(
            listener,
            ApiState::new(store.clone(), clock.clone()),
            async move {
                let _ = api_stop.wait_for(|s| *s).await;
            },
        ));
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
