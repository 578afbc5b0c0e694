//! The storage seam: everything the server asks of its database, as one trait.
//!
//! Handlers, the live hub, the auth flows and the background tasks see only `dyn Storage`
//! ([`super::Store`]); [`SqliteStore`] is the implementation today. A PostgreSQL one implements
//! the same trait (LISTEN/NOTIFY feeding [`Storage::tail`], deadlines claimed with
//! `FOR UPDATE SKIP LOCKED`) without touching the workflow or the handlers.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use espresso_core::protocol::{
    BoothCode, CustomerRef, DrinkChoice, JourneyStep, Order, OrderState, Role, Shop, Stats,
    TimeoutStage,
};
use tokio::sync::broadcast;

use super::auth::RefreshTokenRow;
use super::sign_in::OtpChallengeRow;
use super::{Committed, EventRow, OrderCommand, SqliteStore, UserRecord};
use crate::error::ApiResult;

/// A due deadline: (shop, order id, stage, due at).
pub type DueDeadline = (String, String, TimeoutStage, DateTime<Utc>);

/// A change to a shop, applied inside the storage's transaction (it may refuse).
pub type ShopChange<'a> = Box<dyn FnOnce(&mut Shop) -> ApiResult<()> + Send + 'a>;

/// Decides from the hits already counted in each bucket whether to admit one more (Err: wait).
pub type RateVerdict<'a> =
    Box<dyn FnOnce(&[Vec<DateTime<Utc>>]) -> Result<(), Duration> + Send + 'a>;

