//! A stop request that sources can wait on, so a source sleeping between polls wakes at once
//! when its capture thread is asked to stop instead of finishing its nap.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A one-way "stop now" flag that also wakes sleepers; clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct StopSignal {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl StopSignal {
    /// A signal not yet raised.
    pub fn new() -> Self {
        Self::default()
    }

    /// Raises the signal and wakes every sleeper.
    pub fn stop(&self) {
        *self.flag() = true;
        self.inner.1.notify_all();
    }

    /// True once [`StopSignal::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        *self.flag()
    }

    /// Sleeps for `d` or until the signal is raised; true if it was raised.
    pub fn sleep(&self, d: Duration) -> bool {
        match Instant::now().checked_add(d) {
            Some(deadline) => self.sleep_until(deadline),
            None => self.sleep_until(Instant::now() + Duration::from_secs(86_400 * 365)),
        }
    }

    /// Sleeps until `deadline` or until the signal is raised; true if it was raised.
    pub fn sleep_until(&self, deadline: Instant) -> bool {
        let mut stopped = self.flag();
        loop {
            if *stopped {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            stopped = self
                .inner
                .1
                .wait_timeout(stopped, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn flag(&self) -> MutexGuard<'_, bool> {
        // A bool cannot be left half-written by a panicking holder.
        self.inner.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_ends_early_when_stopped_from_another_thread() {
        let s = StopSignal::new();
        assert!(!s.sleep(Duration::from_millis(1)));
        let s2 = s.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            s2.stop();
        });
        let started = Instant::now();
        assert!(s.sleep(Duration::from_secs(30)));
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(s.is_stopped());
        t.join().ok();
    }
}
