//! Order routes (API.md "Orders"): translate HTTP into workflow commands on the store.

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderName};
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{get, post, put};
use chrono::Utc;
use espresso_protocol::{
    CancelOrder, CustomerRef, DrinkChoice, ErrorCode, Order, OrderDetail, OrderList, OrderState,
    PassRequest, ScanPass, StartOrder,
};
use serde::Deserialize;

use super::AppState;
use super::doc::{
    BadJson, IdempotencyKey, JsonBody, NoOrder, NoShop, NotABarista, NotInThisState, OrderAction,
    OrderPath, RateLimited, ShopPath, TooLarge, Unauthenticated, problems,
};
use super::extract::{ApiBytes, ApiJson, ApiPath, ApiQuery, Caller, ClientIp};
use super::idempotency::{Idempotent, answer};
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::policy::Action;
use crate::store::Ticket;
use crate::workflow::{Actor, Command};

problems! {
    NotAdmitted: 409 "`shop_closed`, `queue_full`, `daily_limit_reached`, `open_order_exists`";
    BadStart: 422
        "`code_invalid`, `code_expired`, `code_exhausted`, `pass_expired` (a scan pass past its \
         time, or used), `item_unavailable`, `drink_invalid`, `validation_failed` (both `code` \
         and `pass`, unknown field), `idempotency_key_reused`";
    PassClosed: 409 "`shop_closed`";
    BadScan: 422
        "`code_invalid`, `code_expired`, `code_exhausted` (with `retry_after_s`: when the next \
         code comes), `validation_failed` (unknown field)";
    NotTheOwner: 403 "`forbidden`: only the customer chooses their drink";
    BadDrink: 422
        "`item_unavailable`, `drink_invalid`, `validation_failed`, `idempotency_key_reused`";
    NeitherOwnerNorBarista: 403 "`forbidden`: neither the owner nor a barista";
    BadReason: 422 "`validation_failed` (reason too long, unknown field), `idempotency_key_reused`";
    AlreadyClaimed: 409 "`already_claimed`, `invalid_transition` (with the current `state`)";
    NotTheClaimer: 403 "`forbidden`: not the claiming barista nor an admin";
    NotBaristaOrDisplay: 403 "`forbidden`: not a barista or display";
    UnknownState: 422 "`validation_failed`: an unknown state";
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/shops/{shop}/passes", post(issue_pass))
        .route("/shops/{shop}/orders", post(start_order).get(list_orders))
        .route("/shops/{shop}/orders/{id}", get(get_order))
        .route("/shops/{shop}/orders/{id}/drink", put(choose_drink))
        .route("/shops/{shop}/orders/{id}/cancel", post(cancel))
        .route("/shops/{shop}/orders/{id}/claim", post(claim))
        .route("/shops/{shop}/orders/{id}/unclaim", post(unclaim))
        .route("/shops/{shop}/orders/{id}/complete", post(complete))
        .route("/shops/{shop}/orders/{id}/collect", post(collect))
        .route("/me/orders", get(my_orders))
}

/// Longest a booth code can be; anything longer is not one of ours.
const MAX_CODE_LEN: usize = 64;
/// Longest a scan pass can be (ours are `pass_` and 64 hex digits).
const MAX_PASS_LEN: usize = 128;

