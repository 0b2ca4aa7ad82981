//! slotnet: slot crops in, fill fraction and occlusion / wrong-product probabilities out.

use crate::engine::{Engine, Input};
use crate::manifest::Manifest;
use crate::quad::Quad;
use crate::ModelError;
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{PixelType, ResizeAlg, ResizeOptions, Resizer};
use std::sync::Mutex;

/// Side of the square crop slotnet takes.
pub const CROP_SIZE: usize = 64;
const PIXELS: usize = CROP_SIZE * CROP_SIZE;

/// Largest facings and depth slotnet was trained on; larger planogram values are clamped.
pub const MAX_LAYOUT: u32 = 4;

/// Pack shapes in the order of slotnet's `product` input (one-hot).
pub const PACK_SHAPES: [&str; 5] = ["box", "bag", "bottle", "can", "jar"];
/// Length of slotnet's `product` input: primary RGB, secondary RGB, one-hot shape.
pub const PRODUCT_LEN: usize = 6 + PACK_SHAPES.len();
/// Colour maps (`maps` input): `eps` added to every sum of RGB before dividing by it.
const CHROMA_EPS: f32 = 0.05;
/// Colour maps: 1 / sigma^2 of the chromaticity distance (sigma 0.1).
const CHROMA_INV_SIG2: f32 = 100.0;

/// Fills `maps` (2 planes of 64x64) with slotnet's colour maps of a crop (`planes`: 3 planes,
/// u8 / 255) against the planned pack's primary and secondary colours (`product`): per pixel,
/// exp(-|rgb / (r+g+b+eps) - c / (sum c + eps)|^2 / sigma^2). Lighting and shading cancel out
/// of the chromaticity, so the maps show where the planned product's colours are. The same
/// arithmetic as `colour_maps` in `train/slotnet.py`.
fn colour_maps(planes: &[f32], product: &[f32; PRODUCT_LEN], maps: &mut [f32]) {
    let mut targets = [[0f32; 3]; 2];
    for (k, t) in targets.iter_mut().enumerate() {
        let c = &product[k * 3..k * 3 + 3];
        let sum = c[0] + c[1] + c[2] + CHROMA_EPS;
        *t = [c[0] / sum, c[1] / sum, c[2] / sum];
    }
    for p in 0..PIXELS {
        let x = [planes[p], planes[PIXELS + p], planes[2 * PIXELS + p]];
        let sum = x[0] + x[1] + x[2] + CHROMA_EPS;
        let chroma = [x[0] / sum, x[1] / sum, x[2] / sum];
        for (k, t) in targets.iter().enumerate() {
            let d2 = (chroma[0] - t[0]).powi(2)
                + (chroma[1] - t[1]).powi(2)
                + (chroma[2] - t[2]).powi(2);
            maps[k * PIXELS + p] = (d2 * -CHROMA_INV_SIG2).exp();
        }
    }
}

/// The planned product's pack as the catalog describes it (`attributes.pack`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductPack {
    /// Main pack colour, RGB.
    pub primary: [u8; 3],
    /// Label band colour, RGB.
    pub secondary: [u8; 3],
    /// One of [`PACK_SHAPES`].
    pub shape: String,
}

impl ProductPack {
    /// slotnet's `product` input for this pack; `None` for a shape it does not know.
    pub fn descriptor(&self) -> Option<[f32; PRODUCT_LEN]> {
        let shape = PACK_SHAPES.iter().position(|s| *s == self.shape)?;
        let mut d = [0f32; PRODUCT_LEN];
        for c in 0..3 {
            d[c] = self.primary[c] as f32 / 255.0;
            d[3 + c] = self.secondary[c] as f32 / 255.0;
        }
        d[6 + shape] = 1.0;
        Some(d)
    }
}

/// One slot crop: 64x64 RGB, row-major, 3 bytes a pixel, and what the planogram says of the
/// slot (layout, product).
#[derive(Debug, Clone, PartialEq)]
pub struct SlotCrop {
    rgb: Vec<u8>,
    layout: Option<[f32; 2]>,
    product: Option<[f32; PRODUCT_LEN]>,
}

