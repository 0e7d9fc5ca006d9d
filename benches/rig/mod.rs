//! Shared set-up of the sync benchmarks and `examples/perf-report.rs`: a simulator served
//! over loopback, a store with one connection to it, scripted 1 % churn (and its inverse),
//! the raw page bodies of one fetch, and the redb floor (the same keys written in one
//! durable transaction with nothing else).
//!
//! Included with `#[path]` by each bench and the example, so not every item is used by each.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use numinv::arm::{self, Auth, ClientConfig, Endpoint, RegisteredUser, Secret, TlsTrust};
use numinv::clock::FixedClock;
use numinv::domain::connection::{AuthMethod, Connection};
use numinv::ops::{self, Ctx};
use numinv::store::{Entity, Store, TxRecord};
use numinv::sync::{engine, SyncOptions};
use numinv_sim::{ChurnRates, RunningSim, ServeOptions, SimConfig, Simulator, UserOp};
use redb::{Database, Durability, TableDefinition};

pub const LONDON: &str = "Provider/Contoso/London";
pub const PAGE_SIZE: u32 = 1000;
const USERNAME: &str = "admin";
const PASSWORD: &str = "sim-password";

/// A fixed instant on 2026-12-`d` at `h`:00 UTC.
pub fn at(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap()
}

/// The connection numinv uses to reach a simulator at `url` (`http://127.0.0.1:PORT`).
pub fn connection(url: &str) -> Connection {
    Connection {
        name: "lon".into(),
        url: url.into(),
        base_path: "/ARM/v1".into(),
        username: USERNAME.into(),
        auth_method: AuthMethod::Basic,
        token_url: None,
        scope: None,
        ca_pem: None,
        pin_sha256: None,
        hierarchy: LONDON.into(),
        region: Some("GB".into()),
        sync_on_save: false,
        page_size: PAGE_SIZE,
        timeout_ms: 60_000,
    }
}

/// A runtime and a connection to a simulator without churn served over HTTP on loopback:
/// in this process ([`Rig::new`]) or in another one ([`Rig::client`]).
pub struct Rig {
    pub rt: tokio::runtime::Runtime,
    pub conn: Connection,
    sim: Option<(Simulator, RunningSim)>,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

impl Rig {
    /// A simulator of `users` registered users, served here.
    pub fn new(users: usize) -> Rig {
        let rt = runtime();
        let sim = Simulator::new(SimConfig {
            users,
            churn: ChurnRates::none(),
            ..SimConfig::default()
        });
        let running = rt
            .block_on(sim.serve(ServeOptions {
                http: Some("127.0.0.1:0".parse().unwrap()),
                https: None,
            }))
            .unwrap();
        Rig {
            rt,
            conn: connection(running.http_url.as_deref().unwrap()),
            sim: Some((sim, running)),
        }
    }

    /// A client of a simulator served by another process.
    pub fn client(url: &str) -> Rig {
        Rig {
            rt: runtime(),
            conn: connection(url),
            sim: None,
        }
    }

    /// The simulator, when served by this process.
    pub fn sim(&self) -> &Simulator {
        &self
            .sim
            .as_ref()
            .expect("the simulator runs in this process")
            .0
    }

    /// Applies scripted ops to the simulator.
    pub fn script(&self, ops: &[UserOp]) {
        self.sim().script(ops).unwrap();
    }

    /// Opens a store in `dir` and adds the connection (with its secret) when it is new.
    pub fn store_in(&self, dir: &Path) -> Store {
        let store = Store::open(dir, Duration::ZERO).unwrap();
        let known = store
            .read()
            .unwrap()
            .get::<Connection>(Entity::Connection, self.conn.name.as_bytes())
            .unwrap()
            .is_some();
        if !known {
            ops::connections::add(
                &Ctx::new(&store, at(1, 0), "cli"),
                self.conn.clone(),
                &Secret::from(PASSWORD),
            )
            .unwrap();
        }
        store
    }

    /// One sync through the real engine (fetch, normalize, apply) at a fixed time.
    pub fn sync(&self, store: &Store, now: DateTime<Utc>) -> TxRecord {
        self.rt
            .block_on(engine::run_sync(
                store,
                &FixedClock(now),
                &self.conn,
                SyncOptions { force: true },
                &mut |_| {},
            ))
            .unwrap()
    }