/// Check a scanned booth code (before sign-in)
///
/// Anyone who opens the booth's QR link asks for a scan pass with its `code`, before signing
/// in: a bad code is refused at once, as a start with it would be (`shop_closed`,
/// `code_invalid`, `code_expired`, `code_exhausted` with `retry_after_s`), and a good one takes
/// one of the code's orders for the pass (`code.redeemed`). The pass is a secret only this
/// answer carries (the server keeps its hash); within 10 minutes it starts one order
/// (`POST …/orders {pass}`) even if the code has rotated or run out meanwhile. At most 600
/// passes an hour per client address (429 `rate_limited`).
#[utoipa::path(
    post,
    path = "/api/v1/shops/{shop}/passes",
    tag = "orders",
    params(ShopPath, IdempotencyKey),
    request_body = PassRequest,
    responses(
        (status = 201, description = "The pass, until `expires_at`", body = ScanPass),
        JsonBody,
        NoShop,
        PassClosed,
        BadScan,
        RateLimited,
    ),
)]
async fn issue_pass(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiPath(ShopPath { shop }): ApiPath<ShopPath>,
    ApiJson(body): ApiJson<PassRequest>,
) -> ApiResult<(
    StatusCode,
    [(HeaderName, &'static str); 1],
    ApiJson<ScanPass>,
)> {
    let now = Utc::now();
    let code = body.code.trim();
    if code.is_empty() || code.len() > MAX_CODE_LEN {
        return Err(ApiError::detail(
            ErrorCode::CodeInvalid,
            "scan the code on the booth screen",
        ));
    }
    let rule = state.rate_limits().pass_per_ip;
    auth::rate_limit::admit(
        state.store(),
        &[(auth::rate_limit::pass_bucket(ip), rule)],
        now,
    )
    .await?;
    let pass = auth::new_token("pass_");
    let issued = state
        .store()
        .issue_pass(&shop, code, &auth::hash_secret(&pass), now)
        .await?;
    Ok((
        StatusCode::CREATED,
        // It carries a secret: no cache keeps it.
        [(header::CACHE_CONTROL, "no-store")],
        ApiJson(ScanPass {
            pass,
            shop,
            code: issued.code,
            issued_at: issued.issued_at,
            expires_at: issued.expires_at,
        }),
    ))
}

/// Start an order
///
/// A customer starts an order with the booth code they scanned: `awaiting_drink`, or `queued`
/// (with its number) at once when `drink` is given. The customer then has
/// `customer_timeout_s` to choose the drink. Instead of `code`, a scan pass (`pass`, from
/// `POST …/passes`) starts one order even if its code has rotated or run out since.
#[utoipa::path(
    post,
    path = "/api/v1/shops/{shop}/orders",
    tag = "orders",
    params(ShopPath, IdempotencyKey),
    request_body = StartOrder,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new order", body = Order),
        JsonBody,
        Unauthenticated,
        NoShop,
        NotAdmitted,
        BadStart,
    ),
)]
async fn start_order(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ShopPath { shop }): ApiPath<ShopPath>,
    idempotent: Idempotent,
    ApiJson(body): ApiJson<StartOrder>,
) -> ApiResult<Response> {
    let code = body.code.trim();
    let ticket = match body.pass.as_deref().map(str::trim) {
        Some(_) if !code.is_empty() => {
            return Err(ApiError::detail(
                ErrorCode::ValidationFailed,
                "give the booth code or a scan pass, not both",
            ));
        }
        Some(pass) if pass.is_empty() || pass.len() > MAX_PASS_LEN => {
            return Err(ApiError::detail(
                ErrorCode::CodeInvalid,
                "not a scan pass of this shop: scan the code on the booth screen",
            ));
        }
        Some(pass) => Ticket::Pass(auth::hash_secret(pass)),
        None if code.is_empty() || code.len() > MAX_CODE_LEN => {
            return Err(ApiError::detail(
                ErrorCode::CodeInvalid,
                "scan the code on the booth screen",
            ));
        }
        None => Ticket::Code(code.to_owned()),
    };
    let customer = CustomerRef {
        id: caller.0.id.clone(),
        display_name: caller.0.display_name.clone(),
    };
    let done = state
        .store()
        .start_order_with(
            &shop,
            customer,
            ticket,
            body.drink,
            Utc::now(),
            idempotent.remember(StatusCode::CREATED),
        )
        .await?;
    Ok(answer(done, StatusCode::CREATED))
}

/// Run `command` on the order at `at`: the order after it (200), or a retry's first answer.
async fn command(
    state: &AppState,
    at: OrderPath,
    command: Command,
    idempotent: Idempotent,
) -> ApiResult<Response> {
    let done = state
        .store()
        .order_command(
            &at.shop,
            &at.id,
            command,
            Utc::now(),
            idempotent.remember(StatusCode::OK),
        )
        .await?;
    Ok(answer(done, StatusCode::OK))
}

