//! Occluders painted in frame pixels (step 5 of `shelf_render.py`): hand and arm, a shopper's
//! body, a cart's wire grid, glare. Each is an RGBA layer over its bounding box plus the
//! extent that counts as covering (alpha > 0.5, the cart's whole region, glare > 0.3), as the
//! training labels were computed.

use super::super::{OccluderKind, SimRng};
use super::paint::{clip, face_colour, scale, uni, Design, Face, Rgb};
use std::f32::consts::PI;

/// Skin tones (Python's `SKIN`).
const SKIN: [[u8; 3]; 5] = [
    [255, 224, 196],
    [234, 192, 134],
    [198, 134, 66],
    [141, 85, 36],
    [94, 56, 30],
];

/// One occluder painted over the box `x0..x0+w`, `y0..y0+h` of the frame.
#[derive(Debug, Clone)]
pub(crate) struct Painted {
    pub x0: i64,
    pub y0: i64,
    pub w: usize,
    pub h: usize,
    /// Straight (not premultiplied) colour and alpha; empty for glare.
    pub rgba: Vec<[f32; 4]>,
    /// Additive glare intensity; empty for other kinds.
    pub glare: Vec<f32>,
    /// Pixels that count as covered.
    pub extent: Vec<bool>,
    /// Defocus blur, frame pixels.
    pub defocus: f32,
}

/// Where the occluder is and the scale of the slot under it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placement {
    pub kind: OccluderKind,
    pub centre: [f32; 2],
    pub size: f32,
    pub seed: u64,
    /// Size of the slot under the centre, frame pixels (sqrt of its area).
    pub slot_px: f32,
    /// Padding for the blur that follows, frame pixels.
    pub pad: f32,
    /// Frame width and height: a layer never reaches further than `pad` outside it.
    pub frame: [f32; 2],
}

fn capsule_dist(x: f32, y: f32, p0: [f32; 2], p1: [f32; 2]) -> f32 {
    let d = [p1[0] - p0[0], p1[1] - p0[1]];
    let l2 = (d[0] * d[0] + d[1] * d[1]).max(1e-6);
    let t = (((x - p0[0]) * d[0] + (y - p0[1]) * d[1]) / l2).clamp(0.0, 1.0);
    ((x - p0[0] - t * d[0]).powi(2) + (y - p0[1] - t * d[1]).powi(2)).sqrt()
}

/// Clothing pattern: solid, stripes or checks, with folds (Python's `_clothing`).
struct Clothing {
    base: Rgb,
    other: Rgb,
    kind: u64,
    ang: f32,
    per: f32,
    f1: f32,
    p1: f32,
    f2: f32,
    size: f32,
}

impl Clothing {
    fn new(rng: &mut SimRng, size: f32) -> Clothing {
        let mut base = [
            uni(rng, 0.05, 0.95),
            uni(rng, 0.05, 0.95),
            uni(rng, 0.05, 0.95),
        ];
        if rng.chance(0.3) {
            base = [uni(rng, 0.05, 0.9); 3];
        }
        let kind = rng.below(3);
        let other = [
            uni(rng, 0.05, 0.95),
            uni(rng, 0.05, 0.95),
            uni(rng, 0.05, 0.95),
        ];
        Clothing {
            base,
            other,
            kind,
            ang: uni(rng, 0.0, PI),
            per: size * uni(rng, 0.06, 0.2),
            f1: uni(rng, 4.0, 12.0),
            p1: uni(rng, 0.0, 6.0),
            f2: uni(rng, 2.0, 6.0),
            size,
        }
    }

    fn at(&self, x: f32, y: f32) -> Rgb {
        let mut rgb = self.base;
        if self.kind >= 1 {
            let (s, c) = self.ang.sin_cos();
            let a = (x * c + y * s) / self.per;
            let mut m = a.rem_euclid(1.0) < 0.5;
            if self.kind == 2 {
                let b = (-x * s + y * c) / self.per;
                m ^= b.rem_euclid(1.0) < 0.5;
            }
            if m {
                rgb = self.other;
            }
        }
        let folds = 1.0
            + 0.18 * (x / self.size * self.f1 + self.p1).sin() * (y / self.size * self.f2).sin();
        scale(rgb, folds)
    }
}

