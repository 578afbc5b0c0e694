//! Sign-in, sessions, users and push on PostgreSQL, against a throwaway cluster
//! ([`super::scratch`]): two stores on one database stand for two servers. The single-store
//! tests are SQLite's own (`store/tests.rs`, `auth/mod.rs`, `auth/otp.rs`,
//! `auth/rate_limit.rs`), ported.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use espresso_protocol::{ErrorCode, PushKeys, PushSubscription, Role};

use super::PgStore;
use crate::auth::rate_limit::{self, RateLimits, Rule};
use crate::auth::{ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL, authenticate, open_session, refresh};
use crate::store::prelude::*;
use crate::store::{AccessChange, Rotation, StoreError};

async fn two_servers() -> (PgStore, PgStore) {
    let url = super::scratch::fresh_database().await.unwrap();
    let a = PgStore::open(&url, "http://cafe.test").await.unwrap();
    let b = PgStore::open(&url, "http://cafe.test").await.unwrap();
    (a, b)
}

async fn one_server() -> PgStore {
    let url = super::scratch::fresh_database().await.unwrap();
    PgStore::open(&url, "http://cafe.test").await.unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
}

/// The next access change `changes` hears (within a deadline).
async fn next_change(changes: &mut tokio::sync::broadcast::Receiver<AccessChange>) -> AccessChange {
    tokio::time::timeout(StdDuration::from_secs(10), changes.recv())
        .await
        .expect("no access change announced within 10 s")
        .unwrap()
}

#[tokio::test]
async fn a_session_signed_out_through_one_server_is_refused_by_the_other() {
    let (a, b) = two_servers().await;
    let now = Utc::now();
    let user = a.ensure_user("ann@cafe.test", now).await.unwrap();
    let session = open_session(&a, &user, now).await.unwrap();
    // B knows the token (and caches who it is).
    assert!(
        authenticate(&b, &session.access_token, now)
            .await
            .unwrap()
            .is_some()
    );
    let mut changes_b = b.access_changes();
    crate::auth::sign_out(&a, &session.access_token, now)
        .await
        .unwrap();
    // At once on the server that signed out...
    assert!(
        authenticate(&a, &session.access_token, now)
            .await
            .unwrap()
            .is_none()
    );
    // ...and on the other once it hears of it (its live sockets re-check then).
    assert_eq!(next_change(&mut changes_b).await, AccessChange::Everyone);
    assert!(
        authenticate(&b, &session.access_token, now)
            .await
            .unwrap()
            .is_none()
    );
    let error = refresh(&b, &session.refresh_token, now).await.unwrap_err();
    assert_eq!(error.0.code, ErrorCode::Unauthenticated);
}

#[tokio::test]
async fn a_role_granted_through_one_server_is_seen_by_the_other() {
    let (a, b) = two_servers().await;
    let now = Utc::now();
    let user = a.ensure_user("ann@cafe.test", now).await.unwrap();
    let session = open_session(&a, &user, now).await.unwrap();
    let seen = authenticate(&b, &session.access_token, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.roles, vec![Role::Customer]);
    let mut changes_b = b.access_changes();
    a.grant("ann@cafe.test", Role::Barista, now).await.unwrap();
    assert_eq!(
        next_change(&mut changes_b).await,
        AccessChange::User(user.id.as_str().into())
    );
    let seen = authenticate(&b, &session.access_token, now)
        .await
        .unwrap()
        .unwrap();
    assert!(seen.roles.contains(&Role::Barista), "{:?}", seen.roles);
}

