//! V4L2 cameras (USB webcams, CSI cameras with a V4L2 driver) through `nokhwa`, compiled in with
//! the `camera` cargo feature. Without it a V4L2 camera is refused with
//! [`CameraError::NotCompiled`] and [`list_cameras`] still lists `/dev/video*` so an operator can
//! see what is plugged in.
//!
//! nokhwa's `frame()` can block forever on a wedged device; the [`CaptureThread`] running the
//! source detaches a stuck thread instead of waiting on it. MJPEG is decoded here with the same
//! guarded decoder as snapshot files (size checked, panics caught), not by nokhwa.
//!
//! [`CaptureThread`]: super::CaptureThread

use std::path::Path;

use super::decode::DecodeLimits;
use super::error::{CameraError, CorruptFrame};
use super::frame::PixelFormat;

/// How to open a V4L2 camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraSettings {
    /// `/dev/videoN` (or just `N`); a udev symlink such as `/dev/v4l/by-id/...` is resolved.
    pub device: String,
    /// Requested width.
    pub width: u32,
    /// Requested height.
    pub height: u32,
    /// Requested frames per second.
    pub fps: u32,
    /// Encoding on the wire.
    pub pixel_format: PixelFormat,
    /// Bounds on decoded MJPEG frames.
    pub limits: DecodeLimits,
}

impl CameraSettings {
    /// 1280x720 MJPEG at 10 fps from `device`.
    pub fn new(device: impl Into<String>) -> Self {
        Self {
            device: device.into(),
            width: 1280,
            height: 720,
            fps: 10,
            pixel_format: PixelFormat::Mjpeg,
            limits: DecodeLimits::default(),
        }
    }
}

/// A camera found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraInfo {
    /// Device path to pass as [`CameraSettings::device`].
    pub id: String,
    /// Human-readable name, if the driver gives one.
    pub name: String,
    /// Whether this build can open it.
    pub supported: bool,
    /// Anything the operator should know (e.g. support not compiled in).
    pub note: Option<String>,
}

/// The message of [`CameraError::NotCompiled`], also used as a note in [`list_cameras`].
pub const NOT_COMPILED: &str =
    "this build has no V4L2 camera support; rebuild with --features camera";

/// The `N` of `/dev/videoN`, following symlinks; `N` alone is accepted too.
pub fn video_index(device: &str) -> Option<u32> {
    if let Ok(n) = device.parse() {
        return Some(n);
    }
    let path = std::fs::canonicalize(device).unwrap_or_else(|_| Path::new(device).to_path_buf());
    path.file_name()?
        .to_str()?
        .strip_prefix("video")?
        .parse()
        .ok()
}

/// `/dev/video*` nodes, sorted by number.
fn scan_dev_video() -> Vec<String> {
    let mut found: Vec<(u32, String)> = std::fs::read_dir("/dev")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = name.strip_prefix("video")?.parse().ok()?;
            Some((n, format!("/dev/{name}")))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, path)| path).collect()
}

/// YUYV 4:2:2 to RGB8 (BT.601, limited range), for cameras that send raw frames.
pub fn yuyv_to_rgb(yuyv: &[u8], width: u32, height: u32) -> Result<Vec<u8>, CorruptFrame> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels == 0 || width % 2 != 0 || yuyv.len() as u64 != pixels * 2 {
        return Err(CorruptFrame::WrongSize {
            width,
            height,
            expected: pixels * 2,
            got: yuyv.len() as u64,
        });
    }
    let mut rgb = Vec::with_capacity(pixels as usize * 3);
    let clamp = |v: i32| v.clamp(0, 255) as u8;
    for q in yuyv.chunks_exact(4) {
        let (u, v) = (i32::from(q[1]) - 128, i32::from(q[3]) - 128);
        for y in [q[0], q[2]] {
            let c = 298 * (i32::from(y) - 16);
            rgb.push(clamp((c + 409 * v + 128) >> 8));
            rgb.push(clamp((c - 100 * u - 208 * v + 128) >> 8));
            rgb.push(clamp((c + 516 * u + 128) >> 8));
        }
    }
    Ok(rgb)
}