/// What the barista's four moves on an order (claim, unclaim, complete, collect) share, as one
/// extractor: the caller (401 first), the order's path, the request's key, and then the role
/// (403 whether or not the order exists).
struct AtTheBar {
    state: AppState,
    by: Actor,
    order: OrderPath,
    idempotent: Idempotent,
}

impl FromRequestParts<AppState> for AtTheBar {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let ApiPath(order) = ApiPath::<OrderPath>::from_request_parts(parts, state).await?;
        let Ok(idempotent) = Idempotent::from_request_parts(parts, state).await;
        let by = caller.actor_for(Action::WorkTheBar)?;
        Ok(Self {
            state: state.clone(),
            by,
            order,
            idempotent,
        })
    }
}

impl AtTheBar {
    /// Run the move `command` makes of the barista: the order after it (200).
    async fn run(self, command: impl FnOnce(Actor) -> Command) -> ApiResult<Response> {
        let Self {
            state,
            by,
            order,
            idempotent,
        } = self;
        self::command(&state, order, command(by), idempotent).await
    }
}

/// Choose the drink
///
/// The owner of an `awaiting_drink` order chooses the drink: `{item_id, options}` with at most
/// one option per modifier group. The order is queued and gets its number.
#[utoipa::path(
    put,
    path = "/api/v1/shops/{shop}/orders/{id}/drink",
    tag = "orders",
    params(OrderPath, IdempotencyKey),
    request_body = DrinkChoice,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order, now `queued`", body = Order),
        JsonBody,
        Unauthenticated,
        NotTheOwner,
        NoOrder,
        NotInThisState,
        BadDrink,
    ),
)]
async fn choose_drink(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(order): ApiPath<OrderPath>,
    idempotent: Idempotent,
    ApiJson(drink): ApiJson<DrinkChoice>,
) -> ApiResult<Response> {
    command(
        &state,
        order,
        Command::ChooseDrink {
            by: caller.actor(),
            drink,
        },
        idempotent,
    )
    .await
}

/// Cancel an order
///
/// The owner may cancel before `in_progress`, a barista before `ready`. The body is optional
/// (`{reason?}`, at most 200 characters): an empty body cancels without a reason.
#[utoipa::path(
    post,
    path = "/api/v1/shops/{shop}/orders/{id}/cancel",
    tag = "orders",
    params(OrderPath, IdempotencyKey),
    request_body(
        content = Option<CancelOrder>,
        description = "Optional: `{reason?}`; an empty body is no reason"
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order, now `cancelled`", body = Order),
        BadJson,
        Unauthenticated,
        NeitherOwnerNorBarista,
        NoOrder,
        NotInThisState,
        TooLarge,
        BadReason,
    ),
)]
async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(order): ApiPath<OrderPath>,
    idempotent: Idempotent,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Response> {
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let parsed: CancelOrder = serde_json::from_slice(&body)
            .map_err(|e| ApiError::detail(ErrorCode::ValidationFailed, e.to_string()))?;
        parsed.reason
    };
    if reason.as_deref().is_some_and(|r| r.chars().count() > 200) {
        return Err(ApiError::detail(
            ErrorCode::ValidationFailed,
            "the reason is at most 200 characters",
        ));
    }
    command(
        &state,
        order,
        Command::Cancel {
            by: caller.actor(),
            reason,
        },
        idempotent,
    )
    .await
}

/// Claim an order (barista)
///
/// A barista starts making a queued order.
#[utoipa::path(
    post,
    path = "/api/v1/shops/{shop}/orders/{id}/claim",
    tag = "orders",
    params(OrderPath, IdempotencyKey),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order, now `in_progress`", body = Order),
        OrderAction,
        NotABarista,
        AlreadyClaimed,
    ),
)]
async fn claim(at_the_bar: AtTheBar) -> ApiResult<Response> {
    at_the_bar.run(|by| Command::Claim { by }).await
}

/// Give an order back (barista)
///
/// The claiming barista (or an admin) puts an order in progress back in the queue.
#[utoipa::path(
    post,
    path = "/api/v1/shops/{shop}/orders/{id}/unclaim",
    tag = "orders",
    params(OrderPath, IdempotencyKey),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order, now `queued`", body = Order),
        OrderAction,
        NotTheClaimer,
        NotInThisState,
    ),
)]
async fn unclaim(at_the_bar: AtTheBar) -> ApiResult<Response> {
    at_the_bar.run(|by| Command::Unclaim { by }).await
}

