//! The domain rules: entries, normalization, lifecycle, workflows, settings and audit.
//!
//! Architecture invariant: `domain` does no I/O. Every function takes the current time as
//! an argument, so the rules are testable over thousands of random sequences in seconds.

pub mod audit;
pub mod connection;
pub mod device;
pub mod entry;
pub mod lifecycle;
pub mod normalize;
pub mod settings;
pub mod workflows;

pub use entry::{clean_hierarchy, entry_key, trim_hierarchy, Entry, Status, Usage, Vendor};
