//! The store writer and checker behind the crash tests (`edge-runtime internal store-writer`).
//!
//! The writer commits batches of records forever and prints `durable N` after each commit
//! returns, i.e. after the store promised record N is on disk. The test kills it at random
//! moments, and `verify` then checks the promise: every record up to the last reported N is
//! present and intact, and the log holds the records in order with no gap.

use crate::config::{StoreBackendKind, StoreSettings};
use crate::store::{Batch, Store, StoreError};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigterm(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Value stored for record `n`: recognisable, and long enough to span pages together.
pub fn record_value(n: u64) -> Vec<u8> {
    let mut v = format!("record-{n}-").into_bytes();
    v.resize(100, b'0' + (n % 10) as u8);
    v
}

/// Writes batches of 1..=`max_batch` records until SIGTERM, reporting each durable commit.
pub fn store_writer(
    dir: &Path,
    kind: StoreBackendKind,
    max_batch: u64,
    out: &mut dyn Write,
) -> Result<(), StoreError> {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGTERM,
            on_sigterm as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
    let settings = StoreSettings {
        backend: kind,
        cache_mb: 8,
    };
    let opened = Store::open(dir, &settings)?;
    if let Some(aside) = opened.quarantined {
        return Err(StoreError::Corrupt(format!(
            "the store was damaged and moved to {}",
            aside.display()
        )));
    }
    let store = opened.store;
    let mut rng = store.sequence("records")? | 1;
    let _ = writeln!(out, "start {}", store.sequence("records")?);
    let _ = out.flush();
    while !STOP.load(Ordering::SeqCst) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let count = 1 + rng % max_batch.max(1);
        let start = store.sequence("records")?;
        let mut batch = Batch::new();
        batch.reserve("records", count);
        for n in start..start + count {
            batch.put("data", &n.to_be_bytes(), &record_value(n));
            batch.append("log", &n.to_be_bytes());
        }
        store.commit(batch)?;
        let _ = writeln!(out, "durable {}", start + count - 1);
        let _ = out.flush();
    }
    let written = store.sequence("records")?;
    store.close()?;
    let _ = writeln!(out, "closed {written}");
    let _ = out.flush();
    Ok(())
}

/// Checks the store after a crash: records `0..=durable` must be present and intact, and the
/// log must hold exactly the written records in order. Returns how many records are present.
pub fn verify(dir: &Path, kind: StoreBackendKind, durable: Option<u64>) -> Result<u64, String> {
    let settings = StoreSettings {
        backend: kind,
        cache_mb: 8,
    };
    let opened = Store::open(dir, &settings).map_err(|e| format!("reopen failed: {e}"))?;
    if let Some(aside) = opened.quarantined {
        return Err(format!(
            "database was not openable after the crash (moved to {})",
            aside.display()
        ));
    }
    let store = opened.store;
    let written = store.sequence("records").map_err(|e| e.to_string())?;
    if let Some(d) = durable {
        if written <= d {
            return Err(format!(
                "record {d} was reported durable but the sequence is at {written}"
            ));
        }
    }
    let mut expected = 0u64;
    loop {
        let page = store
            .read_log("log", expected, 4096)
            .map_err(|e| e.to_string())?;
        if page.is_empty() {
            break;
        }
        for (id, value) in page {
            if id != expected || value != expected.to_be_bytes() {
                return Err(format!("log entry {id} out of order (expected {expected})"));
            }
            let data = store
                .get("data", &expected.to_be_bytes())
                .map_err(|e| e.to_string())?;
            if data.as_deref() != Some(record_value(expected).as_slice()) {
                return Err(format!("record {expected} is missing or damaged"));
            }
            expected += 1;
        }
    }
    if expected != written {
        return Err(format!(
            "log holds {expected} records but the sequence says {written}"
        ));
    }
    store.close().map_err(|e| e.to_string())?;
    Ok(expected)
}

/// Feeds numbered critical messages through the real outbox and MQTT link, printing
/// `accepted N SEQ` after each durable enqueue and `drained` once the broker acknowledged
/// everything, then runs until SIGTERM. The MQTT reliability tests kill and restart it.
///
/// With `mixed = Some(pad)`, message `n` goes to class `n % 3` (health, state, critical) with a
/// body padded by `pad` bytes, and a message the full policy refuses is printed as
/// `dropped N SEQ`; at the end `drops H S C` gives the outbox's drop counts per class.
pub fn outbox_feeder(
    config: crate::config::Config,
    start: u64,
    count: u64,
    interval: std::time::Duration,
    mixed: Option<usize>,
    out: &mut (dyn Write + Send),
) -> Result<(), String> {
    use crate::shutdown::Shutdown;
    use crate::sync::{self, link::LinkStatus, Class, Outbox, Outgoing};
    use std::sync::Arc;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let opened =
            Store::open(&config.paths.state_dir, &config.store).map_err(|e| e.to_string())?;
        let store = Arc::new(opened.store);
        let outbox = Outbox::open(store.clone(), sync::outbox_settings(&config))
            .map_err(|e| e.to_string())?;
        let settings = sync::link_settings(&config)?.ok_or("config has no [mqtt] host")?;
        let shutdown = Shutdown::new();
        let status = Arc::new(LinkStatus::default());
        let link = tokio::spawn(sync::link::run(
            settings,
            outbox.clone(),
            status,
            None,
            shutdown.listener(),
        ));
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| e.to_string())?;
        for n in start..start + count {
            let mut body = serde_json::Map::new();
            body.insert("n".into(), n.into());
            let (class, topic) = match mixed.map(|_| n % 3) {
                Some(0) => (Class::Health, "health"),
                Some(1) => (Class::State, "stock/state"),
                _ => (Class::Critical, "stock/events"),
            };
            if let Some(pad) = mixed {
                body.insert("pad".into(), "x".repeat(pad).into());
            }
            let msg = Outgoing {
                class,
                topic: topic.into(),
                qos: 1,
                schema: "feeder@1",
                body,
            };
            let result = outbox.enqueue(vec![msg]).await.map_err(|e| e.to_string())?;
            match result.first() {
                Some(crate::sync::Enqueued::Stored(seq)) => {
                    let _ = writeln!(out, "accepted {n} {seq}");
                }
                Some(crate::sync::Enqueued::Dropped(seq)) => {
                    let _ = writeln!(out, "dropped {n} {seq}");
                }
                None => {}
            }
            let _ = out.flush();
            if !interval.is_zero() {
                tokio::time::sleep(interval).await;
            }
        }
        let mut drained = false;
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = tokio::time::sleep(std::time::Duration::from_millis(50)) => {}
            }
            if !drained && outbox.stats().iter().all(|s| s.queued == 0) {
                drained = true;
                let [h, st, c] = outbox.stats();
                let _ = writeln!(out, "drops {} {} {}", h.dropped, st.dropped, c.dropped);
                let _ = writeln!(out, "drained");
                let _ = out.flush();
            }
        }
        shutdown.trigger();
        let _ = link.await;
        outbox.sync().await;
        drop(outbox);
        store.close().map_err(|e| e.to_string())?;
        let _ = writeln!(out, "stopped");
        let _ = out.flush();
        Ok(())
    })
}