    /// The client's configuration, built as the engine builds it but without a store.
    pub fn client_config(&self) -> ClientConfig {
        let endpoint = Endpoint::parse(&self.conn.url, Some(&self.conn.base_path)).unwrap();
        let auth = Auth::Basic {
            username: USERNAME.into(),
            password: Secret::from(PASSWORD),
        };
        let mut cfg = ClientConfig::new(endpoint, auth, TlsTrust::SystemRoots);
        cfg.page_size = PAGE_SIZE;
        cfg.request_timeout_ms = self.conn.timeout_ms;
        cfg
    }

    /// The client fetch alone: every page, parsed, chained and checked.
    pub fn fetch(&self) -> Vec<RegisteredUser> {
        self.rt
            .block_on(engine::fetch_users(self.client_config(), &mut |_| {}))
            .unwrap()
    }

    /// The raw bodies of every page of one fetch, as the device sent them.
    pub fn capture_pages(&self) -> Vec<Bytes> {
        self.rt.block_on(async {
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<Empty<Bytes>>();
            let auth = {
                use base64::Engine as _;
                let b = base64::engine::general_purpose::STANDARD
                    .encode(format!("{USERNAME}:{PASSWORD}"));
                format!("Basic {b}")
            };
            let mut pages = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let path =
                    arm::contract::users_path(&self.conn.base_path, PAGE_SIZE, after.as_deref());
                let req = http::Request::get(format!("{}{path}", self.conn.url))
                    .header(http::header::AUTHORIZATION, &auth)
                    .body(Empty::new())
                    .unwrap();
                let resp = client.request(req).await.unwrap();
                assert_eq!(resp.status(), 200, "page after {after:?}");
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                after = arm::parse_users_page(&body).unwrap().next_after;
                pages.push(body);
                if after.is_none() {
                    return pages;
                }
            }
        })
    }

    /// Scripts churn of `n` users (a quarter each: online → offline, offline → online,
    /// deleted, added with a fresh number) and returns the ops that undo it, so a bench
    /// can repeat the same resync against a copy of the same synced store.
    pub fn churn(&self, n: usize, round: u64) -> Vec<UserOp> {
        let truth = self.sim().truth();
        let quarter = n / 4;
        // Disjoint sets: offline and deleted users are taken from the online ones
        // (alternately, spread over the id range), returning users from the offline ones.
        let ups: Vec<_> = truth.users.iter().filter(|u| u.online).collect();
        let step = (ups.len() / (2 * quarter.max(1))).max(1);
        let (mut offline, mut deleted) = (Vec::new(), Vec::new());
        for (i, u) in ups.iter().step_by(step).enumerate() {
            if i % 2 == 0 && offline.len() < quarter {
                offline.push(*u);
            } else if deleted.len() < quarter {
                deleted.push(*u);
            }
        }
        let online: Vec<_> = truth
            .users
            .iter()
            .filter(|u| !u.online)
            .take(quarter)
            .collect();
        let mut ops = Vec::new();
        let mut undo = Vec::new();
        for u in &offline {
            ops.push(UserOp::Offline { id: u.id.clone() });
            undo.push(UserOp::Online { id: u.id.clone() });
        }
        for u in &online {
            ops.push(UserOp::Online { id: u.id.clone() });
            undo.push(UserOp::Offline { id: u.id.clone() });
        }
        for u in &deleted {
            ops.push(UserOp::Delete { id: u.id.clone() });
            undo.push(UserOp::Add {
                id: Some(u.id.clone()),
                node_id: u.node_id.clone(),
                aor: u.aor.clone(),
                number: u.number.clone(),
                online: u.online,
            });
        }
        for i in 0..quarter {
            // Ids above anything the population generates; numbers in a range it never uses.
            let id = format!("ru-{:08}", 90_000_000 + round * 10_000 + i as u64);
            let number = format!("+44113{:07}", round * 10_000 + i as u64);
            ops.push(UserOp::Add {
                id: Some(id.clone()),
                node_id: "1".into(),
                aor: format!("{number}@contoso.example"),
                number: Some(number),
                online: true,
            });
            undo.push(UserOp::Delete { id });
        }
        self.script(&ops);
        undo
    }
}

