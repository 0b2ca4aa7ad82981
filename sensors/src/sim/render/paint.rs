//! The slot canvas and what is painted on it: one slot in quad space (steps 3-4 of
//! `shelf_render.py`): back wall, shelf floor, neighbour units, the slot's packs, dividers and
//! rails, with the same primitives (pixel centres tested, no anti-aliasing; the camera blur
//! smooths the edges).

use super::super::{PackLook, PackShape, SimRng};
use std::f32::consts::PI;

/// Canvas margin around the nominal quad, in slot units (Python's `MARGIN`).
pub(crate) const MARGIN: f32 = 0.25;

/// Linear RGB in 0..1 (values may leave the range until the final clip, as in Python).
pub(crate) type Rgb = [f32; 3];

pub(crate) fn scale(c: Rgb, k: f32) -> Rgb {
    [c[0] * k, c[1] * k, c[2] * k]
}

pub(crate) fn clip(c: Rgb) -> Rgb {
    [
        c[0].clamp(0.0, 1.0),
        c[1].clamp(0.0, 1.0),
        c[2].clamp(0.0, 1.0),
    ]
}

/// `clip(c * k + add)`.
fn tone(c: Rgb, k: f32, add: f32) -> Rgb {
    clip([c[0] * k + add, c[1] * k + add, c[2] * k + add])
}

pub(crate) fn rgb8(c: [u8; 3]) -> Rgb {
    [
        c[0] as f32 / 255.0,
        c[1] as f32 / 255.0,
        c[2] as f32 / 255.0,
    ]
}

/// Uniform f32 in [lo, hi).
pub(crate) fn uni(rng: &mut SimRng, lo: f32, hi: f32) -> f32 {
    rng.uniform(lo as f64, hi as f64) as f32
}

/// One slot's camera image in quad space: u, v in [-M, 1 + M] at `sw` x `sh` pixels per slot.
#[derive(Debug, Clone)]
pub(crate) struct Canvas {
    pub sw: f32,
    pub sh: f32,
    pub w: usize,
    pub h: usize,
    pub img: Vec<Rgb>,
}

/// Pixel window `x0..x1`, `y0..y1` of the canvas.
#[derive(Debug, Clone, Copy)]
struct Window {
    x0: usize,
    x1: usize,
    y0: usize,
    y1: usize,
}

impl Canvas {
    pub fn new(sw: f32, sh: f32) -> Canvas {
        let w = ((sw * (1.0 + 2.0 * MARGIN)).round() as usize).max(2);
        let h = ((sh * (1.0 + 2.0 * MARGIN)).round() as usize).max(2);
        Canvas {
            sw,
            sh,
            w,
            h,
            img: vec![[0.0; 3]; w * h],
        }
    }

    /// u of the centre of pixel column `x`.
    pub fn u(&self, x: usize) -> f32 {
        (x as f32 + 0.5) / self.sw - MARGIN
    }

    /// v of the centre of pixel row `y`.
    pub fn v(&self, y: usize) -> f32 {
        (y as f32 + 0.5) / self.sh - MARGIN
    }

    fn region(&self, u0: f32, u1: f32, v0: f32, v1: f32) -> Option<Window> {
        if !(u0.is_finite() && u1.is_finite() && v0.is_finite() && v1.is_finite()) {
            return None;
        }
        let x0 = ((u0 + MARGIN) * self.sw).floor().max(0.0) as usize;
        let x1 = (((u1 + MARGIN) * self.sw).ceil() + 1.0).clamp(0.0, self.w as f32) as usize;
        let y0 = ((v0 + MARGIN) * self.sh).floor().max(0.0) as usize;
        let y1 = (((v1 + MARGIN) * self.sh).ceil() + 1.0).clamp(0.0, self.h as f32) as usize;
        (x1 > x0 && y1 > y0).then_some(Window { x0, x1, y0, y1 })
    }

    fn put(&mut self, x: usize, y: usize, rgb: Rgb, alpha: f32) {
        let p = &mut self.img[y * self.w + x];
        if alpha >= 1.0 {
            *p = rgb;
        } else {
            for c in 0..3 {
                p[c] = p[c] * (1.0 - alpha) + rgb[c] * alpha;
            }
        }
    }

