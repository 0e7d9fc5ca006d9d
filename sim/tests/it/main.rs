//! The simulator's integration tests, in one binary (one link instead of one per file).

mod common;

mod churn;
mod determinism;
mod faults_control;
mod http_paging_auth;
mod tls;
