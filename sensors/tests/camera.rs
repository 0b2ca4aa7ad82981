//! Cameras against real files in a temporary folder: corrupt, empty, oversized, truncated and
//! rewritten snapshots; a folder camera with partial and temporary files; the capture thread's
//! newest-wins slot, offline and reconnect, and a bounded stop with a source stuck forever.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime};

use edge_sensors::camera::{
    decode_frame, detached_capture_threads, snapshot, snapshot_bounded, source_for, test_pattern,
    test_pattern_block, test_pattern_colour, CameraError, CaptureSettings, CaptureThread,
    CorruptFrame, DecodeLimits, FolderSource, Frame, FrameFormat, FrameSource, ImageFileSource,
    NoFrame, PollSettings, StopReport, StopSignal, SyntheticSource,
};
use edge_sensors::HealthState;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};

const SECOND: Duration = Duration::from_secs(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A JPEG of the test pattern with `blocks` blocks.
fn jpeg(width: u32, height: u32, blocks: u32) -> Vec<u8> {
    let frame = test_pattern(width, height, blocks)(0, SystemTime::now());
    frame.encode_jpeg(90).expect("encode test JPEG")
}

/// A JPEG of one solid colour.
fn solid_jpeg(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let pixels = rgb.repeat((width * height) as usize);
    let frame = Frame::from_rgb(width, height, pixels, SystemTime::now(), 0).expect("frame");
    frame.encode_jpeg(95).expect("encode")
}

fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let pixels = rgb.repeat((width * height) as usize);
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(&pixels, width, height, ExtendedColorType::Rgb8)
        .expect("encode PNG");
    out
}

/// Writes `bytes` the way a careful camera does: a hidden temp file, then a rename.
fn put(path: &Path, bytes: &[u8]) {
    let name = path.file_name().expect("name").to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    fs::write(&tmp, bytes).expect("write tmp");
    fs::rename(&tmp, path).expect("rename");
}

fn poll(interval_ms: u64, wait: Duration) -> PollSettings {
    PollSettings {
        interval: ms(interval_ms),
        wait,
        ..PollSettings::default()
    }
}

fn quick_capture() -> CaptureSettings {
    CaptureSettings {
        frame_timeout: 10 * SECOND,
        backoff_min: ms(50),
        backoff_max: ms(200),
        stop_timeout: 5 * SECOND,
    }
}

fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(ms(10));
    }
}

fn corrupt_reason(e: CameraError) -> CorruptFrame {
    match e {
        CameraError::Corrupt { reason, .. } => reason,
        other => panic!("expected a corrupt frame, got {other}"),
    }
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A complete, well-formed PNG whose header claims `width` x `height`.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    // A stored (uncompressed) zlib block of a few zero bytes.
    png_chunk(
        &mut out,
        b"IDAT",
        &[
            0x78, 0x01, 0x01, 0x04, 0x00, 0xFB, 0xFF, 0, 0, 0, 0, 0, 0x04, 0, 0x01,
        ],
    );
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A JPEG whose frame header claims `width` x `height`, ending in EOI.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    out.extend_from_slice(&[
        0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
    ]);
    out.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8]);
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&[3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]);
    out.extend_from_slice(&[0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0, 3, 0, 0, 63, 0]);
    out.extend_from_slice(&[0x00, 0x00, 0xFF, 0xD9]);
    out
}

fn max_rss_kib() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a full rusage into the pointer it is given.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage");
    // SAFETY: zero-initialised and filled in by getrusage.
    unsafe { usage.assume_init() }.ru_maxrss
}