    /// Even-odd fill of a polygon of (u, v) points.
    pub fn polygon(&mut self, pts: &[(f32, f32)], colour: &dyn Fn(f32, f32) -> Rgb, alpha: f32) {
        let umin = pts.iter().map(|p| p.0).fold(f32::INFINITY, f32::min);
        let umax = pts.iter().map(|p| p.0).fold(f32::NEG_INFINITY, f32::max);
        let vmin = pts.iter().map(|p| p.1).fold(f32::INFINITY, f32::min);
        let vmax = pts.iter().map(|p| p.1).fold(f32::NEG_INFINITY, f32::max);
        let Some(win) = self.region(umin, umax, vmin, vmax) else {
            return;
        };
        let mut xs: Vec<f32> = Vec::with_capacity(pts.len());
        for y in win.y0..win.y1 {
            let v = self.v(y);
            xs.clear();
            for i in 0..pts.len() {
                let (ua, va) = pts[i];
                let (ub, vb) = pts[(i + 1) % pts.len()];
                if va == vb || (va > v) == (vb > v) {
                    continue;
                }
                xs.push(ua + (v - va) * (ub - ua) / (vb - va));
            }
            if xs.is_empty() {
                continue;
            }
            for x in win.x0..win.x1 {
                let u = self.u(x);
                let crossings = xs.iter().filter(|&&ux| u < ux).count();
                if crossings % 2 == 1 {
                    self.put(x, y, colour(u, v), alpha);
                }
            }
        }
    }

    /// Axis-aligned rectangle u0 <= u < u1, v0 <= v < v1.
    pub fn rect(
        &mut self,
        u0: f32,
        u1: f32,
        v0: f32,
        v1: f32,
        colour: &dyn Fn(f32, f32) -> Rgb,
        alpha: f32,
    ) {
        let Some(win) = self.region(u0, u1, v0, v1) else {
            return;
        };
        for y in win.y0..win.y1 {
            let v = self.v(y);
            if v < v0 || v >= v1 {
                continue;
            }
            for x in win.x0..win.x1 {
                let u = self.u(x);
                if u >= u0 && u < u1 {
                    self.put(x, y, colour(u, v), alpha);
                }
            }
        }
    }

    pub fn ellipse(&mut self, cu: f32, cv: f32, ru: f32, rv: f32, colour: Rgb) {
        if ru <= 0.0 || rv <= 0.0 {
            return;
        }
        let Some(win) = self.region(cu - ru, cu + ru, cv - rv, cv + rv) else {
            return;
        };
        for y in win.y0..win.y1 {
            let dv = (self.v(y) - cv) / rv;
            for x in win.x0..win.x1 {
                let du = (self.u(x) - cu) / ru;
                if du * du + dv * dv <= 1.0 {
                    self.put(x, y, colour, 1.0);
                }
            }
        }
    }
}

/// Solid colour as a paint function.
fn solid(c: Rgb) -> impl Fn(f32, f32) -> Rgb {
    move |_, _| c
}

/// Separable Gaussian, radius ceil(3 sigma), edge-replicated borders (Python's
/// `gaussian_blur`); no-op below sigma 0.15.
pub(crate) fn gaussian_blur<const N: usize>(img: &mut [[f32; N]], w: usize, h: usize, sigma: f32) {
    if sigma < 0.15 || w == 0 || h == 0 {
        return;
    }
    let r = (3.0 * sigma).ceil() as isize;
    let mut k: Vec<f32> = (-r..=r)
        .map(|i| (-0.5 * (i as f32 / sigma).powi(2)).exp())
        .collect();
    let sum: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    let mut line = vec![[0f32; N]; w.max(h)];
    // rows
    for y in 0..h {
        let row = &mut img[y * w..(y + 1) * w];
        for (x, out) in line.iter_mut().take(w).enumerate() {
            let mut acc = [0f32; N];
            for (i, kv) in k.iter().enumerate() {
                let xx = (x as isize + i as isize - r).clamp(0, w as isize - 1) as usize;
                for c in 0..N {
                    acc[c] += kv * row[xx][c];
                }
            }
            *out = acc;
        }
        row.copy_from_slice(&line[..w]);
    }
    // columns
    for x in 0..w {
        for (y, out) in line.iter_mut().take(h).enumerate() {
            let mut acc = [0f32; N];
            for (i, kv) in k.iter().enumerate() {
                let yy = (y as isize + i as isize - r).clamp(0, h as isize - 1) as usize;
                for c in 0..N {
                    acc[c] += kv * img[yy * w + x][c];
                }
            }
            *out = acc;
        }
        for y in 0..h {
            img[y * w + x] = line[y];
        }
    }
}

