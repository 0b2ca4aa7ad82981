//! Reconnect delays: exponential with full jitter, capped, reset after a good connection.

use std::time::Duration;

/// Exponential backoff with jitter; pure apart from its seed.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    /// Delays start near `min` and double up to `max`.
    pub fn new(min: Duration, max: Duration, seed: u64) -> Self {
        Backoff {
            min,
            max: max.max(min),
            attempt: 0,
            rng: seed | 1,
        }
    }

    /// The next delay: a random point in the upper half of `min * 2^attempt`, capped at `max`.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self
            .min
            .saturating_mul(1u32.checked_shl(self.attempt.min(20)).unwrap_or(u32::MAX))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let fraction = 0.5 + (self.rng % 1000) as f64 / 2000.0;
        ceiling.mul_f64(fraction)
    }

    /// After a successful connection the next failure starts small again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_jitters_caps_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), 42);
        let delays: Vec<Duration> = (0..12).map(|_| b.next_delay()).collect();
        assert!(delays[0] >= Duration::from_millis(50) && delays[0] <= Duration::from_millis(100));
        assert!(delays[3] >= Duration::from_millis(400) && delays[3] <= Duration::from_millis(800));
        for d in &delays {
            assert!(*d <= Duration::from_secs(5));
        }
        assert!(
            delays[11] >= Duration::from_millis(2500),
            "capped near max: {:?}",
            delays[11]
        );
        let distinct: std::collections::HashSet<_> = delays[8..].iter().collect();
        assert!(
            distinct.len() > 1,
            "jitter spreads reconnects of many stores"
        );
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}
