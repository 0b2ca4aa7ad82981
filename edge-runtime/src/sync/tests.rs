#![allow(clippy::needless_range_loop)] // index loops mirror the per-class arrays
//! Outbox against a real store in a temporary directory.

use super::*;
use crate::config::StoreSettings;
use crate::store::Store;
use proptest::prelude::*;
use std::sync::Arc;

fn open_store(dir: &std::path::Path) -> Arc<Store> {
    Arc::new(Store::open(dir, &StoreSettings::default()).unwrap().store)
}

fn outbox(store: Arc<Store>, max_bytes: u64) -> Outbox {
    Outbox::open(
        store,
        OutboxSettings {
            store_id: "s1".into(),
            device_id: "d1".into(),
            max_bytes,
            disk_reserve_bytes: 0,
        },
    )
    .unwrap()
}

fn msg(class: Class, n: u64) -> Outgoing {
    let mut body = serde_json::Map::new();
    body.insert("n".into(), n.into());
    Outgoing {
        class,
        topic: "stock/events".into(),
        qos: 1,
        schema: "test@1",
        body,
    }
}

fn body_n(e: &Entry) -> u64 {
    let v: serde_json::Value = serde_json::from_slice(&e.payload).unwrap();
    v["n"].as_u64().unwrap()
}

fn drain(o: &Outbox) -> Vec<Entry> {
    o.rewind();
    o.next_batch(1_000_000).unwrap()
}

#[test]
fn enqueued_messages_carry_the_envelope_and_come_out_highest_class_first() {
    let dir = tempfile::tempdir().unwrap();
    let o = outbox(open_store(dir.path()), 1 << 20);
    let r = o
        .enqueue_blocking(vec![
            msg(Class::Health, 0),
            msg(Class::Critical, 1),
            msg(Class::State, 2),
        ])
        .unwrap();
    assert_eq!(
        r,
        vec![
            Enqueued::Stored(0),
            Enqueued::Stored(1),
            Enqueued::Stored(2)
        ]
    );
    let out = drain(&o);
    assert_eq!(out.iter().map(body_n).collect::<Vec<_>>(), vec![1, 2, 0]);
    let v: serde_json::Value = serde_json::from_slice(&out[0].payload).unwrap();
    assert_eq!(v["schema"], "test@1");
    assert_eq!(v["device"], "d1");
    assert_eq!(v["store"], "s1");
    assert_eq!(v["seq"], 1);
    assert!(v["ts"].as_str().unwrap().ends_with('Z'));
    assert_eq!(out[0].topic, "retail/v1/s1/d1/stock/events");
}

#[test]
fn acked_messages_leave_and_the_rest_survive_a_restart_with_seq_continuing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open_store(dir.path());
        let o = outbox(store.clone(), 1 << 20);
        o.enqueue_blocking((0..10).map(|n| msg(Class::Critical, n)).collect())
            .unwrap();
        let out = drain(&o);
        o.ack(&out[..4]);
        futures_sync(&o);
        assert_eq!(o.stats()[Class::Critical as usize].queued, 6);
        store.close().unwrap();
    }
    let o = outbox(open_store(dir.path()), 1 << 20);
    let out = drain(&o);
    assert_eq!(
        out.iter().map(body_n).collect::<Vec<_>>(),
        (4..10).collect::<Vec<_>>()
    );
    assert_eq!(o.stats()[Class::Critical as usize].queued, 6);
    let r = o.enqueue_blocking(vec![msg(Class::Critical, 10)]).unwrap();
    assert_eq!(r, vec![Enqueued::Stored(10)], "seq continues after restart");
}

fn futures_sync(o: &Outbox) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(o.sync());
}

