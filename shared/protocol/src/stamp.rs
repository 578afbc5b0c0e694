//! Timestamps written as the API writes them, fast: RFC 3339 in UTC with `Z`, the fraction of a
//! second in 0, 3, 6 or 9 digits as it needs (exactly chrono's own serialization, which goes
//! through `fmt` and cost a few percent of the server's time: an order carries up to seven of
//! them, and is written on every change, to the database and to each screen). Reading them back
//! is fast for that same form ([`deserialize`]: every screen reads every order it is sent) and
//! chrono's for any other.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use serde::Serializer;
use serde::de::{self, Deserializer, Visitor};

/// `at` as RFC 3339 (see the module).
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 30];
    match write(at, &mut buf) {
        Some(text) => serializer.serialize_str(text),
        // Years outside 0–9999 (never an order's): chrono writes them.
        None => serde::Serialize::serialize(at, serializer),
    }
}

/// As [`serialize`], for an optional timestamp (`null` when absent).
// serde's `serialize_with` hands over `&Option<T>`.
#[allow(
    clippy::ref_option,
    reason = "the signature serde's serialize_with calls"
)]
pub fn serialize_option<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serializer.serialize_some(&Stamp(at)),
        None => serializer.serialize_none(),
    }
}

struct Stamp<'a>(&'a DateTime<Utc>);

impl serde::Serialize for Stamp<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize(self.0, serializer)
    }
}

/// `at` into `buf`; `None` for a year chrono writes with a sign.
fn write<'b>(at: &DateTime<Utc>, buf: &'b mut [u8; 30]) -> Option<&'b str> {
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    let (mut second, mut nano) = (at.second(), at.nanosecond());
    if nano >= 1_000_000_000 {
        // A leap second: chrono writes it as second 60.
        second += 1;
        nano -= 1_000_000_000;
    }
    let mut out = Out { buf, len: 0 };
    out.digits(year, 4);
    out.byte(b'-');
    out.digits(at.month(), 2);
    out.byte(b'-');
    out.digits(at.day(), 2);
    out.byte(b'T');
    out.digits(at.hour(), 2);
    out.byte(b':');
    out.digits(at.minute(), 2);
    out.byte(b':');
    out.digits(second, 2);
    if nano != 0 {
        out.byte(b'.');
        if nano % 1_000_000 == 0 {
            out.digits(nano / 1_000_000, 3);
        } else if nano % 1_000 == 0 {
            out.digits(nano / 1_000, 6);
        } else {
            out.digits(nano, 9);
        }
    }
    out.byte(b'Z');
    let len = out.len;
    std::str::from_utf8(&buf[..len]).ok()
}

/// Read a timestamp as chrono reads one (any RFC 3339 offset, a leap second, ...), the form
/// [`serialize`] writes without chrono's general parser.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(StampVisitor)
}

/// As [`deserialize`], for an optional timestamp (`null` when absent).
pub fn deserialize_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    deserializer.deserialize_option(OptionVisitor)
}

struct StampVisitor;

impl Visitor<'_> for StampVisitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        match parse(text) {
            Some(at) => Ok(at),
            None => text.parse().map_err(E::custom),
        }
    }
}

struct OptionVisitor;

