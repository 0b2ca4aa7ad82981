//! The planogram file: which product sits where on the shelf, as the cameras see it.
//!
//! Headquarters replaces it independently of the config, which names it (`paths.planogram`).
//! Loading reports every problem at once with file, line and column, like the config, so an
//! installer fixes the file in one pass (`edge-runtime planogram check`).
//!
//! The format (TOML; `demo-planogram.toml` beside this file is a complete, commented example,
//! printed by `edge-runtime planogram demo`):
//!
//! ```toml
//! version = "demo-2026-11"          # headquarters' label, not empty
//! [[cameras]]
//! id = "shelf-cam-1"                # a camera id of the config, unique here
//! width = 1280                      # the frame size the slots are drawn for, 1..8192
//! height = 720
//! [[cameras.slots]]
//! id = "A1"                         # unique in the planogram (across cameras)
//! sku = "SKU01378"                  # in the catalog, when one is given
//! rect = [44, 58, 192, 145]         # [x, y, width, height], or
//! # quad = [[x, y], [x, y], [x, y], [x, y]]   top-left, top-right, bottom-right, bottom-left
//! facings = 3                       # 1..capacity
//! capacity = 9                      # units when full, at least 1
//! unit_weight_g = 290.0             # optional; else the catalog's attributes.unit_weight_g
//! scale = "shelf-scale-1"           # optional scale device id ...
//! channel = 0                       # ... and its channel: both or neither
//! low_stock = 2                     # optional, below capacity; default: capacity / 4, rounded up
//! ```
//!
//! A slot's region is inside its camera's frame, a convex quad of at least 16 square pixels,
//! and overlaps no other slot of that camera by more than 2% of the smaller one. A slot on a
//! scale needs a unit weight (from the slot or the catalog), and no two slots share a
//! (scale, channel). A camera may have no slots, the planogram as a whole may not.

use super::SlotSpec;
use crate::catalog::{Catalog, Product};
use crate::config::document::{self, Step};
use crate::config::Problem;
use edge_models::{Quad, QuadError};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// The bundled demo planogram, as text (what `edge-runtime planogram demo` prints).
pub const DEMO_TOML: &str = include_str!("demo-planogram.toml");

/// Largest frame side accepted, in pixels (8K).
const MAX_FRAME_SIDE: u32 = 8192;

/// Largest share of the smaller slot two slots of one camera may have in common: a little
/// slack for hand-drawn regions, not enough for two slots to watch the same units.
const MAX_OVERLAP: f64 = 0.02;

/// The whole planogram file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Planogram {
    /// Headquarters' label for this planogram.
    pub version: String,
    /// The cameras and the slots each of them sees.
    #[serde(default)]
    pub cameras: Vec<CameraPlan>,
}

/// One camera and the slots drawn on its frame.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraPlan {
    /// Camera id, as in the config.
    pub id: String,
    /// Frame width the slots are drawn for, in pixels.
    pub width: u32,
    /// Frame height the slots are drawn for, in pixels.
    pub height: u32,
    /// The slots in this camera's view.
    #[serde(default)]
    pub slots: Vec<SlotPlan>,
}

/// One slot as written in the file (see the module docs for the rules).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotPlan {
    /// Slot id, unique in the planogram.
    pub id: String,
    /// The product the slot holds.
    pub sku: String,
    /// Axis-aligned region `[x, y, width, height]`; exactly one of `rect` and `quad`.
    #[serde(default)]
    pub rect: Option<[f32; 4]>,
    /// Region corners top-left, top-right, bottom-right, bottom-left.
    #[serde(default)]
    pub quad: Option<[[f32; 2]; 4]>,
    /// Columns of units side by side.
    pub facings: u32,
    /// Units the slot holds when full.
    pub capacity: u32,
    /// Grams per unit; unset: the catalog's `attributes.unit_weight_g`.
    #[serde(default)]
    pub unit_weight_g: Option<f64>,
    /// Scale device id under the slot.
    #[serde(default)]
    pub scale: Option<String>,
    /// Channel of that scale.
    #[serde(default)]
    pub channel: Option<u32>,
    /// Low-stock threshold in units; unset: a quarter of capacity, rounded up.
    #[serde(default)]
    pub low_stock: Option<u32>,
}

