//! The simulated registered-user population, its nodes and churn.
//!
//! Pure state and decisions, no I/O: the HTTP shell reads pages from here and
//! the control API calls the same mutation functions the churn uses, so a
//! scripted change and a random one can never disagree about what "offline"
//! means.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};

use crate::config::{ChurnRates, SimConfig};
use crate::numbers::{self, Canonical, NumberPlan, Region};
use crate::rng::Rng;
use crate::{SimError, Truth, TruthUser, UserOp};

/// Wire variation flags, drawn once per user so a user looks the same on
/// every page and every run with the same seed.
pub(crate) mod variant {
    /// Numeric fields rendered as strings (`"expires":"1800"`).
    pub const STR_NUMS: u8 = 1;
    /// `active` rendered as `"1"`/`"0"`.
    pub const STR_BOOL: u8 = 2;
    /// Unknown extra fields present.
    pub const EXTRA: u8 = 4;
    /// Optional fields (`nodeName`, `userAgent`, times) missing.
    pub const SPARSE: u8 = 8;
    /// Contact URI wrapped in `<…>`.
    pub const ANGLE: u8 = 16;
}

/// Largest population change one call may make; bounds every loop over
/// created or removed users.
pub(crate) const BULK_MAX: u64 = 2_000_000;
/// Most nodes a simulation has.
const NODES_MAX: usize = 999;
/// Churn is applied in steps of at most this many virtual minutes so that
/// events inside a long `advance` are spread over time.
const CHUNK_MINUTES: u64 = 60;
/// Recently deleted numbers remembered for reuse by new users.
const FREED_MAX: usize = 10_000;
/// Share of churn-created users that take a recently deleted number, so a
/// number can go away and come back (the lifecycle's re-use path).
const REUSE_P: f64 = 0.2;
/// Largest id a script may choose: 8 digits keep string order = numeric order.
const SCRIPT_ID_MAX: u64 = 99_999_999;
/// Longest single `advance`: ten years, to bound the chunk loop.
pub(crate) const ADVANCE_MAX_MINUTES: u64 = 10 * 366 * 24 * 60;

/// One SIP contact binding of a registered user.
#[derive(Clone, Debug)]
pub(crate) struct Contact {
    pub octet: u8,
    pub port: u16,
    pub tls: bool,
    pub expires_s: u32,
    pub active: bool,
}

/// One registered-user record as the ARM keeps it.
#[derive(Clone, Debug)]
pub(crate) struct User {
    pub node: u16,
    pub aor: Box<str>,
    pub number: Option<Box<str>>,
    pub registered: bool,
    pub contacts: Vec<Contact>,
    pub variant: u8,
    pub agent: u8,
    pub registered_at_s: i64,
}

impl User {
    /// Online by its own state; a dark node additionally hides it.
    pub(crate) fn self_online(&self) -> bool {
        self.registered && self.contacts.iter().any(|c| c.active)
    }
}

/// An SBC managed by the ARM.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub id: String,
    pub name: String,
    /// Dark by churn until this virtual instant.
    pub dark_until: Option<DateTime<Utc>>,
    /// Dark by script until a `NodeUp`.
    pub dark_manual: bool,
}

impl Node {
    pub(crate) fn is_dark(&self, now: DateTime<Utc>) -> bool {
        self.dark_manual || self.dark_until.is_some_and(|t| now < t)
    }
}

/// A set of ids with O(1) insert, remove and uniform pick, so churn can choose
/// random users without scanning the population.
#[derive(Default, Debug)]
struct IdSet {
    ids: Vec<u64>,
    pos: HashMap<u64, usize>,
}

impl IdSet {
    fn insert(&mut self, id: u64) {
        if self.pos.contains_key(&id) {
            return;
        }
        self.pos.insert(id, self.ids.len());
        self.ids.push(id);
    }

