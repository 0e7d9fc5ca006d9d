//! The injected clock. Domain rules take the time as an argument; this is where it comes from.

use std::sync::Arc;

use chrono::{DateTime, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The machine's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock stopped at one instant (`--now`), for tests and diagnosis.
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// A clock that reads another (the simulator's virtual clock in the demo).
pub struct FnClock<F>(pub F);

impl<F: Fn() -> DateTime<Utc> + Send + Sync> Clock for FnClock<F> {
    fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

pub type SharedClock = Arc<dyn Clock>;
