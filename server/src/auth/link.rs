//! Invitations: an admin gives someone staff roles and mails them a link that signs them in
//! once, within 24 hours (`POST /staff/invitations`, then `POST /auth/link`).
//!
//! A link's token is `inv_<id>.<secret>`: the id names a sign-in challenge stored like a
//! one-time code's ([`OtpChallengeRow`]), and of the secret (128 random bits) only its HMAC
//! under the server's [`SignInKey`], bound to the id, is stored ([`otp::code_hash`]). The
//! database alone cannot make a link. Using it consumes the challenge in the same job that
//! opens the session, so of two uses one signs in.
//!
//! Refusals (`422`): a token that is malformed, unknown or not an invitation's, or whose
//! secret is wrong, is `code_invalid`; one used already or older than 24 hours `code_expired`.

use chrono::{DateTime, Duration, Utc};
use espresso_protocol::{App, ErrorCode, Invitation, Role, Session, User};
use rand::Rng;
use subtle::ConstantTimeEq;

use super::SignInKey;
use super::otp::{self, MAX_ATTEMPTS};
use super::profile::parse_email;
use super::rate_limit::{self, RateLimits};
use crate::error::{ApiError, ApiResult};
use crate::mailer::{Mail, MailLang, Mailer};
use crate::store::sign_in::OtpChallengeRow;
use crate::store::{Store, new_id};

/// How long an invitation's link signs in.
pub const LINK_TTL: Duration = Duration::hours(24);
/// The id prefix of an invitation's challenge: a one-time code's verify refuses these, and a
/// link cannot use a code's challenge.
pub const PREFIX: &str = "inv";

/// A new secret: 26 characters of 32 (130 bits) from the thread's CSPRNG.
fn new_secret() -> String {
    const ALPHABET: &[u8] = b"23456789abcdefghijkmnpqrstuvwxyz";
    let mut rng = rand::rng();
    (0..26)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Is this challenge id an invitation's?
pub fn is_invitation(challenge_id: &str) -> bool {
    challenge_id
        .strip_prefix(PREFIX)
        .is_some_and(|rest| rest.starts_with('_'))
}

/// `POST /staff/invitations` (the caller's admin role already checked): check everything,
/// then set the roles (as `PUT …/roles`, last-admin rule included), store the link's challenge
/// and mail the link in the background. A refusal changes nothing. Answers the user.
pub async fn invite(
    store: &Store,
    key: &SignInKey,
    mailer: &Mailer,
    limits: &RateLimits,
    invitation: &Invitation,
    now: DateTime<Utc>,
) -> ApiResult<User> {
    let email = parse_email(&invitation.email)?;
    if invitation.roles.is_empty() || !invitation.roles.iter().all(|role| role.is_staff()) {
        return Err(ApiError::detail(
            ErrorCode::ValidationFailed,
            "roles: at least one of barista, display and admin (and nothing else)",
        ));
    }
    let shop = store.shop(&invitation.shop).await?;
    rate_limit::admit(
        store,
        &[(rate_limit::email_bucket(&email), limits.otp_per_email)],
        now,
    )
    .await?;
    let user = super::profile::assign_roles(store, &email, &invitation.roles, now).await?;
    let id = new_id(PREFIX);
    let secret = new_secret();
    store
        .insert_otp_challenge(&OtpChallengeRow {
            code_hash: otp::code_hash(key, &id, &secret),
            id: id.clone(),
            email: email.clone(),
            created: now,
            expires: now + LINK_TTL,
            attempts: 0,
            consumed: None,
        })
        .await?;
    let app = if invitation.roles == [Role::Display] {
        App::Display
    } else {
        App::Barista
    };
    let link = format!(
        "{}/{}&signin={id}.{secret}",
        store.public_url(),
        app.page(&shop.id)
    );
    let mail = Mail::invitation(&shop.name, &link, MailLang::of(invitation.lang.as_deref()));
    let mailer = mailer.clone();
    tokio::spawn(async move {
        if let Err(error) = mailer.send(&email, &mail).await {
            tracing::warn!(
                to = %email,
                error = %format!("{error:#}"),
                "could not send an invitation"
            );
        }
    });
    Ok(user)
}

/// `POST /auth/link`: the link's owner gets a session (as `/auth/otp/verify` gives one).
pub async fn sign_in(
    store: &Store,
    key: &SignInKey,
    token: &str,
    now: DateTime<Utc>,
) -> ApiResult<Session> {
    let Some((id, secret)) = token.trim().split_once('.') else {
        return Err(invalid());
    };
    if !is_invitation(id) {
        return Err(invalid());
    }
    let Some(challenge) = store.otp_challenge(id).await? else {
        return Err(invalid());
    };
    let presented = otp::code_hash(key, id, secret);
    // Constant time: how long the comparison takes must not tell how much of it matched.
    if !bool::from(presented.as_bytes().ct_eq(challenge.code_hash.as_bytes())) {
        return Err(invalid());
    }
    if challenge.consumed.is_some() || now >= challenge.expires {
        return Err(expired());
    }
    let family = new_id("fam");
    let pair = super::IssuedPair::new(now);
    // Consumed in the job that opens the session: of two uses at once, one signs in.
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
        return Err(expired());
    };
    Ok(pair.session(&user))
}

