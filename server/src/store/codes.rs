//! Booth codes: one current code per shop, a new one every `code_rotation_s`, each good for
//! `drinks_per_code` orders. A code just replaced is still accepted for [`CODE_GRACE`], so a
//! customer who scanned at the last second is not refused while signing in.

use std::time::Duration;

use chrono::{DateTime, Utc};
use espresso_core::protocol::{BoothCode, Event};
use rand::Rng;
use sqlx::{Row, SqliteConnection};

use super::{SqliteStore, events, from_ms, shops::load_shop, to_ms};
use crate::error::ApiResult;
use crate::workflow::CodeCheck;

/// How long a code stays redeemable after its window ended.
pub const CODE_GRACE: Duration = Duration::from_secs(30);

/// Unambiguous on a screen and in a URL: no 0/O, 1/I/L.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 8;

fn new_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

impl SqliteStore {
    fn booth_code(
        &self,
        shop: &str,
        code: String,
        issued: i64,
        expires: i64,
        remaining: i64,
    ) -> BoothCode {
        BoothCode {
            order_url: format!("{}/order?shop={shop}&code={code}", self.public_url),
            code,
            issued_at: from_ms(issued),
            expires_at: from_ms(expires),
            remaining: u32::try_from(remaining.max(0)).unwrap_or(0),
        }
    }

    /// The shop's current code, issuing a new one (and logging `code.rotated`) if the last one's
    /// window has ended.
    pub async fn current_code(&self, shop: &str, now: DateTime<Utc>) -> ApiResult<BoothCode> {
        if let Some(code) = self.latest_code(shop, now).await? {
            return Ok(code);
        }
        let _write = self.write().await;
        let mut tx = self.begin_write().await?;
        // Someone may have rotated while we waited for the lock.
        if let Some(code) = latest_valid(self, &mut tx, shop, now).await? {
            return Ok(code);
        }
        let shop_state = load_shop(&mut tx, shop).await?;
        let limits = shop_state.limits;
        let issued = to_ms(now);
        let expires = issued + i64::from(limits.code_rotation_s) * 1000;
        let code = new_code();
        sqlx::query(
            "INSERT INTO booth_codes (shop, code, issued_ms, expires_ms, remaining) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(shop)
        .bind(&code)
        .bind(issued)
        .bind(expires)
        .bind(i64::from(limits.drinks_per_code))
        .execute(&mut *tx)
        .await?;
        // Codes past their grace are of no use to anyone.
        sqlx::query("DELETE FROM booth_codes WHERE shop = ?1 AND expires_ms < ?2")
            .bind(shop)
            .bind(issued - i64::try_from(CODE_GRACE.as_millis()).unwrap_or(0))
            .execute(&mut *tx)
            .await?;
        let booth = self.booth_code(
            shop,
            code,
            issued,
            expires,
            i64::from(limits.drinks_per_code),
        );
        let committed = events::append(
            &mut tx,
            Event::code(
                espresso_core::protocol::EventType::CodeRotated,
                shop,
                booth.clone(),
                now,
            ),
            None,
        )
        .await?;
        tx.commit().await?;
        self.publish(vec![committed]);
        Ok(booth)
    }

    async fn latest_code(&self, shop: &str, now: DateTime<Utc>) -> ApiResult<Option<BoothCode>> {
        let mut conn = self.pool.acquire().await?;
        latest_valid(self, &mut conn, shop, now).await
    }
}

/// The newest code of the shop if its window has not ended.
async fn latest_valid(
    store: &SqliteStore,
    conn: &mut SqliteConnection,
    shop: &str,
    now: DateTime<Utc>,
) -> ApiResult<Option<BoothCode>> {
    let row = sqlx::query(
        "SELECT code, issued_ms, expires_ms, remaining FROM booth_codes
         WHERE shop = ?1 ORDER BY issued_ms DESC LIMIT 1",
    )
    .bind(shop)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let expires: i64 = row.try_get("expires_ms")?;
    if expires <= to_ms(now) {
        return Ok(None);
    }
    Ok(Some(store.booth_code(
        shop,
        row.try_get("code")?,
        row.try_get("issued_ms")?,
        expires,
        row.try_get("remaining")?,
    )))
}

/// What a scanned code is worth now (inside the start's transaction).
pub(super) async fn check(
    conn: &mut SqliteConnection,
    shop: &str,
    code: &str,
    now: DateTime<Utc>,
) -> Result<CodeCheck, sqlx::Error> {
    let row =
        sqlx::query("SELECT expires_ms, remaining FROM booth_codes WHERE shop = ?1 AND code = ?2")
            .bind(shop)
            .bind(code)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(row) = row else {
        return Ok(CodeCheck::Invalid);
    };
    let expires: i64 = row.try_get("expires_ms")?;
    let remaining: i64 = row.try_get("remaining")?;
    let grace = i64::try_from(CODE_GRACE.as_millis()).unwrap_or(0);
    Ok(if to_ms(now) >= expires + grace {
        CodeCheck::Expired
    } else if remaining <= 0 {
        CodeCheck::Exhausted
    } else {
        CodeCheck::Valid
    })
}

/// Use one order of the code (the start was accepted); returns the code after, for `code.redeemed`.
pub(super) async fn redeem(
    store: &SqliteStore,
    conn: &mut SqliteConnection,
    shop: &str,
    code: &str,
) -> Result<Option<BoothCode>, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE booth_codes SET remaining = remaining - 1
         WHERE shop = ?1 AND code = ?2 AND remaining > 0
         RETURNING issued_ms, expires_ms, remaining",
    )
    .bind(shop)
    .bind(code)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok(store.booth_code(
            shop,
            code.to_owned(),
            row.try_get("issued_ms")?,
            row.try_get("expires_ms")?,
            row.try_get("remaining")?,
        ))
    })
    .transpose()
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
        let mut conn = store.pool().acquire().await.unwrap();
        check(&mut conn, "main", code, at).await.unwrap()
    }

    #[tokio::test]
    async fn a_code_is_good_for_its_window_plus_the_grace_then_expired() {
        let store = open_store().await;
        let t0 = Utc::now();
        let first = store.current_code("main", t0).await.unwrap();
        let window = Duration::seconds(300);
        assert_eq!(first.expires_at - first.issued_at, window);

        // Within the window: the same code; past it: a new one, and the old one still works
        // for the grace period, then is refused as expired (not invalid).
        assert_eq!(
            store
                .current_code("main", t0 + Duration::seconds(299))
                .await
                .unwrap()
                .code,
            first.code
        );
        let second = store.current_code("main", t0 + window).await.unwrap();
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
    async fn each_rotation_is_one_code_rotated_event() {
        let store = open_store().await;
        let t0 = Utc::now();
        store.current_code("main", t0).await.unwrap();
        store
            .current_code("main", t0 + Duration::seconds(10))
            .await
            .unwrap();
        store
            .current_code("main", t0 + Duration::seconds(300))
            .await
            .unwrap();
        let events = store.events_after("main", 0, 100).await.unwrap();
        let rotations = events
            .iter()
            .filter(|e| e.event.kind == espresso_core::protocol::EventType::CodeRotated)
            .count();
        assert_eq!(rotations, 2);
    }
}