    fn remove(&mut self, id: u64) -> bool {
        let Some(i) = self.pos.remove(&id) else {
            return false;
        };
        self.ids.swap_remove(i);
        if let Some(&moved) = self.ids.get(i) {
            self.pos.insert(moved, i);
        }
        true
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    fn pick(&self, rng: &mut Rng) -> Option<u64> {
        self.ids
            .get(rng.below(self.ids.len() as u64) as usize)
            .copied()
    }
}

const CITIES: [&str; 8] = ["LON", "MAN", "NYC", "EDI", "BHX", "CHI", "DUB", "LDS"];
const AGENTS: [&str; 5] = [
    "AUDC-IPPhone/3.4.6",
    "Poly/7.1.2 VVX450",
    "Yealink SIP-T54W 96.86.0.70",
    "MicrosoftTeams-SIPGateway/1.0",
    "Cisco-CP8841/14.2.1",
];

/// The user agent string for an agent index.
pub(crate) fn agent_name(i: u8) -> &'static str {
    AGENTS[i as usize % AGENTS.len()]
}

/// `ru-` + 8 zero-padded digits, so string order equals numeric order.
pub(crate) fn format_id(id: u64) -> String {
    format!("ru-{id:08}")
}

/// Inverse of [`format_id`]; `None` for anything else.
pub(crate) fn parse_id(s: &str) -> Option<u64> {
    let digits = s.strip_prefix("ru-")?;
    if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Churn event counters, reported in `Stats::churn`.
#[derive(Default, Debug, Clone)]
pub(crate) struct ChurnCounts {
    pub offline: u64,
    pub online: u64,
    pub deleted: u64,
    pub created: u64,
    pub node_outages: u64,
}

/// Users, nodes and the virtual clock.
pub(crate) struct Population {
    pub users: BTreeMap<u64, User>,
    pub nodes: Vec<Node>,
    pub now: DateTime<Utc>,
    pub counts: ChurnCounts,
    up: IdSet,
    down: IdSet,
    next_id: u64,
    plan: NumberPlan,
    freed: VecDeque<Canonical>,
    region: Option<Region>,
    rng: Rng,
    initial_users: usize,
    churn: ChurnRates,
}

impl Population {
    pub(crate) fn new(cfg: &SimConfig) -> Population {
        let mut rng = Rng::new(cfg.seed, 1);
        let plan = NumberPlan::new(&mut rng);
        let node_count = cfg.nodes.clamp(1, NODES_MAX);
        let nodes = (0..node_count)
            .map(|i| Node {
                id: (i + 1).to_string(),
                name: format!(
                    "SBC-{}-{:02}",
                    CITIES[i % CITIES.len()],
                    i / CITIES.len() + 1
                ),
                dark_until: None,
                dark_manual: false,
            })
            .collect();
        let mut pop = Population {
            users: BTreeMap::new(),
            nodes,
            now: cfg.start,
            counts: ChurnCounts::default(),
            up: IdSet::default(),
            down: IdSet::default(),
            next_id: 1,
            plan,
            freed: VecDeque::new(),
            region: numbers::region_info(&cfg.region),
            rng,
            initial_users: cfg.users,
            churn: cfg.churn.clone(),
        };
        let target = (cfg.users as u64).min(BULK_MAX) as usize;
        // Bounded: every call adds at least one user.
        while pop.users.len() < target {
            let left = target - pop.users.len();
            pop.create_generated(left, 0.03, 0.0);
        }
        pop
    }

    fn node_count(&self) -> u64 {
        self.nodes.len() as u64
    }

    /// Creates one generated user and, for about 5 % of numbers (when there
    /// is room and more than one node), a second user holding the same number
    /// on another node. Returns how many users were added.
    fn create_generated(&mut self, room: usize, offline_p: f64, reuse_p: f64) -> usize {
        let reused = if !self.freed.is_empty() && self.rng.chance(reuse_p) {
            let i = self.rng.below(self.freed.len() as u64) as usize;
            self.freed.swap_remove_back(i)
        } else {
            None
        };
        let canonical = match reused {
            Some(c) => c,
            None => self.plan.draw(&mut self.rng),
        };
        let node = self.rng.below(self.node_count()) as u16;
        self.insert_generated(&canonical, node, offline_p);
        if room >= 2 && self.nodes.len() > 1 && self.rng.chance(0.05) {
            let other =
                (node as u64 + 1 + self.rng.below(self.node_count() - 1)) % self.node_count();
            self.insert_generated(&canonical, other as u16, offline_p);
            return 2;
        }
        1
    }

    fn insert_generated(&mut self, canonical: &Canonical, node: u16, offline_p: f64) {
        let aor = numbers::render_aor(canonical, self.region, &mut self.rng);
        let rng = &mut self.rng;
        let mut variant = 0u8;
        for (flag, p) in [
            (variant::STR_NUMS, 0.12),
            (variant::STR_BOOL, 0.12),
            (variant::EXTRA, 0.08),
            (variant::SPARSE, 0.08),
            (variant::ANGLE, 0.6),
        ] {
            if rng.chance(p) {
                variant |= flag;
            }
        }
        let contact_count = if rng.chance(0.1) { rng.range(2, 3) } else { 1 };
        let contacts = (0..contact_count)
            .map(|i| Contact {
                octet: rng.range(1, 254) as u8,
                port: if rng.chance(0.5) { 5061 } else { 5060 },
                tls: rng.chance(0.5),
                expires_s: [120, 600, 1800, 3600][rng.below(4) as usize],
                // The first contact is the live one; extra ones are often stale.
                active: i == 0 || rng.chance(0.4),
            })
            .collect();
        let back_s = rng.range(60, 30 * 24 * 3600) as i64;
        let user = User {
            node,
            aor: aor.into_boxed_str(),
            number: canonical.key().map(String::into_boxed_str),
            registered: true,
            contacts,
            variant,
            agent: rng.below(AGENTS.len() as u64) as u8,
            registered_at_s: self.now.timestamp() - back_s,
        };
        let id = self.next_id;
        self.next_id += 1;
        self.insert(id, user);
        if self.rng.chance(offline_p) {
            self.set_offline(id);
        }
    }

    fn insert(&mut self, id: u64, user: User) {
        if user.self_online() {
            self.up.insert(id);
        } else {
            self.down.insert(id);
        }
        self.users.insert(id, user);
        self.next_id = self.next_id.max(id.saturating_add(1));
    }

    fn remove(&mut self, id: u64) -> bool {
        let Some(user) = self.users.remove(&id) else {
            return false;
        };
        if let Some(c) = user.number.as_deref().and_then(Canonical::from_key) {
            if self.freed.len() >= FREED_MAX {
                self.freed.pop_front();
            }
            self.freed.push_back(c);
        }
        self.up.remove(id);
        self.down.remove(id);
        true
    }

    /// Drops a user offline: half the time the record turns UNREGISTERED
    /// with no contacts, otherwise it stays REGISTERED with every contact
    /// inactive — both shapes occur on real devices.
    fn set_offline(&mut self, id: u64) -> bool {
        let unregister = self.rng.chance(0.5);
        let Some(u) = self.users.get_mut(&id) else {
            return false;
        };
        if unregister {
            u.registered = false;
            u.contacts.clear();
        } else {
            u.contacts.iter_mut().for_each(|c| c.active = false);
        }
        self.up.remove(id);
        self.down.insert(id);
        true
    }

    fn set_online(&mut self, id: u64) -> bool {
        let octet = self.rng.range(1, 254) as u8;
        let now_s = self.now.timestamp();
        let Some(u) = self.users.get_mut(&id) else {
            return false;
        };
        if !u.registered {
            u.registered_at_s = now_s;
        }
        u.registered = true;
        match u.contacts.first_mut() {
            Some(c) => c.active = true,
            None => u.contacts.push(Contact {
                octet,
                port: 5061,
                tls: true,
                expires_s: 3600,
                active: true,
            }),
        }
        self.down.remove(id);
        self.up.insert(id);
        true
    }

    fn pick_any(&mut self) -> Option<u64> {
        let total = (self.up.len() + self.down.len()) as u64;
        let i = self.rng.below(total) as usize;
        if i < self.up.len() {
            self.up.ids.get(i).copied()
        } else {
            self.down.ids.get(i - self.up.len()).copied()
        }
    }

    /// Adds `n` generated users (fault injection and churn share this); some
    /// take a recently deleted number.
    pub(crate) fn create_n(&mut self, n: u64) -> u64 {
        let n = n.min(BULK_MAX);
        let mut added = 0u64;
        while added < n {
            added += self.create_generated((n - added) as usize, 0.0, REUSE_P) as u64;
        }
        self.counts.created += added;
        added
    }

    /// Removes up to `n` random users.
    pub(crate) fn remove_n(&mut self, n: u64) -> u64 {
        let mut removed = 0;
        for _ in 0..n.min(BULK_MAX) {
            match self.pick_any() {
                Some(id) if self.remove(id) => removed += 1,
                _ => break,
            }
        }
        self.counts.deleted += removed;
        removed
    }

    /// Moves the virtual clock forward, applying churn chunk by chunk. Cost is
    /// O(chunks + events): event counts are drawn first, then users picked.
    pub(crate) fn advance(&mut self, minutes: u64) {
        let mut left = minutes.min(ADVANCE_MAX_MINUTES);
        while left > 0 {
            let m = left.min(CHUNK_MINUTES);
            // The clock stops at chrono's end of time instead of panicking.
            let Some(next) = self.now.checked_add_signed(Duration::minutes(m as i64)) else {
                return;
            };
            self.churn_chunk(m);
            self.now = next;
            left -= m;
        }
    }

    fn churn_chunk(&mut self, minutes: u64) {
        let days = minutes as f64 / 1440.0;
        let c = self.churn.clone();
        let chunk_start = self.now;
        if c.node_outage_per_day > 0.0 && c.node_outage_minutes > 0 {
            let p = 1.0 - (-c.node_outage_per_day * days).exp();
            for i in 0..self.nodes.len() {
                if self.nodes[i].is_dark(chunk_start) || !self.rng.chance(p) {
                    continue;
                }
                let offset =
                    self.rng.below(minutes) + c.node_outage_minutes.min(ADVANCE_MAX_MINUTES);
                let end = chunk_start.checked_add_signed(Duration::minutes(offset as i64));
                self.nodes[i].dark_until = Some(end.unwrap_or(DateTime::<Utc>::MAX_UTC));
                self.counts.node_outages += 1;
            }
        }
        let down_at_start = self.down.len() as u64;
        let up = self.up.len() as u64;
        let n_off = self
            .rng
            .poisson(up as f64 * c.offline_per_user_day * days, up);
        for _ in 0..n_off {
            if let Some(id) = self.up.pick(&mut self.rng) {
                self.set_offline(id);
                self.counts.offline += 1;
            }
        }
        let n_back = self.rng.poisson(
            down_at_start as f64 * c.return_per_user_day * days,
            down_at_start,
        );
        for _ in 0..n_back {
            if let Some(id) = self.down.pick(&mut self.rng) {
                self.set_online(id);
                self.counts.online += 1;
            }
        }
        let total = self.users.len() as u64;
        let n_del = self
            .rng
            .poisson(total as f64 * c.delete_per_user_day * days, total);
        self.remove_n(n_del);
        let n_new = self.rng.poisson(
            self.initial_users as f64 * c.create_per_day * days,
            BULK_MAX / 10,
        );
        self.create_n(n_new);
    }

    /// Whether the node of user `u` is dark now.
    pub(crate) fn node_dark(&self, u: &User) -> bool {
        self.nodes
            .get(u.node as usize)
            .is_some_and(|n| n.is_dark(self.now))
    }

    /// Ground truth as the device serves it now.
    pub(crate) fn truth(&self) -> Truth {
        let mut held = BTreeSet::new();
        let users = self
            .users
            .iter()
            .map(|(&id, u)| {
                let dark = self.node_dark(u);
                let online = !dark && u.self_online();
                if online {
                    if let Some(n) = &u.number {
                        held.insert(n.to_string());
                    }
                }
                TruthUser {
                    id: format_id(id),
                    node_id: self.nodes[u.node as usize % self.nodes.len()].id.clone(),
                    aor: u.aor.to_string(),
                    number: u.number.as_ref().map(|n| n.to_string()),
                    registered: !dark && u.registered,
                    online,
                }
            })
            .collect();
        Truth {
            now: self.now,
            users,
            held: held.into_iter().collect(),
        }
    }

    fn node_index(&self, node_id: &str) -> Result<usize, SimError> {
        self.nodes
            .iter()
            .position(|n| n.id == node_id)
            .ok_or_else(|| SimError::UnknownNode(node_id.to_string()))
    }

    fn existing_id(&self, id: &str) -> Result<u64, SimError> {
        let n = parse_id(id).ok_or_else(|| SimError::BadId(id.to_string()))?;
        if self.users.contains_key(&n) {
            Ok(n)
        } else {
            Err(SimError::UnknownUser(id.to_string()))
        }
    }

    /// Applies one scripted operation.
    pub(crate) fn apply(&mut self, op: &UserOp) -> Result<(), SimError> {
        match op {
            UserOp::Add {
                id,
                node_id,
                aor,
                number,
                online,
            } => {
                let node = self.node_index(node_id)? as u16;
                let id = match id {
                    Some(s) => {
                        let n = parse_id(s)
                            .filter(|&n| n <= SCRIPT_ID_MAX)
                            .ok_or_else(|| SimError::BadId(s.clone()))?;
                        if self.users.contains_key(&n) {
                            return Err(SimError::DuplicateUser(s.clone()));
                        }
                        n
                    }
                    None if self.next_id <= SCRIPT_ID_MAX => self.next_id,
                    None => return Err(SimError::BadId(format_id(self.next_id))),
                };
                let user = User {
                    node,
                    aor: aor.clone().into_boxed_str(),
                    number: number.clone().map(String::into_boxed_str),
                    registered: *online,
                    contacts: if *online {
                        vec![Contact {
                            octet: 10,
                            port: 5061,
                            tls: true,
                            expires_s: 3600,
                            active: true,
                        }]
                    } else {
                        Vec::new()
                    },
                    variant: variant::ANGLE,
                    agent: 0,
                    registered_at_s: self.now.timestamp(),
                };
                self.insert(id, user);
            }
            UserOp::Delete { id } => {
                let n = self.existing_id(id)?;
                self.remove(n);
            }
            UserOp::Offline { id } => {
                let n = self.existing_id(id)?;
                self.set_offline(n);
            }
            UserOp::Online { id } => {
                let n = self.existing_id(id)?;
                self.set_online(n);
            }
            UserOp::NodeDown { node_id } => {
                let i = self.node_index(node_id)?;
                self.nodes[i].dark_manual = true;
            }
            UserOp::NodeUp { node_id } => {
                let i = self.node_index(node_id)?;
                self.nodes[i].dark_manual = false;
                self.nodes[i].dark_until = None;
            }
        }
        Ok(())
    }

    /// Checks the internal index invariant: every user is in exactly one of
    /// the up/down sets, matching its own state.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        assert_eq!(self.up.len() + self.down.len(), self.users.len());
        for (&id, u) in &self.users {
            assert_eq!(self.up.pos.contains_key(&id), u.self_online(), "id {id}");
            assert_eq!(self.down.pos.contains_key(&id), !u.self_online(), "id {id}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(users: usize) -> SimConfig {
        SimConfig {
            users,
            ..SimConfig::default()
        }
    }

    #[test]
    fn ids_round_trip() {
        assert_eq!(format_id(42), "ru-00000042");
        assert_eq!(parse_id("ru-00000042"), Some(42));
        assert_eq!(parse_id("ru-"), None);
        assert_eq!(parse_id("ru-12a"), None);
        assert_eq!(parse_id("-1"), None);
    }

    #[test]
    fn population_has_requested_size_and_every_form() {
        let pop = Population::new(&cfg(20_000));
        assert_eq!(pop.users.len(), 20_000);
        pop.check_invariants();
        let aors: Vec<&str> = pop.users.values().map(|u| &*u.aor).collect();
        let has = |f: &dyn Fn(&str) -> bool| aors.iter().any(|a| f(a));
        assert!(has(
            &|a| a.starts_with('+') && a.contains("@contoso.example")
        ));
        assert!(has(&|a| a.starts_with("44") && a.contains("@192.0.2.")));
        assert!(has(&|a| a.starts_with("020")));
        assert!(has(&|a| a.starts_with("00")));
        assert!(has(&|a| a.starts_with("tel:+44-20-")));
        assert!(has(
            &|a| a.starts_with("sip:+") && a.ends_with(";user=phone")
        ));
        assert!(has(&|a| a.contains(";ext=")));
        assert!(has(
            &|a| a.len() == 4 && a.bytes().all(|b| b.is_ascii_digit())
        ));
        assert!(has(&|a| a.len() > 5 && a.as_bytes()[4] == b'@'));
        assert!(has(&|a| a == "reception"
            || a == "lobby"
            || a == "helpdesk"));
        assert!(has(&|a| a.starts_with("+1212")));
        let unmapped = pop.users.values().filter(|u| u.number.is_none()).count();
        assert!((20..=250).contains(&unmapped), "unmapped {unmapped}");
        let multi = pop.users.values().filter(|u| u.contacts.len() > 1).count();
        assert!(multi > 1000, "multi-contact users {multi}");
        let mut per_number: HashMap<&str, BTreeSet<u16>> = HashMap::new();
        for u in pop.users.values() {
            if let Some(n) = &u.number {
                per_number.entry(n).or_default().insert(u.node);
            }
        }
        let on_two = per_number.values().filter(|s| s.len() == 2).count();
        let share = on_two as f64 / per_number.len() as f64;
        assert!((0.03..0.07).contains(&share), "two-node share {share}");
    }

    #[test]
    fn random_mixes_of_churn_scripts_and_faults_keep_the_indexes_consistent() {
        let mut pop = Population::new(&SimConfig {
            users: 300,
            nodes: 3,
            churn: ChurnRates {
                offline_per_user_day: 1.0,
                return_per_user_day: 2.0,
                delete_per_user_day: 0.2,
                create_per_day: 0.2,
                node_outage_per_day: 2.0,
                node_outage_minutes: 45,
            },
            ..SimConfig::default()
        });
        let mut r = Rng::new(99, 0);
        for step in 0..2_000 {
            let ids: Vec<u64> = pop.users.keys().copied().collect();
            let any_id = |r: &mut Rng| {
                format_id(
                    ids.get(r.below(ids.len() as u64) as usize)
                        .copied()
                        .unwrap_or(1),
                )
            };
            let node_id = (r.below(4) + 1).to_string();
            let op = match r.below(8) {
                0 => UserOp::Offline { id: any_id(&mut r) },
                1 => UserOp::Online { id: any_id(&mut r) },
                2 => UserOp::Delete { id: any_id(&mut r) },
                3 => UserOp::NodeDown { node_id },
                4 => UserOp::NodeUp { node_id },
                5 => UserOp::Add {
                    id: None,
                    node_id,
                    aor: "1234".into(),
                    number: Some("1234".into()),
                    online: r.chance(0.5),
                },
                6 => {
                    pop.create_n(r.below(5));
                    pop.remove_n(r.below(5));
                    continue;
                }
                _ => {
                    pop.advance(r.below(180));
                    continue;
                }
            };
            // Unknown nodes/users are expected errors; they must change nothing.
            let _ = pop.apply(&op);
            pop.check_invariants();
            let t = pop.truth();
            let held: BTreeSet<String> = t
                .users
                .iter()
                .filter(|u| u.online)
                .filter_map(|u| u.number.clone())
                .collect();
            assert_eq!(t.held, held.into_iter().collect::<Vec<_>>(), "step {step}");
            assert!(t.users.windows(2).all(|w| w[0].id < w[1].id));
        }
    }

    #[test]
    fn the_clock_stops_at_the_end_of_time_without_panicking() {
        let mut pop = Population::new(&SimConfig {
            users: 10,
            start: DateTime::<Utc>::MAX_UTC - Duration::minutes(90),
            ..SimConfig::default()
        });
        pop.advance(ADVANCE_MAX_MINUTES);
        assert!(pop.now >= DateTime::<Utc>::MAX_UTC - Duration::minutes(60));
        pop.check_invariants();
    }

    #[test]
    fn advance_a_day_over_a_large_population_is_fast_and_consistent() {
        let mut pop = Population::new(&cfg(200_000));
        let t = std::time::Instant::now();
        pop.advance(24 * 60);
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        assert!(pop.counts.offline > 1000);
        pop.check_invariants();
    }
}