#[test]
fn corrupt_jpegs_are_counted_and_skipped_then_good_frames_flow_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("snap.jpg");
    let good = jpeg(64, 48, 3);
    // Garbage after a JPEG signature.
    put(
        &path,
        &[0xFF, 0xD8, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xFF, 0xD9],
    );
    let source = ImageFileSource::new("cam1", &path, poll(20, 5 * SECOND));
    let cam = CaptureThread::spawn(Box::new(source), quick_capture()).expect("spawn");
    wait_until("a corrupt frame", 5 * SECOND, || {
        cam.health().counters.corrupt == 1
    });
    let h = cam.health();
    assert_eq!(h.state, HealthState::Degraded);
    assert!(
        h.last_error.as_deref().unwrap_or("").contains("bad header"),
        "{h:?}"
    );
    assert_eq!(
        cam.recv_timeout(ms(100)),
        Err(NoFrame::Timeout),
        "no frame, not offline"
    );

    // A real JPEG with its scan data overwritten.
    let mut mangled = good.clone();
    let mid = mangled.len() / 2;
    mangled[mid - 200..mid].fill(0xFF);
    put(&path, &mangled);
    wait_until("the second file", 5 * SECOND, || {
        let h = cam.health();
        h.counters.corrupt + h.counters.frames >= 2
    });

    put(&path, &good);
    let want = decode_frame(&good, &DecodeLimits::default(), SystemTime::now(), 0).expect("good");
    let deadline = Instant::now() + 5 * SECOND;
    loop {
        let f = cam.recv_timeout(5 * SECOND).expect("a good frame");
        if f.pixels == want.pixels {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the good picture never came through"
        );
    }
    assert_eq!(cam.stop(), StopReport::Joined);
}

#[test]
fn mutated_jpegs_never_panic_and_never_come_out_the_wrong_size() {
    let good = jpeg(96, 64, 5);
    let limits = DecodeLimits::default();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..300 {
        let mut bytes = good.clone();
        for _ in 0..1 + next() % 8 {
            let i = (next() % bytes.len() as u64) as usize;
            bytes[i] = next() as u8;
        }
        if next() % 4 == 0 {
            bytes.truncate((next() % bytes.len() as u64) as usize);
        }
        if let Ok(frame) = decode_frame(&bytes, &limits, SystemTime::now(), 0) {
            frame.check().expect("consistent frame");
        }
    }
}

#[test]
fn a_zero_byte_file_is_a_corrupt_frame() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("snap.jpg");
    fs::write(&path, b"").expect("write");
    let mut source = ImageFileSource::new("cam1", &path, poll(10, SECOND));
    source.open().expect("open");
    let reason = corrupt_reason(source.next_frame().unwrap_err());
    assert_eq!(reason, CorruptFrame::Empty);
    // Counted once: the same empty file is not reported at every poll.
    assert!(matches!(
        source.next_frame(),
        Err(CameraError::Timeout { .. })
    ));
    put(&path, &jpeg(32, 32, 1));
    assert_eq!(source.next_frame().expect("frame").width, 32);
}

#[test]
fn headers_claiming_20000x20000_are_refused_before_allocating() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rss_before = max_rss_kib();
    for (name, bytes) in [
        ("huge.png", png_claiming(20_000, 20_000)),
        ("huge.jpg", jpeg_claiming(20_000, 20_000)),
    ] {
        let path = dir.path().join(name);
        put(&path, &bytes);
        let mut source = ImageFileSource::new("cam1", &path, poll(10, SECOND));
        let format = source.open().expect("open");
        assert_eq!(format.size, Some((20_000, 20_000)), "header read at open");
        let err = source.next_frame().unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("claims 20000x20000, above the 4096x4096 limit: refused before decoding"),
            "{msg}"
        );
        assert!(matches!(
            corrupt_reason(err),
            CorruptFrame::TooLarge {
                width: 20_000,
                height: 20_000,
                ..
            }
        ));
    }
    // Decoding 20000x20000 RGB would take 1.2 GB; the process never got near that.
    let grown_mib = (max_rss_kib() - rss_before) / 1024;
    assert!(grown_mib < 200, "peak RSS grew by {grown_mib} MiB");
}