// ---------------------------------------------------------------------------------------------
// per-SKU pack designs

/// Height range (share of the slot height) of each pack shape.
pub(crate) fn shape_height(shape: PackShape) -> (f32, f32) {
    match shape {
        PackShape::Box => (0.5, 0.85),
        PackShape::Bag => (0.45, 0.8),
        PackShape::Bottle => (0.6, 0.9),
        PackShape::Can => (0.35, 0.6),
        PackShape::Jar => (0.4, 0.7),
    }
}

/// A product's look, derived deterministically from its SKU (Python's `design`).
#[derive(Debug, Clone)]
pub(crate) struct Design {
    pub shape: PackShape,
    pub primary: Rgb,
    pub secondary: Rgb,
    band: (f32, f32),
    stripes: Vec<(f32, f32)>,
    stripe_rgb: Rgb,
    logo: Option<(f32, f32, f32)>,
    logo_rgb: Rgb,
    text_rows: u32,
    text_phase: f32,
    text_rgb: Rgb,
    /// Share of the cell width the pack takes.
    pub width: f32,
    /// Position within the shape's height range.
    pub height: f32,
    cap_rgb: Rgb,
    gloss: f32,
    /// Hash of the SKU, to seed per-product choices elsewhere.
    pub sku_hash: u64,
}

/// FNV-1a of a string: seeds a SKU's design independently of everything else.
pub(crate) fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

impl Design {
    pub fn new(look: &PackLook) -> Design {
        let sku_hash = hash_str(&look.sku);
        let mut r = SimRng::from_parts(&[sku_hash, 7919]);
        let prim = rgb8(look.primary);
        let sec = rgb8(look.secondary);
        let band0 = uni(&mut r, 0.2, 0.55);
        let band = (band0, band0 + uni(&mut r, 0.15, 0.4));
        let n_stripes = r.below(3);
        let stripes = (0..n_stripes)
            .map(|_| {
                let s = uni(&mut r, 0.05, 0.95);
                (s, s + uni(&mut r, 0.02, 0.06))
            })
            .collect();
        let stripe_rgb = [[1.0; 3], [0.05; 3], scale(sec, 0.6)][r.below(3) as usize];
        let logo = r.chance(0.6).then(|| {
            (
                uni(&mut r, 0.3, 0.7),
                uni(&mut r, 0.15, 0.8),
                uni(&mut r, 0.12, 0.25),
            )
        });
        let logo_rgb = if r.chance(0.5) {
            [1.0; 3]
        } else {
            [1.0 - prim[0], 1.0 - prim[1], 1.0 - prim[2]]
        };
        let text_rows = 1 + r.below(3) as u32;
        let text_phase = uni(&mut r, 0.0, 100.0);
        let width = uni(&mut r, 0.78, 0.94);
        let height = uni(&mut r, 0.0, 1.0);
        let cap_rgb = [sec, [0.85; 3], [0.1; 3], [0.95; 3]][r.below(4) as usize];
        let gloss = uni(&mut r, 0.1, 0.6);
        let lum = 0.299 * sec[0] + 0.587 * sec[1] + 0.114 * sec[2];
        Design {
            shape: look.shape,
            primary: prim,
            secondary: sec,
            band,
            stripes,
            stripe_rgb,
            logo,
            logo_rgb,
            text_rows,
            text_phase,
            text_rgb: if lum > 0.45 { [0.08; 3] } else { [0.95; 3] },
            width,
            height,
            cap_rgb,
            gloss,
            sku_hash,
        }
    }
}

/// How a face is shaded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Face {
    Flat,
    Cylinder,
    Bag,
}

