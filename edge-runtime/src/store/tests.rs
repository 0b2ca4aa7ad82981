//! Conformance suite: every test runs against each compiled-in backend.

use super::*;
use crate::config::{StoreBackendKind, StoreSettings};

fn settings(kind: StoreBackendKind) -> StoreSettings {
    StoreSettings {
        backend: kind,
        cache_mb: 4,
    }
}

fn open(dir: &Path, kind: StoreBackendKind) -> Store {
    let opened = Store::open(dir, &settings(kind)).expect("open store");
    assert!(opened.quarantined.is_none());
    opened.store
}

fn put_get_delete(kind: StoreBackendKind) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), kind);
    assert_eq!(store.get("stock", b"sku-1").unwrap(), None);
    let mut b = Batch::new();
    b.put("stock", b"sku-1", b"12").put("stock", b"sku-2", b"3");
    store.commit(b).unwrap();
    assert_eq!(
        store.get("stock", b"sku-1").unwrap().as_deref(),
        Some(&b"12"[..])
    );
    let mut b = Batch::new();
    b.put("stock", b"sku-1", b"11").delete("stock", b"sku-2");
    store.commit(b).unwrap();
    assert_eq!(
        store.get("stock", b"sku-1").unwrap().as_deref(),
        Some(&b"11"[..])
    );
    assert_eq!(store.get("stock", b"sku-2").unwrap(), None);
}

fn tables_are_isolated(kind: StoreBackendKind) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), kind);
    let mut b = Batch::new();
    b.put("a", b"k", b"1")
        .put("ab", b"k", b"2")
        .put("a", b"", b"empty-key");
    b.append("a", b"log-entry");
    store.commit(b).unwrap();
    assert_eq!(store.get("a", b"k").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(store.get("ab", b"k").unwrap().as_deref(), Some(&b"2"[..]));
    let a: Vec<_> = store.scan("a", None, 100).unwrap();
    assert_eq!(
        a,
        vec![
            (b"".to_vec(), b"empty-key".to_vec()),
            (b"k".to_vec(), b"1".to_vec())
        ]
    );
    assert_eq!(store.read_log("a", 0, 10).unwrap().len(), 1);
    assert!(store.read_log("ab", 0, 10).unwrap().is_empty());
}

fn scan_orders_and_pages(kind: StoreBackendKind) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), kind);
    let mut b = Batch::new();
    for i in (0..50u32).rev() {
        b.put("t", format!("key-{i:03}").as_bytes(), &i.to_le_bytes());
    }
    store.commit(b).unwrap();
    let mut seen = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store.scan("t", after.as_deref(), 7).unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|(k, _)| k.clone());
        seen.extend(page.into_iter().map(|(k, _)| String::from_utf8(k).unwrap()));
    }
    let expected: Vec<String> = (0..50).map(|i| format!("key-{i:03}")).collect();
    assert_eq!(seen, expected);
}

fn log_keeps_append_order_across_reopen(kind: StoreBackendKind) {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path(), kind);
        let mut b = Batch::new();
        b.append("outbox", b"m0").append("outbox", b"m1");
        assert_eq!(store.commit(b).unwrap().log_ids, vec![0, 1]);
        let mut b = Batch::new();
        b.append("outbox", b"m2").remove_from_log("outbox", 0);
        assert_eq!(store.commit(b).unwrap().log_ids, vec![2]);
        store.close().unwrap();
    }
    let store = open(dir.path(), kind);
    let log = store.read_log("outbox", 0, 10).unwrap();
    assert_eq!(log, vec![(1, b"m1".to_vec()), (2, b"m2".to_vec())]);
    assert_eq!(store.read_log("outbox", 2, 10).unwrap().len(), 1);
    let mut b = Batch::new();
    b.append("outbox", b"m3");
    assert_eq!(
        store.commit(b).unwrap().log_ids,
        vec![3],
        "ids continue after reopen"
    );
}

fn log_ids_order_past_255(kind: StoreBackendKind) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), kind);
    for chunk in 0..5 {
        let mut b = Batch::new();
        for i in 0..64 {
            b.append("l", format!("{}", chunk * 64 + i).as_bytes());
        }
        store.commit(b).unwrap();
    }
    let all = store.read_log("l", 0, 1000).unwrap();
    assert_eq!(all.len(), 320);
    for (n, (id, v)) in all.iter().enumerate() {
        assert_eq!(*id, n as u64);
        assert_eq!(v, n.to_string().as_bytes());
    }
}

fn sequences_survive_reopen(kind: StoreBackendKind) {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path(), kind);
        let mut b = Batch::new();
        b.reserve("seq", 10).reserve("seq", 5).reserve("other", 1);
        let c = store.commit(b).unwrap();
        assert_eq!(c.reserved, vec![0..10, 10..15, 0..1]);
        store.close().unwrap();
    }
    let store = open(dir.path(), kind);
    assert_eq!(store.sequence("seq").unwrap(), 15);
    let mut b = Batch::new();
    b.reserve("seq", 1);
    assert_eq!(store.commit(b).unwrap().reserved, vec![15..16]);
}

fn bad_batch_changes_nothing(kind: StoreBackendKind) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), kind);
    let mut b = Batch::new();
    b.put("t", b"k", b"v").append("bad\0name", b"x");
    assert!(matches!(store.commit(b), Err(StoreError::InvalidName(_))));
    assert_eq!(store.get("t", b"k").unwrap(), None);
    assert!(matches!(
        store.get("", b"k"),
        Err(StoreError::InvalidName(_))
    ));
}