/// Why a planogram could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PlanogramError {
    /// The file is missing or cannot be read.
    #[error("cannot read planogram file {path}: {source}\n  fix: check paths.planogram in the config; `edge-runtime planogram demo` prints an example to start from")]
    Unreadable {
        /// The path that was tried.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file was read and has one or more problems.
    #[error("{}", document::render(.0))]
    Invalid(Vec<Problem>),
}

impl PlanogramError {
    /// Every problem found (one for an unreadable file).
    pub fn problems(&self) -> Vec<String> {
        match self {
            PlanogramError::Unreadable { .. } => vec![self.to_string()],
            PlanogramError::Invalid(problems) => problems.iter().map(|p| p.to_string()).collect(),
        }
    }
}

impl Planogram {
    /// Reads, parses and validates the file at `path`, reporting every problem at once. With a
    /// catalog, SKUs must be in it and it supplies unit weights.
    pub fn load(path: &Path, catalog: Option<&Catalog>) -> Result<Planogram, PlanogramError> {
        let origin = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| PlanogramError::Unreadable {
            path: origin.clone(),
            source,
        })?;
        document::parse_bytes(bytes, &origin, |p: &Planogram| p.problems(catalog))
            .map_err(PlanogramError::Invalid)
    }

    /// Parses and validates planogram text; `origin` names it in messages.
    pub fn from_toml(
        text: &str,
        origin: &str,
        catalog: Option<&Catalog>,
    ) -> Result<Planogram, PlanogramError> {
        document::parse_text(text, origin, |p: &Planogram| p.problems(catalog))
            .map_err(PlanogramError::Invalid)
    }

    /// The bundled demo planogram (one camera, 24 slots on one scale, demo catalog SKUs).
    pub fn demo() -> Planogram {
        // Compiled in and checked against the demo catalog by a unit test.
        Planogram::from_toml(DEMO_TOML, "demo-planogram.toml", None)
            .expect("the bundled demo planogram is valid")
    }

    /// Every slot resolved for the tracker, in file order; `camera` indexes `cameras`. A slot
    /// without a usable region (only possible in a planogram that was not validated) is left
    /// out.
    pub fn slots(&self, catalog: Option<&Catalog>) -> Vec<SlotSpec> {
        let products = products(catalog);
        let mut specs = Vec::new();
        for (camera, plan) in self.cameras.iter().enumerate() {
            for slot in &plan.slots {
                let Ok(quad) = slot.region() else { continue };
                let catalog_grams = products.get(slot.sku.as_str()).and_then(|p| unit_weight(p));
                specs.push(SlotSpec {
                    id: slot.id.clone(),
                    camera,
                    quad,
                    sku: slot.sku.clone(),
                    facings: slot.facings,
                    capacity: slot.capacity,
                    unit_grams: slot.unit_weight_g.or(catalog_grams),
                    scale: slot.scale.clone().zip(slot.channel),
                    low_stock: slot.low_stock(),
                    pack: products.get(slot.sku.as_str()).and_then(|p| pack(p)),
                });
            }
        }
        specs
    }

    /// Index in `cameras` of the camera with this id.
    pub fn camera_index(&self, id: &str) -> Option<usize> {
        self.cameras.iter().position(|c| c.id == id)
    }

    /// Semantic checks after parsing; each problem names its key path.
    fn problems(&self, catalog: Option<&Catalog>) -> Vec<(Vec<Step>, String)> {
        let mut problems = Vec::new();
        let mut bad = |path: Vec<Step>, msg: String| problems.push((path, msg));
        let products = products(catalog);

        if self.version.trim().is_empty() {
            bad(
                vec!["version".into()],
                "version must not be empty (headquarters' label for this planogram)".into(),
            );
        }
        if self.cameras.iter().all(|c| c.slots.is_empty()) {
            bad(
                vec!["cameras".into()],
                "the planogram has no slots: add [[cameras]] with at least one [[cameras.slots]]"
                    .into(),
            );
        }

        let mut camera_ids: HashMap<&str, usize> = HashMap::new();
        let mut slot_ids: HashMap<&str, &str> = HashMap::new();
        let mut channels: HashMap<(&str, u32), &str> = HashMap::new();
        for (c, camera) in self.cameras.iter().enumerate() {
            let cam = |key: &str| vec![Step::from("cameras"), c.into(), key.into()];
            if camera.id.trim().is_empty() {
                bad(cam("id"), "camera id must not be empty".into());
            } else if let Some(first) = camera_ids.insert(&camera.id, c) {
                camera_ids.insert(&camera.id, first);
                bad(
                    cam("id"),
                    format!(
                        "camera id {:?} is used twice; each camera appears once",
                        camera.id
                    ),
                );
            }
            for (key, side) in [("width", camera.width), ("height", camera.height)] {
                if side == 0 || side > MAX_FRAME_SIDE {
                    bad(
                        cam(key),
                        format!(
                            "camera {:?}: {key} must be between 1 and {MAX_FRAME_SIDE} pixels",
                            camera.id
                        ),
                    );
                }
            }

            // Regions that are valid and inside the frame, for the overlap check.
            let mut regions: Vec<(usize, Quad)> = Vec::new();
            for (s, slot) in camera.slots.iter().enumerate() {
                let at = |key: &str| {
                    vec![
                        Step::from("cameras"),
                        c.into(),
                        "slots".into(),
                        s.into(),
                        key.into(),
                    ]
                };
                let name = &slot.id;
                if slot.id.trim().is_empty() {
                    bad(at("id"), "slot id must not be empty".into());
                } else if let Some(first_camera) = slot_ids.insert(&slot.id, &camera.id) {
                    slot_ids.insert(&slot.id, first_camera);
                    bad(
                        at("id"),
                        format!(
                            "slot id {name:?} is used twice (first on camera {first_camera:?}); \
                             slot ids are unique in the planogram"
                        ),
                    );
                }

                let region_key = if slot.rect.is_some() { "rect" } else { "quad" };
                match (slot.rect, slot.quad) {
                    (None, None) => bad(
                        at("rect"),
                        format!(
                            "slot {name:?} has no region: give rect = [x, y, width, height] or \
                             quad = [[x, y], [x, y], [x, y], [x, y]]"
                        ),
                    ),
                    (Some(_), Some(_)) => bad(
                        at("quad"),
                        format!("slot {name:?} has both rect and quad; keep one of them"),
                    ),
                    _ => match slot.region() {
                        Err(why) => bad(at(region_key), format!("slot {name:?}: {why}")),
                        Ok(quad) => {
                            let [x0, y0, x1, y1] = quad.bounds();
                            let (w, h) = (camera.width as f32, camera.height as f32);
                            if x0 < 0.0 || y0 < 0.0 || x1 > w || y1 > h {
                                bad(
                                    at(region_key),
                                    format!(
                                        "slot {name:?} reaches outside the {}x{} frame of \
                                         camera {:?} (it spans x {x0}..{x1}, y {y0}..{y1})",
                                        camera.width, camera.height, camera.id
                                    ),
                                );
                            } else {
                                for (other, other_quad) in &regions {
                                    let shared = overlap(&quad, other_quad);
                                    let smaller = quad.area().min(other_quad.area());
                                    if shared > MAX_OVERLAP * smaller {
                                        bad(
                                            at(region_key),
                                            format!(
                                                "slot {name:?} overlaps slot {:?} by {:.0}% of \
                                                 the smaller of the two (at most {:.0}% is \
                                                 allowed)",
                                                camera.slots[*other].id,
                                                100.0 * shared / smaller,
                                                100.0 * MAX_OVERLAP
                                            ),
                                        );
                                    }
                                }
                                regions.push((s, quad));
                            }
                        }
                    },
                }

                if slot.capacity == 0 {
                    bad(
                        at("capacity"),
                        format!("slot {name:?}: capacity must be at least 1"),
                    );
                }
                if slot.facings == 0 || (slot.capacity > 0 && slot.facings > slot.capacity) {
                    bad(
                        at("facings"),
                        format!(
                            "slot {name:?}: facings must be between 1 and the capacity ({})",
                            slot.capacity
                        ),
                    );
                }
                if let Some(low) = slot.low_stock {
                    if slot.capacity > 0 && low >= slot.capacity {
                        bad(
                            at("low_stock"),
                            format!(
                                "slot {name:?}: low_stock must be below the capacity ({})",
                                slot.capacity
                            ),
                        );
                    }
                }
                if let Some(grams) = slot.unit_weight_g {
                    if !grams.is_finite() || grams <= 0.0 {
                        bad(
                            at("unit_weight_g"),
                            format!("slot {name:?}: unit_weight_g must be a number above 0"),
                        );
                    }
                }

                if slot.sku.trim().is_empty() {
                    bad(at("sku"), format!("slot {name:?}: sku must not be empty"));
                }
                let product = products.get(slot.sku.as_str());
                if catalog.is_some() && product.is_none() && !slot.sku.trim().is_empty() {
                    bad(
                        at("sku"),
                        format!("slot {name:?}: sku {:?} is not in the catalog", slot.sku),
                    );
                }

                match (&slot.scale, slot.channel) {
                    (Some(scale), None) => bad(
                        at("channel"),
                        format!(
                            "slot {name:?} is on scale {scale:?} but has no channel; give both \
                             scale and channel, or neither"
                        ),
                    ),
                    (None, Some(_)) => bad(
                        at("scale"),
                        format!(
                            "slot {name:?} has a channel but no scale; give both scale and \
                             channel, or neither"
                        ),
                    ),
                    (Some(scale), Some(channel)) => {
                        if scale.trim().is_empty() {
                            bad(
                                at("scale"),
                                format!("slot {name:?}: scale must not be empty"),
                            );
                        } else if let Some(first) = channels.insert((scale, channel), name) {
                            channels.insert((scale, channel), first);
                            bad(
                                at("channel"),
                                format!(
                                    "slot {name:?} is on {scale:?} channel {channel} like slot \
                                     {first:?}: shared load cells are not supported yet"
                                ),
                            );
                        }
                        // Without a catalog the weight may still come from it at run time.
                        if let (None, Some(product)) = (slot.unit_weight_g, product) {
                            if unit_weight(product).is_none() {
                                bad(
                                    at("unit_weight_g"),
                                    format!(
                                        "slot {name:?} is on a scale but neither the slot nor \
                                         the catalog (attributes.unit_weight_g of {:?}) gives a \
                                         unit weight; add unit_weight_g",
                                        slot.sku
                                    ),
                                );
                            }
                        }
                    }
                    (None, None) => {}
                }
            }
        }
        problems
    }
}

