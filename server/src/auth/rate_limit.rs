//! Sliding-window rate limits for sign-in codes: per email *and* client address (a few codes an
//! hour, no resend within 30 s), per email from anywhere (looser: a cap on mail to one inbox), and
//! per client address (a café's shared Wi-Fi sends many, so the default is generous).
//!
//! Keyed by email and address together, someone asking for a victim's codes from another address
//! neither delays nor locks out the victim's own sign-in; only the looser per-email cap is shared.
//!
//! The rule, [`Rule::check`], is a pure function of the recent hits and `now`, so tests drive it
//! with a fake clock. [`admit`] applies rules to the `rate_hits` table atomically. Only admitted
//! requests count: a client hammering a limit does not push its own window further out.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use espresso_protocol::{ErrorCode, Problem};

use crate::error::{ApiError, ApiResult};
use crate::store::Store;

/// Environment variable overriding [`RateLimits::otp_per_ip`]'s hourly limit.
pub const IP_LIMIT_ENV: &str = "ESPRESSO_OTP_IP_LIMIT_PER_HOUR";

/// At most `limit` hits per `window`, and at least `min_gap` between two hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub limit: u32,
    pub window: Duration,
    pub min_gap: Duration,
}

impl Rule {
    pub const fn per_hour(limit: u32) -> Self {
        Self {
            limit,
            window: Duration::hours(1),
            min_gap: Duration::zero(),
        }
    }

    /// `Ok` if one more hit is allowed at `now`, else how long until it would be.
    /// `hits` are the bucket's hits inside the window (`> now - window`), oldest first.
    pub fn check(&self, hits: &[DateTime<Utc>], now: DateTime<Utc>) -> Result<(), Duration> {
        let mut wait = Duration::zero();
        // Without a gap there is nothing to wait for after the last hit, even if that hit is
        // stamped a moment after `now` (taken before another request's hit was stored).
        if let Some(last) = hits.last()
            && self.min_gap > Duration::zero()
        {
            wait = wait.max(*last + self.min_gap - now);
        }
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        if hits.len() >= limit {
            // The window admits another hit once enough old ones have slid out of it: the one
            // that must leave is the `len - limit`-th oldest (the oldest itself when len == limit).
            let leaves = hits
                .get(hits.len() - limit)
                .map_or(now + self.window, |oldest| *oldest + self.window);
            wait = wait.max(leaves - now);
        }
        if wait > Duration::zero() {
            Err(wait)
        } else {
            Ok(())
        }
    }
}

/// The sign-in limits of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Codes per email from one client address: 5 an hour, at most one per 30 s ("resend").
    pub otp_per_email_address: Rule,
    /// Codes per email from all addresses together: 20 an hour (an inbox is not flooded).
    pub otp_per_email: Rule,
    /// Codes per client IP: 600 an hour (one café's Wi-Fi is one address).
    pub otp_per_ip: Rule,
    /// Token refreshes per client IP: 1,200 an hour (every screen refreshes every 15 minutes;
    /// each refresh keeps a row for 30 days).
    pub refresh_per_ip: Rule,
    /// New answers kept for `Idempotency-Key` retries per signed-in caller, on the routes that
    /// keep them outside a command's transaction (profile, roles, new shops): 600 an hour.
    pub remembered_per_caller: Rule,
    /// Scan passes (`POST …/passes`, anonymous) per client IP: 600 an hour, as codes (a café's
    /// Wi-Fi is one address; each pass holds one of a booth code's orders).
    pub pass_per_ip: Rule,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            otp_per_email_address: Rule {
                limit: 5,
                window: Duration::hours(1),
                min_gap: super::otp::RESEND_AFTER,
            },
            otp_per_email: Rule::per_hour(20),
            otp_per_ip: Rule::per_hour(600),
            refresh_per_ip: Rule::per_hour(1_200),
            remembered_per_caller: Rule::per_hour(600),
            pass_per_ip: Rule::per_hour(600),
        }
    }
}

impl RateLimits {
    /// The defaults, with [`IP_LIMIT_ENV`] applied if set.
    pub fn from_env() -> Self {
        Self::with_ip_limit(std::env::var(IP_LIMIT_ENV).ok().as_deref())
    }

