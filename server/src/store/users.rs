//! Users and their roles. Everyone signed in is a `customer`; staff roles are granted.

use chrono::{DateTime, Utc};
use espresso_core::protocol::{Me, Role, User};
use sqlx::Row;

use super::{SqliteStore, new_id, to_ms};

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
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

    pub fn has(&self, role: Role) -> bool {
        Role::any_can_act_as(&self.roles, role)
    }
}

/// Emails compare case-insensitively; stored lower-cased and trimmed.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn role_name(role: Role) -> &'static str {
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

impl SqliteStore {
    async fn load_user(&self, by: By, value: &str) -> Result<Option<UserRecord>, sqlx::Error> {
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
        let mut roles = vec![Role::Customer];
        roles.extend(
            names
                .iter()
                .filter_map(|n| parse_role(n))
                .filter(|r| *r != Role::Customer),
        );
        Ok(Some(UserRecord {
            id,
            email: row.try_get("email")?,
            display_name: row.try_get("display_name")?,
            roles,
        }))
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, sqlx::Error> {
        self.load_user(By::Id, id).await
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, sqlx::Error> {
        self.load_user(By::Email, &normalise_email(email)).await
    }

    /// The user with this email, created on first sign-in.
    pub async fn ensure_user(
        &self,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<UserRecord, sqlx::Error> {
        let _write = self.write().await;
        let email = normalise_email(email);
        sqlx::query(
            "INSERT INTO users (id, email, display_name, created_ms) VALUES (?1, ?2, NULL, ?3)
             ON CONFLICT (email) DO NOTHING",
        )
        .bind(new_id("usr"))
        .bind(&email)
        .bind(to_ms(now))
        .execute(&self.pool)
        .await?;
        self.load_user(By::Email, &email)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// Replace the user's staff roles (`customer` is implicit and always kept).
    pub async fn set_roles(&self, user_id: &str, roles: &[Role]) -> Result<(), sqlx::Error> {
        let _write = self.write().await;
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM user_roles WHERE user_id = ?1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for role in roles.iter().filter(|r| **r != Role::Customer) {
            sqlx::query(
                "INSERT INTO user_roles (user_id, role) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )
            .bind(user_id)
            .bind(role_name(*role))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// Add one role to the user with this email (creating the user if needed).
    pub async fn grant(
        &self,
        email: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<UserRecord, sqlx::Error> {
        let user = self.ensure_user(email, now).await?;
        if role != Role::Customer {
            let _write = self.write().await;
            sqlx::query(
                "INSERT INTO user_roles (user_id, role) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )
            .bind(&user.id)
            .bind(role_name(role))
            .execute(&self.pool)
            .await?;
        }
        self.user_by_id(&user.id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    pub async fn set_display_name(
        &self,
        user_id: &str,
        name: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let _write = self.write().await;
        sqlx::query("UPDATE users SET display_name = ?2 WHERE id = ?1")
            .bind(user_id)
            .bind(name)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}