/// A closed store's files (database and key file) copied into a fresh temporary directory.
pub fn copy_store(src_dir: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_files(src_dir, dir.path());
    dir
}

/// Copies the regular files of `src` into `dst` (created when missing).
pub fn copy_files(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
        }
    }
}

/// The rows of the logged tables a change wrote: key and after-value (`None`: removed),
/// read from its events.
pub fn changed_rows(store: &Store, after_seq: u64) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    store
        .read()
        .unwrap()
        .events(after_seq, usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|e| e.entity != Entity::Transaction)
        .map(|e| (e.key.into_bytes(), e.after))
        .collect()
}

const FLOOR_T: TableDefinition<&[u8], &[u8]> = TableDefinition::new("t");

/// A floor database: `rows` in one table, in a file of its own.
pub fn floor_db(dir: &Path, rows: &[(Vec<u8>, Option<Vec<u8>>)]) -> PathBuf {
    let path = dir.join("floor.redb");
    let db = Database::create(&path).unwrap();
    write_rows(&db, rows);
    path
}

/// The redb floor of a change: the same keys and values written in one durable transaction
/// (into a copy of `base` when given, so the tree has the size the real change met), timed
/// from `begin_write` to the end of `commit`.
pub fn redb_floor(base: Option<&Path>, rows: &[(Vec<u8>, Option<Vec<u8>>)]) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.redb");
    if let Some(b) = base {
        std::fs::copy(b, &path).unwrap();
    }
    let db = Database::create(&path).unwrap();
    let t = Instant::now();
    write_rows(&db, rows);
    t.elapsed()
}

fn write_rows(db: &Database, rows: &[(Vec<u8>, Option<Vec<u8>>)]) {
    let mut w = db.begin_write().unwrap();
    w.set_durability(Durability::Immediate).unwrap();
    {
        let mut t = w.open_table(FLOOR_T).unwrap();
        for (k, v) in rows {
            match v {
                Some(v) => {
                    t.insert(k.as_slice(), v.as_slice()).unwrap();
                }
                None => {
                    t.remove(k.as_slice()).unwrap();
                }
            }
        }
    }
    w.commit().unwrap();
}

/// Every logged row of a store as `(key, Some(value))`, for a floor's base.
pub fn logged_rows(store: &Store, entities: &[Entity]) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    store
        .state_rows()
        .unwrap()
        .into_iter()
        .filter(|(e, _, _)| entities.contains(e))
        .map(|(_, k, v)| (k, Some(v)))
        .collect()
}

/// The median of a criterion benchmark's last run, from its `estimates.json`.
pub fn criterion_median(group: &str, id: &str) -> Option<Duration> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let path = Path::new(&target)
        .join("criterion")
        .join(group)
        .join(id)
        .join("new/estimates.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let ns = v["median"]["point_estimate"].as_f64()?;
    Some(Duration::from_nanos(ns as u64))
}

/// One benchmark to report beside its floor.
pub struct Ratio<'a> {
    pub group: &'a str,
    pub id: &'a str,
    /// Benchmarks (group, id) whose medians add up to the floor.
    pub floor: &'a [(&'a str, &'a str)],
    pub goal: &'a str,
}

/// Prints `median, floor median, ratio, goal` for each benchmark that ran.
pub fn print_ratios(lines: &[Ratio<'_>]) {
    println!("\nmedians beside their floors:");
    for r in lines {
        let Some(m) = criterion_median(r.group, r.id) else {
            continue;
        };
        let parts: Option<Vec<Duration>> = r
            .floor
            .iter()
            .map(|(g, i)| criterion_median(g, i))
            .collect();
        let floor_names: Vec<&str> = r.floor.iter().map(|(_, i)| *i).collect();
        match parts {
            Some(p) => {
                let f: Duration = p.iter().sum();
                println!(
                    "  {}/{}: {:.3} s; floor ({}) {:.3} s; ratio {:.2}; goal {}",
                    r.group,
                    r.id,
                    m.as_secs_f64(),
                    floor_names.join(" + "),
                    f.as_secs_f64(),
                    m.as_secs_f64() / f.as_secs_f64(),
                    r.goal
                );
            }
            None => println!(
                "  {}/{}: {:.3} s; goal {}",
                r.group,
                r.id,
                m.as_secs_f64(),
                r.goal
            ),
        }
    }
}
