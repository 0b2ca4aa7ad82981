//! Shelf renderer: draws a camera frame of a shelf whose slots hold known contents, for the
//! demo's synthetic camera and the stock pipeline's evaluation. A port of
//! `models/train/shelf_render.py`, the renderer slotnet was trained on, with its "eval" style.
//!
//! Each slot is painted as in Python, on its own canvas in quad space (the nominal quad plus a
//! 25 % margin, at 40-96 px a slot like the training crops), lit and blurred, then warped into
//! the frame through the homography unit square -> quad. A frame pixel takes the slot whose
//! quad it is in, or the nearest slot whose margin reaches it, so the gaps between slots show
//! rails and shelf edges. A fixed camera has fixed geometry and lighting: every random choice
//! is fixed per (seed, slot), except the sensor noise and a small brightness flicker, which
//! change per frame. Painted slots are cached by contents; a frame composites occluders, adds
//! glare and noise. Occluders are painted in frame pixels and lit by the slot under them.
//!
//! How [`Occluder::size`] is read (frame pixels; 0 or less picks a size from the slot):
//! `Hand`: reach of the fingers from the palm centre (arm radius = size / 2.6); the palm sits
//! at the centre and the arm comes from below (45 %), a side (40 %) or above (15 %), 0.7-1.3
//! slot sizes long. `Shopper`: an ellipse of half-width 0.7-1.0 x size and half-height
//! 1.0-1.4 x size. `Cart`: a wire grid of half-width size and half-height 0.6-0.9 x size, its
//! whole region counts as covering, as in training. `Glare`: a blob of radius 0.8-1.0 x size.
//!
//! Differences from Python: parameters that belong to a camera (wall, rails, dividers, colour
//! cast, brightness, blur, noise) are drawn once per camera, E and Sx follow the slot's place
//! in the frame (lower shelves seen more from above, slots right of centre seen from the left),
//! and there is no JPEG round trip.

mod occlude;
mod paint;

use super::{Occluder, OccluderKind, Point, SimRng, SimSlot, SlotContent};
use paint::{
    draw_dividers, draw_floor, draw_rails, draw_unit, draw_wall, gaussian_blur, pack_height, rgb8,
    uni, Canvas, Design, Rgb, Scene, Wall, MARGIN, RAILS, WALLS,
};

/// Largest frame side accepted, pixels.
pub const MAX_SIDE: u32 = 4096;

/// Share of a slot's nominal quad an occluder must cover for the slot to count as occluded
/// (the training label's threshold).
pub const OCCLUDED_MIN: f32 = 0.12;

/// Pixels of the owner map that no slot reaches.
const NO_OWNER: u16 = u16::MAX;

/// Normal samples in the noise table.
const NOISE_TABLE: usize = 1 << 19;

/// One rendered frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// Frame width, pixels.
    pub width: u32,
    /// Frame height, pixels.
    pub height: u32,
    /// Row-major RGB8.
    pub rgb: Vec<u8>,
    /// For each drawn slot (index into the store's slot list): the share of its nominal quad
    /// covered by occluders, 0..1 (>= [`OCCLUDED_MIN`] counts as occluded).
    pub coverage: Vec<(usize, f32)>,
}

/// Draws the frames of one shelf camera.
pub struct ShelfRenderer {
    camera: usize,
    width: usize,
    height: usize,
    seed: u64,
    /// Pack design of every store slot's product, by slot index.
    designs: Vec<Design>,
    views: Vec<SlotView>,
    /// Index into `views` of the slot each frame pixel shows.
    owner: Vec<u16>,
    /// Painted, lit and blurred slots, warped into the frame; no noise.
    base: Vec<Rgb>,
    noise: Vec<f32>,
    look: CameraLook,
    layers: Vec<(Occluder, Layer)>,
}

impl std::fmt::Debug for ShelfRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShelfRenderer")
            .field("camera", &self.camera)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("slots", &self.views.len())
            .finish_non_exhaustive()
    }
}

/// What one camera's shelf and light look like.
#[derive(Debug, Clone)]
struct CameraLook {
    wall: Wall,
    rail: Rgb,
    wire: bool,
    dividers: bool,
    /// Colour cast times brightness.
    gains: Rgb,
    /// Camera blur, canvas pixels.
    blur: f32,
    /// Noise floor s0.
    s0: f32,
    background: Rgb,
}

/// Lighting over one slot in quad space (gradient, shadow of the shelf above, vignette).
#[derive(Debug, Clone, Copy)]
struct Light {
    gradient: f32,
    cos: f32,
    sin: f32,
    shadow: f32,
    shadow_len: f32,
    vignette: f32,
}

impl Light {
    fn at(&self, u: f32, v: f32) -> f32 {
        let mut l = 1.0 + self.gradient * ((u - 0.5) * self.cos + (v - 0.5) * self.sin);
        if v > 0.0 {
            l *= 1.0 - self.shadow * (1.0 - v / self.shadow_len).clamp(0.0, 1.0);
        }
        l * (1.0 - self.vignette * ((u - 0.5).powi(2) + (v - 0.5).powi(2)) / 0.5)
    }
}