/// What every part of the server may ask of storage.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Committed events, in `seq` order per shop, from now on.
    fn tail(&self) -> broadcast::Receiver<Committed>;
    /// Where phones reach this server (booth codes' `order_url`).
    fn public_url(&self) -> &str;
    async fn update_shop(
        &self,
        id: &str,
        now: DateTime<Utc>,
        change: ShopChange<'_>,
    ) -> ApiResult<Shop>;
    async fn admit_rate_hits(
        &self,
        buckets: &[(String, DateTime<Utc>)],
        now: DateTime<Utc>,
        verdict: RateVerdict<'_>,
    ) -> Result<Result<(), Duration>, sqlx::Error>;
    async fn create_family(
        &self,
        id: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error>;
    async fn insert_token(
        &self,
        token_hash: &str,
        kind: &str,
        family_id: &str,
        user_id: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), sqlx::Error>;
    async fn access_token_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, sqlx::Error>;
    async fn refresh_token(&self, token_hash: &str)
    -> Result<Option<RefreshTokenRow>, sqlx::Error>;
    async fn spend_refresh_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error>;
    async fn revoke_family(&self, family_id: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error>;
    async fn prune_tokens(&self, before: DateTime<Utc>) -> Result<u64, sqlx::Error>;
    async fn revoke_family_of_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error>;
    async fn current_code(&self, shop: &str, now: DateTime<Utc>) -> ApiResult<BoothCode>;
    async fn head(&self, shop: &str) -> Result<u64, sqlx::Error>;
    async fn oldest_seq(&self, shop: &str) -> Result<Option<u64>, sqlx::Error>;
    async fn events_after(
        &self,
        shop: &str,
        since: u64,
        limit: u32,
    ) -> Result<Vec<EventRow>, sqlx::Error>;
    async fn journey(&self, order_id: &str) -> Result<Vec<JourneyStep>, sqlx::Error>;
    async fn idempotent_answer(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<(String, u16, String)>, sqlx::Error>;
    async fn remember_answer(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        status: u16,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error>;
    async fn prune_idempotency(&self, now: DateTime<Utc>) -> Result<u64, sqlx::Error>;
    async fn start_order(
        &self,
        shop_id: &str,
        customer: CustomerRef,
        code: &str,
        drink: Option<DrinkChoice>,
        now: DateTime<Utc>,
    ) -> ApiResult<Order>;
    async fn order_command(
        &self,
        shop_id: &str,
        order_id: &str,
        command: OrderCommand,
        now: DateTime<Utc>,
    ) -> ApiResult<Order>;
    async fn order(&self, shop: &str, id: &str) -> ApiResult<Option<Order>>;
    async fn orders_in(
        &self,
        shop: &str,
        states: &[OrderState],
        limit: u32,
    ) -> ApiResult<Vec<Order>>;
    async fn orders_of(&self, customer_id: &str, limit: u32) -> ApiResult<Vec<Order>>;
    async fn due_deadlines(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueDeadline>, sqlx::Error>;
    async fn next_deadline(&self) -> Result<Option<DateTime<Utc>>, sqlx::Error>;
    async fn drop_deadline(&self, order_id: &str) -> Result<(), sqlx::Error>;
    async fn shop(&self, id: &str) -> ApiResult<Shop>;
    async fn shop_ids(&self) -> Result<Vec<String>, sqlx::Error>;
    async fn insert_otp_challenge(&self, row: &OtpChallengeRow) -> Result<(), sqlx::Error>;
    async fn otp_challenge(&self, id: &str) -> Result<Option<OtpChallengeRow>, sqlx::Error>;
    async fn consume_otp_challenge(
        &self,
        id: &str,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error>;
    async fn count_wrong_otp(&self, id: &str) -> Result<Option<u32>, sqlx::Error>;
    async fn prune_otp_challenges(&self, before: DateTime<Utc>) -> Result<u64, sqlx::Error>;
    async fn prune_rate_hits(&self, before: DateTime<Utc>) -> Result<u64, sqlx::Error>;
    async fn stats(&self, shop: &str, now: DateTime<Utc>) -> ApiResult<Stats>;
    async fn order_counts(&self) -> Result<Vec<(String, String, i64)>, sqlx::Error>;
    async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, sqlx::Error>;
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, sqlx::Error>;
    async fn ensure_user(&self, email: &str, now: DateTime<Utc>)
    -> Result<UserRecord, sqlx::Error>;
    async fn set_roles(&self, user_id: &str, roles: &[Role]) -> Result<(), sqlx::Error>;
    async fn grant(
        &self,
        email: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<UserRecord, sqlx::Error>;
    async fn set_display_name(&self, user_id: &str, name: Option<&str>) -> Result<(), sqlx::Error>;
    async fn ping(&self) -> Result<(), sqlx::Error>;
    /// Return once every command committed before this call is durable (group commit).
    async fn durable(&self) -> std::io::Result<()>;
    /// How many syncs have made commits durable since the store opened.
    fn syncs(&self) -> u64;
}

#[async_trait]
impl Storage for SqliteStore {
    fn tail(&self) -> broadcast::Receiver<Committed> {
        SqliteStore::tail(self)
    }

    fn public_url(&self) -> &str {
        SqliteStore::public_url(self)
    }

    async fn update_shop(
        &self,
        id: &str,
        now: DateTime<Utc>,
        change: ShopChange<'_>,
    ) -> ApiResult<Shop> {
        SqliteStore::update_shop(self, id, now, change).await
    }

    async fn admit_rate_hits(
        &self,
        buckets: &[(String, DateTime<Utc>)],
        now: DateTime<Utc>,
        verdict: RateVerdict<'_>,
    ) -> Result<Result<(), Duration>, sqlx::Error> {
        SqliteStore::admit_rate_hits(self, buckets, now, verdict).await
    }

    async fn create_family(
        &self,
        id: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        SqliteStore::create_family(self, id, user_id, now).await
    }

    async fn insert_token(
        &self,
        token_hash: &str,
        kind: &str,
        family_id: &str,
        user_id: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        SqliteStore::insert_token(self, token_hash, kind, family_id, user_id, expires).await
    }

    async fn access_token_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, sqlx::Error> {
        SqliteStore::access_token_user(self, token_hash, now).await
    }

    async fn refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRow>, sqlx::Error> {
        SqliteStore::refresh_token(self, token_hash).await
    }

    async fn spend_refresh_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        SqliteStore::spend_refresh_token(self, token_hash, now).await
    }

    async fn revoke_family(&self, family_id: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        SqliteStore::revoke_family(self, family_id, now).await
    }

    async fn revoke_family_of_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        SqliteStore::revoke_family_of_token(self, token_hash, now).await
    }

    async fn prune_tokens(&self, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        SqliteStore::prune_tokens(self, before).await
    }

    async fn current_code(&self, shop: &str, now: DateTime<Utc>) -> ApiResult<BoothCode> {
        SqliteStore::current_code(self, shop, now).await
    }

    async fn head(&self, shop: &str) -> Result<u64, sqlx::Error> {
        SqliteStore::head(self, shop).await
    }

    async fn oldest_seq(&self, shop: &str) -> Result<Option<u64>, sqlx::Error> {
        SqliteStore::oldest_seq(self, shop).await
    }

    async fn events_after(
        &self,
        shop: &str,
        since: u64,
        limit: u32,
    ) -> Result<Vec<EventRow>, sqlx::Error> {
        SqliteStore::events_after(self, shop, since, limit).await
    }

    async fn journey(&self, order_id: &str) -> Result<Vec<JourneyStep>, sqlx::Error> {
        SqliteStore::journey(self, order_id).await
    }

    async fn idempotent_answer(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<(String, u16, String)>, sqlx::Error> {
        SqliteStore::idempotent_answer(self, scope, key).await
    }

    async fn remember_answer(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        status: u16,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        SqliteStore::remember_answer(self, scope, key, request_hash, status, body, now).await
    }

    async fn prune_idempotency(&self, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        SqliteStore::prune_idempotency(self, now).await
    }

    async fn start_order(
        &self,
        shop_id: &str,
        customer: CustomerRef,
        code: &str,
        drink: Option<DrinkChoice>,
        now: DateTime<Utc>,
    ) -> ApiResult<Order> {
        SqliteStore::start_order(self, shop_id, customer, code, drink, now).await
    }

    async fn order_command(
        &self,
        shop_id: &str,
        order_id: &str,
        command: OrderCommand,
        now: DateTime<Utc>,
    ) -> ApiResult<Order> {
        SqliteStore::order_command(self, shop_id, order_id, command, now).await
    }

    async fn order(&self, shop: &str, id: &str) -> ApiResult<Option<Order>> {
        SqliteStore::order(self, shop, id).await
    }

    async fn orders_in(
        &self,
        shop: &str,
        states: &[OrderState],
        limit: u32,
    ) -> ApiResult<Vec<Order>> {
        SqliteStore::orders_in(self, shop, states, limit).await
    }

    async fn orders_of(&self, customer_id: &str, limit: u32) -> ApiResult<Vec<Order>> {
        SqliteStore::orders_of(self, customer_id, limit).await
    }

    async fn due_deadlines(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueDeadline>, sqlx::Error> {
        SqliteStore::due_deadlines(self, now, limit).await
    }

    async fn next_deadline(&self) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        SqliteStore::next_deadline(self).await
    }

    async fn drop_deadline(&self, order_id: &str) -> Result<(), sqlx::Error> {
        SqliteStore::drop_deadline(self, order_id).await
    }

    async fn shop(&self, id: &str) -> ApiResult<Shop> {
        SqliteStore::shop(self, id).await
    }

    async fn shop_ids(&self) -> Result<Vec<String>, sqlx::Error> {
        SqliteStore::shop_ids(self).await
    }

    async fn insert_otp_challenge(&self, row: &OtpChallengeRow) -> Result<(), sqlx::Error> {
        SqliteStore::insert_otp_challenge(self, row).await
    }

    async fn otp_challenge(&self, id: &str) -> Result<Option<OtpChallengeRow>, sqlx::Error> {
        SqliteStore::otp_challenge(self, id).await
    }

    async fn consume_otp_challenge(
        &self,
        id: &str,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        SqliteStore::consume_otp_challenge(self, id, max_attempts, now).await
    }

    async fn count_wrong_otp(&self, id: &str) -> Result<Option<u32>, sqlx::Error> {
        SqliteStore::count_wrong_otp(self, id).await
    }

    async fn prune_otp_challenges(&self, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        SqliteStore::prune_otp_challenges(self, before).await
    }

    async fn prune_rate_hits(&self, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        SqliteStore::prune_rate_hits(self, before).await
    }

    async fn stats(&self, shop: &str, now: DateTime<Utc>) -> ApiResult<Stats> {
        SqliteStore::stats(self, shop, now).await
    }

    async fn order_counts(&self) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        SqliteStore::order_counts(self).await
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, sqlx::Error> {
        SqliteStore::user_by_id(self, id).await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, sqlx::Error> {
        SqliteStore::user_by_email(self, email).await
    }

    async fn ensure_user(
        &self,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<UserRecord, sqlx::Error> {
        SqliteStore::ensure_user(self, email, now).await
    }

    async fn set_roles(&self, user_id: &str, roles: &[Role]) -> Result<(), sqlx::Error> {
        SqliteStore::set_roles(self, user_id, roles).await
    }

    async fn grant(
        &self,
        email: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<UserRecord, sqlx::Error> {
        SqliteStore::grant(self, email, role, now).await
    }

    async fn set_display_name(&self, user_id: &str, name: Option<&str>) -> Result<(), sqlx::Error> {
        SqliteStore::set_display_name(self, user_id, name).await
    }

    async fn durable(&self) -> std::io::Result<()> {
        SqliteStore::durable(self).await
    }

    fn syncs(&self) -> u64 {
        SqliteStore::syncs(self)
    }

    async fn ping(&self) -> Result<(), sqlx::Error> {
        SqliteStore::ping(self).await
    }
}

impl From<SqliteStore> for Arc<dyn Storage> {
    fn from(store: SqliteStore) -> Self {
        Arc::new(store)
    }
}
