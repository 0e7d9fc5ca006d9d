use super::*;
use crate::domain::{Entry, Status};
use chrono::TimeZone;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap()
}

fn add(store: &Store, numbers: &[&str], now: DateTime<Utc>) -> Option<TxRecord> {
    store
        .write::<_, StoreError>("numbers.add", "cli", now, |w| {
            for n in numbers {
                if w.entry(n)?.is_none() {
                    w.put_entry(&Entry::new(n, "P/C", now))?;
                    w.tx.count("created", 1);
                }
            }
            Ok(())
        })
        .unwrap()
        .tx
}

fn set_status(store: &Store, key: &str, st: Status, now: DateTime<Utc>) {
    store
        .write::<_, StoreError>("test", "cli", now, |w| {
            let mut e = w.entry(key)?.unwrap();
            e.status = st;
            e.release_date = Some(now.date_naive());
            e.touch(now);
            w.put_entry(&e)
        })
        .unwrap();
}

#[test]
fn writes_are_logged_and_verify() {
    let s = Store::in_memory().unwrap();
    let tx = add(&s, &["+441", "+442"], t0()).unwrap();
    // two entries + the transaction record
    assert_eq!((tx.seq_first, tx.seq_last), (1, 3));
    assert_eq!(s.head().unwrap().0, 3);
    let r = s.verify().unwrap();
    assert_eq!(r.events, 3);
    assert_eq!(r.rows, 3);
}

#[test]
fn a_write_that_changes_nothing_leaves_no_trace() {
    let s = Store::in_memory().unwrap();
    add(&s, &["+441"], t0());
    let head = s.head().unwrap();
    assert!(add(&s, &["+441"], t0()).is_none());
    assert_eq!(s.head().unwrap(), head);
}

#[test]
fn a_failed_write_changes_nothing() {
    let s = Store::in_memory().unwrap();
    add(&s, &["+441"], t0());
    let before = (s.head().unwrap(), s.state_rows().unwrap());
    let r = s.write::<(), StoreError>("x", "cli", t0(), |w| {
        w.put_entry(&Entry::new("+449", "P", t0()))?;
        Err(StoreError::Encode("boom".into()))
    });
    assert!(r.is_err());
    assert_eq!((s.head().unwrap(), s.state_rows().unwrap()), before);
    let failed = s
        .record_failure(
            "sync",
            "sync:a",
            t0(),
            t0(),
            "page 7: 503",
            Default::default(),
        )
        .unwrap();
    assert_eq!(s.head().unwrap(), before.0);
    assert_eq!(
        s.read()
            .unwrap()
            .transaction(failed.id)
            .unwrap()
            .unwrap()
            .status,
        TxStatus::Fail
    );
}

#[test]
fn indexes_follow_status_and_release_date() {
    let s = Store::in_memory().unwrap();
    add(&s, &["+441", "+442", "+443"], t0());
    set_status(&s, "+442", Status::Cooling, t0());
    let r = s.read().unwrap();
    assert_eq!(r.status_counts().unwrap()[&Status::Cooling], 1);
    assert_eq!(r.status_counts().unwrap()[&Status::Available], 2);
    assert_eq!(r.keys_due(t0().date_naive()).unwrap(), ["+442"]);
    assert!(r
        .keys_due(t0().date_naive().pred_opt().unwrap())
        .unwrap()
        .is_empty());
    let f = EntryFilter {
        status: Some(Status::Available),
        ..Default::default()
    };
    let listed: Vec<_> = r
        .entries(&f)
        .unwrap()
        .into_iter()
        .map(|e| e.number)
        .collect();
    assert_eq!(listed, ["+441", "+443"]);
    assert_eq!(r.history(Entity::Entry, b"+442").unwrap().len(), 2);
}