/// A drawn slot: where it is and everything fixed about how it looks.
#[derive(Debug, Clone)]
struct SlotView {
    index: usize,
    facings: u32,
    depth: u32,
    /// Unit square -> frame, row-major 3x3.
    fwd: [f64; 9],
    /// Frame -> unit square.
    inv: [f64; 9],
    /// Pixel box of the quad plus margin, clipped to the frame: x0, y0, x1, y1.
    bbox: [usize; 4],
    /// Frame pixels whose centre lies in the nominal quad.
    inside: Vec<u32>,
    /// sqrt of the quad's area, frame pixels.
    frame_px: f32,
    sw: f32,
    sh: f32,
    scene: Scene,
    dark: f32,
    /// Store slot indices whose products stand left and right in the margin.
    neighbours: [usize; 2],
    light: Light,
    clump: f64,
    /// Sensor noise gain: frame pixels are smaller than canvas pixels and the runtime's crop
    /// averages them, so the noise per frame pixel is larger to give the training crops' noise.
    noise_gain: f32,
    drawn: Option<SlotContent>,
}

/// An occluder ready to composite: premultiplied, lit and blurred colour, or glare.
#[derive(Debug, Clone)]
struct Layer {
    x0: i64,
    y0: i64,
    w: usize,
    h: usize,
    rgba: Vec<[f32; 4]>,
    glare: Vec<f32>,
    extent: Vec<bool>,
}

impl Layer {
    fn covers(&self, x: usize, y: usize) -> bool {
        let c = x as i64 - self.x0;
        let r = y as i64 - self.y0;
        c >= 0
            && r >= 0
            && (c as usize) < self.w
            && (r as usize) < self.h
            && self.extent[r as usize * self.w + c as usize]
    }
}

/// Row-major 3x3 matrix with (x, y, w) = H (s, t, 1) for the unit square onto `q` (TL, TR,
/// BR, BL).
fn homography(q: &[Point; 4]) -> [f64; 9] {
    let p = q.map(|c| [c[0] as f64, c[1] as f64]);
    let [x0, y0] = p[0];
    let [x1, y1] = p[1];
    let [x2, y2] = p[2];
    let [x3, y3] = p[3];
    let (dx1, dx2, dx3) = (x1 - x2, x3 - x2, x0 - x1 + x2 - x3);
    let (dy1, dy2, dy3) = (y1 - y2, y3 - y2, y0 - y1 + y2 - y3);
    let (g, h) = if dx3.abs() < 1e-12 && dy3.abs() < 1e-12 {
        (0.0, 0.0)
    } else {
        let den = dx1 * dy2 - dx2 * dy1;
        ((dx3 * dy2 - dx2 * dy3) / den, (dx1 * dy3 - dx3 * dy1) / den)
    };
    [
        x1 - x0 + g * x1,
        x3 - x0 + h * x3,
        x0,
        y1 - y0 + g * y1,
        y3 - y0 + h * y3,
        y0,
        g,
        h,
        1.0,
    ]
}

fn invert(m: &[f64; 9]) -> Option<[f64; 9]> {
    let [a, b, c, d, e, f, g, h, i] = *m;
    let det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
    if !det.is_finite() || det.abs() < 1e-12 {
        return None;
    }
    let k = 1.0 / det;
    Some([
        (e * i - f * h) * k,
        (c * h - b * i) * k,
        (b * f - c * e) * k,
        (f * g - d * i) * k,
        (a * i - c * g) * k,
        (c * d - a * f) * k,
        (d * h - e * g) * k,
        (b * g - a * h) * k,
        (a * e - b * d) * k,
    ])
}

/// Applies a homography; None behind the camera (w <= 0).
fn apply(m: &[f64; 9], x: f64, y: f64) -> Option<(f64, f64)> {
    let w = m[6] * x + m[7] * y + m[8];
    (w > 1e-9).then(|| {
        (
            (m[0] * x + m[1] * y + m[2]) / w,
            (m[3] * x + m[4] * y + m[5]) / w,
        )
    })
}

/// Why a slot's quad cannot be drawn, or None.
fn check_quad(q: &[Point; 4], width: u32, height: u32) -> Option<String> {
    if q.iter().flatten().any(|v| !v.is_finite()) {
        return Some(format!("corner coordinates must be numbers, got {q:?}"));
    }
    for i in 0..4 {
        let (a, b, c) = (q[i], q[(i + 1) % 4], q[(i + 2) % 4]);
        let cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]);
        if cross <= 0.0 {
            return Some(format!(
                "corners {q:?} are not a convex quad in the order top-left, top-right, \
                 bottom-right, bottom-left"
            ));
        }
    }
    let tol = 0.5;
    if q.iter().any(|c| {
        c[0] < -tol || c[1] < -tol || c[0] > width as f32 + tol || c[1] > height as f32 + tol
    }) {
        return Some(format!(
            "quad {q:?} reaches outside the {width}x{height} frame"
        ));
    }
    let area = quad_area(q);
    if area < 64.0 {
        return Some(format!(
            "the quad covers {area:.1} square pixels, at least 64 are needed"
        ));
    }
    None
}

