//! The robot's small value languages: durations (`30s`, `2m`, `250ms`) and ranges of them
//! (`2s..8s`), read from the command line. Pure: no clock, no randomness of its own.

use std::fmt;
use std::time::Duration;

use rand::Rng;

/// Reads `250ms`, `2s`, `1.5s`, `2m`, `1h`, or a bare number of seconds (`0`, `30`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() {
        return Err(format!(
            "{text:?} is not a duration: expected a number and a unit, e.g. 30s, 2m, 250ms"
        ));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: {number:?} is not a number"))?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "{text:?} is not a duration: unknown unit {other:?} (use ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{text:?} is too long a duration"))
}

/// A duration as people write it back: `250ms`, `2s`, `1.5s`, `2m`.
pub fn format_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms == 0 {
        "0s".to_owned()
    } else if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}s", duration.as_secs_f64())
    }
}

/// A range of durations to draw from, uniformly: `2s..8s`, or one value (`0`, `5s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub min: Duration,
    pub max: Duration,
}

impl TimeRange {
    pub const ZERO: TimeRange = TimeRange::fixed(Duration::ZERO);

    pub const fn new(min: Duration, max: Duration) -> Self {
        Self { min, max }
    }

    pub const fn fixed(value: Duration) -> Self {
        Self {
            min: value,
            max: value,
        }
    }

    /// Reads `MIN..MAX` (each a [`parse_duration`]) or a single duration.
    pub fn parse(text: &str) -> Result<Self, String> {
        let range = match text.split_once("..") {
            Some((min, max)) => Self::new(parse_duration(min)?, parse_duration(max)?),
            None => Self::fixed(parse_duration(text)?),
        };
        if range.min > range.max {
            return Err(format!(
                "{text:?}: the range's start is after its end (write it as MIN..MAX)"
            ));
        }
        Ok(range)
    }

    /// A duration drawn uniformly from the range.
    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        if self.min >= self.max {
            return self.min;
        }
        self.min + (self.max - self.min).mul_f64(rng.random::<f64>())
    }

    /// Both ends multiplied by `factor`.
    pub fn scaled(&self, factor: f64) -> Self {
        Self::new(self.min.mul_f64(factor), self.max.mul_f64(factor))
    }

    pub fn is_zero(&self) -> bool {
        self.max.is_zero()
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            f.write_str(&format_duration(self.min))
        } else {
            write!(
                f,
                "{}..{}",
                format_duration(self.min),
                format_duration(self.max)
            )
        }
    }
}

impl std::str::FromStr for TimeRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse(text)
    }
}

/// Reads a fraction from 0 to 1 (`0.1`), or a percentage (`10%`).
pub fn parse_fraction(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let value = match text.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => text.parse::<f64>(),
    }
    .map_err(|_| format!("{text:?} is not a fraction: expected e.g. 0.1 or 10%"))?;
    if !(0.0..=1.0).contains(&value) {
        return Err(format!("{text:?} is not between 0 and 1"));
    }
    Ok(value)
}

/// Reads a rate in orders per second: a number ≥ 0 (`0` = as fast as they can).
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let value: f64 = text.trim().parse().map_err(|_| {
        format!("{text:?} is not a rate: expected orders per second, e.g. 20 or 0.5")
    })?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("{text:?}: the rate must be 0 or more"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("30s"), Ok(ms(30_000)));
        assert_eq!(parse_duration("2m"), Ok(ms(120_000)));
        assert_eq!(parse_duration("250ms"), Ok(ms(250)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration("1h"), Ok(ms(3_600_000)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration(" 45 "), Ok(ms(45_000)));
    }

    #[test]
    fn a_duration_without_a_number_or_with_an_unknown_unit_is_refused_with_a_reason() {
        assert!(
            parse_duration("s")
                .unwrap_err()
                .contains("expected a number")
        );
        assert!(
            parse_duration("3 days")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(
            parse_duration("1.2.3s")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-5s").is_err());
    }

    #[test]
    fn ranges_read_both_ends_or_one_value() {
        assert_eq!(
            TimeRange::parse("2s..8s"),
            Ok(TimeRange::new(ms(2000), ms(8000)))
        );
        assert_eq!(
            TimeRange::parse("0..200ms"),
            Ok(TimeRange::new(ms(0), ms(200)))
        );
        assert_eq!(TimeRange::parse("0"), Ok(TimeRange::ZERO));
        assert_eq!(TimeRange::parse("5s"), Ok(TimeRange::fixed(ms(5000))));
        assert!(TimeRange::parse("8s..2s").unwrap_err().contains("MIN..MAX"));
        assert!(TimeRange::parse("2s..").is_err());
    }

    #[test]
    fn a_range_writes_back_as_it_was_read() {
        for text in ["2s..8s", "0s..200ms", "20s..1m", "0s", "1.5s"] {
            assert_eq!(TimeRange::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn samples_stay_inside_the_range() {
        let range = TimeRange::new(ms(100), ms(300));
        let mut rng = rand::rng();
        for _ in 0..1000 {
            let value = range.sample(&mut rng);
            assert!((ms(100)..=ms(300)).contains(&value), "{value:?}");
        }
        assert_eq!(TimeRange::ZERO.sample(&mut rng), Duration::ZERO);
        assert_eq!(range.scaled(0.5), TimeRange::new(ms(50), ms(150)));
    }

    #[test]
    fn fractions_and_rates_are_checked() {
        assert_eq!(parse_fraction("0.1"), Ok(0.1));
        assert_eq!(parse_fraction("25%"), Ok(0.25));
        assert!(parse_fraction("1.5").is_err());
        assert!(parse_fraction("lots").is_err());
        assert_eq!(parse_rate("0"), Ok(0.0));
        assert_eq!(parse_rate("12.5"), Ok(12.5));
        assert!(parse_rate("-1").is_err());
        assert!(parse_rate("inf").is_err());
    }
}
