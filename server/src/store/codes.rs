//! Booth codes: one current code per shop, a new one every `code_rotation_s`, each good for
//! `drinks_per_code` orders. A code just replaced is still accepted for [`CODE_GRACE`], so a
//! customer who scanned at the last second is not refused while signing in; a code an admin
//! replaced now ([`SqliteStore::rotate_code`]) is not.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use espresso_protocol::{BoothCode, Event, EventType, ShopId};
use rand::Rng;
use rusqlite::params;
use sqlx::Row;

use super::idempotency::{self, Answer, Remember};
use super::memory::CodeRow;
use super::storage::prelude::*;
use super::writer::Work;
use super::{SqliteStore, StoreError, StoreResult, to_ms};
use crate::workflow::CodeCheck;

/// How long a code stays redeemable after its window ended.
pub const CODE_GRACE: Duration = Duration::from_secs(30);

/// Unambiguous on a screen and in a URL: no 0/O, 1/I/L.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 8;

pub(super) fn new_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

pub(super) fn grace_ms() -> i64 {
    i64::try_from(CODE_GRACE.as_millis()).unwrap_or(0)
}

/// Issue a new code for `shop` (inside the writer's job): stored, logged as `code.rotated`,
/// codes past their grace dropped.
fn issue_code(
    work: &mut Work<'_>,
    shop: &str,
    public_url: &str,
    now: DateTime<Utc>,
) -> StoreResult<BoothCode> {
    let limits = work.memory.existing_shop(work.conn, shop)?.shop.limits;
    let issued = to_ms(now);
    let row = CodeRow {
        code: new_code(),
        issued_ms: issued,
        expires_ms: issued + i64::from(limits.code_rotation_s) * 1000,
        remaining: i64::from(limits.drinks_per_code),
    };
    let db = StoreError::from;
    work.conn
        .prepare_cached(
            "INSERT INTO booth_codes (shop, code, issued_ms, expires_ms, remaining)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(db)?
        .execute(params![
            shop,
            row.code,
            row.issued_ms,
            row.expires_ms,
            row.remaining
        ])
        .map_err(db)?;
    // Codes past their grace are of no use to anyone.
    let cutoff = issued - grace_ms();
    work.conn
        .prepare_cached("DELETE FROM booth_codes WHERE shop = ?1 AND expires_ms < ?2")
        .map_err(db)?
        .execute(params![shop, cutoff])
        .map_err(db)?;
    let booth = row.booth_code(public_url, shop);
    work.append(
        Event::code(EventType::CodeRotated, shop, booth.clone(), now),
        None,
    )?;
    if let Some(state) = work.memory.shop(work.conn, shop)? {
        state.rotated(row, cutoff);
    }
    Ok(booth)
}

impl SqliteStore {
    /// The newest code of the shop if its window has not ended (from the read pool).
    async fn latest_code(&self, shop: &str, now: DateTime<Utc>) -> StoreResult<Option<BoothCode>> {
        let row = sqlx::query(
            "SELECT code, issued_ms, expires_ms, remaining FROM booth_codes
             WHERE shop = ?1 ORDER BY issued_ms DESC LIMIT 1",
        )
        .bind(shop)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let Some(row) = row else { return Ok(None) };
        let row = CodeRow {
            code: row.try_get("code").map_err(StoreError::from)?,
            issued_ms: row.try_get("issued_ms").map_err(StoreError::from)?,
            expires_ms: row.try_get("expires_ms").map_err(StoreError::from)?,
            remaining: row.try_get("remaining").map_err(StoreError::from)?,
        };
        if row.expires_ms <= to_ms(now) {
            return Ok(None);
        }
        Ok(Some(row.booth_code(&self.public_url, shop)))
    }

    /// What a scanned code is worth now, as the writer sees it.
    pub async fn check_code(
        &self,
        shop: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<CodeCheck> {
        let shop = shop.to_owned();
        let code = code.to_owned();
        self.writer
            .run(move |work| {
                let state = work.memory.existing_shop(work.conn, &shop)?;
                Ok(state.check_code(&code, now))
            })
            .await
    }
}

#[async_trait]
impl CodeStorage for SqliteStore {
    /// The shop's current code, issuing a new one (and logging `code.rotated`) if the last one's
    /// window has ended. What it answers is committed (and so durable) before it is shown.
    async fn current_code(&self, shop: &ShopId, now: DateTime<Utc>) -> StoreResult<BoothCode> {
        if let Some(code) = self.latest_code(shop, now).await? {
            return Ok(code);
        }
        let shop = shop.to_owned();
        let public_url = self.public_url.clone();
        self.writer
            .run(move |work| {
                let state = work.memory.existing_shop(work.conn, &shop)?;
                // Someone may have rotated while this job waited its turn.
                if let Some(row) = state.current_code(now) {
                    return Ok(row.booth_code(&public_url, &shop));
                }
                issue_code(work, &shop, &public_url, now)
            })
            .await
    }

    /// Replace the shop's code now (an admin's "new code now": the code was seen where it
    /// should not be). The codes it replaces stop at once, without the grace a code that ran
    /// out keeps: a scan of one is `code_expired`. Logged as `code.rotated`, like a rotation on
    /// time, so the booth screen shows the new code at once.
    async fn rotate_code(
        &self,
        shop: &ShopId,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<BoothCode>> {
        let shop = shop.to_owned();
        let public_url = self.public_url.clone();
        self.writer
            .run(move |work| {
                if let Some(answer) = idempotency::replayed(work.conn, remember.as_ref())? {
                    return Ok(answer);
                }
                // Ended so long ago that the grace is over too.
                let ended = to_ms(now) - grace_ms();
                work.memory
                    .existing_shop(work.conn, &shop)?
                    .end_codes(ended);
                work.conn
                    .prepare_cached(
                        "UPDATE booth_codes SET expires_ms = ?2 WHERE shop = ?1 AND expires_ms > ?2",
                    )?
                    .execute(params![shop.as_str(), ended])?;
                let booth = issue_code(work, &shop, &public_url, now)?;
                if let Some(remember) = &remember {
                    let body = serde_json::to_string(&booth)?;
                    let answered = idempotency::Answered::Body(&body);
                    idempotency::remember(work.conn, remember, answered, now)?;
                }
                Ok(Answer::Done(booth))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    async fn open_store() -> SqliteStore {
        SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap()
    }

    async fn check_at(store: &SqliteStore, code: &str, at: DateTime<Utc>) -> CodeCheck {
        store.check_code("main", code, at).await.unwrap()
    }

    #[tokio::test]
    async fn a_code_is_good_for_its_window_plus_the_grace_then_expired() {
        let store = open_store().await;
        let t0 = Utc::now();
        let first = store.current_code(&ShopId::main(), t0).await.unwrap();
        let window = Duration::seconds(300);
        assert_eq!(first.expires_at - first.issued_at, window);

        // Within the window: the same code; past it: a new one, and the old one still works
        // for the grace period, then is refused as expired (not invalid).
        assert_eq!(
            store
                .current_code(&ShopId::main(), t0 + Duration::seconds(299))
                .await
                .unwrap()
                .code,
            first.code
        );
        let second = store
            .current_code(&ShopId::main(), t0 + window)
            .await
            .unwrap();
        assert_ne!(second.code, first.code);
        assert_eq!(
            check_at(&store, &first.code, t0 + window + Duration::seconds(29)).await,
            CodeCheck::Valid
        );
        assert_eq!(
            check_at(&store, &first.code, t0 + window + Duration::seconds(30)).await,
            CodeCheck::Expired
        );
        assert_eq!(
            check_at(&store, &second.code, t0 + window + Duration::seconds(30)).await,
            CodeCheck::Valid
        );
        assert_eq!(check_at(&store, "NOSUCHCD", t0).await, CodeCheck::Invalid);
    }

    #[tokio::test]
    async fn a_code_rotated_now_stops_at_once_and_its_successor_is_good() {
        let dir = tempfile::tempdir().unwrap();
        let database = format!("sqlite://{}", dir.path().join("codes.db").display());
        let store = SqliteStore::open(&database, "http://cafe.test")
            .await
            .unwrap();
        // Whole milliseconds, as codes are stored.
        let t0 = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
        let first = store.current_code(&ShopId::main(), t0).await.unwrap();
        let later = t0 + Duration::seconds(10);
        let second = store
            .rotate_code(&ShopId::main(), later, None)
            .await
            .unwrap()
            .done()
            .unwrap();
        assert_ne!(second.code, first.code);
        assert_eq!(second.issued_at, later);
        // The old code is refused at once (no grace), the new one is the current one.
        assert_eq!(
            check_at(&store, &first.code, later).await,
            CodeCheck::Expired
        );
        assert_eq!(
            check_at(&store, &second.code, later).await,
            CodeCheck::Valid
        );
        assert_eq!(
            store.current_code(&ShopId::main(), later).await.unwrap(),
            second
        );
        // Each is one `code.rotated`, the second carrying the new code.
        let events = store.events_after(&ShopId::main(), 0, 100).await.unwrap();
        let rotated: Vec<_> = events
            .iter()
            .filter(|e| e.event.kind == EventType::CodeRotated)
            .filter_map(|e| e.event.code.clone())
            .collect();
        assert_eq!(rotated, [first.clone(), second.clone()]);
        // The same after a restart: memory reloads what was stored.
        drop(store);
        let reopened = SqliteStore::open(&database, "http://cafe.test")
            .await
            .unwrap();
        assert_eq!(
            check_at(&reopened, &first.code, later).await,
            CodeCheck::Expired
        );
        assert_eq!(
            check_at(&reopened, &second.code, later).await,
            CodeCheck::Valid
        );
    }

    #[tokio::test]
    async fn a_shop_that_does_not_exist_has_no_code_to_rotate() {
        let store = open_store().await;
        let error = store
            .rotate_code(&ShopId::new("nowhere"), Utc::now(), None)
            .await
            .unwrap_err();
        assert_eq!(
            error.code(),
            espresso_protocol::ErrorCode::NotFound,
            "{error}"
        );
    }

    #[tokio::test]
    async fn each_rotation_is_one_code_rotated_event() {
        let store = open_store().await;
        let t0 = Utc::now();
        store.current_code(&ShopId::main(), t0).await.unwrap();
        store
            .current_code(&ShopId::main(), t0 + Duration::seconds(10))
            .await
            .unwrap();
        store
            .current_code(&ShopId::main(), t0 + Duration::seconds(300))
            .await
            .unwrap();
        let events = store.events_after(&ShopId::main(), 0, 100).await.unwrap();
        let rotations = events
            .iter()
            .filter(|e| e.event.kind == espresso_protocol::EventType::CodeRotated)
            .count();
        assert_eq!(rotations, 2);
    }
}