#[test]
fn a_full_outbox_drops_health_then_state_and_keeps_events() {
    let dir = tempfile::tempdir().unwrap();
    // Each message is about 130 bytes: 180 of them need about 23.5 kB.
    let o = outbox(open_store(dir.path()), 15_000);
    o.enqueue_blocking((0..40).map(|n| msg(Class::Health, n)).collect())
        .unwrap();
    o.enqueue_blocking((100..140).map(|n| msg(Class::State, n)).collect())
        .unwrap();
    o.enqueue_blocking((200..300).map(|n| msg(Class::Critical, n)).collect())
        .unwrap();
    let stats = o.stats();
    let total: u64 = stats.iter().map(|s| s.bytes).sum();
    assert!(total <= 15_000, "bounded: {total}");
    assert_eq!(
        stats[Class::Critical as usize].dropped,
        0,
        "events are dropped last"
    );
    assert_eq!(stats[Class::Health as usize].queued, 0, "health goes first");
    assert_eq!(stats[Class::Health as usize].dropped, 40);
    assert!(stats[Class::State as usize].dropped > 0);
    let out = drain(&o);
    let critical: Vec<u64> = out
        .iter()
        .filter(|e| e.class == Class::Critical)
        .map(body_n)
        .collect();
    assert_eq!(critical, (200..300).collect::<Vec<_>>());
    // The state messages kept are the newest ones, in order.
    let state: Vec<u64> = out
        .iter()
        .filter(|e| e.class == Class::State)
        .map(body_n)
        .collect();
    assert!(state.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(state.last(), Some(&139));
    assert_eq!(
        stats[Class::State as usize].dropped + state.len() as u64,
        40
    );
    // Now full of events: a health message is refused rather than displacing an event.
    let r = o.enqueue_blocking(vec![msg(Class::Health, 999)]);
    let total: u64 = o.stats().iter().map(|s| s.bytes).sum();
    if total + 150 > 15_000 {
        assert!(matches!(r.unwrap()[0], Enqueued::Dropped(_)));
    }
}

#[test]
fn concurrent_producers_share_commits_and_get_unique_seqs() {
    let dir = tempfile::tempdir().unwrap();
    let o = outbox(open_store(dir.path()), 1 << 26);
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let o = o.clone();
            std::thread::spawn(move || {
                let mut seqs = Vec::new();
                for i in 0..200 {
                    match o
                        .enqueue_blocking(vec![msg(Class::Critical, t * 1000 + i)])
                        .unwrap()[0]
                    {
                        Enqueued::Stored(s) => seqs.push(s),
                        Enqueued::Dropped(_) => panic!("nothing should drop"),
                    }
                }
                seqs
            })
        })
        .collect();
    let mut all: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    assert_eq!(all, (0..1600).collect::<Vec<_>>());
    assert_eq!(drain(&o).len(), 1600);
}

#[derive(Debug, Clone)]
enum Op {
    Enqueue(u8, u8),
    AckFirst(u8),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, 1u8..6).prop_map(|(c, n)| Op::Enqueue(c, n)),
        2 => (0u8..10).prop_map(Op::AckFirst),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// The outbox behaves like three FIFO queues drained highest class first, across restarts.
    #[test]
    fn matches_a_queue_model(ops in proptest::collection::vec(op(), 1..25)) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open_store(dir.path());
        let mut o = outbox(store.clone(), 1 << 30);
        let mut model: [Vec<u64>; 3] = Default::default();
        let mut n = 0u64;
        for op in ops {
            match op {
                Op::Enqueue(c, count) => {
                    let class = Class::ALL[c as usize];
                    let msgs = (0..count).map(|_| { n += 1; msg(class, n) }).collect();
                    o.enqueue_blocking(msgs).unwrap();
                    for k in (n + 1 - u64::from(count))..=n { model[c as usize].push(k); }
                }
                Op::AckFirst(k) => {
                    let out = drain(&o);
                    let k = (k as usize).min(out.len());
                    o.ack(&out[..k]);
                    futures_sync(&o);
                    // Acks remove from the front of the drain order: critical, state, health.
                    let mut left = k;
                    for c in [2usize, 1, 0] {
                        let take = left.min(model[c].len());
                        model[c].drain(..take);
                        left -= take;
                    }
                }
                Op::Reopen => {
                    futures_sync(&o);
                    drop(o);
                    store.close().unwrap();
                    drop(store);
                    store = open_store(dir.path());
                    o = outbox(store.clone(), 1 << 30);
                }
            }
            let expected: Vec<u64> = [2usize, 1, 0].iter().flat_map(|&c| model[c].clone()).collect();
            let got: Vec<u64> = drain(&o).iter().map(body_n).collect();
            prop_assert_eq!(got, expected);
            for c in 0..3 {
                prop_assert_eq!(o.stats()[c].queued, model[c].len() as u64);
            }
        }
    }
}