    /// The defaults, with the per-IP hourly limit from `value` if it is a positive number
    /// (anything else is ignored with a warning, not fatal: a typo must not stop the café).
    pub fn with_ip_limit(value: Option<&str>) -> Self {
        let mut limits = Self::default();
        if let Some(value) = value {
            match value.trim().parse::<u32>() {
                Ok(limit) if limit > 0 => limits.otp_per_ip = Rule::per_hour(limit),
                _ => tracing::warn!(
                    value,
                    "ignoring {IP_LIMIT_ENV}: expected a positive whole number"
                ),
            }
        }
        limits
    }
}

/// The bucket of a client address. IPv6 clients usually own a whole /64, so they are counted
/// per /64 (otherwise one machine could rotate through addresses); IPv4-mapped addresses count
/// as their IPv4 address.
pub fn ip_bucket(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(v4)) => format!("otp:ip:{v4}"),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("otp:ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        // Without the peer address (no ConnectInfo) every client shares one bucket.
        None => "otp:ip:unknown".to_owned(),
    }
}

pub fn email_bucket(email: &str) -> String {
    format!("otp:email:{email}")
}

/// One email from one client address (the address bucketed as in [`ip_bucket`]).
pub fn email_address_bucket(email: &str, ip: Option<IpAddr>) -> String {
    let address = ip_bucket(ip);
    let address = address.strip_prefix("otp:ip:").unwrap_or(&address);
    format!("otp:email-ip:{email}|{address}")
}

/// Token refreshes from one client address.
pub fn refresh_bucket(ip: Option<IpAddr>) -> String {
    let address = ip_bucket(ip);
    let address = address.strip_prefix("otp:ip:").unwrap_or(&address);
    format!("refresh:ip:{address}")
}

/// Scan passes asked for from one client address.
pub fn pass_bucket(ip: Option<IpAddr>) -> String {
    let address = ip_bucket(ip);
    let address = address.strip_prefix("otp:ip:").unwrap_or(&address);
    format!("pass:ip:{address}")
}

/// Count one hit in every bucket if all their rules allow it at `now`; otherwise change
/// nothing and answer 429 `rate_limited` with the longest wait (`Retry-After`).
pub async fn admit(store: &Store, checks: &[(String, Rule)], now: DateTime<Utc>) -> ApiResult<()> {
    let buckets: Vec<(String, DateTime<Utc>)> = checks
        .iter()
        .map(|(bucket, rule)| (bucket.clone(), now - rule.window))
        .collect();
    let rules: Vec<Rule> = checks.iter().map(|(_, rule)| *rule).collect();
    let verdict = store
        .admit_rate_hits(
            &buckets,
            now,
            Box::new(move |hits| {
                let wait = rules
                    .iter()
                    .zip(hits)
                    .filter_map(|(rule, hits)| rule.check(hits, now).err())
                    .max();
                wait.map_or(Ok(()), Err)
            }),
        )
        .await?;
    verdict.map_err(rate_limited)
}

