//! Heartbeats from the pipeline stages and the systemd watchdog that trusts only fresh ones.
//!
//! systemd restarts the daemon when `WATCHDOG=1` stops arriving. Feeding it from a timer alone
//! would keep a daemon alive whose camera or inference thread is stuck, so the watchdog is fed
//! only while every registered stage has beaten within `heartbeat_stale_secs`.

use sd_notify::NotifyState;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A stage's heartbeat: call `beat` whenever the stage completes a unit of work.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    name: &'static str,
    last_ms: Arc<AtomicU64>,
    origin: Instant,
}

impl Heartbeat {
    /// Records progress now.
    pub fn beat(&self) {
        let ms = self.origin.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// The stage's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// Every registered heartbeat.
#[derive(Debug, Clone)]
pub struct Heartbeats {
    origin: Instant,
    beats: Arc<Mutex<Vec<Heartbeat>>>,
}

impl Default for Heartbeats {
    fn default() -> Self {
        Self::new()
    }
}

impl Heartbeats {
    /// An empty registry.
    pub fn new() -> Self {
        Heartbeats {
            origin: Instant::now(),
            beats: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Registers a stage; it counts as having beaten now.
    pub fn register(&self, name: &'static str) -> Heartbeat {
        let hb = Heartbeat {
            name,
            last_ms: Arc::new(AtomicU64::new(0)),
            origin: self.origin,
        };
        hb.beat();
        if let Ok(mut beats) = self.beats.lock() {
            beats.push(hb.clone());
        }
        hb
    }

    /// Age of every stage's last beat.
    pub fn ages(&self) -> Vec<(&'static str, Duration)> {
        let now = self.origin.elapsed().as_millis() as u64;
        match self.beats.lock() {
            Ok(beats) => beats
                .iter()
                .map(|b| {
                    let last = b.last_ms.load(Ordering::Relaxed);
                    (b.name, Duration::from_millis(now.saturating_sub(last)))
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// The stages whose last beat is older than `stale`; empty means "feed the watchdog".
pub fn stale_stages(ages: &[(&'static str, Duration)], stale: Duration) -> Vec<&'static str> {
    ages.iter()
        .filter(|(_, age)| *age > stale)
        .map(|(name, _)| *name)
        .collect()
}

/// Sends a state to systemd when running under it; a failure is logged, never fatal.
pub fn notify(states: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        log::warn!("sd_notify failed: {e}");
    }
}

/// Feeds the systemd watchdog at half its interval while every stage is fresh.
pub async fn feed(
    heartbeats: Heartbeats,
    interval: Duration,
    stale: Duration,
    mut shutdown: crate::shutdown::ShutdownListener,
) -> Result<(), String> {
    let mut tick = tokio::time::interval(interval / 2);
    let mut withheld = false;
    loop {
        tokio::select! {
            _ = shutdown.wait() => return Ok(()),
            _ = tick.tick() => {}
        }
        let stale_stages = stale_stages(&heartbeats.ages(), stale);
        if stale_stages.is_empty() {
            if withheld {
                log::info!("pipeline progressing again; feeding the watchdog");
                withheld = false;
            }
            notify(&[NotifyState::Watchdog]);
        } else if !withheld {
            log::error!(
                "no progress from {} for over {}s; withholding the watchdog so systemd restarts us",
                stale_stages.join(", "),
                stale.as_secs()
            );
            withheld = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stalled_stage_withholds_the_watchdog() {
        let s = Duration::from_secs;
        assert!(stale_stages(&[("camera", s(1)), ("store", s(29))], s(30)).is_empty());
        assert_eq!(
            stale_stages(&[("camera", s(31)), ("store", s(2))], s(30)),
            vec!["camera"]
        );
    }

    #[test]
    fn beats_reset_the_age() {
        let hbs = Heartbeats::new();
        let hb = hbs.register("pipeline");
        std::thread::sleep(Duration::from_millis(30));
        assert!(hbs.ages()[0].1 >= Duration::from_millis(25));
        hb.beat();
        assert!(hbs.ages()[0].1 < Duration::from_millis(25));
    }
}
