//! The durable outbox: every message for headquarters is on disk before `enqueue` returns and
//! leaves the disk only after the broker's PUBACK.
//!
//! One writer thread owns all outbox writes. It takes every request waiting in its channel,
//! applies them as one store commit (one fsync for many producers: group commit), then answers
//! each. Readers (the MQTT link) read the logs directly, oldest first, highest class first.

use super::policy::make_room;
use super::{Class, Envelope};
use crate::store::{Batch, Store, StoreError};
use std::collections::HashSet;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, Notify};

const META: &str = "outbox.meta";
const SEQ: &str = "outbox.seq";
/// Requests folded into one commit at most.
const MAX_GROUP: usize = 4096;

/// Why an outbox call failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The store refused the write; nothing of the request was applied.
    #[error("outbox write failed: {0}")]
    Store(#[from] StoreError),
    /// The writer thread is gone (the daemon is stopping).
    #[error("outbox is closed")]
    Closed,
    /// A stored entry could not be decoded.
    #[error("outbox entry {0} is damaged")]
    Damaged(u64),
}

/// A message to send, before the outbox gives it its sequence number.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Priority class.
    pub class: Class,
    /// Topic suffix after `retail/v1/{store}/{device}/`, e.g. `stock/events`.
    pub topic: String,
    /// MQTT QoS: 0 or 1.
    pub qos: u8,
    /// Payload schema, `name@version`.
    pub schema: &'static str,
    /// Payload fields; the envelope fields are added by the outbox.
    pub body: serde_json::Map<String, serde_json::Value>,
}

/// What happened to one enqueued message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Durable, with this sequence number.
    Stored(u64),
    /// Dropped by the full policy (counted); it had this sequence number.
    Dropped(u64),
}

/// A queued message as the MQTT link sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Priority class.
    pub class: Class,
    /// Position in its class's log.
    pub id: u64,
    /// Full topic.
    pub topic: String,
    /// MQTT QoS.
    pub qos: u8,
    /// JSON payload.
    pub payload: Vec<u8>,
}

impl Entry {
    fn stored_size(&self) -> u64 {
        (3 + self.topic.len() + self.payload.len()) as u64
    }
}

/// Queue figures per class, for metrics and the health message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassStats {
    /// Messages waiting.
    pub queued: u64,
    /// Bytes waiting.
    pub bytes: u64,
    /// Messages dropped by the full policy since the outbox was created (persisted).
    pub dropped: u64,
    /// Messages acknowledged by the broker since start.
    pub acked: u64,
}

enum Request {
    Enqueue(
        Vec<Outgoing>,
        oneshot::Sender<Result<Vec<Enqueued>, OutboxError>>,
    ),
    Ack(Vec<(Class, u64, u64)>),
    Sync(oneshot::Sender<()>),
}

struct Shared {
    store: Arc<Store>,
    stats: Mutex<[ClassStats; 3]>,
    cursors: Mutex<[u64; 3]>,
    notify: Notify,
}

/// Handle to the outbox; cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Request>,
    shared: Arc<Shared>,
    topic_prefix: Arc<str>,
}

/// Limits and identity of an outbox.
#[derive(Debug, Clone)]
pub struct OutboxSettings {
    /// Store id for topics and payloads.
    pub store_id: String,
    /// Device id for topics and payloads.
    pub device_id: String,
    /// Bound on queued bytes.
    pub max_bytes: u64,
    /// Free disk space to keep; below it the outbox does not grow (0: off).
    pub disk_reserve_bytes: u64,
}

fn encode(topic: &str, qos: u8, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(topic.len()).unwrap_or(u16::MAX);
    let mut v = Vec::with_capacity(3 + topic.len() + payload.len());
    v.push(qos);
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(&topic.as_bytes()[..usize::from(len)]);
    v.extend_from_slice(payload);
    v
}

