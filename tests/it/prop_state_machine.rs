//! Issue 7: a small reference model against the real store (DESIGN §7, first bar).
//!
//! Random sequences of device changes and syncs on two connections, failed syncs, clock jumps
//! from a minute to 30 days, expiry, `audit --fix`, macro and setting changes (valid and
//! invalid), the manual workflows and purge. After every step the store must equal the model
//! and the invariants must hold (see `check_invariants`).
//!
//! Syncs go through `engine::to_cached` + `engine::apply_users` inside `Store::write`, exactly
//! what `run_sync` does after the fetch, without the network.
//!
//! `PROPTEST_CASES=5000 cargo test --release --test it prop_state_machine` for a long run.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Days, Duration, NaiveDate, TimeZone, Utc};
use numinv::arm::{Contact, RegisteredUser};
use numinv::domain::connection::{AuthMethod, Connection};
use numinv::domain::lifecycle::audiocodes_cooling_tag;
use numinv::domain::{Status, Usage, Vendor};
use numinv::ops::{self, Ctx};
use numinv::store::{LogSource, ReplayStop, Store};
use numinv::sync::{audit, engine, SyncOptions};
use proptest::prelude::*;
use proptest::test_runner::Config;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};

/// The two connections: name and hierarchy.
const CONNS: [(&str, &str); 2] = [("lon", "P/C/London"), ("par", "P/C/Paris")];
/// Public numbers a device may register (index `0..POOL`); `POOL` is the extension 1001,
/// `POOL + 1` an unmappable AOR.
const POOL: usize = 5;
/// Public numbers only administrators add.
const MANUAL: usize = 3;
/// Users per connection: below the delete guard's half rule (10), so only the threshold
/// macro can refuse a sync.
const USERS: u8 = 5;
const MANUAL_HIERARCHY: &str = "P/C";
const MACRO_HIERARCHIES: [&str; 3] = ["", "P/C", "P/C/London"];
const GLOBAL_COOLING_DAYS: u32 = 30;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap()
}

fn public(i: usize) -> String {
    if i < POOL {
        format!("+44207946000{i}")
    } else {
        format!("+44207946001{}", i - POOL)
    }
}

/// The AOR a device sends for a number in one of three spellings (DESIGN §2.4).
fn aor(num: usize, form: u8) -> String {
    match (num, form) {
        (n, 0) if n < POOL => format!("+44207946000{n}@contoso.example"),
        (n, 1) if n < POOL => format!("tel:+44-20-7946-000{n}"),
        (n, _) if n < POOL => format!("sip:0207946000{n}@10.0.0.1;user=phone"),
        (POOL, 0) => "1001@10.0.0.1".into(),
        (POOL, 1) => "sip:1001@10.0.0.2".into(),
        (POOL, _) => "sips:1001@10.0.0.3".into(),
        (_, f) => format!("reception@10.0.0.{f}"),
    }
}

