//! The integration tests, in one binary: one link instead of one per file (each linked
//! the whole crate and its dependencies, ~40 MB apiece, which filled CI's disk).
//! `arm_secrets` stays a binary of its own: it installs a global tracing subscriber.

mod api_support;
mod common;

mod api_admin;
mod api_auth;
mod api_numbers;
mod api_openapi;
mod api_sync;
mod arm_canned;
mod arm_client;
mod arm_parse_paths;
mod cli_numbers;
mod cli_remote;
mod connections;
mod crash;
mod daemon;
mod demo;
mod fuzz_corpus;
mod prop_state_machine;
mod serve;
mod simulation;
mod sync;
mod web_sync;
mod web_ui;