fn damaged_database_is_moved_aside(kind: StoreBackendKind) {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path(), kind);
        let mut b = Batch::new();
        b.put("t", b"k", b"v");
        store.commit(b).unwrap();
        store.close().unwrap();
    }
    let path = database_path(dir.path(), kind);
    // Overwrite every file of the database with garbage.
    let files: Vec<PathBuf> = if path.is_dir() {
        std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect()
    } else {
        vec![path.clone()]
    };
    for f in files {
        let len = std::fs::metadata(&f).unwrap().len().max(4096) as usize;
        let garbage: Vec<u8> = (0..len).map(|i| (i * 7919 % 251) as u8).collect();
        std::fs::write(&f, garbage).unwrap();
    }
    let opened = Store::open(dir.path(), &settings(kind)).expect("damaged store must not be fatal");
    let aside = opened.quarantined.expect("damage must be reported");
    assert!(
        aside.exists(),
        "the damaged database is kept for inspection"
    );
    assert!(aside
        .file_name()
        .unwrap()
        .to_string_lossy()
        .contains(".corrupt-"));
    assert_eq!(opened.store.get("t", b"k").unwrap(), None, "starts empty");
    let mut b = Batch::new();
    b.put("t", b"k", b"new");
    opened.store.commit(b).unwrap();
}

fn bit_rot_inside_a_valid_database_is_caught(kind: StoreBackendKind) {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path(), kind);
        for chunk in 0..20u32 {
            let mut b = Batch::new();
            for i in 0..100u32 {
                b.put("t", &(chunk * 100 + i).to_be_bytes(), &[chunk as u8; 300]);
            }
            store.commit(b).unwrap();
        }
        store.close().unwrap();
    }
    let path = database_path(dir.path(), kind);
    let file = if path.is_dir() {
        path.join("db")
    } else {
        path.clone()
    };
    let mut bytes = std::fs::read(&file).unwrap();
    let len = bytes.len();
    // Flip bytes across the middle half of the file, leaving headers intact.
    for i in (len / 4..3 * len / 4).step_by(512) {
        bytes[i] ^= 0xff;
    }
    std::fs::write(&file, bytes).unwrap();
    // Either the damage is detected at open (quarantine), or every read still answers
    // without panicking; never a crash.
    let opened = Store::open(dir.path(), &settings(kind)).expect("must not be fatal");
    println!(
        "{}: damage detected at open: {}",
        kind.name(),
        opened.quarantined.is_some()
    );
    if opened.quarantined.is_none() {
        for i in 0..2000u32 {
            let _ = opened.store.get("t", &i.to_be_bytes());
        }
        let _ = opened.store.scan("t", None, 10_000);
    }
    if kind == StoreBackendKind::Redb {
        assert!(
            opened.quarantined.is_some(),
            "redb verifies checksums on open"
        );
    }
}

fn second_open_is_locked_not_quarantined(kind: StoreBackendKind) {
    let dir = tempfile::tempdir().unwrap();
    let _first = open(dir.path(), kind);
    match Store::open(dir.path(), &settings(kind)) {
        Err(StoreError::Locked(_)) => {}
        Err(other) => panic!("expected Locked, got {other}"),
        Ok(o) => panic!("second open succeeded (quarantined: {:?})", o.quarantined),
    }
}

fn unwritable_state_dir_is_a_clear_error(kind: StoreBackendKind) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    match Store::open(&file.join("state"), &settings(kind)) {
        Err(e @ StoreError::NotWritable { .. }) => {
            assert!(e.to_string().contains("paths.state_dir"), "{e}")
        }
        Err(other) => panic!("expected NotWritable, got {other}"),
        Ok(_) => panic!("opened a store below a regular file"),
    }
}

fn disk_size_is_reported(kind: StoreBackendKind) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), kind);
    let mut b = Batch::new();
    b.put("t", b"k", &[7u8; 10_000]);
    store.commit(b).unwrap();
    assert!(store.disk_bytes().unwrap() >= 10_000);
}

macro_rules! conformance {
    ($module:ident, $kind:expr) => {
        mod $module {
            use super::*;
            #[test]
            fn put_get_delete() {
                super::put_get_delete($kind)
            }
            #[test]
            fn tables_are_isolated() {
                super::tables_are_isolated($kind)
            }
            #[test]
            fn scan_orders_and_pages() {
                super::scan_orders_and_pages($kind)
            }
            #[test]
            fn log_keeps_append_order_across_reopen() {
                super::log_keeps_append_order_across_reopen($kind)
            }
            #[test]
            fn log_ids_order_past_255() {
                super::log_ids_order_past_255($kind)
            }
            #[test]
            fn sequences_survive_reopen() {
                super::sequences_survive_reopen($kind)
            }
            #[test]
            fn bad_batch_changes_nothing() {
                super::bad_batch_changes_nothing($kind)
            }
            #[test]
            fn damaged_database_is_moved_aside() {
                super::damaged_database_is_moved_aside($kind)
            }
            #[test]
            fn bit_rot_inside_a_valid_database_is_caught() {
                super::bit_rot_inside_a_valid_database_is_caught($kind)
            }
            #[test]
            fn second_open_is_locked_not_quarantined() {
                super::second_open_is_locked_not_quarantined($kind)
            }
            #[test]
            fn unwritable_state_dir_is_a_clear_error() {
                super::unwritable_state_dir_is_a_clear_error($kind)
            }
            #[test]
            fn disk_size_is_reported() {
                super::disk_size_is_reported($kind)
            }
        }
    };
}

#[cfg(feature = "store-redb")]
conformance!(redb, StoreBackendKind::Redb);
#[cfg(feature = "store-sled")]
conformance!(sled, StoreBackendKind::Sled);
