use super::*;
use crate::sim::{PackLook, PackShape};

fn shelf(width: u32, height: u32, shelves: u32, per_shelf: u32) -> Vec<SimSlot> {
    let shapes = [
        PackShape::Box,
        PackShape::Can,
        PackShape::Bottle,
        PackShape::Jar,
        PackShape::Bag,
    ];
    grid_quads(width, height, shelves, per_shelf)
        .into_iter()
        .enumerate()
        .map(|(i, quad)| SimSlot {
            id: format!("S{i}"),
            camera: 0,
            quad,
            look: PackLook {
                sku: format!("SKU{i:05}"),
                shape: shapes[i % shapes.len()],
                primary: [(40 * i % 256) as u8, 120, 200],
                secondary: [230, (70 * i % 256) as u8, 40],
            },
            facings: 1 + (i as u32 % 4),
            depth: 1 + (i as u32 / 2 % 3),
            unit_grams: 100.0,
            scale_channel: None,
            popularity: 1.0,
        })
        .collect()
}

fn full(slots: &[SimSlot]) -> Vec<SlotContent> {
    slots
        .iter()
        .map(|s| SlotContent {
            units: s.capacity(),
            foreign: Vec::new(),
        })
        .collect()
}

/// Mean absolute difference of two frames over a slot's quad box.
fn diff_in(a: &Rendered, b: &Rendered, quad: &[Point; 4]) -> f64 {
    let x0 = quad[0][0].ceil() as usize;
    let y0 = quad[0][1].ceil() as usize;
    let x1 = quad[2][0].floor() as usize;
    let y1 = quad[2][1].floor() as usize;
    let w = a.width as usize;
    let mut total = 0.0;
    let mut n = 0.0;
    for y in y0..y1 {
        for x in x0..x1 {
            for k in 0..3 {
                let i = (y * w + x) * 3 + k;
                total += (a.rgb[i] as f64 - b.rgb[i] as f64).abs();
                n += 1.0;
            }
        }
    }
    total / n
}

#[test]
fn same_seed_and_frame_give_the_same_picture() {
    let slots = shelf(320, 180, 2, 3);
    let contents = full(&slots);
    let mut a = ShelfRenderer::new(0, 320, 180, &slots, 7).unwrap();
    let mut b = ShelfRenderer::new(0, 320, 180, &slots, 7).unwrap();
    let fa = a.render(&contents, &[], 3);
    let fb = b.render(&contents, &[], 3);
    assert_eq!(fa, fb);
    assert_eq!(fa.rgb.len(), 320 * 180 * 3);
    // another frame differs only by noise; another seed is another camera
    let fa4 = a.render(&contents, &[], 4);
    assert_ne!(fa.rgb, fa4.rgb);
    assert!(diff_in(&fa, &fa4, &slots[0].quad) < 12.0);
    let mut c = ShelfRenderer::new(0, 320, 180, &slots, 8).unwrap();
    assert_ne!(fa.rgb, c.render(&contents, &[], 3).rgb);
}

#[test]
fn an_empty_slot_looks_different_from_a_full_one() {
    let slots = shelf(640, 360, 2, 3);
    let mut r = ShelfRenderer::new(0, 640, 360, &slots, 1).unwrap();
    let mut contents = full(&slots);
    let before = r.render(&contents, &[], 0);
    contents[4].units = 0;
    let after = r.render(&contents, &[], 0);
    assert!(
        diff_in(&before, &after, &slots[4].quad) > 10.0,
        "emptying slot 4 hardly changed it"
    );
    // the other slots are redrawn from the cache: unchanged
    assert!(diff_in(&before, &after, &slots[0].quad) < 0.01);
    // a cached slot drawn again is what a fresh renderer draws
    let mut fresh = ShelfRenderer::new(0, 640, 360, &slots, 1).unwrap();
    assert_eq!(fresh.render(&contents, &[], 0), after);
}

#[test]
fn foreign_units_show() {
    let slots = shelf(640, 360, 2, 3);
    let mut r = ShelfRenderer::new(0, 640, 360, &slots, 2).unwrap();
    let mut contents = full(&slots);
    contents[3].units = slots[3].capacity() - 1;
    let before = r.render(&contents, &[], 0);
    contents[3].foreign = vec![1];
    let after = r.render(&contents, &[], 0);
    assert!(diff_in(&before, &after, &slots[3].quad) > 2.0);
    // out-of-range foreign indices are ignored, not a panic
    contents[3].foreign = vec![1, 999];
    r.render(&contents, &[], 0);
}

