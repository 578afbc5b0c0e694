//! Users and their roles on PostgreSQL. A role change is announced to every server (their
//! caches forget who each token is, their live sockets re-check); taking away the admin role is
//! serialised across servers, so the last admin is never demoted by two changes at once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use espresso_protocol::{ErrorCode, Role, UserId};
use sqlx::{PgConnection, Row};

use super::super::storage::UserStorage;
use super::super::users::{UserRecord, normalise_email, role_name, roles_of};
use super::super::{AccessChange, StoreError, StoreResult, new_id, to_ms};
use super::PgStore;

/// The advisory lock every role change takes (one at a time across servers, so the count of
/// admins a change checks is not changed under it). Any value no other lock uses.
const ROLES_LOCK: i64 = 0x6573_7072_6f6c_6573; // "esprroles"

#[derive(Clone, Copy)]
enum By {
    Id,
    Email,
}

async fn load(conn: &mut PgConnection, by: By, value: &str) -> StoreResult<Option<UserRecord>> {
    let sql = match by {
        By::Id => "SELECT id, email, display_name FROM users WHERE id = $1",
        By::Email => "SELECT id, email, display_name FROM users WHERE email = $1",
    };
    let Some(row) = sqlx::query(sql)
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let id: String = row.try_get("id")?;
    let names: Vec<String> =
        sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
            .bind(&id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(Some(UserRecord {
        id: UserId::from(id),
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        roles: roles_of(&names),
    }))
}

/// The user with this id, in the caller's transaction.
pub(super) async fn load_user(
    conn: &mut PgConnection,
    id: &str,
) -> StoreResult<Option<UserRecord>> {
    load(conn, By::Id, id).await
}

/// The user with this email, created if new (in the caller's transaction; a racing creation
/// of the same email on another server is waited for and read).
pub(super) async fn ensure_user_in(
    conn: &mut PgConnection,
    email: &str,
    now: DateTime<Utc>,
) -> StoreResult<UserRecord> {
    let email = normalise_email(email);
    sqlx::query(
        "INSERT INTO users (id, email, display_name, created_ms) VALUES ($1, $2, NULL, $3)
         ON CONFLICT (email) DO NOTHING",
    )
    .bind(new_id("usr"))
    .bind(&email)
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    load(conn, By::Email, &email)
        .await?
        .ok_or_else(|| StoreError::missing("the user just created"))
}

async fn grant_in(conn: &mut PgConnection, user_id: &str, role: Role) -> StoreResult<()> {
    if role != Role::Customer {
        sqlx::query(
            "INSERT INTO user_roles (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(role_name(role))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn admins(conn: &mut PgConnection) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM user_roles WHERE role = 'admin'")
            .fetch_one(&mut *conn)
            .await?,
    )
}

#[async_trait]
impl UserStorage for PgStore {
    async fn user_by_id(&self, id: &UserId) -> StoreResult<Option<UserRecord>> {
        let mut conn = self.pool.acquire().await?;
        load(&mut conn, By::Id, id).await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        let mut conn = self.pool.acquire().await?;
        load(&mut conn, By::Email, &normalise_email(email)).await
    }

    /// The user with this email, created on first sign-in.
    async fn ensure_user(&self, email: &str, now: DateTime<Utc>) -> StoreResult<UserRecord> {
        let mut tx = self.begin().await?;
        let user = ensure_user_in(&mut tx.tx, email, now).await?;
        self.commit(tx).await?;
        Ok(user)
    }

    /// Everyone holding a role beyond `customer`, by email.
    async fn staff(&self) -> StoreResult<Vec<UserRecord>> {
        let rows = sqlx::query(
            "SELECT u.id, u.email, u.display_name, r.role FROM users u
             JOIN user_roles r ON r.user_id = u.id
             WHERE r.role <> 'customer'
             ORDER BY u.email, r.role",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut staff: Vec<(UserRecord, Vec<String>)> = Vec::new();
        for row in rows {
            let id = UserId::from(row.try_get::<String, _>("id")?);
            let role: String = row.try_get("role")?;
            match staff.last_mut() {
                Some((user, names)) if user.id == id => names.push(role),
                _ => staff.push((
                    UserRecord {
                        id,
                        email: row.try_get("email")?,
                        display_name: row.try_get("display_name")?,
                        roles: Vec::new(),
                    },
                    vec![role],
                )),
            }
        }
        Ok(staff
            .into_iter()
            .map(|(user, names)| UserRecord {
                roles: roles_of(&names),
                ..user
            })
            .collect())
    }

    /// Replace the user's staff roles (`customer` is implicit and always kept). Refused with
    /// `last_admin` (nothing changed) when no admin would be left. Role changes take one
    /// advisory lock for their transaction, so two servers demoting the last two admins at
    /// once run one after the other and the second is refused.
    async fn set_roles(&self, user_id: &UserId, roles: &[Role]) -> StoreResult<()> {
        let change = AccessChange::User(user_id.as_str().into());
        let mut tx = self.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(ROLES_LOCK)
            .execute(&mut *tx.tx)
            .await?;
        let before = admins(&mut tx.tx).await?;
        sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
            .bind(user_id.as_str())
            .execute(&mut *tx.tx)
            .await?;
        for role in roles {
            grant_in(&mut tx.tx, user_id, *role).await?;
        }
        if before > 0 && admins(&mut tx.tx).await? == 0 {
            // Dropping `tx` rolls the change back.
            return Err(StoreError::refused(
                ErrorCode::LastAdmin,
                "The last admin cannot lose the admin role: make someone else an admin first",
            ));
        }
        self.announce_access(&mut tx, &change).await?;
        self.commit(tx).await?;
        self.auth_cache.access_changed(change);
        Ok(())
    }

    /// Add one role to the user with this email (creating the user if needed).
    async fn grant(&self, email: &str, role: Role, now: DateTime<Utc>) -> StoreResult<UserRecord> {
        let mut tx = self.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(ROLES_LOCK)
            .execute(&mut *tx.tx)
            .await?;
        let user = ensure_user_in(&mut tx.tx, email, now).await?;
        grant_in(&mut tx.tx, &user.id, role).await?;
        let user = load(&mut tx.tx, By::Id, &user.id)
            .await?
            .ok_or_else(|| StoreError::missing("the user just granted"))?;
        let change = AccessChange::User(user.id.as_str().into());
        self.announce_access(&mut tx, &change).await?;
        self.commit(tx).await?;
        self.auth_cache.access_changed(change);
        Ok(user)
    }

    /// The cached users carry display names: every server's cache forgets them (announced as
    /// the user's change, so other servers hear of it too).
    async fn set_display_name(&self, user_id: &UserId, name: Option<&str>) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE users SET display_name = $2 WHERE id = $1")
            .bind(user_id.as_str())
            .bind(name)
            .execute(&mut *tx.tx)
            .await?;
        self.announce_access(&mut tx, &AccessChange::User(user_id.as_str().into()))
            .await?;
        self.commit(tx).await?;
        self.auth_cache.invalidate();
        Ok(())
    }
}
