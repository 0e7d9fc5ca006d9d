//! `numinv-sim`: a simulated AudioCodes ARM serving registered users.
//!
//! It serves the provisional ARM contract (`/work/shared/ARM-CONTRACT.md`)
//! over HTTP and HTTPS from a seeded population, moves a virtual clock that
//! applies churn, injects faults on request, and tells the ground truth —
//! which numbers are held now — so tests can check that numinv converges.
//!
//! The core ([`Simulator`]) is synchronous and deterministic; the HTTP shell
//! in `server` only dispatches to it.
//!
//! Code map: `population` (users, nodes, clock, churn — no I/O), `numbers`
//! (number allocation and AOR forms), `wire` (the only module that knows the
//! device's JSON field names), `faults` (what to break and when), `server`
//! (routes, auth, listeners, TLS), `rng` (the deterministic generator).
//!
//! ```
//! use numinv_sim::{ChurnRates, SimConfig, Simulator, UserOp};
//!
//! let sim = Simulator::new(SimConfig { users: 200, churn: ChurnRates::none(), ..SimConfig::default() });
//! sim.script(&[UserOp::Add {
//!     id: None,
//!     node_id: "1".into(),
//!     aor: "+442079460042@contoso.example".into(),
//!     number: Some("+442079460042".into()),
//!     online: true,
//! }])?;
//! sim.advance(60);
//! let truth = sim.truth();
//! assert!(truth.held.contains(&"+442079460042".to_string()));
//! # Ok::<(), numinv_sim::SimError>(())
//! ```
//!
//! Serving (a client then pins `cert_sha256_hex`):
//!
//! ```no_run
//! # async fn demo() -> Result<(), numinv_sim::SimError> {
//! use numinv_sim::{ServeOptions, SimConfig, Simulator};
//!
//! let sim = Simulator::new(SimConfig::default());
//! let running = sim.serve(ServeOptions::loopback()).await?;
//! println!("{:?} {:?} sha256={}", running.http_url, running.https_url, running.cert_sha256_hex);
//! let ticker = sim.spawn_auto_advance(10, std::time::Duration::from_secs(1));
//! # ticker.abort();
//! running.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod config;
mod faults;
mod numbers;
mod population;
mod rng;
mod server;
mod wire;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use config::{ChurnRates, SimConfig};
pub use faults::{FaultKind, FaultSpec, FaultTarget};
pub use server::{RunningSim, ServeOptions};

use faults::Faults;
use population::Population;

/// Errors of the simulator API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A listener could not bind.
    #[error("cannot bind {addr}: {source}; pick another port, or port 0 for a free one")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The self-signed certificate or the TLS configuration failed.
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    /// A scripted op named a user that does not exist.
    #[error("unknown user {0}; list ids with GET /sim/truth")]
    UnknownUser(String),
    /// A scripted op named a node that does not exist.
    #[error("unknown node {0}; list nodes with GET {{base}}/topology/nodes")]
    UnknownNode(String),
    /// A scripted add reused an existing id.
    #[error("user {0} already exists; omit id to get a fresh one")]
    DuplicateUser(String),
    /// `base_path` holds characters a route cannot.
    #[error("bad base_path {0:?}: use letters, digits, '/', '_', '-', '.' like /ARM/v1")]
    BadBasePath(String),
    /// A user id is not `ru-` followed by digits.
    #[error("bad user id {0:?}: expected ru- followed by digits, e.g. ru-00000042")]
    BadId(String),
}

/// Ground truth: what the device holds now.
#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
pub struct Truth {
    /// The virtual clock.
    pub now: DateTime<Utc>,
    /// Every user record, sorted by id.
    pub users: Vec<TruthUser>,
    /// Sorted unique canonical numbers of the online users.
    pub held: Vec<String>,
}

/// One user record as the device serves it now, with its canonical number.
#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
pub struct TruthUser {
    /// Record id (`ru-00000042`).
    pub id: String,
    /// Node the record lives on.
    pub node_id: String,
    /// AOR exactly as served.
    pub aor: String,
    /// Canonical number (`+442079460042`, `+14155550123;ext=12`, `1004`);
    /// `None` when unmappable.
    pub number: Option<String>,
    /// Served as `REGISTERED` (false while its node is dark).
    pub registered: bool,
    /// Registered, at least one active contact, and its node up.
    pub online: bool,
}

