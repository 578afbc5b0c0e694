//! Who a user is: the email that identifies them, the name shown on the board, their roles.
//! Input from outside is checked here once, for the API and the command line alike.

use chrono::{DateTime, Utc};
use espresso_protocol::{ErrorCode, MAX_DISPLAY_NAME_CHARS, Role, User};

use crate::error::{ApiError, ApiResult};
use crate::store::{Store, UserRecord};

/// Longest email address there can be (RFC 5321's path limit less the angle brackets).
pub const MAX_EMAIL_CHARS: usize = 254;
const MAX_LOCAL_PART_CHARS: usize = 64;
const MAX_LABEL_CHARS: usize = 63;

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::detail(ErrorCode::ValidationFailed, detail)
}

/// A plausible email address (`local@domain.tld`), normalised as the store keeps it: trimmed
/// and lower-cased. Deliberately strict (ASCII, no quoted local parts, no IP literals): the
/// address also becomes a mail header and a file name of the `dir:` mailer, and every real
/// customer address fits.
pub fn parse_email(raw: &str) -> ApiResult<String> {
    // Same normalisation as the store's (`users::normalise_email`), which is not reachable here.
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err(invalid("an email address is needed"));
    }
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(invalid(format!(
            "an email address has at most {MAX_EMAIL_CHARS} characters"
        )));
    }
    let not_an_email = || invalid("that is not an email address (name@example.com)");
    let (local, domain) = email.rsplit_once('@').ok_or_else(not_an_email)?;
    let local_ok = !local.is_empty()
        && local.len() <= MAX_LOCAL_PART_CHARS
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(is_local_char);
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| is_label(label))
        && labels
            .last()
            .is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic()));
    if local_ok && domain_ok {
        Ok(email)
    } else {
        Err(not_an_email())
    }
}

/// RFC 5322 `atext` and the dot: what an unquoted local part may hold.
fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c)
}