/// A layer over the bounding box `[bx0, by0, bx1, by1]` (frame pixels, before padding).
fn layer(bbox: [f32; 4], pl: &Placement, glare: bool) -> Painted {
    let pad = if glare { 0.0 } else { pl.pad };
    let [fw, fh] = pl.frame;
    let x0 = (bbox[0] - pad).max(-pad - 1.0).floor() as i64;
    let y0 = (bbox[1] - pad).max(-pad - 1.0).floor() as i64;
    let x1 = (bbox[2] + pad).min(fw + pad + 1.0).ceil() as i64;
    let y1 = (bbox[3] + pad).min(fh + pad + 1.0).ceil() as i64;
    let w = (x1 - x0).clamp(1, 8192) as usize;
    let h = (y1 - y0).clamp(1, 8192) as usize;
    Painted {
        x0,
        y0,
        w,
        h,
        rgba: if glare {
            Vec::new()
        } else {
            vec![[0.0; 4]; w * h]
        },
        glare: if glare { vec![0.0; w * h] } else { Vec::new() },
        extent: vec![false; w * h],
        defocus: 0.0,
    }
}

impl Painted {
    /// Calls `f(index, x, y)` for every pixel centre of the layer, frame coordinates.
    fn each(&mut self, mut f: impl FnMut(&mut Painted, usize, f32, f32)) {
        for r in 0..self.h {
            let y = (self.y0 + r as i64) as f32 + 0.5;
            for c in 0..self.w {
                let x = (self.x0 + c as i64) as f32 + 0.5;
                f(self, r * self.w + c, x, y);
            }
        }
    }

    fn set(&mut self, i: usize, rgb: Rgb) {
        let c = clip(rgb);
        self.rgba[i] = [c[0], c[1], c[2], 1.0];
    }
}

