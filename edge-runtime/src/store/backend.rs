//! The small interface each embedded database implements, and the key layout on top of it.
//!
//! A backend is an ordered byte-key map with atomic, durable batches. Everything the store
//! offers (tables, append-ordered logs, sequences) is a key prefix in that one map, so both
//! engines are used the same way and one conformance suite covers both.

use super::StoreError;

/// Key-value pairs in key order, as range reads return them.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// One write inside an atomic batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Insert or replace a key.
    Put(Vec<u8>, Vec<u8>),
    /// Remove a key (absent keys are fine).
    Delete(Vec<u8>),
}

/// An ordered key-value engine with atomic durable commits.
pub trait Backend: Send + Sync {
    /// Engine name for logs and metrics.
    fn name(&self) -> &'static str;
    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Up to `limit` entries with `start <= key < end`, in key order.
    fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Entries, StoreError>;
    /// The largest key with `start <= key < end`.
    fn last_key(&self, start: &[u8], end: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Applies every op or none, and returns only once the batch is on stable storage.
    fn commit(&self, ops: &[Op]) -> Result<(), StoreError>;
    /// Bytes the database occupies on disk.
    fn disk_bytes(&self) -> Result<u64, StoreError>;
    /// Flushes and releases the database.
    fn close(&self) -> Result<(), StoreError>;
}

/// Namespace bytes that keep tables, logs and sequences apart in the one key space.
pub(crate) const TABLE_NS: u8 = b't';
pub(crate) const LOG_NS: u8 = b'l';
pub(crate) const SEQ_NS: u8 = b's';

/// Prefix of every key in namespace `ns` named `name`: `ns name 0x00`.
pub(crate) fn prefix(ns: u8, name: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(name.len() + 2);
    p.push(ns);
    p.extend_from_slice(name.as_bytes());
    p.push(0);
    p
}

/// The exclusive end of a prefix range: `ns name 0x01` sorts after every `ns name 0x00 ...`.
pub(crate) fn prefix_end(ns: u8, name: &str) -> Vec<u8> {
    let mut p = prefix(ns, name);
    if let Some(last) = p.last_mut() {
        *last = 1;
    }
    p
}

/// Full key of `key` inside `name`.
pub(crate) fn key(ns: u8, name: &str, key: &[u8]) -> Vec<u8> {
    let mut k = prefix(ns, name);
    k.extend_from_slice(key);
    k
}