#[tokio::test]
async fn one_refresh_token_presented_on_two_servers_at_once_rotates_once_and_the_reuse_revokes() {
    let (a, b) = two_servers().await;
    let now = Utc::now();
    let user = a.ensure_user("ann@cafe.test", now).await.unwrap();
    let first = open_session(&a, &user, now).await.unwrap();
    let hash = crate::auth::hash_secret(&first.refresh_token);
    let pair_a = crate::auth::IssuedPair::new(now);
    let pair_b = crate::auth::IssuedPair::new(now);
    let (on_a, on_b) = tokio::join!(
        a.rotate_refresh(&hash, pair_a.stored.clone(), now),
        b.rotate_refresh(&hash, pair_b.stored.clone(), now)
    );
    let (on_a, on_b) = (on_a.unwrap(), on_b.unwrap());
    let rotated = [&on_a, &on_b]
        .iter()
        .filter(|r| matches!(r, Rotation::Rotated { .. }))
        .count();
    let reused = [&on_a, &on_b]
        .iter()
        .filter(|r| matches!(r, Rotation::Reused { .. }))
        .count();
    assert_eq!((rotated, reused), (1, 1), "{on_a:?} {on_b:?}");
    // The reuse revoked the family: the winner's new pair is dead too, on both servers.
    for store in [&a, &b] {
        for pair in [&pair_a, &pair_b] {
            assert!(
                authenticate(store, &pair.access, now)
                    .await
                    .unwrap()
                    .is_none()
            );
        }
    }
    let tokens: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tokens")
        .fetch_one(a.pool())
        .await
        .unwrap();
    assert_eq!(
        tokens, 4,
        "one pair at sign-in, one new pair: the loser stored none"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_two_admins_demoted_on_two_servers_at_once_leave_one() {
    let (a, b) = two_servers().await;
    let now = Utc::now();
    for round in 0..20 {
        let ann = a
            .grant(&format!("ann{round}@cafe.test"), Role::Admin, now)
            .await
            .unwrap();
        let bob = b
            .grant(&format!("bob{round}@cafe.test"), Role::Admin, now)
            .await
            .unwrap();
        // Only these two are admins.
        for other in a.staff().await.unwrap() {
            if other.id != ann.id && other.id != bob.id {
                a.set_roles(&other.id, &[]).await.unwrap();
            }
        }
        let (on_a, on_b) = {
            let (a, b, ann, bob) = (a.clone(), b.clone(), ann.id.clone(), bob.id.clone());
            let on_a = tokio::spawn(async move { a.set_roles(&ann, &[Role::Barista]).await });
            let on_b = tokio::spawn(async move { b.set_roles(&bob, &[Role::Barista]).await });
            (on_a.await.unwrap(), on_b.await.unwrap())
        };
        let refused: Vec<&StoreError> = [&on_a, &on_b]
            .into_iter()
            .filter_map(|r| r.as_ref().err())
            .collect();
        assert_eq!(refused.len(), 1, "round {round}: {on_a:?} {on_b:?}");
        assert_eq!(refused[0].code(), ErrorCode::LastAdmin);
        let admins: Vec<_> = a
            .staff()
            .await
            .unwrap()
            .into_iter()
            .filter(|u| u.roles.contains(&Role::Admin))
            .collect();
        assert_eq!(admins.len(), 1, "round {round}");
    }
}

#[tokio::test]
async fn a_role_change_refused_for_the_last_admin_changes_nothing() {
    let store = one_server().await;
    let now = Utc::now();
    let ann = store
        .grant("ann@cafe.test", Role::Admin, now)
        .await
        .unwrap();
    store
        .grant("ann@cafe.test", Role::Barista, now)
        .await
        .unwrap();
    let error = store.set_roles(&ann.id, &[]).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::LastAdmin);
    let ann = store.user_by_id(&ann.id).await.unwrap().unwrap();
    assert_eq!(ann.roles, vec![Role::Customer, Role::Admin, Role::Barista]);
    // With another admin, the roles are replaced.
    store
        .grant("bob@cafe.test", Role::Admin, now)
        .await
        .unwrap();
    store.set_roles(&ann.id, &[Role::Display]).await.unwrap();
    let ann = store.user_by_id(&ann.id).await.unwrap().unwrap();
    assert_eq!(ann.roles, vec![Role::Customer, Role::Display]);
    let staff: Vec<String> = store
        .staff()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    assert_eq!(staff, ["ann@cafe.test", "bob@cafe.test"]);
}

#[tokio::test]
async fn users_are_found_by_email_whatever_its_case_and_made_once() {
    let (a, b) = two_servers().await;
    let now = Utc::now();
    let (one, two) = tokio::join!(
        a.ensure_user(" Ann@Cafe.test", now),
        b.ensure_user("ann@cafe.TEST ", now)
    );
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(one, two);
    assert_eq!(one.email, "ann@cafe.test");
    assert_eq!(
        a.user_by_email("ANN@cafe.test").await.unwrap(),
        Some(one.clone())
    );
    a.set_display_name(&one.id, Some("Ann")).await.unwrap();
    let named = b.user_by_id(&one.id).await.unwrap().unwrap();
    assert_eq!(named.display_name.as_deref(), Some("Ann"));
}

// SQLite's `a_cached_access_token_stops_working_at_sign_out_and_follows_role_changes`.
#[tokio::test]
async fn a_cached_access_token_stops_working_at_sign_out_and_follows_role_changes() {
    let store = one_server().await;
    let now = Utc::now();
    let user = store.ensure_user("ann@cafe.test", now).await.unwrap();
    let session = open_session(&store, &user, now).await.unwrap();
    let seen = authenticate(&store, &session.access_token, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.roles, vec![Role::Customer]);
    store
        .grant("ann@cafe.test", Role::Barista, now)
        .await
        .unwrap();
    let seen = authenticate(&store, &session.access_token, now)
        .await
        .unwrap()
        .unwrap();
    assert!(seen.roles.contains(&Role::Barista), "{:?}", seen.roles);
    crate::auth::sign_out(&store, &session.access_token, now)
        .await
        .unwrap();
    assert!(
        authenticate(&store, &session.access_token, now)
            .await
            .unwrap()
            .is_none()
    );
    let other = open_session(&store, &user, now).await.unwrap();
    let later = now + ACCESS_TOKEN_TTL + Duration::seconds(1);
    assert!(
        authenticate(&store, &other.access_token, now)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        authenticate(&store, &other.access_token, later)
            .await
            .unwrap()
            .is_none()
    );
}

// `auth/mod.rs`'s session tests.
#[tokio::test]
async fn refresh_rules_as_on_sqlite() {
    let store = one_server().await;
    let now = Utc::now();
    let user = store.ensure_user("ann@example.com", now).await.unwrap();
    // A refresh gives a new pair for the same user.
    let first = open_session(&store, &user, now).await.unwrap();
    let second = refresh(&store, &first.refresh_token, now).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    assert_eq!(second.user, first.user);
    // Used twice: the family is revoked.
    let error = refresh(&store, &first.refresh_token, now)
        .await
        .unwrap_err();
    assert_eq!(error.0.code, ErrorCode::TokenReused);
    assert_eq!(error.0.status, 401);
    for token in [&first.access_token, &second.access_token] {
        assert!(authenticate(&store, token, now).await.unwrap().is_none());
    }
    let error = refresh(&store, &second.refresh_token, now)
        .await
        .unwrap_err();
    assert_eq!(error.0.code, ErrorCode::Unauthenticated);
    // An expired refresh token is unauthenticated and kills nothing.
    let third = open_session(&store, &user, now).await.unwrap();
    let error = refresh(&store, &third.refresh_token, now + REFRESH_TOKEN_TTL)
        .await
        .unwrap_err();
    assert_eq!(error.0.code, ErrorCode::Unauthenticated);
    assert!(
        authenticate(&store, &third.access_token, now)
            .await
            .unwrap()
            .is_some()
    );
    // An access token expires after fifteen minutes.
    let almost = now + ACCESS_TOKEN_TTL - Duration::seconds(1);
    assert!(
        authenticate(&store, &third.access_token, almost)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        authenticate(&store, &third.access_token, now + ACCESS_TOKEN_TTL)
            .await
            .unwrap()
            .is_none()
    );
    // Signing out ends the access and the refresh token.
    crate::auth::sign_out(&store, &third.access_token, now)
        .await
        .unwrap();
    let error = refresh(&store, &third.refresh_token, now)
        .await
        .unwrap_err();
    assert_eq!(error.0.code, ErrorCode::Unauthenticated);
    // An unknown one is unauthenticated.
    assert_eq!(
        store
            .rotate_refresh("nothing", crate::auth::IssuedPair::new(now).stored, now)
            .await
            .unwrap(),
        Rotation::Unknown
    );
}

#[tokio::test]
async fn a_prune_forgets_expired_tokens_and_empty_old_sessions_only() {
    let store = one_server().await;
    let now = Utc::now();
    let user = store.ensure_user("ann@example.com", now).await.unwrap();
    let old = open_session(&store, &user, now).await.unwrap();
    let later = now + REFRESH_TOKEN_TTL + Duration::seconds(1);
    let fresh = open_session(&store, &user, later).await.unwrap();
    assert_eq!(store.prune_tokens(later).await.unwrap(), 2);
    assert!(
        authenticate(&store, &fresh.access_token, later)
            .await
            .unwrap()
            .is_some()
    );
    let families: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM token_families")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(families, 1);
    let error = refresh(&store, &old.refresh_token, later)
        .await
        .unwrap_err();
    assert_eq!(error.0.code, ErrorCode::Unauthenticated);
}

// `auth/otp.rs`'s tests that reach storage, and the race of one code on two servers.
mod otp {
    use super::*;
    use crate::auth::SignInKey;
    use crate::auth::otp::{self, CODE_TTL, Issued, MAX_ATTEMPTS};
    use espresso_protocol::OtpVerify;

    fn key() -> &'static SignInKey {
        static KEY: std::sync::OnceLock<SignInKey> = std::sync::OnceLock::new();
        KEY.get_or_init(SignInKey::random)
    }

    async fn issue(store: &PgStore, email: &str, now: DateTime<Utc>) -> Issued {
        otp::start(store, key(), &RateLimits::default(), email, None, now)
            .await
            .unwrap()
    }

    fn body(issued: &Issued, code: &str) -> OtpVerify {
        OtpVerify {
            challenge_id: issued.challenge.challenge_id.clone(),
            code: code.into(),
        }
    }

    fn other_code(code: &str) -> String {
        let n: u32 = code.parse().unwrap();
        format!("{:06}", (n + 1) % 1_000_000)
    }

    #[tokio::test]
    async fn a_code_signs_in_once_whichever_servers_it_is_sent_to() {
        let (a, b) = two_servers().await;
        let issued = issue(&a, "Ann@Example.com", t0()).await;
        let row = b
            .otp_challenge(&issued.challenge.challenge_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.email, "ann@example.com");
        assert!(!row.code_hash.contains(&issued.code));
        assert_eq!(row.expires, t0() + CODE_TTL);
        let right = body(&issued, &issued.code);
        let (on_a, on_b) = tokio::join!(
            otp::verify(&a, key(), &right, t0()),
            otp::verify(&b, key(), &right, t0())
        );
        assert_eq!(
            [&on_a, &on_b].iter().filter(|r| r.is_ok()).count(),
            1,
            "{:?} {:?}",
            on_a.as_ref().map(|_| ()).map_err(|e| &e.0),
            on_b.as_ref().map(|_| ()).map_err(|e| &e.0)
        );
        let families: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM token_families")
            .fetch_one(a.pool())
            .await
            .unwrap();
        assert_eq!(families, 1);
    }

    #[tokio::test]
    async fn an_expired_code_is_refused_and_makes_no_user() {
        let store = one_server().await;
        let issued = issue(&store, "ann@example.com", t0()).await;
        let error = otp::verify(&store, key(), &body(&issued, &issued.code), t0() + CODE_TTL)
            .await
            .unwrap_err();
        assert_eq!(error.0.code, ErrorCode::CodeExpired);
        assert!(
            store
                .user_by_email("ann@example.com")
                .await
                .unwrap()
                .is_none()
        );
        let just_in_time = t0() + CODE_TTL - Duration::milliseconds(1);
        let issued = issue(&store, "bob@example.com", t0()).await;
        let session = otp::verify(&store, key(), &body(&issued, &issued.code), just_in_time)
            .await
            .unwrap();
        assert_eq!(session.user.email, "bob@example.com");
    }

    #[tokio::test]
    async fn the_fifth_wrong_code_locks_and_the_right_one_is_refused_after() {
        let (a, b) = two_servers().await;
        let issued = issue(&a, "ann@example.com", t0()).await;
        let wrong = body(&issued, &other_code(&issued.code));
        for left in (1..MAX_ATTEMPTS).rev() {
            // Guesses spread over the servers count together.
            let store = if left % 2 == 0 { &a } else { &b };
            let error = otp::verify(store, key(), &wrong, t0()).await.unwrap_err();
            assert_eq!(error.0.code, ErrorCode::CodeIncorrect);
            assert_eq!(error.0.attempts_left, Some(left));
        }
        let error = otp::verify(&a, key(), &wrong, t0()).await.unwrap_err();
        assert_eq!(error.0.code, ErrorCode::CodeLocked);
        let error = otp::verify(&b, key(), &body(&issued, &issued.code), t0())
            .await
            .unwrap_err();
        assert_eq!(error.0.code, ErrorCode::CodeLocked);
    }

    /// The challenges are stored directly: one code request in 64 sweeps old challenges on
    /// its own, which would leave this prune nothing to do.
    #[tokio::test]
    async fn a_prune_forgets_long_expired_challenges_only() {
        let store = one_server().await;
        let challenge = |id: &str, created: DateTime<Utc>| crate::store::sign_in::OtpChallengeRow {
            id: id.into(),
            email: format!("{id}@example.com"),
            code_hash: "hash".into(),
            created,
            expires: created + CODE_TTL,
            attempts: 0,
            consumed: None,
        };
        let later = t0() + Duration::days(2);
        for row in [challenge("old", t0()), challenge("new", later)] {
            store.insert_otp_challenge(&row).await.unwrap();
        }
        assert_eq!(store.prune_otp_challenges(later).await.unwrap(), 1);
        assert!(store.otp_challenge("old").await.unwrap().is_none());
        assert!(store.otp_challenge("new").await.unwrap().is_some());
    }
}

