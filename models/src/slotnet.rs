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

/// One slot crop: 64x64 RGB, row-major, 3 bytes a pixel, and the slot's planned layout.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotCrop {
    rgb: Vec<u8>,
    layout: Option<[f32; 2]>,
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
        Ok(SlotCrop { rgb, layout: None })
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
        })
    }

    /// The pixels.
    pub fn rgb(&self) -> &[u8] {
        &self.rgb
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
}

/// The slot model; batches crops `batch` at a time (a full shelf of 24 by default).
pub struct SlotNet {
    engine: Engine,
    batch: usize,
    scale: f32,
    /// The model takes the slot layout as a second input (`layout`, [N, 2]).
    takes_layout: bool,
    buffers: Mutex<Vec<(Vec<f32>, Vec<f32>)>>,
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
        let takes_layout = match entry.inputs.as_slice() {
            [crops] if crops.name == "crops" => false,
            [crops, layout] if crops.name == "crops" && layout.name == "layout" => true,
            other => {
                return Err(ModelError::Invalid {
                    model: entry.name.clone(),
                    reason: format!(
                        "slotnet takes `crops` [N,3,64,64] and optionally `layout` [N,2]; the manifest lists {:?}",
                        other.iter().map(|i| i.name.as_str()).collect::<Vec<_>>()
                    ),
                })
            }
        };
        Ok(SlotNet {
            engine,
            batch: batch.max(1),
            scale,
            takes_layout,
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
        let (mut buffer, mut layout) = self
            .buffers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_default();
        for chunk in crops.chunks(self.batch) {
            let n = if chunk.len() == 1 { 1 } else { self.batch };
            buffer.clear();
            buffer.resize(n * 3 * PIXELS, 0.0);
            layout.clear();
            // padding rows get a valid layout too, so the padded part of the batch stays finite
            layout.resize(n * 2, 1.0);
            for (i, crop) in chunk.iter().enumerate() {
                if let Some(l) = crop.layout {
                    layout[i * 2..i * 2 + 2].copy_from_slice(&l);
                }
                let planes = &mut buffer[i * 3 * PIXELS..(i + 1) * 3 * PIXELS];
                for (p, px) in crop.rgb.chunks_exact(3).enumerate() {
                    planes[p] = px[0] as f32 * self.scale;
                    planes[PIXELS + p] = px[1] as f32 * self.scale;
                    planes[2 * PIXELS + p] = px[2] as f32 * self.scale;
                }
            }
            let out = if self.takes_layout {
                self.engine
                    .run(n, &[Input::F32(&buffer), Input::F32(&layout)])
            } else {
                self.engine.run(n, &[Input::F32(&buffer)])
            };
            let out = match out {
                Ok(out) => out,
                Err(e) => {
                    self.buffers
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((buffer, layout));
                    return Err(e);
                }
            };
            readings.extend(
                out[0]
                    .data
                    .chunks_exact(3)
                    .take(chunk.len())
                    .map(|r| SlotReading {
                        fill: r[0].clamp(0.0, 1.0),
                        occluded: r[1].clamp(0.0, 1.0),
                        wrong_product: r[2].clamp(0.0, 1.0),
                    }),
            );
        }
        self.buffers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((buffer, layout));
        Ok(readings)
    }

    /// The underlying engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}