#[test]
fn a_truncated_file_is_a_corrupt_frame_not_half_a_picture() {
    let dir = tempfile::tempdir().expect("tempdir");
    let full = jpeg(128, 96, 6);
    for (name, bytes) in [
        ("cut.jpg", full[..full.len() / 2].to_vec()),
        ("cut.png", {
            let p = png(64, 64, [10, 200, 10]);
            p[..p.len() - 20].to_vec()
        }),
    ] {
        let path = dir.path().join(name);
        put(&path, &bytes);
        let mut source = ImageFileSource::new("cam1", &path, poll(10, SECOND));
        source.open().expect("open");
        let reason = corrupt_reason(source.next_frame().unwrap_err());
        assert!(
            matches!(reason, CorruptFrame::Truncated(_)),
            "{name}: {reason}"
        );
    }
}

#[test]
fn a_file_rewritten_while_being_read_never_yields_a_mixed_or_partial_frame() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("snap.jpg");
    const RED: [u8; 3] = [220, 30, 30];
    const BLUE: [u8; 3] = [30, 30, 220];
    let pictures = [solid_jpeg(320, 240, RED), solid_jpeg(320, 240, BLUE)];
    put(&path, &pictures[0]);
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (path, done, pictures) = (path.clone(), Arc::clone(&done), pictures.clone());
        std::thread::spawn(move || {
            let mut n = 0usize;
            while !done.load(Ordering::Relaxed) {
                let bytes = &pictures[n % 2];
                if n % 3 == 2 {
                    put(&path, bytes); // replaced by rename
                } else {
                    // Overwritten in place, a few KiB at a time, as some cameras do.
                    let mut f = fs::File::create(&path).expect("create");
                    for chunk in bytes.chunks(1024) {
                        f.write_all(chunk).expect("write");
                        f.flush().expect("flush");
                        std::thread::sleep(Duration::from_micros(300));
                    }
                }
                n += 1;
                std::thread::sleep(ms(3));
            }
        })
    };
    let mut source = ImageFileSource::new("cam1", &path, poll(1, SECOND));
    source.open().expect("open");
    let (mut good, mut corrupt) = (0, 0);
    let started = Instant::now();
    while started.elapsed() < 3 * SECOND {
        match source.next_frame() {
            Ok(frame) => {
                let first = frame.pixel(0, 0).expect("pixel");
                let colour = if first[0] > first[2] { RED } else { BLUE };
                for px in frame.pixels.chunks_exact(3) {
                    let off = px
                        .iter()
                        .zip(colour)
                        .map(|(&a, b)| a.abs_diff(b))
                        .max()
                        .unwrap_or(0);
                    assert!(
                        off < 12,
                        "mixed or partial frame: {px:?} in a {colour:?} frame"
                    );
                }
                good += 1;
            }
            Err(e) if e.is_corrupt_frame() => corrupt += 1,
            Err(CameraError::Timeout { .. }) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    done.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    assert!(good > 10, "{good} good frames");
    assert!(
        corrupt > 0,
        "no read caught the file mid-write ({good} good)"
    );
    eprintln!("rewritten file: {good} good frames, {corrupt} corrupt reads skipped");
}

#[test]
fn folder_source_takes_new_files_in_order_and_ignores_partial_and_temporary_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // Complete pictures that must never be read: hidden, temporary, another format.
    fs::write(d.join(".hidden.jpg"), jpeg(16, 16, 1)).expect("write");
    fs::write(d.join("next.jpg.tmp"), jpeg(16, 16, 1)).expect("write");
    fs::write(d.join("next.tmp.png"), png(16, 16, [1, 2, 3])).expect("write");
    fs::write(d.join("notes.txt"), b"hello").expect("write");
    let mut source = FolderSource::new("shelf", d, poll(20, 2 * SECOND));
    assert_eq!(source.open().expect("open"), FrameFormat::default());
    assert!(matches!(
        source.next_frame(),
        Err(CameraError::Timeout { .. })
    ));

    // One at a time, written directly (not renamed): each is taken once stable, in order.
    for (i, width) in [40u32, 48, 56].into_iter().enumerate() {
        fs::write(d.join(format!("{i}.jpg")), jpeg(width, 32, 2)).expect("write");
        let frame = source.next_frame().expect("frame");
        assert_eq!(frame.width, width, "file {i}");
        assert_eq!(frame.seq, i as u64);
    }
    assert!(matches!(
        source.next_frame(),
        Err(CameraError::Timeout { .. })
    ));

    // A burst: only the newest is read; the older ones are never delivered afterwards.
    for (name, width) in [("a.jpg", 60u32), ("b.jpg", 62), ("c.jpg", 64)] {
        put(&d.join(name), &jpeg(width, 32, 2));
    }
    assert_eq!(source.next_frame().expect("frame").width, 64);
    assert!(matches!(
        source.next_frame(),
        Err(CameraError::Timeout { .. })
    ));

    // A file written slowly, growing at every poll: not read until it is complete.
    let slow_dir = tempfile::tempdir().expect("tempdir");
    let bytes = jpeg(200, 100, 4);
    let writer = {
        let path = slow_dir.path().join("slow.jpg");
        std::thread::spawn(move || {
            let mut f = fs::File::create(path).expect("create");
            let chunk = bytes.len() / 60 + 1;
            for part in bytes.chunks(chunk) {
                f.write_all(part).expect("write");
                f.flush().expect("flush");
                std::thread::sleep(ms(5));
            }
        })
    };
    let mut slow_source = FolderSource::new("slow", slow_dir.path(), poll(100, 5 * SECOND));
    slow_source.open().expect("open");
    let frame = slow_source.next_frame().expect("the slow file, complete");
    assert_eq!((frame.width, frame.height), (200, 100));
    writer.join().expect("writer");
}

