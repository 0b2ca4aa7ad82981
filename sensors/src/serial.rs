//! Reconnecting serial line reader: owns one serial device on its own thread, frames its bytes
//! into lines, decodes them, hands readings over a bounded channel and keeps the device's health.
//!
//! The thread opens the port, reads with a short timeout (so it notices a stop request and can
//! write a poll command on schedule), and on any open, read or write failure marks the device
//! `offline`, closes the port and opens it again with exponential backoff. A USB adapter that is
//! unplugged makes reads fail and its path vanish; when it comes back the next attempt succeeds.
//! When the consumer's channel is full the new reading is dropped and counted rather than
//! blocking the thread: a blocked reader would only move the loss into the kernel's buffer, out
//! of sight of the counters.

use std::convert::Infallible;
use std::fmt::Display;
use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use thiserror::Error;

use crate::framer::{Framed, LineFramer, DEFAULT_MAX_LINE};
use crate::health::{BadLine, DeviceHealth, HealthTracker};

/// Parity setting of a serial port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SerialParity {
    /// No parity bit (8N1, what most shelf devices use).
    #[default]
    None,
    /// Odd parity.
    Odd,
    /// Even parity (some SICS scales ship 7E1 or 8E1).
    Even,
}

impl From<SerialParity> for serialport::Parity {
    fn from(p: SerialParity) -> Self {
        match p {
            SerialParity::None => serialport::Parity::None,
            SerialParity::Odd => serialport::Parity::Odd,
            SerialParity::Even => serialport::Parity::Even,
        }
    }
}

/// Unanswered polls in a row after which an open device is reported `degraded`.
pub const UNANSWERED_POLLS: u32 = 3;

/// A command written to the device at a fixed interval (e.g. SICS `SI` to a polled scale).
/// A device that sends no good line for [`UNANSWERED_POLLS`] intervals is reported `degraded`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialPoll {
    /// Bytes to write, line end included.
    pub command: Vec<u8>,
    /// Time between two polls.
    pub every: Duration,
}

/// How to reach and read one serial device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialSettings {
    /// Device path, ideally a stable one (`/dev/serial/by-id/...`) or a symlink.
    pub path: String,
    /// Baud rate.
    pub baud: u32,
    /// Parity; data bits are 8 and stop bits 1.
    pub parity: SerialParity,
    /// Longest line in bytes; longer lines are discarded and counted.
    pub max_line: usize,
    /// Read timeout; bounds how late a stop request or a poll is noticed.
    pub read_timeout: Duration,
    /// First delay before reopening a lost port.
    pub backoff_min: Duration,
    /// Longest delay between reopen attempts.
    pub backoff_max: Duration,
    /// Readings buffered for the consumer before new ones are dropped.
    pub channel_capacity: usize,
    /// Optional poll command for devices that only answer when asked.
    pub poll: Option<SerialPoll>,
}

impl SerialSettings {
    /// Settings for `path` at `baud` with 8N1, 256-byte lines and 100 ms .. 30 s backoff.
    pub fn new(path: impl Into<String>, baud: u32) -> Self {
        Self {
            path: path.into(),
            baud,
            parity: SerialParity::None,
            max_line: DEFAULT_MAX_LINE,
            read_timeout: Duration::from_millis(100),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(30),
            channel_capacity: 64,
            poll: None,
        }
    }
}

/// Why a reader could not be started.
#[derive(Debug, Error)]
pub enum SerialError {
    /// A setting is unusable.
    #[error("invalid serial settings: {0}")]
    BadSettings(&'static str),
    /// The reader thread could not be spawned.
    #[error("cannot start serial reader thread: {0}")]
    Spawn(#[source] std::io::Error),
}

/// Exponential backoff between reopen attempts: min, 2*min, 4*min, ... capped at max.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Backoff starting at `min` and never exceeding `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        let max = max.max(min);
        Self {
            min,
            max,
            next: min,
        }
    }

    /// The delay to wait now; doubles the following one.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        delay
    }

    /// Starts again at the minimum (after the device worked).
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

/// A serial device read on its own thread; dropping it stops and joins the thread.
#[derive(Debug)]
pub struct SerialLineReader {
    path: String,
    stop: Arc<AtomicBool>,
    health: Arc<Mutex<HealthTracker>>,
    thread: Option<JoinHandle<()>>,
}

impl SerialLineReader {
    /// Starts reading raw lines from the device.
    pub fn spawn(settings: SerialSettings) -> Result<(Self, Receiver<String>), SerialError> {
        Self::spawn_with(settings, |line: &str| Ok::<_, Infallible>(line.to_owned()))
    }