impl<'de> Visitor<'de> for OptionVisitor {
    type Value = Option<DateTime<Utc>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserialize(deserializer).map(Some)
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.F]Z` with 1 to 9 digits of fraction and a second below 60: what
/// [`write`] writes. `None` for anything else (chrono then reads it, or says what is wrong).
fn parse(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let (&b'Z', b) = b.split_last()? else {
        return None;
    };
    if b.len() < 19 || [b[4], b[7], b[10], b[13], b[16]] != *b"--T::" {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        b.get(range)?.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let nano = match &b[19..] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            let digits = number(20..b.len())?;
            digits * 10u32.pow(9 - u32::try_from(fraction.len()).ok()?)
        }
        _ => return None,
    };
    let second = number(17..19).filter(|s| *s < 60)?;
    let year = i32::try_from(number(0..4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)?;
    let time = date.and_hms_nano_opt(number(11..13)?, number(14..16)?, second, nano)?;
    Some(time.and_utc())
}

struct Out<'b> {
    buf: &'b mut [u8; 30],
    len: usize,
}

impl Out<'_> {
    fn byte(&mut self, byte: u8) {
        self.buf[self.len] = byte;
        self.len += 1;
    }

    /// `value`'s last `width` decimal digits, zero-padded.
    fn digits(&mut self, value: u32, width: u32) {
        for place in (0..width).rev() {
            let digit = value / 10u32.pow(place) % 10;
            self.byte(b'0' + u8::try_from(digit).unwrap_or(0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    fn ours(at: &DateTime<Utc>) -> String {
        serialize(at, serde_json::value::Serializer)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn chronos(at: &DateTime<Utc>) -> String {
        serde_json::to_value(at)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn timestamps_are_written_exactly_as_chrono_writes_them() {
        let base = Utc.with_ymd_and_hms(2026, 11, 30, 9, 5, 7).unwrap();
        let mut samples = vec![
            base,
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
        ];
        for nanos in [
            1,
            999,
            1_000,
            120_000,
            1_000_000,
            7_000_000,
            123_456_789,
            999_999_999,
        ] {
            samples.push(base + chrono::Duration::nanoseconds(nanos));
        }
        // A pseudo-random walk over two centuries, at every precision.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let seconds = i64::try_from(x % 6_000_000_000).unwrap();
            let nanos = match x % 4 {
                0 => 0,
                1 => (x % 1000) * 1_000_000,
                2 => (x % 1_000_000) * 1000,
                _ => x % 1_000_000_000,
            };
            samples.push(
                Utc.timestamp_opt(seconds, u32::try_from(nanos).unwrap())
                    .unwrap(),
            );
        }
        for at in &samples {
            assert_eq!(ours(at), chronos(at), "{at:?}");
        }
    }

    /// What chrono reads `text` as (or that it refuses it).
    fn chrono_reads(text: &str) -> Option<DateTime<Utc>> {
        serde_json::from_value(serde_json::Value::from(text)).ok()
    }

    fn we_read(text: &str) -> Option<DateTime<Utc>> {
        deserialize(serde_json::Value::from(text)).ok()
    }

    #[test]
    fn timestamps_are_read_exactly_as_chrono_reads_them() {
        let base = Utc.with_ymd_and_hms(2026, 11, 30, 9, 5, 7).unwrap();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut written = Vec::new();
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let seconds = i64::try_from(x % 6_000_000_000).unwrap() - 3_000_000_000;
            let nanos = match x % 4 {
                0 => 0,
                1 => (x % 1000) * 1_000_000,
                2 => (x % 1_000_000) * 1000,
                _ => x % 1_000_000_000,
            };
            let at = base
                + chrono::Duration::seconds(seconds)
                + chrono::Duration::nanoseconds(i64::try_from(nanos).unwrap());
            written.push(ours(&at));
        }
        // Forms the fast path leaves to chrono, and ones both refuse.
        let others = [
            "2026-11-30T09:05:07+01:00",
            "2026-11-30T09:05:07.5-03:30",
            "2026-11-30t09:05:07z",
            "2026-11-30 09:05:07Z",
            "2016-12-31T23:59:60Z",
            "2016-12-31T23:59:60.250Z",
            "2026-11-30T09:05:07.1234567891Z",
            "2026-11-30T09:05:07.12345678Z",
            "2026-11-30T09:05:07.5Z",
            "2026-11-30T09:05:07.Z",
            "2026-02-30T09:05:07Z",
            "2026-11-30T24:05:07Z",
            "2026-11-30T09:60:07Z",
            "2026-11-30T09:05:61Z",
            "2026-1-30T09:05:07Z",
            "2026-11-30T09:05Z",
            "+2026-11-30T09:05:07Z",
            "2026-11-30T09:05:07",
            "2026-11-30T09:05:07Zjunk",
            "２026-11-30T09:05:07Z",
            "",
            "Z",
        ];
        for text in written.iter().map(String::as_str).chain(others) {
            assert_eq!(we_read(text), chrono_reads(text), "{text:?}");
        }
        assert_eq!(we_read(&ours(&base)), Some(base));
        assert_eq!(
            deserialize_option(serde_json::Value::Null).unwrap(),
            None,
            "null is no timestamp"
        );
        assert_eq!(
            deserialize_option(serde_json::Value::from(ours(&base))).unwrap(),
            Some(base)
        );
    }

    #[test]
    fn a_leap_second_and_years_beyond_9999_are_written_as_chrono_writes_them() {
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap()
            .and_utc();
        assert_eq!(ours(&leap), "2016-12-31T23:59:60.500Z");
        assert_eq!(ours(&leap), chronos(&leap));
        let far = Utc.with_ymd_and_hms(12_345, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(ours(&far), chronos(&far));
        let before = Utc.with_ymd_and_hms(-5, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(ours(&before), chronos(&before));
    }
}