fn quad_area(q: &[Point; 4]) -> f32 {
    let mut twice = 0.0;
    for i in 0..4 {
        let (a, b) = (q[i], q[(i + 1) % 4]);
        twice += a[0] * b[1] - b[0] * a[1];
    }
    twice.abs() / 2.0
}

fn quad_centre(q: &[Point; 4]) -> Point {
    [
        q.iter().map(|c| c[0]).sum::<f32>() / 4.0,
        q.iter().map(|c| c[1]).sum::<f32>() / 4.0,
    ]
}

fn dist(a: Point, b: Point) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Quads of a grid of `shelves` x `per_shelf` slots filling a frame, with a small gap between
/// slots: the demo's layout (TL, TR, BR, BL, frame pixels; row by row from the top).
pub fn grid_quads(width: u32, height: u32, shelves: u32, per_shelf: u32) -> Vec<[Point; 4]> {
    let (w, h) = (width as f32, height as f32);
    let cell_w = w / per_shelf.max(1) as f32;
    let cell_h = h / shelves.max(1) as f32;
    let (gx, gy) = (cell_w * 0.03, cell_h * 0.03);
    let mut out = Vec::new();
    for r in 0..shelves {
        for c in 0..per_shelf {
            let x0 = c as f32 * cell_w + gx;
            let y0 = r as f32 * cell_h + gy;
            let (x1, y1) = (x0 + cell_w - 2.0 * gx, y0 + cell_h - 2.0 * gy);
            out.push([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]);
        }
    }
    out
}

