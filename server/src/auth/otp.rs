//! Sign-in with an emailed one-time code: request a challenge, then verify its code.
//!
//! A code is 6 digits from a CSPRNG, valid 10 minutes, single use, bound to its challenge, and
//! dies after 5 wrong tries. Only its hash is stored. Asking for a code does the same work and
//! gives the same answer whether or not the email belongs to a user; the user is created on
//! the first right code. Every function takes `now`, so expiry is tested without waiting.
//!
//! A challenge that was already used, or that does not exist, answers `code_expired` (401): in
//! both cases the only way on is a new code, and `code_incorrect` would invite retyping.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use espresso_protocol::{
    App, ErrorCode, LinkTo, OTP_LINK_PARAM, OtpChallenge, OtpRequest, OtpVerify, Problem, Session,
    is_shop_id,
};
use rand::Rng;
use subtle::ConstantTimeEq;

use super::SignInKey;
use super::profile::parse_email;
use super::rate_limit::{self, RateLimits};
use crate::error::{ApiError, ApiResult};
use crate::mailer::{MailLang, Mailer};
use crate::store::sign_in::OtpChallengeRow;
use crate::store::{Store, new_id};

/// How long a code is valid.
pub const CODE_TTL: Duration = Duration::minutes(10);
/// How long before the same email may ask for another code.
pub const RESEND_AFTER: Duration = Duration::seconds(30);
/// Wrong codes a challenge survives; the next wrong one (and then any) is `code_locked`.
pub const MAX_ATTEMPTS: u32 = 5;
/// Expired challenges are kept this long (answering `code_expired`), then deleted.
const KEEP_EXPIRED: Duration = Duration::days(1);
/// One code request in this many also sweeps old challenges and rate-limit hits.
const SWEEP_ONE_IN: u32 = 64;

/// A new 6-digit code, uniformly drawn from the thread's CSPRNG (ChaCha, seeded by the OS).
pub fn new_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// What is stored of a code: its HMAC under the server's secret together with the challenge id,
/// so a code is only ever good for the challenge it was sent for, and the database alone does
/// not give it away (see [`SignInKey`]).
pub fn code_hash(key: &SignInKey, challenge_id: &str, code: &str) -> String {
    key.sign(&format!("{challenge_id}:{code}"))
}

/// A started sign-in: the answer for the client and the code for the mail (never for the client).
#[derive(Debug)]
pub struct Issued {
    pub challenge: OtpChallenge,
    pub email: String,
    pub code: String,
}

