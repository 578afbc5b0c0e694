//! How long to wait before trying again: exponential backoff with jitter, shared by the HTTP
//! retries of [`super::Client`] and the reconnects of the live stream.

use std::time::Duration;

/// Exponential backoff: attempt `n` (from 0) waits up to `min · 2ⁿ`, never more than `max`.
///
/// The wait is jittered within the upper half of that ceiling ("equal jitter"), so a crowd of
/// clients cut off at once (a server restart) does not come back at once, and never waits less
/// than `min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
}

impl Backoff {
    pub const fn new(min: Duration, max: Duration) -> Self {
        Self { min, max }
    }

    /// The longest wait before attempt `attempt` (0 is the first retry): `min · 2^attempt`,
    /// capped at `max` (and never below `min`).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(31));
        self.min.saturating_mul(factor).min(self.max).max(self.min)
    }

    /// The wait before attempt `attempt` for a given `unit` in `[0, 1]` (the random part):
    /// between half the ceiling (at least `min`) and the ceiling.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let ceiling = self.ceiling(attempt);
        let floor = (ceiling / 2).max(self.min).min(ceiling);
        let spread = (ceiling - floor).as_secs_f64() * unit.clamp(0.0, 1.0);
        floor + Duration::from_secs_f64(spread)
    }

    /// [`Backoff::delay`] with a fresh random `unit`.
    pub fn jittered(&self, attempt: u32) -> Duration {
        self.delay(attempt, super::rt::random_unit())
    }
}

/// How the client retries a call that did not get an answer (connection refused or dropped,
/// timed out) or got 502/503/504. Mutating calls are retried with the same `Idempotency-Key`,
/// so a retry never does the thing twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included; 1 turns retries off.
    pub attempts: u32,
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    /// 4 tries, waiting about 100 ms, 200 ms, then 400 ms in between.
    fn default() -> Self {
        Self {
            attempts: 4,
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(2)),
        }
    }
}

impl RetryPolicy {
    /// One try only.
    pub const fn never() -> Self {
        Self {
            attempts: 1,
            backoff: Backoff::new(Duration::ZERO, Duration::ZERO),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn the_ceiling_doubles_from_min_and_stops_at_max() {
        let backoff = Backoff::new(ms(100), ms(3000));
        let ceilings: Vec<_> = (0..7).map(|n| backoff.ceiling(n)).collect();
        assert_eq!(
            ceilings,
            [
                ms(100),
                ms(200),
                ms(400),
                ms(800),
                ms(1600),
                ms(3000),
                ms(3000)
            ]
        );
        assert_eq!(backoff.ceiling(u32::MAX), ms(3000), "no overflow");
    }

    #[test]
    fn every_delay_lies_between_half_the_ceiling_and_the_ceiling_and_within_min_max() {
        let backoff = Backoff::new(ms(100), ms(3000));
        for attempt in 0..40 {
            let ceiling = backoff.ceiling(attempt);
            for unit in [0.0, 0.25, 0.5, 0.999, 1.0, -3.0, 7.0] {
                let delay = backoff.delay(attempt, unit);
                assert!(
                    delay <= ceiling,
                    "{attempt} {unit}: {delay:?} > {ceiling:?}"
                );
                assert!(delay >= ceiling / 2, "{attempt} {unit}: {delay:?}");
                assert!(delay >= ms(100) && delay <= ms(3000), "{delay:?}");
            }
            for _ in 0..50 {
                let delay = backoff.jittered(attempt);
                assert!(delay >= ceiling / 2 && delay <= ceiling, "{delay:?}");
            }
        }
        assert_eq!(
            backoff.delay(0, 0.7),
            ms(100),
            "the first wait is exactly min"
        );
        assert_eq!(backoff.delay(10, 0.0), ms(1500));
        assert_eq!(backoff.delay(10, 1.0), ms(3000));
    }

    #[test]
    fn the_default_policy_tries_four_times_waiting_100_200_400_ms_at_most() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.attempts, 4);
        let waits: Vec<_> = (0..policy.attempts - 1)
            .map(|n| policy.backoff.ceiling(n))
            .collect();
        assert_eq!(waits, [ms(100), ms(200), ms(400)]);
    }

    #[test]
    fn a_zero_backoff_never_waits() {
        let policy = RetryPolicy::never();
        assert_eq!(policy.backoff.jittered(3), Duration::ZERO);
    }
}