impl ShelfRenderer {
    /// A renderer for camera `camera` (the slots with `slot.camera == camera`); `slots` is the
    /// store's whole slot list (indices matter: [`SlotContent::foreign`] refers to them).
    /// Refuses frames larger than [`MAX_SIDE`], degenerate quads, quads outside the frame and
    /// slots without facings or depth.
    pub fn new(
        camera: usize,
        width: u32,
        height: u32,
        slots: &[SimSlot],
        seed: u64,
    ) -> Result<ShelfRenderer, String> {
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return Err(format!(
                "frame {width}x{height}: each side must be 1..={MAX_SIDE} pixels"
            ));
        }
        let drawn: Vec<usize> = (0..slots.len())
            .filter(|&i| slots[i].camera == camera)
            .collect();
        if drawn.len() >= NO_OWNER as usize {
            return Err(format!(
                "{} slots on one camera, at most 65534",
                drawn.len()
            ));
        }
        let mut errors = Vec::new();
        for &i in &drawn {
            let s = &slots[i];
            if let Some(e) = check_quad(&s.quad, width, height) {
                errors.push(format!("slot {}: {e}", s.id));
            }
            if s.facings == 0 || s.depth == 0 {
                errors.push(format!(
                    "slot {}: {} facings x {} deep holds nothing",
                    s.id, s.facings, s.depth
                ));
            }
        }
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        let (w, h) = (width as usize, height as usize);
        let designs: Vec<Design> = slots.iter().map(|s| Design::new(&s.look)).collect();
        let look = camera_look(seed, camera);
        let mut views = Vec::with_capacity(drawn.len());
        for &i in &drawn {
            views.push(slot_view(seed, i, slots, &drawn, w, h)?);
        }
        // owner: the slot whose quad holds the pixel, else the nearest whose margin reaches it
        let mut owner = vec![NO_OWNER; w * h];
        let mut best = vec![f32::INFINITY; w * h];
        for (vi, v) in views.iter_mut().enumerate() {
            let [x0, y0, x1, y1] = v.bbox;
            for y in y0..y1 {
                for x in x0..x1 {
                    let Some((s, t)) = apply(&v.inv, x as f64 + 0.5, y as f64 + 0.5) else {
                        continue;
                    };
                    let (s, t) = (s as f32, t as f32);
                    let d = (-s).max(s - 1.0).max(-t).max(t - 1.0).max(0.0);
                    if d == 0.0 {
                        v.inside.push((y * w + x) as u32);
                    }
                    let p = y * w + x;
                    if d <= MARGIN && d < best[p] {
                        best[p] = d;
                        owner[p] = vi as u16;
                    }
                }
            }
        }
        let mut rng = SimRng::from_parts(&[seed, camera as u64, 11]);
        let mut noise = Vec::with_capacity(NOISE_TABLE);
        while noise.len() < NOISE_TABLE {
            let u1 = rng.unit().max(f64::MIN_POSITIVE);
            let u2 = rng.unit();
            let r = (-2.0 * u1.ln()).sqrt();
            let a = std::f64::consts::TAU * u2;
            noise.push((r * a.cos()) as f32);
            noise.push((r * a.sin()) as f32);
        }
        let background = [
            look.background[0] * look.gains[0],
            look.background[1] * look.gains[1],
            look.background[2] * look.gains[2],
        ];
        Ok(ShelfRenderer {
            camera,
            width: w,
            height: h,
            seed,
            designs,
            views,
            owner,
            base: vec![background; w * h],
            noise,
            look,
            layers: Vec::new(),
        })
    }

    /// The camera this renderer draws.
    pub fn camera(&self) -> usize {
        self.camera
    }

    /// Store indices of the slots this camera sees.
    pub fn slots(&self) -> Vec<usize> {
        self.views.iter().map(|v| v.index).collect()
    }

    /// Draws frame `frame_no`: `contents` is indexed like the store's slot list (missing
    /// entries are empty slots); occluders of other cameras are ignored. Slots whose contents
    /// changed since the last call are repainted; the noise differs per frame number.
    pub fn render(
        &mut self,
        contents: &[SlotContent],
        occluders: &[Occluder],
        frame_no: u64,
    ) -> Rendered {
        let empty = SlotContent::default();
        for vi in 0..self.views.len() {
            let c = contents.get(self.views[vi].index).unwrap_or(&empty);
            if self.views[vi].drawn.as_ref() != Some(c) {
                self.draw_slot(vi, c);
            }
        }
        self.update_layers(occluders);
        let coverage = self.coverage();
        let rgb = self.compose(frame_no);
        Rendered {
            width: self.width as u32,
            height: self.height as u32,
            rgb,
            coverage,
        }
    }

    /// Paints slot `vi` with `content` and warps it into `base`.
    fn draw_slot(&mut self, vi: usize, content: &SlotContent) {
        let cv = self.paint_slot(&self.views[vi], content);
        let v = &self.views[vi];
        let [x0, y0, x1, y1] = v.bbox;
        let w = self.width;
        for y in y0..y1 {
            for x in x0..x1 {
                let p = y * w + x;
                if self.owner[p] as usize != vi {
                    continue;
                }
                let Some((s, t)) = apply(&v.inv, x as f64 + 0.5, y as f64 + 0.5) else {
                    continue;
                };
                let cx = ((s as f32 + MARGIN) * cv.sw - 0.5).clamp(0.0, (cv.w - 1) as f32);
                let cy = ((t as f32 + MARGIN) * cv.sh - 0.5).clamp(0.0, (cv.h - 1) as f32);
                let xa = (cx as usize).min(cv.w - 2);
                let ya = (cy as usize).min(cv.h - 2);
                let (fx, fy) = (cx - xa as f32, cy - ya as f32);
                let at = |xx: usize, yy: usize| cv.img[yy * cv.w + xx];
                let (a, b, c, d) = (
                    at(xa, ya),
                    at(xa + 1, ya),
                    at(xa, ya + 1),
                    at(xa + 1, ya + 1),
                );
                let mut out = [0f32; 3];
                for k in 0..3 {
                    let top = a[k] * (1.0 - fx) + b[k] * fx;
                    let bot = c[k] * (1.0 - fx) + d[k] * fx;
                    out[k] = top * (1.0 - fy) + bot * fy;
                }
                self.base[p] = out;
            }
        }
        self.views[vi].drawn = Some(content.clone());
    }

    /// The slot's canvas: painted back to front, lit and blurred (steps 4, 6 and 7 of Python).
    fn paint_slot(&self, v: &SlotView, content: &SlotContent) -> Canvas {
        let mut rng = SimRng::from_parts(&[self.seed, v.index as u64, 2]);
        let mut cv = Canvas::new(v.sw, v.sh);
        let sc = v.scene;
        let dark = v.dark;
        draw_wall(&mut rng, &mut cv, &self.look.wall, 1.0 - dark);
        draw_floor(&mut cv, &sc, self.look.rail, self.look.wire);
        for (side, n) in [(-1.0f32, v.neighbours[0]), (1.0, v.neighbours[1])] {
            let nd = &self.designs[n];
            let nw = uni(&mut rng, 0.25, 0.45);
            let nht = pack_height(&mut rng, nd, sc.height_cap(0.5));
            let x0 = if side < 0.0 { -nw - 0.03 } else { 1.03 };
            for zf in [0.5, 0.02] {
                draw_unit(&mut cv, &sc, nd, x0, x0 + nw, zf, 0.4, nht, 1.0 - dark * zf);
            }
        }
        let cells = self.layout(v, content);
        let (f, d) = (v.facings as f32, v.depth as f32);
        let cap_back = sc.height_cap((d - 1.0) / d + 0.02);
        let dz = 1.0 / d;
        let cw = 1.0 / f;
        let mut heights: Vec<(usize, f32)> = Vec::new();
        for &(_, _, p) in &cells {
            if !heights.iter().any(|&(q, _)| q == p) {
                let mut hr =
                    SimRng::from_parts(&[self.seed, v.index as u64, 6, self.designs[p].sku_hash]);
                heights.push((p, pack_height(&mut hr, &self.designs[p], cap_back)));
            }
        }
        let mut order: Vec<usize> = (0..cells.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(cells[i].1), cells[i].0));
        for i in order {
            let (c, rw, p) = cells[i];
            let ud = &self.designs[p];
            let mut ur = SimRng::from_parts(&[self.seed, v.index as u64, 5, c as u64, rw as u64]);
            let jitter = uni(&mut ur, -0.03, 0.03) * cw;
            let x0 = c as f32 * cw + cw * (1.0 - ud.width) / 2.0 + jitter;
            let x1 = x0 + cw * ud.width;
            let zf = rw as f32 * dz + 0.02;
            let bright = (1.0 - dark * zf) * uni(&mut ur, 0.97, 1.03);
            let ht = heights.iter().find(|h| h.0 == p).map_or(0.5, |h| h.1);
            draw_unit(&mut cv, &sc, ud, x0, x1, zf, dz * 0.9, ht, bright);
        }
        if self.look.dividers {
            draw_dividers(&mut cv, &sc);
        }
        draw_rails(&mut rng, &mut cv, self.look.rail);
        // lighting, then the camera blur
        let g = self.look.gains;
        for y in 0..cv.h {
            let vq = cv.v(y);
            for x in 0..cv.w {
                let l = v.light.at(cv.u(x), vq);
                let p = &mut cv.img[y * cv.w + x];
                for k in 0..3 {
                    p[k] = p[k].clamp(0.0, 1.0) * l * g[k];
                }
            }
        }
        let (cw_, ch_) = (cv.w, cv.h);
        gaussian_blur(&mut cv.img, cw_, ch_, self.look.blur);
        cv
    }

    /// Cells (column, row, store slot index of the product) of the units present: own units
    /// spread over the columns in a fixed per-slot order, foreign units at the front of
    /// columns (step 1-2 of Python).
    fn layout(&self, v: &SlotView, content: &SlotContent) -> Vec<(u32, u32, usize)> {
        let (f, d) = (v.facings as usize, v.depth as usize);
        let cap = f * d;
        let foreign: Vec<usize> = content
            .foreign
            .iter()
            .copied()
            .filter(|&i| i < self.designs.len())
            .take(cap)
            .collect();
        let own = (content.units as usize).min(cap - foreign.len());
        let k = own + foreign.len();
        // the k-prefix of a fixed sequence of column choices, weighted (n + 1)^clump
        let mut counts = vec![0usize; f];
        let mut col_rng = SimRng::from_parts(&[self.seed, v.index as u64, 3]);
        for _ in 0..k {
            let wts: Vec<f64> = counts
                .iter()
                .map(|&n| {
                    if n < d {
                        ((n + 1) as f64).powf(v.clump)
                    } else {
                        0.0
                    }
                })
                .collect();
            let total: f64 = wts.iter().sum();
            let mut pick = col_rng.unit() * total;
            let mut chosen = counts.iter().position(|&n| n < d).unwrap_or(0);
            for (c, wt) in wts.iter().enumerate() {
                if *wt > 0.0 {
                    chosen = c;
                    if pick < *wt {
                        break;
                    }
                    pick -= wt;
                }
            }
            counts[chosen] += 1;
        }
        let mut state_rng = SimRng::from_parts(&[
            self.seed,
            v.index as u64,
            4,
            content.units as u64,
            foreign.iter().fold(0u64, |h, &i| {
                h.wrapping_mul(0x100_0000_01B3) ^ (i as u64 + 1)
            }),
        ]);
        let faced = state_rng.chance(0.5);
        let mut cells: Vec<(u32, u32, usize)> = Vec::with_capacity(k);
        for (c, &n) in counts.iter().enumerate() {
            let rows = if faced { 0..n } else { d - n..d };
            cells.extend(rows.map(|r| (c as u32, r as u32, v.index)));
        }
        if !foreign.is_empty() {
            let fronts: Vec<usize> = (0..cells.len())
                .filter(|&i| i == 0 || cells[i - 1].0 != cells[i].0)
                .collect();
            let first = fronts[state_rng.below(fronts.len() as u64) as usize];
            let others: Vec<usize> = fronts.iter().copied().filter(|&i| i != first).collect();
            let keep =
                (!others.is_empty()).then(|| others[state_rng.below(others.len() as u64) as usize]);
            let mut rest: Vec<usize> = (0..cells.len())
                .filter(|&i| i != first && Some(i) != keep)
                .collect();
            for i in (1..rest.len()).rev() {
                let j = state_rng.below(i as u64 + 1) as usize;
                rest.swap(i, j);
            }
            let mut targets = vec![first];
            targets.extend(rest);
            targets.extend(keep);
            for (fi, &t) in foreign.iter().zip(&targets) {
                cells[t].2 = *fi;
            }
        }
        cells
    }

    /// Paints layers for occluders not seen last frame, drops those gone.
    fn update_layers(&mut self, occluders: &[Occluder]) {
        let mine: Vec<Occluder> = occluders
            .iter()
            .copied()
            .filter(|o| o.camera == self.camera && o.centre.iter().all(|v| v.is_finite()))
            .collect();
        let mut kept = Vec::with_capacity(mine.len());
        let mut old = std::mem::take(&mut self.layers);
        for o in mine {
            if let Some(pos) = old.iter().position(|(p, _)| *p == o) {
                kept.push(old.swap_remove(pos));
            } else {
                let layer = self.make_layer(&o);
                kept.push((o, layer));
            }
        }
        self.layers = kept;
    }

    /// View index of the slot under `p`, or the nearest slot centre.
    fn slot_under(&self, p: Point) -> Option<usize> {
        let (x, y) = (p[0].floor(), p[1].floor());
        if x >= 0.0 && y >= 0.0 && (x as usize) < self.width && (y as usize) < self.height {
            let o = self.owner[y as usize * self.width + x as usize];
            if o != NO_OWNER {
                return Some(o as usize);
            }
        }
        (0..self.views.len()).min_by(|&a, &b| {
            let ca = quad_centre(&quad_of(&self.views[a]));
            let cb = quad_centre(&quad_of(&self.views[b]));
            dist(ca, p).total_cmp(&dist(cb, p))
        })
    }

    fn make_layer(&self, o: &Occluder) -> Layer {
        let under = self.slot_under(o.centre);
        let (slot_px, scale) = under.map_or((100.0, 1.5), |vi| {
            let v = &self.views[vi];
            (v.frame_px, v.frame_px / (v.sw * v.sh).sqrt())
        });
        // camera blur in frame pixels, with the softness of the canvas -> frame warp
        let cam = scale * (self.look.blur.powi(2) + 0.25).sqrt();
        let defocus_max = match o.kind {
            OccluderKind::Shopper => 5.0 * slot_px / 64.0,
            _ => 1.5 * slot_px / 64.0,
        };
        let pad = 3.0 * (cam.powi(2) + defocus_max.powi(2)).sqrt() + 2.0;
        let placement = occlude::Placement {
            kind: o.kind,
            centre: o.centre,
            size: if o.size.is_finite() {
                o.size.min(4.0 * (self.width + self.height) as f32)
            } else {
                0.0
            },
            seed: o.seed,
            slot_px,
            pad,
            frame: [self.width as f32, self.height as f32],
        };
        let packs: Vec<Design> = self
            .views
            .iter()
            .map(|v| self.designs[v.index].clone())
            .collect();
        let p = occlude::paint(&placement, &packs);
        let mut layer = Layer {
            x0: p.x0,
            y0: p.y0,
            w: p.w,
            h: p.h,
            rgba: p.rgba,
            glare: p.glare,
            extent: p.extent,
        };
        if !layer.rgba.is_empty() {
            // light each pixel as the slot it lies over, premultiply, blur
            let g = self.look.gains;
            for r in 0..layer.h {
                let y = layer.y0 + r as i64;
                for c in 0..layer.w {
                    let x = layer.x0 + c as i64;
                    let px = &mut layer.rgba[r * layer.w + c];
                    if px[3] <= 0.0 {
                        continue;
                    }
                    let mut l = 1.0;
                    if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
                        let o = self.owner[y as usize * self.width + x as usize];
                        if o != NO_OWNER {
                            let v = &self.views[o as usize];
                            if let Some((s, t)) = apply(&v.inv, x as f64 + 0.5, y as f64 + 0.5) {
                                l = v.light.at(s as f32, t as f32);
                            }
                        }
                    }
                    for k in 0..3 {
                        px[k] = px[k] * l * g[k] * px[3];
                    }
                }
            }
            let sigma = (p.defocus.powi(2) + cam.powi(2)).sqrt();
            blur_layer(&mut layer.rgba, layer.w, layer.h, sigma);
        }
        layer
    }

    /// Share of each drawn slot's quad covered by the occluders' extents.
    fn coverage(&self) -> Vec<(usize, f32)> {
        self.views
            .iter()
            .map(|v| {
                if self.layers.is_empty() || v.inside.is_empty() {
                    return (v.index, 0.0);
                }
                let covered = v
                    .inside
                    .iter()
                    .filter(|&&p| {
                        let (x, y) = (p as usize % self.width, p as usize / self.width);
                        self.layers.iter().any(|(_, l)| l.covers(x, y))
                    })
                    .count();
                (v.index, covered as f32 / v.inside.len() as f32)
            })
            .collect()
    }

    /// Occluders over the base, flicker, glare, sensor noise, to RGB8.
    fn compose(&self, frame_no: u64) -> Vec<u8> {
        let (w, h) = (self.width, self.height);
        let mut rng = SimRng::from_parts(&[self.seed, self.camera as u64, frame_no, 9]);
        let flicker = 1.0 + 0.004 * rng.normal() as f32;
        let mut out = vec![0u8; w * h * 3];
        let mut row: Vec<Rgb> = vec![[0.0; 3]; w];
        let s0 = self.look.s0;
        let gains: Vec<f32> = self.views.iter().map(|v| v.noise_gain).collect();
        let span = NOISE_TABLE - 4 * w - 1;
        for y in 0..h {
            row.copy_from_slice(&self.base[y * w..(y + 1) * w]);
            for (_, l) in &self.layers {
                let r = y as i64 - l.y0;
                if r < 0 || r as usize >= l.h {
                    continue;
                }
                let c0 = (-l.x0).max(0) as usize;
                let c1 = ((w as i64 - l.x0).min(l.w as i64)).max(0) as usize;
                let lrow = r as usize * l.w;
                if !l.rgba.is_empty() {
                    for c in c0..c1 {
                        let p = l.rgba[lrow + c];
                        if p[3] <= 1e-4 {
                            continue;
                        }
                        let q = &mut row[(l.x0 + c as i64) as usize];
                        for k in 0..3 {
                            q[k] = q[k] * (1.0 - p[3]) + p[k];
                        }
                    }
                }
            }
            let mut n = rng.below(span as u64) as usize;
            let owners = &self.owner[y * w..(y + 1) * w];
            let dst = &mut out[y * w * 3..(y + 1) * w * 3];
            for x in 0..w {
                let mut c = row[x];
                for v in c.iter_mut() {
                    *v *= flicker;
                }
                let gain = gains.get(owners[x] as usize).copied().unwrap_or(1.0);
                let shared = self.noise[n];
                for k in 0..3 {
                    let sigma = (s0 * s0 + 0.02 * s0 * c[k].clamp(0.0, 1.0)).sqrt();
                    let value = c[k] + sigma * gain * 0.7 * (self.noise[n + 1 + k] + shared);
                    dst[x * 3 + k] = (value * 255.0).round().clamp(0.0, 255.0) as u8;
                }
                n += 4;
            }
            // glare is added after lighting and needs no noise model of its own
            for (_, l) in &self.layers {
                if l.glare.is_empty() {
                    continue;
                }
                let r = y as i64 - l.y0;
                if r < 0 || r as usize >= l.h {
                    continue;
                }
                let c0 = (-l.x0).max(0) as usize;
                let c1 = ((w as i64 - l.x0).min(l.w as i64)).max(0) as usize;
                for c in c0..c1 {
                    let g = l.glare[r as usize * l.w + c];
                    let x = (l.x0 + c as i64) as usize;
                    for (k, tint) in [1.0f32, 0.98, 0.95].iter().enumerate() {
                        let v = dst[x * 3 + k] as f32 + g * tint * 255.0;
                        dst[x * 3 + k] = v.round().clamp(0.0, 255.0) as u8;
                    }
                }
            }
        }
        out
    }
}

