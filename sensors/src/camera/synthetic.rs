//! `SyntheticSource`: frames drawn by a render closure, for the store simulator's shelf renderer
//! and for tests; [`test_pattern`] is a built-in renderer of coloured blocks.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::error::{panic_message, CameraError, CorruptFrame};
use super::frame::{Frame, FrameFormat};
use super::stop::StopSignal;
use super::FrameSource;

/// Draws frame number `seq` captured at the given time.
pub type RenderFn = Box<dyn FnMut(u64, SystemTime) -> Frame + Send>;

/// A camera whose pictures come from a render closure, paced to `fps` if given.
pub struct SyntheticSource {
    id: String,
    fps: Option<f32>,
    render: RenderFn,
    stop: StopSignal,
    next_due: Option<Instant>,
    seq: u64,
}

impl SyntheticSource {
    /// A camera `id` drawing with `render`; `fps` `None` renders as fast as frames are asked for.
    pub fn new(id: impl Into<String>, fps: Option<f32>, render: RenderFn) -> Self {
        Self {
            id: id.into(),
            fps,
            render,
            stop: StopSignal::new(),
            next_due: None,
            seq: 0,
        }
    }

    fn period(&self) -> Option<Duration> {
        self.fps
            .filter(|f| f.is_finite() && *f > 0.0)
            .map(|f| Duration::from_secs_f32(1.0 / f))
    }
}

impl FrameSource for SyntheticSource {
    fn id(&self) -> &str {
        &self.id
    }

    fn open(&mut self) -> Result<FrameFormat, CameraError> {
        if self.fps.is_some() && self.period().is_none() {
            return Err(CameraError::Config {
                camera: self.id.clone(),
                reason: format!("frame rate {:?} is not a positive number", self.fps),
            });
        }
        self.next_due = None;
        Ok(FrameFormat {
            size: None,
            fps: self.fps,
            pixel_format: None,
        })
    }

    fn next_frame(&mut self) -> Result<Frame, CameraError> {
        if let Some(period) = self.period() {
            let now = Instant::now();
            let due = self.next_due.unwrap_or(now);
            if self.stop.sleep_until(due) {
                return Err(CameraError::Stopped);
            }
            // Late frames are not caught up in a burst: the next one is a period from now.
            self.next_due = Some((due + period).max(Instant::now()));
        }
        let seq = self.seq;
        self.seq += 1;
        let captured = SystemTime::now();
        let render = &mut self.render;
        let mut frame = catch_unwind(AssertUnwindSafe(|| render(seq, captured))).map_err(|p| {
            CameraError::corrupt(&self.id, CorruptFrame::Panicked(panic_message(p.as_ref())))
        })?;
        frame.seq = seq;
        frame.captured = captured;
        frame
            .check()
            .map_err(|reason| CameraError::corrupt(&self.id, reason))?;
        Ok(frame)
    }

    fn close(&mut self) {
        self.next_due = None;
    }

    fn set_stop_signal(&mut self, stop: StopSignal) {
        self.stop = stop;
    }
}

/// Background of [`test_pattern`] frames.
pub const TEST_PATTERN_BACKGROUND: [u8; 3] = [96, 96, 96];

/// Colour of block `i` in [`test_pattern`] frames.
pub fn test_pattern_colour(i: u32) -> [u8; 3] {
    const PALETTE: [[u8; 3]; 8] = [
        [220, 40, 40],
        [40, 180, 60],
        [40, 80, 220],
        [240, 200, 30],
        [200, 60, 200],
        [30, 200, 210],
        [250, 140, 20],
        [240, 240, 240],
    ];
    PALETTE[i as usize % PALETTE.len()]
}

/// Where block `i` of `blocks` sits in a `width` x `height` test pattern: (x, y, w, h). Blocks
/// fill a grid of up to 6 columns, each inset by an eighth of its cell.
pub fn test_pattern_block(width: u32, height: u32, blocks: u32, i: u32) -> (u32, u32, u32, u32) {
    let cols = blocks.clamp(1, 6);
    let rows = blocks.max(1).div_ceil(cols);
    let (cw, ch) = (width / cols, height / rows);
    let (mx, my) = (cw / 8, ch / 8);
    let (c, r) = (i % cols, i / cols);
    (
        c * cw + mx,
        r * ch + my,
        cw.saturating_sub(2 * mx),
        ch.saturating_sub(2 * my),
    )
}

/// A renderer of `blocks` coloured blocks on grey (a stand-in for products on a shelf); the same
/// picture every frame.
pub fn test_pattern(width: u32, height: u32, blocks: u32) -> RenderFn {
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    for px in pixels.chunks_exact_mut(3) {
        px.copy_from_slice(&TEST_PATTERN_BACKGROUND);
    }
    for i in 0..blocks {
        let (x0, y0, w, h) = test_pattern_block(width, height, blocks, i);
        let colour = test_pattern_colour(i);
        for y in y0..y0 + h {
            let row = (y as usize * width as usize + x0 as usize) * 3;
            for px in pixels[row..row + w as usize * 3].chunks_exact_mut(3) {
                px.copy_from_slice(&colour);
            }
        }
    }
    let pixels: Arc<[u8]> = pixels.into();
    Box::new(move |seq, captured| Frame {
        width,
        height,
        pixels: Arc::clone(&pixels),
        captured,
        seq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_pattern_draws_the_blocks_it_is_asked_for() {
        let mut s = SyntheticSource::new("synthetic", None, test_pattern(120, 60, 4));
        s.open().unwrap();
        let f = s.next_frame().unwrap();
        assert_eq!((f.width, f.height, f.seq), (120, 60, 0));
        for i in 0..4 {
            let (x, y, w, h) = test_pattern_block(120, 60, 4, i);
            assert_eq!(f.pixel(x + w / 2, y + h / 2), Some(test_pattern_colour(i)));
        }
        assert_eq!(f.pixel(0, 0), Some(TEST_PATTERN_BACKGROUND));
        assert_eq!(s.next_frame().unwrap().seq, 1);
    }

    #[test]
    fn a_bad_or_panicking_renderer_is_a_corrupt_frame() {
        let mut s = SyntheticSource::new(
            "bad",
            None,
            Box::new(|seq, captured| {
                if seq == 1 {
                    panic!("renderer bug");
                }
                Frame {
                    width: 4,
                    height: 4,
                    pixels: vec![0; 5].into(),
                    captured,
                    seq,
                }
            }),
        );
        s.open().unwrap();
        let e = s.next_frame().unwrap_err();
        assert!(e.is_corrupt_frame(), "{e}");
        let e = s.next_frame().unwrap_err();
        assert!(e.to_string().contains("renderer bug"), "{e}");
    }

    #[test]
    fn a_nonsense_frame_rate_is_a_config_error() {
        let mut s = SyntheticSource::new("s", Some(0.0), test_pattern(8, 8, 1));
        assert!(matches!(s.open(), Err(CameraError::Config { .. })));
    }
}
