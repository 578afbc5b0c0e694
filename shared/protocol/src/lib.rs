//! espresso-protocol: the one definition of what Espresso's server and apps say to each other.
//!
//! - The wire types of API.md, version 1 (this crate's root).
//! - [`App`]: the apps and their pages' paths.
//! - [`view`]: the pure screen views folding the live stream into what a screen shows.
//! - [`maildir`]: how the `dir:` mailer names its files.
//!
//! It has no HTTP client and no runtime (no reqwest, no tokio): the server depends on it alone,
//! the client (`espresso-core`) re-exports it, and it compiles for wasm32.
//!
//! Wire types of API.md, version 1. Field names are snake_case on the wire; every type here
//! is used by the server to answer and by the clients to read, so the two can never disagree.
//!
//! Conventions kept throughout:
//! - Command bodies (requests that change something) refuse unknown fields; answers do not,
//!   so an older client can read a newer server's additions.
//! - Absent values are `null`, never missing keys (PATCH bodies excepted: there a missing key
//!   means "leave as is").
//! - Times are `DateTime<Utc>`, written as RFC 3339 with `Z`.
//!
//! Nothing here may depend on the server (no tokio, no database): it compiles for wasm32.
//! Business rules do not live here either: the server's workflow owns them.

mod app;
mod auth;
mod code;
mod event;
mod health;
mod id;
mod live;
pub mod maildir;
mod order;
mod problem;
mod push;
mod shop;
pub mod stamp;
pub mod view;

pub use app::App;
pub use auth::{
    Invitation, LinkSignIn, LinkTo, MAX_DISPLAY_NAME_CHARS, Me, MePatch, OTP_LINK_PARAM,
    OtpChallenge, OtpRequest, OtpVerify, RefreshRequest, Role, RolesUpdate, Session, StaffMember,
    TokenType, User, parse_otp_link,
};
pub use code::{BoothCode, PassRequest, ScanPass};
pub use event::{Event, EventType};
pub use health::{Health, HealthStatus};
pub use id::{NotAShopId, OrderId, ShopId, UserId, is_shop_id};
pub use live::{
    CLOSE_NOT_FOUND, CLOSE_SLOW_CONSUMER, CLOSE_UNAUTHENTICATED, ClientFrame, IDLE_TIMEOUT_S,
    PING_INTERVAL_S, Scope, ServerFrame,
};
pub use order::{
    CancelOrder, CancelledBy, CustomerRef, Drink, DrinkChoice, JourneyStep, Order, OrderDetail,
    OrderList, OrderState, StartOrder, TimeoutStage, UnknownOrderState,
};
pub use problem::{ErrorCode, PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX, Problem};
pub use push::{PushKey, PushKeys, PushMessage, PushSubscription, PushUnsubscribe};
pub use shop::{
    DEFAULT_READY_EXPIRY_S, DEFAULT_TIME_ZONE, DayStats, DemoState, ItemCount, ItemStats, Limits,
    LimitsPatch, MAIN_SHOP_ID, MenuItem, MenuItemPatch, Modifier, NewShop, OptionAvailability,
    PeriodStats, ReasonCount, Shop, ShopPatch, ShopSummary, Stats, StatsReport,
};

/// The API version this crate speaks; also reported by `/healthz`.
pub const API_VERSION: u32 = 1;
