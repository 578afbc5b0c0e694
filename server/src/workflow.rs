//! The order workflow: the one place that says how an order moves and who may move it.
//!
//! ```text
//! start
//!    │
//!    ▼
//! awaiting_drink ─drink─► queued(#N) ─claim─► in_progress ─complete─► ready ─collect─► collected
//!    │ customer deadline    │ ▲ unclaim          │ barista deadline      │ ready_expiry_s
//!    ▼                      ▼ │                  ▼ (from queued)         ▼
//! timed_out(customer)  cancelled             timed_out(barista)   timed_out(collection)
//! ```
//!
//! [`decide`] turns a [`Command`] on an order's current state into [`OrderEvent`]s or refuses it
//! with a [`WorkflowError`]; [`apply`] folds an event into the [`Order`] the API shows;
//! [`pending_deadline`] says which deadline the storage must keep a row for.
//!
//! It must stay pure: no I/O, no database, no clock, no randomness. Everything it needs to know
//! (the time, the shop, the counts behind the admission checks, the next order number) is passed
//! in, gathered by the storage in the same transaction that will append the events, so a
//! decision is always made on one consistent snapshot. Who is signed in is the HTTP layer's
//! business; which of them may touch this order, in this state, is decided here, with the rules
//! of who may see and do what from [`crate::policy`].

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use espresso_protocol::{
    CancelledBy, CustomerRef, Drink, DrinkChoice, ErrorCode, EventType, MenuItem, Order, OrderId,
    OrderState, Problem, Shop, ShopId, TimeoutStage, UserId,
};
use serde::{Deserialize, Serialize};

use crate::policy::Action;
pub use crate::policy::Actor;

/// What the storage found when it looked up the scanned booth code (without redeeming it yet:
/// it redeems only if the start is accepted, in the same transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// The current code, with uses left.
    Valid,
    /// No such code for this shop.
    Invalid,
    /// It was this shop's code, but a newer one replaced it.
    Expired,
    /// The current code, but `drinks_per_code` orders already used it; the next code comes in
    /// `next_in_s` seconds (when this one's window ends).
    Exhausted { next_in_s: u64 },
    /// A live scan pass ([`issue_pass`]): one of its code's orders was taken for it when it was
    /// issued, so the code is not looked at again (it may have rotated or run out since).
    Held,
    /// A scan pass past its time.
    PassExpired,
    /// A scan pass that has already started an order.
    PassUsed,
}

/// How long a scan pass holds its place: time to ask for, read and type an emailed code.
pub const PASS_TTL_S: u32 = 600;

/// The facts a start is admitted on, counted by the storage in the start's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    pub code: CodeCheck,
    /// The customer has an order in this shop whose state [`OrderState::is_open`]
    /// (awaiting its drink, queued, in progress or ready to collect).
    pub has_open_order: bool,
    /// The customer's orders in this shop today that count toward `max_orders_per_day`: every
    /// order started today except cancelled and timed-out ones (the customer did not get a
    /// drink from those). "Today" is the same day as the order numbers'.
    pub orders_today: u32,
    /// The shop's orders `queued` or `in_progress` now: the drinks the bar has committed to.
    /// Orders still awaiting their drink do not count (they may never choose), and are not
    /// refused later when they do choose, so the queue can pass `max_queue` by at most the
    /// number of customers choosing at that moment.
    pub queue_length: u32,
}

/// What every decision may look at besides the order itself.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The time of the decision; stamped on the events.
    pub now: DateTime<Utc>,
    /// The order's shop as it is now (open, menu, limits).
    pub shop: &'a Shop,
    /// The number the order gets if this command queues it (per shop, from 1 each day). The
    /// storage advances its counter only if the events contain [`OrderEvent::Placed`].
    pub next_number: u32,
}