/// A scripted population change (`POST /sim/users` takes a JSON array of them).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum UserOp {
    /// Add a user; `id` defaults to the next free one.
    Add {
        /// Explicit id (`ru-…`), or `None` for the next free one.
        #[serde(default)]
        id: Option<String>,
        /// Node to place it on.
        node_id: String,
        /// AOR to serve.
        aor: String,
        /// Canonical number reported in the truth.
        #[serde(default)]
        number: Option<String>,
        /// Registered with one active contact (else UNREGISTERED).
        online: bool,
    },
    /// Delete a user record.
    Delete {
        /// Record id.
        id: String,
    },
    /// Take a user offline.
    Offline {
        /// Record id.
        id: String,
    },
    /// Bring a user online.
    Online {
        /// Record id.
        id: String,
    },
    /// Take a node dark until `NodeUp`.
    NodeDown {
        /// Node id.
        node_id: String,
    },
    /// Bring a node back (also ends a churn outage).
    NodeUp {
        /// Node id.
        node_id: String,
    },
}

/// Counters since start.
#[derive(Serialize, Deserialize, PartialEq, Debug, Clone, Default)]
pub struct Stats {
    /// Requests served, by route name (`registered_users`, `nodes`, `login`,
    /// `oauth_token`, `sim_truth`, …, `not_found`).
    pub requests: BTreeMap<String, u64>,
    /// Faults fired, by [`FaultKind::name`].
    pub faults_fired: BTreeMap<String, u64>,
    /// Population events applied (`offline`, `online`, `deleted`, `created`,
    /// `node_outages`) by churn and by the insert/remove faults; scripted
    /// ops are not counted.
    pub churn: BTreeMap<String, u64>,
}

/// Mutable state behind the simulator's lock.
pub(crate) struct State {
    pub pop: Population,
    pub faults: Faults,
    pub requests: BTreeMap<&'static str, u64>,
    pub faults_fired: BTreeMap<&'static str, u64>,
}

/// A simulated ARM. Cheap to clone; clones share one state.
///
/// Determinism: the same config and the same sequence of `advance`, `script`
/// and fired insert/remove faults give the same truth, byte for byte. Fault
/// rates draw from their own stream, so arming faults never shifts churn.
#[derive(Clone)]
pub struct Simulator {
    pub(crate) state: Arc<Mutex<State>>,
    pub(crate) cfg: Arc<SimConfig>,
}

impl Simulator {
    /// Builds the seeded population at `cfg.start`.
    pub fn new(cfg: SimConfig) -> Simulator {
        let state = State {
            pop: Population::new(&cfg),
            faults: Faults::new(cfg.seed),
            requests: BTreeMap::new(),
            faults_fired: BTreeMap::new(),
        };
        Simulator {
            state: Arc::new(Mutex::new(state)),
            cfg: Arc::new(cfg),
        }
    }

    /// Locks the state; a panic elsewhere must not take the simulator down,
    /// so a poisoned lock is used as is.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// The virtual clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.lock().pop.now
    }

    /// Moves the virtual clock forward by `minutes` (at most ten years per
    /// call), applying churn deterministically.
    pub fn advance(&self, minutes: u64) {
        self.lock().pop.advance(minutes);
    }

    /// Ground truth now.
    pub fn truth(&self) -> Truth {
        self.lock().pop.truth()
    }

    /// Applies scripted ops in order. Stops at the first failing op; the ops
    /// before it stay applied.
    pub fn script(&self, ops: &[UserOp]) -> Result<(), SimError> {
        let mut st = self.lock();
        for op in ops {
            st.pop.apply(op)?;
        }
        Ok(())
    }

    /// Arms a fault (at most 64 at once; the oldest is dropped).
    pub fn arm_fault(&self, fault: FaultSpec) {
        self.lock().faults.arm(fault);
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Requests served, faults fired and churn applied so far.
    pub fn stats(&self) -> Stats {
        let st = self.lock();
        let own =
            |m: &BTreeMap<&'static str, u64>| m.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let c = &st.pop.counts;
        let churn = [
            ("offline", c.offline),
            ("online", c.online),
            ("deleted", c.deleted),
            ("created", c.created),
            ("node_outages", c.node_outages),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Stats {
            requests: own(&st.requests),
            faults_fired: own(&st.faults_fired),
            churn,
        }
    }

    /// Serves the contract on the requested listeners until the returned
    /// handle is shut down or dropped.
    pub async fn serve(&self, opts: ServeOptions) -> Result<RunningSim, SimError> {
        server::serve(self.clone(), opts).await
    }

    /// Advances the virtual clock by `step_minutes` every `every` of real
    /// time (the demo's accelerated time). Runs until the handle is aborted.
    /// Must be called inside a Tokio runtime.
    pub fn spawn_auto_advance(
        &self,
        step_minutes: u64,
        every: std::time::Duration,
    ) -> tokio::task::JoinHandle<()> {
        let sim = self.clone();
        let every = every.max(std::time::Duration::from_millis(1));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick completes at once; skip it so the first step lands after `every`.
            tick.tick().await;
            // Unbounded on purpose: it lives exactly as long as its JoinHandle.
            loop {
                tick.tick().await;
                sim.advance(step_minutes);
            }
        })
    }
}