#[test]
fn a_partial_file_that_stalls_is_counted_once_and_read_again_when_completed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("stalled.jpg");
    let bytes = jpeg(80, 60, 3);
    fs::write(&path, &bytes[..bytes.len() / 2]).expect("write half");
    let mut source = FolderSource::new("shelf", dir.path(), poll(20, SECOND));
    source.open().expect("open");
    let reason = corrupt_reason(source.next_frame().unwrap_err());
    assert!(matches!(reason, CorruptFrame::Truncated(_)), "{reason}");
    std::thread::sleep(ms(20)); // a later mtime for the completed file
    fs::write(&path, &bytes).expect("write all");
    assert_eq!(source.next_frame().expect("completed file").width, 80);
}

/// A synthetic camera that ends after `frames` frames, so the totals can be checked exactly.
struct Limited {
    inner: SyntheticSource,
    left: u64,
}

impl FrameSource for Limited {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn open(&mut self) -> Result<FrameFormat, CameraError> {
        self.inner.open()
    }
    fn next_frame(&mut self) -> Result<Frame, CameraError> {
        if self.left == 0 {
            return Err(CameraError::Stopped);
        }
        self.left -= 1;
        self.inner.next_frame()
    }
    fn close(&mut self) {
        self.inner.close()
    }
    fn set_stop_signal(&mut self, stop: StopSignal) {
        self.inner.set_stop_signal(stop)
    }
}

