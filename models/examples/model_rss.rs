//! Memory of each model: every model is loaded in a fresh process (sha256, tract plan for its
//! batch sizes, test vector run), then all four together as the daemon does
//! (`ModelSet::load`, slot batch 24). Prints resident memory before and after loading and the
//! peak (VmHWM), in MiB, one table row per case.
//!
//!     cargo run --release -p edge-models --example model_rss -- [--manifest PATH]
//!
//! Linux only (reads /proc/self/status).

use edge_models::{Forecaster, Manifest, ModelSet, Recommender, SlotNet, TextEncoder};
use std::path::{Path, PathBuf};
use std::process::Command;

fn status_kib(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "?".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

/// Loads `name` (or all four for "all") in this process and prints one row.
fn measure(manifest: &Path, name: &str) -> Result<(), String> {
    let before = status_kib("VmRSS:");
    let loaded = if name == "all" {
        let set = std::hint::black_box(ModelSet::load(manifest, 24).map_err(|e| e.to_string())?);
        format!("ready: {}", set.ready().join(", "))
    } else {
        let m = Manifest::load(manifest).map_err(|e| e.to_string())?;
        let e = |e: edge_models::ModelError| e.to_string();
        match name {
            "slotnet" => drop(std::hint::black_box(SlotNet::load(&m, 24).map_err(e)?)),
            "forecaster" => drop(std::hint::black_box(Forecaster::load(&m).map_err(e)?)),
            "recommender" => drop(std::hint::black_box(Recommender::load(&m).map_err(e)?)),
            "text_encoder" => drop(std::hint::black_box(TextEncoder::load(&m).map_err(e)?)),
            other => return Err(format!("unknown model {other}")),
        }
        "ready".into()
    };
    let (after, peak) = (status_kib("VmRSS:"), status_kib("VmHWM:"));
    println!(
        "| {name} | {} | {} | {} | {loaded} |",
        mib(before),
        mib(after),
        mib(peak)
    );
    Ok(())
}

fn main() {
    let mut manifest = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/manifest.toml"));
    let mut one: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--manifest" => manifest = args.next().map(PathBuf::from).unwrap_or(manifest),
            "--one" => one = args.next(),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    if let Some(name) = one {
        if let Err(e) = measure(&manifest, &name) {
            eprintln!("{name}: {e}");
            std::process::exit(1);
        }
        return;
    }
    println!("| loaded | RSS before, MiB | RSS after, MiB | peak RSS, MiB | |");
    println!("|---|---|---|---|---|");
    let me = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let mut failed = false;
    for name in [
        "slotnet",
        "forecaster",
        "recommender",
        "text_encoder",
        "all",
    ] {
        // the model's own process, so that one model's allocations do not hide another's
        let status = Command::new(&me)
            .arg("--manifest")
            .arg(&manifest)
            .args(["--one", name])
            .status();
        failed |= !status.is_ok_and(|s| s.success());
    }
    if failed {
        std::process::exit(1);
    }
}
