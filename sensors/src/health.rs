//! Device health: the `ok` / `degraded` / `offline` state of one device with its last error,
//! last reading time and counters, kept by a pure tracker the I/O code feeds with events.

use std::time::SystemTime;

/// Good lines in a row needed to go from `degraded` back to `ok`.
pub const RECOVER_AFTER_GOOD_LINES: u32 = 3;

/// Coarse state of a device, as reported in metrics and the health message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthState {
    /// Connected and its recent lines were good.
    Ok,
    /// Connected but sending garbage, overlong or unparseable lines, or readings are being
    /// dropped because the consumer is slow.
    Degraded,
    /// Not connected: never opened, unplugged, or the port failed; readings are absent, not zero.
    Offline,
}

impl HealthState {
    /// The lower-case name used in metrics labels and payloads.
    pub fn as_str(&self) -> &'static str {
        match self {
            HealthState::Ok => "ok",
            HealthState::Degraded => "degraded",
            HealthState::Offline => "offline",
        }
    }
}

/// Running totals for one device since it was set up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceCounters {
    /// Lines that parsed into readings.
    pub lines: u64,
    /// Lines rejected as not UTF-8 (line noise).
    pub garbage: u64,
    /// Lines discarded as longer than the bound.
    pub overlong: u64,
    /// Lines the protocol parser rejected (bad check digit, unknown response, ...).
    pub rejected: u64,
    /// Readings dropped because the consumer's channel was full.
    pub dropped: u64,
    /// Times the port was opened again after it had been lost.
    pub reconnects: u64,
}

/// Snapshot of one device's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceHealth {
    /// Current state.
    pub state: HealthState,
    /// Most recent error, kept after recovery so an operator can see what happened.
    pub last_error: Option<String>,
    /// When the last good reading arrived.
    pub last_reading: Option<SystemTime>,
    /// Running totals.
    pub counters: DeviceCounters,
}

impl Default for DeviceHealth {
    fn default() -> Self {
        Self {
            state: HealthState::Offline,
            last_error: None,
            last_reading: None,
            counters: DeviceCounters::default(),
        }
    }
}

/// Turns connection and line events into a [`DeviceHealth`]; no I/O, no clock of its own.
#[derive(Debug, Clone, Default)]
pub struct HealthTracker {
    health: DeviceHealth,
    ever_opened: bool,
    good_in_row: u32,
}

/// A line that did not yield a reading, by cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadLine {
    /// Not UTF-8.
    Garbage,
    /// Over the length bound.
    Overlong,
    /// Rejected by the protocol parser.
    Rejected,
}

impl HealthTracker {
    /// A device not yet opened (`offline`).
    pub fn new() -> Self {
        Self::default()
    }

    /// The current snapshot.
    pub fn health(&self) -> &DeviceHealth {
        &self.health
    }

    /// The port was opened; counts a reconnect if it had been open before.
    pub fn opened(&mut self) {
        if self.ever_opened {
            self.health.counters.reconnects += 1;
        }
        self.ever_opened = true;
        self.good_in_row = 0;
        self.health.state = HealthState::Ok;
    }

    /// Opening failed or the open port failed; the device is offline.
    pub fn lost(&mut self, error: impl Into<String>) {
        self.health.state = HealthState::Offline;
        self.health.last_error = Some(error.into());
        self.good_in_row = 0;
    }

    /// A good reading arrived at `now`.
    pub fn reading(&mut self, now: SystemTime) {
        self.health.counters.lines += 1;
        self.health.last_reading = Some(now);
        self.good_in_row = self.good_in_row.saturating_add(1);
        if self.health.state == HealthState::Degraded
            && self.good_in_row >= RECOVER_AFTER_GOOD_LINES
        {
            self.health.state = HealthState::Ok;
        }
    }

    /// A line yielded no reading; the device is degraded until enough good lines follow.
    pub fn bad_line(&mut self, kind: BadLine, error: impl Into<String>) {
        let c = &mut self.health.counters;
        match kind {
            BadLine::Garbage => c.garbage += 1,
            BadLine::Overlong => c.overlong += 1,
            BadLine::Rejected => c.rejected += 1,
        }
        self.degrade(error);
    }

    /// A polled device stopped answering while its port stays open (e.g. a scale switched off
    /// behind a USB adapter that is still plugged in); degraded until good lines return.
    pub fn silent(&mut self, error: impl Into<String>) {
        self.degrade(error);
    }

    /// A reading was dropped because the consumer was full.
    pub fn dropped(&mut self) {
        self.health.counters.dropped += 1;
        self.degrade("consumer full: reading dropped");
    }

    fn degrade(&mut self, error: impl Into<String>) {
        self.health.last_error = Some(error.into());
        self.good_in_row = 0;
        if self.health.state == HealthState::Ok {
            self.health.state = HealthState::Degraded;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_offline_and_opens_ok() {
        let mut t = HealthTracker::new();
        assert_eq!(t.health().state, HealthState::Offline);
        t.opened();
        assert_eq!(t.health().state, HealthState::Ok);
        assert_eq!(t.health().counters.reconnects, 0);
    }

    #[test]
    fn garbage_degrades_and_good_lines_recover() {
        let mut t = HealthTracker::new();
        t.opened();
        t.bad_line(BadLine::Garbage, "not utf-8");
        assert_eq!(t.health().state, HealthState::Degraded);
        let now = SystemTime::now();
        for _ in 1..RECOVER_AFTER_GOOD_LINES {
            t.reading(now);
            assert_eq!(t.health().state, HealthState::Degraded);
        }
        t.reading(now);
        assert_eq!(t.health().state, HealthState::Ok);
        assert_eq!(t.health().last_reading, Some(now));
        assert_eq!(t.health().last_error.as_deref(), Some("not utf-8"));
        assert_eq!(t.health().counters.garbage, 1);
        assert_eq!(
            t.health().counters.lines,
            u64::from(RECOVER_AFTER_GOOD_LINES)
        );
    }

    #[test]
    fn loss_is_offline_and_reopen_counts_a_reconnect() {
        let mut t = HealthTracker::new();
        t.opened();
        t.lost("read: EIO");
        assert_eq!(t.health().state, HealthState::Offline);
        t.bad_line(BadLine::Rejected, "late line");
        assert_eq!(t.health().state, HealthState::Offline, "stays offline");
        t.lost("open: ENOENT");
        t.opened();
        assert_eq!(t.health().state, HealthState::Ok);
        assert_eq!(t.health().counters.reconnects, 1);
        assert_eq!(t.health().counters.rejected, 1);
    }

    #[test]
    fn silence_degrades_an_open_device_but_not_an_offline_one() {
        let mut t = HealthTracker::new();
        t.silent("no answer");
        assert_eq!(t.health().state, HealthState::Offline);
        t.opened();
        t.silent("no answer to 3 polls");
        assert_eq!(t.health().state, HealthState::Degraded);
        assert_eq!(
            t.health().last_error.as_deref(),
            Some("no answer to 3 polls")
        );
    }

    #[test]
    fn drops_degrade() {
        let mut t = HealthTracker::new();
        t.opened();
        t.dropped();
        t.bad_line(BadLine::Overlong, "overlong");
        assert_eq!(t.health().state, HealthState::Degraded);
        assert_eq!(t.health().counters.dropped, 1);
        assert_eq!(t.health().counters.overlong, 1);
        assert_eq!(HealthState::Degraded.as_str(), "degraded");
    }
}