#[test]
fn a_slow_consumer_gets_the_newest_frame_and_the_rest_are_counted_dropped() {
    const FRAMES: u64 = 300;
    let source = Limited {
        inner: SyntheticSource::new("synthetic", Some(500.0), test_pattern(320, 240, 6)),
        left: FRAMES,
    };
    let cam = CaptureThread::spawn(Box::new(source), quick_capture()).expect("spawn");
    let mut taken = Vec::new();
    loop {
        match cam.recv_timeout(5 * SECOND) {
            Ok(frame) => {
                taken.push(frame.seq);
                std::thread::sleep(ms(25)); // a consumer much slower than 500 fps
            }
            Err(NoFrame::Ended) => break,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    let h = cam.health();
    assert_eq!(h.counters.frames, FRAMES);
    assert_eq!(
        taken.len() as u64 + h.counters.dropped,
        FRAMES,
        "every frame was either taken or counted dropped"
    );
    assert!(h.counters.dropped > 0);
    assert!(
        taken.windows(2).all(|w| w[0] < w[1]),
        "newest first: {taken:?}"
    );
    assert!(taken.windows(2).any(|w| w[1] - w[0] > 1), "{taken:?}");
    assert_eq!(
        taken.last(),
        Some(&(FRAMES - 1)),
        "the last frame is never dropped"
    );
    assert_eq!(cam.stop(), StopReport::Joined);
}

#[test]
fn a_folder_camera_goes_offline_when_its_folder_vanishes_and_reconnects_with_backoff() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("cam1");
    let away = root.path().join("cam1.unmounted");
    fs::create_dir(&dir).expect("mkdir");
    put(&dir.join("a.jpg"), &jpeg(64, 48, 2));
    let source = FolderSource::new("cam1", &dir, poll(20, 5 * SECOND));
    let cam = CaptureThread::spawn(Box::new(source), quick_capture()).expect("spawn");
    assert_eq!(cam.recv_timeout(5 * SECOND).expect("first frame").width, 64);
    assert_eq!(cam.health().state, HealthState::Ok);

    fs::rename(&dir, &away).expect("unmount");
    wait_until("offline", 5 * SECOND, || {
        cam.health().state == HealthState::Offline
    });
    let h = cam.health();
    assert!(
        h.last_error
            .as_deref()
            .unwrap_or("")
            .contains("folder missing"),
        "{h:?}"
    );
    // Offline means no frame at all, not a blank one.
    match cam.recv_timeout(ms(300)) {
        Err(NoFrame::Offline(reason)) => assert!(reason.contains("folder missing"), "{reason}"),
        other => panic!("expected offline, got {other:?}"),
    }
    std::thread::sleep(ms(500)); // several reopen attempts, backing off

    fs::rename(&away, &dir).expect("remount");
    put(&dir.join("b.jpg"), &jpeg(80, 40, 2));
    let frame = cam.recv_timeout(5 * SECOND).expect("frame after reconnect");
    assert_eq!(frame.width, 80, "the new picture, not the old one again");
    let h = cam.health();
    assert_eq!(h.state, HealthState::Ok);
    assert!(h.counters.reconnects >= 1, "{h:?}");
    assert_eq!(h.counters.frames, 2);
    assert_eq!(cam.stop(), StopReport::Joined);
}

#[test]
fn a_snapshot_file_that_disappears_is_offline_until_it_comes_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("snap.png");
    put(&path, &png(40, 30, [200, 10, 10]));
    let source = ImageFileSource::new("cam2", &path, poll(20, 5 * SECOND));
    let cam = CaptureThread::spawn(Box::new(source), quick_capture()).expect("spawn");
    let first = cam.recv_timeout(5 * SECOND).expect("frame");
    assert_eq!(first.pixel(0, 0), Some([200, 10, 10]));
    fs::remove_file(&path).expect("rm");
    wait_until("offline", 5 * SECOND, || {
        cam.health().state == HealthState::Offline
    });
    assert!(matches!(
        cam.recv_timeout(ms(200)),
        Err(NoFrame::Offline(_))
    ));
    std::thread::sleep(ms(400));
    put(&path, &png(40, 30, [10, 200, 10]));
    let back = cam.recv_timeout(5 * SECOND).expect("frame after reconnect");
    assert_eq!(back.pixel(0, 0), Some([10, 200, 10]));
    assert!(cam.health().counters.reconnects >= 1);
    assert_eq!(cam.stop(), StopReport::Joined);
}

