//! Users and their roles. Everyone signed in is a `customer`; staff roles are granted.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use espresso_protocol::{ErrorCode, Me, Role, StaffMember, User, UserId};
use rusqlite::{Connection, OptionalExtension, params};
use sqlx::Row;

use super::storage::prelude::*;
use super::{SqliteStore, StoreError, StoreResult, new_id, to_ms};

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: UserId,
    pub email: String,
    pub display_name: Option<String>,
    /// Always contains `customer`.
    pub roles: Vec<Role>,
}

impl UserRecord {
    pub fn user(&self) -> User {
        User {
            id: self.id.clone(),
            email: self.email.clone(),
            roles: self.roles.clone(),
        }
    }

    pub fn me(&self) -> Me {
        Me {
            id: self.id.clone(),
            email: self.email.clone(),
            roles: self.roles.clone(),
            display_name: self.display_name.clone(),
        }
    }

    pub fn staff_member(&self) -> StaffMember {
        StaffMember {
            id: self.id.clone(),
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            roles: self.roles.clone(),
        }
    }

    pub fn has(&self, role: Role) -> bool {
        Role::any_can_act_as(&self.roles, role)
    }
}

/// Emails compare case-insensitively; stored lower-cased and trimmed.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub(super) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Customer => "customer",
        Role::Barista => "barista",
        Role::Display => "display",
        Role::Admin => "admin",
    }
}

fn parse_role(name: &str) -> Option<Role> {
    match name {
        "customer" => Some(Role::Customer),
        "barista" => Some(Role::Barista),
        "display" => Some(Role::Display),
        "admin" => Some(Role::Admin),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum By {
    Id,
    Email,
}

pub(super) fn roles_of(names: &[String]) -> Vec<Role> {
    let mut roles = vec![Role::Customer];
    roles.extend(
        names
            .iter()
            .filter_map(|n| parse_role(n))
            .filter(|r| *r != Role::Customer),
    );
    roles
}

/// The user with this id, inside the writer's transaction.
pub(super) fn load_user_tx(conn: &Connection, id: &str) -> StoreResult<Option<UserRecord>> {
    load_tx(conn, By::Id, id)
}

fn load_tx(conn: &Connection, by: By, value: &str) -> StoreResult<Option<UserRecord>> {
    let sql = match by {
        By::Id => "SELECT id, email, display_name FROM users WHERE id = ?1",
        By::Email => "SELECT id, email, display_name FROM users WHERE email = ?1",
    };
    let Some((id, email, display_name)) = conn
        .prepare_cached(sql)?
        .query_row([value], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
            ))
        })
        .optional()?
    else {
        return Ok(None);
    };
    let names = conn
        .prepare_cached("SELECT role FROM user_roles WHERE user_id = ?1 ORDER BY role")?
        .query_map([&id], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(UserRecord {
        id: UserId::from(id),
        email,
        display_name,
        roles: roles_of(&names),
    }))
}

/// The user with this email, created if new (inside the writer's transaction).
pub(super) fn ensure_user_tx(
    conn: &Connection,
    email: &str,
    now: DateTime<Utc>,
) -> StoreResult<UserRecord> {
    let email = normalise_email(email);
    conn.prepare_cached(
        "INSERT INTO users (id, email, display_name, created_ms) VALUES (?1, ?2, NULL, ?3)
         ON CONFLICT (email) DO NOTHING",
    )?
    .execute(params![new_id("usr"), email, to_ms(now)])?;
    load_tx(conn, By::Email, &email)?.ok_or_else(|| StoreError::missing("the user just created"))
}