/// Mark an order ready (barista)
///
/// The drink is made: the order is ready to collect.
#[utoipa::path(
    post,
    path = "/api/v1/shops/{shop}/orders/{id}/complete",
    tag = "orders",
    params(OrderPath, IdempotencyKey),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order, now `ready`", body = Order),
        OrderAction,
        NotABarista,
        NotInThisState,
    ),
)]
async fn complete(at_the_bar: AtTheBar) -> ApiResult<Response> {
    at_the_bar.run(|by| Command::Complete { by }).await
}

/// Mark an order collected (barista)
///
/// The customer has picked the drink up.
#[utoipa::path(
    post,
    path = "/api/v1/shops/{shop}/orders/{id}/collect",
    tag = "orders",
    params(OrderPath, IdempotencyKey),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order, now `collected`", body = Order),
        OrderAction,
        NotABarista,
        NotInThisState,
    ),
)]
async fn collect(at_the_bar: AtTheBar) -> ApiResult<Response> {
    at_the_bar.run(|by| Command::Collect { by }).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Comma-separated states, e.g. `queued,in_progress`; default: the open ones on the bar
    /// (`queued,in_progress,ready`).
    #[param(example = "queued,in_progress")]
    state: Option<String>,
    /// Most orders to answer, default 100; brought into 1 to 500 (0 counts as 1, more than 500
    /// as 500).
    #[param(value_type = Option<u64>, minimum = 0, maximum = 4_294_967_295.0)]
    limit: Option<u32>,
}

/// A shop's orders (barista, display)
///
/// The orders in the given states, by number.
#[utoipa::path(
    get,
    path = "/api/v1/shops/{shop}/orders",
    tag = "orders",
    params(ShopPath, ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The orders, by number", body = OrderList),
        Unauthenticated,
        NotBaristaOrDisplay,
        NoShop,
        UnknownState,
    ),
)]
async fn list_orders(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ShopPath { shop }): ApiPath<ShopPath>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<ApiJson<OrderList>> {
    caller.require(Action::ReadQueue)?;
    let states = match query.state.as_deref() {
        None | Some("") => vec![
            OrderState::Queued,
            OrderState::InProgress,
            OrderState::Ready,
        ],
        Some(list) => list
            .split(',')
            .map(|s| {
                s.trim().parse::<OrderState>().map_err(|_| {
                    ApiError::detail(ErrorCode::ValidationFailed, format!("unknown state {s:?}"))
                })
            })
            .collect::<ApiResult<Vec<_>>>()?,
    };
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    state.store().shop(&shop).await?;
    let orders = state.store().orders_in(&shop, &states, limit).await?;
    Ok(ApiJson(OrderList { orders }))
}

/// An order and its journey
///
/// The owner and staff see an order with its journey (`[{seq, type, at}]`); anyone else gets
/// 404 (no existence leak).
#[utoipa::path(
    get,
    path = "/api/v1/shops/{shop}/orders/{id}",
    tag = "orders",
    params(OrderPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order plus `journey`", body = OrderDetail),
        Unauthenticated,
        NoOrder,
    ),
)]
async fn get_order(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(OrderPath { shop, id }): ApiPath<OrderPath>,
) -> ApiResult<ApiJson<OrderDetail>> {
    let order = state
        .store()
        .order(&shop, &id)
        .await?
        .filter(|order| caller.actor().may_see(order))
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
    let journey = state.store().journey(&order.id).await?;
    Ok(ApiJson(OrderDetail { order, journey }))
}

/// My orders
///
/// The signed-in customer's orders (of every shop), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/me/orders",
    tag = "orders",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's orders, newest first", body = OrderList),
        Unauthenticated,
    ),
)]
async fn my_orders(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<OrderList>> {
    let orders = state.store().orders_of(&caller.0.id, 100).await?;
    Ok(ApiJson(OrderList { orders }))
}
