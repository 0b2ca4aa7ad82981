//! Frame to slot readings: crop every slot of a camera out of its frame, run slotnet on the
//! batch, hand the readings to the tracker. Timings per stage are kept for the benchmark and
//! `/metrics`.

use super::tracker::CameraObs;
use super::SlotSpec;
use edge_models::{SlotCrop, SlotNet};
use std::time::{Duration, Instant};

/// Why a frame was not read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameRejected {
    /// The frame's size is not the one the planogram's slots were drawn for.
    #[error("camera {camera}: frame is {got_w}x{got_h}, the planogram's slots are drawn for {want_w}x{want_h}; fix the camera's resolution in the config or redraw the slots")]
    WrongResolution {
        /// Camera id.
        camera: String,
        /// Frame width.
        got_w: u32,
        /// Frame height.
        got_h: u32,
        /// Planogram width.
        want_w: u32,
        /// Planogram height.
        want_h: u32,
    },
    /// The pixel buffer does not match the declared size.
    #[error("camera {camera}: corrupt frame ({reason})")]
    Corrupt {
        /// Camera id.
        camera: String,
        /// What was wrong.
        reason: String,
    },
    /// slotnet failed on the batch.
    #[error("camera {camera}: slotnet failed: {reason}")]
    Model {
        /// Camera id.
        camera: String,
        /// The model error.
        reason: String,
    },
}

/// Time spent per stage, summed since creation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimes {
    /// Frames read.
    pub frames: u64,
    /// Cropping and warping the slots.
    pub crop: Duration,
    /// slotnet.
    pub infer: Duration,
}

/// Reads the slots of one camera.
pub struct ShelfReader {
    camera: String,
    width: u32,
    height: u32,
    /// (index into the planogram's slot list, spec)
    slots: Vec<(usize, SlotSpec)>,
    times: StageTimes,
}

impl ShelfReader {
    /// A reader for camera `camera` (its index in the planogram) of frame size `width` x
    /// `height`; `slots` is the planogram's whole slot list.
    pub fn new(
        camera_id: &str,
        camera: usize,
        width: u32,
        height: u32,
        slots: &[SlotSpec],
    ) -> ShelfReader {
        ShelfReader {
            camera: camera_id.to_string(),
            width,
            height,
            slots: slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.camera == camera)
                .map(|(i, s)| (i, s.clone()))
                .collect(),
            times: StageTimes::default(),
        }
    }

    /// The readings of every slot of this camera in the frame: (slot index, reading).
    pub fn read(
        &mut self,
        model: &SlotNet,
        width: u32,
        height: u32,
        rgb: &[u8],
    ) -> Result<Vec<(usize, CameraObs)>, FrameRejected> {
        if (width, height) != (self.width, self.height) {
            return Err(FrameRejected::WrongResolution {
                camera: self.camera.clone(),
                got_w: width,
                got_h: height,
                want_w: self.width,
                want_h: self.height,
            });
        }
        let started = Instant::now();
        let crops = self
            .slots
            .iter()
            .map(|(_, s)| {
                SlotCrop::from_quad(width, height, rgb, &s.quad).map(|c| {
                    let facings = s.facings.max(1);
                    let c = c.with_layout(facings, s.capacity.div_ceil(facings));
                    match &s.pack {
                        Some(pack) => c.with_product(pack),
                        None => c,
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| FrameRejected::Corrupt {
                camera: self.camera.clone(),
                reason,
            })?;
        let cropped = Instant::now();
        let readings = model.infer(&crops).map_err(|e| FrameRejected::Model {
            camera: self.camera.clone(),
            reason: e.to_string(),
        })?;
        self.times.frames += 1;
        self.times.crop += cropped - started;
        self.times.infer += cropped.elapsed();
        Ok(self
            .slots
            .iter()
            .zip(readings)
            .map(|((i, _), r)| {
                (
                    *i,
                    CameraObs {
                        fill: r.fill,
                        occluded: r.occluded,
                        wrong: r.wrong_product,
                        absent: r.absent,
                    },
                )
            })
            .collect())
    }

    /// Stage times so far.
    pub fn times(&self) -> StageTimes {
        self.times
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edge_models::{Manifest, Quad};

    fn slotnet() -> SlotNet {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/manifest.toml");
        SlotNet::load(&Manifest::load(&path).expect("manifest"), 24).expect("slotnet")
    }

    fn spec(id: &str, camera: usize, x: f32) -> SlotSpec {
        SlotSpec {
            id: id.into(),
            camera,
            quad: Quad::rect(x, 10.0, 100.0, 80.0).unwrap(),
            sku: "SKU".into(),
            facings: 2,
            capacity: 6,
            unit_grams: None,
            scale: None,
            low_stock: 1,
            pack: None,
        }
    }

    #[test]
    fn reads_its_cameras_slots_and_refuses_bad_frames() {
        let model = slotnet();
        let slots = vec![spec("a", 0, 0.0), spec("b", 1, 0.0), spec("c", 0, 150.0)];
        let mut reader = ShelfReader::new("cam", 0, 320, 120, &slots);
        let frame = vec![90u8; 320 * 120 * 3];
        let readings = reader.read(&model, 320, 120, &frame).unwrap();
        let ids: Vec<usize> = readings.iter().map(|(i, _)| *i).collect();
        assert_eq!(ids, vec![0, 2], "only camera 0's slots, by planogram index");
        assert!(readings.iter().all(|(_, r)| (0.0..=1.0).contains(&r.fill)));
        assert_eq!(reader.times().frames, 1);

        // A frame of another resolution, and a buffer that does not match its size.
        let err = reader
            .read(&model, 640, 360, &vec![0u8; 640 * 360 * 3])
            .unwrap_err();
        assert!(
            matches!(err, FrameRejected::WrongResolution { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("640x360"), "{err}");
        let err = reader.read(&model, 320, 120, &frame[..1000]).unwrap_err();
        assert!(matches!(err, FrameRejected::Corrupt { .. }), "{err}");
        assert_eq!(
            reader.times().frames,
            1,
            "refused frames are not counted as read"
        );
    }
}
