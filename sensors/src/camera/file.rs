//! `ImageFileSource`: a network camera that overwrites one snapshot file (JPEG or PNG); the file
//! is checked every interval and decoded when it has changed. Also the careful file read shared
//! with the folder source: a file that changes while it is read is refused, not half-decoded.

use std::fs::{self, File, Metadata};
use std::io::{self, ErrorKind, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::decode::{decode_frame, read_header, DecodeLimits};
use super::error::{CameraError, CorruptFrame};
use super::frame::{Frame, FrameFormat};
use super::stop::StopSignal;
use super::FrameSource;

/// How a snapshot camera (file or folder) is polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSettings {
    /// Time between two looks at the file or folder.
    pub interval: Duration,
    /// How long `next_frame` waits for something new before reporting a timeout (the camera
    /// then counts as `offline` until a new picture arrives). Must exceed the camera's own
    /// snapshot period.
    pub wait: Duration,
    /// Size bounds on each picture.
    pub limits: DecodeLimits,
}

impl Default for PollSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(500),
            wait: Duration::from_secs(10),
            limits: DecodeLimits::default(),
        }
    }
}

impl PollSettings {
    /// Default settings polling every `interval`.
    pub fn every(interval: Duration) -> Self {
        Self {
            interval,
            ..Self::default()
        }
    }

    pub(super) fn check(&self, camera: &str) -> Result<(), CameraError> {
        let bad = |reason: &str| {
            Err(CameraError::Config {
                camera: camera.to_owned(),
                reason: reason.to_owned(),
            })
        };
        if self.interval.is_zero() {
            return bad("poll interval 0");
        }
        if self.wait < self.interval {
            return bad("wait shorter than the poll interval");
        }
        if self.limits.max_width == 0 || self.limits.max_height == 0 {
            return bad("maximum frame size 0");
        }
        Ok(())
    }
}

/// Identity and version of a file: a new inode, size or time means a new picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct FileStamp {
    pub(super) dev: u64,
    pub(super) ino: u64,
    pub(super) len: u64,
    pub(super) mtime: (i64, i64),
    pub(super) ctime: (i64, i64),
}

impl FileStamp {
    pub(super) fn of(m: &Metadata) -> Self {
        Self {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

/// Why a snapshot file gave no bytes to decode.
pub(super) enum ReadFailure {
    /// The file is not there (deleted, or never written).
    Missing,
    /// Some other I/O error.
    Io(io::Error),
    /// The file is unusable as it stands.
    Corrupt(CorruptFrame),
}

/// Reads a whole snapshot file, refusing one that is empty, too big, or changed during the read
/// (a camera rewriting it in place). A file replaced by rename is fine: the open handle keeps
/// the old, complete file.
pub(super) fn read_snapshot(
    path: &Path,
    max_bytes: u64,
) -> Result<(Vec<u8>, FileStamp, SystemTime), ReadFailure> {
    let mut file = File::open(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => ReadFailure::Missing,
        _ => ReadFailure::Io(e),
    })?;
    let before = file.metadata().map_err(ReadFailure::Io)?;
    if !before.is_file() {
        return Err(ReadFailure::Io(io::Error::other("not a regular file")));
    }
    let len = before.len();
    if len == 0 {
        return Err(ReadFailure::Corrupt(CorruptFrame::Empty));
    }
    if len > max_bytes {
        return Err(ReadFailure::Corrupt(CorruptFrame::FileTooLarge {
            len,
            max: max_bytes,
        }));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    (&mut file)
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadFailure::Io)?;
    let after = file.metadata().map_err(ReadFailure::Io)?;
    let stamp = FileStamp::of(&before);
    if bytes.len() as u64 != len || FileStamp::of(&after) != stamp {
        return Err(ReadFailure::Corrupt(CorruptFrame::ChangedWhileReading));
    }
    let captured = before.modified().unwrap_or_else(|_| SystemTime::now());
    Ok((bytes, stamp, captured))
}

/// One snapshot file that a camera overwrites; a frame each time the file changes.
pub struct ImageFileSource {
    id: String,
    path: PathBuf,
    poll: PollSettings,
    stop: StopSignal,
    /// Version of the file last decoded (or found corrupt), kept across reopen so a camera that
    /// stopped writing is not mistaken for a live one.
    last: Option<FileStamp>,
    next_poll: Option<Instant>,
    seq: u64,
}

impl ImageFileSource {
    /// A camera `id` writing snapshots to `path`.
    pub fn new(id: impl Into<String>, path: impl Into<PathBuf>, poll: PollSettings) -> Self {
        Self {
            id: id.into(),
            path: path.into(),
            poll,
            stop: StopSignal::new(),
            last: None,
            next_poll: None,
            seq: 0,
        }
    }

    /// The snapshot file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn offline(&self, reason: impl std::fmt::Display) -> CameraError {
        CameraError::Offline {
            camera: self.id.clone(),
            reason: format!("{}: {reason}", self.path.display()),
        }
    }

    fn origin(&self) -> String {
        format!("{} ({})", self.id, self.path.display())
    }
}

impl FrameSource for ImageFileSource {
    fn id(&self) -> &str {
        &self.id
    }