    /// Starts reading lines decoded by `decode`; lines it rejects are counted, not sent.
    pub fn spawn_with<T, E, F>(
        settings: SerialSettings,
        decode: F,
    ) -> Result<(Self, Receiver<T>), SerialError>
    where
        T: Send + 'static,
        E: Display,
        F: FnMut(&str) -> Result<T, E> + Send + 'static,
    {
        if settings.path.is_empty() {
            return Err(SerialError::BadSettings("empty device path"));
        }
        if settings.baud == 0 {
            return Err(SerialError::BadSettings("baud rate 0"));
        }
        if settings.channel_capacity == 0 {
            return Err(SerialError::BadSettings("channel capacity 0"));
        }
        if settings.read_timeout.is_zero() {
            return Err(SerialError::BadSettings("read timeout 0"));
        }
        let (tx, rx) = sync_channel(settings.channel_capacity);
        let stop = Arc::new(AtomicBool::new(false));
        let health = Arc::new(Mutex::new(HealthTracker::new()));
        let path = settings.path.clone();
        let session = Session {
            settings,
            decode,
            tx,
            stop: Arc::clone(&stop),
            health: Arc::clone(&health),
        };
        let thread = std::thread::Builder::new()
            .name(format!("serial {path}"))
            .spawn(move || session.run())
            .map_err(SerialError::Spawn)?;
        Ok((
            Self {
                path,
                stop,
                health,
                thread: Some(thread),
            },
            rx,
        ))
    }

    /// The device path this reader opens.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// A snapshot of the device's health.
    pub fn health(&self) -> DeviceHealth {
        lock(&self.health).health().clone()
    }

    /// Stops the thread and waits for it (at most about one read timeout).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // A panic in the thread has already been reported by the panic hook.
            let _ = thread.join();
        }
    }
}

impl Drop for SerialLineReader {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn lock(m: &Mutex<HealthTracker>) -> MutexGuard<'_, HealthTracker> {
    // The tracker stays consistent even if a holder panicked: every update is one field write.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Everything the reader thread owns.
struct Session<T, F> {
    settings: SerialSettings,
    decode: F,
    tx: SyncSender<T>,
    stop: Arc<AtomicBool>,
    health: Arc<Mutex<HealthTracker>>,
}

/// Why one connection ended.
enum Ended {
    /// Stop requested or the consumer went away: the thread exits.
    Exit,
    /// The port failed; reopen after backoff. `worked` says whether a good line arrived.
    Lost { error: String, worked: bool },
}

impl<T, E, F> Session<T, F>
where
    E: Display,
    F: FnMut(&str) -> Result<T, E>,
{
    fn run(mut self) {
        let mut backoff = Backoff::new(self.settings.backoff_min, self.settings.backoff_max);
        let mut framer = LineFramer::new(self.settings.max_line);
        while !self.stopped() {
            let port = serialport::new(self.settings.path.as_str(), self.settings.baud)
                .parity(self.settings.parity.into())
                .data_bits(serialport::DataBits::Eight)
                .stop_bits(serialport::StopBits::One)
                .flow_control(serialport::FlowControl::None)
                .timeout(self.settings.read_timeout)
                .open_native();
            let port = match port {
                Ok(port) => port,
                Err(e) => {
                    lock(&self.health).lost(format!("open {}: {e}", self.settings.path));
                    self.sleep(backoff.next_delay());
                    continue;
                }
            };
            lock(&self.health).opened();
            framer.reset();
            match self.read_port(port, &mut framer) {
                Ended::Exit => return,
                Ended::Lost { error, worked } => {
                    lock(&self.health).lost(error);
                    if worked {
                        backoff.reset();
                    }
                    self.sleep(backoff.next_delay());
                }
            }
        }
    }

    fn read_port(&mut self, mut port: serialport::TTYPort, framer: &mut LineFramer) -> Ended {
        let mut buf = [0u8; 512];
        let mut next_poll = Instant::now();
        let mut worked = false;
        let mut last_good = Instant::now();
        let mut silence_reported = false;
        loop {
            if self.stopped() {
                return Ended::Exit;
            }
            if let Some(poll) = &self.settings.poll {
                let now = Instant::now();
                let patience = poll.every.saturating_mul(UNANSWERED_POLLS);
                if !silence_reported && now.duration_since(last_good) > patience {
                    lock(&self.health).silent(format!(
                        "no answer from {} to {UNANSWERED_POLLS} polls",
                        self.settings.path
                    ));
                    silence_reported = true;
                }
                if now >= next_poll {
                    if let Err(e) = port.write_all(&poll.command) {
                        let error = format!("write {}: {e}", self.settings.path);
                        return Ended::Lost { error, worked };
                    }
                    next_poll = now + poll.every;
                }
            }
            let n = match port.read(&mut buf) {
                Ok(0) => {
                    let error = format!("read {}: end of file", self.settings.path);
                    return Ended::Lost { error, worked };
                }
                Ok(n) => n,
                Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                    continue
                }
                Err(e) => {
                    let error = format!("read {}: {e}", self.settings.path);
                    return Ended::Lost { error, worked };
                }
            };
            let mut consumer_gone = false;
            let mut good = false;
            framer.push_with(&buf[..n], |framed| {
                if consumer_gone {
                    return;
                }
                match self.deliver(framed) {
                    Delivery::Good => good = true,
                    Delivery::Bad => {}
                    Delivery::ConsumerGone => consumer_gone = true,
                }
            });
            if consumer_gone {
                return Ended::Exit;
            }
            if good {
                worked = true;
                last_good = Instant::now();
                silence_reported = false;
            }
        }
    }