fn quad_of(v: &SlotView) -> [Point; 4] {
    [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)].map(|(s, t)| {
        let (x, y) = apply(&v.fwd, s, t).unwrap_or((0.0, 0.0));
        [x as f32, y as f32]
    })
}

/// Gaussian blur of a layer; three box passes for large sigma (same variance).
fn blur_layer(img: &mut [[f32; 4]], w: usize, h: usize, sigma: f32) {
    if sigma <= 3.0 {
        gaussian_blur(img, w, h, sigma);
        return;
    }
    let r = (((4.0 * sigma * sigma + 1.0).sqrt() - 1.0) / 2.0)
        .round()
        .max(1.0) as usize;
    let mut line = vec![[0f32; 4]; w.max(h)];
    for _ in 0..3 {
        for y in 0..h {
            box_line(&mut img[y * w..(y + 1) * w], &mut line[..w], r);
        }
        let mut col = vec![[0f32; 4]; h];
        for x in 0..w {
            for y in 0..h {
                col[y] = img[y * w + x];
            }
            box_line(&mut col, &mut line[..h], r);
            for y in 0..h {
                img[y * w + x] = col[y];
            }
        }
    }
}

/// Moving average of radius r with edge-replicated borders, in place.
fn box_line(data: &mut [[f32; 4]], tmp: &mut [[f32; 4]], r: usize) {
    let n = data.len();
    if n == 0 {
        return;
    }
    let at = |i: isize| data[i.clamp(0, n as isize - 1) as usize];
    let mut acc = [0f32; 4];
    for i in -(r as isize)..=(r as isize) {
        let p = at(i);
        for k in 0..4 {
            acc[k] += p[k];
        }
    }
    let norm = 1.0 / (2 * r + 1) as f32;
    for (i, t) in tmp.iter_mut().enumerate() {
        *t = acc.map(|a| a * norm);
        let add = at(i as isize + r as isize + 1);
        let sub = at(i as isize - r as isize);
        for k in 0..4 {
            acc[k] += add[k] - sub[k];
        }
    }
    data.copy_from_slice(tmp);
}

