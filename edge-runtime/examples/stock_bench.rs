//! End-to-end cost of the stock pipeline per 1280x720 frame with the demo planogram's 24 slots,
//! on one thread: crop (homography warp of every slot), slotnet (int8, one batch of 24) and the
//! tracker. Frames come from the simulated store; drawing them is not counted. The peer, timed
//! in the same run on the same frames, is decoding the frame as a 1280x720 JPEG (what a camera
//! frame costs before any of our work).
//!
//!     taskset -c 0 cargo run --release -p edge-runtime --example stock_bench [FRAMES]

use edge_models::{Manifest, SlotNet};
use edge_runtime::catalog::Catalog;
use edge_runtime::stock::eval::sim_slots;
use edge_runtime::stock::pipeline::ShelfReader;
use edge_runtime::stock::planogram::Planogram;
use edge_runtime::stock::tracker::{Tracker, TrackerSettings};
use edge_sensors::sim::render::ShelfRenderer;
use edge_sensors::sim::store::{ScenarioParams, StoreSim};
use std::time::{Duration, Instant, SystemTime};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() -> Result<(), String> {
    let frames: u64 = std::env::args()
        .nth(1)
        .map(|a| {
            a.parse()
                .map_err(|_| format!("FRAMES must be a number, got {a}"))
        })
        .transpose()?
        .unwrap_or(200);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = Manifest::load(&root.join("models/manifest.toml")).map_err(|e| e.to_string())?;
    let slotnet = SlotNet::load(&manifest, 24).map_err(|e| e.to_string())?;
    let catalog = Catalog::demo()?;
    let planogram = Planogram::demo();
    let camera = &planogram.cameras[0];
    let slots = planogram.slots(Some(&catalog));
    let sims = sim_slots(&slots, &catalog)?;
    let mut sim = StoreSim::new(sims.clone(), ScenarioParams::busy(), 5, SystemTime::now())?;
    let mut renderer = ShelfRenderer::new(0, camera.width, camera.height, &sims, 5)?;
    let mut reader = ShelfReader::new(&camera.id, 0, camera.width, camera.height, &slots);
    let mut tracker = Tracker::new(slots.clone(), TrackerSettings::default());
    let rss_loaded = peak_rss_mib();

    let (mut track, mut decode) = (Duration::ZERO, Duration::ZERO);
    for n in 0..frames {
        sim.advance(Duration::from_secs(5));
        let frame = renderer.render(sim.contents(), &sim.occluders(), n);
        // Peer: the same frame as a camera's JPEG, decoded.
        let jpeg = {
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
                .encode(
                    &frame.rgb,
                    frame.width,
                    frame.height,
                    image::ExtendedColorType::Rgb8,
                )
                .map_err(|e| e.to_string())?;
            out
        };
        let d0 = Instant::now();
        let decoded = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg)
            .map_err(|e| e.to_string())?
            .into_rgb8();
        decode += d0.elapsed();
        std::hint::black_box(&decoded);

        let readings = reader
            .read(&slotnet, frame.width, frame.height, &frame.rgb)
            .map_err(|e| e.to_string())?;
        let t0 = Instant::now();
        let t = n as f64 * 5.0;
        for (i, obs) in readings {
            tracker.camera(i, t, obs);
        }
        std::hint::black_box(tracker.tick(t));
        track += t0.elapsed();
    }
    let times = reader.times();
    let total = times.crop + times.infer + track;
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / frames as f64;
    let fps = frames as f64 / total.as_secs_f64();
    println!(
        "stock pipeline, {frames} frames of {}x{}, {} slots, one thread",
        camera.width,
        camera.height,
        slots.len()
    );
    println!(
        "  crop      {:7.2} ms/frame  {:5.1} %",
        per(times.crop),
        100.0 * times.crop.as_secs_f64() / total.as_secs_f64()
    );
    println!(
        "  slotnet   {:7.2} ms/frame  {:5.1} %",
        per(times.infer),
        100.0 * times.infer.as_secs_f64() / total.as_secs_f64()
    );
    println!(
        "  tracker   {:7.2} ms/frame  {:5.1} %",
        per(track),
        100.0 * track.as_secs_f64() / total.as_secs_f64()
    );
    println!(
        "  total     {:7.2} ms/frame = {fps:.1} frames/s (goal 10: {:.2}x)",
        per(total),
        fps / 10.0
    );
    println!(
        "  peer: JPEG decode of the same 1280x720 frame {:.2} ms; pipeline / decode = {:.2}x",
        per(decode),
        total.as_secs_f64() / decode.as_secs_f64()
    );
    println!(
        "  peak RSS {:.1} MiB (after loading slotnet and the simulator: {rss_loaded:.1} MiB)",
        peak_rss_mib()
    );
    Ok(())
}
