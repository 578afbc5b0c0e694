//! Order routes (API.md "Orders"): translate HTTP into workflow commands on the store.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use chrono::Utc;
use espresso_core::protocol::{
    CancelOrder, CustomerRef, DrinkChoice, ErrorCode, Order, OrderDetail, OrderList, OrderState,
    Role, StartOrder,
};
use serde::Deserialize;

use super::AppState;
use super::extract::{ApiJson, Caller};
use crate::error::{ApiError, ApiResult};
use crate::workflow::Command;

pub fn routes() -> Router<AppState> {
    Router::new()
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

async fn start_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(shop): Path<String>,
    ApiJson(body): ApiJson<StartOrder>,
) -> ApiResult<(StatusCode, ApiJson<Order>)> {
    let code = body.code.trim();
    if code.is_empty() || code.len() > MAX_CODE_LEN {
        return Err(ApiError::detail(
            ErrorCode::CodeInvalid,
            "scan the code on the booth screen",
        ));
    }
    let customer = CustomerRef {
        id: caller.0.id.clone(),
        display_name: caller.0.display_name.clone(),
    };
    let order = state
        .store()
        .start_order(&shop, customer, code, body.drink, Utc::now())
        .await?;
    Ok((StatusCode::CREATED, ApiJson(order)))
}

async fn command(
    state: &AppState,
    shop: &str,
    id: &str,
    command: Command,
) -> ApiResult<ApiJson<Order>> {
    Ok(ApiJson(
        state
            .store()
            .order_command(shop, id, command, Utc::now())
            .await?,
    ))
}

async fn choose_drink(
    State(state): State<AppState>,
    caller: Caller,
    Path((shop, id)): Path<(String, String)>,
    ApiJson(drink): ApiJson<DrinkChoice>,
) -> ApiResult<ApiJson<Order>> {
    command(
        &state,
        &shop,
        &id,
        Command::ChooseDrink {
            by: caller.actor(),
            drink,
        },
    )
    .await
}

/// The body is optional (`{reason?}`): an empty body cancels without a reason.
async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path((shop, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<ApiJson<Order>> {
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
        &shop,
        &id,
        Command::Cancel {
            by: caller.actor(),
            reason,
        },
    )
    .await
}

async fn claim(
    State(state): State<AppState>,
    caller: Caller,
    Path((shop, id)): Path<(String, String)>,
) -> ApiResult<ApiJson<Order>> {
    command(&state, &shop, &id, Command::Claim { by: caller.actor() }).await
}

async fn unclaim(
    State(state): State<AppState>,
    caller: Caller,
    Path((shop, id)): Path<(String, String)>,
) -> ApiResult<ApiJson<Order>> {
    command(&state, &shop, &id, Command::Unclaim { by: caller.actor() }).await
}

async fn complete(
    State(state): State<AppState>,
    caller: Caller,
    Path((shop, id)): Path<(String, String)>,
) -> ApiResult<ApiJson<Order>> {
    command(&state, &shop, &id, Command::Complete { by: caller.actor() }).await
}

async fn collect(
    State(state): State<AppState>,
    caller: Caller,
    Path((shop, id)): Path<(String, String)>,
) -> ApiResult<ApiJson<Order>> {
    command(&state, &shop, &id, Command::Collect { by: caller.actor() }).await
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    /// Comma-separated states; default: the open ones on the bar (queued, in_progress, ready).
    state: Option<String>,
    limit: Option<u32>,
}

async fn list_orders(
    State(state): State<AppState>,
    caller: Caller,
    Path(shop): Path<String>,
    Query(query): Query<ListQuery>,
) -> ApiResult<ApiJson<OrderList>> {
    if !(caller.0.has(Role::Barista) || caller.0.has(Role::Display)) {
        return Err(ApiError::detail(
            ErrorCode::Forbidden,
            "the queue is for baristas and the display",
        ));
    }
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

/// The owner and staff see an order with its journey; anyone else gets 404 (no existence leak).
async fn get_order(
    State(state): State<AppState>,
    caller: Caller,
    Path((shop, id)): Path<(String, String)>,
) -> ApiResult<ApiJson<OrderDetail>> {
    let order = state
        .store()
        .order(&shop, &id)
        .await?
        .filter(|o| o.customer.id == caller.0.id || caller.is_staff())
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
    let journey = state.store().journey(&order.id).await?;
    Ok(ApiJson(OrderDetail { order, journey }))
}

async fn my_orders(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<OrderList>> {
    let orders = state.store().orders_of(&caller.0.id, 100).await?;
    Ok(ApiJson(OrderList { orders }))
}