/// Front texture at face coordinates a (across, 0..1) and b (down, 0..1).
pub(crate) fn face_colour(d: &Design, a: f32, b: f32, kind: Face) -> Rgb {
    let (b0, b1) = d.band;
    let mut rgb = if b > b0 && b < b1 {
        d.secondary
    } else {
        d.primary
    };
    for &(s0, s1) in &d.stripes {
        if b > s0 && b < s1 {
            rgb = d.stripe_rgb;
        }
    }
    if let Some((la, lb, lr)) = d.logo {
        if ((a - la) / lr).powi(2) + ((b - lb) / (lr * 0.7)).powi(2) < 1.0 {
            rgb = d.logo_rgb;
        }
    }
    if a > 0.15 && a < 0.85 {
        let rows = d.text_rows;
        let th = (b1 - b0) * 0.12;
        for i in 0..rows {
            let c = b0 + (b1 - b0) * (i + 1) as f32 / (rows + 1) as f32;
            if (b - c).abs() < th {
                let fi = i as f32;
                let dash = (a * 37.0 + d.text_phase + fi * 3.1).sin() + (a * 91.0 + fi).sin() > 0.3;
                if dash {
                    rgb = d.text_rgb;
                }
            }
        }
    }
    match kind {
        Face::Cylinder => {
            let shade = 0.55 + 0.45 * ((a - 0.45) * PI * 0.95).cos();
            let spec = d.gloss * (-((a - 0.3) / 0.06).powi(2)).exp();
            [
                rgb[0] * shade + spec,
                rgb[1] * shade + spec,
                rgb[2] * shade + spec,
            ]
        }
        Face::Bag => {
            let shade =
                (1.0 - 0.3 * (2.0 * a - 1.0).powi(2)) * (1.0 - 0.12 * (2.0 * b - 1.0).powi(2));
            let crinkle = 0.04 * (a * 29.0 + b * 13.0).sin() * (b * 23.0 - a * 7.0).sin();
            scale(rgb, shade + crinkle)
        }
        Face::Flat => scale(rgb, 0.92 + 0.1 * a),
    }
}

// ---------------------------------------------------------------------------------------------
// the scene

/// Camera geometry of one slot: elevation E, perspective P, skew Sx.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scene {
    pub e: f32,
    pub p: f32,
    pub sx: f32,
}

impl Scene {
    /// Slot space (x across, h up, z back) to quad space (u, v).
    pub fn uv(&self, x: f32, h: f32, z: f32) -> (f32, f32) {
        let s = 1.0 - self.p * z;
        (0.5 + (x - 0.5) * s + self.sx * z, 1.0 - self.e * z - h * s)
    }

    /// Tallest pack whose top at depth `zf` stays at v >= 0.1.
    pub fn height_cap(&self, zf: f32) -> f32 {
        (0.9 - self.e * zf) / (1.0 - self.p * zf)
    }
}

/// Pack height for a design: half the SKU's design value, half random, capped.
pub(crate) fn pack_height(rng: &mut SimRng, d: &Design, cap: f32) -> f32 {
    let (lo, hi) = shape_height(d.shape);
    let h = lo + (hi - lo) * (0.5 * d.height + 0.5 * rng.unit() as f32);
    h.max(0.25).min(cap.max(0.25))
}

