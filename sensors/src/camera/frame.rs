//! A decoded camera frame (RGB8, row-major) and what a source says about its frames when opened.

use std::fmt;
use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use image::codecs::jpeg::JpegEncoder;
use image::ExtendedColorType;

use super::error::{CameraError, CorruptFrame};

/// JPEG quality of [`Frame::save_jpeg`]: shelf detail stays readable at about 1/10 of the size.
pub const SAVE_JPEG_QUALITY: u8 = 90;

/// One picture of the shelf: RGB8 pixels, when it was captured and its number from the source.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes, row-major, R G B; shared so a frame can be handed on cheaply.
    pub pixels: Arc<[u8]>,
    /// When the picture was taken (a snapshot file's modification time, a live camera's
    /// dequeue time).
    pub captured: SystemTime,
    /// The source's frame number, counting from 0; gaps are frames skipped or dropped.
    pub seq: u64,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.pixels.len())
            .field("captured", &self.captured)
            .field("seq", &self.seq)
            .finish()
    }
}

impl Frame {
    /// A frame from RGB8 bytes, checked to be exactly `width * height * 3` long.
    pub fn from_rgb(
        width: u32,
        height: u32,
        pixels: Vec<u8>,
        captured: SystemTime,
        seq: u64,
    ) -> Result<Frame, CorruptFrame> {
        let frame = Frame {
            width,
            height,
            pixels: pixels.into(),
            captured,
            seq,
        };
        frame.check()?;
        Ok(frame)
    }

    /// Checks that the size is non-zero and the pixel buffer matches it.
    pub fn check(&self) -> Result<(), CorruptFrame> {
        let expected = u64::from(self.width) * u64::from(self.height) * 3;
        let got = self.pixels.len() as u64;
        if expected == 0 || expected != got {
            return Err(CorruptFrame::WrongSize {
                width: self.width,
                height: self.height,
                expected,
                got,
            });
        }
        Ok(())
    }

    /// The RGB value at (`x`, `y`), if inside the frame.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        let p = self.pixels.get(i..i + 3)?;
        Some([p[0], p[1], p[2]])
    }

    /// The frame as JPEG bytes at `quality` (1..=100).
    pub fn encode_jpeg(&self, quality: u8) -> Result<Vec<u8>, CorruptFrame> {
        self.check()?;
        let mut out = Vec::with_capacity(self.pixels.len() / 8);
        JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
            .encode(
                &self.pixels,
                self.width,
                self.height,
                ExtendedColorType::Rgb8,
            )
            .map_err(|e| CorruptFrame::Decode(format!("JPEG encoding: {e}")))?;
        Ok(out)
    }

    /// Writes the frame as a JPEG to `path` atomically: a hidden `.tmp` file beside it (which a
    /// [`FolderSource`](super::FolderSource) watching that folder ignores), synced, then renamed
    /// over `path`, so a reader never sees half a file.
    pub fn save_jpeg(&self, path: &Path) -> Result<(), CameraError> {
        let fail = |reason: String| CameraError::Save {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = self
            .encode_jpeg(SAVE_JPEG_QUALITY)
            .map_err(|e| fail(e.to_string()))?;
        let name = path
            .file_name()
            .ok_or_else(|| fail("no file name".to_owned()))?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let written = File::create(&tmp).and_then(|mut f| {
            f.write_all(&bytes)?;
            f.sync_all()
        });
        if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
            let _ = fs::remove_file(&tmp);
            return Err(fail(e.to_string()));
        }
        // Make the rename itself durable; a failure here leaves a complete file, so not fatal.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// Pixel encoding a V4L2 camera is asked to deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PixelFormat {
    /// Motion JPEG: small over USB, decoded here (guarded like snapshot files).
    #[default]
    Mjpeg,
    /// YUYV 4:2:2: no decoding, but 2 bytes a pixel over USB.
    Yuyv,
}

/// What a source knows about its frames once opened.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FrameFormat {
    /// Frame size, when known before the first frame (an empty folder does not know it yet).
    pub size: Option<(u32, u32)>,
    /// Frames per second the source paces itself to, if it does.
    pub fps: Option<f32>,
    /// Pixel encoding on the wire, for V4L2 cameras.
    pub pixel_format: Option<PixelFormat>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_rgb_checks_the_buffer_length() {
        let now = SystemTime::now();
        assert!(Frame::from_rgb(2, 2, vec![0; 12], now, 0).is_ok());
        assert!(matches!(
            Frame::from_rgb(2, 2, vec![0; 11], now, 0),
            Err(CorruptFrame::WrongSize {
                expected: 12,
                got: 11,
                ..
            })
        ));
        assert!(Frame::from_rgb(0, 0, vec![], now, 0).is_err());
    }

    #[test]
    fn pixel_reads_inside_and_refuses_outside() {
        let f = Frame::from_rgb(2, 1, vec![1, 2, 3, 4, 5, 6], SystemTime::now(), 0).unwrap();
        assert_eq!(f.pixel(1, 0), Some([4, 5, 6]));
        assert_eq!(f.pixel(2, 0), None);
        assert_eq!(f.pixel(0, 1), None);
    }
}
