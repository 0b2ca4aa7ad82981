//! Parser throughput: lines/s of each shelf-device parser and of the line framer, each against
//! a trivial baseline on the same lines in the same run (split on the delimiter + `str::parse`).
//!
//! `cargo run --release -p edge-sensors --example parser_bench [LINES]` (default 200000).

use std::hint::black_box;
use std::time::Instant;

use edge_sensors::barcode::{gtin_check_digit, parse_barcode};
use edge_sensors::scale::{format_sics, parse_channel_grams, parse_sics};
use edge_sensors::{LineFramer, Stability, TemperatureParser};

/// Deterministic pseudo-random numbers (no dependency, same lines every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Best lines/s over a few rounds of `f` applied to every line.
fn rate<T>(lines: &[String], mut f: impl FnMut(&str) -> T) -> f64 {
    let mut best = 0.0f64;
    for _ in 0..5 {
        let start = Instant::now();
        for l in lines {
            black_box(f(black_box(l)));
        }
        let secs = start.elapsed().as_secs_f64();
        best = best.max(lines.len() as f64 / secs);
    }
    best
}

fn report(name: &str, parser: f64, baseline_name: &str, baseline: f64) {
    println!(
        "{name:<22} {:>8.2} M lines/s   baseline {baseline_name:<34} {:>8.2} M lines/s   ratio {:.2}",
        parser / 1e6,
        baseline / 1e6,
        parser / baseline
    );
}

fn main() {
    let n: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 200_000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: parser_bench [LINES]");
            std::process::exit(2);
        }
    };
    let mut rng = Lcg(42);

    let channel_lines: Vec<String> = (0..n)
        .map(|_| {
            format!(
                "{},{}.{}",
                rng.next() % 16,
                rng.next() % 100_000,
                rng.next() % 10
            )
        })
        .collect();
    let sics_lines: Vec<String> = (0..n)
        .map(|_| {
            let grams = (rng.next() % 10_000_000) as f64 / 1000.0;
            match rng.next() % 10 {
                0 => "S I".to_owned(),
                1 => format_sics(grams, Stability::Dynamic),
                _ => format!("S S {:>10.3} kg", grams / 1000.0),
            }
        })
        .collect();
    let barcode_lines: Vec<String> = (0..n)
        .map(|_| {
            let body = format!("{:012}", rng.next() % 1_000_000_000_000);
            let check = gtin_check_digit(&body).unwrap_or(0);
            format!("{body}{check}")
        })
        .collect();
    let temperature_lines: Vec<String> = (0..n)
        .map(|_| {
            let centi = (rng.next() % 8000) as i64 - 3000;
            format!("chiller-{}={}", rng.next() % 8, centi as f64 / 100.0)
        })
        .collect();

    println!("{n} lines per parser, best of 5 rounds");
    report(
        "scale channel,grams",
        rate(&channel_lines, parse_channel_grams),
        "split(',') + f64::from_str",
        rate(&channel_lines, |l| {
            l.split(',').nth(1).and_then(|v| v.parse::<f64>().ok())
        }),
    );
    report(
        "scale SICS",
        rate(&sics_lines, |l| parse_sics(l, 0)),
        "split_whitespace + f64::from_str",
        rate(&sics_lines, |l| {
            l.split_ascii_whitespace()
                .nth(2)
                .and_then(|v| v.parse::<f64>().ok())
        }),
    );
    report(
        "barcode EAN-13",
        rate(&barcode_lines, parse_barcode),
        "u64::from_str",
        rate(&barcode_lines, |l| l.parse::<u64>().ok()),
    );
    let probes = TemperatureParser::default();
    report(
        "temperature",
        rate(&temperature_lines, |l| probes.parse(l)),
        "split('=') + f64::from_str",
        rate(&temperature_lines, |l| {
            l.split('=').nth(1).and_then(|v| v.parse::<f64>().ok())
        }),
    );

    // Framer: the SICS lines as one CRLF byte stream, fed in 64-byte reads like a serial port.
    let stream: Vec<u8> = sics_lines
        .iter()
        .flat_map(|l| l.bytes().chain(*b"\r\n"))
        .collect();
    let mut framer_best = 0.0f64;
    let mut baseline_best = 0.0f64;
    for _ in 0..5 {
        let mut framer = LineFramer::default();
        let start = Instant::now();
        let mut lines = 0usize;
        for chunk in stream.chunks(64) {
            framer.push_with(black_box(chunk), |f| {
                black_box(f);
                lines += 1;
            });
        }
        framer_best = framer_best.max(lines as f64 / start.elapsed().as_secs_f64());

        let start = Instant::now();
        let mut lines = 0usize;
        for l in black_box(stream.as_slice()).split(|&b| b == b'\n') {
            if let Ok(s) = std::str::from_utf8(l) {
                black_box(s.trim_end_matches('\r').to_owned());
                lines += 1;
            }
        }
        baseline_best = baseline_best.max(lines as f64 / start.elapsed().as_secs_f64());
    }
    report(
        "framer (64-byte reads)",
        framer_best,
        "slice::split(\\n) + from_utf8",
        baseline_best,
    );
}
