//! Latency distributions and error counts.
//!
//! A [`Histogram`] keeps microsecond samples in log-linear buckets (exact below 256 µs, within
//! 0.4 % above; the minimum and maximum are exact), so a long run with a thousand screens watching stays small
//! and histograms kept per task merge cheaply. Percentiles are nearest-rank.

use std::collections::BTreeMap;
use std::time::Duration;

use espresso_core::ClientError;
use serde::Serialize;

/// Linear buckets per power of two above the exact range; 2^SUB_BITS.
const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;
/// Values below this are counted exactly (one bucket each).
const EXACT: u64 = SUB << 1;

/// A distribution of durations, in whole microseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    min: u64,
    max: u64,
}

fn bucket_of(us: u64) -> usize {
    let index = if us < EXACT {
        us
    } else {
        let top = 63 - u64::from(us.leading_zeros());
        let shift = top - u64::from(SUB_BITS);
        let mantissa = us >> shift;
        EXACT + (shift - 1) * SUB + (mantissa - SUB)
    };
    usize::try_from(index).unwrap_or(usize::MAX)
}

/// The range of values a bucket holds: its lowest value and its width.
fn bucket_range(index: usize) -> (u64, u64) {
    let index = index as u64;
    if index < EXACT {
        return (index, 1);
    }
    let shift = (index - EXACT) / SUB + 1;
    let mantissa = (index - EXACT) % SUB + SUB;
    (mantissa << shift, 1 << shift)
}

impl Histogram {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&mut self, duration: Duration) {
        let us = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        let index = bucket_of(us);
        if self.counts.len() <= index {
            self.counts.resize(index + 1, 0);
        }
        if let Some(count) = self.counts.get_mut(index) {
            *count += 1;
        }
        self.min = if self.total == 0 {
            us
        } else {
            self.min.min(us)
        };
        self.total += 1;
        self.max = self.max.max(us);
    }

    pub fn merge(&mut self, other: &Histogram) {
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        if other.total > 0 {
            self.min = if self.total == 0 {
                other.min
            } else {
                self.min.min(other.min)
            };
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The nearest-rank `q`-quantile (`q` in 0..=1) in microseconds: the value below or at which
    /// `q` of the samples lie. `None` without samples.
    pub fn quantile_us(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        // Rank from 1 to total: ceil(q · n), at least 1.
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let (low, width) = bucket_range(index);
                // The middle of the bucket (exact for one-wide buckets), within the samples'
                // range (so one sample is every percentile).
                let value = low as f64 + (width - 1) as f64 / 2.0;
                return Some(value.clamp(self.min as f64, self.max as f64));
            }
        }
        Some(self.max as f64)
    }

    /// Count, p50, p95, p99 and max, in milliseconds.
    pub fn summary(&self) -> Percentiles {
        let ms = |q: f64| self.quantile_us(q).map_or(0.0, |us| us / 1000.0);
        Percentiles {
            count: self.total,
            p50_ms: ms(0.50),
            p95_ms: ms(0.95),
            p99_ms: ms(0.99),
            max_ms: self.max as f64 / 1000.0,
        }
    }
}

/// One row of a latency table (and of the JSON summary).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The stable name an error is counted under: the server's code (`queue_full`, …), or
/// `network`, `timeout`, `signed_out`, `other`.
pub fn error_key(error: &ClientError) -> String {
    match error {
        ClientError::Api(problem) => problem.code.as_str().to_owned(),
        ClientError::Network(_) => "network".to_owned(),
        ClientError::Timeout => "timeout".to_owned(),
        ClientError::SignedOut => "signed_out".to_owned(),
        ClientError::Decode(_) | ClientError::BadUrl(_) | ClientError::Status { .. } => {
            "other".to_owned()
        }
    }
}

/// Latencies of each kind of call and counts of what went wrong.
#[derive(Debug, Clone, Default)]
pub struct CallStats {
    pub calls: BTreeMap<&'static str, Histogram>,
    /// Failures by [`error_key`] (and the robot's own: `live_reconnect`, …).
    pub errors: BTreeMap<String, u64>,
    /// Refusals that are part of the job (a customer cancelled first, a code rotated).
    pub expected: BTreeMap<String, u64>,
    /// Barista moves refused because another barista was first (`already_claimed`, or a claim
    /// of an order a screen still showed queued): lost races, neither errors nor failures.
    pub lost_races: u64,
}

