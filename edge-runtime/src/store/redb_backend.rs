//! The redb backend: one file, one table of byte keys, every commit `Durability::Immediate`.

use super::backend::{Backend, Entries, Op};
use super::StoreError;
use redb::{Database, ReadableDatabase, TableDefinition};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

const DATA: TableDefinition<&[u8], &[u8]> = TableDefinition::new("data");

/// A redb database file.
pub struct RedbBackend {
    db: RwLock<Option<Database>>,
    path: PathBuf,
    cache_bytes: usize,
    closed: std::sync::atomic::AtomicBool,
}

fn storage(e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::Io(io) => StoreError::Io(io),
        redb::Error::DatabaseAlreadyOpen | redb::Error::LockProtocolMismatch => {
            StoreError::Locked("another process has the redb database open".into())
        }
        redb::Error::Corrupted(why) => StoreError::Corrupt(why),
        // After a failed write (a full disk, say) redb refuses everything until reopened.
        redb::Error::PreviousIo => StoreError::NeedsReopen,
        other => StoreError::Backend(other.to_string()),
    }
}

impl RedbBackend {
    /// Opens or creates the database file at `path`.
    pub fn open(path: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        let db = Self::open_db(path, cache_bytes)?;
        Ok(RedbBackend {
            db: RwLock::new(Some(db)),
            path: path.to_path_buf(),
            cache_bytes,
            closed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Creates a new database file crash-safely: built under a temporary name (with its
    /// table) and renamed into place, so that a power cut or SIGKILL while it is being created
    /// leaves no half-written database behind (redb's own create is not atomic: a kill at
    /// that moment left a file that could not be opened and was quarantined).
    fn create_new(path: &Path, cache_bytes: usize) -> Result<(), StoreError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "store.redb".into());
        let tmp = path.with_file_name(format!("{name}.creating"));
        match std::fs::remove_file(&tmp) {
            Ok(()) => log::info!("removed {}, left by an interrupted creation", tmp.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::Io(e)),
        }
        {
            let db = Database::builder()
                .set_cache_size(cache_bytes)
                .create(&tmp)
                .map_err(storage)?;
            let txn = db.begin_write().map_err(storage)?;
            txn.open_table(DATA).map_err(storage)?;
            txn.commit().map_err(storage)?;
        }
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    fn open_db(path: &Path, cache_bytes: usize) -> Result<Database, StoreError> {
        if !path.exists() {
            Self::create_new(path, cache_bytes)?;
        }
        // Verifying every page on open costs a read of the file at startup, but turns a file
        // damaged on disk into a clean `Corrupted` error (quarantine) instead of a later panic.
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .set_check_integrity_on_open(true)
            .create(path)
            .map_err(storage)?;
        // Make sure the table exists so that readers never see "table does not exist".
        let txn = db.begin_write().map_err(storage)?;
        txn.open_table(DATA).map_err(storage)?;
        txn.commit().map_err(storage)?;
        Ok(db)
    }

    /// Runs `f`; after an I/O failure that poisoned the handle, reopens once and retries.
    fn with_db<T>(&self, f: impl Fn(&Database) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let first = self.attempt(&f);
        match first {
            Err(StoreError::NeedsReopen) => {
                self.reopen()?;
                self.attempt(&f)
            }
            other => other,
        }
    }

    fn attempt<T>(&self, f: &impl Fn(&Database) -> Result<T, StoreError>) -> Result<T, StoreError> {
        {
            let guard = self
                .db
                .read()
                .map_err(|_| StoreError::Backend("lock poisoned".into()))?;
            if let Some(db) = guard.as_ref() {
                return f(db);
            }
        }
        // The handle was dropped by a failed reopen: try again now.
        self.reopen()?;
        let guard = self
            .db
            .read()
            .map_err(|_| StoreError::Backend("lock poisoned".into()))?;
        match guard.as_ref() {
            Some(db) => f(db),
            None => Err(StoreError::Closed),
        }
    }

    fn reopen(&self) -> Result<(), StoreError> {
        if self.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        let mut guard = self
            .db
            .write()
            .map_err(|_| StoreError::Backend("lock poisoned".into()))?;
        // Release the file lock before opening it again.
        drop(guard.take());
        log::warn!("reopening {} after an I/O error", self.path.display());
        *guard = Some(Self::open_db(&self.path, self.cache_bytes)?);
        Ok(())
    }
}

impl Backend for RedbBackend {
    fn name(&self) -> &'static str {
        "redb"
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read().map_err(storage)?;
            let table = txn.open_table(DATA).map_err(storage)?;
            Ok(table.get(key).map_err(storage)?.map(|v| v.value().to_vec()))
        })
    }

    fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Entries, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read().map_err(storage)?;
            let table = txn.open_table(DATA).map_err(storage)?;
            let mut out = Vec::new();
            for entry in table.range(start..end).map_err(storage)?.take(limit) {
                let (k, v) = entry.map_err(storage)?;
                out.push((k.value().to_vec(), v.value().to_vec()));
            }
            Ok(out)
        })
    }

    fn last_key(&self, start: &[u8], end: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read().map_err(storage)?;
            let table = txn.open_table(DATA).map_err(storage)?;
            let last = table.range(start..end).map_err(storage)?.next_back();
            match last {
                Some(entry) => Ok(Some(entry.map_err(storage)?.0.value().to_vec())),
                None => Ok(None),
            }
        })
    }

    fn commit(&self, ops: &[Op]) -> Result<(), StoreError> {
        self.with_db(|db| {
            let txn = db.begin_write().map_err(storage)?;
            {
                let mut table = txn.open_table(DATA).map_err(storage)?;
                for op in ops {
                    match op {
                        Op::Put(k, v) => {
                            table.insert(k.as_slice(), v.as_slice()).map_err(storage)?;
                        }
                        Op::Delete(k) => {
                            table.remove(k.as_slice()).map_err(storage)?;
                        }
                    }
                }
            }
            txn.commit().map_err(storage)
        })
    }

    fn disk_bytes(&self) -> Result<u64, StoreError> {
        Ok(std::fs::metadata(&self.path)?.len())
    }

    fn close(&self) -> Result<(), StoreError> {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut guard = self
            .db
            .write()
            .map_err(|_| StoreError::Backend("lock poisoned".into()))?;
        if let Some(db) = guard.take() {
            db.close().map_err(storage)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_half_created_database_left_by_a_crash_is_replaced_not_quarantined() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.redb");
        // what a kill during creation leaves: the temporary file, garbage in it, no database
        let leftover = dir.path().join("store.redb.creating");
        std::fs::write(&leftover, b"redb header cut short").unwrap();
        let db = RedbBackend::open(&path, 1 << 20).unwrap();
        assert!(path.exists() && !leftover.exists());
        drop(db);
        // and the finished file opens again as it is
        RedbBackend::open(&path, 1 << 20).unwrap();
        assert!(!leftover.exists());
    }
}