#[test]
fn flipping_a_byte_of_an_event_names_its_sequence() {
    let s = Store::in_memory().unwrap();
    add(&s, &["+441", "+442"], t0());
    add(&s, &["+443"], t0());
    // Flip one byte in the middle of event 2.
    let wtx = s.db.begin_write().unwrap();
    {
        let mut t = wtx.open_table(EVENTS).unwrap();
        let mut v = t.get(2).unwrap().unwrap().value().to_vec();
        let mid = v.len() / 2;
        v[mid] ^= 0x01;
        t.insert(2, v.as_slice()).unwrap();
    }
    wtx.commit().unwrap();
    match s.verify() {
        Err(StoreError::Log { seq, .. }) => assert_eq!(seq, 2),
        other => panic!("expected a broken log at 2, got {other:?}"),
    }
}

#[test]
fn a_truncated_log_is_detected() {
    let s = Store::in_memory().unwrap();
    add(&s, &["+441", "+442"], t0());
    let wtx = s.db.begin_write().unwrap();
    wtx.open_table(EVENTS).unwrap().remove(3).unwrap();
    wtx.commit().unwrap();
    assert!(matches!(s.verify(), Err(StoreError::Log { .. })));
}

#[test]
fn replay_reproduces_tables_and_stops_where_asked() {
    let s = Store::in_memory().unwrap();
    add(&s, &["+441", "+442"], t0());
    let mid_seq = s.head().unwrap().0;
    let mid_rows = s.state_rows().unwrap();
    set_status(
        &s,
        "+441",
        Status::Cooling,
        t0() + chrono::Duration::hours(1),
    );
    add(&s, &["+443"], t0() + chrono::Duration::hours(2));

    let full = Store::in_memory().unwrap();
    full.replay_from(LogSource::Store(&s), ReplayStop::End)
        .unwrap();
    assert_eq!(full.state_rows().unwrap(), s.state_rows().unwrap());
    assert_eq!(full.head().unwrap(), s.head().unwrap());
    full.verify().unwrap();
    assert_eq!(
        full.read().unwrap().keys_due(t0().date_naive()).unwrap(),
        ["+441"]
    );

    let past = Store::in_memory().unwrap();
    past.replay_from(LogSource::Store(&s), ReplayStop::Seq(mid_seq))
        .unwrap();
    assert_eq!(past.state_rows().unwrap(), mid_rows);
    past.verify().unwrap();

    let at = Store::in_memory().unwrap();
    at.replay_from(
        LogSource::Store(&s),
        ReplayStop::Time(t0() + chrono::Duration::minutes(30)),
    )
    .unwrap();
    assert_eq!(at.state_rows().unwrap(), mid_rows);
}

#[test]
fn dump_and_replay_from_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::in_memory().unwrap();
    add(&s, &["+441", "+442"], t0());
    set_status(&s, "+442", Status::Reserved, t0());
    let file = dir.path().join("log.bin");
    assert_eq!(s.dump(&file).unwrap(), s.head().unwrap().0);
    let copy = Store::in_memory().unwrap();
    copy.replay_from(LogSource::File(file.clone()), ReplayStop::End)
        .unwrap();
    assert_eq!(copy.state_rows().unwrap(), s.state_rows().unwrap());

    // A tampered dump is refused, naming the event.
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    bytes[n - 40] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let bad = Store::in_memory().unwrap();
    assert!(matches!(
        bad.replay_from(LogSource::File(file), ReplayStop::End),
        Err(StoreError::Log { .. })
    ));
}

#[test]
fn a_held_data_dir_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let _held = Store::open(dir.path(), std::time::Duration::ZERO).unwrap();
    let err = Store::open(dir.path(), std::time::Duration::from_millis(20))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains(&dir.path().display().to_string()), "{err}");
    assert!(err.contains("another numinv process holds it"), "{err}");
    assert!(err.contains("--server"), "{err}");
    assert!(!err.contains('\n'));
}

#[test]
fn backup_is_a_verified_copy() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::in_memory().unwrap();
    add(&s, &["+441", "+442"], t0());
    s.backup_to(dir.path()).unwrap();
    let b = Store::open(dir.path(), std::time::Duration::ZERO).unwrap();
    assert_eq!(b.state_rows().unwrap(), s.state_rows().unwrap());
    b.verify().unwrap();
}
