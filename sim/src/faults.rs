//! Fault injection: what to break, on which requests, how often.

use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// Most faults armed at once; arming more drops the oldest.
const ARMED_MAX: usize = 64;

/// One armed fault. JSON form (as posted to `/sim/faults`), with the kind's
/// fields flattened in: `{"kind":"status","code":503,"skip":2,"count":1}`.
/// Missing `skip` = 0, `count` = forever, `rate` = 1.0, `target` =
/// `registered_users`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FaultSpec {
    /// What happens when the fault fires.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Matching requests let through before the fault may fire
    /// (6 ⇒ it fires on the 7th).
    #[serde(default)]
    pub skip: u32,
    /// How many matching requests it fires on after `skip`
    /// (`u32::MAX` = forever).
    #[serde(default = "count_forever")]
    pub count: u32,
    /// Chance per matching request once past `skip` (deterministic PRNG).
    #[serde(default = "rate_always")]
    pub rate: f64,
    /// Which requests the fault watches.
    #[serde(default)]
    pub target: FaultTarget,
}

fn count_forever() -> u32 {
    u32::MAX
}

fn rate_always() -> f64 {
    1.0
}

impl FaultSpec {
    /// A fault that fires on every matching request, forever, on
    /// `registeredUsers`; narrow it with the `with_*` methods.
    pub fn new(kind: FaultKind) -> FaultSpec {
        FaultSpec {
            kind,
            skip: 0,
            count: u32::MAX,
            rate: 1.0,
            target: FaultTarget::RegisteredUsers,
        }
    }

    /// Sets `skip`.
    pub fn with_skip(mut self, skip: u32) -> FaultSpec {
        self.skip = skip;
        self
    }

    /// Sets `count`.
    pub fn with_count(mut self, count: u32) -> FaultSpec {
        self.count = count;
        self
    }

    /// Sets `rate`.
    pub fn with_rate(mut self, rate: f64) -> FaultSpec {
        self.rate = rate;
        self
    }

    /// Sets `target`.
    pub fn with_target(mut self, target: FaultTarget) -> FaultSpec {
        self.target = target;
        self
    }
}

/// What a fault does to the request it fires on.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Delay the answer by `ms` milliseconds (capped at 10 minutes).
    Latency {
        /// Delay in milliseconds.
        ms: u64,
    },
    /// Hold the request open without answering (an hour, or until shutdown).
    Timeout,
    /// Answer with this status (500..=599; anything else becomes 500) and the
    /// JSON error body.
    Status {
        /// HTTP status code.
        code: u16,
    },
    /// Answer 429 with `Retry-After: retry_after_s`.
    TooManyRequests {
        /// Seconds sent in `Retry-After`.
        retry_after_s: u64,
    },
    /// Answer 200 with the JSON body cut in half.
    TruncatedJson,
    /// Answer 204 with no body even though data exists.
    Empty204,
    /// Invalidate every session and OAuth token before this request.
    ExpireTokens,
    /// Create `n` users just before serving this request.
    InsertUsers {
        /// Users to create.
        n: u32,
    },
    /// Delete `n` random users just before serving this request.
    RemoveUsers {
        /// Users to delete.
        n: u32,
    },
}

impl FaultKind {
    /// Stable name used as the key in `Stats::faults_fired`.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Latency { .. } => "latency",
            FaultKind::Timeout => "timeout",
            FaultKind::Status { .. } => "status",
            FaultKind::TooManyRequests { .. } => "too_many_requests",
            FaultKind::TruncatedJson => "truncated_json",
            FaultKind::Empty204 => "empty204",
            FaultKind::ExpireTokens => "expire_tokens",
            FaultKind::InsertUsers { .. } => "insert_users",
            FaultKind::RemoveUsers { .. } => "remove_users",
        }
    }
}

/// Which contract requests a fault watches.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum FaultTarget {
    /// `GET {base}/registeredUsers`.
    #[default]
    RegisteredUsers,
    /// `GET {base}/topology/nodes`.
    Nodes,
    /// `POST {base}/login` and `POST /oauth2/token`.
    Login,
    /// Every contract request (never the `/sim/` control API).
    Any,
}

#[derive(Debug)]
struct Armed {
    spec: FaultSpec,
    seen: u32,
    fired: u32,
}

/// The armed faults and their own PRNG stream, so fault rates never shift
/// the churn sequence.
#[derive(Debug)]
pub(crate) struct Faults {
    armed: Vec<Armed>,
    rng: Rng,
}

impl Faults {
    pub(crate) fn new(seed: u64) -> Faults {
        Faults {
            armed: Vec::new(),
            rng: Rng::new(seed, 2),
        }
    }

    pub(crate) fn arm(&mut self, spec: FaultSpec) {
        if self.armed.len() >= ARMED_MAX {
            self.armed.remove(0);
        }
        self.armed.push(Armed {
            spec,
            seen: 0,
            fired: 0,
        });
    }

    pub(crate) fn clear(&mut self) {
        self.armed.clear();
    }

    /// Counts a request against every armed fault watching `target` and
    /// returns the kinds that fire on it, in arming order.
    pub(crate) fn evaluate(&mut self, target: FaultTarget) -> Vec<FaultKind> {
        let mut fired = Vec::new();
        for a in &mut self.armed {
            if a.spec.target != FaultTarget::Any && a.spec.target != target {
                continue;
            }
            a.seen = a.seen.saturating_add(1);
            if a.seen <= a.spec.skip || a.fired >= a.spec.count {
                continue;
            }
            if self.rng.chance(a.spec.rate) {
                a.fired += 1;
                fired.push(a.spec.kind.clone());
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_and_count_are_respected() {
        let mut f = Faults::new(1);
        f.arm(
            FaultSpec::new(FaultKind::Empty204)
                .with_skip(2)
                .with_count(2),
        );
        let fired: Vec<bool> = (0..6)
            .map(|_| !f.evaluate(FaultTarget::RegisteredUsers).is_empty())
            .collect();
        assert_eq!(fired, [false, false, true, true, false, false]);
        assert!(f.evaluate(FaultTarget::Nodes).is_empty());
    }

    #[test]
    fn json_form_is_flat() {
        let spec: FaultSpec =
            serde_json::from_str(r#"{"kind":"status","code":503,"skip":1}"#).unwrap();
        assert_eq!(
            spec,
            FaultSpec::new(FaultKind::Status { code: 503 }).with_skip(1)
        );
        let back = serde_json::to_value(&spec).unwrap();
        assert_eq!(back["kind"], "status");
        assert_eq!(back["code"], 503);
    }
}