/// What someone wants to happen to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A customer scanned a booth code: start an order, with the drink at once if given.
    Start {
        order_id: OrderId,
        customer: CustomerRef,
        drink: Option<DrinkChoice>,
        admission: Admission,
    },
    /// The owner chose the drink: the order is queued with its number.
    ChooseDrink { by: Actor, drink: DrinkChoice },
    /// A barista starts making it.
    Claim { by: Actor },
    /// The claiming barista (or an admin) puts it back in the queue.
    Unclaim { by: Actor },
    /// Made: ready to collect.
    Complete { by: Actor },
    /// Handed over.
    Collect { by: Actor },
    /// The owner before a barista starts it, or staff before it is ready.
    Cancel { by: Actor, reason: Option<String> },
    /// A stored deadline is due. Fires only if the order is still where the deadline applies;
    /// otherwise it does nothing, so a deadline fired twice or late is harmless.
    Expire { stage: TimeoutStage },
}

/// What happened to an order. Each carries what [`apply`] needs, decided once: deadlines are
/// computed from the limits at decision time, so a later change of limits does not move them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum OrderEvent {
    #[serde(rename = "order.created")]
    Created {
        order_id: OrderId,
        shop: ShopId,
        customer: CustomerRef,
        at: DateTime<Utc>,
        /// `at` + `customer_timeout_s`: choose a drink by then.
        deadline_at: DateTime<Utc>,
    },
    #[serde(rename = "order.placed")]
    Placed {
        number: u32,
        drink: Drink,
        at: DateTime<Utc>,
        /// `at` + `barista_timeout_s`: made by then; claims and unclaims do not move it.
        deadline_at: DateTime<Utc>,
    },
    #[serde(rename = "order.claimed")]
    Claimed {
        barista_id: UserId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "order.unclaimed")]
    Unclaimed { at: DateTime<Utc> },
    #[serde(rename = "order.completed")]
    Completed {
        at: DateTime<Utc>,
        /// `at` + `ready_expiry_s`: handed over by then, or "not collected"; none when the
        /// shop's `ready_expiry_s` is 0 (never).
        #[serde(default)]
        deadline_at: Option<DateTime<Utc>>,
    },
    #[serde(rename = "order.collected")]
    Collected { at: DateTime<Utc> },
    #[serde(rename = "order.cancelled")]
    Cancelled {
        by: CancelledBy,
        reason: Option<String>,
        at: DateTime<Utc>,
    },
    #[serde(rename = "order.timed_out")]
    TimedOut {
        stage: TimeoutStage,
        at: DateTime<Utc>,
    },
}

impl OrderEvent {
    /// The API's event type this event is published as (with the whole order after it).
    pub fn event_type(&self) -> EventType {
        match self {
            OrderEvent::Created { .. } => EventType::OrderCreated,
            OrderEvent::Placed { .. } => EventType::OrderPlaced,
            OrderEvent::Claimed { .. } => EventType::OrderClaimed,
            OrderEvent::Unclaimed { .. } => EventType::OrderUnclaimed,
            OrderEvent::Completed { .. } => EventType::OrderCompleted,
            OrderEvent::Collected { .. } => EventType::OrderCollected,
            OrderEvent::Cancelled { .. } => EventType::OrderCancelled,
            OrderEvent::TimedOut { .. } => EventType::OrderTimedOut,
        }
    }

    /// When it happened.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            OrderEvent::Created { at, .. }
            | OrderEvent::Placed { at, .. }
            | OrderEvent::Claimed { at, .. }
            | OrderEvent::Unclaimed { at }
            | OrderEvent::Completed { at, .. }
            | OrderEvent::Collected { at }
            | OrderEvent::Cancelled { at, .. }
            | OrderEvent::TimedOut { at, .. } => *at,
        }
    }
}