    fn deliver(&mut self, framed: Framed) -> Delivery {
        let line = match framed {
            Framed::Line(line) => line,
            Framed::Overlong { len } => {
                let msg = format!("overlong line ({len} bytes) discarded");
                lock(&self.health).bad_line(BadLine::Overlong, msg);
                return Delivery::Bad;
            }
            Framed::NotUtf8 { len } => {
                let msg = format!("line of {len} bytes is not UTF-8");
                lock(&self.health).bad_line(BadLine::Garbage, msg);
                return Delivery::Bad;
            }
        };
        let value = match (self.decode)(&line) {
            Ok(value) => value,
            Err(e) => {
                lock(&self.health).bad_line(BadLine::Rejected, format!("rejected line: {e}"));
                return Delivery::Bad;
            }
        };
        // Health first, so a consumer that has received a reading also sees it counted.
        // try_send never blocks, so holding the lock across it is cheap.
        let mut health = lock(&self.health);
        health.reading(SystemTime::now());
        match self.tx.try_send(value) {
            Ok(()) => Delivery::Good,
            Err(TrySendError::Full(_)) => {
                health.dropped();
                Delivery::Good
            }
            Err(TrySendError::Disconnected(_)) => Delivery::ConsumerGone,
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Sleeps in short slices so a stop request is honoured within a read timeout.
    fn sleep(&self, total: Duration) {
        let deadline = Instant::now() + total;
        let slice = self.settings.read_timeout.min(Duration::from_millis(50));
        while !self.stopped() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(slice));
        }
    }
}

/// What happened to one framed line.
enum Delivery {
    Good,
    Bad,
    ConsumerGone,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(100), ms(700));
        let got: Vec<_> = (0..5).map(|_| b.next_delay()).collect();
        assert_eq!(got, vec![ms(100), ms(200), ms(400), ms(700), ms(700)]);
        b.reset();
        assert_eq!(b.next_delay(), ms(100));
    }

    #[test]
    fn backoff_with_max_below_min_stays_at_min() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(100), ms(10));
        assert_eq!(b.next_delay(), ms(100));
        assert_eq!(b.next_delay(), ms(100));
    }

    #[test]
    fn bad_settings_are_refused_before_a_thread_starts() {
        let bad = |f: fn(&mut SerialSettings)| {
            let mut s = SerialSettings::new("/dev/ttyUSB0", 9600);
            f(&mut s);
            SerialLineReader::spawn(s).err()
        };
        assert!(matches!(
            bad(|s| s.path.clear()),
            Some(SerialError::BadSettings(_))
        ));
        assert!(matches!(
            bad(|s| s.baud = 0),
            Some(SerialError::BadSettings(_))
        ));
        assert!(matches!(
            bad(|s| s.channel_capacity = 0),
            Some(SerialError::BadSettings(_))
        ));
    }

    #[test]
    fn missing_device_is_offline_with_the_open_error() {
        let mut s = SerialSettings::new("/nonexistent/edge-sensors-tty", 9600);
        s.backoff_min = Duration::from_millis(10);
        let (reader, _rx) = SerialLineReader::spawn(s).expect("spawn");
        let deadline = Instant::now() + Duration::from_secs(5);
        while reader.health().last_error.is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let h = reader.health();
        assert_eq!(h.state, crate::HealthState::Offline);
        let err = h.last_error.unwrap_or_default();
        assert!(
            err.starts_with("open /nonexistent/edge-sensors-tty"),
            "{err}"
        );
        reader.stop();
    }
}