// `auth/rate_limit.rs`'s storage tests, and first-time requests on two servers at once.
#[tokio::test]
async fn thirty_first_time_code_requests_at_once_on_two_servers_are_all_admitted() {
    let (a, b) = two_servers().await;
    let limits = RateLimits::default();
    let mut requests = Vec::new();
    for n in 0..30 {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        let email = format!("guest{n}@example.com");
        requests.push(tokio::spawn(async move {
            // As `otp::start` asks: the email from this address, the email, the address.
            let checks = [
                (
                    rate_limit::email_address_bucket(&email, None),
                    limits.otp_per_email_address,
                ),
                (rate_limit::email_bucket(&email), limits.otp_per_email),
                (rate_limit::ip_bucket(None), limits.otp_per_ip),
            ];
            rate_limit::admit(&store, &checks, Utc::now()).await
        }));
    }
    let mut refused = Vec::new();
    for request in requests {
        if let Err(error) = request.await.unwrap() {
            refused.push(error.0.detail);
        }
    }
    assert!(refused.is_empty(), "{} refused: {refused:?}", refused.len());
    let hits: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rate_hits WHERE bucket = $1")
        .bind(rate_limit::ip_bucket(None))
        .fetch_one(a.pool())
        .await
        .unwrap();
    assert_eq!(hits, 30);
}