impl SlotCrop {
    /// A crop that is already 64x64 RGB.
    pub fn from_rgb(rgb: Vec<u8>) -> Result<SlotCrop, String> {
        if rgb.len() != PIXELS * 3 {
            return Err(format!(
                "a slot crop is {CROP_SIZE}x{CROP_SIZE} RGB ({} bytes), got {} bytes",
                PIXELS * 3,
                rgb.len()
            ));
        }
        Ok(SlotCrop {
            rgb,
            layout: None,
            product: None,
        })
    }

    /// The slot's planned layout from the planogram: facings side by side and units one behind
    /// the other (`capacity / facings`, rounded up). slotnet 2 reads the fill against it (a
    /// full slot one deep and a half-full slot two deep look alike otherwise); models with only
    /// the `crops` input ignore it. Values are clamped to 1..=4, the range slotnet was trained on.
    pub fn with_layout(mut self, facings: u32, depth: u32) -> SlotCrop {
        let clamp = |v: u32| v.clamp(1, MAX_LAYOUT) as f32;
        self.layout = Some([clamp(facings), clamp(depth)]);
        self
    }

    /// The layout set by [`SlotCrop::with_layout`], as (facings, depth).
    pub fn layout(&self) -> Option<[f32; 2]> {
        self.layout
    }

    /// The planned product's pack. slotnet 3 compares the slot's contents with it and reads
    /// P(no unit of the planned product is there); without it (or with a shape slotnet does not
    /// know) that reading is `None`. Older models ignore it.
    pub fn with_product(mut self, pack: &ProductPack) -> SlotCrop {
        self.product = pack.descriptor();
        self
    }