/// Paints one occluder; `packs` are designs a hand may hold.
pub(crate) fn paint(pl: &Placement, packs: &[Design]) -> Painted {
    let mut rng = SimRng::from_parts(&[pl.seed, 0x0CC1]);
    let s = pl.slot_px.max(4.0);
    let [cx, cy] = pl.centre;
    match pl.kind {
        OccluderKind::Hand => {
            let skin = SKIN[rng.below(SKIN.len() as u64) as usize];
            let skin = clip(scale(
                [
                    skin[0] as f32 / 255.0,
                    skin[1] as f32 / 255.0,
                    skin[2] as f32 / 255.0,
                ],
                uni(&mut rng, 0.85, 1.1),
            ));
            // `size` is the reach of the fingers from the palm centre, about 2.6 arm radii
            let r = if pl.size > 0.0 {
                pl.size / 2.6
            } else {
                s * uni(&mut rng, 0.09, 0.17)
            };
            // the arm comes from the shopper in front: mostly from below, else from a side
            let roll = rng.unit();
            let base_ang: f32 = if roll < 0.45 {
                PI / 2.0
            } else if roll < 0.65 {
                PI
            } else if roll < 0.85 {
                0.0
            } else {
                -PI / 2.0
            };
            let from = base_ang + uni(&mut rng, -0.45, 0.45);
            let len = s * uni(&mut rng, 0.7, 1.3);
            // palm centre at the occluder centre; the arm ends half a radius before it
            let dir = [-from.cos(), -from.sin()];
            let p1 = [cx - dir[0] * r * 0.5, cy - dir[1] * r * 0.5];
            let p0 = [p1[0] - dir[0] * len, p1[1] - dir[1] * len];
            let reach = r * 3.6;
            let bbox = [
                p0[0].min(cx) - reach,
                p0[1].min(cy) - reach,
                p0[0].max(cx) + reach,
                p0[1].max(cy) + reach,
            ];
            let mut out = layer(bbox, pl, false);
            out.each(|o, i, x, y| {
                let d = capsule_dist(x, y, p0, p1);
                if d < r {
                    o.set(i, scale(skin, 1.0 - 0.35 * (d / r).clamp(0.0, 1.0).powi(2)));
                }
            });
            if rng.chance(0.6) {
                let f = uni(&mut rng, 0.3, 0.7);
                let ps = [p0[0] + (p1[0] - p0[0]) * f, p0[1] + (p1[1] - p0[1]) * f];
                let cloth = Clothing::new(&mut rng, s);
                out.each(|o, i, x, y| {
                    let d = capsule_dist(x, y, p0, ps);
                    if d < r * 1.25 {
                        let k = 1.0 - 0.3 * (d / (r * 1.25)).clamp(0.0, 1.0).powi(2);
                        o.set(i, scale(cloth.at(x, y), k));
                    }
                });
            }
            let ang = (p1[1] - p0[1]).atan2(p1[0] - p0[0]);
            let palm_r = r * 1.15;
            let pc = [p1[0] + ang.cos() * r * 0.5, p1[1] + ang.sin() * r * 0.5];
            out.each(|o, i, x, y| {
                if (x - pc[0]).powi(2) + (y - pc[1]).powi(2) < palm_r * palm_r {
                    o.set(i, scale(skin, 0.95));
                }
            });
            for j in 0..4 {
                let off = -0.45 + 0.3 * j as f32;
                let a = ang + off + uni(&mut rng, -0.1, 0.1);
                let base = [
                    pc[0] + a.cos() * palm_r * 0.7,
                    pc[1] + a.sin() * palm_r * 0.7,
                ];
                let ln = r * uni(&mut rng, 1.0, 1.8);
                let tip = [base[0] + a.cos() * ln, base[1] + a.sin() * ln];
                out.each(|o, i, x, y| {
                    let d = capsule_dist(x, y, base, tip);
                    if d < r * 0.28 {
                        let k = 1.0 - 0.3 * (d / (r * 0.28)).clamp(0.0, 1.0).powi(2);
                        o.set(i, scale(skin, k));
                    }
                });
            }
            let a = ang + if rng.chance(0.5) { -1.2 } else { 1.2 };
            let tip = [pc[0] + a.cos() * r * 1.6, pc[1] + a.sin() * r * 1.6];
            let thumb = |x: f32, y: f32| capsule_dist(x, y, pc, tip) < r * 0.32;
            out.each(|o, i, x, y| {
                if thumb(x, y) {
                    o.set(i, scale(skin, 0.9));
                }
            });
            if rng.chance(0.3) && !packs.is_empty() {
                let d = &packs[rng.below(packs.len() as u64) as usize];
                let bw = r * uni(&mut rng, 1.5, 2.5);
                let bh = r * uni(&mut rng, 2.0, 3.5);
                let bc = [pc[0] + ang.cos() * r * 1.2, pc[1] + ang.sin() * r * 1.2];
                out.each(|o, i, x, y| {
                    if (x - bc[0]).abs() < bw / 2.0 && (y - bc[1]).abs() < bh / 2.0 {
                        let a = (x - bc[0] + bw / 2.0) / bw;
                        let b = (y - bc[1] + bh / 2.0) / bh;
                        o.set(i, face_colour(d, a, b, Face::Flat));
                    }
                    if thumb(x, y) {
                        o.set(i, scale(skin, 0.9));
                    }
                });
            }
            out.defocus = uni(&mut rng, 0.0, 1.2) * s / 64.0;
            mark_alpha_extent(&mut out);
            out
        }
        OccluderKind::Shopper => {
            let size = if pl.size > 0.0 { pl.size } else { s };
            let rx = size * uni(&mut rng, 0.7, 1.0);
            let ry = size * uni(&mut rng, 1.0, 1.4);
            let cloth = Clothing::new(&mut rng, s);
            let mut out = layer([cx - rx, cy - ry, cx + rx, cy + ry], pl, false);
            out.each(|o, i, x, y| {
                if ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2) < 1.0 {
                    o.set(i, cloth.at(x, y));
                }
            });
            out.defocus = uni(&mut rng, 1.5, 5.0) * s / 64.0;
            mark_alpha_extent(&mut out);
            out
        }
        OccluderKind::Cart => {
            let size = if pl.size > 0.0 { pl.size } else { s };
            let hw = size;
            let hh = size * uni(&mut rng, 0.6, 0.9);
            let sp = s * uni(&mut rng, 0.06, 0.13);
            let th = (s * uni(&mut rng, 0.012, 0.03)).max(1.0);
            let a1 = uni(&mut rng, -0.25, 0.25);
            let a2 = PI / 2.0 + uni(&mut rng, -0.25, 0.25);
            let o1 = uni(&mut rng, 0.0, sp);
            let o2 = uni(&mut rng, 0.0, sp);
            let col = if rng.chance(0.6) {
                scale([0.75, 0.76, 0.78], uni(&mut rng, 0.8, 1.15))
            } else {
                [
                    uni(&mut rng, 0.1, 0.9),
                    uni(&mut rng, 0.1, 0.9),
                    uni(&mut rng, 0.1, 0.9),
                ]
            };
            let tube = [
                uni(&mut rng, 0.05, 0.8),
                uni(&mut rng, 0.05, 0.8),
                uni(&mut rng, 0.05, 0.8),
            ];
            // the highlight pattern was defined in canvas pixels of a ~68 px slot
            let hl_scale = 68.0 / s;
            let (top, bottom) = (cy - hh, cy + hh);
            let mut out = layer([cx - hw, top, cx + hw, bottom], pl, false);
            out.each(|o, i, x, y| {
                if (x - cx).abs() >= hw || y < top || y >= bottom {
                    return;
                }
                o.extent[i] = true;
                let g1 = (x * a1.cos() + y * a1.sin() + o1).rem_euclid(sp) < th;
                let g2 = (x * a2.cos() + y * a2.sin() + o2).rem_euclid(sp) < th;
                if y < top + th * 2.5 {
                    o.set(i, tube);
                } else if g1 || g2 {
                    let hl = 1.0 + 0.3 * (x * hl_scale * 0.9).sin() * (y * hl_scale * 0.7).sin();
                    o.set(i, scale(col, hl));
                }
            });
            out.defocus = uni(&mut rng, 0.0, 1.5) * s / 64.0;
            out
        }
        OccluderKind::Glare => {
            let size = if pl.size > 0.0 { pl.size } else { s * 0.4 };
            let rx = size * uni(&mut rng, 0.8, 1.0);
            let ry = rx * uni(&mut rng, 0.5, 0.9);
            let th = uni(&mut rng, 0.0, PI);
            let inten = uni(&mut rng, 0.6, 1.4);
            let reach = rx * 2.2;
            let mut out = layer([cx - reach, cy - reach, cx + reach, cy + reach], pl, true);
            let (sn, cs) = th.sin_cos();
            out.each(|o, i, x, y| {
                let xx = (x - cx) * cs + (y - cy) * sn;
                let yy = -(x - cx) * sn + (y - cy) * cs;
                let g = inten * (-((xx / rx).powi(2) + (yy / ry).powi(2))).exp();
                o.glare[i] = g;
                o.extent[i] = g > 0.3;
            });
            out
        }
    }
}

/// Extent = alpha > 0.5 of the unblurred layer (the blur that follows softens the edge
/// symmetrically, so this is where the blurred alpha crosses 0.5 too).
fn mark_alpha_extent(out: &mut Painted) {
    for (e, p) in out.extent.iter_mut().zip(&out.rgba) {
        *e = p[3] > 0.5;
    }
}