#[tokio::test]
async fn a_limit_shared_by_two_servers_admits_exactly_its_hits() {
    let (a, b) = two_servers().await;
    let rule = Rule::per_hour(10);
    let mut requests = Vec::new();
    for n in 0..30 {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        requests.push(tokio::spawn(async move {
            let checks = [(rate_limit::ip_bucket(None), rule)];
            rate_limit::admit(&store, &checks, Utc::now()).await.is_ok()
        }));
    }
    let mut admitted = 0;
    for request in requests {
        admitted += usize::from(request.await.unwrap());
    }
    assert_eq!(admitted, 10);
}

#[tokio::test]
async fn a_refused_request_is_not_counted_and_every_bucket_must_allow_a_hit() {
    let store = one_server().await;
    let email = [(
        rate_limit::email_bucket("ann@example.com"),
        RateLimits::default().otp_per_email_address,
    )];
    rate_limit::admit(&store, &email, t0()).await.unwrap();
    for s in 1..30 {
        assert!(
            rate_limit::admit(&store, &email, t0() + Duration::seconds(s))
                .await
                .is_err()
        );
    }
    rate_limit::admit(&store, &email, t0() + Duration::seconds(30))
        .await
        .unwrap();

    let tight = Rule::per_hour(1);
    let ip = (rate_limit::ip_bucket(None), tight);
    rate_limit::admit(&store, std::slice::from_ref(&ip), t0())
        .await
        .unwrap();
    let both = [ip, (rate_limit::email_bucket("bob@example.com"), tight)];
    assert!(
        rate_limit::admit(&store, &both, t0() + Duration::seconds(1))
            .await
            .is_err()
    );
    rate_limit::admit(&store, &both[1..], t0() + Duration::seconds(2))
        .await
        .unwrap();
    assert_eq!(
        store
            .prune_rate_hits(t0() + Duration::hours(2))
            .await
            .unwrap(),
        4
    );
}