    /// Resizes an RGB image of any size (the slot's region of a frame) to the crop size,
    /// bilinear, as the training pipeline does.
    pub fn resize_from(width: u32, height: u32, rgb: &[u8]) -> Result<SlotCrop, String> {
        let src = ImageRef::new(width, height, rgb, PixelType::U8x3)
            .map_err(|e| format!("slot region: {e}"))?;
        let mut dst = Image::new(CROP_SIZE as u32, CROP_SIZE as u32, PixelType::U8x3);
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(
            fast_image_resize::FilterType::Bilinear,
        ));
        Resizer::new()
            .resize(&src, &mut dst, &options)
            .map_err(|e| format!("resizing the slot region: {e}"))?;
        SlotCrop::from_rgb(dst.into_vec())
    }

    /// Warps the region `quad` of an RGB frame (`width` x `height`, row-major, 3 bytes a pixel)
    /// to the crop, as the training pipeline does (`crop_quad` in `train/shelf_render.py`):
    /// output pixel centres map through the quad's homography and are sampled bilinearly at
    /// pixel-centre coordinates, edges clamped. A region much larger than the crop is
    /// supersampled (n x n samples a pixel, about one per 1.5 source pixels) so that it does
    /// not alias; a region up to twice
    /// the crop size is sampled exactly as in training.
    pub fn from_quad(width: u32, height: u32, rgb: &[u8], quad: &Quad) -> Result<SlotCrop, String> {
        let (w, h) = (width as usize, height as usize);
        if w == 0 || h == 0 || rgb.len() != w * h * 3 {
            return Err(format!(
                "a {width}x{height} RGB frame is {} bytes, got {}",
                w * h * 3,
                rgb.len()
            ));
        }
        let [x0, y0, x1, y1] = quad.bounds();
        let side = ((x1 - x0).max(y1 - y0) as f64 / CROP_SIZE as f64).max(1.0);
        // About one sample per 1.5 source pixels: enough against aliasing, and a third of the
        // cost of one per pixel.
        let n = if side <= 2.0 {
            1
        } else {
            (side / 1.5).ceil() as usize
        };
        let mut out = vec![0u8; PIXELS * 3];
        let (xmax, ymax) = ((w - 1) as f64, (h - 1) as f64);
        let inv = 1.0 / (n * n) as f32;
        let step = 1.0 / (n * CROP_SIZE) as f64;
        // Sample positions along one axis, in unit-square coordinates.
        let positions: Vec<f64> = (0..CROP_SIZE * n)
            .map(|k| (k as f64 + 0.5) * step)
            .collect();
        let mut acc = vec![0f32; CROP_SIZE * 3];
        for i in 0..CROP_SIZE {
            acc.iter_mut().for_each(|a| *a = 0.0);
            for &t in &positions[i * n..(i + 1) * n] {
                for (k, &s) in positions.iter().enumerate() {
                    let [x, y] = quad.map(s, t);
                    let x = (x - 0.5).clamp(0.0, xmax);
                    let y = (y - 0.5).clamp(0.0, ymax);
                    let xa = (x as usize).min(w.saturating_sub(2));
                    let ya = (y as usize).min(h.saturating_sub(2));
                    let xb = (xa + 1).min(w - 1);
                    let yb = (ya + 1).min(h - 1);
                    let (fx, fy) = ((x - xa as f64) as f32, (y - ya as f64) as f32);
                    let (i00, i10) = ((ya * w + xa) * 3, (ya * w + xb) * 3);
                    let (i01, i11) = ((yb * w + xa) * 3, (yb * w + xb) * 3);
                    let a = &mut acc[(k / n) * 3..(k / n) * 3 + 3];
                    for c in 0..3 {
                        let top = rgb[i00 + c] as f32 * (1.0 - fx) + rgb[i10 + c] as f32 * fx;
                        let bot = rgb[i01 + c] as f32 * (1.0 - fx) + rgb[i11 + c] as f32 * fx;
                        a[c] += top * (1.0 - fy) + bot * fy;
                    }
                }
            }
            for (o, a) in out[i * CROP_SIZE * 3..(i + 1) * CROP_SIZE * 3]
                .iter_mut()
                .zip(&acc)
            {
                *o = (a * inv).round().clamp(0.0, 255.0) as u8;
            }
        }
        Ok(SlotCrop {
            rgb: out,
            layout: None,
            product: None,
        })
    }

    /// The pixels.
    pub fn rgb(&self) -> &[u8] {
        &self.rgb
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_maps_match_the_training_pipelines() {
        // the shipped vector holds the maps `train/slotnet.py` computed for its crops
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let manifest = Manifest::load(&dir.join("manifest.toml")).unwrap();
        let entry = manifest.entry("slotnet").unwrap();
        if entry.inputs.len() < 4 {
            return; // a slotnet without maps: nothing to compare
        }
        let vector = crate::TestVector::load(&manifest.path(&entry.test_vector), entry).unwrap();
        let input = |name: &str| vector.inputs.iter().find(|t| t.name == name).unwrap();
        let (crops, want, products) = (input("crops"), input("maps"), input("product"));
        let n = crops.shape[0];
        assert!(n > 0);
        let mut worst = 0f32;
        for i in 0..n {
            let planes: Vec<f32> = crops.data[i * 3 * PIXELS..(i + 1) * 3 * PIXELS]
                .iter()
                .map(|v| *v as f32)
                .collect();
            let mut product = [0f32; PRODUCT_LEN];
            for (d, v) in product
                .iter_mut()
                .zip(&products.data[i * PRODUCT_LEN..(i + 1) * PRODUCT_LEN])
            {
                *d = *v as f32;
            }
            let mut maps = vec![0f32; 2 * PIXELS];
            colour_maps(&planes, &product, &mut maps);
            for (got, want) in maps
                .iter()
                .zip(&want.data[i * 2 * PIXELS..(i + 1) * 2 * PIXELS])
            {
                worst = worst.max((got - *want as f32).abs());
            }
        }
        assert!(
            worst < 1e-5,
            "Rust and Python colour maps differ by {worst}"
        );
    }

    #[test]
    fn colour_maps_light_up_where_the_packs_colours_are_whatever_the_brightness() {
        // left half the primary colour (red) at full and at a third of the light, right half
        // the secondary colour (white-ish grey)
        let red = [0.8f32, 0.1, 0.1];
        let grey = [0.5f32, 0.5, 0.5];
        let mut planes = vec![0f32; 3 * PIXELS];
        for p in 0..PIXELS {
            let (col, row) = (p % CROP_SIZE, p / CROP_SIZE);
            let (c, k) = if col < 32 {
                (red, if row < 32 { 1.0 } else { 0.33 })
            } else {
                (grey, 1.0)
            };
            for ch in 0..3 {
                planes[ch * PIXELS + p] = c[ch] * k;
            }
        }
        let mut product = [0f32; PRODUCT_LEN];
        product[..3].copy_from_slice(&red);
        product[3..6].copy_from_slice(&[0.9, 0.9, 0.9]);
        product[6] = 1.0;
        let mut maps = vec![0f32; 2 * PIXELS];
        colour_maps(&planes, &product, &mut maps);
        let at = |map: usize, col: usize, row: usize| maps[map * PIXELS + row * CROP_SIZE + col];
        assert!(at(0, 5, 5) > 0.99, "{}", at(0, 5, 5));
        // dimmer red: eps shifts the chromaticity a little, still close
        assert!(at(0, 5, 50) > 0.5, "{}", at(0, 5, 50));
        assert!(at(0, 50, 5) < 0.01, "{}", at(0, 50, 5));
        assert!(at(1, 50, 5) > 0.99, "{}", at(1, 50, 5));
        assert!(at(1, 5, 5) < 0.01, "{}", at(1, 5, 5));
        assert!(maps
            .iter()
            .all(|m| m.is_finite() && (0.0..=1.0).contains(m)));
        // black pixels and a black pack: no division by zero
        let mut maps = vec![0f32; 2 * PIXELS];
        colour_maps(&vec![0f32; 3 * PIXELS], &[0f32; PRODUCT_LEN], &mut maps);
        assert!(maps.iter().all(|m| m.is_finite()));
    }
}

