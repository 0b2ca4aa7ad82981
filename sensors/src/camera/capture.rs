//! `CaptureThread`: runs one [`FrameSource`] on its own thread, reopens it with backoff when it
//! goes offline, counts and skips corrupt frames, keeps the camera's health and hands frames to
//! the consumer through a newest-wins slot of capacity one.
//!
//! A slow consumer always gets the latest picture of the shelf; a frame it did not take in time
//! is replaced and counted as dropped (by design, so dropping does not degrade the camera). A
//! source stuck in a blocking call (a wedged V4L2 device) cannot be interrupted: after
//! `frame_timeout` the camera is reported `offline` with the stuck call named, and
//! [`CaptureThread::stop`] gives up waiting after `stop_timeout`, leaving the thread detached
//! and saying so. While a camera is offline no frame is handed out: a camera that is gone never
//! looks like an empty shelf.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crate::health::{BadLine, DeviceCounters, DeviceHealth, HealthState, HealthTracker};
use crate::serial::Backoff;

use super::error::{panic_message, CameraError};
use super::frame::Frame;
use super::stop::StopSignal;
use super::FrameSource;

/// Capture threads left running by a `stop` that timed out and not yet finished.
static DETACHED: AtomicUsize = AtomicUsize::new(0);

/// Number of capture threads that were detached by a timed-out stop and are still stuck.
pub fn detached_capture_threads() -> usize {
    DETACHED.load(Ordering::Relaxed)
}

/// How a capture thread treats its camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureSettings {
    /// With no good frame (and no open) for this long the camera is `offline`, even if the
    /// source is stuck and cannot say so itself.
    pub frame_timeout: Duration,
    /// First delay before reopening a camera that went offline.
    pub backoff_min: Duration,
    /// Longest delay between reopen attempts.
    pub backoff_max: Duration,
    /// How long [`CaptureThread::stop`] waits for the thread before detaching it.
    pub stop_timeout: Duration,
}

impl Default for CaptureSettings {
    fn default() -> Self {
        Self {
            frame_timeout: Duration::from_secs(20),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            stop_timeout: Duration::from_secs(2),
        }
    }
}

/// Running totals for one camera since its capture thread started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CameraCounters {
    /// Good frames from the source.
    pub frames: u64,
    /// Frames counted and skipped as corrupt (including caught decoder panics).
    pub corrupt: u64,
    /// Frames replaced in the slot before the consumer took them.
    pub dropped: u64,
    /// Times the source reported no new frame within its wait.
    pub timeouts: u64,
    /// Times the camera delivered again after being offline.
    pub reconnects: u64,
}

/// Snapshot of one camera's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraHealth {
    /// `ok`, `degraded` (recent corrupt frames) or `offline` (no frames: unplugged, missing,
    /// timed out or stuck).
    pub state: HealthState,
    /// Most recent error, kept after recovery.
    pub last_error: Option<String>,
    /// When the last good frame arrived.
    pub last_frame: Option<SystemTime>,
    /// Running totals.
    pub counters: CameraCounters,
    /// The source call that has not returned for longer than the frame timeout, if any.
    pub stuck: Option<String>,
}

impl CameraHealth {
    /// The same facts as a serial device's health, for reports that list every device:
    /// frames as lines, corrupt frames as rejected lines.
    pub fn to_device_health(&self) -> DeviceHealth {
        DeviceHealth {
            state: self.state,
            last_error: self.last_error.clone(),
            last_reading: self.last_frame,
            counters: DeviceCounters {
                lines: self.counters.frames,
                rejected: self.counters.corrupt,
                dropped: self.counters.dropped,
                reconnects: self.counters.reconnects,
                ..DeviceCounters::default()
            },
        }
    }
}

/// Why [`CaptureThread::recv_timeout`] returned no frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoFrame {
    /// The camera is offline; the reason is its last error.
    Offline(String),
    /// The camera is up but no frame arrived in time.
    Timeout,
    /// The capture thread has ended.
    Ended,
}

impl fmt::Display for NoFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoFrame::Offline(e) => write!(f, "camera offline: {e}"),
            NoFrame::Timeout => f.write_str("no frame in time"),
            NoFrame::Ended => f.write_str("capture thread ended"),
        }
    }
}

