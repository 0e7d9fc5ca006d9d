//! numinv: a telephone number inventory kept aligned with AudioCodes ARM registered users.
//!
//! Data travels one way: device page (`arm`) → normalized users (`domain::normalize`) →
//! diff and lifecycle decisions (`domain`) → one store transaction (`store`) → API / UI.

pub mod api;
pub mod arm;
pub mod cli;
pub mod clock;
pub mod daemon;
pub mod domain;
pub mod ops;
pub mod store;
pub mod sync;
pub mod web;