#[tokio::test]
async fn push_subscriptions_keep_the_newest_move_between_users_and_are_removed() {
    let store = one_server().await;
    let now = Utc::now();
    let ann = store.ensure_user("ann@example.com", now).await.unwrap();
    let bob = store.ensure_user("bob@example.com", now).await.unwrap();
    let sub = |n: usize| PushSubscription {
        endpoint: format!("https://push.test/{n}"),
        keys: PushKeys {
            p256dh: format!("p{n}"),
            auth: format!("a{n}"),
        },
    };
    for n in 0..4 {
        store
            .add_push_subscription(&ann.id, &sub(n), now + Duration::seconds(n as i64), 3)
            .await
            .unwrap();
    }
    assert_eq!(
        store.push_subscriptions_of(&ann.id).await.unwrap(),
        vec![sub(3), sub(2), sub(1)]
    );
    // An endpoint another user had moves to this one.
    store
        .add_push_subscription(&bob.id, &sub(3), now + Duration::seconds(9), 3)
        .await
        .unwrap();
    assert_eq!(
        store.push_subscriptions_of(&ann.id).await.unwrap(),
        vec![sub(2), sub(1)]
    );
    assert_eq!(
        store.push_subscriptions_of(&bob.id).await.unwrap(),
        vec![sub(3)]
    );
    // Only its user's, when one is given.
    assert!(
        !store
            .remove_push_subscription(Some(&ann.id), &sub(3).endpoint)
            .await
            .unwrap()
    );
    assert!(
        store
            .remove_push_subscription(Some(&bob.id), &sub(3).endpoint)
            .await
            .unwrap()
    );
    assert!(
        store
            .remove_push_subscription(None, &sub(2).endpoint)
            .await
            .unwrap()
    );
    assert_eq!(
        store.push_subscriptions_of(&ann.id).await.unwrap(),
        vec![sub(1)]
    );
}