#[test]
fn a_camera_that_stops_writing_goes_offline_and_its_old_picture_is_not_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("snap.jpg");
    put(&path, &jpeg(48, 32, 2));
    let source = ImageFileSource::new("cam3", &path, poll(20, ms(300)));
    let cam = CaptureThread::spawn(Box::new(source), quick_capture()).expect("spawn");
    cam.recv_timeout(5 * SECOND).expect("frame");
    wait_until("timeout", 5 * SECOND, || {
        cam.health().counters.timeouts >= 1
    });
    assert_eq!(cam.health().state, HealthState::Offline);
    assert!(matches!(
        cam.recv_timeout(ms(100)),
        Err(NoFrame::Offline(_))
    ));
    put(&path, &jpeg(48, 32, 3));
    cam.recv_timeout(5 * SECOND).expect("fresh frame");
    let h = cam.health();
    assert_eq!(h.state, HealthState::Ok);
    assert_eq!(h.counters.reconnects, 1);
    assert_eq!(h.counters.frames, 2);
    cam.stop();
}

#[test]
fn corrupt_frames_degrade_and_three_good_ones_recover() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("snap.jpg");
    put(&path, &jpeg(32, 32, 1));
    let source = ImageFileSource::new("cam4", &path, poll(10, 5 * SECOND));
    let cam = CaptureThread::spawn(Box::new(source), quick_capture()).expect("spawn");
    cam.recv_timeout(5 * SECOND).expect("frame");
    put(&path, b"\x89PNG\r\n\x1a\nnot really");
    wait_until("degraded", 5 * SECOND, || {
        cam.health().state == HealthState::Degraded
    });
    for blocks in 2..5 {
        std::thread::sleep(ms(15));
        put(&path, &jpeg(32, 32, blocks));
        cam.recv_timeout(5 * SECOND).expect("frame");
    }
    wait_until("ok", 5 * SECOND, || cam.health().state == HealthState::Ok);
    let h = cam.health();
    assert_eq!((h.counters.corrupt, h.counters.frames), (1, 4));
    assert!(
        h.last_error.is_some(),
        "the last error is kept after recovery"
    );
    cam.stop();
}

/// A camera whose next_frame blocks until the test lets it go (a wedged V4L2 device).
struct Wedged {
    release: mpsc::Receiver<()>,
}

impl FrameSource for Wedged {
    fn id(&self) -> &str {
        "wedged"
    }
    fn open(&mut self) -> Result<FrameFormat, CameraError> {
        Ok(FrameFormat::default())
    }
    fn next_frame(&mut self) -> Result<Frame, CameraError> {
        let _ = self.release.recv();
        Err(CameraError::Offline {
            camera: "wedged".into(),
            reason: "released".into(),
        })
    }
    fn close(&mut self) {}
}

#[test]
fn stop_returns_in_bounded_time_when_the_source_blocks_forever() {
    let (release, rx) = mpsc::channel();
    let settings = CaptureSettings {
        frame_timeout: ms(300),
        stop_timeout: ms(500),
        ..quick_capture()
    };
    let cam = CaptureThread::spawn(Box::new(Wedged { release: rx }), settings).expect("spawn");
    wait_until("stuck report", 5 * SECOND, || cam.health().stuck.is_some());
    let h = cam.health();
    assert_eq!(h.state, HealthState::Offline);
    let stuck = h.stuck.unwrap_or_default();
    assert!(stuck.contains("next_frame has not returned"), "{stuck}");
    assert!(matches!(cam.recv_timeout(ms(50)), Err(NoFrame::Offline(r)) if r.contains("stuck")));

    let started = Instant::now();
    let report = cam.stop();
    let took = started.elapsed();
    assert!(took < 3 * SECOND, "stop took {took:?}");
    match &report {
        StopReport::Detached {
            stuck_in: Some(("next_frame", _)),
            ..
        } => {}
        other => panic!("expected a detached report, got {other:?}"),
    }
    assert!(report.to_string().contains("left detached"));
    assert!(detached_capture_threads() >= 1);

    // A one-shot snapshot of a wedged camera is bounded too.
    let (release2, rx2) = mpsc::channel();
    let started = Instant::now();
    let err = snapshot_bounded(Box::new(Wedged { release: rx2 }), ms(300)).unwrap_err();
    assert!(started.elapsed() < 3 * SECOND, "{:?}", started.elapsed());
    assert!(
        matches!(
            err,
            CameraError::Offline { .. } | CameraError::Timeout { .. }
        ),
        "{err}"
    );

    // Once the device call returns, the detached threads finish on their own.
    let detached = detached_capture_threads();
    release.send(()).ok();
    release2.send(()).ok();
    wait_until("detached threads to end", 5 * SECOND, || {
        detached_capture_threads() + 2 <= detached
    });
}