fn invalid() -> ApiError {
    ApiError::detail(
        ErrorCode::CodeInvalid,
        "this sign-in link is not one we sent; ask for a new invitation or sign in with a code",
    )
}

fn expired() -> ApiError {
    ApiError::detail(
        ErrorCode::CodeExpired,
        "this sign-in link was used already or is more than 24 hours old; sign in with a code",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;
    use crate::store::prelude::*;

    async fn invited(store: &SqliteStore, key: &SignInKey, dir: &std::path::Path) -> String {
        let admin = store
            .ensure_user("boss@cafe.test", Utc::now())
            .await
            .unwrap();
        store.set_roles(&admin.id, &[Role::Admin]).await.unwrap();
        let mailer = Mailer::Dir(dir.to_owned());
        invite(
            store,
            key,
            &mailer,
            &RateLimits::default(),
            &Invitation {
                email: "Bea@Cafe.test".into(),
                roles: vec![Role::Barista],
                shop: "main".into(),
                lang: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let mails = espresso_protocol::maildir::mails_to(dir, "bea@cafe.test");
            if let Some(path) = mails.first() {
                let text = std::fs::read_to_string(path).unwrap();
                let (_, token) = text.split_once("&signin=").unwrap();
                return token.split_whitespace().next().unwrap().to_owned();
            }
            assert!(std::time::Instant::now() < deadline, "no invitation mailed");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn a_link_signs_in_within_24_hours_and_not_after() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap();
        let key = SignInKey::random();
        let token = invited(&store, &key, dir.path()).await;
        let later = Utc::now() + LINK_TTL + Duration::seconds(1);
        let refused = sign_in(&store, &key, &token, later).await.unwrap_err();
        assert_eq!(refused.0.code, ErrorCode::CodeExpired);
        let almost = Utc::now() + LINK_TTL - Duration::seconds(5);
        let session = sign_in(&store, &key, &token, almost).await.unwrap();
        assert_eq!(session.user.email, "bea@cafe.test");
        assert!(session.user.roles.contains(&Role::Barista));
    }

    #[tokio::test]
    async fn a_wrong_secret_or_a_codes_challenge_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap();
        let key = SignInKey::random();
        let token = invited(&store, &key, dir.path()).await;
        let (id, _) = token.split_once('.').unwrap();
        for bad in [
            format!("{id}.wrong"),
            format!("{id}."),
            id.to_owned(),
            String::new(),
            "otp_abc.123456".to_owned(),
            "inv_nothing.x".to_owned(),
        ] {
            let refused = sign_in(&store, &key, &bad, Utc::now()).await.unwrap_err();
            assert_eq!(refused.0.code, ErrorCode::CodeInvalid, "{bad:?}");
        }
        // Another server's key cannot use it either.
        let other = SignInKey::random();
        let refused = sign_in(&store, &other, &token, Utc::now())
            .await
            .unwrap_err();
        assert_eq!(refused.0.code, ErrorCode::CodeInvalid);
        assert!(is_invitation(id));
        assert!(!is_invitation("invoice_1"));
    }
}