/// What slotnet sees in one slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotReading {
    /// Share of the slot's capacity present, 0..1.
    pub fill: f32,
    /// Probability that the view is blocked (hand, shopper, cart, glare).
    pub occluded: f32,
    /// Probability that a different product sits in the slot.
    pub wrong_product: f32,
    /// Probability that no unit of the planned product is there (empty, or only other
    /// products): slotnet 3 and later, for crops given their product.
    pub absent: Option<f32>,
}

/// The slot model; batches crops `batch` at a time (a full shelf of 24 by default).
pub struct SlotNet {
    engine: Engine,
    batch: usize,
    scale: f32,
    /// The model takes the slot layout as a second input (`layout`, [N, 2]).
    takes_layout: bool,
    /// The model takes the planned product (`product`, [N, 11]) and the crop's colour maps
    /// against it (`maps`, [N, 2, 64, 64]), and reads P(absent) as a fourth output column.
    takes_product: bool,
    buffers: Mutex<Vec<Buffers>>,
}

/// Input tensors, refilled for every batch.
#[derive(Default)]
struct Buffers {
    crops: Vec<f32>,
    maps: Vec<f32>,
    layout: Vec<f32>,
    product: Vec<f32>,
}

impl SlotNet {
    /// Loads and verifies slotnet; plans for batch 1 and `batch` are built up front.
    pub fn load(manifest: &Manifest, batch: usize) -> Result<SlotNet, ModelError> {
        let batch = batch.max(1);
        let engine = Engine::load(manifest, "slotnet", &[1, batch])?;
        SlotNet::from_engine(engine, batch)
    }

    /// Wraps an engine loaded by the caller (e.g. the float file for comparisons).
    pub fn from_engine(engine: Engine, batch: usize) -> Result<SlotNet, ModelError> {
        let entry = engine.entry();
        let size = entry.pre_f64("size")? as usize;
        if size != CROP_SIZE {
            return Err(ModelError::Invalid {
                model: entry.name.clone(),
                reason: format!("crop size {size} in the manifest, this build crops {CROP_SIZE}"),
            });
        }
        let scale = entry.pre_f64("scale")? as f32;
        let names: Vec<&str> = entry.inputs.iter().map(|i| i.name.as_str()).collect();
        let (takes_layout, takes_product) = match names.as_slice() {
            ["crops"] => (false, false),
            ["crops", "layout"] => (true, false),
            ["crops", "maps", "layout", "product"] => (true, true),
            other => {
                return Err(ModelError::Invalid {
                    model: entry.name.clone(),
                    reason: format!(
                        "slotnet takes `crops` [N,3,64,64], optionally `layout` [N,2], or `crops`, `maps` [N,2,64,64], `layout` and `product` [N,{PRODUCT_LEN}]; the manifest lists {other:?}"
                    ),
                })
            }
        };
        let columns = entry
            .outputs
            .first()
            .and_then(|o| o.shape.last())
            .and_then(|d| match d {
                crate::manifest::Dim::Fixed(n) => Some(*n),
                crate::manifest::Dim::Batch(_) | crate::manifest::Dim::Seq(_) => None,
            });
        let want = if takes_product { 4 } else { 3 };
        if entry.outputs.len() != 1 || columns != Some(want) {
            return Err(ModelError::Invalid {
                model: entry.name.clone(),
                reason: format!(
                    "slotnet with inputs {names:?} gives one output `readings` [N,{want}]; the manifest lists {:?}",
                    entry.outputs.iter().map(|o| (&o.name, &o.shape)).collect::<Vec<_>>()
                ),
            });
        }
        Ok(SlotNet {
            engine,
            batch: batch.max(1),
            scale,
            takes_layout,
            takes_product,
            buffers: Mutex::new(Vec::new()),
        })
    }