/// Why a command was refused. Each maps to one API error code ([`WorkflowError::code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("the shop is not taking orders")]
    ShopClosed,
    #[error("this is not a booth code of this shop")]
    CodeInvalid,
    #[error("this booth code has been replaced by a newer one")]
    CodeExpired,
    /// `next_in_s`: seconds until the booth screen shows the next code.
    #[error("this booth code has started all the orders it may")]
    CodeExhausted { next_in_s: u64 },
    #[error("this scan pass has timed out: scan the code on the booth screen again")]
    PassExpired,
    #[error("this scan pass has already started an order")]
    PassUsed,
    #[error("finish or cancel your current order first")]
    OpenOrderExists,
    /// `resets_in_s`: seconds until the next business day (midnight in the shop's time zone),
    /// when the count starts again.
    #[error("the limit is {limit} order(s) a day")]
    DailyLimitReached { limit: u32, resets_in_s: u64 },
    #[error("the bar has {limit} orders waiting, its most at once")]
    QueueFull { limit: u32 },
    #[error("{name} is not available right now")]
    ItemUnavailable { item_id: String, name: String },
    /// An option of the drink is out (86'd), e.g. oat milk: `item_unavailable` too.
    #[error("{option} is out")]
    OptionUnavailable { item_id: String, option: String },
    /// The reason says what is wrong with the choice, for the person who made it.
    #[error("{0}")]
    DrinkInvalid(String),
    #[error("cannot {action} an order that is {state}")]
    InvalidTransition {
        action: &'static str,
        state: OrderState,
    },
    #[error("another barista is making this order")]
    AlreadyClaimed,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("no such order")]
    NotFound,
}

impl WorkflowError {
    pub fn code(&self) -> ErrorCode {
        match self {
            WorkflowError::ShopClosed => ErrorCode::ShopClosed,
            WorkflowError::CodeInvalid => ErrorCode::CodeInvalid,
            WorkflowError::CodeExpired => ErrorCode::CodeExpired,
            WorkflowError::CodeExhausted { .. } => ErrorCode::CodeExhausted,
            WorkflowError::PassExpired | WorkflowError::PassUsed => ErrorCode::PassExpired,
            WorkflowError::OpenOrderExists => ErrorCode::OpenOrderExists,
            WorkflowError::DailyLimitReached { .. } => ErrorCode::DailyLimitReached,
            WorkflowError::QueueFull { .. } => ErrorCode::QueueFull,
            WorkflowError::ItemUnavailable { .. } | WorkflowError::OptionUnavailable { .. } => {
                ErrorCode::ItemUnavailable
            }
            WorkflowError::DrinkInvalid(_) => ErrorCode::DrinkInvalid,
            WorkflowError::InvalidTransition { .. } => ErrorCode::InvalidTransition,
            WorkflowError::AlreadyClaimed => ErrorCode::AlreadyClaimed,
            WorkflowError::Forbidden(_) => ErrorCode::Forbidden,
            WorkflowError::NotFound => ErrorCode::NotFound,
        }
    }

    /// The API's error body: the code's status and title, this refusal's detail and, for
    /// `invalid_transition`, the order's current state.
    pub fn to_problem(&self) -> Problem {
        let problem = Problem::new(self.code()).with_detail(self.to_string());
        match self {
            WorkflowError::InvalidTransition { state, .. } => problem.with_state(*state),
            WorkflowError::DailyLimitReached { resets_in_s, .. } => {
                problem.with_retry_after_s(*resets_in_s)
            }
            WorkflowError::CodeExhausted { next_in_s } => problem.with_retry_after_s(*next_in_s),
            _ => problem,
        }
    }
}

impl From<WorkflowError> for Problem {
    fn from(error: WorkflowError) -> Self {
        error.to_problem()
    }
}

/// A deadline an order has pending: the storage keeps one row per order for it and sends
/// [`Command::Expire`] with its `stage` once `due_at` has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    pub stage: TimeoutStage,
    pub due_at: DateTime<Utc>,
}