impl SlotPlan {
    /// The slot's region in the frame, from `rect` or `quad`.
    pub fn region(&self) -> Result<Quad, QuadError> {
        match (self.rect, self.quad) {
            (Some([x, y, w, h]), None) => Quad::rect(x, y, w, h),
            (None, Some(corners)) => Quad::new(corners),
            (None, None) => Err(QuadError("the slot has neither rect nor quad".into())),
            (Some(_), Some(_)) => Err(QuadError("the slot has both rect and quad".into())),
        }
    }

    /// The low-stock threshold, given or a quarter of capacity rounded up.
    pub fn low_stock(&self) -> u32 {
        self.low_stock.unwrap_or(self.capacity.div_ceil(4))
    }
}

/// The catalog's products by SKU (none without a catalog).
fn products(catalog: Option<&Catalog>) -> HashMap<&str, &Product> {
    catalog
        .map(|c| c.products.iter().map(|p| (p.sku.as_str(), p)).collect())
        .unwrap_or_default()
}

/// A product's `attributes.unit_weight_g`, when it is a usable weight.
fn unit_weight(product: &Product) -> Option<f64> {
    product
        .attributes
        .get("unit_weight_g")
        .and_then(|v| v.as_f64())
        .filter(|g| g.is_finite() && *g > 0.0)
}