impl CallStats {
    pub fn record(&mut self, call: &'static str, took: Duration) {
        self.calls.entry(call).or_default().record(took);
    }

    pub fn error(&mut self, key: impl Into<String>) {
        *self.errors.entry(key.into()).or_default() += 1;
    }

    pub fn expected(&mut self, key: impl Into<String>) {
        *self.expected.entry(key.into()).or_default() += 1;
    }

    pub fn merge(&mut self, other: &CallStats) {
        for (call, histogram) in &other.calls {
            self.calls.entry(call).or_default().merge(histogram);
        }
        for (key, n) in &other.errors {
            *self.errors.entry(key.clone()).or_default() += n;
        }
        for (key, n) in &other.expected {
            *self.expected.entry(key.clone()).or_default() += n;
        }
        self.lost_races += other.lost_races;
    }

    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use espresso_core::protocol::{ErrorCode, Problem};

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn percentiles_of_small_values_are_exact_nearest_rank() {
        let mut histogram = Histogram::new();
        for n in (1..=100).rev() {
            histogram.record(us(n));
        }
        let summary = histogram.summary();
        assert_eq!(summary.count, 100);
        assert_eq!(summary.p50_ms, 0.050);
        assert_eq!(summary.p95_ms, 0.095);
        assert_eq!(summary.p99_ms, 0.099);
        assert_eq!(summary.max_ms, 0.100);
    }

    #[test]
    fn one_sample_is_every_percentile() {
        let mut histogram = Histogram::new();
        histogram.record(Duration::from_millis(7));
        let summary = histogram.summary();
        assert_eq!(
            (summary.p50_ms, summary.p99_ms, summary.max_ms),
            (7.0, 7.0, 7.0)
        );
    }

    #[test]
    fn large_values_are_within_half_a_percent_and_the_max_is_exact() {
        let mut histogram = Histogram::new();
        let values: Vec<u64> = (1..=1000).map(|n| n * 997).collect();
        for value in &values {
            histogram.record(us(*value));
        }
        for q in [0.5, 0.95, 0.99] {
            let exact = values[((q * 1000.0) as usize).saturating_sub(1)] as f64;
            let got = histogram.quantile_us(q).unwrap();
            assert!(
                (got - exact).abs() / exact < 0.005,
                "q{q}: {got} vs {exact}"
            );
        }
        assert_eq!(histogram.summary().max_ms, 997.0);
    }

    #[test]
    fn every_value_falls_in_the_bucket_that_holds_it() {
        for value in (0..5000).chain([65_535, 65_536, 1 << 40, u64::MAX >> 1]) {
            let (low, width) = bucket_range(bucket_of(value));
            assert!(
                low <= value && value - low < width,
                "{value}: {low}+{width}"
            );
        }
    }

    #[test]
    fn merged_histograms_count_as_one() {
        let (mut a, mut b) = (Histogram::new(), Histogram::new());
        for n in 1..=50 {
            a.record(us(n));
        }
        for n in 51..=100 {
            b.record(us(n * 1000));
        }
        a.merge(&b);
        assert_eq!(a.count(), 100);
        assert_eq!(a.summary().max_ms, 100.0);
        assert_eq!(a.summary().p50_ms, 0.050);
        assert_eq!(Histogram::new().summary(), Percentiles::default());
    }

    #[test]
    fn errors_are_counted_by_their_stable_code() {
        let refused = ClientError::from(Problem::new(ErrorCode::QueueFull));
        assert_eq!(error_key(&refused), "queue_full");
        assert_eq!(error_key(&ClientError::Timeout), "timeout");
        assert_eq!(error_key(&ClientError::Network("x".into())), "network");
        assert_eq!(error_key(&ClientError::Status { status: 502 }), "other");
        let mut stats = CallStats::default();
        stats.error(error_key(&refused));
        stats.error("queue_full");
        stats.expected("already_claimed");
        assert_eq!(stats.errors.get("queue_full"), Some(&2));
        assert_eq!(stats.error_total(), 2);
    }
}