/// Decide what `command` does to `order` (`None`: no such order yet).
///
/// `Ok(vec![])` means "nothing to do" and happens only for [`Command::Expire`] on an order that
/// has moved on. The events are in order; fold them with [`apply`].
pub fn decide(
    order: Option<&Order>,
    command: &Command,
    ctx: &Context<'_>,
) -> Result<Vec<OrderEvent>, WorkflowError> {
    let Some(order) = order else {
        return match command {
            Command::Start {
                order_id,
                customer,
                drink,
                admission,
            } => start(order_id, customer, drink.as_ref(), admission, ctx),
            // A deadline of an order that is gone is as stale as one of an order that moved on.
            Command::Expire { .. } => Ok(Vec::new()),
            _ => Err(WorkflowError::NotFound),
        };
    };
    let now = ctx.now;
    match command {
        Command::Start { .. } => Err(invalid("start", order)),
        Command::Expire { stage } => Ok(expire(order, *stage, now)),
        Command::ChooseDrink { by, drink } => {
            see(by, order)?;
            if !by.owns(order) {
                return Err(WorkflowError::Forbidden(
                    "only the customer chooses their drink",
                ));
            }
            if order.state != OrderState::AwaitingDrink {
                return Err(invalid("choose the drink of", order));
            }
            Ok(vec![place(drink, ctx)?])
        }
        Command::Claim { by } => {
            see(by, order)?;
            barista(by)?;
            match order.state {
                OrderState::Queued => Ok(vec![OrderEvent::Claimed {
                    barista_id: by.user_id.clone(),
                    at: now,
                }]),
                OrderState::InProgress => Err(WorkflowError::AlreadyClaimed),
                _ => Err(invalid("claim", order)),
            }
        }
        Command::Unclaim { by } => {
            see(by, order)?;
            barista(by)?;
            if order.state != OrderState::InProgress {
                return Err(invalid("unclaim", order));
            }
            if !by.may_unclaim(order) {
                return Err(WorkflowError::Forbidden(
                    "only the barista making it, or an admin, can put it back",
                ));
            }
            Ok(vec![OrderEvent::Unclaimed { at: now }])
        }
        Command::Complete { by } => {
            see(by, order)?;
            barista(by)?;
            // Any barista may finish it: behind the bar, hands swap.
            if order.state != OrderState::InProgress {
                return Err(invalid("complete", order));
            }
            let expiry = ctx.shop.limits.ready_expiry_s;
            Ok(vec![OrderEvent::Completed {
                at: now,
                deadline_at: (expiry > 0).then(|| after(now, expiry)),
            }])
        }
        Command::Collect { by } => {
            see(by, order)?;
            barista(by)?;
            if order.state != OrderState::Ready {
                return Err(invalid("collect", order));
            }
            Ok(vec![OrderEvent::Collected { at: now }])
        }
        Command::Cancel { by, reason } => {
            see(by, order)?;
            let cancelled_by = cancelled_by(by, order)?;
            Ok(vec![OrderEvent::Cancelled {
                by: cancelled_by,
                reason: reason
                    .as_deref()
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned),
                at: now,
            }])
        }
    }
}

