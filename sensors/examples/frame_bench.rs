//! Cost of one camera frame: guarded decode of a 1280x720 JPEG (against image's plain decode in
//! the same run), cropping the 24 slot rectangles and resizing each to 64x64 (as slotnet wants),
//! and the CPU the capture thread takes at 10 fps with a folder camera (against decoding alone
//! at that rate) and with a synthetic camera (the thread's own overhead).
//!
//! ```sh
//! cargo run --release -p edge-sensors --example frame_bench [SECONDS] [DECODES]
//! ```

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use edge_sensors::camera::{
    decode_frame, test_pattern, test_pattern_block, CaptureSettings, CaptureThread, DecodeLimits,
    FolderSource, Frame, FrameSource, NoFrame, PollSettings, SyntheticSource,
};
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;
const SLOTS: u32 = 24;
const CROP: u32 = 64;
const FPS: f32 = 10.0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let decodes: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(200);

    let jpegs = [shelf_jpeg(1)?, shelf_jpeg(2)?];
    println!(
        "frame: {WIDTH}x{HEIGHT} JPEG, quality 85, {} KiB",
        jpegs[0].len() / 1024
    );

    // Decode: the camera path (header check, limits, panic guard, RGB8 frame) vs image alone.
    let limits = DecodeLimits::default();
    let guarded = per_call(decodes, |i| {
        let f = decode_frame(&jpegs[i % 2], &limits, SystemTime::now(), 0)?;
        Ok(f.pixels.len())
    })?;
    let plain = per_call(decodes, |i| {
        Ok(image::load_from_memory(&jpegs[i % 2])?.into_rgb8().len())
    })?;
    println!(
        "decode:        {:7.2} ms CPU/frame (image::load_from_memory: {:.2} ms, ratio {:.2})",
        ms(guarded),
        ms(plain),
        guarded.as_secs_f64() / plain.as_secs_f64()
    );

    // Crop 24 slots and resize each to 64x64, bilinear.
    let frame = decode_frame(&jpegs[0], &limits, SystemTime::now(), 0)?;
    let mut resizer = Resizer::new();
    let mut crops: Vec<Image<'static>> = (0..SLOTS)
        .map(|_| Image::new(CROP, CROP, PixelType::U8x3))
        .collect();
    let crop = per_call(decodes, |_| crop_slots(&frame, &mut resizer, &mut crops))?;
    println!(
        "crop+resize:   {:7.2} ms CPU/frame for {SLOTS} slots to {CROP}x{CROP} (ratio to decode {:.2})",
        ms(crop),
        crop.as_secs_f64() / guarded.as_secs_f64()
    );
    println!(
        "decode+crop:   {:7.2} ms CPU/frame, {:.1}% of one core at {FPS} fps",
        ms(guarded + crop),
        (guarded + crop).as_secs_f64() * f64::from(FPS) * 100.0
    );

    // Capture thread at 10 fps for `seconds`, folder camera then synthetic camera.
    let run = Duration::from_secs(seconds);
    let dir = tempfile::tempdir()?;
    let folder = FolderSource::new(
        "folder",
        dir.path(),
        PollSettings::every(Duration::from_millis(20)),
    );
    let writer_dir = dir.path().to_path_buf();
    let folder_cpu = capture_cpu(Box::new(folder), run, move |n| {
        drop_snapshot(&writer_dir, n, &jpegs[n as usize % 2])
    })?;
    folder_cpu.print("folder camera, 20 ms poll");
    let decode_only = guarded.as_secs_f64() * f64::from(FPS) * 100.0;
    println!(
        "  capture thread vs decoding alone at {FPS} fps ({decode_only:.2}%): ratio {:.2} \
         (the rest is polling, reading and handing over)",
        folder_cpu.thread_pct / decode_only
    );
    let synthetic = SyntheticSource::new("synthetic", Some(FPS), test_pattern(WIDTH, HEIGHT, 24));
    let synthetic_cpu = capture_cpu(Box::new(synthetic), run, |_| Ok(()))?;
    synthetic_cpu.print("synthetic camera (shared pattern: thread, pacing and slot only)");
    Ok(())
}

/// A 1280x720 test shelf with texture, so the JPEG is as heavy as a camera's.
fn shelf_jpeg(variant: u64) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let base = test_pattern(WIDTH, HEIGHT, SLOTS)(0, SystemTime::now());
    let mut pixels = base.pixels.to_vec();
    let mut noise = 0x9E37_79B9_7F4A_7C15u64 ^ variant;
    for (i, px) in pixels.iter_mut().enumerate() {
        noise ^= noise << 13;
        noise ^= noise >> 7;
        noise ^= noise << 17;
        let shade = ((i / 3) as u32 % WIDTH / 40) as u8; // a gentle horizontal gradient
        *px = px.saturating_add(shade).saturating_sub((noise % 24) as u8);
    }
    let frame = Frame::from_rgb(WIDTH, HEIGHT, pixels, SystemTime::now(), 0)?;
    Ok(frame.encode_jpeg(85)?)
}

