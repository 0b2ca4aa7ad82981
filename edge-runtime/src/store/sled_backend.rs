//! The sled 0.34.7 backend: atomic `apply_batch` followed by `flush` before a commit returns.

use super::backend::{Backend, Entries, Op};
use super::StoreError;
use std::path::{Path, PathBuf};

/// A sled database directory.
pub struct SledBackend {
    db: sled::Db,
    path: PathBuf,
}

fn storage(e: sled::Error) -> StoreError {
    match e {
        // sled reports a held lock as ErrorKind::Other with this text (config.rs, try_lock).
        sled::Error::Io(io)
            if io.kind() == std::io::ErrorKind::WouldBlock
                || io.to_string().contains("could not acquire lock") =>
        {
            StoreError::Locked("another process has the sled database open".into())
        }
        sled::Error::Io(io) => StoreError::Io(io),
        sled::Error::Corruption { at, .. } => {
            StoreError::Corrupt(format!("sled reports corruption at {at:?}"))
        }
        other => StoreError::Backend(other.to_string()),
    }
}

impl SledBackend {
    /// Opens or creates the database directory at `path`.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_bytes)
            .mode(sled::Mode::LowSpace)
            .open()
            .map_err(storage)?;
        Ok(SledBackend {
            db,
            path: path.to_path_buf(),
        })
    }
}

impl Backend for SledBackend {
    fn name(&self) -> &'static str {
        "sled"
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(key).map_err(storage)?.map(|v| v.to_vec()))
    }

    fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Entries, StoreError> {
        let mut out = Vec::new();
        for entry in self.db.range(start..end).take(limit) {
            let (k, v) = entry.map_err(storage)?;
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    fn last_key(&self, start: &[u8], end: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.db.range(start..end).next_back() {
            Some(entry) => Ok(Some(entry.map_err(storage)?.0.to_vec())),
            None => Ok(None),
        }
    }

    fn commit(&self, ops: &[Op]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for op in ops {
            match op {
                Op::Put(k, v) => batch.insert(k.as_slice(), v.as_slice()),
                Op::Delete(k) => batch.remove(k.as_slice()),
            }
        }
        self.db.apply_batch(batch).map_err(storage)?;
        self.db.flush().map_err(storage)?;
        Ok(())
    }

    fn disk_bytes(&self) -> Result<u64, StoreError> {
        let mut total = 0;
        for entry in walk(&self.path)? {
            total += entry;
        }
        Ok(total)
    }

    fn close(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(storage)?;
        Ok(())
    }
}

/// Sizes of every file below `dir`.
fn walk(dir: &Path) -> Result<Vec<u64>, StoreError> {
    let mut sizes = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_dir() {
            sizes.extend(walk(&entry.path())?);
        } else {
            sizes.push(meta.len());
        }
    }
    Ok(sizes)
}