/// A product's `attributes.pack` (`primary` and `secondary` RGB, `shape`), when complete.
fn pack(product: &Product) -> Option<edge_models::ProductPack> {
    let pack = product.attributes.get("pack")?;
    let colour = |key: &str| -> Option<[u8; 3]> {
        let v = pack.get(key)?.as_array()?;
        let mut rgb = [0u8; 3];
        if v.len() != 3 {
            return None;
        }
        for (dst, src) in rgb.iter_mut().zip(v) {
            *dst = u8::try_from(src.as_u64()?).ok()?;
        }
        Some(rgb)
    };
    let shape = pack.get("shape")?.as_str()?;
    if !edge_models::PACK_SHAPES.contains(&shape) {
        return None;
    }
    Some(edge_models::ProductPack {
        primary: colour("primary")?,
        secondary: colour("secondary")?,
        shape: shape.to_string(),
    })
}

/// Area two convex quads have in common: `a` clipped by every edge of `b`
/// (Sutherland-Hodgman), then measured.
fn overlap(a: &Quad, b: &Quad) -> f64 {
    let point = |p: [f32; 2]| [p[0] as f64, p[1] as f64];
    let mut polygon: Vec<[f64; 2]> = a.corners().iter().map(|p| point(*p)).collect();
    let clip = b.corners().map(point);
    for i in 0..4 {
        let (e0, e1) = (clip[i], clip[(i + 1) % 4]);
        // Corners run clockwise on screen (y down): inside is where this cross product is >= 0.
        let side =
            |p: [f64; 2]| (e1[0] - e0[0]) * (p[1] - e0[1]) - (e1[1] - e0[1]) * (p[0] - e0[0]);
        let input = std::mem::take(&mut polygon);
        for j in 0..input.len() {
            let (p, q) = (input[j], input[(j + 1) % input.len()]);
            let (sp, sq) = (side(p), side(q));
            if sp >= 0.0 {
                polygon.push(p);
            }
            if (sp >= 0.0) != (sq >= 0.0) {
                let t = sp / (sp - sq);
                polygon.push([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])]);
            }
        }
        if polygon.is_empty() {
            return 0.0;
        }
    }
    let mut twice = 0.0;
    for j in 0..polygon.len() {
        let (p, q) = (polygon[j], polygon[(j + 1) % polygon.len()]);
        twice += p[0] * q[1] - q[0] * p[1];
    }
    twice.abs() / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_catalog() -> Catalog {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../models/data/demo-catalog.json"
        );
        let bytes = std::fs::read(path).expect("demo catalog");
        serde_json::from_slice(&bytes).expect("demo catalog in the runtime's format")
    }

    fn problems(text: &str, catalog: Option<&Catalog>) -> Vec<Problem> {
        match Planogram::from_toml(text, "p.toml", catalog) {
            Ok(p) => panic!("expected problems, got {p:?}"),
            Err(PlanogramError::Invalid(p)) => p,
            Err(e) => panic!("unexpected {e}"),
        }
    }

    /// A planogram of one 640x480 camera with these slot tables.
    fn one_camera(slots: &str) -> String {
        format!("version = \"t\"\n[[cameras]]\nid = \"c\"\nwidth = 640\nheight = 480\n{slots}")
    }

    fn slot(id: &str, region: &str, extra: &str) -> String {
        format!(
            "[[cameras.slots]]\nid = \"{id}\"\nsku = \"SKU01378\"\n{region}\nfacings = 1\ncapacity = 4\n{extra}\n"
        )
    }

    #[test]
    fn demo_planogram_is_valid_with_the_demo_catalog() {
        let catalog = demo_catalog();
        let p = Planogram::from_toml(DEMO_TOML, "demo-planogram.toml", Some(&catalog))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p, Planogram::demo());
        assert_eq!(p.cameras.len(), 1);
        let camera = &p.cameras[0];
        assert_eq!(
            (camera.id.as_str(), camera.width, camera.height),
            ("shelf-cam-1", 1280, 720)
        );
        assert_eq!(p.camera_index("shelf-cam-1"), Some(0));
        assert_eq!(p.camera_index("nope"), None);

        let slots = p.slots(Some(&catalog));
        assert_eq!(slots.len(), 24);
        let skus: Vec<&str> = catalog.products[..24]
            .iter()
            .map(|p| p.sku.as_str())
            .collect();
        for (i, s) in slots.iter().enumerate() {
            assert_eq!(s.sku, skus[i], "{}", s.id);
            assert_eq!(s.camera, 0);
            assert_eq!(s.scale, Some(("shelf-scale-1".to_string(), i as u32)));
            assert!((2..=4).contains(&s.facings), "{}", s.id);
            assert_eq!(s.capacity % s.facings, 0, "{}", s.id);
            assert!((2..=4).contains(&(s.capacity / s.facings)), "{}", s.id);
            let quarter = s.capacity as f64 / 4.0;
            assert!((s.low_stock as f64 - quarter).abs() <= 1.0, "{}", s.id);
            let [_, y0, _, y1] = s.quad.bounds();
            assert!(y0 >= 58.0 && y1 <= 662.0, "{}", s.id);
            let grams = catalog.products[i].attributes["unit_weight_g"].as_f64();
            assert_eq!(s.unit_grams, grams, "{}", s.id);
        }
        // Four shelves: the rows start at 58 and end at 662.
        let mut tops: Vec<u32> = slots.iter().map(|s| s.quad.bounds()[1] as u32).collect();
        tops.dedup();
        assert_eq!(tops.len(), 4);
        assert_eq!(slots[23].quad.bounds()[3], 662.0);
    }

    #[test]
    fn slots_carry_their_products_pack_when_the_catalog_describes_it_fully() {
        let mut catalog = demo_catalog();
        let p = Planogram::demo();
        let first = p.slots(Some(&catalog))[0].pack.clone().expect("demo packs");
        let json = &catalog.products[0].attributes["pack"];
        assert_eq!(json["shape"].as_str(), Some(first.shape.as_str()));
        assert_eq!(json["primary"][0].as_u64(), Some(first.primary[0] as u64));
        let broken = [
            serde_json::json!({"shape": "crate", "primary": [1, 2, 3], "secondary": [4, 5, 6]}),
            serde_json::json!({"shape": "box", "primary": [1, 2, 300], "secondary": [4, 5, 6]}),
            serde_json::json!({"shape": "box", "primary": [1, 2], "secondary": [4, 5, 6]}),
            serde_json::json!({"shape": "box", "primary": "red", "secondary": [4, 5, 6]}),
            serde_json::json!({"primary": [1, 2, 3], "secondary": [4, 5, 6]}),
            serde_json::json!("box"),
        ];
        for pack in broken {
            catalog.products[0]
                .attributes
                .insert("pack".into(), pack.clone());
            assert_eq!(p.slots(Some(&catalog))[0].pack, None, "{pack}");
        }
        assert_eq!(p.slots(None)[0].pack, None);
    }

    #[test]
    fn every_planted_problem_is_reported_on_its_line() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/bad-planogram.toml"
        ));
        let text = std::fs::read_to_string(path).unwrap();
        let catalog = demo_catalog();
        let found = match Planogram::load(path, Some(&catalog)) {
            Err(PlanogramError::Invalid(p)) => p,
            other => panic!("{other:?}"),
        };
        let mut expected = 0;
        for (i, line) in text.lines().enumerate() {
            let Some((_, words)) = line.split_once("# <- ") else {
                continue;
            };
            expected += 1;
            assert!(
                found
                    .iter()
                    .any(|p| p.position.map(|(l, _)| l) == Some(i + 1) && p.message.contains(words)),
                "no problem {words:?} on line {}:\n{}",
                i + 1,
                found.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n")
            );
        }
        assert_eq!(
            found.len(),
            expected,
            "extra problems:\n{}",
            found
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
        // Each problem shows its line with a caret.
        let shown = found[0].to_string();
        assert!(
            shown.contains("bad-planogram.toml:4:11: version must not be empty"),
            "{shown}"
        );
        assert!(
            shown.contains("4 | version = \"\"") && shown.contains('^'),
            "{shown}"
        );
    }

    #[test]
    fn without_a_catalog_skus_are_not_checked() {
        let text = one_camera(&slot(
            "A",
            "rect = [0, 0, 100, 100]",
            "scale = \"s\"\nchannel = 1",
        ))
        .replace("SKU01378", "SKU-UNKNOWN");
        let p = Planogram::from_toml(&text, "p.toml", None).unwrap_or_else(|e| panic!("{e}"));
        let slots = p.slots(None);
        assert_eq!(slots[0].unit_grams, None);
        assert_eq!(slots[0].low_stock, 1, "a quarter of 4, rounded up");
        assert!(problems(&text, Some(&demo_catalog()))[0]
            .message
            .contains("\"SKU-UNKNOWN\" is not in the catalog"));
    }

    #[test]
    fn a_slot_on_a_scale_needs_a_unit_weight() {
        let mut catalog = demo_catalog();
        catalog.products[0].attributes.remove("unit_weight_g");
        let text = one_camera(&slot(
            "A",
            "rect = [0, 0, 100, 100]",
            "scale = \"s\"\nchannel = 1",
        ));
        let p = problems(&text, Some(&catalog));
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(p[0].message.contains("unit weight"), "{}", p[0].message);
        assert_eq!(p[0].position, Some((6, 1)), "points at the slot");
        // The slot's own weight is enough, and it wins over the catalog's.
        let text = text.replace("channel = 1", "channel = 1\nunit_weight_g = 12.5");
        let p = Planogram::from_toml(&text, "p.toml", Some(&catalog)).unwrap();
        assert_eq!(p.slots(Some(&catalog))[0].unit_grams, Some(12.5));
        // Off the scale, no weight is needed.
        let text = one_camera(&slot("A", "rect = [0, 0, 100, 100]", ""));
        assert!(Planogram::from_toml(&text, "p.toml", Some(&catalog)).is_ok());
    }

    #[test]
    fn small_overlaps_are_tolerated_and_large_ones_reported() {
        // 100x100 squares: 1 px of overlap is 1%, 3 px is 3%.
        for (x, ok) in [(99, true), (97, false), (100, true)] {
            let text = one_camera(&format!(
                "{}{}",
                slot("A", "rect = [0, 0, 100, 100]", ""),
                slot("B", &format!("rect = [{x}, 0, 100, 100]"), "")
            ));
            let result = Planogram::from_toml(&text, "p.toml", None);
            assert_eq!(result.is_ok(), ok, "x = {x}: {result:?}");
        }
        // Tilted quads: a diamond inside a square overlaps it by half of the square.
        let text = one_camera(&format!(
            "{}{}",
            slot("A", "rect = [100, 100, 100, 100]", ""),
            slot(
                "B",
                "quad = [[150, 100], [200, 150], [150, 200], [100, 150]]",
                ""
            )
        ));
        let p = problems(&text, None);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(
            p[0].message.contains("overlaps slot \"A\" by 100%"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn overlap_is_the_shared_area() {
        let a = Quad::rect(0.0, 0.0, 100.0, 100.0).unwrap();
        let b = Quad::rect(50.0, 25.0, 100.0, 100.0).unwrap();
        assert!((overlap(&a, &b) - 50.0 * 75.0).abs() < 1e-6);
        assert!((overlap(&b, &a) - 50.0 * 75.0).abs() < 1e-6);
        let far = Quad::rect(300.0, 300.0, 10.0, 10.0).unwrap();
        assert_eq!(overlap(&a, &far), 0.0);
        let diamond = Quad::new([[50.0, 0.0], [100.0, 50.0], [50.0, 100.0], [0.0, 50.0]]).unwrap();
        assert!((overlap(&a, &diamond) - 5000.0).abs() < 1e-6);
    }

    #[test]
    fn a_malformed_entry_is_reported_once_not_again_as_missing() {
        let text = one_camera(
            &slot("A", "rect = [0, 0, 100, 100]", "").replace("sku = \"SKU01378\"", "sku = 7"),
        );
        let p = problems(&text, None);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(p[0].message.contains("invalid type"), "{}", p[0].message);
        assert_eq!(p[0].position, Some((8, 7)));

        // A channel of the wrong type is not also "a scale without a channel".
        let text = one_camera(&slot(
            "A",
            "rect = [0, 0, 100, 100]",
            "scale = \"s\"\nchannel = \"four\"",
        ));
        let p = problems(&text, None);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(p[0].message.contains("invalid type"), "{}", p[0].message);

        // A rect with a bad number in it is reported once, not also as too short.
        let text = one_camera(&slot("A", "rect = [0, \"x\", 100, 100]", ""));
        let p = problems(&text, None);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(p[0].message.contains("invalid type"), "{}", p[0].message);
        assert_eq!(p[0].position, Some((9, 12)));

        // A rect of the wrong shape is not also "no region".
        let text = one_camera(&slot("A", "rect = [0, 0, 100]", ""));
        let p = problems(&text, None);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(
            p[0].message.contains("invalid length 3"),
            "{}",
            p[0].message
        );

        // A missing required key is reported, and the rest of the file still checked.
        let text = one_camera(&format!(
            "{}{}",
            slot("A", "rect = [0, 0, 100, 100]", "").replace("capacity = 4\n", ""),
            slot("B", "rect = [200, 0, 100, 100]", "low_stock = 9")
        ));
        let p = problems(&text, None);
        assert_eq!(p.len(), 2, "{p:#?}");
        assert!(p[0].message.contains("missing field `capacity`"));
        assert_eq!(p[0].position, Some((6, 1)));
        assert!(p[1].message.contains("low_stock must be below"));
    }

    #[test]
    fn a_planogram_without_slots_is_refused() {
        let p = problems(
            "version = \"v\"\n[[cameras]]\nid = \"c\"\nwidth = 640\nheight = 480\n",
            None,
        );
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(p[0].message.contains("no slots"), "{}", p[0].message);
        assert_eq!(p[0].position.map(|(l, _)| l), Some(2));
    }

    #[test]
    fn an_empty_file_names_the_missing_version() {
        let p = problems("", None);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(
            p[0].message.contains("missing field `version`"),
            "{}",
            p[0].message
        );
        assert_eq!(p[0].position, Some((1, 1)));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let p = problems("version = \"v\"\n[[cameras]\nid = \"c\"\n", None);
        assert!(!p.is_empty());
        assert_eq!(p[0].position.map(|(l, _)| l), Some(2), "{p:#?}");
        assert!(p[0].message.starts_with("TOML syntax"));
    }

    #[test]
    fn non_utf8_and_missing_files_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, b"version = \"v\"\n[[cameras]]\nid = \"K\xf6ln\"\n").unwrap();
        match Planogram::load(&path, None) {
            Err(PlanogramError::Invalid(p)) => {
                assert_eq!(p.len(), 1);
                assert_eq!(p[0].position, Some((3, 8)));
                assert!(p[0].message.contains("UTF-8"));
            }
            other => panic!("{other:?}"),
        }
        let err = Planogram::load(&dir.path().join("nope.toml"), None).unwrap_err();
        assert!(matches!(err, PlanogramError::Unreadable { .. }));
        assert!(err.to_string().contains("planogram demo"), "{err}");
    }
}
