//! The storage seam: everything the server asks of its database, as one trait.
//!
//! Handlers, the live hub, the auth flows and the background tasks see only `dyn Storage`
//! ([`super::Store`]); [`SqliteStore`] is the implementation today. What a second backend must
//! provide to implement it:
//! - a serialisation point per shop for order commands (SQLite: the one writer; PostgreSQL: the
//!   shop row locked in each command's transaction), so admission checks, order numbers and
//!   booth-code redemptions hold under concurrency;
//! - events appended in the command's transaction with a gap-free per-shop `seq`, published
//!   through [`Storage::tail`] only once durable, in `seq` order;
//! - the `Idempotency-Key` answer ([`Remember`]) stored in the same transaction as the command;
//! - its own errors as [`StoreError`]: a refusal is [`StoreError::Refused`] with the problem to
//!   answer; anything else is the database's.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use espresso_protocol::{
    BoothCode, CustomerRef, DrinkChoice, JourneyStep, Order, OrderState, Role, Shop, Stats,
    TimeoutStage,
};
use tokio::sync::broadcast;

use super::sign_in::OtpChallengeRow;
use super::{
    AccessChange, Answer, Committed, EventRow, NewPair, OrderCommand, Remember, Rotation,
    ShopChange, SqliteStore, StoreError, StoreResult, UserRecord,
};

/// A deadline that has fallen due: which order, which stage, since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDeadline {
    pub shop: String,
    pub order_id: String,
    pub stage: TimeoutStage,
    pub due_at: DateTime<Utc>,
}

/// How many orders of a shop are in a state (`/metrics`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCount {
    pub shop: String,
    pub state: String,
    pub count: i64,
}

/// Decides from the hits already counted in each bucket whether to admit one more (Err: wait).
pub type RateVerdict =
    Box<dyn FnOnce(&[Vec<DateTime<Utc>>]) -> Result<(), Duration> + Send + 'static>;