fn decode(class: Class, id: u64, raw: &[u8]) -> Result<Entry, OutboxError> {
    if raw.len() < 3 {
        return Err(OutboxError::Damaged(id));
    }
    let len = usize::from(u16::from_be_bytes([raw[1], raw[2]]));
    let topic = raw
        .get(3..3 + len)
        .and_then(|t| std::str::from_utf8(t).ok())
        .ok_or(OutboxError::Damaged(id))?;
    Ok(Entry {
        class,
        id,
        topic: topic.to_string(),
        qos: raw[0],
        payload: raw[3 + len..].to_vec(),
    })
}

fn encode_stats(stats: &[ClassStats; 3]) -> Vec<u8> {
    let mut v = Vec::with_capacity(72);
    for s in stats {
        for n in [s.queued, s.bytes, s.dropped] {
            v.extend_from_slice(&n.to_be_bytes());
        }
    }
    v
}

fn decode_stats(raw: &[u8]) -> Option<[ClassStats; 3]> {
    if raw.len() != 72 {
        return None;
    }
    let n = |i: usize| u64::from_be_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    let mut stats = [ClassStats::default(); 3];
    for (c, s) in stats.iter_mut().enumerate() {
        s.queued = n(c * 3);
        s.bytes = n(c * 3 + 1);
        s.dropped = n(c * 3 + 2);
    }
    Some(stats)
}

impl Outbox {
    /// Opens the outbox on `store` and starts its writer thread.
    pub fn open(store: Arc<Store>, settings: OutboxSettings) -> Result<Outbox, OutboxError> {
        let stats = match store
            .get(META, b"stats")?
            .and_then(|raw| decode_stats(&raw))
        {
            Some(stats) => stats,
            None => recount(&store)?,
        };
        let shared = Arc::new(Shared {
            store,
            stats: Mutex::new(stats),
            cursors: Mutex::new([0; 3]),
            notify: Notify::new(),
        });
        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            shared: shared.clone(),
            envelope: Envelope {
                store_id: settings.store_id.clone(),
                device_id: settings.device_id.clone(),
            },
            topic_prefix: format!("retail/v1/{}/{}/", settings.store_id, settings.device_id),
            max_bytes: settings.max_bytes,
            drop_log: std::sync::Mutex::new((0, None)),
            disk: DiskWatch::new(
                shared.store.path().parent().map(Path::to_path_buf),
                settings.disk_reserve_bytes,
            ),
        };
        std::thread::Builder::new()
            .name("outbox-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| OutboxError::Store(StoreError::Io(e)))?;
        Ok(Outbox {
            tx,
            shared,
            topic_prefix: format!("retail/v1/{}/{}/", settings.store_id, settings.device_id).into(),
        })
    }

    /// The topic prefix `retail/v1/{store}/{device}/`.
    pub fn topic_prefix(&self) -> &str {
        &self.topic_prefix
    }

