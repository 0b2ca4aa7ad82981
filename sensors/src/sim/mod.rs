//! Simulated store for the demo, the tests and `edge-runtime eval stock`: shelves whose slots
//! hold known amounts, a shelf renderer that draws them as a camera sees them, and simulated
//! scales and a scanner, all driven by one simulated clock so that ground truth is known.
//!
//! - [`render`]: draws a camera frame from the slots' contents and the occluders in front of
//!   them (a Rust port of `models/train/shelf_render.py`, the renderer slotnet was trained on).
//! - [`store`]: the store simulator: shoppers take products by popularity, staff restock,
//!   shoppers stand in front of the camera and put products back in the wrong slot.
//! - [`devices`]: simulated scales (load-cell lines) and a barcode scanner fed by the store.
//!
//! The types here are shared by all three.

pub mod devices;
pub mod render;
pub mod store;

/// Pack shape of a product, as the catalog's `attributes.pack.shape` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PackShape {
    /// Cereal box, tea box.
    Box,
    /// Crisps, coffee beans.
    Bag,
    /// Drinks, oil.
    Bottle,
    /// Tins and drink cans.
    Can,
    /// Jam, sauces.
    Jar,
}

impl PackShape {
    /// Parses the catalog's name ("box", "bag", "bottle", "can", "jar").
    pub fn parse(name: &str) -> Option<PackShape> {
        Some(match name {
            "box" => PackShape::Box,
            "bag" => PackShape::Bag,
            "bottle" => PackShape::Bottle,
            "can" => PackShape::Can,
            "jar" => PackShape::Jar,
            _ => return None,
        })
    }
}

/// How one product looks: its pack shape and colours (the catalog's `attributes.pack`). The
/// label design is derived deterministically from `sku`.
#[derive(Debug, Clone, PartialEq)]
pub struct PackLook {
    /// The product's SKU; seeds the label design.
    pub sku: String,
    /// Pack shape.
    pub shape: PackShape,
    /// Main pack colour, RGB.
    pub primary: [u8; 3],
    /// Label band colour, RGB.
    pub secondary: [u8; 3],
}

/// A point in frame pixels (x right, y down).
pub type Point = [f32; 2];

/// One planogram slot as the simulator knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSlot {
    /// Slot id, unique in the store (the planogram's slot id).
    pub id: String,
    /// Index of the camera that sees the slot (into the store's camera list).
    pub camera: usize,
    /// The slot's nominal quad in that camera's frame: top-left, top-right, bottom-right,
    /// bottom-left (the region the runtime crops, as in the planogram).
    pub quad: [Point; 4],
    /// The product the planogram puts here.
    pub look: PackLook,
    /// Columns of units side by side.
    pub facings: u32,
    /// Units one behind the other in each column.
    pub depth: u32,
    /// Grams per unit.
    pub unit_grams: f64,
    /// Scale channel under the slot, if the shelf has load cells.
    pub scale_channel: Option<u32>,
    /// Relative demand (the catalog's `attributes.popularity`).
    pub popularity: f64,
}

impl SimSlot {
    /// Units the slot holds when full.
    pub fn capacity(&self) -> u32 {
        self.facings * self.depth
    }
}

/// What one slot holds at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SlotContent {
    /// Units of the slot's own product.
    pub units: u32,
    /// Units of other products put back here by shoppers: indices of the slots whose product
    /// they are (into the store's slot list).
    pub foreign: Vec<usize>,
}

/// What stands between a camera and its shelf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OccluderKind {
    /// A hand and arm reaching into a slot.
    Hand,
    /// A shopper's body standing in front of the shelf.
    Shopper,
    /// A shopping cart.
    Cart,
    /// Glare on the lens or packaging.
    Glare,
}

/// One occluder in a camera's view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Occluder {
    /// What it is.
    pub kind: OccluderKind,
    /// Camera index.
    pub camera: usize,
    /// Centre of what it covers, frame pixels.
    pub centre: Point,
    /// Radius or half-size, frame pixels.
    pub size: f32,
    /// Seeds its look (skin tone, clothing, angle), so one occluder looks the same every frame.
    pub seed: u64,
}

/// The simulator's random numbers: SplitMix64, small and fast, deterministic per seed on every
/// target. Not for anything secret.
#[derive(Debug, Clone)]
pub struct SimRng {
    state: u64,
}

impl SimRng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> SimRng {
        SimRng {
            state: seed ^ 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// A generator from several seed parts (e.g. `[scenario, slot, frame]`), independent of
    /// the draws made by any other generator.
    pub fn from_parts(parts: &[u64]) -> SimRng {
        let mut rng = SimRng::new(0x5EED);
        for part in parts {
            rng.state ^= part.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            rng.next_u64();
        }
        rng
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in [0, n); 0 when n is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            ((self.next_u64() as u128 * n as u128) >> 64) as u64
        }
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Exponential with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_roughly_uniform() {
        let mut a = SimRng::from_parts(&[1, 2, 3]);
        let mut b = SimRng::from_parts(&[1, 2, 3]);
        let mut c = SimRng::from_parts(&[1, 2, 4]);
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(a.next_u64(), c.next_u64());
        let n = 100_000;
        let mean = (0..n).map(|_| a.unit()).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
        let normal_mean = (0..n).map(|_| a.normal()).sum::<f64>() / n as f64;
        assert!(normal_mean.abs() < 0.02, "normal mean {normal_mean}");
        assert!((0..1000).all(|_| a.below(7) < 7));
    }
}
