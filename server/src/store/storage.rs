//! The storage seam: everything the server asks of its database, as [`Storage`] and its parts.
//!
//! Handlers, the live hub, the auth flows and the background tasks see only `dyn Storage`
//! ([`super::Store`]); [`SqliteStore`] implements its parts directly, each beside its SQL (no
//! forwarding layer). What a second backend must provide to implement it:
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
    BoothCode, CustomerRef, DrinkChoice, JourneyStep, Order, OrderId, OrderState, PushSubscription,
    Role, Shop, ShopId, Stats, TimeoutStage, UserId,
};
use tokio::sync::broadcast;

use super::sign_in::OtpChallengeRow;
use super::{
    AccessChange, Answer, Committed, EventRow, NewPair, OrderCommand, Remember, Rotation,
    ShopChange, SqliteStore, StoreError, StoreResult, UserRecord,
};
use super::{IssuedPass, Ticket};

/// The storage traits, for calling their methods on a concrete store (`SqliteStore`).
pub mod prelude {
    pub use super::{
        CodeStorage, EventStorage, IdempotencyStorage, OrderStorage, PassStorage, PushStorage,
        SessionStorage, ShopStorage, SignInStorage, StatsStorage, Storage, UserStorage,
    };
}

/// A deadline that has fallen due: which order, which stage, since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDeadline {
    pub shop: ShopId,
    pub order_id: OrderId,
    pub stage: TimeoutStage,
    pub due_at: DateTime<Utc>,
}

/// An order with the business day it started on (`YYYY-MM-DD`, the shop's time zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedOrder {
    pub day: String,
    pub order: Order,
}

/// How many orders of a shop are in a state (`/metrics`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCount {
    pub shop: ShopId,
    pub state: String,
    pub count: i64,
}

/// An answer kept for an `Idempotency-Key`: the hash of the request it answered, its status and
/// its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptAnswer {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

/// Decides from the hits already counted in each bucket whether to admit one more (Err: wait).
pub type RateVerdict =
    Box<dyn FnOnce(&[Vec<DateTime<Utc>>]) -> Result<(), Duration> + Send + 'static>;

/// What every part of the server may ask of storage: the parts below, and the store itself.
///
/// Each part is its own trait, implemented beside its SQL (`SqliteStore`'s in `shops.rs`,
/// `orders.rs`, …); a second backend implements the same traits. On `dyn Storage` every part's
/// methods are at hand; on a concrete store, `use crate::store::prelude::*` brings them.
#[async_trait]
pub trait Storage:
    ShopStorage
    + CodeStorage
    + PassStorage
    + OrderStorage
    + StatsStorage
    + EventStorage
    + IdempotencyStorage
    + SessionStorage
    + SignInStorage
    + UserStorage
    + PushStorage
    + Send
    + Sync
    + 'static
{
    /// Committed events, in `seq` order per shop, from now on (each once durable).
    fn tail(&self) -> broadcast::Receiver<Committed>;
    /// Where phones reach this server (booth codes' `order_url`).
    fn public_url(&self) -> &str;
    /// Is the database answering? (`/readyz`)
    async fn ping(&self) -> StoreResult<()>;
    /// Close the database's connections (the server is stopping).
    async fn close(&self);
    /// Claim this round of the periodic task `name` (due every `every`): true for exactly one
    /// of the servers sharing the database per round (always, for a database one server owns).
    async fn claim_periodic(
        &self,
        name: &str,
        now: DateTime<Utc>,
        every: std::time::Duration,
    ) -> StoreResult<bool>;
    /// How many commits have made writes durable since the store opened (each one sync).
    fn syncs(&self) -> u64;
    /// How many checkpoints of its log this server has finished since the store opened: `None`
    /// where the database does its own (PostgreSQL).
    fn checkpoints(&self) -> Option<u64> {
        None
    }
}