fn grant_tx(conn: &Connection, user_id: &str, role: Role) -> StoreResult<()> {
    if role != Role::Customer {
        conn.prepare_cached(
            "INSERT INTO user_roles (user_id, role) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?
        .execute(params![user_id, role_name(role)])?;
    }
    Ok(())
}

impl SqliteStore {
    async fn load_user(&self, by: By, value: &str) -> StoreResult<Option<UserRecord>> {
        let sql = match by {
            By::Id => "SELECT id, email, display_name FROM users WHERE id = ?1",
            By::Email => "SELECT id, email, display_name FROM users WHERE email = ?1",
        };
        let Some(row) = sqlx::query(sql)
            .bind(value)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let id: String = row.try_get("id")?;
        let names: Vec<String> =
            sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = ?1 ORDER BY role")
                .bind(&id)
                .fetch_all(&self.pool)
                .await?;
        Ok(Some(UserRecord {
            id: UserId::from(id),
            email: row.try_get("email")?,
            display_name: row.try_get("display_name")?,
            roles: roles_of(&names),
        }))
    }
}

#[async_trait]
impl UserStorage for SqliteStore {
    async fn user_by_id(&self, id: &UserId) -> StoreResult<Option<UserRecord>> {
        self.load_user(By::Id, id).await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        self.load_user(By::Email, &normalise_email(email)).await
    }

    /// The user with this email, created on first sign-in.
    async fn ensure_user(&self, email: &str, now: DateTime<Utc>) -> StoreResult<UserRecord> {
        let email = email.to_owned();
        self.writer
            .run(move |work| ensure_user_tx(work.conn, &email, now))
            .await
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
    /// `last_admin` (nothing changed) when no admin would be left.
    async fn set_roles(&self, user_id: &UserId, roles: &[Role]) -> StoreResult<()> {
        let changed = super::auth::AccessChange::User(user_id.as_str().into());
        let user_id = user_id.to_owned();
        let roles = roles.to_vec();
        let done = self
            .writer
            .run(move |work| {
                let admins = |conn: &Connection| -> StoreResult<i64> {
                    Ok(conn
                        .prepare_cached("SELECT COUNT(*) FROM user_roles WHERE role = 'admin'")?
                        .query_row([], |row| row.get(0))?)
                };
                let before = admins(work.conn)?;
                work.conn
                    .prepare_cached("DELETE FROM user_roles WHERE user_id = ?1")?
                    .execute([user_id.as_str()])?;
                for role in roles {
                    grant_tx(work.conn, &user_id, role)?;
                }
                // Checked in the change's transaction: a refusal rolls it back, and two admins
                // demoting each other at once cannot both pass (the writer runs one at a time).
                if before > 0 && admins(work.conn)? == 0 {
                    return Err(StoreError::refused(
                        ErrorCode::LastAdmin,
                        "The last admin cannot lose the admin role: make someone else an admin \
                         first",
                    ));
                }
                Ok(())
            })
            .await;
        self.auth_cache.access_changed(changed);
        done
    }

    /// Add one role to the user with this email (creating the user if needed).
    async fn grant(&self, email: &str, role: Role, now: DateTime<Utc>) -> StoreResult<UserRecord> {
        let email = email.to_owned();
        let user = self
            .writer
            .run(move |work| {
                let user = ensure_user_tx(work.conn, &email, now)?;
                grant_tx(work.conn, &user.id, role)?;
                load_tx(work.conn, By::Id, &user.id)?
                    .ok_or_else(|| StoreError::missing("the user just granted"))
            })
            .await;
        if let Ok(user) = &user {
            self.auth_cache
                .access_changed(super::auth::AccessChange::User(user.id.as_str().into()));
        }
        user
    }

    async fn set_display_name(&self, user_id: &UserId, name: Option<&str>) -> StoreResult<()> {
        let user_id = user_id.to_owned();
        let name = name.map(str::to_owned);
        let done = self
            .writer
            .run(move |work| {
                work.conn
                    .prepare_cached("UPDATE users SET display_name = ?2 WHERE id = ?1")?
                    .execute(params![user_id.as_str(), name])?;
                Ok(())
            })
            .await;
        self.auth_cache.invalidate();
        done
    }
}
