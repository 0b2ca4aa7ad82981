//! Cameras: frame sources (a snapshot file a network camera overwrites, a folder a camera drops
//! snapshots into, a synthetic renderer, V4L2 devices with the `camera` feature) and the capture
//! thread that runs one of them, keeps its health and hands out the newest frame.
//!
//! Sources are blocking objects with no policy of their own; [`CaptureThread`] decides what a
//! failure means: offline (reopen with backoff), corrupt frame (count and skip), timeout
//! (offline until frames return). A camera that is not delivering is `offline` and hands out
//! nothing, so a camera that is gone never looks like an empty shelf.

mod capture;
mod decode;
mod error;
mod file;
mod folder;
mod frame;
mod stop;
mod synthetic;
mod v4l;

use std::path::Path;
use std::time::{Duration, Instant};

pub use capture::{
    detached_capture_threads, CameraCounters, CameraHealth, CaptureSettings, CaptureThread,
    NoFrame, StopReport,
};
pub use decode::{
    decode_frame, read_header, DecodeLimits, ImageHeader, ImageKind, DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_SIDE,
};
pub use error::{CameraError, CorruptFrame};
pub use file::{ImageFileSource, PollSettings};
pub use folder::FolderSource;
pub use frame::{Frame, FrameFormat, PixelFormat, SAVE_JPEG_QUALITY};
pub use stop::StopSignal;
pub use synthetic::{
    test_pattern, test_pattern_block, test_pattern_colour, RenderFn, SyntheticSource,
    TEST_PATTERN_BACKGROUND,
};
pub use v4l::{
    list_cameras, video_index, yuyv_to_rgb, CameraInfo, CameraSettings, V4lSource, NOT_COMPILED,
};

/// One camera: opened, read frame by frame, closed. Calls block, so a source runs on its own
/// thread (see [`CaptureThread`]); it decides nothing about retries or health.
pub trait FrameSource: Send {
    /// The camera's id, for health reports and logs.
    fn id(&self) -> &str;

    /// Opens (or reopens) the camera; `Offline` if it cannot be reached.
    fn open(&mut self) -> Result<FrameFormat, CameraError>;

    /// Blocks until the next frame. `Corrupt` for one bad frame (the next call goes on),
    /// `Offline` when the camera is lost, `Timeout` when nothing new came within the source's
    /// wait, `Stopped` when the stop signal cut a wait short.
    fn next_frame(&mut self) -> Result<Frame, CameraError>;

    /// Releases the camera; also called on a source whose open failed.
    fn close(&mut self);

    /// Gives the source a signal to end its own waits early when its thread is stopped.
    /// Sources that never wait between frames can ignore it.
    fn set_stop_signal(&mut self, _stop: StopSignal) {}
}

/// Opens `source`, returns its first good frame (skipping corrupt ones) and closes it, all on
/// the calling thread. Waits inside the crate's sources end at `timeout`; a source stuck in a
/// blocking device call (V4L2) can hold this longer: use [`snapshot_bounded`] where that matters.
pub fn snapshot(source: &mut dyn FrameSource, timeout: Duration) -> Result<Frame, CameraError> {
    let deadline = Instant::now() + timeout;
    let stop = StopSignal::new();
    source.set_stop_signal(stop.clone());
    let timer_stop = stop.clone();
    // Cuts the source's waits short at the deadline; ends as soon as `stop` is raised.
    let timer = std::thread::Builder::new()
        .name("camera snapshot timer".into())
        .spawn(move || {
            timer_stop.sleep_until(deadline);
            timer_stop.stop();
        })
        .map_err(|e| CameraError::Spawn {
            camera: source.id().to_owned(),
            source: e,
        })?;
    let result = first_frame(source, deadline);
    source.close();
    stop.stop();
    let _ = timer.join();
    source.set_stop_signal(StopSignal::new());
    result
}

fn first_frame(source: &mut dyn FrameSource, deadline: Instant) -> Result<Frame, CameraError> {
    let started = Instant::now();
    source.open()?;
    let mut last_corrupt = None;
    while Instant::now() < deadline {
        match source.next_frame() {
            Ok(frame) => return Ok(frame),
            Err(e @ CameraError::Corrupt { .. }) => last_corrupt = Some(e),
            Err(CameraError::Stopped) => break,
            Err(e) => return Err(e),
        }
    }
    Err(last_corrupt.unwrap_or_else(|| CameraError::Timeout {
        camera: source.id().to_owned(),
        waited: started.elapsed(),
    }))
}

/// Like [`snapshot`] but on a [`CaptureThread`], so it returns within about `timeout` even if
/// the source blocks forever (the stuck thread is then left detached).
pub fn snapshot_bounded(
    source: Box<dyn FrameSource>,
    timeout: Duration,
) -> Result<Frame, CameraError> {
    let camera = source.id().to_owned();
    let settings = CaptureSettings {
        frame_timeout: timeout,
        backoff_min: Duration::from_millis(200),
        backoff_max: Duration::from_secs(1),
        stop_timeout: Duration::from_millis(500),
    };
    let thread = CaptureThread::spawn(source, settings)?;
    let got = thread.recv_timeout(timeout);
    let health = thread.health();
    thread.stop();
    got.map_err(|no| match no {
        NoFrame::Offline(reason) => CameraError::Offline { camera, reason },
        NoFrame::Timeout | NoFrame::Ended => match health.last_error {
            Some(reason) if health.counters.corrupt > 0 => CameraError::Offline {
                camera,
                reason: format!("no good frame: {reason}"),
            },
            _ => CameraError::Timeout {
                camera,
                waited: timeout,
            },
        },
    })
}

/// A source for a camera named on a command line: `/dev/videoN` (or a `/dev/v4l/...` link) is a
/// V4L2 camera with default [`CameraSettings`], a folder is a [`FolderSource`], anything else a
/// snapshot file ([`ImageFileSource`]); file and folder are polled with `poll`.
pub fn source_for(camera: &str, poll: PollSettings) -> Result<Box<dyn FrameSource>, CameraError> {
    let path = Path::new(camera);
    if camera.starts_with("/dev/video") || camera.starts_with("/dev/v4l/") {
        return Ok(Box::new(V4lSource::new(
            camera,
            CameraSettings::new(camera),
        )?));
    }
    if path.is_dir() {
        return Ok(Box::new(FolderSource::new(camera, path, poll)));
    }
    Ok(Box::new(ImageFileSource::new(camera, path, poll)))
}
