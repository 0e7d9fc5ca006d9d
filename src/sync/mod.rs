//! The AudioCodes sync: fetch every page → normalize → diff against the cache → apply the
//! lifecycle rules in one store transaction. Also purge, and the pieces the daemon schedules.
//!
//! Architecture invariant: a fetch that did not complete never reaches `apply`; `apply` is
//! synchronous and all-or-nothing.

pub mod audit;
pub mod engine;

pub use engine::{apply_users, fetch_users, purge, run_sync, SyncOptions};
