//! `FolderSource`: a camera that drops snapshots into a folder (FTP or SMB upload). The newest
//! complete JPEG/PNG is decoded; files still being written are left alone until they are either
//! unchanged across two polls or were renamed into place; dotfiles and `.tmp`/`.part` files are
//! never read. The choice is made by a pure [`FolderWatch`] fed with directory listings.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::decode::decode_frame;
use super::error::{CameraError, CorruptFrame};
use super::file::{read_snapshot, FileStamp, PollSettings, ReadFailure};
use super::frame::{Frame, FrameFormat};
use super::stop::StopSignal;
use super::FrameSource;

/// One file in a listing of the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Listed {
    pub(super) name: OsString,
    pub(super) stamp: FileStamp,
}

/// Decides which file of a folder to read next; no I/O.
#[derive(Debug, Default)]
pub(super) struct FolderWatch {
    /// (mtime, name) of the last file taken; only newer files are considered.
    cursor: Option<((i64, i64), OsString)>,
    /// Size and mtime of each candidate at the previous poll.
    previous: HashMap<OsString, (u64, (i64, i64))>,
}

/// True for names a camera's finished snapshots have: `*.jpg`, `*.jpeg`, `*.png`, not hidden,
/// no `tmp`/`part`/`partial` component (`snap.tmp.jpg`, `snap.jpg.part`).
pub(super) fn is_snapshot_name(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    if name.starts_with('.') || name.ends_with('~') {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    let mut parts = lower.split('.').skip(1).peekable();
    let mut ext = None;
    while let Some(part) = parts.next() {
        if matches!(part, "tmp" | "part" | "partial" | "crdownload") {
            return false;
        }
        if parts.peek().is_none() {
            ext = Some(part);
        }
    }
    matches!(ext, Some("jpg" | "jpeg" | "png"))
}

impl FolderWatch {
    /// Forgets what was seen in progress (after a reopen) but keeps the cursor, so old pictures
    /// are never delivered again.
    pub(super) fn reset_progress(&mut self) {
        self.previous.clear();
    }

    /// The newest complete snapshot newer than the last one taken, given this poll's listing.
    pub(super) fn pick(&mut self, listing: &[Listed]) -> Option<Listed> {
        let mut seen = HashMap::new();
        let mut best: Option<&Listed> = None;
        for entry in listing {
            if !is_snapshot_name(&entry.name) || self.taken(entry) {
                continue;
            }
            let version = (entry.stamp.len, entry.stamp.mtime);
            // A rename changes ctime but not mtime: ctime after mtime means the file was put in
            // place after its last write. Otherwise it must be unchanged since the last poll.
            let renamed = entry.stamp.ctime > entry.stamp.mtime;
            let stable = self.previous.get(&entry.name) == Some(&version);
            seen.insert(entry.name.clone(), version);
            if (renamed || stable) && best.is_none_or(|b| key(entry) > key(b)) {
                best = Some(entry);
            }
        }
        self.previous = seen;
        best.cloned()
    }

    /// Moves the cursor past `entry` (decoded, or found corrupt for good).
    pub(super) fn take(&mut self, entry: &Listed) {
        self.previous.remove(&entry.name);
        self.cursor = Some((entry.stamp.mtime, entry.name.clone()));
    }

    fn taken(&self, entry: &Listed) -> bool {
        self.cursor
            .as_ref()
            .is_some_and(|(mtime, name)| key(entry) <= (*mtime, name.as_os_str()))
    }
}

fn key(e: &Listed) -> ((i64, i64), &OsStr) {
    (e.stamp.mtime, e.name.as_os_str())
}

/// A folder a camera drops snapshots into; a frame for each newest complete picture.
pub struct FolderSource {
    id: String,
    dir: PathBuf,
    poll: PollSettings,
    stop: StopSignal,
    watch: FolderWatch,
    next_poll: Option<Instant>,
    seq: u64,
}

impl FolderSource {
    /// A camera `id` dropping snapshots into `dir`.
    pub fn new(id: impl Into<String>, dir: impl Into<PathBuf>, poll: PollSettings) -> Self {
        Self {
            id: id.into(),
            dir: dir.into(),
            poll,
            stop: StopSignal::new(),
            watch: FolderWatch::default(),
            next_poll: None,
            seq: 0,
        }
    }

    /// The watched folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn offline(&self, reason: impl std::fmt::Display) -> CameraError {
        CameraError::Offline {
            camera: self.id.clone(),
            reason: format!("{}: {reason}", self.dir.display()),
        }
    }

    fn list(&self) -> Result<Vec<Listed>, CameraError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(self.offline("folder missing")),
            Err(e) if e.kind() == ErrorKind::NotADirectory => {
                return Err(CameraError::Config {
                    camera: self.id.clone(),
                    reason: format!("{} is not a folder", self.dir.display()),
                })
            }
            Err(e) => return Err(self.offline(e)),
        };
        let mut listing = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.offline(e))?;
            let name = entry.file_name();
            if !is_snapshot_name(&name) {
                continue;
            }
            // Gone between listing and stat, or not a plain file: not a snapshot.
            match entry.metadata() {
                Ok(m) if m.is_file() => listing.push(Listed {
                    name,
                    stamp: FileStamp::of(&m),
                }),
                _ => {}
            }
        }
        Ok(listing)
    }
}