    /// Stores messages durably; returns once they are on disk (or dropped by the policy).
    pub async fn enqueue(&self, messages: Vec<Outgoing>) -> Result<Vec<Enqueued>, OutboxError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Request::Enqueue(messages, tx))
            .map_err(|_| OutboxError::Closed)?;
        rx.await.map_err(|_| OutboxError::Closed)?
    }

    /// Blocking `enqueue`, for producer threads outside the async runtime.
    pub fn enqueue_blocking(&self, messages: Vec<Outgoing>) -> Result<Vec<Enqueued>, OutboxError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Request::Enqueue(messages, tx))
            .map_err(|_| OutboxError::Closed)?;
        rx.blocking_recv().map_err(|_| OutboxError::Closed)?
    }

    /// Records broker acknowledgements; the entries are deleted in the next commit.
    pub fn ack(&self, entries: &[Entry]) {
        let acks = entries
            .iter()
            .map(|e| (e.class, e.id, e.stored_size()))
            .collect();
        let _ = self.tx.send(Request::Ack(acks));
    }

    /// Waits until every request sent before this call is committed.
    pub async fn sync(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Request::Sync(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Up to `limit` messages not yet handed out since the last `rewind`, highest class first.
    pub fn next_batch(&self, limit: usize) -> Result<Vec<Entry>, OutboxError> {
        let mut out = Vec::new();
        let mut cursors = self
            .shared
            .cursors
            .lock()
            .map_err(|_| OutboxError::Closed)?;
        for class in Class::ALL.iter().rev() {
            if out.len() >= limit {
                break;
            }
            let c = *class as usize;
            let rows = self
                .shared
                .store
                .read_log(class.log(), cursors[c], limit - out.len())?;
            for (id, raw) in rows {
                cursors[c] = id + 1;
                match decode(*class, id, &raw) {
                    Ok(entry) => out.push(entry),
                    Err(e) => {
                        // A damaged entry would block the queue forever: report and drop it.
                        log::error!("{e}; dropping it");
                        let _ = self
                            .tx
                            .send(Request::Ack(vec![(*class, id, raw.len() as u64)]));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Starts handing out from the oldest unacknowledged message again (after a reconnect).
    pub fn rewind(&self) {
        if let Ok(mut cursors) = self.shared.cursors.lock() {
            *cursors = [0; 3];
        }
    }

    /// Resolves when new messages were stored.
    pub async fn stored(&self) {
        self.shared.notify.notified().await
    }

    /// Current figures per class (index = `Class as usize`).
    pub fn stats(&self) -> [ClassStats; 3] {
        self.shared
            .stats
            .lock()
            .map(|s| *s)
            .unwrap_or([ClassStats::default(); 3])
    }
}

/// Rebuilds the per-class figures by reading the logs (first start, or lost figures).
fn recount(store: &Store) -> Result<[ClassStats; 3], OutboxError> {
    let mut stats = [ClassStats::default(); 3];
    for class in Class::ALL {
        let mut from = 0;
        loop {
            let rows = store.read_log(class.log(), from, 4096)?;
            let Some((last, _)) = rows.last() else { break };
            from = last + 1;
            let s = &mut stats[class as usize];
            s.queued += rows.len() as u64;
            s.bytes += rows.iter().map(|(_, v)| v.len() as u64).sum::<u64>();
        }
    }
    Ok(stats)
}

struct Writer {
    shared: Arc<Shared>,
    envelope: Envelope,
    topic_prefix: String,
    max_bytes: u64,
    /// Drops not yet logged, and when the last drop warning was logged: a full outbox warns
    /// once a minute with the count, not once per message.
    drop_log: std::sync::Mutex<(u64, Option<std::time::Instant>)>,
    /// Free space on the store's disk against the reserve.
    disk: DiskWatch,
}

/// Watches the free space of the store's filesystem (one statvfs per group commit with new
/// messages: a microsecond against the commit's fsync).
struct DiskWatch {
    dir: Option<std::path::PathBuf>,
    reserve: u64,
    low: std::sync::atomic::AtomicBool,
}

impl DiskWatch {
    fn new(dir: Option<std::path::PathBuf>, reserve: u64) -> DiskWatch {
        DiskWatch {
            dir,
            reserve,
            low: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// True while free space is below the reserve.
    fn low(&self) -> bool {
        use std::sync::atomic::Ordering;
        let (Some(dir), true) = (&self.dir, self.reserve > 0) else {
            return false;
        };
        let was = self.low.load(Ordering::Relaxed);
        let low = match free_bytes(dir) {
            Some(free) => {
                let low = free < self.reserve;
                if low && !was {
                    log::warn!(
                        "the disk holding {} has {free} bytes free, under the outbox's reserve of {} bytes: the outbox stops growing and drops by its full policy (health first, events last) until space returns",
                        dir.display(),
                        self.reserve
                    );
                } else if !low && was {
                    log::info!("disk space is above the outbox's reserve again");
                }
                low
            }
            None => was,
        };
        self.low.store(low, Ordering::Relaxed);
        low
    }
}

/// Bytes an unprivileged process may still write on the filesystem holding `dir`.
pub(crate) fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid NUL-terminated string and `st` a writable statvfs.
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    // fsblkcnt_t and c_ulong are 32-bit on armv7 and 64-bit on x86_64 and aarch64.
    #[allow(clippy::unnecessary_cast)]
    let (blocks, size) = (st.f_bavail as u64, st.f_frsize as u64);
    Some(blocks.saturating_mul(size))
}

/// Least time between two "outbox full" warnings.
const DROP_LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Messages of one commit, before they are appended.
struct Pending {
    class: Class,
    value: Vec<u8>,
}

impl Writer {
    fn run(self, rx: mpsc::Receiver<Request>) {
        while let Ok(first) = rx.recv() {
            let mut requests = vec![first];
            while requests.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(r) => requests.push(r),
                    Err(_) => break,
                }
            }
            self.commit_group(requests);
        }
    }

    fn commit_group(&self, requests: Vec<Request>) {
        let store = &self.shared.store;
        let mut stats = match self.shared.stats.lock() {
            Ok(s) => *s,
            Err(_) => return,
        };
        let before = stats;
        let mut batch = Batch::new();
        let mut deleted: HashSet<(Class, u64)> = HashSet::new();
        // Oldest stored entries already chosen for dropping, per class (next read position).
        let mut drop_from = [0u64; 3];
        let mut pending: Vec<Pending> = Vec::new();
        let mut replies = Vec::new();
        let mut syncs = Vec::new();
        let mut next_seq = match store.sequence(SEQ) {
            Ok(s) => s,
            Err(e) => {
                fail_all(requests, &e);
                return;
            }
        };
        let first_seq = next_seq;

        for request in requests {
            match request {
                Request::Sync(tx) => syncs.push(tx),
                Request::Ack(acks) => {
                    for (class, id, size) in acks {
                        if deleted.contains(&(class, id)) || !exists(store, class, id) {
                            continue;
                        }
                        deleted.insert((class, id));
                        batch.remove_from_log(class.log(), id);
                        let s = &mut stats[class as usize];
                        s.queued = s.queued.saturating_sub(1);
                        s.bytes = s.bytes.saturating_sub(size);
                        s.acked += 1;
                    }
                }
                Request::Enqueue(messages, tx) => {
                    // With the disk under its reserve the queue may not grow: the bound is
                    // what is queued now, and the full policy makes room.
                    let disk_low = self.disk.low();
                    let mut results = Vec::with_capacity(messages.len());
                    for msg in messages {
                        let seq = next_seq;
                        next_seq += 1;
                        let payload = self.envelope.wrap(msg.schema, seq, msg.body);
                        let topic = format!("{}{}", self.topic_prefix, msg.topic);
                        let value = encode(&topic, msg.qos.min(1), &payload);
                        let size = value.len() as u64;
                        let total: u64 = stats.iter().map(|s| s.bytes).sum();
                        let bound = if disk_low {
                            self.max_bytes.min(total)
                        } else {
                            self.max_bytes
                        };
                        let decision = make_room(msg.class, size, total, bound, |c| {
                            queued_sizes(store, c, drop_from[c as usize], &deleted, &pending)
                                .into_iter()
                        });
                        for victim in Class::ALL {
                            let v = victim as usize;
                            for _ in 0..decision.drop_oldest[v] {
                                let stored = oldest_stored(store, victim, drop_from[v], &deleted);
                                if let Some((id, size)) = stored {
                                    drop_from[v] = id + 1;
                                    deleted.insert((victim, id));
                                    batch.remove_from_log(victim.log(), id);
                                    stats[v].bytes = stats[v].bytes.saturating_sub(size);
                                } else if let Some(i) =
                                    pending.iter().position(|p| p.class == victim)
                                {
                                    let p = pending.remove(i);
                                    stats[v].bytes =
                                        stats[v].bytes.saturating_sub(p.value.len() as u64);
                                }
                                stats[v].queued = stats[v].queued.saturating_sub(1);
                                stats[v].dropped += 1;
                            }
                        }
                        if decision.drop_incoming {
                            stats[msg.class as usize].dropped += 1;
                            results.push(Enqueued::Dropped(seq));
                        } else {
                            let s = &mut stats[msg.class as usize];
                            s.queued += 1;
                            s.bytes += size;
                            pending.push(Pending {
                                class: msg.class,
                                value,
                            });
                            results.push(Enqueued::Stored(seq));
                        }
                    }
                    replies.push((tx, results));
                }
            }
        }
        for p in &pending {
            batch.append(p.class.log(), &p.value);
        }
        if next_seq > first_seq {
            batch.reserve(SEQ, next_seq - first_seq);
        }
        let dropped_now: u64 = (0..3).map(|c| stats[c].dropped - before[c].dropped).sum();
        if dropped_now > 0 {
            let mut log_state = self.drop_log.lock().unwrap_or_else(|p| p.into_inner());
            log_state.0 += dropped_now;
            if log_state.1.is_none_or(|at| at.elapsed() >= DROP_LOG_EVERY) {
                log::warn!(
                    "outbox full ({} bytes max): dropped {} message(s) since the last warning, lowest class first (totals per class in /metrics and the health message)",
                    self.max_bytes,
                    log_state.0
                );
                *log_state = (0, Some(std::time::Instant::now()));
            }
        }
        batch.put(META, b"stats", &encode_stats(&stats));
        match store.commit(batch) {
            Ok(_) => {
                if let Ok(mut shared) = self.shared.stats.lock() {
                    *shared = stats;
                }
                for (tx, results) in replies {
                    let _ = tx.send(Ok(results));
                }
                if !pending.is_empty() {
                    self.shared.notify.notify_waiters();
                    self.shared.notify.notify_one();
                }
            }
            Err(e) => {
                log::error!("outbox commit failed, nothing of it applied: {e}");
                for (tx, _) in replies {
                    let _ = tx.send(Err(OutboxError::Store(StoreError::Backend(e.to_string()))));
                }
            }
        }
        for tx in syncs {
            let _ = tx.send(());
        }
    }
}

fn fail_all(requests: Vec<Request>, e: &StoreError) {
    for r in requests {
        match r {
            Request::Enqueue(_, tx) => {
                let _ = tx.send(Err(OutboxError::Store(StoreError::Backend(e.to_string()))));
            }
            Request::Sync(tx) => {
                let _ = tx.send(());
            }
            Request::Ack(_) => {}
        }
    }
}

fn exists(store: &Store, class: Class, id: u64) -> bool {
    matches!(store.read_log(class.log(), id, 1), Ok(rows) if rows.first().is_some_and(|(i, _)| *i == id))
}

/// The oldest stored entry of `class` at or after `from` that is not already deleted.
fn oldest_stored(
    store: &Store,
    class: Class,
    from: u64,
    deleted: &HashSet<(Class, u64)>,
) -> Option<(u64, u64)> {
    let mut from = from;
    loop {
        let rows = store.read_log(class.log(), from, 64).ok()?;
        if rows.is_empty() {
            return None;
        }
        for (id, v) in &rows {
            if !deleted.contains(&(class, *id)) {
                return Some((*id, v.len() as u64));
            }
            from = id + 1;
        }
    }
}

/// Sizes of `class`'s queued messages, oldest first: stored ones, then this commit's pending.
fn queued_sizes(
    store: &Store,
    class: Class,
    from: u64,
    deleted: &HashSet<(Class, u64)>,
    pending: &[Pending],
) -> Vec<u64> {
    let mut sizes = Vec::new();
    let mut from = from;
    // Reads only as far as the policy can need: enough stored entries to cover the bound.
    while let Ok(rows) = store.read_log(class.log(), from, 256) {
        let Some((last, _)) = rows.last() else { break };
        from = last + 1;
        for (id, v) in &rows {
            if !deleted.contains(&(class, *id)) {
                sizes.push(v.len() as u64);
            }
        }
        if sizes.len() >= 4096 {
            break;
        }
    }
    sizes.extend(
        pending
            .iter()
            .filter(|p| p.class == class)
            .map(|p| p.value.len() as u64),
    );
    sizes
}