fn crop_slots(
    frame: &Frame,
    resizer: &mut Resizer,
    crops: &mut [Image<'static>],
) -> Result<usize, Box<dyn std::error::Error>> {
    let src = ImageRef::new(frame.width, frame.height, &frame.pixels, PixelType::U8x3)?;
    for (i, dst) in crops.iter_mut().enumerate() {
        let (x, y, w, h) = test_pattern_block(frame.width, frame.height, SLOTS, i as u32);
        let options = ResizeOptions::new()
            .crop(f64::from(x), f64::from(y), f64::from(w), f64::from(h))
            .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
        resizer.resize(&src, dst, &options)?;
    }
    Ok(crops.len())
}

/// Mean CPU time of this thread per call of `f` over `n` calls (after one warm-up call): on a
/// shared machine wall time measures the neighbours too.
fn per_call(
    n: u32,
    mut f: impl FnMut(usize) -> Result<usize, Box<dyn std::error::Error>>,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let mut sink = f(0)?;
    let started = cpu_time(libc::RUSAGE_THREAD);
    for i in 0..n.max(1) {
        sink = sink.wrapping_add(f(i as usize)?);
    }
    let took = cpu_time(libc::RUSAGE_THREAD).saturating_sub(started) / n.max(1);
    std::hint::black_box(sink);
    Ok(took)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Drops snapshot `n` the way a camera's FTP upload should: temp file, then rename.
fn drop_snapshot(dir: &Path, n: u64, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{n:06}.jpg.tmp"));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, dir.join(format!("{n:06}.jpg")))?;
    // Keep the folder small, as a camera's upload job would.
    if n >= 5 {
        let _ = fs::remove_file(dir.join(format!("{:06}.jpg", n - 5)));
    }
    Ok(())
}

struct CpuUse {
    frames: u64,
    seconds: f64,
    thread_pct: f64,
    process_pct: f64,
    dropped: u64,
}

impl CpuUse {
    fn print(&self, what: &str) {
        println!(
            "capture {what}: {:.1} fps taken, capture thread {:.2}% of one core, \
             process {:.2}% (incl. the snapshot writer), dropped {}",
            self.frames as f64 / self.seconds,
            self.thread_pct,
            self.process_pct,
            self.dropped
        );
    }
}

/// Runs `source` on a capture thread for `run` while `tick(n)` is called at 10 Hz; the main
/// thread takes every frame and does nothing with it.
fn capture_cpu(
    source: Box<dyn FrameSource>,
    run: Duration,
    mut tick: impl FnMut(u64) -> std::io::Result<()>,
) -> Result<CpuUse, Box<dyn std::error::Error>> {
    let name = format!("camera {}", source.id());
    let settings = CaptureSettings::default();
    tick(0)?;
    let cam = CaptureThread::spawn(source, settings)?;
    cam.recv_timeout(Duration::from_secs(5))
        .map_err(|e| format!("no first frame: {e}"))?;
    let tid = thread_id(&name).ok_or("capture thread not found in /proc/self/task")?;
    let (thread0, process0, started) = (
        thread_ticks(&tid)?,
        cpu_time(libc::RUSAGE_SELF),
        Instant::now(),
    );
    let period = Duration::from_secs_f32(1.0 / FPS);
    let mut frames = 0;
    let mut n = 1;
    while started.elapsed() < run {
        let due = started + period * n as u32;
        while Instant::now() < due {
            match cam.recv_timeout(due.saturating_duration_since(Instant::now())) {
                Ok(_) => frames += 1,
                Err(NoFrame::Timeout) => {}
                Err(e) => return Err(e.to_string().into()),
            }
        }
        tick(n)?;
        n += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    let thread_cpu = (thread_ticks(&tid)? - thread0) as f64 / clock_ticks_per_second();
    let process_cpu = (cpu_time(libc::RUSAGE_SELF) - process0).as_secs_f64();
    let dropped = cam.health().counters.dropped;
    cam.stop();
    Ok(CpuUse {
        frames,
        seconds,
        thread_pct: thread_cpu / seconds * 100.0,
        process_pct: process_cpu / seconds * 100.0,
        dropped,
    })
}

/// The thread of this process named `name` (the kernel keeps the first 15 bytes of a name).
fn thread_id(name: &str) -> Option<String> {
    let name = name.get(..15).unwrap_or(name);
    fs::read_dir("/proc/self/task")
        .ok()?
        .flatten()
        .find_map(|task| {
            let comm = fs::read_to_string(task.path().join("comm")).ok()?;
            (comm.trim_end() == name).then(|| task.file_name().to_string_lossy().into_owned())
        })
}

/// utime + stime of one thread, in clock ticks.
fn thread_ticks(tid: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let stat = fs::read_to_string(format!("/proc/self/task/{tid}/stat"))?;
    // Fields after the parenthesised name: state is the 3rd field, utime the 14th, stime the 15th.
    let rest = stat.rsplit_once(')').ok_or("bad stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11).ok_or("bad stat")?.parse()?;
    let stime: u64 = fields.get(12).ok_or("bad stat")?.parse()?;
    Ok(utime + stime)
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// User + system CPU time of the whole process (`RUSAGE_SELF`) or this thread
/// (`RUSAGE_THREAD`).
fn cpu_time(who: libc::c_int) -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the rusage it is pointed at.
    if unsafe { libc::getrusage(who, usage.as_mut_ptr()) } != 0 {
        return Duration::ZERO;
    }
    // SAFETY: zero-initialised and filled in by getrusage.
    let u = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}
