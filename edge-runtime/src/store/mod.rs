//! The durable store: keyed tables, append-ordered logs (the outbox) and persisted sequences,
//! on one embedded database (redb by default, sled behind the same interface).
//!
//! Every `commit` is atomic and on stable storage when it returns. A database that cannot be
//! opened because it is damaged is moved aside and replaced by an empty one, so the daemon
//! never crash-loops on a bad file; a database that is merely locked, unwritable or on a full
//! disk is an error for the operator instead, because moving it aside would lose good data.

mod backend;
#[cfg(feature = "store-redb")]
mod redb_backend;
#[cfg(feature = "store-sled")]
mod sled_backend;

pub use backend::{Backend, Entries, Op};

use crate::config::{StoreBackendKind, StoreSettings};
use backend::{key, prefix, prefix_end, LOG_NS, SEQ_NS, TABLE_NS};
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The state directory cannot be written by this user.
    #[error("state directory {dir} is not writable: {source}\n  fix: make it writable by the service user (systemd StateDirectory=edge-runtime does this) or set paths.state_dir")]
    NotWritable {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Another process holds the database.
    #[error("{0}; is another edge-runtime running with the same state directory?")]
    Locked(String),
    /// The disk is full.
    #[error("disk full while opening the store: {0}\n  fix: free space on the state directory's filesystem")]
    DiskFull(std::io::Error),
    /// The database is damaged.
    #[error("database is corrupt: {0}")]
    Corrupt(String),
    /// An I/O error.
    #[error("store I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Any other engine error.
    #[error("store error: {0}")]
    Backend(String),
    /// A table, log or sequence name that cannot be encoded.
    #[error("invalid store name {0:?}: names must be non-empty and contain no NUL byte")]
    InvalidName(String),
    /// The backend was compiled out of this build.
    #[error("store backend {0} is not compiled into this build")]
    Unavailable(&'static str),
    /// The store was closed.
    #[error("store is closed")]
    Closed,
    /// An earlier write failed at the I/O level; the engine must be reopened (done internally).
    #[error("store must be reopened after an I/O error")]
    NeedsReopen,
}

/// A set of writes applied atomically and durably by `Store::commit`.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    ops: Vec<Op>,
    appends: Vec<(String, Vec<u8>)>,
    reservations: Vec<(String, u64)>,
    bad_name: Option<String>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    fn check(&mut self, name: &str) -> bool {
        let ok = !name.is_empty() && !name.contains('\0');
        if !ok && self.bad_name.is_none() {
            self.bad_name = Some(name.to_string());
        }
        ok
    }

    /// Sets `key` in `table` to `value`.
    pub fn put(&mut self, table: &str, k: &[u8], value: &[u8]) -> &mut Self {
        if self.check(table) {
            self.ops
                .push(Op::Put(key(TABLE_NS, table, k), value.to_vec()));
        }
        self
    }

    /// Removes `key` from `table`.
    pub fn delete(&mut self, table: &str, k: &[u8]) -> &mut Self {
        if self.check(table) {
            self.ops.push(Op::Delete(key(TABLE_NS, table, k)));
        }
        self
    }

    /// Appends `value` to `log`; its id is returned by `commit`, in append order.
    pub fn append(&mut self, log: &str, value: &[u8]) -> &mut Self {
        if self.check(log) {
            self.appends.push((log.to_string(), value.to_vec()));
        }
        self
    }

    /// Removes the entry `id` from `log`.
    pub fn remove_from_log(&mut self, log: &str, id: u64) -> &mut Self {
        if self.check(log) {
            self.ops
                .push(Op::Delete(key(LOG_NS, log, &id.to_be_bytes())));
        }
        self
    }

    /// Reserves `count` values of the sequence `name`; the range is returned by `commit`.
    pub fn reserve(&mut self, name: &str, count: u64) -> &mut Self {
        if self.check(name) {
            self.reservations.push((name.to_string(), count));
        }
        self
    }

    /// Whether the batch writes nothing.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.appends.is_empty() && self.reservations.is_empty()
    }
}

/// What a commit assigned: log ids of the appends and ranges of the reservations, in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Committed {
    /// Id of each appended entry, in the order of the `append` calls.
    pub log_ids: Vec<u64>,
    /// Range of each reservation, in the order of the `reserve` calls.
    pub reserved: Vec<Range<u64>>,
}

/// The result of opening the store: the store, and where a damaged database was moved if one was.
pub struct Opened {
    /// The open store.
    pub store: Store,
    /// Set when the previous database could not be opened and was moved here.
    pub quarantined: Option<PathBuf>,
}

/// The durable store.
pub struct Store {
    backend: Box<dyn Backend>,
    kind: StoreBackendKind,
    path: PathBuf,
    // Serialises commits so that log ids and sequence values are assigned without races.
    writer: Mutex<HashMap<String, u64>>,
}

