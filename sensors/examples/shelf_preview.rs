//! Writes one frame of a simulated shelf to PNG so that a person can look at it: 4 shelves x 6
//! slots in 1280x720, random products, some slots part-empty, one with a foreign unit, and a
//! hand, a shopper, a cart and glare in front of them.
//!
//!     cargo run --release -p edge-sensors --example shelf_preview -- OUT.png [--seed N] [--clear]
//!
//! `--clear` draws no occluders.

use edge_sensors::sim::render::{grid_quads, ShelfRenderer};
use edge_sensors::sim::{
    Occluder, OccluderKind, PackLook, PackShape, SimRng, SimSlot, SlotContent,
};

/// A random store: 24 slots on camera 0 with random pack looks.
pub fn random_shelf(seed: u64) -> Vec<SimSlot> {
    let shapes = [
        PackShape::Box,
        PackShape::Bag,
        PackShape::Bottle,
        PackShape::Can,
        PackShape::Jar,
    ];
    let mut rng = SimRng::from_parts(&[seed, 1]);
    let colour = |rng: &mut SimRng| [0, 0, 0].map(|_: u8| rng.below(256) as u8);
    grid_quads(1280, 720, 4, 6)
        .into_iter()
        .enumerate()
        .map(|(i, quad)| SimSlot {
            id: format!("{}{}", char::from(b'A' + (i / 6) as u8), i % 6 + 1),
            camera: 0,
            quad,
            look: PackLook {
                sku: format!("SKU{:05}", rng.below(100_000)),
                shape: shapes[rng.below(5) as usize],
                primary: colour(&mut rng),
                secondary: colour(&mut rng),
            },
            facings: 1 + rng.below(4) as u32,
            depth: 1 + rng.below(4) as u32,
            unit_grams: 250.0,
            scale_channel: None,
            popularity: 1.0,
        })
        .collect()
}

fn main() {
    let mut out = None;
    let mut seed = 1u64;
    let mut clear = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).unwrap_or(seed),
            "--clear" => clear = true,
            path => out = Some(path.to_string()),
        }
    }
    let Some(out) = out else {
        eprintln!("usage: shelf_preview OUT.png [--seed N] [--clear]");
        std::process::exit(2);
    };
    let slots = random_shelf(seed);
    let mut rng = SimRng::from_parts(&[seed, 2]);
    let mut contents: Vec<SlotContent> = slots
        .iter()
        .map(|s| SlotContent {
            units: match rng.below(4) {
                0 => 0,
                1 => s.capacity(),
                _ => rng.below(s.capacity() as u64 + 1) as u32,
            },
            foreign: Vec::new(),
        })
        .collect();
    contents[9].units = slots[9].capacity().saturating_sub(1);
    contents[9].foreign = vec![2];
    let centre = |i: usize| {
        let q = slots[i].quad;
        [(q[0][0] + q[2][0]) / 2.0, (q[0][1] + q[2][1]) / 2.0]
    };
    let occluders = if clear {
        Vec::new()
    } else {
        vec![
            Occluder {
                kind: OccluderKind::Hand,
                camera: 0,
                centre: centre(7),
                size: 60.0,
                seed,
            },
            Occluder {
                kind: OccluderKind::Shopper,
                camera: 0,
                centre: [centre(16)[0], 560.0],
                size: 150.0,
                seed: seed + 1,
            },
            Occluder {
                kind: OccluderKind::Cart,
                camera: 0,
                centre: [centre(22)[0], 640.0],
                size: 110.0,
                seed: seed + 2,
            },
            Occluder {
                kind: OccluderKind::Glare,
                camera: 0,
                centre: centre(4),
                size: 60.0,
                seed: seed + 3,
            },
        ]
    };
    let mut renderer = match ShelfRenderer::new(0, 1280, 720, &slots, seed) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let frame = renderer.render(&contents, &occluders, 0);
    if let Err(e) = image::save_buffer(
        &out,
        &frame.rgb,
        frame.width,
        frame.height,
        image::ExtendedColorType::Rgb8,
    ) {
        eprintln!("{out}: {e}");
        std::process::exit(1);
    }
    let covered: Vec<String> = frame
        .coverage
        .iter()
        .filter(|c| c.1 > 0.0)
        .map(|(i, c)| format!("{}={c:.2}", slots[*i].id))
        .collect();
    println!("{out}: 1280x720, coverage {}", covered.join(" "));
}