/// Everything fixed about one camera's view (drawn once per camera).
fn camera_look(seed: u64, camera: usize) -> CameraLook {
    let mut rng = SimRng::from_parts(&[seed, camera as u64, 7]);
    let wall = Wall {
        colour: paint::clip(paint::scale(
            rgb8(WALLS[rng.below(WALLS.len() as u64) as usize]),
            uni(&mut rng, 0.85, 1.1),
        )),
        kind: rng.below(4) as u32,
        unit: uni(&mut rng, 0.08, 0.16),
    };
    let rail = paint::clip(paint::scale(
        rgb8(RAILS[rng.below(RAILS.len() as u64) as usize]),
        uni(&mut rng, 0.85, 1.1),
    ));
    let wire = rng.chance(0.2);
    let dividers = rng.chance(0.5);
    let cast = [
        uni(&mut rng, 1.0, 1.2),
        uni(&mut rng, 0.95, 1.05),
        uni(&mut rng, 0.78, 1.0),
    ];
    let bright = uni(&mut rng, 0.6, 1.3);
    CameraLook {
        wall,
        rail,
        wire,
        dividers,
        gains: paint::scale(cast, bright),
        blur: uni(&mut rng, 0.4, 1.4),
        s0: uni(&mut rng, 0.008, 0.035),
        background: paint::scale(wall.colour, 0.5),
    }
}