#[test]
fn a_hand_covers_its_slot_and_not_the_far_ones() {
    let slots = shelf(1280, 720, 4, 6);
    let mut r = ShelfRenderer::new(0, 1280, 720, &slots, 3).unwrap();
    let contents = full(&slots);
    let target = 8;
    let centre = quad_centre(&slots[target].quad);
    for seed in 0..6 {
        let hand = Occluder {
            kind: OccluderKind::Hand,
            camera: 0,
            centre,
            size: 70.0,
            seed,
        };
        let frame = r.render(&contents, &[hand], 0);
        let cov = |i: usize| frame.coverage.iter().find(|c| c.0 == i).unwrap().1;
        assert!(cov(target) >= OCCLUDED_MIN, "seed {seed}: {}", cov(target));
        assert_eq!(cov(23), 0.0);
        assert_eq!(cov(5), 0.0);
        // the hand changes the picture over the slot
        let plain = r.render(&contents, &[], 0);
        assert!(diff_in(&plain, &frame, &slots[target].quad) > 5.0);
    }
    // other kinds cover too; an occluder of another camera does nothing
    for kind in [
        OccluderKind::Shopper,
        OccluderKind::Cart,
        OccluderKind::Glare,
    ] {
        let o = Occluder {
            kind,
            camera: 0,
            centre,
            size: 90.0,
            seed: 5,
        };
        let frame = r.render(&contents, &[o], 1);
        let c = frame.coverage.iter().find(|c| c.0 == target).unwrap().1;
        assert!(c >= OCCLUDED_MIN, "{kind:?}: {c}");
        let other = Occluder { camera: 1, ..o };
        let frame = r.render(&contents, &[other], 1);
        assert!(frame.coverage.iter().all(|c| c.1 == 0.0));
    }
}

#[test]
fn bad_slots_are_refused_with_a_reason() {
    let good = shelf(320, 180, 1, 2);
    let mut cases: Vec<(&str, Vec<SimSlot>, u32, u32)> = Vec::new();
    let mut bow_tie = good.clone();
    bow_tie[0].quad = [[0.0, 0.0], [100.0, 100.0], [100.0, 0.0], [0.0, 100.0]];
    cases.push(("bow tie", bow_tie, 320, 180));
    let mut reversed = good.clone();
    reversed[0].quad = [[0.0, 0.0], [0.0, 100.0], [100.0, 100.0], [100.0, 0.0]];
    cases.push(("reversed", reversed, 320, 180));
    let mut flat = good.clone();
    flat[0].quad = [[0.0, 0.0], [100.0, 0.0], [100.0, 0.1], [0.0, 0.1]];
    cases.push(("flat", flat, 320, 180));
    let mut nan = good.clone();
    nan[0].quad[1][0] = f32::NAN;
    cases.push(("nan", nan, 320, 180));
    let mut outside = good.clone();
    outside[1].quad[1][0] = 400.0;
    outside[1].quad[2][0] = 400.0;
    cases.push(("outside", outside, 320, 180));
    let mut no_depth = good.clone();
    no_depth[1].depth = 0;
    cases.push(("no depth", no_depth, 320, 180));
    let mut no_facings = good.clone();
    no_facings[0].facings = 0;
    cases.push(("no facings", no_facings, 320, 180));
    cases.push(("huge", good.clone(), 5000, 180));
    cases.push(("zero", good.clone(), 0, 180));
    for (name, slots, w, h) in cases {
        let err = ShelfRenderer::new(0, w, h, &slots, 1).expect_err(name);
        assert!(!err.is_empty(), "{name}");
    }
    // a slot of another camera is not checked against this frame
    let mut other = good.clone();
    other[1].camera = 1;
    other[1].quad = [[0.0, 0.0], [9000.0, 0.0], [9000.0, 50.0], [0.0, 50.0]];
    assert!(ShelfRenderer::new(0, 320, 180, &other, 1).is_ok());
}

#[test]
fn general_quads_render() {
    let mut slots = shelf(640, 360, 1, 2);
    slots[0].quad = [[40.0, 60.0], [260.0, 30.0], [280.0, 300.0], [20.0, 250.0]];
    slots[1].quad = [[330.0, 40.0], [600.0, 70.0], [590.0, 330.0], [340.0, 280.0]];
    let mut r = ShelfRenderer::new(0, 640, 360, &slots, 4).unwrap();
    let mut contents = full(&slots);
    let a = r.render(&contents, &[], 0);
    contents[0].units = 0;
    let b = r.render(&contents, &[], 0);
    assert!(diff_in(&a, &b, &[[80.0, 80.0], [0.0; 2], [220.0, 240.0], [0.0; 2]]) > 5.0);
}
