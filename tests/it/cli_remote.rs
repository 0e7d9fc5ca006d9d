//! Issue 5: the CLI through a running `numinv serve` (`--server URL`) prints exactly what
//! it prints on the data dir itself. The real binary, a real server on 127.0.0.1:0.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use common::{command, Session};

/// A `numinv serve` child on a free loopback port; stopped with SIGTERM on drop.
struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(s: &Session) -> Serve {
        let mut child = command(&s.data(), &["serve", "--listen", "127.0.0.1:0"])
            .env("NUMINV_LOCK_WAIT_MS", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn numinv serve");
        // serve prints its bound URL on stderr once it listens: no sleeping, no polling.
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("serve ended before printing its URL")
                .unwrap();
            if let Some(rest) = line.split(" on http://").nth(1) {
                let addr = rest.split_whitespace().next().unwrap();
                break format!("http://{addr}");
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Serve { child, url }
    }

    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(
            self.child.wait().unwrap().success(),
            "serve did not stop cleanly"
        );
        std::mem::forget(self);
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command through the server, with the token in the environment.
fn remote(s: &Session, srv: &Serve, token: &str, args: &[&str]) -> common::Run {
    let out = command(&s.data(), args)
        .env("NUMINV_SERVER", &srv.url)
        .env("NUMINV_TOKEN", token)
        .output()
        .expect("run numinv");
    common::Run {
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
        ok: out.status.success(),
    }
}

fn remote_ok(s: &Session, srv: &Serve, token: &str, args: &[&str]) -> String {
    let r = remote(s, srv, token, args);
    assert!(r.ok, "remote numinv {args:?} failed: {}", r.err);
    r.out
}

fn one_error_line(r: &common::Run) -> String {
    assert!(!r.ok, "should fail but printed {}", r.out);
    let lines: Vec<&str> = r.err.lines().collect();
    assert_eq!(lines.len(), 1, "one error line expected: {:?}", r.err);
    lines[0].to_string()
}

fn prepared() -> (Session, String) {
    let s = Session::new();
    s.ok(&[
        "numbers",
        "add",
        "--range",
        "+442079460100..+442079460109",
        "--hierarchy",
        "Provider/Contoso/London",
    ]);
    s.ok(&["numbers", "add", "1001", "--hierarchy", "Provider/Fabrikam"]);
    s.ok(&["numbers", "cool", "+442079460101", "--days", "5"]);
    s.ok(&["numbers", "reserve", "+442079460102", "--notes", "for Ann"]);
    s.ok(&["numbers", "cool", "+442079460103", "--days", "3"]);
    s.ok(&["numbers", "release", "+442079460103"]);
    let token = s.ok(&["tokens", "create", "ci", "--role", "admin"]);
    (s, token.lines().next().unwrap().to_string())
}

const SAME: &[&[&str]] = &[
    &["numbers", "list"],
    &["numbers", "list", "--status", "Cooling"],
    &[
        "numbers",
        "list",
        "--limit",
        "3",
        "--after",
        "+442079460101",
    ],
    &["numbers", "list", "--format", "json"],
    &["numbers", "list", "--format", "csv"],
    &["numbers", "show", "+442079460101"],
    &["numbers", "show", "+442079460101", "--format", "json"],
    &[
        "numbers",
        "show",
        "1001",
        "--hierarchy",
        "Provider/Fabrikam",
    ],
    &["numbers", "history", "+442079460103"],
    &["numbers", "history", "+442079460103", "--format", "json"],
    &["numbers", "export", "--status", "Reserved"],
    &["transactions", "list"],
    &["transactions", "show", "3"],
    &["log", "show", "--since", "5", "--limit", "4"],
    &["log", "show", "--number", "+442079460101"],
    &["macros", "get", "audiocodes_cooling_duration"],
    &["settings", "get", "number_inventory_cooling_days"],
    &["audit"],
    &["audit", "--format", "json"],
    &["connections", "list"],
    &["schedules", "list"],
];

#[test]
fn remote_commands_print_what_local_ones_print() {
    let (s, token) = prepared();
    let local: Vec<String> = SAME.iter().map(|args| s.ok(args)).collect();
    let srv = Serve::start(&s);
    for (args, want) in SAME.iter().zip(&local) {
        let got = remote_ok(&s, &srv, &token, args);
        assert_eq!(&got, want, "numinv {args:?} differs through --server");
    }
    // The listing is non-trivial: the comparison would catch a real difference.
    assert!(local[0].contains("+442079460101") && local[0].contains("Cooling"));
    assert!(local[8].contains("Cooling") && local[8].contains("Available"));

    // The data dir is locked by the server; the error names its URL.
    let out = command(&s.data(), &["numbers", "list"])
        .env("NUMINV_LOCK_WAIT_MS", "0")
        .output()
        .unwrap();
    let line = one_error_line(&common::Run {
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
        ok: out.status.success(),
    });
    assert!(
        line.contains(&format!("--server {}", srv.url)),
        "lock error should name the server: {line}"
    );
    srv.stop();
}

#[test]
fn remote_changes_go_through_the_api_and_file_commands_say_why_not() {
    let (s, token) = prepared();
    let srv = Serve::start(&s);
    let out = remote_ok(
        &s,
        &srv,
        &token,
        &["numbers", "reserve", "+442079460104", "--notes", "x"],
    );
    assert!(
        out.starts_with("reserved +442079460104: Reserved (transaction "),
        "{out}"
    );
    let out = remote_ok(
        &s,
        &srv,
        &token,
        &[
            "numbers",
            "allocate",
            "--hierarchy",
            "Provider/Contoso/London",
        ],
    );
    assert_eq!(out, "+442079460100\n");
    let out = remote_ok(&s, &srv, &token, &["numbers", "unassign", "+442079460100"]);
    assert!(out.starts_with("unassigned +442079460100: "), "{out}");
    let csv = s.path("in.csv");
    std::fs::write(
        &csv,
        "number,status\n+442079460200,Available\n+442079460100,Available\n",
    )
    .unwrap();
    let out = remote_ok(
        &s,
        &srv,
        &token,
        &["numbers", "import", csv.to_str().unwrap()],
    );
    assert!(
        out.starts_with("created 1, skipped 1 (transaction "),
        "{out}"
    );
    let out = remote_ok(&s, &srv, &token, &["numbers", "delete", "+442079460200"]);
    assert!(
        out.starts_with("deleted +442079460200 (transaction "),
        "{out}"
    );
    let out = remote_ok(
        &s,
        &srv,
        &token,
        &[
            "macros",
            "set",
            "audiocodes_cooling_duration",
            "4",
            "--hierarchy",
            "Provider",
        ],
    );
    assert!(
        out.starts_with("audiocodes_cooling_duration = 4 at Provider (transaction "),
        "{out}"
    );
    let out = remote_ok(
        &s,
        &srv,
        &token,
        &["settings", "set", "number_inventory_cooling_days", "10"],
    );
    assert!(
        out.starts_with("number_inventory_cooling_days = 10 (transaction "),
        "{out}"
    );
    let out = remote_ok(&s, &srv, &token, &["expire"]);
    assert!(out.starts_with("released 0 (0 overdue)"), "{out}");
    let backup = s.path("copy");
    let out = remote_ok(&s, &srv, &token, &["backup", backup.to_str().unwrap()]);
    assert!(out.starts_with("backed up "), "{out}");
    let out = remote_ok(&s, &srv, &token, &["tokens", "list"]);
    assert!(out.contains("ci") && out.contains("admin"), "{out}");

    // Errors come back as the server's one line.
    let line = one_error_line(&remote(
        &s,
        &srv,
        &token,
        &["numbers", "show", "+449999999999"],
    ));
    assert!(
        line.starts_with("error: ") && line.contains("+449999999999"),
        "{line}"
    );
    let line = one_error_line(&remote(&s, &srv, "", &["numbers", "list"]));
    assert!(line.contains("NUMINV_TOKEN"), "{line}");
    for args in [
        &["log", "verify"][..],
        &["log", "dump", "x"],
        &["serve"],
        &["demo"],
        &["tokens", "create", "x", "--role", "read"],
    ] {
        let line = one_error_line(&remote(&s, &srv, &token, args));
        assert!(
            line.contains("does not go through --server"),
            "{args:?}: {line}"
        );
    }
    srv.stop();

    // The backup taken while the server ran is a complete, verifiable data dir; so is the
    // original after the server stopped.
    assert!(common::run_in(&backup, &["log", "verify"]).ok);
    let v = s.ok(&["log", "verify"]);
    assert!(v.starts_with("log ok"), "{v}");
    let shown = s.ok(&["numbers", "show", "+442079460104"]);
    assert!(shown.contains("Reserved"), "{shown}");
}

#[test]
fn remote_connection_sync_audit_and_purge_against_the_simulator() {
    use numinv_sim::{ChurnRates, ServeOptions, SimConfig, Simulator};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = Simulator::new(SimConfig {
        users: 12,
        churn: ChurnRates::none(),
        ..SimConfig::default()
    });
    let running = rt
        .block_on(sim.serve(ServeOptions {
            http: Some("127.0.0.1:0".parse().unwrap()),
            https: None,
        }))
        .unwrap();
    let sim_url = running.http_url.clone().unwrap();
    let (s, token) = prepared();
    let srv = Serve::start(&s);
    let run = |args: &[&str]| {
        let out = command(&s.data(), args)
            .env("NUMINV_SERVER", &srv.url)
            .env("NUMINV_TOKEN", &token)
            .env("ARM_PASSWORD", "sim-password")
            .output()
            .unwrap();
        let (o, e) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(out.status.success(), "numinv {args:?}: {e}");
        assert!(!o.contains("sim-password") && !e.contains("sim-password"));
        o
    };
    let out = run(&[
        "connections",
        "add",
        "lon",
        "--url",
        &sim_url,
        "--username",
        "admin",
        "--password-env",
        "ARM_PASSWORD",
        "--hierarchy",
        "Provider/Contoso/London",
        "--region",
        "GB",
    ]);
    assert!(
        out.starts_with("added connection lon with jobs SyncAudioCodes__lon and PurgeAudioCodes__lon, schedule ScheduleAudioCodes__lon (inactive) (transaction "),
        "{out}"
    );
    let shown = run(&["connections", "show", "lon"]);
    assert!(
        shown.contains("\"url\": ") && !shown.contains("password"),
        "{shown}"
    );
    let out = run(&["sync", "lon"]);
    assert!(out.starts_with("SyncAudioCodes__lon Success"), "{out}");
    assert!(out.contains("12 users (12 added"), "{out}");
    let out = run(&["audit"]);
    assert!(out.ends_with("0 findings\n"), "{out}");
    let out = run(&[
        "schedules",
        "set",
        "ScheduleAudioCodes__lon",
        "--every",
        "15m",
        "--active",
        "true",
    ]);
    assert_eq!(out, "ScheduleAudioCodes__lon every 900s, active true\n");
    let out = run(&["purge", "lon", "--force"]);
    assert!(out.starts_with("PurgeAudioCodes__lon Success"), "{out}");
    let out = run(&["connections", "delete", "lon"]);
    assert!(
        out.starts_with("deleted connection lon (transaction "),
        "{out}"
    );
    srv.stop();
    drop(running);
}