/// One pack occupying x0..x1, depth zf..zf+depth, height ht, colours times `shade`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn draw_unit(
    cv: &mut Canvas,
    sc: &Scene,
    d: &Design,
    x0: f32,
    x1: f32,
    zf: f32,
    depth: f32,
    ht: f32,
    shade: f32,
) {
    let prim = d.primary;
    match d.shape {
        PackShape::Box => {
            let z1 = zf + depth;
            for xs in [x0, x1] {
                let side = [
                    sc.uv(xs, 0.0, zf),
                    sc.uv(xs, ht, zf),
                    sc.uv(xs, ht, z1),
                    sc.uv(xs, 0.0, z1),
                ];
                cv.polygon(&side, &solid(tone(prim, 0.7 * shade, 0.0)), 1.0);
            }
            let top = [
                sc.uv(x0, ht, zf),
                sc.uv(x1, ht, zf),
                sc.uv(x1, ht, z1),
                sc.uv(x0, ht, z1),
            ];
            cv.polygon(&top, &solid(tone(prim, 1.15 * shade, 0.05)), 1.0);
            let (ua, vb) = sc.uv(x0, 0.0, zf);
            let (ub, va) = sc.uv(x1, ht, zf);
            let paint = |u: f32, v: f32| {
                scale(
                    face_colour(d, (u - ua) / (ub - ua), (v - va) / (vb - va), Face::Flat),
                    shade,
                )
            };
            cv.rect(ua, ub, va, vb, &paint, 1.0);
        }
        PackShape::Can | PackShape::Jar | PackShape::Bottle => {
            let zc = zf + depth / 2.0;
            let rz = depth / 2.0 * 0.95;
            let cx = (x0 + x1) / 2.0;
            let mut w = x1 - x0;
            if d.shape == PackShape::Bottle {
                w *= 0.7;
            }
            let (ua, _) = sc.uv(cx - w / 2.0, 0.0, zc);
            let (ub, v_bot) = sc.uv(cx + w / 2.0, 0.0, zc);
            let ru = (ub - ua) / 2.0;
            let uc = (ua + ub) / 2.0;
            let ry0 = rz * sc.e;
            let h_body = match d.shape {
                PackShape::Can => ht,
                PackShape::Jar => ht * 0.82,
                _ => ht * 0.6,
            };
            let (_, v_top) = sc.uv(cx, h_body, zc);
            let ry = (rz * (sc.e - h_body * sc.p)).max(1e-3);
            let span = (v_bot - v_top).max(1e-3);
            let jar = d.shape == PackShape::Jar;
            let body = |u: f32, v: f32| {
                let c = face_colour(d, (u - ua) / (ub - ua), (v - v_top) / span, Face::Cylinder);
                if jar {
                    scale(
                        [c[0] * 0.85 + 0.1, c[1] * 0.85 + 0.1, c[2] * 0.85 + 0.1],
                        shade,
                    )
                } else {
                    scale(c, shade)
                }
            };
            cv.ellipse(uc, v_bot, ru, ry0, tone(prim, 0.5 * shade, 0.0));
            cv.rect(ua, ub, v_top, v_bot, &body, 1.0);
            match d.shape {
                PackShape::Can => {
                    cv.ellipse(uc, v_top, ru, ry, scale([0.72, 0.72, 0.74], shade));
                    cv.ellipse(
                        uc,
                        v_top,
                        ru * 0.8,
                        ry * 0.8,
                        scale([0.6, 0.6, 0.62], shade),
                    );
                }
                PackShape::Jar => {
                    let (_, v_lid) = sc.uv(cx, ht, zc);
                    let lid = d.cap_rgb;
                    cv.rect(
                        ua + ru * 0.08,
                        ub - ru * 0.08,
                        v_lid,
                        v_top,
                        &solid(tone(lid, 0.85 * shade, 0.0)),
                        1.0,
                    );
                    cv.ellipse(
                        uc,
                        v_lid,
                        ru * 0.92,
                        (rz * (sc.e - ht * sc.p)).max(1e-3),
                        tone(lid, 1.1 * shade, 0.05),
                    );
                }
                _ => {
                    cv.ellipse(uc, v_top, ru, ry, tone(prim, 0.9 * shade, 0.0));
                    let (_, v_sh) = sc.uv(cx, ht * 0.75, zc);
                    let (_, v_cap0) = sc.uv(cx, ht * 0.88, zc);
                    let (_, v_cap1) = sc.uv(cx, ht, zc);
                    let rn = ru * 0.35;
                    cv.polygon(
                        &[(ua, v_top), (ub, v_top), (uc + rn, v_sh), (uc - rn, v_sh)],
                        &solid(tone(prim, 0.85 * shade, 0.0)),
                        1.0,
                    );
                    cv.rect(
                        uc - rn,
                        uc + rn,
                        v_cap0,
                        v_sh,
                        &solid(tone(prim, 0.8 * shade, 0.0)),
                        1.0,
                    );
                    let cap = d.cap_rgb;
                    cv.rect(
                        uc - rn * 1.2,
                        uc + rn * 1.2,
                        v_cap1,
                        v_cap0,
                        &solid(tone(cap, shade, 0.0)),
                        1.0,
                    );
                    let rv = (rn * 0.5 * (sc.e - ht * sc.p) / sc.e.max(1e-3)).max(1e-3) + 0.004;
                    cv.ellipse(uc, v_cap1, rn * 1.2, rv, tone(cap, 1.15 * shade, 0.05));
                }
            }
        }
        PackShape::Bag => {
            let zb = zf + depth * 0.3;
            let bulge = (x1 - x0) * 0.06;
            let teeth = 7;
            let mut pts = vec![(x0, 0.0), (x1, 0.0), (x1 + bulge, ht * 0.5), (x1, ht * 0.9)];
            for i in 0..=(teeth * 2) {
                let t = 1.0 - i as f32 / (teeth * 2) as f32;
                pts.push((x0 + (x1 - x0) * t, ht * if i % 2 == 0 { 1.0 } else { 0.94 }));
            }
            pts.push((x0, ht * 0.9));
            pts.push((x0 - bulge, ht * 0.5));
            let uvp: Vec<(f32, f32)> = pts.iter().map(|&(x, h)| sc.uv(x, h, zb)).collect();
            let (ua, vb) = sc.uv(x0, 0.0, zb);
            let (ub, va) = sc.uv(x1, ht, zb);
            let paint = |u: f32, v: f32| {
                scale(
                    face_colour(d, (u - ua) / (ub - ua), (v - va) / (vb - va), Face::Bag),
                    shade,
                )
            };
            cv.polygon(&uvp, &paint, 1.0);
            let (_, vc) = sc.uv(x0, ht * 0.9, zb);
            cv.rect(
                ua,
                ub,
                va + (vc - va) * 0.35,
                vc,
                &solid(tone(prim, 1.2 * shade, 0.06)),
                0.6,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// wall, floor, rails

/// Wall palette of the eval style, RGB 0..255.
pub(crate) const WALLS: [[u8; 3]; 6] = [
    [245, 240, 225],
    [185, 190, 195],
    [95, 100, 110],
    [45, 45, 50],
    [200, 180, 150],
    [140, 160, 140],
];

/// Shelf and rail palette of the eval style.
pub(crate) const RAILS: [[u8; 3]; 5] = [
    [190, 195, 200],
    [120, 120, 120],
    [25, 25, 30],
    [240, 240, 240],
    [150, 30, 30],
];

/// The back wall's look.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wall {
    pub colour: Rgb,
    /// 0 plain, 1 pegboard, 2 vertical panels, 3 horizontal grooves.
    pub kind: u32,
    /// Pattern unit as a share of the slot size (times 0.5 (sw + sh)).
    pub unit: f32,
}

/// Back wall: colour times `bright`, value noise, pattern (Python's `draw_wall`).
pub(crate) fn draw_wall(rng: &mut SimRng, cv: &mut Canvas, wall: &Wall, bright: f32) {
    let cells = 4usize;
    let g: Vec<f32> = (0..(cells + 1) * (cells + 1))
        .map(|_| uni(rng, -0.05, 0.05))
        .collect();
    let (w, h) = (cv.w, cv.h);
    let base = scale(wall.colour, bright);
    let unit = (0.5 * (cv.sw + cv.sh) * wall.unit).max(1.0);
    for y in 0..h {
        let fyv = y as f32 * cells as f32 / (h - 1).max(1) as f32;
        let y0 = (fyv as usize).min(cells - 1);
        let fy = fyv - y0 as f32;
        let ys = y as f32;
        for x in 0..w {
            let fxv = x as f32 * cells as f32 / (w - 1).max(1) as f32;
            let x0 = (fxv as usize).min(cells - 1);
            let fx = fxv - x0 as f32;
            let at = |yy: usize, xx: usize| g[yy * (cells + 1) + xx];
            let n = (at(y0, x0) * (1.0 - fx) + at(y0, x0 + 1) * fx) * (1.0 - fy)
                + (at(y0 + 1, x0) * (1.0 - fx) + at(y0 + 1, x0 + 1) * fx) * fy;
            let mut c = [base[0] + n, base[1] + n, base[2] + n];
            let xs = x as f32;
            let k = match wall.kind {
                1 => {
                    let dx = xs.rem_euclid(unit) - unit / 2.0;
                    let dy = ys.rem_euclid(unit) - unit / 2.0;
                    if dx * dx + dy * dy < (unit * 0.14).powi(2) {
                        0.35
                    } else {
                        1.0
                    }
                }
                2 if xs.rem_euclid(unit * 3.0) < (unit * 0.12).max(1.0) => 0.7,
                3 if ys.rem_euclid(unit * 1.5) < (unit * 0.1).max(1.0) => 0.75,
                _ => 1.0,
            };
            if k != 1.0 {
                c = scale(c, k);
            }
            cv.img[y * w + x] = c;
        }
    }
}

/// Shelf floor (x in [-1, 2], z in [0, 1]) and optional wire grid.
pub(crate) fn draw_floor(cv: &mut Canvas, sc: &Scene, rail: Rgb, wire: bool) {
    let floor = [
        sc.uv(-1.0, 0.0, 0.0),
        sc.uv(2.0, 0.0, 0.0),
        sc.uv(2.0, 0.0, 1.0),
        sc.uv(-1.0, 0.0, 1.0),
    ];
    cv.polygon(&floor, &solid(tone(rail, 0.9, 0.0)), 1.0);
    if wire {
        for i in 0..5 {
            let zz = 0.1 + 0.2 * i as f32;
            let a = sc.uv(-1.0, 0.0, zz);
            let b = sc.uv(2.0, 0.0, zz);
            cv.polygon(
                &[a, b, (b.0, b.1 - 0.01), (a.0, a.1 - 0.01)],
                &solid(tone(rail, 0.6, 0.0)),
                1.0,
            );
        }
    }
}

/// Plastic dividers at x = 0 and x = 1.
pub(crate) fn draw_dividers(cv: &mut Canvas, sc: &Scene) {
    for xd in [0.0, 1.0] {
        let a = sc.uv(xd, 0.0, 0.0);
        let b = sc.uv(xd, 0.0, 1.0);
        let a2 = sc.uv(xd, 0.12, 0.0);
        let b2 = sc.uv(xd, 0.12, 1.0);
        cv.polygon(&[a, b, b2, a2], &solid([0.9, 0.92, 0.95]), 0.35);
    }
}

/// The shelf above (v < 0) and this shelf's price rail (v > 1) with price labels.
pub(crate) fn draw_rails(rng: &mut SimRng, cv: &mut Canvas, rail: Rgb) {
    cv.rect(-1.0, 2.0, -1.0, 0.0, &solid(rail), 1.0);
    cv.rect(-1.0, 2.0, -0.035, 0.0, &solid(tone(rail, 0.75, 0.0)), 1.0);
    cv.rect(-1.0, 2.0, 1.0, 2.0, &solid(rail), 1.0);
    cv.rect(-1.0, 2.0, 1.0, 1.02, &solid(tone(rail, 1.2, 0.05)), 1.0);
    for v0 in [-0.2f32, 1.03] {
        for _ in 0..3 {
            let mut uc = uni(rng, -0.6, 1.6);
            if v0 > 0.0 && rng.chance(0.7) {
                uc = uni(rng, 0.2, 0.8);
            }
            let w = uni(rng, 0.18, 0.35);
            cv.rect(
                uc - w / 2.0,
                uc + w / 2.0,
                v0,
                v0 + 0.15,
                &solid([0.96, 0.96, 0.93]),
                1.0,
            );
            cv.rect(
                uc - w / 2.0,
                uc - w / 2.0 + 0.05 * w,
                v0,
                v0 + 0.15,
                &solid([0.9, 0.75, 0.1]),
                1.0,
            );
            for i in 0..2 {
                let tv = v0 + 0.03 + i as f32 * 0.05;
                let right = if i == 1 { 0.1 } else { 0.3 };
                cv.rect(
                    uc - w * 0.35,
                    uc + w * right,
                    tv,
                    tv + 0.018,
                    &solid([0.1; 3]),
                    1.0,
                );
            }
            for j in 0..7 {
                let bx = uc + w * 0.15 + (w * 0.27) * j as f32 / 6.0;
                cv.rect(bx, bx + 0.006, v0 + 0.08, v0 + 0.13, &solid([0.05; 3]), 1.0);
            }
        }
    }
}