#[cfg(not(feature = "camera"))]
#[test]
fn a_v4l_camera_is_refused_clearly_without_the_camera_feature() {
    use edge_sensors::camera::{list_cameras, CameraSettings, V4lSource};
    let err = V4lSource::new("front", CameraSettings::new("/dev/video0")).err();
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(
        msg,
        "camera front: this build has no V4L2 camera support; rebuild with --features camera"
    );
    let err = source_for("/dev/video0", PollSettings::default()).err();
    assert!(matches!(err, Some(CameraError::NotCompiled { .. })));
    // Whatever /dev/video* exist are listed, each saying why it cannot be opened.
    for cam in list_cameras() {
        assert!(!cam.supported);
        assert!(cam.note.unwrap_or_default().contains("--features camera"));
    }
}

#[cfg(feature = "camera")]
#[test]
fn with_the_camera_feature_a_missing_v4l_device_is_offline() {
    use edge_sensors::camera::{list_cameras, CameraSettings, V4lSource};
    let mut cam = V4lSource::new("front", CameraSettings::new("/dev/video99")).expect("built in");
    let err = cam.open().unwrap_err();
    assert!(matches!(err, CameraError::Offline { .. }), "{err}");
    cam.close();
    // On a machine without cameras the query finds none (and does not panic).
    for info in list_cameras() {
        assert!(info.id.starts_with("/dev/"), "{info:?}");
    }
}

#[test]
fn snapshot_returns_the_first_good_frame_and_save_jpeg_is_atomic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shelf = dir.path().join("shelf");
    fs::create_dir(&shelf).expect("mkdir");
    put(&shelf.join("1.jpg"), &jpeg(1280, 720, 24));
    let mut source = source_for(shelf.to_str().expect("utf-8"), poll(20, SECOND)).expect("source");
    let frame = snapshot(source.as_mut(), 5 * SECOND).expect("snapshot");
    assert_eq!((frame.width, frame.height), (1280, 720));
    let (x, y, w, h) = test_pattern_block(1280, 720, 24, 7);
    let px = frame.pixel(x + w / 2, y + h / 2).expect("pixel");
    let want = test_pattern_colour(7);
    assert!(
        px.iter().zip(want).all(|(&a, b)| a.abs_diff(b) < 12),
        "{px:?} vs {want:?}"
    );

    let out = dir.path().join("out").join("shelf.jpg");
    fs::create_dir(out.parent().expect("parent")).expect("mkdir");
    frame.save_jpeg(&out).expect("save");
    let leftovers: Vec<PathBuf> = fs::read_dir(out.parent().expect("parent"))
        .expect("ls")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(leftovers, vec![out.clone()], "no temp file left behind");
    let back = decode_frame(
        &fs::read(&out).expect("read"),
        &DecodeLimits::default(),
        SystemTime::now(),
        0,
    )
    .expect("decodes");
    assert_eq!((back.width, back.height), (1280, 720));

    // Nothing new in the folder: a snapshot within the timeout is a clear timeout.
    let mut empty = FolderSource::new("empty", dir.path().join("out"), poll(20, 10 * SECOND));
    fs::remove_file(&out).expect("rm");
    let started = Instant::now();
    let err = snapshot(&mut empty, ms(300)).unwrap_err();
    assert!(matches!(err, CameraError::Timeout { .. }), "{err}");
    assert!(
        started.elapsed() < 3 * SECOND,
        "the timer cut the 10 s wait short"
    );
}