/// File (redb) or directory (sled) name of the database inside the state directory.
pub fn database_path(state_dir: &Path, kind: StoreBackendKind) -> PathBuf {
    state_dir.join(format!("store.{}", kind.name()))
}

impl Store {
    /// Opens (creating if needed) the store in `state_dir`, quarantining a damaged database.
    pub fn open(state_dir: &Path, settings: &StoreSettings) -> Result<Opened, StoreError> {
        ensure_writable(state_dir)?;
        let path = database_path(state_dir, settings.backend);
        let cache = settings.cache_mb.saturating_mul(1024 * 1024);
        // A previous holder of the lock (a process being restarted, or sled's background
        // threads of a handle just dropped) may need a moment to let go of it.
        let mut opened = open_backend(settings.backend, &path, cache);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while matches!(opened, Err(StoreError::Locked(_))) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
            opened = open_backend(settings.backend, &path, cache);
        }
        match opened {
            Ok(backend) => Ok(Opened {
                store: Store::with_backend(backend, settings.backend, path),
                quarantined: None,
            }),
            Err(e) if !is_damage(&e) => Err(e),
            Err(e) => {
                let aside = quarantine_path(&path);
                log::error!(
                    "store {} cannot be opened ({e}); moving it to {} and starting empty",
                    path.display(),
                    aside.display()
                );
                std::fs::rename(&path, &aside)?;
                let backend = open_backend(settings.backend, &path, cache)?;
                Ok(Opened {
                    store: Store::with_backend(backend, settings.backend, path),
                    quarantined: Some(aside),
                })
            }
        }
    }

    fn with_backend(backend: Box<dyn Backend>, kind: StoreBackendKind, path: PathBuf) -> Self {
        Store {
            backend,
            kind,
            path,
            writer: Mutex::new(HashMap::new()),
        }
    }

    /// Engine in use.
    pub fn kind(&self) -> StoreBackendKind {
        self.kind
    }

    /// Where the database lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The value of `key` in `table`.
    pub fn get(&self, table: &str, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        check_name(table)?;
        self.backend.get(&key(TABLE_NS, table, k))
    }

    /// Up to `limit` entries of `table` with keys after `after` (all when `None`), in key order.
    pub fn scan(
        &self,
        table: &str,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        check_name(table)?;
        let start = match after {
            Some(a) => {
                let mut k = key(TABLE_NS, table, a);
                k.push(0);
                k
            }
            None => prefix(TABLE_NS, table),
        };
        let skip = prefix(TABLE_NS, table).len();
        Ok(self
            .backend
            .range(&start, &prefix_end(TABLE_NS, table), limit)?
            .into_iter()
            .map(|(k, v)| (k[skip..].to_vec(), v))
            .collect())
    }

    /// Up to `limit` entries of `log` with id at least `from`, oldest first.
    pub fn read_log(
        &self,
        log: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        check_name(log)?;
        let start = key(LOG_NS, log, &from.to_be_bytes());
        let skip = prefix(LOG_NS, log).len();
        let mut out = Vec::new();
        for (k, v) in self
            .backend
            .range(&start, &prefix_end(LOG_NS, log), limit)?
        {
            out.push((decode_id(&k[skip..])?, v));
        }
        Ok(out)
    }

    /// Current value of sequence `name`: the next value `reserve` would hand out.
    pub fn sequence(&self, name: &str) -> Result<u64, StoreError> {
        check_name(name)?;
        match self.backend.get(&key(SEQ_NS, name, b""))? {
            Some(bytes) => decode_id(&bytes),
            None => Ok(0),
        }
    }

    /// Applies `batch` atomically; returns once it is on stable storage.
    pub fn commit(&self, batch: Batch) -> Result<Committed, StoreError> {
        if let Some(name) = batch.bad_name {
            return Err(StoreError::InvalidName(name));
        }
        let mut next_ids = self
            .writer
            .lock()
            .map_err(|_| StoreError::Backend("writer lock poisoned".into()))?;
        let mut ops = batch.ops;
        let mut committed = Committed::default();
        let mut assigned: HashMap<String, u64> = HashMap::new();
        for (log, value) in batch.appends {
            let next = match assigned.get(&log) {
                Some(n) => *n,
                None => match next_ids.get(&log) {
                    Some(n) => *n,
                    None => self.next_log_id(&log)?,
                },
            };
            ops.push(Op::Put(key(LOG_NS, &log, &next.to_be_bytes()), value));
            committed.log_ids.push(next);
            assigned.insert(log, next + 1);
        }
        let mut seq_next: HashMap<String, u64> = HashMap::new();
        for (name, count) in batch.reservations {
            let start = match seq_next.get(&name) {
                Some(n) => *n,
                None => self.sequence(&name)?,
            };
            let end = start.saturating_add(count);
            committed.reserved.push(start..end);
            seq_next.insert(name, end);
        }
        for (name, end) in &seq_next {
            ops.push(Op::Put(key(SEQ_NS, name, b""), end.to_be_bytes().to_vec()));
        }
        if !ops.is_empty() {
            self.backend.commit(&ops)?;
        }
        // Only a successful commit advances the in-memory counters.
        next_ids.extend(assigned);
        Ok(committed)
    }

    fn next_log_id(&self, log: &str) -> Result<u64, StoreError> {
        let skip = prefix(LOG_NS, log).len();
        match self
            .backend
            .last_key(&prefix(LOG_NS, log), &prefix_end(LOG_NS, log))?
        {
            Some(k) => Ok(decode_id(&k[skip..])? + 1),
            None => Ok(0),
        }
    }

    /// Bytes on disk.
    pub fn disk_bytes(&self) -> Result<u64, StoreError> {
        self.backend.disk_bytes()
    }

    /// Flushes and closes; later calls fail with `Closed` (redb) or still work (sled).
    pub fn close(&self) -> Result<(), StoreError> {
        self.backend.close()
    }
}

