//! Shelf stock: from camera frames and shelf weights to "how many units of each product are on
//! the shelf right now, and how sure are we", and the events store staff act on.
//!
//! - [`planogram`]: the planogram file (cameras, slots, SKUs, capacities, scale channels), its
//!   validation, and the resolved [`SlotSpec`]s everything else works from.
//! - [`tracker`]: the per-slot tracker: camera and weight fusion, smoothing, staleness,
//!   events with hysteresis and dwell, sales from depletion. Pure logic, driven by readings
//!   and the time they were taken.
//! - [`service`]: the stock thread's shared publishing (events, snapshots, memory, sales,
//!   metrics, the HTTP view) and the simulated stage of the demo.
//! - [`live`]: the live stage on the configured cameras, scales and scanners.
//! - [`sales`]: daily sales per product, from depletion and from checkout scans.

pub mod eval;
pub mod live;
pub mod pipeline;
pub mod planogram;
pub mod sales;
pub mod service;
pub mod tracker;
pub mod update;

use edge_models::Quad;

/// One planogram slot, validated and resolved: what the tracker and the cropper work from.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotSpec {
    /// Slot id, unique in the planogram.
    pub id: String,
    /// Index of the camera in the planogram's camera list.
    pub camera: usize,
    /// The slot's region in that camera's frame.
    pub quad: Quad,
    /// The product the planogram puts here.
    pub sku: String,
    /// Columns of units side by side.
    pub facings: u32,
    /// Units the slot holds when full.
    pub capacity: u32,
    /// Grams per unit, when known (from the slot or the catalog).
    pub unit_grams: Option<f64>,
    /// Scale device id and channel under the slot, if any.
    pub scale: Option<(String, u32)>,
    /// At or below this many units the slot is low on stock.
    pub low_stock: u32,
    /// The product's pack from the catalog (`attributes.pack`), which slotnet compares the
    /// slot's contents with; `None` when the catalog does not describe it.
    pub pack: Option<edge_models::ProductPack>,
}