impl FrameSource for FolderSource {
    fn id(&self) -> &str {
        &self.id
    }

    fn open(&mut self) -> Result<FrameFormat, CameraError> {
        self.poll.check(&self.id)?;
        self.list()?;
        self.watch.reset_progress();
        self.next_poll = None;
        Ok(FrameFormat::default())
    }

    fn next_frame(&mut self) -> Result<Frame, CameraError> {
        let started = Instant::now();
        loop {
            if let Some(at) = self.next_poll {
                if self.stop.sleep_until(at) {
                    return Err(CameraError::Stopped);
                }
            }
            self.next_poll = Some(Instant::now() + self.poll.interval);
            let listing = self.list()?;
            if let Some(entry) = self.watch.pick(&listing) {
                let path = self.dir.join(&entry.name);
                let origin = || format!("{} ({})", self.id, path.display());
                match read_snapshot(&path, self.poll.limits.max_file_bytes) {
                    Ok((bytes, stamp, captured)) => {
                        self.watch.take(&Listed {
                            name: entry.name.clone(),
                            stamp,
                        });
                        let frame = decode_frame(&bytes, &self.poll.limits, captured, self.seq)
                            .map_err(|reason| CameraError::corrupt(origin(), reason))?;
                        self.seq += 1;
                        return Ok(frame);
                    }
                    // Deleted or unreadable since the listing: look again at the next poll.
                    Err(ReadFailure::Missing | ReadFailure::Io(_)) => {}
                    Err(ReadFailure::Corrupt(reason)) => {
                        // Rewritten while read: retried when it settles. Otherwise skipped; if
                        // it is later completed its mtime moves past the cursor and it is read.
                        if reason != CorruptFrame::ChangedWhileReading {
                            self.watch.take(&entry);
                        }
                        return Err(CameraError::corrupt(origin(), reason));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(name: &str, len: u64, mtime: i64, ctime: i64) -> Listed {
        Listed {
            name: name.into(),
            stamp: FileStamp {
                dev: 1,
                ino: mtime as u64,
                len,
                mtime: (mtime, 0),
                ctime: (ctime, 0),
            },
        }
    }

    #[test]
    fn snapshot_names() {
        for ok in ["a.jpg", "A.JPEG", "shelf-3.png", "2024.01.01.jpg"] {
            assert!(is_snapshot_name(OsStr::new(ok)), "{ok}");
        }
        for no in [
            ".a.jpg",
            "a.jpg.tmp",
            "a.tmp.jpg",
            "a.jpg.part",
            "a.jpg~",
            "a.gif",
            "jpg",
            "a",
        ] {
            assert!(!is_snapshot_name(OsStr::new(no)), "{no}");
        }
    }

    #[test]
    fn a_written_file_waits_one_poll_a_renamed_one_does_not() {
        let mut w = FolderWatch::default();
        assert_eq!(w.pick(&[listed("a.jpg", 10, 100, 100)]), None);
        let a = w.pick(&[listed("a.jpg", 10, 100, 100)]).unwrap();
        assert_eq!(a.name, "a.jpg");
        w.take(&a);
        // Renamed into place: ctime after mtime, taken at once.
        let b = w.pick(&[listed("a.jpg", 10, 100, 100), listed("b.jpg", 5, 101, 102)]);
        assert_eq!(b.map(|b| b.name), Some("b.jpg".into()));
    }

    #[test]
    fn a_growing_file_is_not_taken_until_it_stops_growing() {
        let mut w = FolderWatch::default();
        assert_eq!(w.pick(&[listed("a.jpg", 10, 100, 100)]), None);
        assert_eq!(w.pick(&[listed("a.jpg", 20, 101, 101)]), None);
        assert_eq!(w.pick(&[listed("a.jpg", 30, 102, 102)]), None);
        assert!(w.pick(&[listed("a.jpg", 30, 102, 102)]).is_some());
    }

    #[test]
    fn newest_complete_file_wins_and_older_ones_are_never_taken_after_it() {
        let mut w = FolderWatch::default();
        let files = [
            listed("1.jpg", 10, 100, 101),
            listed("2.jpg", 10, 101, 102),
            listed("3.jpg", 10, 102, 102), // still being written
        ];
        let got = w.pick(&files).unwrap();
        assert_eq!(got.name, "2.jpg");
        w.take(&got);
        let got = w.pick(&files).unwrap();
        assert_eq!(got.name, "3.jpg", "stable now");
        w.take(&got);
        assert_eq!(w.pick(&files), None);
        w.reset_progress();
        assert_eq!(w.pick(&files), None, "cursor survives a reopen");
    }

    #[test]
    fn hidden_and_tmp_files_are_never_taken() {
        let mut w = FolderWatch::default();
        let files = [
            listed(".a.jpg", 10, 100, 101),
            listed("b.jpg.tmp", 10, 100, 101),
        ];
        assert_eq!(w.pick(&files), None);
        assert_eq!(w.pick(&files), None);
    }
}
