//! Timestamps written as the API writes them, fast: RFC 3339 in UTC with `Z`, the fraction of a
//! second in 0, 3, 6 or 9 digits as it needs (exactly chrono's own serialization, which goes
//! through `fmt` and cost a few percent of the server's time: an order carries up to seven of
//! them, and is written on every change, to the database and to each screen). Reading them back
//! is chrono's.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serializer;

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