#[cfg(not(feature = "camera"))]
mod imp {
    use super::*;
    use crate::camera::{Frame, FrameFormat, FrameSource};

    /// A V4L2 camera; this build has no V4L2 support, so none can be made.
    pub struct V4lSource {
        never: std::convert::Infallible,
    }

    impl V4lSource {
        /// Always [`CameraError::NotCompiled`] in this build.
        pub fn new(id: impl Into<String>, _settings: CameraSettings) -> Result<Self, CameraError> {
            Err(CameraError::NotCompiled { camera: id.into() })
        }
    }

    impl FrameSource for V4lSource {
        fn id(&self) -> &str {
            match self.never {}
        }
        fn open(&mut self) -> Result<FrameFormat, CameraError> {
            match self.never {}
        }
        fn next_frame(&mut self) -> Result<Frame, CameraError> {
            match self.never {}
        }
        fn close(&mut self) {
            match self.never {}
        }
    }

    /// The `/dev/video*` nodes, each marked unsupported by this build.
    pub fn list_cameras() -> Vec<CameraInfo> {
        scan_dev_video()
            .into_iter()
            .map(|id| CameraInfo {
                name: id.clone(),
                id,
                supported: false,
                note: Some(NOT_COMPILED.to_owned()),
            })
            .collect()
    }
}

#[cfg(feature = "camera")]
mod imp {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::time::SystemTime;

    use nokhwa::pixel_format::RgbFormat;
    use nokhwa::utils::{
        ApiBackend, CameraFormat, CameraIndex, FrameFormat as WireFormat, RequestedFormat,
        RequestedFormatType, Resolution,
    };
    use nokhwa::Camera;

    use super::*;
    use crate::camera::decode::decode_frame;
    use crate::camera::error::panic_message;
    use crate::camera::{Frame, FrameFormat, FrameSource};

    /// A V4L2 camera read through nokhwa.
    pub struct V4lSource {
        id: String,
        settings: CameraSettings,
        camera: Option<Camera>,
        seq: u64,
    }

    impl V4lSource {
        /// A camera `id` opened with `settings` (nothing is opened until [`FrameSource::open`]).
        pub fn new(id: impl Into<String>, settings: CameraSettings) -> Result<Self, CameraError> {
            let id = id.into();
            if settings.width == 0 || settings.height == 0 || settings.fps == 0 {
                return Err(CameraError::Config {
                    camera: id,
                    reason: "width, height and fps must be above 0".into(),
                });
            }
            Ok(Self {
                id,
                settings,
                camera: None,
                seq: 0,
            })
        }

        fn offline(&self, reason: impl std::fmt::Display) -> CameraError {
            CameraError::Offline {
                camera: self.id.clone(),
                reason: format!("{}: {reason}", self.settings.device),
            }
        }
    }

    impl FrameSource for V4lSource {
        fn id(&self) -> &str {
            &self.id
        }

        fn open(&mut self) -> Result<FrameFormat, CameraError> {
            self.close();
            let Some(index) = video_index(&self.settings.device) else {
                return Err(CameraError::Config {
                    camera: self.id.clone(),
                    reason: format!("{} is not a /dev/videoN device", self.settings.device),
                });
            };
            if !Path::new(&format!("/dev/video{index}")).exists() {
                return Err(self.offline("no such device"));
            }
            let wire = match self.settings.pixel_format {
                PixelFormat::Mjpeg => WireFormat::MJPEG,
                PixelFormat::Yuyv => WireFormat::YUYV,
            };
            let s = &self.settings;
            let format = CameraFormat::new(Resolution::new(s.width, s.height), wire, s.fps);
            let requested = RequestedFormat::new::<RgbFormat>(RequestedFormatType::Closest(format));
            // The driver's code may panic on odd devices; that is an offline camera, not a crash.
            let opened = catch_unwind(AssertUnwindSafe(|| {
                let mut camera = Camera::with_backend(
                    CameraIndex::Index(index),
                    requested,
                    ApiBackend::Video4Linux,
                )?;
                camera.open_stream()?;
                Ok::<_, nokhwa::NokhwaError>(camera)
            }));
            let camera = match opened {
                Ok(Ok(camera)) => camera,
                Ok(Err(e)) => return Err(self.offline(e)),
                Err(p) => {
                    return Err(
                        self.offline(format!("open panicked: {}", panic_message(p.as_ref())))
                    )
                }
            };
            let got = camera.camera_format();
            let pixel_format = match got.format() {
                WireFormat::MJPEG => PixelFormat::Mjpeg,
                WireFormat::YUYV => PixelFormat::Yuyv,
                other => {
                    return Err(CameraError::Config {
                        camera: self.id.clone(),
                        reason: format!("camera offers {other}, only MJPEG and YUYV are read"),
                    })
                }
            };
            let size = (got.resolution().width(), got.resolution().height());
            let fps = got.frame_rate() as f32;
            self.camera = Some(camera);
            Ok(FrameFormat {
                size: Some(size),
                fps: Some(fps),
                pixel_format: Some(pixel_format),
            })
        }