/// Shops: their state (open, menu, limits), each change a `shop.updated` event.
#[async_trait]
pub trait ShopStorage: Send + Sync {
    /// The shop, or `not_found`.
    async fn shop(&self, id: &ShopId) -> StoreResult<Shop>;
    /// Every shop, archived ones included, in id order.
    async fn shops(&self) -> StoreResult<Vec<Shop>>;
    /// Every shop id (for background tasks).
    async fn shop_ids(&self) -> StoreResult<Vec<ShopId>>;
    /// Change a shop with `change` (which may refuse), store it and log `shop.updated`.
    async fn update_shop(
        &self,
        id: &ShopId,
        now: DateTime<Utc>,
        change: ShopChange,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Shop>>;
    /// Create `shop` (`shop_exists` if its id is taken) and log its first `shop.updated`.
    async fn create_shop(
        &self,
        shop: Shop,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Shop>>;
}

/// Booth codes: the current one (issued when due) and an admin's rotation.
#[async_trait]
pub trait CodeStorage: Send + Sync {
    /// The shop's current code, issuing (durably) a new one when the last one's window ended.
    async fn current_code(&self, shop: &ShopId, now: DateTime<Utc>) -> StoreResult<BoothCode>;
    /// A new code now; the ones it replaces stop at once.
    async fn rotate_code(
        &self,
        shop: &ShopId,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<BoothCode>>;
}

/// Orders: the workflow's commands (one serialisation point per shop), reads and deadlines.
/// Scan passes: a booth code checked before sign-in holds one of its orders (`passes.rs`).
#[async_trait]
pub trait PassStorage: Send + Sync {
    /// A scan pass for `code` (its SHA-256 `hash`), holding one of the code's orders.
    async fn issue_pass(
        &self,
        shop: &ShopId,
        code: &str,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<IssuedPass>;
    /// Forget passes that ended before `before`.
    async fn prune_scan_passes(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}

#[async_trait]
pub trait OrderStorage: Send + Sync {
    /// Start an order with the booth code (API.md).
    async fn start_order(
        &self,
        shop_id: &ShopId,
        customer: CustomerRef,
        code: &str,
        drink: Option<DrinkChoice>,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Order>> {
        let ticket = Ticket::Code(code.to_owned());
        self.start_order_with(shop_id, customer, ticket, drink, now, remember)
            .await
    }
    /// Start an order with a booth code or a scan pass in its place.
    async fn start_order_with(
        &self,
        shop_id: &ShopId,
        customer: CustomerRef,
        ticket: Ticket,
        drink: Option<DrinkChoice>,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Order>>;
    async fn order_command(
        &self,
        shop_id: &ShopId,
        order_id: &OrderId,
        command: OrderCommand,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Order>>;
    async fn order(&self, shop: &ShopId, id: &OrderId) -> StoreResult<Option<Order>>;
    async fn orders_in(
        &self,
        shop: &ShopId,
        states: &[OrderState],
        limit: u32,
    ) -> StoreResult<Vec<Order>>;
    async fn orders_of(&self, customer_id: &UserId, limit: u32) -> StoreResult<Vec<Order>>;
    /// The shop's orders started on the business days `from` to `to` (`YYYY-MM-DD`, both
    /// included), oldest first.
    async fn orders_between(
        &self,
        shop: &ShopId,
        from: &str,
        to: &str,
        limit: u32,
    ) -> StoreResult<Vec<Order>>;
    /// As [`OrderStorage::orders_between`], each order with its business day (`YYYY-MM-DD`).
    async fn orders_by_day_between(
        &self,
        shop: &ShopId,
        from: &str,
        to: &str,
        limit: u32,
    ) -> StoreResult<Vec<DatedOrder>>;
    async fn due_deadlines(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<DueDeadline>>;
    async fn next_deadline(&self) -> StoreResult<Option<DateTime<Utc>>>;
    async fn drop_deadline(&self, order_id: &OrderId) -> StoreResult<()>;
}

/// The numbers: a shop's day, and the orders by state (`/metrics`).
#[async_trait]
pub trait StatsStorage: Send + Sync {
    async fn stats(&self, shop: &ShopId, now: DateTime<Utc>) -> StoreResult<Stats>;
    async fn order_counts(&self) -> StoreResult<Vec<OrderCount>>;
}

/// The shop's event log (the live stream's replay) and an order's journey.
#[async_trait]
pub trait EventStorage: Send + Sync {
    async fn head(&self, shop: &ShopId) -> StoreResult<u64>;
    async fn oldest_seq(&self, shop: &ShopId) -> StoreResult<Option<u64>>;
    async fn events_after(
        &self,
        shop: &ShopId,
        since: u64,
        limit: u32,
    ) -> StoreResult<Vec<EventRow>>;
    async fn journey(&self, order_id: &OrderId) -> StoreResult<Vec<JourneyStep>>;
}

/// `Idempotency-Key` answers kept for the routes that do not store them with a command.
#[async_trait]
pub trait IdempotencyStorage: Send + Sync {
    async fn idempotent_answer(&self, scope: &str, key: &str) -> StoreResult<Option<KeptAnswer>>;
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
}

/// Sessions: token families and pairs, access checks (cached), revocation.
#[async_trait]
pub trait SessionStorage: Send + Sync {
    /// Announcements of sessions ended and roles changed: live sockets re-check their token.
    fn access_changes(&self) -> broadcast::Receiver<AccessChange>;
    /// The user behind a live access token (cached; never staler than the last revocation).
    async fn authenticate(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>>;
    async fn open_session(
        &self,
        family_id: &str,
        user_id: &UserId,
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
    async fn revoke_family(&self, family_id: &str, now: DateTime<Utc>) -> StoreResult<()>;
    async fn revoke_family_of_token(&self, token_hash: &str, now: DateTime<Utc>)
    -> StoreResult<()>;
    async fn prune_tokens(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// Make every access token (and with `refresh_too` every refresh token) expired now: for
    /// tests of how clients recover, without writing SQL into the schema.
    #[doc(hidden)]
    async fn expire_every_token(&self, refresh_too: bool) -> StoreResult<()>;
}

/// Sign-in attempts: one-time-code challenges and the rate limits' hits.
#[async_trait]
pub trait SignInStorage: Send + Sync {
    async fn insert_otp_challenge(&self, row: &OtpChallengeRow) -> StoreResult<()>;
    async fn otp_challenge(&self, id: &str) -> StoreResult<Option<OtpChallengeRow>>;
    async fn count_wrong_otp(&self, id: &str) -> StoreResult<Option<u32>>;
    async fn prune_otp_challenges(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    async fn admit_rate_hits(
        &self,
        buckets: &[(String, DateTime<Utc>)],
        now: DateTime<Utc>,
        verdict: RateVerdict,
    ) -> StoreResult<Result<(), Duration>>;
    async fn prune_rate_hits(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}

/// Customers' Web Push subscriptions (`server/src/push`).
#[async_trait]
pub trait PushStorage: Send + Sync {
    /// Keep a Web Push subscription for the user (their `max` newest are kept).
    async fn add_push_subscription(
        &self,
        user_id: &UserId,
        subscription: &PushSubscription,
        now: DateTime<Utc>,
        max: usize,
    ) -> StoreResult<()>;
    /// Forget the subscription at `endpoint` (only the user's, when given); whether there was one.
    async fn remove_push_subscription(
        &self,
        user_id: Option<&UserId>,
        endpoint: &str,
    ) -> StoreResult<bool>;
    /// The user's Web Push subscriptions, newest first.
    async fn push_subscriptions_of(&self, user_id: &UserId) -> StoreResult<Vec<PushSubscription>>;
    /// `false` only if the user surely has no subscription (asked for every finished order,
    /// before any work is spawned for it); a backend that cannot tell says `true`.
    fn may_have_push_subscriptions(&self, _user_id: &UserId) -> bool {
        true
    }
}

/// People: users by id or email, their roles and names.
#[async_trait]
pub trait UserStorage: Send + Sync {
    async fn user_by_id(&self, id: &UserId) -> StoreResult<Option<UserRecord>>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>>;
    async fn ensure_user(&self, email: &str, now: DateTime<Utc>) -> StoreResult<UserRecord>;
    /// Everyone holding a role beyond `customer`, by email.
    async fn staff(&self) -> StoreResult<Vec<UserRecord>>;
    /// Replace a user's roles; `last_admin` if no admin would be left (nothing changes then).
    async fn set_roles(&self, user_id: &UserId, roles: &[Role]) -> StoreResult<()>;
    async fn grant(&self, email: &str, role: Role, now: DateTime<Utc>) -> StoreResult<UserRecord>;
    async fn set_display_name(&self, user_id: &UserId, name: Option<&str>) -> StoreResult<()>;
}

impl dyn Storage {
    /// Change a shop with no `Idempotency-Key` (tools, tests): the shop after.
    pub async fn change_shop(
        &self,
        id: &ShopId,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut Shop) -> StoreResult<()> + Send + 'static,
    ) -> StoreResult<Shop> {
        match self.update_shop(id, now, Box::new(change), None).await? {
            Answer::Done(shop) | Answer::Written(shop, _) => Ok(shop),
            Answer::Replayed(_) => Err(StoreError::database("a change without a key was replayed")),
        }
    }
}

impl From<SqliteStore> for Arc<dyn Storage> {
    fn from(store: SqliteStore) -> Self {
        Arc::new(store)
    }
}

impl From<super::PgStore> for Arc<dyn Storage> {
    fn from(store: super::PgStore) -> Self {
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
