//! Milliseconds per 1280x720 frame of the shelf renderer (24 slots): with nothing changed
//! (compositing, lighting flicker and noise only), with 1-2 slots changed per frame and a hand
//! moving, with every slot changed, and a renderer built from scratch; plus a JPEG round trip
//! of the frame (the `image` crate, quality 60) as the peer it would add.
//!
//!     cargo run --release -p edge-sensors --example render_bench -- [--frames 60]

use edge_sensors::sim::render::{grid_quads, ShelfRenderer};
use edge_sensors::sim::{
    Occluder, OccluderKind, PackLook, PackShape, SimRng, SimSlot, SlotContent,
};
use std::time::Instant;

fn shelf() -> Vec<SimSlot> {
    let shapes = [
        PackShape::Box,
        PackShape::Bag,
        PackShape::Bottle,
        PackShape::Can,
        PackShape::Jar,
    ];
    let mut rng = SimRng::new(5);
    grid_quads(1280, 720, 4, 6)
        .into_iter()
        .enumerate()
        .map(|(i, quad)| SimSlot {
            id: format!("s{i}"),
            camera: 0,
            quad,
            look: PackLook {
                sku: format!("SKU{i:05}"),
                shape: shapes[i % 5],
                primary: [0, 0, 0].map(|_: u8| rng.below(256) as u8),
                secondary: [0, 0, 0].map(|_: u8| rng.below(256) as u8),
            },
            facings: 2 + rng.below(3) as u32,
            depth: 2 + rng.below(3) as u32,
            unit_grams: 100.0,
            scale_channel: None,
            popularity: 1.0,
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut frames = 60usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--frames" {
            frames = args.next().and_then(|v| v.parse().ok()).unwrap_or(frames);
        }
    }
    let slots = shelf();
    let mut contents: Vec<SlotContent> = slots
        .iter()
        .map(|s| SlotContent {
            units: s.capacity(),
            foreign: Vec::new(),
        })
        .collect();
    let t = Instant::now();
    let mut r = match ShelfRenderer::new(0, 1280, 720, &slots, 1) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let built = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let mut frame = r.render(&contents, &[], 0);
    let first = t.elapsed().as_secs_f64() * 1e3;
    let mut rng = SimRng::new(9);
    let hand = |n: u64, slot: usize| {
        let q = slots[slot].quad;
        Occluder {
            kind: OccluderKind::Hand,
            camera: 0,
            centre: [(q[0][0] + q[2][0]) / 2.0, (q[0][1] + q[2][1]) / 2.0],
            size: 60.0,
            seed: n,
        }
    };
    let shopper = Occluder {
        kind: OccluderKind::Shopper,
        camera: 0,
        centre: [900.0, 560.0],
        size: 150.0,
        seed: 3,
    };
    // nothing changed: a shopper standing still
    let mut still = Vec::new();
    for n in 0..frames {
        let t = Instant::now();
        frame = r.render(&contents, &[shopper], n as u64);
        still.push(t.elapsed().as_secs_f64() * 1e3);
    }
    // 1-2 slots changed a frame, a hand that moves every frame
    let mut some = Vec::new();
    for n in 0..frames {
        for _ in 0..1 + rng.below(2) {
            let i = rng.below(slots.len() as u64) as usize;
            contents[i].units = rng.below(slots[i].capacity() as u64 + 1) as u32;
        }
        let occ = [shopper, hand(n as u64, rng.below(24) as usize)];
        let t = Instant::now();
        frame = r.render(&contents, &occ, n as u64);
        some.push(t.elapsed().as_secs_f64() * 1e3);
    }
    // every slot changed
    let mut all = Vec::new();
    for n in 0..frames.min(20) {
        for (i, c) in contents.iter_mut().enumerate() {
            c.units = (c.units + 1) % (slots[i].capacity() + 1);
        }
        let t = Instant::now();
        frame = r.render(&contents, &[shopper], n as u64);
        all.push(t.elapsed().as_secs_f64() * 1e3);
    }
    // JPEG round trip of the frame
    let mut jpeg = Vec::new();
    let mut bytes = 0;
    for _ in 0..frames.min(20) {
        let t = Instant::now();
        let mut buf = Vec::new();
        let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 60);
        if let Err(e) = enc.encode(&frame.rgb, 1280, 720, image::ExtendedColorType::Rgb8) {
            eprintln!("jpeg: {e}");
            break;
        }
        bytes = buf.len();
        if let Err(e) = image::load_from_memory_with_format(&buf, image::ImageFormat::Jpeg) {
            eprintln!("jpeg: {e}");
            break;
        }
        jpeg.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let still = median(still);
    println!("1280x720, 24 slots, median ms per frame over {frames} frames:");
    println!("  renderer built:                 {built:7.1} ms (once per camera)");
    println!("  first frame (paint 24 slots):   {first:7.1} ms");
    println!("  nothing changed (shopper):      {still:7.1} ms (1.00x)");
    let some = median(some);
    println!(
        "  1-2 slots changed, moving hand: {some:7.1} ms ({:.2}x)",
        some / still
    );
    let all = median(all);
    println!(
        "  all 24 slots changed:           {all:7.1} ms ({:.2}x)",
        all / still
    );
    if !jpeg.is_empty() {
        let j = median(jpeg);
        println!(
            "  JPEG q60 encode + decode:       {j:7.1} ms ({:.2}x; {} KiB), not done by the renderer",
            j / still,
            bytes / 1024
        );
    }
}
