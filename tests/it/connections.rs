//! Issue "ARM client, connections and simulator": connections from the CLI against the
//! simulator served in this test process, and the promise that the password never shows.

use crate::common;

use common::Session;
use numinv_sim::{ChurnRates, RunningSim, ServeOptions, SimConfig, Simulator, UserOp};

const PASSWORD: &str = "sim-password";

struct Sim {
    sim: Simulator,
    running: RunningSim,
    _rt: tokio::runtime::Runtime,
}

fn sim(users: usize) -> Sim {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = Simulator::new(SimConfig {
        users,
        churn: ChurnRates::none(),
        ..SimConfig::default()
    });
    let running = rt.block_on(sim.serve(ServeOptions::loopback())).unwrap();
    Sim {
        sim,
        running,
        _rt: rt,
    }
}

fn run_env(s: &Session, args: &[&str]) -> common::Run {
    let out = common::command(&s.data(), args)
        .env("ARM_PASSWORD", PASSWORD)
        .env("NUMINV_LOG", "trace")
        .output()
        .unwrap();
    common::Run {
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
        ok: out.status.success(),
    }
}

fn add_https(s: &Session, sim: &Sim, extra: &[&str]) -> common::Run {
    let url = sim.running.https_url.clone().unwrap();
    let mut args = vec![
        "connections",
        "add",
        "lon",
        "--url",
        &url,
        "--username",
        "admin",
        "--password-env",
        "ARM_PASSWORD",
        "--hierarchy",
        "Provider/Contoso/London",
        "--region",
        "GB",
        "--pin-sha256",
        &sim.running.cert_sha256_hex,
    ];
    args.extend_from_slice(extra);
    run_env(s, &args)
}