/// How [`CaptureThread::stop`] went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReport {
    /// The thread finished and was joined.
    Joined,
    /// The thread did not finish in time and was left running; it exits on its own when the
    /// source call returns.
    Detached {
        /// Camera id.
        camera: String,
        /// The call it is stuck in, if it is in one, and for how long.
        stuck_in: Option<(&'static str, Duration)>,
    },
}

impl fmt::Display for StopReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReport::Joined => f.write_str("capture thread stopped"),
            StopReport::Detached {
                camera,
                stuck_in: Some((call, d)),
            } => write!(
                f,
                "camera {camera}: capture thread stuck in {call} for {:.1}s, left detached",
                d.as_secs_f64()
            ),
            StopReport::Detached { camera, .. } => {
                write!(
                    f,
                    "camera {camera}: capture thread did not stop, left detached"
                )
            }
        }
    }
}

/// The newest frame not yet taken.
#[derive(Default)]
struct Slot {
    frame: Option<Frame>,
    dropped: u64,
    ended: bool,
}

/// What the capture thread reports about itself.
struct Status {
    tracker: HealthTracker,
    timeouts: u64,
    /// The source call in progress and since when.
    call: Option<(&'static str, Instant)>,
    /// Last open or good frame: the frame timeout runs from here.
    progress: Instant,
    ended: bool,
    detached: bool,
}

struct Shared {
    id: String,
    settings: CaptureSettings,
    stop: StopSignal,
    slot: Mutex<Slot>,
    frame_ready: Condvar,
    status: Mutex<Status>,
    thread_ended: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update under these locks is a few field writes; a panicking holder leaves them usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The health as the consumer should see it: the thread's own account, overruled by the
    /// frame timeout when the thread has gone quiet (it may be stuck and unable to report).
    fn health(&self, now: Instant) -> CameraHealth {
        let dropped = lock(&self.slot).dropped;
        let status = lock(&self.status);
        let h = status.tracker.health();
        let mut health = CameraHealth {
            state: h.state,
            last_error: h.last_error.clone(),
            last_frame: h.last_reading,
            counters: CameraCounters {
                frames: h.counters.lines,
                corrupt: h.counters.rejected,
                dropped,
                timeouts: status.timeouts,
                reconnects: h.counters.reconnects,
            },
            stuck: None,
        };
        let timeout = self.settings.frame_timeout;
        if let Some((call, since)) = status.call {
            let stuck_for = now.saturating_duration_since(since);
            if stuck_for > timeout {
                let msg = format!(
                    "camera {}: {call} has not returned for {:.1}s (source stuck)",
                    self.id,
                    stuck_for.as_secs_f64()
                );
                health.state = HealthState::Offline;
                health.last_error = Some(msg.clone());
                health.stuck = Some(msg);
                return health;
            }
        }
        let quiet = now.saturating_duration_since(status.progress);
        if health.state != HealthState::Offline && quiet > timeout {
            health.state = HealthState::Offline;
            health.last_error = Some(format!(
                "camera {}: no good frame for {:.1}s",
                self.id,
                quiet.as_secs_f64()
            ));
        }
        if status.ended && !self.stop.is_stopped() {
            health.state = HealthState::Offline;
            health.last_error = Some(format!("camera {}: capture thread ended", self.id));
        }
        health
    }
}

/// A camera read on its own thread; dropping it stops the thread (bounded, see
/// [`CaptureThread::stop`]).
pub struct CaptureThread {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for CaptureThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureThread")
            .field("id", &self.shared.id)
            .finish_non_exhaustive()
    }
}

impl CaptureThread {
    /// Starts capturing from `source`.
    pub fn spawn(
        source: Box<dyn FrameSource>,
        settings: CaptureSettings,
    ) -> Result<Self, CameraError> {
        let id = source.id().to_owned();
        let bad = |reason: &str| {
            Err(CameraError::Config {
                camera: id.clone(),
                reason: reason.to_owned(),
            })
        };
        if settings.frame_timeout.is_zero() {
            return bad("frame timeout 0");
        }
        if settings.backoff_min.is_zero() {
            return bad("backoff 0");
        }
        let shared = Arc::new(Shared {
            id: id.clone(),
            settings,
            stop: StopSignal::new(),
            slot: Mutex::new(Slot::default()),
            frame_ready: Condvar::new(),
            status: Mutex::new(Status {
                tracker: HealthTracker::new(),
                timeouts: 0,
                call: None,
                progress: Instant::now(),
                ended: false,
                detached: false,
            }),
            thread_ended: Condvar::new(),
        });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("camera {id}"))
            .spawn(move || run(worker, source))
            .map_err(|source| CameraError::Spawn { camera: id, source })?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// The camera's id.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// A snapshot of the camera's health.
    pub fn health(&self) -> CameraHealth {
        self.shared.health(Instant::now())
    }