fn is_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= MAX_LABEL_CHARS
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The display name to store for a `PATCH /me` value: trimmed; empty or null clears it; at most
/// [`MAX_DISPLAY_NAME_CHARS`] characters and no control characters (it is shown on the board).
pub fn parse_display_name(raw: Option<&str>) -> ApiResult<Option<String>> {
    let Some(name) = raw.map(str::trim).filter(|name| !name.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(invalid(format!(
            "a display name has at most {MAX_DISPLAY_NAME_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("a display name cannot hold control characters"));
    }
    if name.chars().any(is_invisible_format) {
        return Err(invalid(
            "a display name cannot hold invisible formatting characters (direction marks, \
             zero-width spaces)",
        ));
    }
    Ok(Some(name.to_owned()))
}

/// Invisible format characters that can make a name on the board read as something else:
/// direction overrides and isolates (a name that reverses what follows it), zero-width spaces
/// and joiners of words, the byte-order mark, soft hyphen. Zero-width (non-)joiners stay: emoji
/// sequences and several scripts need them.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// Replace the roles of the user with this email (created if unknown, so staff can be set up
/// before their first sign-in). `customer` is always kept.
pub async fn assign_roles(
    store: &Store,
    email: &str,
    roles: &[Role],
    now: DateTime<Utc>,
) -> ApiResult<User> {
    let email = parse_email(email)?;
    let user = store.ensure_user(&email, now).await?;
    store.set_roles(&user.id, roles).await?;
    let user = store
        .user_by_id(&user.id)
        .await?
        .ok_or_else(|| ApiError::internal("a user vanished while its roles were set"))?;
    Ok(user.user())
}

/// Make `email` an admin (`serve --admin`, first-time setup), creating the user if needed.
pub async fn grant_admin(
    store: &Store,
    email: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<UserRecord> {
    grant(store, email, Role::Admin, now).await
}

/// Add `role` to the user with this email, creating the user if needed (`users grant`).
pub async fn grant(
    store: &Store,
    email: &str,
    role: Role,
    now: DateTime<Utc>,
) -> anyhow::Result<UserRecord> {
    let email = parse_email(email).map_err(|refusal| {
        let why = refusal.0.detail.unwrap_or_else(|| refusal.0.title.clone());
        anyhow::anyhow!("{email:?}: {why}")
    })?;
    Ok(store.grant(&email, role, now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_trimmed_and_lower_cased() {
        assert_eq!(
            parse_email("  Ann.Lee+cafe@Example.COM ").unwrap(),
            "ann.lee+cafe@example.com"
        );
        assert_eq!(parse_email("a@b.c").unwrap(), "a@b.c");
    }

    #[test]
    fn what_is_not_an_email_is_refused_as_validation_failed() {
        for bad in [
            "",
            "   ",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "ann@example.",
            "ann@.com",
            "ann@exa mple.com",
            "an n@example.com",
            "ann@@example.com",
            "a@b@example.com",
            "ann@-cafe.com",
            "ann@cafe-.com",
            "ann@10.0.0.1",
            ".ann@example.com",
            "ann.@example.com",
            "an..n@example.com",
            "ann@example.com\r\nBcc: eve@example.com",
            "\"ann\"@example.com",
            "ann<x>@example.com",
        ] {
            let error = parse_email(bad).expect_err(bad);
            assert_eq!(error.0.code, ErrorCode::ValidationFailed, "{bad:?}");
            assert_eq!(error.0.status, 422);
        }
    }

    #[test]
    fn an_email_has_at_most_254_characters() {
        let domain = format!(
            "{}.{}.{}.com",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63)
        );
        let fits = format!(
            "{}@{domain}",
            "x".repeat(MAX_EMAIL_CHARS - 1 - domain.len())
        );
        assert_eq!(fits.len(), MAX_EMAIL_CHARS);
        assert!(parse_email(&fits).is_ok());
        let too_long = format!("x{fits}");
        assert!(parse_email(&too_long).is_err());
    }

    #[test]
    fn a_display_name_is_trimmed_and_empty_clears_it() {
        assert_eq!(
            parse_display_name(Some("  Ann ")).unwrap(),
            Some("Ann".into())
        );
        assert_eq!(parse_display_name(Some("   ")).unwrap(), None);
        assert_eq!(parse_display_name(None).unwrap(), None);
    }

    #[test]
    fn a_display_name_has_at_most_32_characters_counted_as_characters() {
        assert!(parse_display_name(Some(&"é".repeat(32))).is_ok());
        let error = parse_display_name(Some(&"a".repeat(33))).unwrap_err();
        assert_eq!(error.0.code, ErrorCode::ValidationFailed);
        assert!(parse_display_name(Some("Ann\u{7}")).is_err());
    }

    #[test]
    fn a_display_name_cannot_reverse_or_hide_what_the_board_shows() {
        // "Ann" then a right-to-left override: the rest of the line would read backwards.
        for sneaky in [
            "Ann\u{202E}nimda",
            "Ad\u{200B}min",
            "\u{2066}Bob\u{2069}",
            "\u{FEFF}Eve",
        ] {
            let error = parse_display_name(Some(sneaky)).unwrap_err();
            assert_eq!(error.0.code, ErrorCode::ValidationFailed, "{sneaky:?}");
        }
        // What real names and emoji need still passes.
        for fine in ["Zoë", "José María", "می‌خواهم", "👩\u{200D}💻 Ana", "李小龙"]
        {
            assert!(parse_display_name(Some(fine)).is_ok(), "{fine:?}");
        }
    }

    #[tokio::test]
    async fn assigning_roles_creates_an_unknown_user_and_keeps_customer() {
        let store = crate::store::SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap();
        let now = Utc::now();
        let user = assign_roles(&store, "Bo@Example.com", &[Role::Barista], now)
            .await
            .unwrap();
        assert_eq!(user.email, "bo@example.com");
        assert_eq!(user.roles, vec![Role::Customer, Role::Barista]);
        let user = assign_roles(&store, "bo@example.com", &[], now)
            .await
            .unwrap();
        assert_eq!(user.roles, vec![Role::Customer]);
    }

    #[tokio::test]
    async fn granting_admin_refuses_a_bad_email_and_adds_the_role() {
        let store = crate::store::SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap();
        assert!(
            grant_admin(&store, "not-an-email", Utc::now())
                .await
                .is_err()
        );
        let admin = grant_admin(&store, "boss@example.com", Utc::now())
            .await
            .unwrap();
        assert!(admin.has(Role::Admin));
        assert!(admin.has(Role::Barista));
    }
}
