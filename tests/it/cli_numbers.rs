//! Issue "inventory core": the CLI sessions it promises, run against the real binary.

use crate::common;

use common::{fixture, Session};

const RANGE: &str = "+442079460100..+442079460199";
const LONDON: &str = "Provider/Contoso/London";

#[test]
fn range_add_twice_creates_then_skips_without_moving_the_log() {
    let s = Session::new();
    let out = s.ok(&["numbers", "add", "--range", RANGE, "--hierarchy", LONDON]);
    assert!(out.starts_with("created 100, skipped 0"), "{out}");
    let seq = s.head_seq();
    let out = s.ok(&["numbers", "add", "--range", RANGE, "--hierarchy", LONDON]);
    assert!(
        out.starts_with("created 0, skipped 100 (nothing changed)"),
        "{out}"
    );
    assert_eq!(s.head_seq(), seq);
    let listed = s.ok(&[
        "numbers",
        "list",
        "--status",
        "Available",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 100);
    assert_eq!(v[0]["number"], "+442079460100");
    assert_eq!(v[0]["hierarchy"], LONDON);
}

#[test]
fn csv_import_export_keeps_plus_and_leading_zeros() {
    let s = Session::new();
    let out = s.ok(&["numbers", "import", &fixture("inventory-sample.csv")]);
    assert!(out.starts_with("created 5, skipped 0"), "{out}");
    let csv = s.ok(&["numbers", "export", "--format", "csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("number,status,"), "{csv}");
    assert!(lines[0].ends_with("extra.cost_centre"), "{csv}");
    let numbers: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        numbers,
        [
            "+14155550150",
            "+442079460100",
            "+442079460101",
            "+442079460102",
            "0201"
        ]
    );
    assert!(
        csv.contains("0201,Available,,,,,Lobby phone,,,,Provider/Contoso/London,CC-007"),
        "{csv}"
    );
    // The export imports again into an empty inventory unchanged.
    std::fs::write(s.path("export.csv"), &csv).unwrap();
    let s2 = Session::new();
    s2.ok(&["numbers", "import", s.path("export.csv").to_str().unwrap()]);
    assert_eq!(s2.ok(&["numbers", "export", "--format", "csv"]), csv);
}

#[test]
fn cool_expire_and_history() {
    let s = Session::new();
    s.ok(&[
        "numbers",
        "add",
        "+442079460100",
        "--hierarchy",
        LONDON,
        "--now",
        "2026-12-01T09:00:00Z",
    ]);
    let out = s.ok(&[
        "numbers",
        "cool",
        "+442079460100",
        "--days",
        "3",
        "--now",
        "2026-12-03T10:00:00Z",
    ]);
    assert!(out.contains("until 2026-12-06"), "{out}");
    let out = s.ok(&["expire", "--now", "2026-12-05T23:59:59Z"]);
    assert!(out.starts_with("released 0"), "{out}");
    let out = s.ok(&["expire", "--now", "2026-12-06T00:00:01Z"]);
    assert!(out.starts_with("released 1"), "{out}");
    let shown = s.ok(&["numbers", "show", "+442079460100", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(v["status"], "Available");
    assert_eq!(v["tag"], "");
    let history = s.ok(&["numbers", "history", "+44 20 7946 0100"]);
    let rows: Vec<&str> = history.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{history}");
    assert!(
        rows[0].contains("2026-12-01T09:00:00Z")
            && rows[0].contains("cli")
            && rows[0].contains("created Available")
    );
    assert!(rows[1].contains("2026-12-03T10:00:00Z") && rows[1].contains("Cooling"));
    assert!(rows[2].contains("2026-12-06T00:00:01Z") && rows[2].contains("expiry"));
    // Each row names its transaction; the transaction exists.
    let tx: u64 = rows[2].split_whitespace().nth(3).unwrap().parse().unwrap();
    assert!(s
        .ok(&["transactions", "show", &tx.to_string()])
        .contains("expiry"));
}

#[test]
fn allocate_from_eight_processes_gives_eight_different_numbers() {
    let s = Session::new();
    s.ok(&[
        "numbers",
        "add",
        "--range",
        "+442079460100..+442079460119",
        "--hierarchy",
        LONDON,
    ]);
    let children: Vec<_> = (0..8)
        .map(|_| {
            common::command(&s.data(), &["numbers", "allocate", "--hierarchy", LONDON])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut got: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        })
        .collect();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 8, "{got:?}");
    let used = s.ok(&["numbers", "list", "--status", "Used", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&used).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 8);
}

#[test]
fn verify_replay_and_dump() {
    let s = Session::new();
    s.ok(&[
        "numbers",
        "add",
        "--range",
        "+442079460100..+442079460109",
        "--hierarchy",
        LONDON,
        "--now",
        "2026-12-01T00:00:00Z",
    ]);
    let mid = s.head_seq();
    let mid_export = s.ok(&["numbers", "export"]);
    s.ok(&[
        "numbers",
        "reserve",
        "+442079460105",
        "--notes",
        "CEO",
        "--now",
        "2026-12-02T00:00:00Z",
    ]);
    s.ok(&[
        "numbers",
        "delete",
        "+442079460109",
        "--now",
        "2026-12-02T00:00:00Z",
    ]);
    assert!(s.ok(&["log", "verify"]).starts_with("log ok"));
    let full_export = s.ok(&["numbers", "export"]);

    let d2 = s.path("d2");
    s.ok(&[
        "log",
        "replay",
        "--to",
        &mid.to_string(),
        "--out",
        d2.to_str().unwrap(),
    ]);
    assert_eq!(common::run_in(&d2, &["numbers", "export"]).out, mid_export);

    let d_at = s.path("d_at");
    s.ok(&[
        "log",
        "replay",
        "--at",
        "2026-12-01T12:00:00Z",
        "--out",
        d_at.to_str().unwrap(),
    ]);
    assert_eq!(
        common::run_in(&d_at, &["numbers", "export"]).out,
        mid_export
    );

    let dump = s.path("log.dump");
    s.ok(&["log", "dump", dump.to_str().unwrap()]);
    let d3 = s.path("d3");
    s.ok(&[
        "log",
        "replay",
        "--from",
        dump.to_str().unwrap(),
        "--out",
        d3.to_str().unwrap(),
    ]);
    assert_eq!(common::run_in(&d3, &["numbers", "export"]).out, full_export);
    assert!(common::run_in(&d3, &["log", "verify"])
        .out
        .starts_with("log ok"));
    assert_eq!(
        common::run_in(&d3, &["transactions", "list"]).out,
        s.ok(&["transactions", "list"])
    );
}

#[test]
fn a_held_data_dir_gets_one_clear_line() {
    let s = Session::new();
    s.ok(&["numbers", "add", "+442079460100"]);
    let _held = numinv::store::Store::open(&s.data(), std::time::Duration::ZERO).unwrap();
    let r = common::run_in(&s.data(), &["--lock-wait-ms", "50", "numbers", "list"]);
    assert!(!r.ok);
    let line = r.err.trim();
    assert!(!line.contains('\n'), "{line}");
    assert!(line.contains(&s.data().display().to_string()), "{line}");
    assert!(
        line.contains("another numinv process holds it") && line.contains("--server"),
        "{line}"
    );
}

#[test]
fn a_data_dir_held_by_the_server_is_refused_at_once_with_its_url() {
    let s = Session::new();
    s.ok(&["numbers", "add", "+442079460100"]);
    let _held = numinv::store::Store::open(&s.data(), std::time::Duration::ZERO).unwrap();
    std::fs::write(
        s.data().join(numinv::store::HOLDER_FILE),
        "numinv serve pid 4121 at http://127.0.0.1:8080",
    )
    .unwrap();
    // A server does not let go, so the minute of lock wait given here is not spent.
    let t0 = std::time::Instant::now();
    let r = common::run_in(&s.data(), &["--lock-wait-ms", "60000", "numbers", "list"]);
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(30),
        "it waited"
    );
    assert!(!r.ok);
    let line = r.err.trim();
    assert!(!line.contains('\n'), "{line}");
    assert!(
        line.contains("--server http://127.0.0.1:8080") && line.contains("NUMINV_TOKEN"),
        "{line}"
    );
}

#[test]
fn a_read_only_command_on_a_missing_data_dir_says_so_and_creates_nothing() {
    let s = Session::new();
    let typo = s.path("typo-dir");
    for args in [
        &["numbers", "list"][..],
        &["numbers", "show", "+442079460100"],
        &["transactions", "list"],
        &["log", "verify"],
        &["audit"],
    ] {
        let r = common::run_in(&typo, args);
        assert!(!r.ok, "{args:?}");
        let line = r.err.trim();
        assert!(!line.contains('\n'), "{line}");
        assert!(
            line.contains("typo-dir holds no inventory") && line.contains("--data-dir"),
            "{line}"
        );
        assert!(!typo.exists(), "{args:?} created {}", typo.display());
    }
    // A command that changes the inventory starts one there.
    common::run_in(&typo, &["numbers", "add", "+442079460100"]);
    assert!(typo.join(numinv::store::DB_FILE).is_file());
}

#[test]
fn bad_input_is_one_line_and_changes_nothing() {
    let s = Session::new();
    s.ok(&["numbers", "add", "+442079460100"]);
    let seq = s.head_seq();
    let e = s.fails(&["numbers", "add", "12ab"]);
    assert!(e.contains("\"12ab\" is not a phone number"), "{e}");
    let e = s.fails(&["numbers", "add", "--range", "100..1000"]);
    assert!(e.contains("different lengths"), "{e}");
    let e = s.fails(&["numbers", "add", "--range", "+440000000..+442000000"]);
    assert!(e.contains("at most 1000000"), "{e}");
    let csv = s.path("bad.csv");
    std::fs::write(
        &csv,
        "number,status\n+442079460201,Available\n+442079460202,Free\n",
    )
    .unwrap();
    let e = s.fails(&["numbers", "import", csv.to_str().unwrap()]);
    assert!(
        e.contains("line 3") && e.contains("unknown status \"Free\""),
        "{e}"
    );
    // A control character in a hierarchy (the fuzzer found a NUL, which separates macro
    // keys) is refused by every path that stores one.
    std::fs::write(
        &csv,
        "number,hierarchy\n+442079460203,P/C\n+442079460204,/\t\0C/\n",
    )
    .unwrap();
    let e = s.fails(&["numbers", "import", csv.to_str().unwrap()]);
    assert!(
        e.contains("line 3") && e.contains("control character '\\0'"),
        "{e}"
    );
    let e = s.fails(&["numbers", "add", "+442079460205", "--hierarchy", "P/\x07C"]);
    assert!(e.contains("control character '\\u{7}'"), "{e}");
    let e = s.fails(&[
        "macros",
        "set",
        "audiocodes_cooling_duration",
        "5",
        "--hierarchy",
        "P/\tC",
    ]);
    assert!(e.contains("control character '\\t'"), "{e}");
    let e = s.fails(&["macros", "set", "audiocodes_cooling_duration", "abc"]);
    assert!(e.contains("\"abc\" is not a whole number of days"), "{e}");
    let e = s.fails(&["numbers", "delete", "+449999999999"]);
    assert!(e.contains("not in the inventory"), "{e}");
    assert_eq!(s.head_seq(), seq);
    assert_eq!(
        s.ok(&["numbers", "list", "--format", "json"])
            .matches("\"number\"")
            .count(),
        1
    );
}

#[test]
fn macros_resolve_along_the_hierarchy() {
    let s = Session::new();
    assert_eq!(
        s.ok(&["macros", "get", "audiocodes_cooling_duration"]),
        "2\n"
    );
    s.ok(&[
        "macros",
        "set",
        "audiocodes_cooling_duration",
        "5",
        "--hierarchy",
        "Provider/Contoso",
    ]);
    assert_eq!(
        s.ok(&[
            "macros",
            "get",
            "audiocodes_cooling_duration",
            "--hierarchy",
            LONDON
        ]),
        "5\n"
    );
    // Slashes and blanks around a path are not part of it, however they are mixed.
    s.ok(&[
        "macros",
        "set",
        "audiocodes_cooling_duration",
        "7",
        "--hierarchy",
        " /Provider/Contoso/London/ ",
    ]);
    assert_eq!(
        s.ok(&[
            "macros",
            "get",
            "audiocodes_cooling_duration",
            "--hierarchy",
            LONDON
        ]),
        "7\n"
    );
    assert_eq!(
        s.ok(&[
            "macros",
            "get",
            "audiocodes_cooling_duration",
            "--hierarchy",
            "Provider/Fabrikam"
        ]),
        "2\n"
    );
    assert_eq!(
        s.ok(&["settings", "get", "number_inventory_cooling_days"]),
        "30\n"
    );
    assert_eq!(
        s.ok(&["macros", "get", "PULL_SYNC_DELETE_THRESHOLD_AudioCodes"]),
        "(unset)\n"
    );
}

#[test]
fn backup_copies_a_verified_store() {
    let s = Session::new();
    s.ok(&["numbers", "add", "--range", RANGE, "--hierarchy", LONDON]);
    let b = s.path("backup");
    s.ok(&["backup", b.to_str().unwrap()]);
    assert!(common::run_in(&b, &["log", "verify"])
        .out
        .starts_with("log ok: 101 events"));
    assert_eq!(
        common::run_in(&b, &["numbers", "export"]).out,
        s.ok(&["numbers", "export"])
    );
}

#[test]
fn backup_keeps_the_key_that_decrypts_connection_passwords() {
    use numinv::store::Store;
    use std::time::Duration;
    let s = Session::new();
    s.ok(&["numbers", "add", "--range", RANGE, "--hierarchy", LONDON]);
    {
        let store = Store::open(&s.data(), Duration::ZERO).unwrap();
        let secret = numinv::arm::Secret::new("s3cret-pw".into());
        numinv::ops::secrets::store_secret(&store, "lon", Some(&secret)).unwrap();
    }
    let b = s.path("backup");
    s.ok(&["backup", b.to_str().unwrap()]);
    let key = b.join(numinv::ops::secrets::KEY_FILE);
    assert_eq!(
        std::fs::read(&key).unwrap(),
        std::fs::read(s.data().join(numinv::ops::secrets::KEY_FILE)).unwrap()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "key file mode {mode:o}");
    }
    let copy = Store::open(&b, Duration::ZERO).unwrap();
    let back = numinv::ops::secrets::load_secret(&copy, "lon").unwrap();
    assert_eq!(back.expose(), "s3cret-pw");
}

#[test]
fn a_refused_replay_leaves_no_half_made_output() {
    use numinv::store::Store;
    use std::time::Duration;
    let s = Session::new();
    s.ok(&["numbers", "add", "--range", RANGE, "--hierarchy", LONDON]);
    let out = s.path("past");
    // This test process holds the source, as a running server would.
    let held = Store::open(&s.data(), Duration::ZERO).unwrap();
    let e = s.fails(&[
        "--lock-wait-ms",
        "0",
        "log",
        "replay",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(e.contains("another numinv process holds it"), "{e}");
    // Replay reads the file itself: the way forward is a backup, not --server.
    assert!(
        e.contains("backup DIR") && !e.contains("run this command through"),
        "{e}"
    );
    assert!(!out.exists(), "--out was left behind");
    drop(held);
    // The same command now simply works.
    assert!(s
        .ok(&["log", "replay", "--out", out.to_str().unwrap()])
        .starts_with("replayed 101 events"));
    // No command leaves a holder file naming a process that has exited.
    for dir in [s.data(), out] {
        assert!(!dir.join(numinv::store::HOLDER_FILE).exists(), "{dir:?}");
    }
}
