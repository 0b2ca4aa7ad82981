//! Latency of each model in tract, one thread, int8 and float files, on the test vector's
//! inputs (tiled to the batch size). Prints one JSON line per case, for `bench/compare.py`.
//!
//!     cargo run --release -p edge-models --example tract_bench -- [--runs 200] [--manifest PATH]
//!         [--model NAME] [--seq TOKENS] [--tract-kernels] [--profile]
//!
//! `--tract-kernels` runs tract's own scalar quantize kernels instead of ours (`Kernels::Tract`;
//! the outputs are the same, see `src/kernels.rs`). `--profile` also prints, for each case, the
//! operators that take the time (`Engine::profile`: median per operator kind, share of the sum).
//!
//! Models with a sequence dimension (the text encoder) run at the vector's length, or at
//! `--seq` tokens (the vector's tokens repeated or cut: only the time is of interest).
//!
//! Also runs under qemu-aarch64 (cross/README.md) to compare int8 with float on ARM code.

use edge_models::{Engine, Kernels, Manifest, TestVector};
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut runs = 200usize;
    let mut manifest = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/manifest.toml"));
    let mut only: Option<String> = None;
    let mut seq: Option<usize> = None;
    let mut kernels = Kernels::Fast;
    let mut profile = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).unwrap_or(runs),
            "--manifest" => manifest = args.next().map(PathBuf::from).unwrap_or(manifest),
            "--model" => only = args.next(),
            "--tract-kernels" => kernels = Kernels::Tract,
            "--profile" => profile = true,
            "--seq" => seq = args.next().and_then(|v| v.parse().ok()).filter(|&s| s > 0),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let m = match Manifest::load(&manifest) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    for entry in &m.models {
        if only.as_ref().is_some_and(|o| o != &entry.name) {
            continue;
        }
        let vector = match TestVector::load(&m.path(&entry.test_vector), entry) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("{e}");
                continue;
            }
        };
        let batches: &[usize] = if entry.inputs[0].batched() {
            &[1, 24]
        } else {
            &[1]
        };
        for (precision, float) in [("int8", false), ("fp32", true)] {
            if float && entry.float_file.is_none() {
                continue;
            }
            let engine = Engine::load_with_kernels(&m, &entry.name, float, batches, kernels);
            let engine = match engine {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("{e}");
                    continue;
                }
            };
            for &batch in batches {
                let vb = vector.batch(entry);
                let vector_seq = vector
                    .inputs
                    .iter()
                    .zip(&entry.inputs)
                    .find_map(|(t, spec)| {
                        spec.seq_of(vb, t.as_f32().len())
                            .filter(|_| spec.sequenced())
                    });
                let run_seq = seq.or(vector_seq).unwrap_or(1);
                let feeds = vector.tiled(entry, batch, run_seq, 1.0);
                let inputs = feeds.inputs();
                for _ in 0..runs.min(20) {
                    let _ = engine.run(batch, &inputs);
                }
                let mut times = Vec::with_capacity(runs);
                for _ in 0..runs {
                    let t = Instant::now();
                    if let Err(e) = engine.run(batch, &inputs) {
                        eprintln!("{e}");
                        break;
                    }
                    times.push(t.elapsed().as_secs_f64() * 1e6);
                }
                if times.is_empty() {
                    continue;
                }
                times.sort_by(f64::total_cmp);
                let seq_field = if vector_seq.is_some() {
                    format!(",\"seq\":{run_seq}")
                } else {
                    String::new()
                };
                println!(
                    "{{\"runtime\":\"tract\",\"model\":\"{}\",\"precision\":\"{precision}\",\"batch\":{batch}{seq_field},\"median_us\":{:.1},\"p90_us\":{:.1},\"runs\":{}}}",
                    entry.name,
                    times[times.len() / 2],
                    times[times.len() * 9 / 10],
                    times.len()
                );
                if profile {
                    match engine.profile(batch, &inputs, runs.min(50)) {
                        Ok(rows) => {
                            let total: f64 = rows.iter().map(|r| r.2).sum();
                            println!("  operators, sum of medians {total:.0} µs:");
                            for (op, count, us) in rows.iter().take(12) {
                                println!(
                                    "  {op:<34} {count:>4} nodes {us:>9.1} µs {:>5.1} %",
                                    100.0 * us / total
                                );
                            }
                        }
                        Err(e) => eprintln!("{e}"),
                    }
                }
            }
        }
    }
}