    fn open(&mut self) -> Result<FrameFormat, CameraError> {
        self.poll.check(&self.id)?;
        let meta = match fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(self.offline("missing")),
            Err(e) => return Err(self.offline(e)),
        };
        if meta.is_dir() {
            return Err(CameraError::Config {
                camera: self.id.clone(),
                reason: format!("{} is a folder; use a folder camera", self.path.display()),
            });
        }
        self.next_poll = None;
        // The size, if the current picture's header is readable; a bad one shows up as a
        // corrupt frame on the first read.
        let size = read_snapshot(&self.path, self.poll.limits.max_file_bytes)
            .ok()
            .and_then(|(bytes, _, _)| read_header(&bytes).ok())
            .map(|h| (h.width, h.height));
        Ok(FrameFormat {
            size,
            fps: Some(1.0 / self.poll.interval.as_secs_f32()),
            pixel_format: None,
        })
    }

    fn next_frame(&mut self) -> Result<Frame, CameraError> {
        let started = Instant::now();
        loop {
            if let Some(at) = self.next_poll {
                if self.stop.sleep_until(at) {
                    return Err(CameraError::Stopped);
                }
            }
            let now = Instant::now();
            self.next_poll = Some(now + self.poll.interval);
            let stamp = match fs::metadata(&self.path) {
                Ok(m) => FileStamp::of(&m),
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    return Err(self.offline("snapshot file disappeared"))
                }
                Err(e) => return Err(self.offline(e)),
            };
            if self.last != Some(stamp) {
                match read_snapshot(&self.path, self.poll.limits.max_file_bytes) {
                    Ok((bytes, stamp, captured)) => {
                        self.last = Some(stamp);
                        let frame = decode_frame(&bytes, &self.poll.limits, captured, self.seq)
                            .map_err(|reason| CameraError::corrupt(self.origin(), reason))?;
                        self.seq += 1;
                        return Ok(frame);
                    }
                    Err(ReadFailure::Missing) => {
                        return Err(self.offline("snapshot file disappeared"))
                    }
                    Err(ReadFailure::Io(e)) => return Err(self.offline(e)),
                    Err(ReadFailure::Corrupt(reason)) => {
                        // A file caught mid-write is read again at the next poll; any other
                        // bad version is counted once, not at every poll.
                        if reason != CorruptFrame::ChangedWhileReading {
                            self.last = Some(stamp);
                        }
                        return Err(CameraError::corrupt(self.origin(), reason));
                    }
                }
            }
            if started.elapsed() >= self.poll.wait {
                return Err(CameraError::Timeout {
                    camera: self.id.clone(),
                    waited: started.elapsed(),
                });
            }
        }
    }

    fn close(&mut self) {
        self.next_poll = None;
    }

    fn set_stop_signal(&mut self, stop: StopSignal) {
        self.stop = stop;
    }
}
