//! The daemon's scheduler: schedules of active connections and the expiry sweep.
//!
//! Sans-IO at heart: [`Scheduler::run_due`] takes the clock's reading and runs whatever is
//! due, so tests (and the demo, on the simulator's virtual clock) drive it step by step. The
//! async loop around it only ticks. One run at a time: a sync never overlaps another, and a
//! schedule that fell due more than once while a run was going runs once (the missed ticks
//! are counted as skipped).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::ops::{self, Ctx, OpError};
use crate::store::{Store, TxRecord};
use crate::sync::{engine, SyncOptions};

/// How often the loop wakes and how often the expiry sweep runs (in clock time).
#[derive(Clone, Copy, Debug)]
pub struct SchedulerOptions {
    pub tick: Duration,
    pub expiry_every: chrono::Duration,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            tick: Duration::from_secs(1),
            expiry_every: chrono::Duration::hours(1),
        }
    }
}

/// What one step ran.
#[derive(Debug)]
pub enum Ran {
    Sync {
        connection: String,
        result: Result<TxRecord, OpError>,
        skipped_ticks: u64,
    },
    Expiry {
        released: u64,
        overdue: u64,
    },
}

/// Remembers when each schedule and the sweep last ran.
#[derive(Debug, Default)]
pub struct Scheduler {
    opts: SchedulerOptions,
    last_sync: HashMap<String, DateTime<Utc>>,
    last_expiry: Option<DateTime<Utc>>,
}

impl Scheduler {
    pub fn new(opts: SchedulerOptions) -> Self {
        Scheduler {
            opts,
            ..Default::default()
        }
    }

    /// Runs the expiry sweep if due, then every due active schedule, one after another.
    pub async fn run_due(&mut self, store: &Store, clock: &dyn Clock) -> Vec<Ran> {
        let mut ran = Vec::new();
        let now = clock.now();
        if self
            .last_expiry
            .is_none_or(|t| now - t >= self.opts.expiry_every)
        {
            self.last_expiry = Some(now);
            match ops::admin::expire(&Ctx::new(store, now, "expiry")) {
                Ok(r) => ran.push(Ran::Expiry {
                    released: r.released,
                    overdue: r.overdue,
                }),
                Err(e) => tracing::error!("expiry sweep failed: {e}"),
            }
        }
        let schedules = match store
            .read()
            .map_err(OpError::from)
            .and_then(|r| ops::connections::schedules(&r))
        {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("cannot read schedules: {e}");
                return ran;
            }
        };
        for s in schedules.into_iter().filter(|s| s.active) {
            let every = chrono::Duration::seconds(s.every_s as i64);
            let skipped_ticks = match self.last_sync.get(&s.name) {
                Some(t) if clock.now() - *t < every => continue,
                Some(t) => {
                    ((clock.now() - *t).num_seconds() / every.num_seconds().max(1)) as u64 - 1
                }
                None => 0,
            };
            self.last_sync.insert(s.name.clone(), clock.now());
            let result = match engine::load_connection(store, &s.connection) {
                Ok(conn) => {
                    engine::run_sync(store, clock, &conn, SyncOptions::default(), &mut |_| {}).await
                }
                Err(e) => Err(e),
            };
            match &result {
                Ok(t) => {
                    tracing::info!(connection = %s.connection, transaction = t.id, status = t.status.as_str(), skipped_ticks, "scheduled sync")
                }
                Err(e) => tracing::warn!(connection = %s.connection, "scheduled sync failed: {e}"),
            }
            ran.push(Ran::Sync {
                connection: s.connection,
                result,
                skipped_ticks,
            });
        }
        ran
    }
}

/// Ticks until `stop` turns true. Stopping waits for the run in progress: a sync commits
/// whole or not at all either way.
pub async fn run_scheduler(
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    opts: SchedulerOptions,
    mut stop: watch::Receiver<bool>,
) {
    let mut scheduler = Scheduler::new(opts);
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
        scheduler.run_due(&store, clock.as_ref()).await;
    }
}