#[test]
fn a_connection_brings_its_jobs_schedule_and_syncs_on_save() {
    let sim = sim(200);
    let s = Session::new();
    let r = add_https(&s, &sim, &["--sync-on-save", "true"]);
    assert!(r.ok, "{}", r.err);
    assert!(
        r.out.contains("SyncAudioCodes__lon") && r.out.contains("PurgeAudioCodes__lon"),
        "{}",
        r.out
    );
    assert!(
        r.out.contains("sync on save: SyncAudioCodes__lon Success"),
        "{}",
        r.out
    );
    let schedules = s.ok(&["schedules", "list"]);
    assert!(
        schedules.contains("ScheduleAudioCodes__lon") && schedules.contains("false"),
        "{schedules}"
    );
    s.ok(&[
        "schedules",
        "set",
        "ScheduleAudioCodes__lon",
        "--every",
        "1m",
        "--active",
        "true",
    ]);
    assert!(s.ok(&["schedules", "list"]).contains("60"));
    let held = sim.sim.truth().held.len();
    let used = s.ok(&["numbers", "list", "--status", "Used", "--format", "json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&used)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        held
    );

    let test = s.ok(&["connections", "test", "lon"]);
    assert!(test.contains(&sim.running.cert_sha256_hex), "{test}");
    assert!(test.contains("basic"), "{test}");

    let e = s.fails(&["connections", "delete", "lon"]);
    assert!(e.contains("numinv purge lon"), "{e}");
    let purge = s.ok(&["purge", "lon", "--force"]);
    assert!(
        purge.contains("200 removed") || purge.contains("removed"),
        "{purge}"
    );
    s.ok(&["connections", "delete", "lon"]);
    assert!(s.ok(&["connections", "list"]).lines().count() == 1);
}

#[test]
fn a_self_signed_device_is_refused_without_pin_and_the_error_says_how_to_trust_it() {
    let sim = sim(5);
    let s = Session::new();
    let url = sim.running.https_url.clone().unwrap();
    let r = run_env(
        &s,
        &[
            "connections",
            "add",
            "lon",
            "--url",
            &url,
            "--username",
            "admin",
            "--password-env",
            "ARM_PASSWORD",
            "--hierarchy",
            "H",
        ],
    );
    assert!(r.ok, "{}", r.err);
    let r = run_env(&s, &["sync", "lon"]);
    assert!(!r.ok);
    let last = r.err.lines().last().unwrap_or("");
    assert!(
        last.contains("--pin-sha256") && last.contains(&sim.running.cert_sha256_hex),
        "{last}"
    );
    assert!(s.ok(&["transactions", "list"]).contains("Fail"));
}

#[test]
fn bad_connection_input_is_one_line() {
    let s = Session::new();
    let e = s.fails(&[
        "connections",
        "add",
        "x",
        "--url",
        "https://h:1",
        "--password-env",
        "NOPE_NOT_SET",
    ]);
    assert!(e.contains("NOPE_NOT_SET"), "{e}");
    let r = run_env(
        &s,
        &[
            "connections",
            "add",
            "x",
            "--url",
            "https://h:1",
            "--password-env",
            "ARM_PASSWORD",
            "--region",
            "XX",
        ],
    );
    assert!(
        !r.ok && r.err.contains("region \"XX\" is not known"),
        "{}",
        r.err
    );
    let r = run_env(
        &s,
        &[
            "connections",
            "add",
            "x",
            "--url",
            "https://h:1",
            "--password-env",
            "ARM_PASSWORD",
            "--pin-sha256",
            "abc",
        ],
    );
    assert!(!r.ok && r.err.contains("64 hex digits"), "{}", r.err);
    let r = run_env(
        &s,
        &[
            "connections",
            "add",
            "bad name",
            "--url",
            "https://h:1",
            "--password-env",
            "ARM_PASSWORD",
        ],
    );
    assert!(!r.ok && r.err.contains("connection name"), "{}", r.err);
    let r = run_env(
        &s,
        &[
            "connections",
            "add",
            "x",
            "--url",
            "https://h:1",
            "--password-env",
            "ARM_PASSWORD",
            "--hierarchy",
            "P/\tC",
        ],
    );
    assert!(
        !r.ok && r.err.contains("connection x: hierarchy") && r.err.contains("control character"),
        "{}",
        r.err
    );
    assert!(s.ok(&["connections", "list"]).lines().count() == 1);
}

#[test]
fn the_password_never_appears_in_output_tracing_log_or_files() {
    let sim = sim(50);
    let s = Session::new();
    let mut seen = String::new();
    let mut run = |args: &[&str]| {
        let r = run_env(&s, args);
        seen.push_str(&r.out);
        seen.push_str(&r.err);
        r
    };
    let url = sim.running.https_url.clone().unwrap();
    let pin = sim.running.cert_sha256_hex.clone();
    assert!(
        run(&[
            "connections",
            "add",
            "lon",
            "--url",
            &url,
            "--username",
            "admin",
            "--password-env",
            "ARM_PASSWORD",
            "--auth",
            "session",
            "--hierarchy",
            "H",
            "--region",
            "GB",
            "--pin-sha256",
            &pin
        ])
        .ok
    );
    assert!(run(&["sync", "lon"]).ok);
    sim.sim
        .script(&[UserOp::Offline {
            id: "ru-00000001".into(),
        }])
        .unwrap();
    assert!(run(&["sync", "lon", "--format", "json"]).ok);
    for args in [
        vec!["connections", "show", "lon"],
        vec!["connections", "list", "--format", "json"],
        vec!["connections", "test", "lon"],
        vec!["log", "show", "--format", "json"],
        vec!["transactions", "list", "--format", "json"],
    ] {
        assert!(run(&args).ok, "{args:?}");
    }
    // A wrong password in an update, then a failing sync: the error must not echo either.
    let bad = std::fs::File::create(s.path("bad.pass")).unwrap();
    drop(bad);
    std::fs::write(s.path("bad.pass"), "wrong-secret-value\n").unwrap();
    assert!(
        run(&[
            "connections",
            "update",
            "lon",
            "--password-file",
            s.path("bad.pass").to_str().unwrap()
        ])
        .ok
    );
    assert!(!run(&["sync", "lon"]).ok);
    let dump = s.path("log.dump");
    assert!(run(&["log", "dump", dump.to_str().unwrap()]).ok);
    assert!(
        seen.contains("TRACE") || seen.contains("DEBUG") || seen.contains("INFO"),
        "tracing was not on"
    );
    for secret in [PASSWORD, "wrong-secret-value"] {
        assert!(!seen.contains(secret), "{secret} leaked into output");
        let dump_bytes = std::fs::read(&dump).unwrap();
        assert!(
            !contains(&dump_bytes, secret.as_bytes()),
            "{secret} leaked into the log dump"
        );
        for f in std::fs::read_dir(s.data()).unwrap() {
            let bytes = std::fs::read(f.unwrap().path()).unwrap();
            assert!(
                !contains(&bytes, secret.as_bytes()),
                "{secret} stored in clear in the data dir"
            );
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
