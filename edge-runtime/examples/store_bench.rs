//! Store benchmark: durable commits/s with batches of 1 and 64 records, and bytes on disk after
//! 100k small records, for redb and sled measured in the same run, with the sled/redb ratio.
//!
//! Run: `cargo run --release -p edge-runtime --example store_bench [DIR]`. DIR defaults to
//! `target/store-bench`; put it on the device's real storage (a tmpfs makes fsync free).

use edge_runtime::config::{StoreBackendKind, StoreSettings};
use edge_runtime::store::{Batch, Store};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const VALUE: [u8; 200] = [0x5a; 200];

struct Figures {
    commits_per_s_b1: f64,
    commits_per_s_b64: f64,
    records_per_s_b64: f64,
    disk_bytes_100k: u64,
}

fn open(dir: &Path, kind: StoreBackendKind) -> Store {
    let _ = std::fs::remove_dir_all(dir);
    let settings = StoreSettings {
        backend: kind,
        cache_mb: 32,
    };
    match Store::open(dir, &settings) {
        Ok(o) => o.store,
        Err(e) => {
            eprintln!("cannot open store in {}: {e}", dir.display());
            std::process::exit(1);
        }
    }
}

/// Commits batches of `size` records for about `budget`; returns commits per second.
fn commit_rate(store: &Store, size: usize, budget: Duration) -> f64 {
    let start = Instant::now();
    let mut commits = 0u64;
    let mut n = 0u64;
    while start.elapsed() < budget || commits < 20 {
        let mut batch = Batch::new();
        for _ in 0..size {
            batch.put("bench", &n.to_be_bytes(), &VALUE);
            n += 1;
        }
        if let Err(e) = store.commit(batch) {
            eprintln!("commit failed: {e}");
            std::process::exit(1);
        }
        commits += 1;
    }
    commits as f64 / start.elapsed().as_secs_f64()
}

fn measure(root: &Path, kind: StoreBackendKind) -> Figures {
    let dir = root.join(kind.name());
    let store = open(&dir.join("b1"), kind);
    let commits_per_s_b1 = commit_rate(&store, 1, Duration::from_secs(3));
    drop(store);
    let store = open(&dir.join("b64"), kind);
    let commits_per_s_b64 = commit_rate(&store, 64, Duration::from_secs(3));
    drop(store);

    // 100k small records (outbox-sized: 200-byte payloads) in commits of 1000.
    let store = open(&dir.join("size"), kind);
    for chunk in 0..100u64 {
        let mut batch = Batch::new();
        for i in 0..1000u64 {
            batch.append("outbox", &(chunk * 1000 + i).to_be_bytes().repeat(25));
        }
        if let Err(e) = store.commit(batch) {
            eprintln!("commit failed: {e}");
            std::process::exit(1);
        }
    }
    let _ = store.close();
    let disk_bytes_100k = store.disk_bytes().unwrap_or(0);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Figures {
        commits_per_s_b1,
        commits_per_s_b64,
        records_per_s_b64: commits_per_s_b64 * 64.0,
        disk_bytes_100k,
    }
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/store-bench"));
    println!(
        "store benchmark in {} (200-byte values, every commit durable)",
        root.display()
    );
    let redb = measure(&root, StoreBackendKind::Redb);
    let sled = measure(&root, StoreBackendKind::Sled);
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "{:<28} {:>12} {:>12} {:>14}",
        "figure", "redb", "sled", "sled/redb"
    );
    for (name, r, s) in [
        (
            "durable commits/s, batch 1",
            redb.commits_per_s_b1,
            sled.commits_per_s_b1,
        ),
        (
            "durable commits/s, batch 64",
            redb.commits_per_s_b64,
            sled.commits_per_s_b64,
        ),
        (
            "records/s, batch 64",
            redb.records_per_s_b64,
            sled.records_per_s_b64,
        ),
        (
            "MiB on disk, 100k records",
            mib(redb.disk_bytes_100k),
            mib(sled.disk_bytes_100k),
        ),
    ] {
        println!("{name:<28} {r:>12.1} {s:>12.1} {:>14.2}", s / r);
    }
}
