//! Why a camera gave no frame: the capture thread's policy (reconnect, count and skip, wait,
//! report) hangs on which of these it is.

use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

/// What a camera or a frame source can fail with.
#[derive(Debug, Error)]
pub enum CameraError {
    /// The camera cannot be reached (unplugged, snapshot file or folder missing): the capture
    /// thread marks it `offline` and reopens it with backoff.
    #[error("camera {camera} offline: {reason}")]
    Offline {
        /// Camera id.
        camera: String,
        /// What was tried and what failed.
        reason: String,
    },
    /// One frame was unusable: the capture thread counts it and takes the next one.
    #[error("corrupt frame from {origin}: {reason}")]
    Corrupt {
        /// Camera id, with the file name for file cameras.
        origin: String,
        /// What was wrong with it.
        reason: CorruptFrame,
    },
    /// The camera is reachable but gave no new frame within the wait: `offline` until one comes.
    #[error("camera {camera}: no new frame for {:.1}s", waited.as_secs_f64())]
    Timeout {
        /// Camera id.
        camera: String,
        /// How long it waited.
        waited: Duration,
    },
    /// The camera's settings are unusable; fixing them is an operator's job.
    #[error("camera {camera} configuration: {reason}")]
    Config {
        /// Camera id.
        camera: String,
        /// What is wrong.
        reason: String,
    },
    /// A V4L2 camera was asked for but this build has no V4L2 support.
    #[error(
        "camera {camera}: this build has no V4L2 camera support; rebuild with --features camera"
    )]
    NotCompiled {
        /// Camera id.
        camera: String,
    },
    /// The capture thread was asked to stop while the source waited.
    #[error("stop requested")]
    Stopped,
    /// A frame could not be written to disk.
    #[error("cannot save frame to {}: {reason}", path.display())]
    Save {
        /// Target path.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The capture thread could not be started.
    #[error("cannot start capture thread for camera {camera}: {source}")]
    Spawn {
        /// Camera id.
        camera: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl CameraError {
    /// A corrupt-frame error for `origin`.
    pub fn corrupt(origin: impl Into<String>, reason: CorruptFrame) -> Self {
        CameraError::Corrupt {
            origin: origin.into(),
            reason,
        }
    }

    /// True for a frame that should be counted and skipped (the camera itself is fine).
    pub fn is_corrupt_frame(&self) -> bool {
        matches!(self, CameraError::Corrupt { .. })
    }
}

/// Why one frame (one file, one buffer) was unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CorruptFrame {
    /// A zero-byte file or buffer.
    #[error("empty (0 bytes)")]
    Empty,
    /// More bytes than a snapshot may have.
    #[error("{len} bytes, above the {max}-byte limit: refused before reading")]
    FileTooLarge {
        /// Size of the file.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// Neither a JPEG nor a PNG signature.
    #[error("not a JPEG or PNG image")]
    NotAnImage,
    /// The header claims more pixels than allowed; nothing was decoded or allocated for it.
    #[error(
        "image header claims {width}x{height}, above the {max_width}x{max_height} limit: \
         refused before decoding"
    )]
    TooLarge {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// Largest width allowed.
        max_width: u32,
        /// Largest height allowed.
        max_height: u32,
    },
    /// The header could not be read.
    #[error("bad header: {0}")]
    BadHeader(String),
    /// The image ends early: cut off, or still being written.
    #[error("truncated: {0}")]
    Truncated(&'static str),
    /// The file changed while it was being read (overwritten in place by the camera).
    #[error("file changed while it was read")]
    ChangedWhileReading,
    /// The decoder rejected the data.
    #[error("decode failed: {0}")]
    Decode(String),
    /// The decoder (or a renderer) panicked; the panic was caught.
    #[error("decoder panicked: {0}")]
    Panicked(String),
    /// A raw buffer has the wrong number of bytes for its size.
    #[error("{got} bytes for {width}x{height}, expected {expected}")]
    WrongSize {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Bytes expected.
        expected: u64,
        /// Bytes present.
        got: u64,
    },
}

/// The message of a caught panic, for error reports.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}