/// What every part of the server may ask of storage.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Committed events, in `seq` order per shop, from now on (each once durable).
    fn tail(&self) -> broadcast::Receiver<Committed>;
    /// Where phones reach this server (booth codes' `order_url`).
    fn public_url(&self) -> &str;
    /// Announcements of sessions ended and roles changed: live sockets re-check their token.
    fn access_changes(&self) -> broadcast::Receiver<AccessChange>;
    async fn update_shop(
        &self,
        id: &str,
        now: DateTime<Utc>,
        change: ShopChange,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Shop>>;
    async fn create_shop(
        &self,
        shop: Shop,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Shop>>;
    async fn admit_rate_hits(
        &self,
        buckets: &[(String, DateTime<Utc>)],
        now: DateTime<Utc>,
        verdict: RateVerdict,
    ) -> StoreResult<Result<(), Duration>>;
    async fn open_session(
        &self,
        family_id: &str,
        user_id: &str,
        pair: NewPair,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn sign_in(
        &self,
        challenge_id: &str,
        max_attempts: u32,
        family_id: &str,
        pair: NewPair,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>>;
    async fn rotate_refresh(
        &self,
        token_hash: &str,
        pair: NewPair,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation>;
    /// The user behind a live access token (cached; never staler than the last revocation).
    async fn authenticate(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>>;
    async fn revoke_family(&self, family_id: &str, now: DateTime<Utc>) -> StoreResult<()>;
    async fn prune_tokens(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    async fn revoke_family_of_token(&self, token_hash: &str, now: DateTime<Utc>)
    -> StoreResult<()>;
    async fn current_code(&self, shop: &str, now: DateTime<Utc>) -> StoreResult<BoothCode>;
    /// A new code now; the ones it replaces stop at once (see [`SqliteStore::rotate_code`]).
    async fn rotate_code(
        &self,
        shop: &str,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<BoothCode>>;
    async fn head(&self, shop: &str) -> StoreResult<u64>;
    async fn oldest_seq(&self, shop: &str) -> StoreResult<Option<u64>>;
    async fn events_after(&self, shop: &str, since: u64, limit: u32) -> StoreResult<Vec<EventRow>>;
    async fn journey(&self, order_id: &str) -> StoreResult<Vec<JourneyStep>>;
    async fn idempotent_answer(
        &self,
        scope: &str,
        key: &str,
    ) -> StoreResult<Option<(String, u16, String)>>;
    async fn remember_answer(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        status: u16,
        body: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn prune_idempotency(&self, now: DateTime<Utc>) -> StoreResult<u64>;
    async fn start_order(
        &self,
        shop_id: &str,
        customer: CustomerRef,
        code: &str,
        drink: Option<DrinkChoice>,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Order>>;
    async fn order_command(
        &self,
        shop_id: &str,
        order_id: &str,
        command: OrderCommand,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Order>>;
    async fn order(&self, shop: &str, id: &str) -> StoreResult<Option<Order>>;
    async fn orders_in(
        &self,
        shop: &str,
        states: &[OrderState],
        limit: u32,
    ) -> StoreResult<Vec<Order>>;
    async fn orders_of(&self, customer_id: &str, limit: u32) -> StoreResult<Vec<Order>>;
    /// The shop's orders started on the business days `from` to `to` (`YYYY-MM-DD`, both
    /// included), oldest first.
    async fn orders_between(
        &self,
        shop: &str,
        from: &str,
        to: &str,
        limit: u32,
    ) -> StoreResult<Vec<Order>>;
    /// As [`Storage::orders_between`], each order with its business day (`YYYY-MM-DD`).
    async fn orders_by_day_between(
        &self,
        shop: &str,
        from: &str,
        to: &str,
        limit: u32,
    ) -> StoreResult<Vec<(String, Order)>>;
    async fn due_deadlines(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<DueDeadline>>;
    async fn next_deadline(&self) -> StoreResult<Option<DateTime<Utc>>>;
    async fn drop_deadline(&self, order_id: &str) -> StoreResult<()>;
    async fn shop(&self, id: &str) -> StoreResult<Shop>;
    async fn shop_ids(&self) -> StoreResult<Vec<String>>;
    /// Every shop, archived ones included, in id order.
    async fn shops(&self) -> StoreResult<Vec<Shop>>;
    async fn insert_otp_challenge(&self, row: &OtpChallengeRow) -> StoreResult<()>;
    async fn otp_challenge(&self, id: &str) -> StoreResult<Option<OtpChallengeRow>>;
    async fn count_wrong_otp(&self, id: &str) -> StoreResult<Option<u32>>;
    async fn prune_otp_challenges(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    async fn prune_rate_hits(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    async fn stats(&self, shop: &str, now: DateTime<Utc>) -> StoreResult<Stats>;
    async fn order_counts(&self) -> StoreResult<Vec<OrderCount>>;
    async fn user_by_id(&self, id: &str) -> StoreResult<Option<UserRecord>>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>>;
    async fn ensure_user(&self, email: &str, now: DateTime<Utc>) -> StoreResult<UserRecord>;
    /// Everyone holding a role beyond `customer`, by email.
    async fn staff(&self) -> StoreResult<Vec<UserRecord>>;
    /// Replace a user's roles; `last_admin` if no admin would be left (nothing changes then).
    async fn set_roles(&self, user_id: &str, roles: &[Role]) -> StoreResult<()>;
    async fn grant(&self, email: &str, role: Role, now: DateTime<Utc>) -> StoreResult<UserRecord>;
    async fn set_display_name(&self, user_id: &str, name: Option<&str>) -> StoreResult<()>;
    async fn ping(&self) -> StoreResult<()>;
    /// How many commits have made writes durable since the store opened (each one sync).
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

    fn access_changes(&self) -> broadcast::Receiver<AccessChange> {
        SqliteStore::access_changes(self)
    }

    async fn update_shop(
        &self,
        id: &str,
        now: DateTime<Utc>,
        change: ShopChange,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Shop>> {
        SqliteStore::update_shop(self, id, now, change, remember).await
    }

    async fn create_shop(
        &self,
        shop: Shop,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Shop>> {
        SqliteStore::create_shop(self, shop, now, remember).await
    }

    async fn admit_rate_hits(
        &self,
        buckets: &[(String, DateTime<Utc>)],
        now: DateTime<Utc>,
        verdict: RateVerdict,
    ) -> StoreResult<Result<(), Duration>> {
        SqliteStore::admit_rate_hits(self, buckets, now, verdict).await
    }

    async fn open_session(
        &self,
        family_id: &str,
        user_id: &str,
        pair: NewPair,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        SqliteStore::open_session(self, family_id, user_id, pair, now).await
    }

    async fn sign_in(
        &self,
        challenge_id: &str,
        max_attempts: u32,
        family_id: &str,
        pair: NewPair,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>> {
        SqliteStore::sign_in(self, challenge_id, max_attempts, family_id, pair, now).await
    }

    async fn rotate_refresh(
        &self,
        token_hash: &str,
        pair: NewPair,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation> {
        SqliteStore::rotate_refresh(self, token_hash, pair, now).await
    }

    async fn authenticate(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>> {
        SqliteStore::authenticate(self, token_hash, now).await
    }

    async fn revoke_family(&self, family_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        SqliteStore::revoke_family(self, family_id, now).await
    }

    async fn prune_tokens(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        SqliteStore::prune_tokens(self, before).await
    }

    async fn revoke_family_of_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        SqliteStore::revoke_family_of_token(self, token_hash, now).await
    }

    async fn current_code(&self, shop: &str, now: DateTime<Utc>) -> StoreResult<BoothCode> {
        SqliteStore::current_code(self, shop, now).await
    }

    async fn rotate_code(
        &self,
        shop: &str,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<BoothCode>> {
        SqliteStore::rotate_code(self, shop, now, remember).await
    }

    async fn head(&self, shop: &str) -> StoreResult<u64> {
        SqliteStore::head(self, shop).await
    }

    async fn oldest_seq(&self, shop: &str) -> StoreResult<Option<u64>> {
        SqliteStore::oldest_seq(self, shop).await
    }

    async fn events_after(&self, shop: &str, since: u64, limit: u32) -> StoreResult<Vec<EventRow>> {
        SqliteStore::events_after(self, shop, since, limit).await
    }

    async fn journey(&self, order_id: &str) -> StoreResult<Vec<JourneyStep>> {
        SqliteStore::journey(self, order_id).await
    }

    async fn idempotent_answer(
        &self,
        scope: &str,
        key: &str,
    ) -> StoreResult<Option<(String, u16, String)>> {
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
    ) -> StoreResult<()> {
        SqliteStore::remember_answer(self, scope, key, request_hash, status, body, now).await
    }

    async fn prune_idempotency(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        SqliteStore::prune_idempotency(self, now).await
    }

    async fn start_order(
        &self,
        shop_id: &str,
        customer: CustomerRef,
        code: &str,
        drink: Option<DrinkChoice>,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Order>> {
        SqliteStore::start_order(self, shop_id, customer, code, drink, now, remember).await
    }

    async fn order_command(
        &self,
        shop_id: &str,
        order_id: &str,
        command: OrderCommand,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Order>> {
        SqliteStore::order_command(self, shop_id, order_id, command, now, remember).await
    }

    async fn order(&self, shop: &str, id: &str) -> StoreResult<Option<Order>> {
        SqliteStore::order(self, shop, id).await
    }

    async fn orders_in(
        &self,
        shop: &str,
        states: &[OrderState],
        limit: u32,
    ) -> StoreResult<Vec<Order>> {
        SqliteStore::orders_in(self, shop, states, limit).await
    }

    async fn orders_of(&self, customer_id: &str, limit: u32) -> StoreResult<Vec<Order>> {
        SqliteStore::orders_of(self, customer_id, limit).await
    }

    async fn orders_between(
        &self,
        shop: &str,
        from: &str,
        to: &str,
        limit: u32,
    ) -> StoreResult<Vec<Order>> {
        SqliteStore::orders_between(self, shop, from, to, limit).await
    }

    async fn orders_by_day_between(
        &self,
        shop: &str,
        from: &str,
        to: &str,
        limit: u32,
    ) -> StoreResult<Vec<(String, Order)>> {
        SqliteStore::orders_by_day_between(self, shop, from, to, limit).await
    }

    async fn due_deadlines(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<DueDeadline>> {
        SqliteStore::due_deadlines(self, now, limit).await
    }

    async fn next_deadline(&self) -> StoreResult<Option<DateTime<Utc>>> {
        SqliteStore::next_deadline(self).await
    }

    async fn drop_deadline(&self, order_id: &str) -> StoreResult<()> {
        SqliteStore::drop_deadline(self, order_id).await
    }

    async fn shop(&self, id: &str) -> StoreResult<Shop> {
        SqliteStore::shop(self, id).await
    }

    async fn shop_ids(&self) -> StoreResult<Vec<String>> {
        SqliteStore::shop_ids(self).await
    }

    async fn shops(&self) -> StoreResult<Vec<Shop>> {
        SqliteStore::shops(self).await
    }

    async fn insert_otp_challenge(&self, row: &OtpChallengeRow) -> StoreResult<()> {
        SqliteStore::insert_otp_challenge(self, row).await
    }

    async fn otp_challenge(&self, id: &str) -> StoreResult<Option<OtpChallengeRow>> {
        SqliteStore::otp_challenge(self, id).await
    }

    async fn count_wrong_otp(&self, id: &str) -> StoreResult<Option<u32>> {
        SqliteStore::count_wrong_otp(self, id).await
    }

    async fn prune_otp_challenges(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        SqliteStore::prune_otp_challenges(self, before).await
    }

    async fn prune_rate_hits(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        SqliteStore::prune_rate_hits(self, before).await
    }

    async fn stats(&self, shop: &str, now: DateTime<Utc>) -> StoreResult<Stats> {
        SqliteStore::stats(self, shop, now).await
    }

    async fn order_counts(&self) -> StoreResult<Vec<OrderCount>> {
        SqliteStore::order_counts(self).await
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        SqliteStore::user_by_id(self, id).await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        SqliteStore::user_by_email(self, email).await
    }

    async fn ensure_user(&self, email: &str, now: DateTime<Utc>) -> StoreResult<UserRecord> {
        SqliteStore::ensure_user(self, email, now).await
    }

    async fn staff(&self) -> StoreResult<Vec<UserRecord>> {
        SqliteStore::staff(self).await
    }

    async fn set_roles(&self, user_id: &str, roles: &[Role]) -> StoreResult<()> {
        SqliteStore::set_roles(self, user_id, roles).await
    }

    async fn grant(&self, email: &str, role: Role, now: DateTime<Utc>) -> StoreResult<UserRecord> {
        SqliteStore::grant(self, email, role, now).await
    }

    async fn set_display_name(&self, user_id: &str, name: Option<&str>) -> StoreResult<()> {
        SqliteStore::set_display_name(self, user_id, name).await
    }

    async fn ping(&self) -> StoreResult<()> {
        SqliteStore::ping(self).await
    }

    fn syncs(&self) -> u64 {
        SqliteStore::syncs(self)
    }
}

impl From<SqliteStore> for Arc<dyn Storage> {
    fn from(store: SqliteStore) -> Self {
        Arc::new(store)
    }
}

impl From<StoreError> for crate::error::ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Refused(problem) => Self(problem),
            other => Self::internal(other),
        }
    }
}