/// Fold one event into the order (`None`: not created yet). Events other than `Created` on a
/// missing order change nothing; [`decide`] never produces them.
pub fn apply(order: Option<Order>, event: &OrderEvent) -> Option<Order> {
    if let OrderEvent::Created {
        order_id,
        shop,
        customer,
        at,
        deadline_at,
    } = event
    {
        return Some(Order {
            id: order_id.clone(),
            shop: shop.clone(),
            number: None,
            state: OrderState::AwaitingDrink,
            drink: None,
            customer: customer.clone(),
            barista_id: None,
            created_at: *at,
            placed_at: None,
            claimed_at: None,
            ready_at: None,
            finished_at: None,
            deadline_at: Some(*deadline_at),
            cancel_reason: None,
            cancelled_by: None,
            timeout_stage: None,
        });
    }
    let mut order = order?;
    match event {
        OrderEvent::Created { .. } => {}
        OrderEvent::Placed {
            number,
            drink,
            at,
            deadline_at,
        } => {
            order.state = OrderState::Queued;
            order.number = Some(*number);
            order.drink = Some(drink.clone());
            order.placed_at = Some(*at);
            order.deadline_at = Some(*deadline_at);
        }
        OrderEvent::Claimed { barista_id, at } => {
            order.state = OrderState::InProgress;
            order.barista_id = Some(barista_id.clone());
            order.claimed_at = Some(*at);
        }
        OrderEvent::Unclaimed { .. } => {
            // Back in the queue as if never claimed; the barista deadline stays where it was.
            order.state = OrderState::Queued;
            order.barista_id = None;
            order.claimed_at = None;
        }
        OrderEvent::Completed { at, deadline_at } => {
            order.state = OrderState::Ready;
            order.ready_at = Some(*at);
            // The bar's deadline is met; the collection deadline (if any) starts.
            order.deadline_at = *deadline_at;
        }
        OrderEvent::Collected { at } => {
            order.state = OrderState::Collected;
            order.finished_at = Some(*at);
            order.deadline_at = None;
        }
        OrderEvent::Cancelled { by, reason, at } => {
            order.state = OrderState::Cancelled;
            order.cancelled_by = Some(*by);
            order.cancel_reason.clone_from(reason);
            order.finished_at = Some(*at);
            order.deadline_at = None;
        }
        OrderEvent::TimedOut { stage, at } => {
            order.state = OrderState::TimedOut;
            order.timeout_stage = Some(*stage);
            order.finished_at = Some(*at);
            order.deadline_at = None;
        }
    }
    Some(order)
}

/// Fold events in order, starting from `order`.
pub fn apply_all<'a>(
    order: Option<Order>,
    events: impl IntoIterator<Item = &'a OrderEvent>,
) -> Option<Order> {
    events.into_iter().fold(order, apply)
}

/// The deadline `order` has pending, if any: the customer's while it awaits its drink, the
/// bar's while it is queued or in progress, the collection's while it is ready (unless the
/// shop's `ready_expiry_s` was 0 when it was made). After applying events, the storage replaces
/// the order's deadline row with this one (or deletes it on `None`).
pub fn pending_deadline(order: &Order) -> Option<Deadline> {
    let stage = match order.state {
        OrderState::AwaitingDrink => TimeoutStage::Customer,
        OrderState::Queued | OrderState::InProgress => TimeoutStage::Barista,
        OrderState::Ready => TimeoutStage::Collection,
        _ => return None,
    };
    order.deadline_at.map(|due_at| Deadline { stage, due_at })
}

/// Check the drink against the menu and name it as the menu does.
pub fn validate_drink(shop: &Shop, choice: &DrinkChoice) -> Result<Drink, WorkflowError> {
    let Some(item) = shop.item(&choice.item_id) else {
        return Err(WorkflowError::DrinkInvalid(format!(
            "there is no drink `{}` on the menu",
            choice.item_id
        )));
    };
    if !item.available {
        return Err(WorkflowError::ItemUnavailable {
            item_id: item.id.clone(),
            name: item.name.clone(),
        });
    }
    check_options(item, choice)?;
    Ok(Drink {
        item_id: item.id.clone(),
        name: item.name.clone(),
        options: choice.options.clone(),
    })
}

/// Every option must be one the item's group offers, and every required group chosen. One
/// option per group holds by construction: the choice is a map, and reading it refuses a group
/// given twice.
fn check_options(item: &MenuItem, choice: &DrinkChoice) -> Result<(), WorkflowError> {
    for (group, option) in &choice.options {
        let Some(modifier) = item.modifier(group) else {
            return Err(WorkflowError::DrinkInvalid(format!(
                "{} has no choice of `{group}`",
                item.name
            )));
        };
        if !modifier.offers(option) {
            return Err(WorkflowError::DrinkInvalid(format!(
                "{} comes with {} {}, not `{option}`",
                item.name,
                modifier.name,
                modifier.options.join(" or ")
            )));
        }
    }
    if let Some(missing) = item
        .modifiers
        .iter()
        .find(|m| m.required && !choice.options.contains_key(&m.id))
    {
        return Err(WorkflowError::DrinkInvalid(format!(
            "{} needs a choice of {}: {}",
            item.name,
            missing.name,
            missing.options.join(" or ")
        )));
    }
    // A valid choice, but an option of it is out (86'd) for now.
    for (group, option) in &choice.options {
        if item
            .modifier(group)
            .is_some_and(|m| !m.is_available(option))
        {
            return Err(WorkflowError::OptionUnavailable {
                item_id: item.id.clone(),
                option: option.clone(),
            });
        }
    }
    Ok(())
}