/// The inventory key a device user maps to on connection `conn`.
fn device_key(conn: usize, num: usize) -> Option<String> {
    match num {
        n if n < POOL => Some(public(n)),
        POOL => Some(format!("1001@{}", CONNS[conn].1)),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DUser {
    num: usize,
    form: u8,
    online: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct MEntry {
    hierarchy: String,
    status: Status,
    usage: Usage,
    vendor: Vendor,
    release: Option<NaiveDate>,
    reserved_for: String,
}

impl MEntry {
    fn make_device(&mut self) {
        self.status = Status::Used;
        self.usage = Usage::only(Usage::DEVICE);
        self.vendor = Vendor::AudioCodes;
        self.release = None;
    }

    fn make_available(&mut self) {
        self.status = Status::Available;
        self.usage = Usage::default();
        self.vendor = Vendor::None;
        self.release = None;
    }

    fn is_device(&self) -> bool {
        self.status == Status::Used
            && self.vendor == Vendor::AudioCodes
            && self.usage.contains(Usage::DEVICE)
            && self.release.is_none()
    }
}

#[derive(Clone, Debug)]
enum Trans {
    /// The device changes (not yet synced): `None` removes the user.
    Device {
        conn: usize,
        user: u8,
        to: Option<DUser>,
    },
    Sync {
        conn: usize,
        force: bool,
    },
    /// The fetch failed: nothing is applied, the failure is recorded.
    FailedSync {
        conn: usize,
    },
    Purge {
        conn: usize,
        force: bool,
    },
    Advance {
        minutes: u64,
    },
    Expire,
    AuditFix,
    CoolingMacro {
        at: usize,
        value: String,
    },
    Threshold {
        value: String,
    },
    CoolingEnabled(bool),
    Add {
        num: usize,
    },
    Reserve {
        num: usize,
        days: Option<u32>,
        for_user: Option<&'static str>,
    },
    Unreserve {
        num: usize,
    },
    Cool {
        num: usize,
        days: Option<u32>,
    },
    Release {
        num: usize,
    },
    Allocate {
        for_user: Option<&'static str>,
    },
    Unassign {
        num: usize,
    },
    Delete {
        num: usize,
    },
}

/// What the last transition should have done.
#[derive(Clone, Debug, Default)]
struct Outcome {
    ok: bool,
    allocated: Option<String>,
}

#[derive(Clone, Debug)]
struct Model {
    now: DateTime<Utc>,
    /// What each connection's device would serve now.
    device: [BTreeMap<u8, DUser>; 2],
    /// What each connection's last successful sync saw.
    cached: [BTreeMap<u8, DUser>; 2],
    entries: BTreeMap<String, MEntry>,
    /// (hierarchy, value) of the AudioCodes cooling macro.
    cooling_macro: BTreeMap<String, u32>,
    threshold: Option<u64>,
    cooling_enabled: bool,
    last: Outcome,
}

impl Model {
    fn today(&self) -> NaiveDate {
        self.now.date_naive()
    }

    fn held(&self, key: &str) -> bool {
        (0..2).any(|c| {
            self.cached[c]
                .values()
                .any(|u| u.online && device_key(c, u.num).as_deref() == Some(key))
        })
    }

    fn held_keys(&self) -> BTreeSet<String> {
        (0..2)
            .flat_map(|c| {
                self.cached[c]
                    .values()
                    .filter(|u| u.online)
                    .filter_map(move |u| device_key(c, u.num))
            })
            .collect()
    }

    /// The macro at the nearest hierarchy on the path, else 2.
    fn ac_days(&self, hierarchy: &str) -> u32 {
        let mut h = hierarchy.to_string();
        loop {
            if let Some(d) = self.cooling_macro.get(&h) {
                return *d;
            }
            if h.is_empty() {
                return 2;
            }
            h = h.rfind('/').map_or(String::new(), |i| h[..i].to_string());
        }
    }

    fn plus_days(&self, days: u32) -> NaiveDate {
        self.today()
            .checked_add_days(Days::new(days.into()))
            .unwrap()
    }

    /// DESIGN §2.2 for one number whose holders may have changed.
    fn reconcile(&mut self, key: &str, conn_hierarchy: &str) {
        if self.held(key) {
            match self.entries.get_mut(key) {
                None => {
                    let hierarchy = key.split_once('@').map_or(conn_hierarchy, |(_, h)| h);
                    let mut e = MEntry {
                        hierarchy: hierarchy.to_string(),
                        status: Status::Available,
                        usage: Usage::default(),
                        vendor: Vendor::None,
                        release: None,
                        reserved_for: String::new(),
                    };
                    e.make_device();
                    self.entries.insert(key.to_string(), e);
                }
                Some(e) if e.status == Status::Reserved => {}
                Some(e) if e.status.is_used() && e.vendor != Vendor::AudioCodes => {}
                Some(e) => e.make_device(),
            }
        } else if let Some(e) = self.entries.get(key) {
            if e.status == Status::Used && e.vendor == Vendor::AudioCodes {
                let release = self.plus_days(self.ac_days(&e.hierarchy));
                let e = self.entries.get_mut(key).unwrap();
                e.status = Status::Cooling;
                e.release = Some(release);
            }
        }
    }

    /// A number a manual workflow or the sweep made Available or Cooling while a device holds
    /// it goes straight to the device (DESIGN §2.2: "X becomes held").
    fn settle(&mut self, key: &str) {
        if self.held(key) {
            if let Some(e) = self.entries.get_mut(key) {
                if matches!(e.status, Status::Available | Status::Cooling) {
                    e.make_device();
                }
            }
        }
    }

    fn apply_fetch(&mut self, conn: usize, fetched: BTreeMap<u8, DUser>, force: bool) -> bool {
        let old = &self.cached[conn];
        let removed = old.keys().filter(|k| !fetched.contains_key(k)).count();
        if !force {
            if self.threshold.is_some_and(|t| removed as u64 > t) {
                return false;
            }
            if old.len() >= 10 && removed * 2 > old.len() {
                return false;
            }
        }
        let mut affected = BTreeSet::new();
        for (k, u) in &fetched {
            match old.get(k) {
                None => affected.extend(device_key(conn, u.num)),
                Some(o) if o != u => {
                    affected.extend(device_key(conn, o.num));
                    affected.extend(device_key(conn, u.num));
                }
                Some(_) => {}
            }
        }
        for (k, o) in old {
            if !fetched.contains_key(k) {
                affected.extend(device_key(conn, o.num));
            }
        }
        self.cached[conn] = fetched;
        for key in affected {
            self.reconcile(&key, CONNS[conn].1);
        }
        true
    }

    fn expire(&mut self) {
        let today = self.today();
        let due: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| {
                matches!(e.status, Status::Cooling | Status::Reserved)
                    && e.release.is_some_and(|d| d <= today)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            self.entries.get_mut(&key).unwrap().make_available();
            self.settle(&key);
        }
    }

    fn audit_fix(&mut self) {
        let held = self.held_keys();
        let mut keys = held.clone();
        keys.extend(
            self.entries
                .iter()
                .filter(|(_, e)| {
                    e.status == Status::Cooling
                        || (e.status == Status::Used && e.vendor == Vendor::AudioCodes)
                })
                .map(|(k, _)| k.clone()),
        );
        let today = self.today();
        for key in keys {
            let is_held = held.contains(&key);
            let Some(e) = self.entries.get(&key).cloned() else {
                assert!(!is_held, "model: held number {key} without an entry");
                continue;
            };
            if is_held {
                let conflict = e.status == Status::Reserved
                    || (e.status.is_used() && e.vendor != Vendor::AudioCodes);
                if !conflict && !e.is_device() {
                    self.entries.get_mut(&key).unwrap().make_device();
                }
            } else if e.status == Status::Used && e.vendor == Vendor::AudioCodes {
                let release = self.plus_days(self.ac_days(&e.hierarchy));
                let m = self.entries.get_mut(&key).unwrap();
                m.status = Status::Cooling;
                m.release = Some(release);
            } else if e.status == Status::Cooling && e.release.is_some_and(|d| d < today) {
                self.entries.get_mut(&key).unwrap().make_available();
            }
        }
    }

    /// Applies a manual workflow; `false` when it must be refused.
    fn manual(&mut self, t: &Trans) -> bool {
        let key_of = |num: usize| public(num);
        match t {
            Trans::Add { num } => {
                self.entries.entry(key_of(*num)).or_insert(MEntry {
                    hierarchy: MANUAL_HIERARCHY.into(),
                    status: Status::Available,
                    usage: Usage::default(),
                    vendor: Vendor::None,
                    release: None,
                    reserved_for: String::new(),
                });
                true
            }
            Trans::Reserve {
                num,
                days,
                for_user,
            } => {
                let release = days.map(|d| self.plus_days(d.min(999)));
                match self.entries.get_mut(&key_of(*num)) {
                    Some(e) if e.status == Status::Available && days.is_none_or(|d| d <= 999) => {
                        e.status = Status::Reserved;
                        e.release = release;
                        if let Some(u) = for_user {
                            e.reserved_for = u.to_string();
                        }
                        true
                    }
                    _ => false,
                }
            }
            Trans::Unreserve { num } => {
                let key = key_of(*num);
                match self.entries.get_mut(&key) {
                    Some(e) if e.status == Status::Reserved => {
                        e.status = Status::Available;
                        e.release = None;
                        e.reserved_for.clear();
                        self.settle(&key);
                        true
                    }
                    _ => false,
                }
            }
            Trans::Cool { num, days } => {
                let key = key_of(*num);
                let d = days.unwrap_or(GLOBAL_COOLING_DAYS);
                let held = self.held(&key);
                let release = self.plus_days(d.min(999));
                match self.entries.get_mut(&key) {
                    Some(e)
                        if !matches!(e.status, Status::Cooling | Status::Reserved)
                            && !held
                            && d <= 999 =>
                    {
                        e.status = Status::Cooling;
                        e.release = Some(release);
                        true
                    }
                    _ => false,
                }
            }
            Trans::Release { num } => {
                let key = key_of(*num);
                match self.entries.get_mut(&key) {
                    Some(e) if e.status == Status::Cooling => {
                        e.make_available();
                        self.settle(&key);
                        true
                    }
                    _ => false,
                }
            }
            Trans::Unassign { num } => {
                let key = key_of(*num);
                let release = self.plus_days(GLOBAL_COOLING_DAYS);
                let enabled = self.cooling_enabled;
                match self.entries.get_mut(&key) {
                    Some(e) if e.status.is_used() && e.vendor != Vendor::AudioCodes => {
                        if enabled {
                            e.status = Status::Cooling;
                            e.release = Some(release);
                        } else {
                            e.make_available();
                        }
                        self.settle(&key);
                        true
                    }
                    _ => false,
                }
            }
            Trans::Delete { num } => {
                let key = key_of(*num);
                match self.entries.get(&key) {
                    Some(e) if e.status == Status::Available => {
                        self.entries.remove(&key);
                        true
                    }
                    _ => false,
                }
            }
            Trans::Allocate { for_user } => {
                let found = self.entries.iter_mut().find(|(_, e)| {
                    e.status == Status::Available
                        && (e.reserved_for.is_empty() || Some(e.reserved_for.as_str()) == *for_user)
                });
                match found {
                    Some((k, e)) => {
                        e.status = Status::Used;
                        e.usage = Usage::only(Usage::USER);
                        self.last.allocated = Some(k.clone());
                        true
                    }
                    None => false,
                }
            }
            _ => unreachable!("not a manual workflow: {t:?}"),
        }
    }
}

fn parse_days(v: &str) -> Option<u32> {
    v.trim().parse::<u32>().ok().filter(|d| *d <= 999)
}

struct RefMachine;

impl ReferenceStateMachine for RefMachine {
    type State = Model;
    type Transition = Trans;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model {
            now: start(),
            device: Default::default(),
            cached: Default::default(),
            entries: BTreeMap::new(),
            cooling_macro: BTreeMap::new(),
            threshold: None,
            cooling_enabled: false,
            last: Outcome::default(),
        })
        .boxed()
    }

    fn transitions(_: &Model) -> BoxedStrategy<Trans> {
        let conn = 0..2usize;
        let num = 0..POOL + MANUAL;
        let user = prop_oneof![Just(None), Just(Some("alice")), Just(Some("bob"))];
        let days = prop_oneof![
            3 => Just(None),
            3 => (0u32..5).prop_map(Some),
            1 => Just(Some(40)),
            1 => Just(Some(1000)),
        ];
        let device_user = (0..POOL + 2, 0u8..3, proptest::bool::weighted(0.75))
            .prop_map(|(num, form, online)| DUser { num, form, online });
        let minutes = prop_oneof![
            1u64..180,
            (1u64..=3).prop_map(|d| d * 1440),
            (1u64..=30).prop_map(|d| d * 1440 + 7),
        ];
        let macro_value = prop_oneof![
            4 => (0u32..5).prop_map(|d| d.to_string()),
            1 => Just(" 30 ".to_string()),
            1 => Just("abc".to_string()),
            1 => Just("1000".to_string()),
            1 => Just("-1".to_string()),
            1 => Just(String::new()),
        ];
        let threshold = prop_oneof![
            (0u32..4).prop_map(|d| d.to_string()),
            Just("many".to_string()),
            Just("-2".to_string()),
        ];
        prop_oneof![
            12 => (conn.clone(), 0..USERS, proptest::option::weighted(0.8, device_user))
                .prop_map(|(conn, user, to)| Trans::Device { conn, user, to }),
            8 => (conn.clone(), proptest::bool::weighted(0.2))
                .prop_map(|(conn, force)| Trans::Sync { conn, force }),
            2 => conn.clone().prop_map(|conn| Trans::FailedSync { conn }),
            1 => (conn.clone(), any::<bool>()).prop_map(|(conn, force)| Trans::Purge { conn, force }),
            4 => minutes.prop_map(|minutes| Trans::Advance { minutes }),
            3 => Just(Trans::Expire),
            2 => Just(Trans::AuditFix),
            2 => (0..MACRO_HIERARCHIES.len(), macro_value)
                .prop_map(|(at, value)| Trans::CoolingMacro { at, value }),
            1 => threshold.prop_map(|value| Trans::Threshold { value }),
            1 => any::<bool>().prop_map(Trans::CoolingEnabled),
            3 => num.clone().prop_map(|num| Trans::Add { num }),
            2 => (num.clone(), days.clone(), user.clone())
                .prop_map(|(num, days, for_user)| Trans::Reserve { num, days, for_user }),
            1 => num.clone().prop_map(|num| Trans::Unreserve { num }),
            2 => (num.clone(), days).prop_map(|(num, days)| Trans::Cool { num, days }),
            1 => num.clone().prop_map(|num| Trans::Release { num }),
            2 => user.prop_map(|for_user| Trans::Allocate { for_user }),
            2 => num.clone().prop_map(|num| Trans::Unassign { num }),
            1 => num.prop_map(|num| Trans::Delete { num }),
        ]
        .boxed()
    }

    fn apply(mut m: Model, t: &Trans) -> Model {
        m.last = Outcome {
            ok: true,
            allocated: None,
        };
        match t {
            Trans::Device { conn, user, to } => match to {
                Some(u) => {
                    m.device[*conn].insert(*user, *u);
                }
                None => {
                    m.device[*conn].remove(user);
                }
            },
            Trans::Sync { conn, force } => {
                let fetched = m.device[*conn].clone();
                m.last.ok = m.apply_fetch(*conn, fetched, *force);
            }
            Trans::FailedSync { .. } => m.last.ok = false,
            Trans::Purge { conn, force } => {
                m.last.ok = m.apply_fetch(*conn, BTreeMap::new(), *force);
            }
            Trans::Advance { minutes } => m.now += Duration::minutes(*minutes as i64),
            Trans::Expire => m.expire(),
            Trans::AuditFix => m.audit_fix(),
            Trans::CoolingMacro { at, value } => match parse_days(value) {
                Some(d) => {
                    m.cooling_macro
                        .insert(MACRO_HIERARCHIES[*at].to_string(), d);
                }
                None => m.last.ok = false,
            },
            Trans::Threshold { value } => match value.trim().parse::<u64>() {
                Ok(t) => m.threshold = Some(t),
                Err(_) => m.last.ok = false,
            },
            Trans::CoolingEnabled(b) => m.cooling_enabled = *b,
            manual => m.last.ok = m.manual(manual),
        }
        m
    }
}

struct Sut {
    store: Store,
    conns: [Connection; 2],
}

fn connection(i: usize) -> Connection {
    Connection {
        name: CONNS[i].0.into(),
        url: "http://127.0.0.1:9".into(),
        base_path: "/ARM/v1".into(),
        username: "admin".into(),
        auth_method: AuthMethod::Basic,
        token_url: None,
        scope: None,
        ca_pem: None,
        pin_sha256: None,
        hierarchy: CONNS[i].1.into(),
        region: Some("GB".into()),
        sync_on_save: false,
        page_size: 1000,
        timeout_ms: 1000,
    }
}

/// The page a device would serve: online users have an active contact; offline ones come in
/// both shapes devices use (unregistered, or registered with every contact inactive).
fn device_page(users: &BTreeMap<u8, DUser>) -> Vec<RegisteredUser> {
    users
        .iter()
        .map(|(id, u)| {
            let key = format!("ru-{id:08}");
            let inactive_shape = !u.online && u.form % 2 == 1;
            RegisteredUser {
                key: key.clone(),
                id: Some(key),
                node_id: "n1".into(),
                node_name: Some("SBC-1".into()),
                aor: aor(u.num, u.form),
                registered: u.online || inactive_shape,
                contacts: if u.online || inactive_shape {
                    vec![Contact {
                        uri: "<sip:x@192.0.2.1:5061>".into(),
                        expires_s: Some(300),
                        active: u.online,
                    }]
                } else {
                    Vec::new()
                },
                user_agent: None,
            }
        })
        .collect()
}

fn snapshot(store: &Store) -> (u64, Vec<numinv::store::StateRow>) {
    (store.head().unwrap().0, store.state_rows().unwrap())
}

impl Sut {
    fn sync_with(
        &self,
        conn: usize,
        page: &[RegisteredUser],
        force: bool,
        now: DateTime<Utc>,
    ) -> bool {
        let c = &self.conns[conn];
        let cached = engine::to_cached(c, page);
        let r = self.store.write(&c.sync_job(), &c.actor(), now, |w| {
            engine::apply_users(w, c, &cached, SyncOptions { force })
        });
        match r {
            Ok(w) => {
                assert!(w.tx.is_some(), "a sync always keeps its record");
                true
            }
            Err(e) => {
                let before = self.store.head().unwrap();
                self.store
                    .record_failure(
                        &c.sync_job(),
                        &c.actor(),
                        now,
                        now,
                        &e.to_string(),
                        Default::default(),
                    )
                    .unwrap();
                assert_eq!(
                    before,
                    self.store.head().unwrap(),
                    "record_failure moved the log"
                );
                false
            }
        }
    }
}

fn ok_of<T>(r: Result<T, ops::OpError>) -> bool {
    match r {
        Ok(_) => true,
        Err(ops::OpError::Store(e)) => panic!("store error: {e}"),
        Err(_) => false,
    }
}

struct StoreMachine;

impl StateMachineTest for StoreMachine {
    type SystemUnderTest = Sut;
    type Reference = RefMachine;

    fn init_test(_: &Model) -> Sut {
        Sut {
            store: Store::in_memory().unwrap(),
            conns: [connection(0), connection(1)],
        }
    }

    fn apply(sut: Sut, m: &Model, t: Trans) -> Sut {
        let before = snapshot(&sut.store);
        let now = m.now;
        let ctx = Ctx::new(&sut.store, now, "cli");
        let key = |num: usize| public(num);
        let mut allocated = None;
        let ok = match &t {
            Trans::Device { .. } | Trans::Advance { .. } => true,
            Trans::Sync { conn, force } => {
                sut.sync_with(*conn, &device_page(&m.device[*conn]), *force, now)
            }
            Trans::FailedSync { conn } => {
                let c = &sut.conns[*conn];
                sut.store
                    .record_failure(
                        &c.sync_job(),
                        &c.actor(),
                        now,
                        now,
                        "fetch failed: timeout",
                        Default::default(),
                    )
                    .unwrap();
                false
            }
            Trans::Purge { conn, force } => ok_of(engine::purge(
                &ctx,
                &sut.conns[*conn],
                SyncOptions { force: *force },
            )),
            Trans::Expire => ok_of(ops::admin::expire(&ctx)),
            Trans::AuditFix => {
                let r = audit::fix(&ctx);
                let after = audit::audit(&sut.store.read().unwrap(), now).unwrap();
                let fixable: Vec<_> = after.iter().filter(|f| f.kind.fixable()).collect();
                assert!(
                    fixable.is_empty(),
                    "audit after --fix still finds {fixable:?}"
                );
                ok_of(r)
            }
            Trans::CoolingMacro { at, value } => ok_of(ops::admin::set_macro(
                &ctx,
                numinv::domain::settings::AUDIOCODES_COOLING_DURATION,
                value,
                MACRO_HIERARCHIES[*at],
            )),
            Trans::Threshold { value } => ok_of(ops::admin::set_macro(
                &ctx,
                numinv::domain::settings::DELETE_THRESHOLD_AUDIOCODES,
                value,
                "",
            )),
            Trans::CoolingEnabled(b) => ok_of(ops::admin::set_setting(
                &ctx,
                numinv::domain::settings::INVENTORY_COOLING_ENABLED,
                if *b { "true" } else { "false" },
            )),
            Trans::Add { num } => ok_of(ops::numbers::add(
                &ctx,
                &[key(*num)],
                None,
                MANUAL_HIERARCHY,
                None,
            )),
            Trans::Reserve {
                num,
                days,
                for_user,
            } => ok_of(ops::numbers::reserve(
                &ctx,
                &key(*num),
                None,
                "notes",
                *days,
                *for_user,
            )),
            Trans::Unreserve { num } => ok_of(ops::numbers::unreserve(&ctx, &key(*num), None)),
            Trans::Cool { num, days } => ok_of(ops::numbers::cool(&ctx, &key(*num), None, *days)),
            Trans::Release { num } => ok_of(ops::numbers::release(&ctx, &key(*num), None)),
            Trans::Unassign { num } => ok_of(ops::numbers::unassign(&ctx, &key(*num), None)),
            Trans::Delete { num } => ok_of(ops::numbers::delete(&ctx, &key(*num), None)),
            Trans::Allocate { for_user } => {
                let held = sut
                    .store
                    .read()
                    .unwrap()
                    .held_keys()
                    .unwrap()
                    .into_keys()
                    .collect::<BTreeSet<String>>();
                match ops::numbers::allocate(&ctx, None, *for_user, None) {
                    Ok((e, _)) => {
                        let k = e.key();
                        assert!(!held.contains(&k), "allocation returned held number {k}");
                        let was = before_entry(&before.1, &k);
                        assert_eq!(
                            was.status,
                            Status::Available,
                            "allocated {k} was {}",
                            was.status
                        );
                        assert!(
                            was.reserved_for.is_empty()
                                || Some(was.reserved_for.as_str()) == *for_user,
                            "allocated {k} reserved for {}",
                            was.reserved_for
                        );
                        allocated = Some(k);
                        true
                    }
                    Err(ops::OpError::Store(e)) => panic!("store error: {e}"),
                    Err(_) => false,
                }
            }
        };
        assert_eq!(
            ok, m.last.ok,
            "{t:?}: store said ok={ok}, the model says {}",
            m.last.ok
        );
        assert_eq!(
            allocated, m.last.allocated,
            "{t:?}: allocated a different number"
        );
        if !ok {
            assert!(
                snapshot(&sut.store) == before,
                "{t:?} failed but changed the store"
            );
        }
        sut
    }

    fn check_invariants(sut: &Sut, m: &Model) {
        let store = &sut.store;
        store.verify().expect("log verify");
        let replayed = Store::in_memory().unwrap();
        replayed
            .replay_from(LogSource::Store(store), ReplayStop::End)
            .unwrap();
        assert!(
            replayed.state_rows().unwrap() == store.state_rows().unwrap(),
            "replaying the log does not give the tables"
        );

        let reader = store.read().unwrap();
        let held = reader
            .held_keys()
            .unwrap()
            .into_keys()
            .collect::<BTreeSet<String>>();
        assert_eq!(
            held,
            m.held_keys(),
            "holders index differs from the cached users"
        );
        let entries = reader.entries(&Default::default()).unwrap();
        let today = m.now.date_naive();
        for e in &entries {
            let k = e.key();
            if held.contains(&k) {
                assert!(
                    matches!(
                        e.status,
                        Status::Used | Status::UsedUtility | Status::Reserved
                    ),
                    "held number {k} is {}",
                    e.status
                );
                if e.vendor == Vendor::AudioCodes {
                    assert!(
                        e.is_audiocodes_device() && e.tag.is_empty() && e.release_date.is_none(),
                        "held {k}: {e:?}"
                    );
                }
            } else {
                assert!(
                    !(e.status == Status::Used && e.vendor == Vendor::AudioCodes),
                    "{k} is Used by AudioCodes but nobody holds it"
                );
            }
            if e.status == Status::Cooling {
                let Some(d) = e.release_date else {
                    panic!("Cooling {k} has no release date")
                };
                if e.vendor == Vendor::AudioCodes {
                    assert_eq!(e.tag, audiocodes_cooling_tag(d), "{k}");
                    assert!(d <= today + Days::new(999), "{k}");
                }
            }
        }

        let got: BTreeMap<String, MEntry> = entries
            .into_iter()
            .map(|e| {
                (
                    e.key(),
                    MEntry {
                        hierarchy: e.hierarchy,
                        status: e.status,
                        usage: e.usage,
                        vendor: e.vendor,
                        release: e.release_date,
                        reserved_for: e.reserved_for,
                    },
                )
            })
            .collect();
        assert_eq!(got, m.entries, "the store differs from the model");
    }
}

fn before_entry(rows: &[numinv::store::StateRow], key: &str) -> numinv::domain::Entry {
    rows.iter()
        .find(|(ent, k, _)| *ent == numinv::store::Entity::Entry && k == key.as_bytes())
        .map(|(ent, k, v)| numinv::store::decode(ent.table_name(), k, v).unwrap())
        .unwrap_or_else(|| panic!("allocated {key}, which did not exist"))
}

fn config() -> Config {
    let mut c = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 64;
    }
    c
}

