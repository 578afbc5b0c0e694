//! When the next order may start: a token bucket shared by every customer (`--rate`), or a
//! random gap between orders (the booth demo). The arithmetic is pure ([`TokenBucket::take`]
//! is told the time), so it is tested without a clock.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::parse::TimeRange;

/// A token bucket: `rate` tokens a second, at most `burst` saved up. Each start takes one.
/// Tokens may go below zero: a start that finds none reserves the next one and is told how
/// long to wait for it, so waiting customers are served in turn at exactly `rate`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`. `rate` > 0; `burst` ≥ 1.
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        let burst = burst.max(1.0);
        Self {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Take a token at `now`: how long to wait until it is yours (zero: at once).
    pub fn take(&mut self, now: Instant) -> Duration {
        if now > self.last {
            let earned = now.duration_since(self.last).as_secs_f64() * self.rate;
            self.tokens = (self.tokens + earned).min(self.burst);
            self.last = now;
        }
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// How order starts are spaced across all customers.
#[derive(Debug)]
pub enum Pacer {
    /// Every free customer starts at once (`--rate 0`).
    Unlimited,
    /// `--rate R`: R starts a second, evenly spaced.
    Rate(Mutex<TokenBucket>),
    /// A random gap between one start and the next (the booth demo's gentle stream).
    Gaps {
        gap: TimeRange,
        next: Mutex<Option<Instant>>,
    },
}

impl Pacer {
    /// `rate` starts a second across all customers; 0 = no limit.
    pub fn rate(rate: f64) -> Self {
        if rate > 0.0 {
            Pacer::Rate(Mutex::new(TokenBucket::new(rate, 1.0, Instant::now())))
        } else {
            Pacer::Unlimited
        }
    }

    /// One start every `gap` (drawn anew each time); the first one at once.
    pub fn gaps(gap: TimeRange) -> Self {
        Pacer::Gaps {
            gap,
            next: Mutex::new(None),
        }
    }

    /// Reserve the next start: the instant it may happen.
    pub fn reserve(&self) -> Instant {
        let now = Instant::now();
        match self {
            Pacer::Unlimited => now,
            Pacer::Rate(bucket) => {
                let wait = lock(bucket).take(now);
                now + wait
            }
            Pacer::Gaps { gap, next } => {
                let mut next = lock(next);
                let at = next.map_or(now, |at| at.max(now));
                *next = Some(at + gap.sample(&mut rand::rng()));
                at
            }
        }
    }
}

/// Wait for `duration`; not at all if it is zero. tokio rounds a timer up to its next
/// millisecond tick, so a zero sleep still waits up to a millisecond for the timer to turn (and
/// wakes the task once more): with make-time 0 that was a pause in every barista's every order.
pub async fn wait_for(duration: Duration) {
    if !duration.is_zero() {
        tokio::time::sleep(duration).await;
    }
}

/// Wait until `at`; not at all if it has come (see [`wait_for`]).
pub async fn wait_until(at: Instant) {
    if at > Instant::now() {
        tokio::time::sleep_until(at.into()).await;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::task::{Context, Waker};

    use super::*;

    /// Whether `wait` is over at its first look, before any timer has turned.
    fn over_at_once(wait: impl Future<Output = ()>) -> bool {
        let mut wait = std::pin::pin!(wait);
        wait.as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_ready()
    }

    #[tokio::test]
    async fn a_wait_of_nothing_is_over_at_once_where_a_zero_sleep_is_not() {
        assert!(over_at_once(wait_for(Duration::ZERO)));
        assert!(over_at_once(wait_until(Instant::now())));
        assert!(over_at_once(wait_until(Instant::now() - ms(5))));
        assert!(!over_at_once(wait_for(ms(5))));
        // Why: tokio's zero sleep waits for the timer's next tick.
        assert!(!over_at_once(tokio::time::sleep(Duration::ZERO)));
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_full_bucket_lets_a_burst_through_then_spaces_starts_at_the_rate() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 2.0, t0);
        assert_eq!(bucket.take(t0), Duration::ZERO);
        assert_eq!(bucket.take(t0), Duration::ZERO);
        // Empty: the next ones queue up 100 ms apart.
        assert_eq!(bucket.take(t0), ms(100));
        assert_eq!(bucket.take(t0), ms(200));
    }

    #[test]
    fn tokens_come_back_with_time_but_never_more_than_the_burst() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 1.0, t0);
        assert_eq!(bucket.take(t0), Duration::ZERO);
        assert_eq!(bucket.take(t0 + ms(100)), Duration::ZERO);
        // A long pause saves up one token only.
        assert_eq!(bucket.take(t0 + ms(10_000)), Duration::ZERO);
        assert_eq!(bucket.take(t0 + ms(10_000)), ms(100));
    }

    #[test]
    fn over_a_second_of_steady_demand_the_rate_is_kept() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(50.0, 1.0, t0);
        // 200 customers ask at once: the last one starts after (200 - 1) / 50 s.
        let waits: Vec<Duration> = (0..200).map(|_| bucket.take(t0)).collect();
        let last = waits.last().copied().unwrap_or_default();
        assert!((last.as_secs_f64() - 199.0 / 50.0).abs() < 1e-6, "{last:?}");
        assert!(waits.windows(2).all(|w| w[1] > w[0]));
    }

    #[test]
    fn gaps_space_starts_by_a_drawn_gap() {
        let pacer = Pacer::gaps(TimeRange::new(ms(1000), ms(2000)));
        let first = pacer.reserve();
        let second = pacer.reserve();
        let gap = second.duration_since(first);
        assert!((ms(1000)..=ms(2000)).contains(&gap), "{gap:?}");
    }

    #[test]
    fn unlimited_never_waits() {
        let pacer = Pacer::rate(0.0);
        let before = Instant::now();
        assert!(pacer.reserve() <= Instant::now());
        assert!(pacer.reserve() >= before);
    }
}