/// Geometry, canvas size and lighting of one slot, fixed per (seed, slot).
fn slot_view(
    seed: u64,
    index: usize,
    slots: &[SimSlot],
    drawn: &[usize],
    width: usize,
    height: usize,
) -> Result<SlotView, String> {
    let slot = &slots[index];
    let q = slot.quad;
    let fwd = homography(&q);
    let inv = invert(&fwd).ok_or_else(|| format!("slot {}: quad {q:?} is degenerate", slot.id))?;
    let mut rng = SimRng::from_parts(&[seed, index as u64, 1]);
    let frame_px = quad_area(&q).sqrt();
    // E grows towards the bottom of the frame, Sx with the distance right of centre
    let [cx, cy] = quad_centre(&q);
    let ty = (cy / height as f32).clamp(0.0, 1.0);
    let tx = (cx / width as f32).clamp(0.0, 1.0);
    let e = 0.2 + 0.35 * (0.75 * ty + 0.25 * rng.unit() as f32);
    let p = uni(&mut rng, 0.05, 0.22).min(e - 0.05);
    let sx = 0.28 * ((2.0 * tx - 1.0) * 0.75 + uni(&mut rng, -0.25, 0.25)).clamp(-1.0, 1.0);
    // canvas: 40-96 px a slot as in training (never finer than the frame), the quad's aspect
    let top = dist(q[0], q[1]) + dist(q[3], q[2]);
    let side = dist(q[0], q[3]) + dist(q[1], q[2]);
    let aspect = (top / side).clamp(0.2, 5.0);
    let size = uni(&mut rng, 40.0, 96.0).min(frame_px).max(8.0);
    let (sw, sh) = (size * aspect.sqrt(), size / aspect.sqrt());
    let dark = uni(&mut rng, 0.1, 0.45);
    let angle = uni(&mut rng, 0.0, std::f32::consts::TAU);
    let light = Light {
        gradient: uni(&mut rng, 0.1, 0.5),
        cos: angle.cos(),
        sin: angle.sin(),
        shadow: uni(&mut rng, 0.0, 0.3),
        shadow_len: uni(&mut rng, 0.02, 0.25),
        vignette: uni(&mut rng, 0.0, 0.25),
    };
    let clump = if rng.chance(0.5) { 2.0 } else { 0.0 };
    // neighbours: the slots whose quads touch this one's sides, else random store products
    let left_mid = [(q[0][0] + q[3][0]) / 2.0, (q[0][1] + q[3][1]) / 2.0];
    let right_mid = [(q[1][0] + q[2][0]) / 2.0, (q[1][1] + q[2][1]) / 2.0];
    let reach = side / 2.0;
    let near = |mid: Point, other_side: fn(&[Point; 4]) -> Point| {
        drawn
            .iter()
            .copied()
            .filter(|&j| j != index)
            .map(|j| (j, dist(other_side(&slots[j].quad), mid)))
            .filter(|&(_, d)| d < reach)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(j, _)| j)
    };
    let left = near(right_mid, |o| {
        [(o[1][0] + o[2][0]) / 2.0, (o[1][1] + o[2][1]) / 2.0]
    })
    .unwrap_or_else(|| rng.below(slots.len() as u64) as usize);
    let right = near(left_mid, |o| {
        [(o[0][0] + o[3][0]) / 2.0, (o[0][1] + o[3][1]) / 2.0]
    })
    .unwrap_or_else(|| rng.below(slots.len() as u64) as usize);
    let (bx0, by0, bx1, by1) = q.iter().fold(
        (
            f32::INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        ),
        |b, c| (b.0.min(c[0]), b.1.min(c[1]), b.2.max(c[0]), b.3.max(c[1])),
    );
    let (mx, my) = (
        (bx1 - bx0) * MARGIN * 1.5 + 2.0,
        (by1 - by0) * MARGIN * 1.5 + 2.0,
    );
    let bbox = [
        (bx0 - mx).floor().max(0.0) as usize,
        (by0 - my).floor().max(0.0) as usize,
        ((bx1 + mx).ceil().max(0.0) as usize).min(width),
        ((by1 + my).ceil().max(0.0) as usize).min(height),
    ];
    Ok(SlotView {
        index,
        facings: slot.facings,
        depth: slot.depth,
        fwd,
        inv,
        bbox,
        inside: Vec::new(),
        frame_px,
        sw,
        sh,
        scene: Scene { e, p, sx },
        dark,
        neighbours: [left, right],
        light,
        clump,
        noise_gain: noise_gain(frame_px),
        drawn: None,
    })
}

/// Noise per frame pixel that leaves the runtime's 64x64 crop about as noisy as a training
/// crop: the crop averages ceil(side / 64)^2 frame samples when the slot is over twice the
/// crop size, and the training crop was a bilinear resample of canvas noise.
fn noise_gain(frame_px: f32) -> f32 {
    let n = if frame_px / 64.0 <= 2.0 {
        1.0
    } else {
        (frame_px / 64.0).ceil()
    };
    (0.7 * n).max(0.7)
}

#[cfg(test)]
mod tests;