    /// Whether this model reads the slot layout ([`SlotCrop::with_layout`]).
    pub fn takes_layout(&self) -> bool {
        self.takes_layout
    }

    /// Readings for every crop, in order. Runs batches of `batch` (the last one padded), or
    /// batch 1 for a single crop. A model that takes the layout refuses crops without one.
    pub fn infer(&self, crops: &[SlotCrop]) -> Result<Vec<SlotReading>, ModelError> {
        if self.takes_layout && crops.iter().any(|c| c.layout.is_none()) {
            return Err(ModelError::Input {
                model: self.engine.entry().name.clone(),
                reason: "this slotnet reads each slot against its planned facings and depth: \
                         give every crop a layout (SlotCrop::with_layout)"
                    .into(),
            });
        }
        let mut readings = Vec::with_capacity(crops.len());
        let mut bufs = self
            .buffers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_default();
        for chunk in crops.chunks(self.batch) {
            let n = if chunk.len() == 1 { 1 } else { self.batch };
            let Buffers {
                crops: buffer,
                maps,
                layout,
                product,
            } = &mut bufs;
            buffer.clear();
            buffer.resize(n * 3 * PIXELS, 0.0);
            layout.clear();
            // padding rows get a valid layout too, so the padded part of the batch stays finite
            layout.resize(n * 2, 1.0);
            product.clear();
            // a crop without its product gets zeros; its P(absent) is not reported
            product.resize(n * PRODUCT_LEN, 0.0);
            maps.clear();
            if self.takes_product {
                maps.resize(n * 2 * PIXELS, 0.0);
            }
            for (i, crop) in chunk.iter().enumerate() {
                if let Some(l) = crop.layout {
                    layout[i * 2..i * 2 + 2].copy_from_slice(&l);
                }
                if let Some(d) = crop.product {
                    product[i * PRODUCT_LEN..(i + 1) * PRODUCT_LEN].copy_from_slice(&d);
                }
                let planes = &mut buffer[i * 3 * PIXELS..(i + 1) * 3 * PIXELS];
                for (p, px) in crop.rgb.chunks_exact(3).enumerate() {
                    planes[p] = px[0] as f32 * self.scale;
                    planes[PIXELS + p] = px[1] as f32 * self.scale;
                    planes[2 * PIXELS + p] = px[2] as f32 * self.scale;
                }
                if let (true, Some(d)) = (self.takes_product, &crop.product) {
                    colour_maps(planes, d, &mut maps[i * 2 * PIXELS..(i + 1) * 2 * PIXELS]);
                }
            }
            let out = match (self.takes_layout, self.takes_product) {
                (true, true) => self.engine.run(
                    n,
                    &[
                        Input::F32(buffer),
                        Input::F32(maps),
                        Input::F32(layout),
                        Input::F32(product),
                    ],
                ),
                (true, false) => self
                    .engine
                    .run(n, &[Input::F32(buffer), Input::F32(layout)]),
                _ => self.engine.run(n, &[Input::F32(buffer)]),
            };
            let out = match out {
                Ok(out) => out,
                Err(e) => {
                    self.buffers
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(bufs);
                    return Err(e);
                }
            };
            let columns = if self.takes_product { 4 } else { 3 };
            readings.extend(
                out[0]
                    .data
                    .chunks_exact(columns)
                    .zip(chunk)
                    .map(|(r, crop)| SlotReading {
                        fill: r[0].clamp(0.0, 1.0),
                        occluded: r[1].clamp(0.0, 1.0),
                        wrong_product: r[2].clamp(0.0, 1.0),
                        absent: r
                            .get(3)
                            .filter(|_| crop.product.is_some())
                            .map(|a| a.clamp(0.0, 1.0)),
                    }),
            );
        }
        self.buffers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(bufs);
        Ok(readings)
    }

    /// The underlying engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}