fn check_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty() || name.contains('\0') {
        return Err(StoreError::InvalidName(name.to_string()));
    }
    Ok(())
}

fn decode_id(bytes: &[u8]) -> Result<u64, StoreError> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("log id of {} bytes", bytes.len())))?;
    Ok(u64::from_be_bytes(array))
}

/// Creates `dir` if needed and proves it writable with a probe file.
fn ensure_writable(dir: &Path) -> Result<(), StoreError> {
    let not_writable = |source| StoreError::NotWritable {
        dir: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(not_writable)?;
    let probe = dir.join(".write-probe");
    let written = std::fs::write(&probe, b"ok");
    let _ = std::fs::remove_file(&probe);
    match written {
        Ok(()) => Ok(()),
        // A full disk is no reason to refuse the existing database: opening it lets the
        // outbox drain to headquarters, which frees space.
        Err(e) if e.kind() == std::io::ErrorKind::StorageFull => {
            log::warn!("state directory {} is on a full disk: {e}", dir.display());
            Ok(())
        }
        Err(e) => Err(not_writable(e)),
    }
}

fn open_backend(
    kind: StoreBackendKind,
    path: &Path,
    cache_bytes: u64,
) -> Result<Box<dyn Backend>, StoreError> {
    // A damaged file can make an engine panic while opening; that is damage, not a crash.
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match kind {
        #[cfg(feature = "store-redb")]
        StoreBackendKind::Redb => redb_backend::RedbBackend::open(
            path,
            usize::try_from(cache_bytes).unwrap_or(usize::MAX),
        )
        .map(|b| Box::new(b) as Box<dyn Backend>),
        #[cfg(feature = "store-sled")]
        StoreBackendKind::Sled => sled_backend::SledBackend::open(path, cache_bytes)
            .map(|b| Box::new(b) as Box<dyn Backend>),
        #[allow(unreachable_patterns)]
        other => Err(StoreError::Unavailable(other.name())),
    }));
    match opened {
        Ok(result) => result.map_err(|e| classify_io(e, path)),
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            Err(StoreError::Corrupt(format!(
                "engine panicked on open: {why}"
            )))
        }
    }
}

fn classify_io(e: StoreError, path: &Path) -> StoreError {
    use std::io::ErrorKind::*;
    match e {
        StoreError::Io(io) => match io.kind() {
            PermissionDenied | ReadOnlyFilesystem => StoreError::NotWritable {
                dir: path.parent().unwrap_or(path).to_path_buf(),
                source: io,
            },
            StorageFull | QuotaExceeded => StoreError::DiskFull(io),
            WouldBlock => StoreError::Locked(format!("{} is locked", path.display())),
            _ => StoreError::Io(io),
        },
        other => other,
    }
}

/// Whether an open error means the database itself is damaged (and should be moved aside).
fn is_damage(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Corrupt(_) | StoreError::Backend(_) | StoreError::Io(_)
    )
}

fn quarantine_path(path: &Path) -> PathBuf {
    let stamp = crate::clock::compact_utc(std::time::SystemTime::now());
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".corrupt-{stamp}"));
    let mut aside = path.with_file_name(&name);
    let mut n = 1;
    while aside.exists() {
        let mut numbered = name.clone();
        numbered.push(format!("-{n}"));
        aside = path.with_file_name(numbered);
        n += 1;
    }
    aside
}

#[cfg(test)]
mod tests;
