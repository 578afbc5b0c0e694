//! The display's rules of thumb, kept pure so they are tested without a browser: what the QR
//! panel shows, how a column fits its tiles, and the words on the screen.

use chrono::{DateTime, TimeDelta, Utc};
use espresso_core::protocol::BoothCode;

use crate::i18n::{t, tf};

/// Tiles a board column has room for: two across, four down, in both orientations (the CSS
/// sizes the tiles from the viewport so that this holds on a 16:9 TV and on a 9:16 screen).
pub const SLOTS: usize = 8;

/// The newest ready order spans a whole row: two slots.
pub const HERO_SLOTS: usize = 2;

/// How long a code that has just ended stays on screen while the next is on its way. The
/// server still takes a code for 30 s after its window (a customer who scanned at the last
/// second is not refused), so the QR does not blink out for the half second a rotation takes.
pub const STALE_AFTER: TimeDelta = TimeDelta::seconds(20);

/// What the QR panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeMode {
    /// The first snapshot has not arrived.
    Loading,
    /// The shop is closed: the closed sign, no QR.
    Closed,
    /// The code's window ended a while ago ([`STALE_AFTER`]) and no next code has arrived
    /// (the server cannot be reached).
    Renewing,
    /// Every drink of this code is taken: "We are making drinks!" until the next code.
    UsedUp,
    /// The QR code to scan.
    Scan,
}

/// The panel's mode for the shop's state (`None`: not loaded), its current code and `now`.
pub fn code_mode(
    shop_open: Option<bool>,
    code: Option<&BoothCode>,
    now: DateTime<Utc>,
) -> CodeMode {
    match (shop_open, code) {
        (None, _) => CodeMode::Loading,
        (Some(false), _) => CodeMode::Closed,
        (Some(true), None) => CodeMode::Renewing,
        (Some(true), Some(code)) if code.expires_at + STALE_AFTER <= now => CodeMode::Renewing,
        (Some(true), Some(code)) if code.remaining == 0 => CodeMode::UsedUp,
        (Some(true), Some(_)) => CodeMode::Scan,
    }
}

/// How much of the code's window is left, from 1 (just issued) to 0 (expired).
pub fn window_left(code: &BoothCode, now: DateTime<Utc>) -> f64 {
    let total = (code.expires_at - code.issued_at).num_milliseconds();
    if total <= 0 {
        return 0.0;
    }
    let left = (code.expires_at - now).num_milliseconds();
    (left as f64 / total as f64).clamp(0.0, 1.0)
}

/// "7 drinks left on this code".
/// (Portuguese says it shorter, "7 bebidas restantes": the line is as wide as the QR code.)
pub fn drinks_left(remaining: u32) -> String {
    match remaining {
        1 => t("1 drink left on this code", "1 bebida restante").to_owned(),
        n => tf!("{n} drinks left on this code", "{n} bebidas restantes"),
    }
}

/// The tiles a column shows and how many more there are than fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fitted<T> {
    pub shown: Vec<T>,
    /// Left out: shown as one "+N more" tile in the last slot.
    pub more: usize,
}

/// Fit `items` (most recent first) into `slots`: all of them if they fit, else the first
/// `slots - 1` and a "+N more" tile for the rest.
pub fn fit<T>(mut items: Vec<T>, slots: usize) -> Fitted<T> {
    if items.len() <= slots {
        return Fitted {
            shown: items,
            more: 0,
        };
    }
    let keep = slots.saturating_sub(1);
    let more = items.len() - keep;
    items.truncate(keep);
    Fitted { shown: items, more }
}

/// "+3 more".
pub fn more_text(more: usize) -> String {
    format!("+{more} more")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(remaining: u32, issued: DateTime<Utc>, window_s: i64) -> BoothCode {
        BoothCode {
            code: "K7Q2M9XA".into(),
            order_url: "http://127.0.0.1:8080/order?shop=main&code=K7Q2M9XA".into(),
            issued_at: issued,
            expires_at: issued + TimeDelta::seconds(window_s),
            remaining,
        }
    }

    #[test]
    fn the_panel_shows_what_the_shop_and_its_code_allow() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let fresh = code(10, now - TimeDelta::seconds(10), 300);
        let used_up = code(0, now - TimeDelta::seconds(10), 300);
        let ending = code(4, now - TimeDelta::seconds(301), 300);
        let old = code(4, now - TimeDelta::seconds(330), 300);
        assert_eq!(code_mode(None, Some(&fresh), now), CodeMode::Loading);
        assert_eq!(code_mode(Some(false), Some(&fresh), now), CodeMode::Closed);
        assert_eq!(code_mode(Some(true), None, now), CodeMode::Renewing);
        assert_eq!(code_mode(Some(true), Some(&ending), now), CodeMode::Scan);
        assert_eq!(code_mode(Some(true), Some(&old), now), CodeMode::Renewing);
        assert_eq!(code_mode(Some(true), Some(&used_up), now), CodeMode::UsedUp);
        assert_eq!(code_mode(Some(true), Some(&fresh), now), CodeMode::Scan);
    }

    #[test]
    fn the_ring_empties_over_the_window() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        assert!((window_left(&code(1, now, 300), now) - 1.0).abs() < 1e-9);
        let half = code(1, now - TimeDelta::seconds(150), 300);
        assert!((window_left(&half, now) - 0.5).abs() < 1e-9);
        assert_eq!(
            window_left(&code(1, now - TimeDelta::seconds(400), 300), now),
            0.0
        );
        assert_eq!(window_left(&code(1, now, 0), now), 0.0);
    }

    #[test]
    fn a_full_column_keeps_the_most_recent_and_counts_the_rest() {
        let all: Vec<u32> = (1..=8).collect();
        assert_eq!(
            fit(all.clone(), SLOTS),
            Fitted {
                shown: all,
                more: 0
            }
        );
        let fitted = fit((1..=12).collect::<Vec<u32>>(), SLOTS);
        assert_eq!(fitted.shown, (1..=7).collect::<Vec<u32>>());
        assert_eq!(fitted.more, 5);
        assert_eq!(more_text(fitted.more), "+5 more");
        assert_eq!(fit(vec![1, 2, 3], 2).more, 2);
    }

    #[test]
    fn the_count_reads_naturally() {
        assert_eq!(drinks_left(1), "1 drink left on this code");
        assert_eq!(drinks_left(7), "7 drinks left on this code");
    }
}