        fn next_frame(&mut self) -> Result<Frame, CameraError> {
            let Some(camera) = self.camera.as_mut() else {
                return Err(self.offline("not open"));
            };
            // May block for as long as the device does; the capture thread copes.
            let buffer = match camera.frame() {
                Ok(b) => b,
                Err(e) => return Err(self.offline(e)),
            };
            let captured = SystemTime::now();
            let seq = self.seq;
            self.seq += 1;
            let res = buffer.resolution();
            let frame = match buffer.source_frame_format() {
                WireFormat::MJPEG => {
                    decode_frame(buffer.buffer(), &self.settings.limits, captured, seq)
                }
                WireFormat::YUYV => yuyv_to_rgb(buffer.buffer(), res.width(), res.height())
                    .and_then(|rgb| Frame::from_rgb(res.width(), res.height(), rgb, captured, seq)),
                other => Err(CorruptFrame::Decode(format!("unexpected {other} frame"))),
            };
            frame.map_err(|reason| CameraError::corrupt(&self.id, reason))
        }

        fn close(&mut self) {
            if let Some(mut camera) = self.camera.take() {
                let _ = catch_unwind(AssertUnwindSafe(|| camera.stop_stream()));
            }
        }
    }

    /// The V4L2 cameras nokhwa finds, or the `/dev/video*` nodes if its query fails.
    pub fn list_cameras() -> Vec<CameraInfo> {
        let queried = catch_unwind(|| nokhwa::query(ApiBackend::Video4Linux));
        match queried {
            Ok(Ok(found)) => found
                .into_iter()
                .map(|info| CameraInfo {
                    id: match info.index() {
                        CameraIndex::Index(n) => format!("/dev/video{n}"),
                        CameraIndex::String(s) => s.clone(),
                    },
                    name: info.human_name(),
                    supported: true,
                    note: None,
                })
                .collect(),
            Ok(Err(e)) => fallback(format!("camera query failed: {e}")),
            Err(p) => fallback(format!(
                "camera query panicked: {}",
                panic_message(p.as_ref())
            )),
        }
    }

    fn fallback(note: String) -> Vec<CameraInfo> {
        scan_dev_video()
            .into_iter()
            .map(|id| CameraInfo {
                name: id.clone(),
                id,
                supported: true,
                note: Some(note.clone()),
            })
            .collect()
    }
}

pub use imp::{list_cameras, V4lSource};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuyv_grey_and_white_convert() {
        let rgb = yuyv_to_rgb(&[16, 128, 235, 128], 2, 1).unwrap();
        assert_eq!(rgb, vec![0, 0, 0, 255, 255, 255]);
        assert!(yuyv_to_rgb(&[0; 6], 2, 1).is_err());
        assert!(yuyv_to_rgb(&[0; 6], 3, 1).is_err());
    }

    #[test]
    fn video_index_reads_paths_and_numbers() {
        assert_eq!(video_index("2"), Some(2));
        assert_eq!(video_index("/dev/video7"), Some(7));
        assert_eq!(video_index("/dev/ttyUSB0"), None);
    }
}