/// A time zone by its IANA name (`America/Los_Angeles`, `UTC`); `None` for a name the time zone
/// database does not know.
pub fn time_zone(name: &str) -> Option<Tz> {
    name.parse().ok()
}

/// The shop's time zone: what its business day follows. A name the database does not know (the
/// API refuses those, so only a hand-edited database has one) counts as UTC.
pub fn zone_of(shop: &Shop) -> Tz {
    time_zone(&shop.time_zone).unwrap_or(Tz::UTC)
}

/// Seconds from `now` until the next business day starts: midnight in the shop's time zone
/// (`zone`), when the order numbers and the daily limit count again. At least 1.
pub fn until_next_day_s(now: DateTime<Utc>, zone: Tz) -> u64 {
    let tomorrow = now.with_timezone(&zone).date_naive().succ_opt();
    // Where a clock change skips midnight, the day starts at the first hour that exists.
    let next_start = tomorrow.and_then(|day| {
        (0..4).find_map(|hour| {
            day.and_hms_opt(hour, 0, 0)
                .and_then(|local| zone.from_local_datetime(&local).earliest())
        })
    });
    next_start
        .map(|at| {
            (at.with_timezone(&Utc) - now)
                .num_seconds()
                .max(1)
                .unsigned_abs()
        })
        .unwrap_or(1)
}