/// 429 `rate_limited`, with the wait in whole seconds rounded up (never 0: "retry now" would
/// only be refused again).
pub fn rate_limited(wait: Duration) -> ApiError {
    let ms = wait.num_milliseconds().max(1);
    let seconds = u64::try_from((ms + 999) / 1000).unwrap_or(1);
    ApiError::from(
        Problem::new(ErrorCode::RateLimited)
            .with_retry_after_s(seconds)
            .with_detail(format!("please wait {seconds} s before asking again")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
    }

    fn secs(n: i64) -> Duration {
        Duration::seconds(n)
    }

    #[test]
    fn a_rule_refuses_the_hit_over_the_limit_until_the_oldest_slides_out() {
        let rule = Rule::per_hour(3);
        let hits = [t0(), t0() + secs(10), t0() + secs(20)];
        assert_eq!(rule.check(&hits[..2], t0() + secs(30)), Ok(()));
        assert_eq!(
            rule.check(&hits, t0() + secs(30)),
            Err(Duration::hours(1) - secs(30))
        );
    }

    #[test]
    fn a_rule_with_a_gap_refuses_a_hit_too_soon_after_the_last() {
        let rule = RateLimits::default().otp_per_email_address;
        assert_eq!(rule.check(&[t0()], t0() + secs(10)), Err(secs(20)));
        assert_eq!(rule.check(&[t0()], t0() + secs(30)), Ok(()));
    }

    #[test]
    fn a_rule_without_a_gap_admits_a_hit_stamped_just_after_now() {
        // Two requests at once: the other one's hit was stored with a later clock reading
        // than this one's `now`. Under the limit, that must not read as "wait".
        let rule = Rule::per_hour(600);
        assert_eq!(rule.check(&[t0() + secs(1)], t0()), Ok(()));
    }

    #[test]
    fn the_longer_of_two_waits_wins() {
        let rule = Rule {
            limit: 1,
            window: Duration::hours(1),
            min_gap: secs(30),
        };
        assert_eq!(
            rule.check(&[t0()], t0() + secs(5)),
            Err(Duration::hours(1) - secs(5))
        );
    }

    #[test]
    fn the_ip_limit_is_600_an_hour_unless_configured() {
        assert_eq!(RateLimits::default().otp_per_ip, Rule::per_hour(600));
        assert_eq!(RateLimits::with_ip_limit(None).otp_per_ip.limit, 600);
        assert_eq!(
            RateLimits::with_ip_limit(Some(" 5000 ")).otp_per_ip.limit,
            5000
        );
        assert_eq!(RateLimits::with_ip_limit(Some("0")).otp_per_ip.limit, 600);
        assert_eq!(
            RateLimits::with_ip_limit(Some("lots")).otp_per_ip.limit,
            600
        );
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(ip_bucket(Some(a)), ip_bucket(Some(b)));
        assert_eq!(ip_bucket(Some(a)), "otp:ip:2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:10.0.0.7".parse().unwrap();
        assert_eq!(ip_bucket(Some(mapped)), "otp:ip:10.0.0.7");
        assert_eq!(ip_bucket(None), "otp:ip:unknown");
    }

    #[test]
    fn a_refusal_says_when_to_retry_in_whole_seconds() {
        let error = rate_limited(Duration::milliseconds(1500));
        assert_eq!(error.0.code, ErrorCode::RateLimited);
        assert_eq!(error.0.status, 429);
        assert_eq!(error.0.retry_after_s, Some(2));
        assert_eq!(rate_limited(Duration::zero()).0.retry_after_s, Some(1));
    }

    #[tokio::test]
    async fn one_address_may_ask_for_600_codes_an_hour_by_default() {
        let store = crate::store::SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap();
        let ip = vec![(ip_bucket(None), RateLimits::default().otp_per_ip)];
        // 600 requests spread over 50 minutes (one every 5 s) are all admitted...
        for i in 0..600 {
            let now = t0() + secs(5 * i);
            admit(&store, &ip, now)
                .await
                .unwrap_or_else(|e| panic!("hit {i}: {:?}", e.0));
        }
        // ...the 601st in the same hour is not, and is told to wait until the first slides out...
        let late = t0() + secs(3000);
        let refused = admit(&store, &ip, late).await.unwrap_err();
        assert_eq!(refused.0.code, ErrorCode::RateLimited);
        assert_eq!(refused.0.retry_after_s, Some(600));
        // ...and at that moment it is admitted.
        admit(&store, &ip, t0() + Duration::hours(1)).await.unwrap();
    }

    #[tokio::test]
    async fn a_refused_request_is_not_counted() {
        let store = crate::store::SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap();
        let email = vec![(
            email_bucket("ann@example.com"),
            RateLimits::default().otp_per_email_address,
        )];
        admit(&store, &email, t0()).await.unwrap();
        for s in 1..30 {
            assert!(admit(&store, &email, t0() + secs(s)).await.is_err());
        }
        // Refusals in between did not move the 30 s on.
        admit(&store, &email, t0() + secs(30)).await.unwrap();
    }

    #[tokio::test]
    async fn every_bucket_must_allow_a_hit_and_none_counts_a_refused_one() {
        let store = crate::store::SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap();
        let tight = Rule::per_hour(1);
        let ip = (ip_bucket(None), tight);
        admit(&store, std::slice::from_ref(&ip), t0())
            .await
            .unwrap();
        // The IP is exhausted: the email bucket must not be charged for the refused request.
        let both = [ip, (email_bucket("bob@example.com"), tight)];
        assert!(admit(&store, &both, t0() + secs(1)).await.is_err());
        admit(&store, &both[1..], t0() + secs(2)).await.unwrap();
    }
}