/// Check the email and the rate limits, then store a new challenge for it.
pub async fn start(
    store: &Store,
    key: &SignInKey,
    limits: &RateLimits,
    email: &str,
    client_ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> ApiResult<Issued> {
    let email = parse_email(email)?;
    rate_limit::admit(
        store,
        &[
            (rate_limit::ip_bucket(client_ip), limits.otp_per_ip),
            (
                rate_limit::email_address_bucket(&email, client_ip),
                limits.otp_per_email_address,
            ),
            (rate_limit::email_bucket(&email), limits.otp_per_email),
        ],
        now,
    )
    .await?;
    let id = new_id("otp");
    let code = new_code();
    store
        .insert_otp_challenge(&OtpChallengeRow {
            code_hash: code_hash(key, &id, &code),
            id: id.clone(),
            email: email.clone(),
            created: now,
            expires: now + CODE_TTL,
            attempts: 0,
            consumed: None,
        })
        .await?;
    if rand::rng().random_ratio(1, SWEEP_ONE_IN) {
        sweep(store, limits, now).await;
    }
    Ok(Issued {
        challenge: OtpChallenge {
            challenge_id: id,
            expires_in_s: seconds(CODE_TTL),
            resend_after_s: seconds(limits.otp_per_email_address.min_gap),
        },
        email,
        code,
    })
}

/// The page a code's mail links to (`order?shop=main`), from the request's `link_to`: one of
/// the three apps on a well-formed shop id, else `validation_failed`. The shop need not exist:
/// the page itself says so.
fn link_page(link_to: &LinkTo) -> ApiResult<String> {
    if link_to.app == App::Home {
        return Err(ApiError::detail(
            ErrorCode::ValidationFailed,
            "link_to.app: customer, barista or display",
        ));
    }
    if !is_shop_id(&link_to.shop) {
        return Err(ApiError::detail(
            ErrorCode::ValidationFailed,
            "link_to.shop: not a shop id (lowercase letters, digits and -)",
        ));
    }
    Ok(link_to.app.page(&link_to.shop))
}

/// `POST /auth/otp`: start a sign-in and mail its code, with a link back to the page it was
/// asked from when the request names it (`link_to`): `…/order?shop=main&otp=<challenge>.<code>`,
/// which signs in only in the browser that asked (it keeps the challenge). The mail goes out in
/// the background, so the answer neither waits for a slow mail server nor tells by its timing
/// what happened; a failure is logged and counted ([`crate::mailer::failures`]), never shown to
/// the client.
pub async fn request(
    store: &Store,
    key: &SignInKey,
    mailer: &Mailer,
    limits: &RateLimits,
    request: &OtpRequest,
    client_ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> ApiResult<OtpChallenge> {
    // Checked first: a bad link changes nothing, not even the rate limits' counts.
    let page = request.link_to.as_ref().map(link_page).transpose()?;
    let Issued {
        challenge,
        email,
        code,
    } = start(store, key, limits, &request.email, client_ip, now).await?;
    let link = page.map(|page| {
        format!(
            "{}/{page}&{OTP_LINK_PARAM}={}.{code}",
            store.public_url(),
            challenge.challenge_id
        )
    });
    let lang = MailLang::of(request.lang.as_deref());
    let mailer = mailer.clone();
    tokio::spawn(async move {
        if let Err(error) = mailer.send_code(&email, &code, link.as_deref(), lang).await {
            tracing::warn!(
                to = %email,
                error = %format!("{error:#}"),
                "could not send a sign-in code"
            );
        }
    });
    Ok(challenge)
}

/// What a verify attempt amounts to, judged on the challenge as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The right code in time: sign in.
    Accept,
    /// A wrong code: count it.
    Wrong,
    /// Too many wrong codes already: even the right one is refused.
    Locked,
    Expired,
    /// Already used for a sign-in.
    Spent,
}

/// Judge `code` against `challenge` at `now`. Pure: the caller applies the verdict.
pub fn judge(
    key: &SignInKey,
    challenge: &OtpChallengeRow,
    code: &str,
    now: DateTime<Utc>,
) -> Verdict {
    if challenge.consumed.is_some() {
        return Verdict::Spent;
    }
    if challenge.attempts >= MAX_ATTEMPTS {
        return Verdict::Locked;
    }
    if now >= challenge.expires {
        return Verdict::Expired;
    }
    let presented = code_hash(key, &challenge.id, code.trim());
    // Constant time: how long the comparison takes must not tell how much of it matched.
    if bool::from(presented.as_bytes().ct_eq(challenge.code_hash.as_bytes())) {
        Verdict::Accept
    } else {
        Verdict::Wrong
    }
}

/// `POST /auth/otp/verify`: the code's owner gets a session; the user is created on first use.
pub async fn verify(
    store: &Store,
    key: &SignInKey,
    request: &OtpVerify,
    now: DateTime<Utc>,
) -> ApiResult<Session> {
    // An invitation's challenge signs in through its link only (`POST /auth/link`).
    if super::link::is_invitation(&request.challenge_id) {
        return Err(spent());
    }
    let Some(challenge) = store.otp_challenge(&request.challenge_id).await? else {
        return Err(spent());
    };
    match judge(key, &challenge, &request.code, now) {
        Verdict::Accept => {
            // One job: the challenge consumed (conditionally: of two requests racing with the
            // right code, one signs in), the user created on first use, the session opened.
            let family = crate::store::new_id("fam");
            let pair = super::IssuedPair::new(now);
            let Some(user) = store
                .sign_in(
                    &challenge.id,
                    MAX_ATTEMPTS,
                    &family,
                    pair.stored.clone(),
                    now,
                )
                .await?
            else {
                return Err(spent());
            };
            Ok(pair.session(&user))
        }
        Verdict::Wrong => match store.count_wrong_otp(&challenge.id).await? {
            Some(wrong) if wrong < MAX_ATTEMPTS => Err(ApiError::from(
                Problem::new(ErrorCode::CodeIncorrect).with_attempts_left(MAX_ATTEMPTS - wrong),
            )),
            Some(_) => Err(locked()),
            None => Err(spent()),
        },
        Verdict::Locked => Err(locked()),
        Verdict::Expired => Err(ApiError::from(
            Problem::new(ErrorCode::CodeExpired)
                .with_status(401)
                .with_detail("the code is more than 10 minutes old; please ask for a new one"),
        )),
        Verdict::Spent => Err(spent()),
    }
}

fn spent() -> ApiError {
    ApiError::from(
        Problem::new(ErrorCode::CodeExpired)
            .with_status(401)
            .with_detail("this code was already used or is unknown; please ask for a new one"),
    )
}

fn locked() -> ApiError {
    ApiError::new(ErrorCode::CodeLocked)
}

/// Delete what can no longer matter. Failure only delays the cleaning, so it is logged, not
/// answered.
async fn sweep(store: &Store, limits: &RateLimits, now: DateTime<Utc>) {
    if let Err(error) = store.prune_otp_challenges(now - KEEP_EXPIRED).await {
        tracing::warn!(%error, "could not delete old sign-in challenges");
    }
    let longest = [
        limits.otp_per_ip.window,
        limits.otp_per_email.window,
        limits.otp_per_email_address.window,
        limits.refresh_per_ip.window,
        limits.remembered_per_caller.window,
        limits.pass_per_ip.window,
    ]
    .into_iter()
    .max()
    .unwrap_or(Duration::hours(1));
    if let Err(error) = store.prune_rate_hits(now - longest).await {
        tracing::warn!(%error, "could not delete old rate-limit hits");
    }
}

fn seconds(duration: Duration) -> u64 {
    u64::try_from(duration.num_seconds()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::prelude::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
    }

    async fn store() -> crate::store::SqliteStore {
        crate::store::SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap()
    }

    /// One key for the whole test module (as one server has one).
    fn key() -> &'static SignInKey {
        static KEY: std::sync::OnceLock<SignInKey> = std::sync::OnceLock::new();
        KEY.get_or_init(SignInKey::random)
    }

    async fn issue(store: &Store, email: &str, now: DateTime<Utc>) -> Issued {
        start(store, key(), &RateLimits::default(), email, None, now)
            .await
            .unwrap()
    }

    fn verify_body(issued: &Issued, code: &str) -> OtpVerify {
        OtpVerify {
            challenge_id: issued.challenge.challenge_id.clone(),
            code: code.into(),
        }
    }

    fn other_code(code: &str) -> String {
        let n: u32 = code.parse().unwrap();
        format!("{:06}", (n + 1) % 1_000_000)
    }

    #[test]
    fn a_code_is_six_digits() {
        for _ in 0..1000 {
            let code = new_code();
            assert_eq!(code.len(), 6, "{code}");
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        }
    }

    #[test]
    fn a_code_is_bound_to_its_challenge() {
        assert_ne!(
            code_hash(key(), "otp_a", "123456"),
            code_hash(key(), "otp_b", "123456")
        );
        assert_eq!(
            code_hash(key(), "otp_a", "123456"),
            code_hash(key(), "otp_a", "123456")
        );
    }

    #[test]
    fn a_stored_code_cannot_be_checked_without_the_server_secret() {
        // What an unkeyed hash would store: anyone with the database tries the million codes.
        let bare = crate::auth::hash_secret("otp_a:123456");
        assert_ne!(code_hash(key(), "otp_a", "123456"), bare);
        let other_server = SignInKey::random();
        assert_ne!(
            code_hash(key(), "otp_a", "123456"),
            code_hash(&other_server, "otp_a", "123456")
        );
    }

    #[tokio::test]
    async fn a_challenge_answers_the_documented_times_and_stores_no_code() {
        let store = store().await;
        let issued = issue(&store, "Ann@Example.com", t0()).await;
        assert_eq!(issued.challenge.expires_in_s, 600);
        assert_eq!(issued.challenge.resend_after_s, 30);
        assert_eq!(issued.email, "ann@example.com");
        let row = store
            .otp_challenge(&issued.challenge.challenge_id)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(row.code_hash, issued.code);
        assert!(!row.code_hash.contains(&issued.code));
        assert_eq!(row.expires, t0() + CODE_TTL);
    }

    #[tokio::test]
    async fn a_code_works_until_ten_minutes_have_passed() {
        let store = store().await;
        let issued = issue(&store, "ann@example.com", t0()).await;
        let just_in_time = t0() + CODE_TTL - Duration::milliseconds(1);
        let session = verify(
            &store,
            key(),
            &verify_body(&issued, &issued.code),
            just_in_time,
        )
        .await
        .unwrap();
        assert_eq!(session.user.email, "ann@example.com");
    }

    #[tokio::test]
    async fn an_expired_code_is_refused_with_401_code_expired() {
        let store = store().await;
        let issued = issue(&store, "ann@example.com", t0()).await;
        let error = verify(
            &store,
            key(),
            &verify_body(&issued, &issued.code),
            t0() + CODE_TTL,
        )
        .await
        .unwrap_err();
        assert_eq!(error.0.code, ErrorCode::CodeExpired);
        assert_eq!(error.0.status, 401);
        // No user was created by an expired code.
        assert!(
            store
                .user_by_email("ann@example.com")
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn an_unknown_challenge_reads_as_expired() {
        let store = store().await;
        let body = OtpVerify {
            challenge_id: "otp_nothing".into(),
            code: "123456".into(),
        };
        let error = verify(&store, key(), &body, t0()).await.unwrap_err();
        assert_eq!(error.0.code, ErrorCode::CodeExpired);
        assert_eq!(error.0.status, 401);
    }

    #[tokio::test]
    async fn the_fifth_wrong_code_locks_and_the_right_one_is_refused_after() {
        let store = store().await;
        let issued = issue(&store, "ann@example.com", t0()).await;
        let wrong = verify_body(&issued, &other_code(&issued.code));
        for left in (1..MAX_ATTEMPTS).rev() {
            let error = verify(&store, key(), &wrong, t0()).await.unwrap_err();
            assert_eq!(error.0.code, ErrorCode::CodeIncorrect);
            assert_eq!(error.0.attempts_left, Some(left));
        }
        let error = verify(&store, key(), &wrong, t0()).await.unwrap_err();
        assert_eq!(error.0.code, ErrorCode::CodeLocked);
        let error = verify(&store, key(), &verify_body(&issued, &issued.code), t0())
            .await
            .unwrap_err();
        assert_eq!(error.0.code, ErrorCode::CodeLocked);
        assert_eq!(error.0.status, 401);
    }

    #[tokio::test]
    async fn a_code_with_surrounding_spaces_still_counts() {
        let store = store().await;
        let issued = issue(&store, "ann@example.com", t0()).await;
        let pasted = format!(" {}\n", issued.code);
        verify(&store, key(), &verify_body(&issued, &pasted), t0())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_sweep_forgets_long_expired_challenges_only() {
        let store = store().await;
        let old = issue(&store, "old@example.com", t0()).await;
        let later = t0() + KEEP_EXPIRED + CODE_TTL + Duration::seconds(1);
        let fresh = issue(&store, "new@example.com", later).await;
        sweep(&store, &RateLimits::default(), later).await;
        let id = |issued: &Issued| issued.challenge.challenge_id.clone();
        assert!(store.otp_challenge(&id(&old)).await.unwrap().is_none());
        assert!(store.otp_challenge(&id(&fresh)).await.unwrap().is_some());
    }
}