prop_state_machine! {
    #![proptest_config(config())]
    #[test]
    fn store_follows_the_model(sequential 1..60 => StoreMachine);
}

#[test]
fn the_model_maps_every_spelling_like_the_product() {
    let conn = connection(0);
    for num in 0..POOL + 2 {
        for form in 0..3 {
            let u = numinv::domain::device::CachedUser::from_device(
                "n1",
                "SBC-1",
                &aor(num, form),
                true,
                &conn.hierarchy,
                conn.region.as_deref(),
            );
            assert_eq!(
                u.number_key.as_deref(),
                device_key(0, num).as_deref(),
                "{}",
                aor(num, form)
            );
        }
    }
}

/// Regression (found by `store_follows_the_model`): manual workflows and the sweep could leave
/// a number a device holds Cooling or Available, and allocation then handed it out.
#[test]
fn manual_workflows_never_free_a_held_number() {
    let store = Store::in_memory().unwrap();
    let conn = connection(0);
    let now = start();
    let ctx = Ctx::new(&store, now, "cli");
    let n = |i: usize| public(i);
    ops::numbers::add(&ctx, &[n(0), n(1), n(2)], None, MANUAL_HIERARCHY, None).unwrap();
    // +…1 is reserved for three days, +…2 allocated to a user: conflicts once a device holds them.
    ops::numbers::reserve(&ctx, &n(1), None, "CEO", Some(3), None).unwrap();
    ops::numbers::reserve(&ctx, &n(2), None, "x", None, None).unwrap();
    ops::numbers::unreserve(&ctx, &n(2), None).unwrap();
    ops::numbers::allocate(&ctx, None, None, None).unwrap(); // takes +…0
    let mut device = BTreeMap::new();
    for (id, num) in [(0u8, 0usize), (1, 1), (2, 2)] {
        device.insert(
            id,
            DUser {
                num,
                form: 0,
                online: true,
            },
        );
    }
    let sut = Sut {
        store,
        conns: [conn, connection(1)],
    };
    assert!(sut.sync_with(0, &device_page(&device), false, now));
    let ctx = Ctx::new(&sut.store, now, "cli");
    let status = |k: &str| sut.store.read().unwrap().entry(k).unwrap().unwrap();
    assert_eq!(
        status(&n(0)).status,
        Status::Used,
        "allocated and held: a conflict"
    );
    assert!(status(&n(2)).is_audiocodes_device());

    let err = ops::numbers::cool(&ctx, &n(2), None, Some(1)).unwrap_err();
    assert!(
        err.to_string().contains("held by an AudioCodes device"),
        "{err}"
    );
    ops::numbers::unassign(&ctx, &n(0), None).unwrap();
    assert!(
        status(&n(0)).is_audiocodes_device(),
        "unassigned under a device"
    );
    let later = now + Duration::days(3);
    ops::admin::expire(&Ctx::new(&sut.store, later, "expiry")).unwrap();
    assert!(
        status(&n(1)).is_audiocodes_device(),
        "reservation ended under a device"
    );
    let none = ops::numbers::allocate(&Ctx::new(&sut.store, later, "cli"), None, None, None);
    assert!(none.is_err(), "allocated a held number: {none:?}");
}
