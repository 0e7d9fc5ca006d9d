//! Runs the real `numinv` binary in a temporary data dir, so tests read like a user's session.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Session {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub out: String,
    pub err: String,
    pub ok: bool,
}

impl Session {
    pub fn new() -> Session {
        Session {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `numinv --data-dir <data> ARGS`.
    pub fn run(&self, args: &[&str]) -> Run {
        run_in(&self.data(), args)
    }

    /// Runs and insists on success.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert!(r.ok, "numinv {args:?} failed: {}", r.err);
        r.out
    }

    /// Runs and insists on failure with a single error line.
    pub fn fails(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert!(!r.ok, "numinv {args:?} should fail but printed {}", r.out);
        let lines: Vec<&str> = r.err.lines().collect();
        assert_eq!(lines.len(), 1, "one error line expected, got {:?}", r.err);
        assert!(lines[0].starts_with("error: "), "{}", lines[0]);
        lines[0].to_string()
    }

    pub fn head_seq(&self) -> u64 {
        let out = self.ok(&["log", "verify"]);
        out.split_whitespace()
            .nth(2)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected verify output {out}"))
    }
}

pub fn command(data: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_numinv"));
    c.arg("--data-dir").arg(data).args(args);
    c.env_remove("NUMINV_SERVER").env_remove("NUMINV_DATA_DIR");
    c
}

pub fn run_in(data: &Path, args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = command(data, args).output().expect("run numinv");
    Run {
        out: String::from_utf8_lossy(&stdout).into_owned(),
        err: String::from_utf8_lossy(&stderr).into_owned(),
        ok: status.success(),
    }
}

pub fn fixture(rel: &str) -> String {
    format!("{}/tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"))
}
