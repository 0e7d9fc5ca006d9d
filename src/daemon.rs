//! The daemon's scheduler: schedules of active connections and the expiry sweep.
//!
//! One loop, one run at a time: a sync never overlaps another sync of any connection, and a
//! schedule that falls due while a run is going waits for the next tick (counted as skipped).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::clock::Clock;
use crate::ops::{self, Ctx};
use crate::store::Store;
use crate::sync::{engine, SyncOptions};

/// How often the scheduler wakes and how often the expiry sweep runs.
#[derive(Clone, Copy, Debug)]
pub struct SchedulerOptions {
    pub tick: Duration,
    pub expiry_every: Duration,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            tick: Duration::from_secs(1),
            expiry_every: Duration::from_secs(3600),
        }
    }
}

/// Runs until `stop` turns true: the expiry sweep at start-up and every `expiry_every`,
/// and each active schedule every `every_s`.
pub async fn run_scheduler(
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    opts: SchedulerOptions,
    mut stop: watch::Receiver<bool>,
) {
    let mut last_sync: HashMap<String, Instant> = HashMap::new();
    let mut last_expiry: Option<Instant> = None;
    let mut ticker = tokio::time::interval(opts.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        if last_expiry.is_none_or(|t| t.elapsed() >= opts.expiry_every) {
            last_expiry = Some(Instant::now());
            match ops::admin::expire(&Ctx::new(&store, clock.now(), "expiry")) {
                Ok(r) => tracing::info!(released = r.released, overdue = r.overdue, "expiry sweep"),
                Err(e) => tracing::error!("expiry sweep failed: {e}"),
            }
        }
        let schedules = match store
            .read()
            .map_err(ops::OpError::from)
            .and_then(|r| ops::connections::schedules(&r))
        {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("cannot read schedules: {e}");
                continue;
            }
        };
        for s in schedules.into_iter().filter(|s| s.active) {
            let due = last_sync
                .get(&s.name)
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(s.every_s));
            if !due || *stop.borrow() {
                continue;
            }
            last_sync.insert(s.name.clone(), Instant::now());
            let conn = match engine::load_connection(&store, &s.connection) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!("schedule {}: {e}", s.name);
                    continue;
                }
            };
            match engine::run_sync(
                &store,
                clock.as_ref(),
                &conn,
                SyncOptions::default(),
                &mut |_| {},
            )
            .await
            {
                Ok(t) => {
                    tracing::info!(connection = %conn.name, transaction = t.id, status = t.status.as_str(), "sync")
                }
                Err(e) => tracing::warn!(connection = %conn.name, "sync failed: {e}"),
            }
        }
    }
}