/// Someone scanned `code` and is not signed in yet: may a scan pass hold one of the code's
/// orders for them? The same refusals as a start with the code (a closed shop, then the code),
/// nothing about the customer (nobody is signed in). Accepted, the pass lasts until the time
/// answered ([`PASS_TTL_S`]); the storage takes one of the code's orders for it in the same
/// transaction, so the booth's count stays true and the pass orders even if the code rotates
/// or runs out meanwhile.
pub fn issue_pass(
    shop: &Shop,
    code: CodeCheck,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, WorkflowError> {
    if !shop.open || shop.archived {
        return Err(WorkflowError::ShopClosed);
    }
    match code {
        // A pass is not a booth code: it cannot make another pass.
        CodeCheck::Held | CodeCheck::PassExpired | CodeCheck::PassUsed => {
            Err(WorkflowError::CodeInvalid)
        }
        code => admit_code(code),
    }?;
    Ok(after(now, PASS_TTL_S))
}

/// The booth code (or the scan pass in its place) lets an order start.
fn admit_code(code: CodeCheck) -> Result<(), WorkflowError> {
    match code {
        CodeCheck::Valid | CodeCheck::Held => Ok(()),
        CodeCheck::Invalid => Err(WorkflowError::CodeInvalid),
        CodeCheck::Expired => Err(WorkflowError::CodeExpired),
        CodeCheck::Exhausted { next_in_s } => Err(WorkflowError::CodeExhausted { next_in_s }),
        CodeCheck::PassExpired => Err(WorkflowError::PassExpired),
        CodeCheck::PassUsed => Err(WorkflowError::PassUsed),
    }
}

/// Admission checks, most lasting first: a closed shop or a bad code makes the rest moot, and
/// a customer at their limit should hear that rather than "try again later" for a full queue.
fn start(
    order_id: &OrderId,
    customer: &CustomerRef,
    drink: Option<&DrinkChoice>,
    admission: &Admission,
    ctx: &Context<'_>,
) -> Result<Vec<OrderEvent>, WorkflowError> {
    let shop = ctx.shop;
    let limits = &shop.limits;
    if !shop.open || shop.archived {
        return Err(WorkflowError::ShopClosed);
    }
    admit_code(admission.code)?;
    if admission.has_open_order {
        return Err(WorkflowError::OpenOrderExists);
    }
    // 0 = unlimited
    if limits.max_orders_per_day > 0 && admission.orders_today >= limits.max_orders_per_day {
        return Err(WorkflowError::DailyLimitReached {
            limit: limits.max_orders_per_day,
            resets_in_s: until_next_day_s(ctx.now, zone_of(shop)),
        });
    }
    if admission.queue_length >= limits.max_queue {
        return Err(WorkflowError::QueueFull {
            limit: limits.max_queue,
        });
    }
    let placed = drink.map(|drink| place(drink, ctx)).transpose()?;
    let created = OrderEvent::Created {
        order_id: order_id.to_owned(),
        shop: shop.id.clone(),
        customer: customer.clone(),
        at: ctx.now,
        deadline_at: after(ctx.now, limits.customer_timeout_s),
    };
    Ok(std::iter::once(created).chain(placed).collect())
}

fn place(choice: &DrinkChoice, ctx: &Context<'_>) -> Result<OrderEvent, WorkflowError> {
    Ok(OrderEvent::Placed {
        number: ctx.next_number,
        drink: validate_drink(ctx.shop, choice)?,
        at: ctx.now,
        deadline_at: after(ctx.now, ctx.shop.limits.barista_timeout_s),
    })
}

fn expire(order: &Order, stage: TimeoutStage, now: DateTime<Utc>) -> Vec<OrderEvent> {
    let applies = match stage {
        TimeoutStage::Customer => order.state == OrderState::AwaitingDrink,
        TimeoutStage::Barista => {
            matches!(order.state, OrderState::Queued | OrderState::InProgress)
        }
        TimeoutStage::Collection => order.state == OrderState::Ready,
    };
    if applies {
        vec![OrderEvent::TimedOut { stage, at: now }]
    } else {
        Vec::new()
    }
}

/// The owner may cancel until a barista starts; staff until it is ready. A barista cancelling
/// their own order early counts as the customer.
fn cancelled_by(by: &Actor, order: &Order) -> Result<CancelledBy, WorkflowError> {
    let before_claim = matches!(order.state, OrderState::AwaitingDrink | OrderState::Queued);
    let before_ready = before_claim || order.state == OrderState::InProgress;
    if by.owns(order) && before_claim {
        Ok(CancelledBy::Customer)
    } else if by.may(Action::WorkTheBar) && before_ready {
        Ok(CancelledBy::Staff)
    } else if by.owns(order) || by.may(Action::WorkTheBar) {
        Err(invalid("cancel", order))
    } else {
        Err(WorkflowError::Forbidden(
            "only the customer or a barista can cancel",
        ))
    }
}

/// Another customer's order does not exist for them (no existence leak).
fn see(by: &Actor, order: &Order) -> Result<(), WorkflowError> {
    if by.may_see(order) {
        Ok(())
    } else {
        Err(WorkflowError::NotFound)
    }
}

fn barista(by: &Actor) -> Result<(), WorkflowError> {
    if by.may(Action::WorkTheBar) {
        Ok(())
    } else {
        Err(WorkflowError::Forbidden(Action::WorkTheBar.refusal()))
    }
}

fn invalid(action: &'static str, order: &Order) -> WorkflowError {
    WorkflowError::InvalidTransition {
        action,
        state: order.state,
    }
}

/// `now` + `seconds`; a limit so large it leaves the calendar means "never".
fn after(now: DateTime<Utc>, seconds: u32) -> DateTime<Utc> {
    now.checked_add_signed(TimeDelta::seconds(i64::from(seconds)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests;