    /// The newest frame if one is waiting.
    pub fn try_recv(&self) -> Option<Frame> {
        lock(&self.shared.slot).frame.take()
    }

    /// Waits up to `timeout` for a frame; tells an offline camera apart from a slow one.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Frame, NoFrame> {
        let deadline = Instant::now() + timeout;
        let mut slot = lock(&self.shared.slot);
        loop {
            if let Some(frame) = slot.frame.take() {
                return Ok(frame);
            }
            if slot.ended {
                return Err(NoFrame::Ended);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            slot = self
                .shared
                .frame_ready
                .wait_timeout(slot, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(slot);
        let health = self.health();
        match health.state {
            HealthState::Offline => {
                Err(NoFrame::Offline(health.last_error.unwrap_or_else(|| {
                    format!("camera {} not open yet", self.shared.id)
                })))
            }
            _ => Err(NoFrame::Timeout),
        }
    }

    /// Stops the thread; waits at most `stop_timeout`, then leaves a stuck thread detached.
    pub fn stop(mut self) -> StopReport {
        self.shutdown()
    }

    fn shutdown(&mut self) -> StopReport {
        let Some(thread) = self.thread.take() else {
            return StopReport::Joined;
        };
        self.shared.stop.stop();
        let deadline = Instant::now() + self.shared.settings.stop_timeout;
        let mut status = lock(&self.shared.status);
        while !status.ended {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                status.detached = true;
                DETACHED.fetch_add(1, Ordering::Relaxed);
                let stuck_in = status.call.map(|(call, since)| (call, since.elapsed()));
                // Dropping the handle detaches the thread.
                drop(thread);
                return StopReport::Detached {
                    camera: self.shared.id.clone(),
                    stuck_in,
                };
            }
            status = self
                .shared
                .thread_ended
                .wait_timeout(status, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(status);
        // It has ended; a panic in it was already reported by the panic hook.
        let _ = thread.join();
        StopReport::Joined
    }
}

impl Drop for CaptureThread {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Marks the thread ended however it leaves (return or panic), waking `stop` and consumers.
struct EndGuard(Arc<Shared>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        let shared = &self.0;
        lock(&shared.slot).ended = true;
        shared.frame_ready.notify_all();
        let mut status = lock(&shared.status);
        status.ended = true;
        status.call = None;
        if status.detached {
            DETACHED.fetch_sub(1, Ordering::Relaxed);
        }
        drop(status);
        shared.thread_ended.notify_all();
    }
}

/// What one source call came to.
enum Outcome<T> {
    Done(T),
    Failed(CameraError),
    Panicked(String),
}

/// Calls into the source with the call recorded (for the stuck-call report) and panics caught.
fn call<T>(
    shared: &Shared,
    name: &'static str,
    f: impl FnOnce() -> Result<T, CameraError>,
) -> Outcome<T> {
    lock(&shared.status).call = Some((name, Instant::now()));
    let result = catch_unwind(AssertUnwindSafe(f));
    lock(&shared.status).call = None;
    match result {
        Ok(Ok(v)) => Outcome::Done(v),
        Ok(Err(e)) => Outcome::Failed(e),
        Err(p) => Outcome::Panicked(panic_message(p.as_ref())),
    }
}

fn run(shared: Arc<Shared>, mut source: Box<dyn FrameSource>) {
    let _end = EndGuard(Arc::clone(&shared));
    source.set_stop_signal(shared.stop.clone());
    let settings = shared.settings;
    let mut backoff = Backoff::new(settings.backoff_min, settings.backoff_max);
    while !shared.stop.is_stopped() {
        match call(&shared, "open", || source.open()) {
            Outcome::Done(_) => {
                let mut status = lock(&shared.status);
                status.tracker.opened();
                status.progress = Instant::now();
            }
            Outcome::Failed(CameraError::Stopped) => break,
            Outcome::Failed(e) => {
                went_offline(&shared, e.to_string());
                shared.stop.sleep(backoff.next_delay());
                continue;
            }
            Outcome::Panicked(p) => {
                went_offline(&shared, format!("camera {}: open panicked: {p}", shared.id));
                shared.stop.sleep(backoff.next_delay());
                continue;
            }
        }
        let lost = capture(&shared, source.as_mut(), &mut backoff);
        let _ = call(&shared, "close", || {
            source.close();
            Ok(())
        });
        match lost {
            None => return,
            Some(error) => {
                went_offline(&shared, error);
                shared.stop.sleep(backoff.next_delay());
            }
        }
    }
    let _ = call(&shared, "close", || {
        source.close();
        Ok(())
    });
}

/// Reads frames from an open source until it is lost (`Some(error)`) or a stop (`None`).
fn capture(shared: &Shared, source: &mut dyn FrameSource, backoff: &mut Backoff) -> Option<String> {
    let mut worked = false;
    while !shared.stop.is_stopped() {
        match call(shared, "next_frame", || source.next_frame()) {
            Outcome::Done(frame) => {
                if !worked {
                    worked = true;
                    backoff.reset();
                }
                deliver(shared, frame);
            }
            Outcome::Failed(CameraError::Stopped) => return None,
            Outcome::Failed(e @ CameraError::Corrupt { .. }) => {
                lock(&shared.status)
                    .tracker
                    .bad_line(BadLine::Rejected, e.to_string());
            }
            Outcome::Failed(e @ CameraError::Timeout { .. }) => {
                // Still open: keep asking. Offline until a frame comes, then it counts as a
                // reconnect.
                let mut status = lock(&shared.status);
                status.timeouts += 1;
                status.tracker.lost(e.to_string());
                drop(status);
                clear_slot(shared);
            }
            Outcome::Failed(e) => return Some(e.to_string()),
            Outcome::Panicked(p) => {
                let msg = format!("camera {}: source panicked: {p}", shared.id);
                lock(&shared.status)
                    .tracker
                    .bad_line(BadLine::Rejected, msg.clone());
                // Its state after unwinding is unknown: close and reopen it.
                return Some(msg);
            }
        }
    }
    None
}

fn deliver(shared: &Shared, frame: Frame) {
    {
        let mut status = lock(&shared.status);
        if status.tracker.health().state == HealthState::Offline {
            status.tracker.opened(); // back after a timeout
        }
        status.tracker.reading(SystemTime::now());
        status.progress = Instant::now();
    }
    let mut slot = lock(&shared.slot);
    if slot.frame.replace(frame).is_some() {
        slot.dropped += 1;
    }
    drop(slot);
    shared.frame_ready.notify_all();
}

fn went_offline(shared: &Shared, error: String) {
    lock(&shared.status).tracker.lost(error);
    clear_slot(shared);
}

/// An offline camera hands out nothing, not even a frame from before it went away; such a frame
/// counts as dropped, so frames = taken + dropped + the one waiting.
fn clear_slot(shared: &Shared) {
    let mut slot = lock(&shared.slot);
    if slot.frame.take().is_some() {
        slot.dropped += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camera_health_maps_onto_device_health() {
        let h = CameraHealth {
            state: HealthState::Degraded,
            last_error: Some("corrupt".into()),
            last_frame: None,
            counters: CameraCounters {
                frames: 5,
                corrupt: 2,
                dropped: 3,
                timeouts: 1,
                reconnects: 4,
            },
            stuck: None,
        };
        let d = h.to_device_health();
        assert_eq!(d.state, HealthState::Degraded);
        assert_eq!(
            (
                d.counters.lines,
                d.counters.rejected,
                d.counters.dropped,
                d.counters.reconnects
            ),
            (5, 2, 3, 4)
        );
    }

    #[test]
    fn stop_report_names_the_stuck_call() {
        let r = StopReport::Detached {
            camera: "cam1".into(),
            stuck_in: Some(("next_frame", Duration::from_secs(3))),
        };
        assert_eq!(
            r.to_string(),
            "camera cam1: capture thread stuck in next_frame for 3.0s, left detached"
        );
    }
}
