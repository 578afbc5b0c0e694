//! The numbers of a range of days (admin): `GET /api/v1/shops/{shop}/stats/days` as JSON (per
//! day and the whole range: outcomes, hours, drinks, waits, cancel reasons) and
//! `…/stats/days.csv`, the daily summary for a spreadsheet. The fold is [`crate::report`].

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use espresso_protocol::{DayStats, ShopId, StatsReport};

use super::AppState;
use super::doc::{NoShop, NotAnAdmin, ShopPath, Unauthenticated};
use super::export::{BadRange, MAX_ROWS, Range, csv_download, push_row};
use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::error::ApiResult;
use crate::policy::Action;

/// The daily summary's columns, in order: its header row.
pub const DAYS_HEADER: [&str; 12] = [
    "date",
    "orders",
    "served",
    "cancelled_by_customer",
    "cancelled_by_staff",
    "timed_out_choosing",
    "timed_out_making",
    "not_collected",
    "wait_p50_s",
    "wait_p90_s",
    "pickup_p50_s",
    "pickup_p90_s",
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/shops/{shop}/stats/days", get(stats_days))
        .route("/shops/{shop}/stats/days.csv", get(stats_days_csv))
}

/// The report of `range` at `shop`, after the admin check.
async fn report(
    state: &AppState,
    caller: &Caller,
    shop: &ShopId,
    range: &Range,
) -> ApiResult<StatsReport> {
    caller.require(Action::Administer)?;
    let found = state.store().shop(shop).await?;
    let (from, to) = range.days(&found)?;
    let orders = state
        .store()
        .orders_by_day_between(shop, &from.to_string(), &to.to_string(), MAX_ROWS)
        .await?;
    Ok(crate::report::stats_report(
        &orders,
        from,
        to,
        crate::workflow::zone_of(&found),
        &found.time_zone,
    ))
}

/// The numbers of a range of days (admin)
///
/// For the business days `from` to `to` (both included, `YYYY-MM-DD` in the shop's time zone,
/// each defaulting to today there; at most 366 days): the whole range (`total`) and one entry per
/// day, days without orders included. An order counts on the day it was started: `orders` (those
/// that reached the queue), `served`, `cancelled_by_customer`, `cancelled_by_staff`,
/// `timed_out_choosing`, `timed_out_making`, `not_collected`; `by_hour` (24 counts of orders
/// queued, by local hour); `by_item` (most ordered first); the waits queued → ready and ready →
/// collected as nearest-rank p50/p90 in seconds (null without a sample); the reasons staff gave
/// for cancelling, most given first.
#[utoipa::path(
    get,
    path = "/api/v1/shops/{shop}/stats/days",
    tag = "shops",
    params(ShopPath, Range),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The numbers, in total and per day", body = StatsReport),
        Unauthenticated,
        NotAnAdmin,
        NoShop,
        BadRange,
    ),
)]
async fn stats_days(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ShopPath { shop }): ApiPath<ShopPath>,
    ApiQuery(range): ApiQuery<Range>,
) -> ApiResult<ApiJson<StatsReport>> {
    Ok(ApiJson(report(&state, &caller, &shop, &range).await?))
}

/// The daily summary as CSV (admin)
///
/// The days of `GET …/stats/days` (same range rules), one row per day in order, with a header
/// row: `date, orders, served, cancelled_by_customer, cancelled_by_staff, timed_out_choosing,
/// timed_out_making, not_collected, wait_p50_s, wait_p90_s, pickup_p50_s, pickup_p90_s` (a wait
/// without a sample is empty). `text/csv` (RFC 4180, UTF-8, CRLF).
#[utoipa::path(
    get,
    path = "/api/v1/shops/{shop}/stats/days.csv",
    tag = "shops",
    params(ShopPath, Range),
    security(("bearer" = [])),
    responses(
        (
            status = 200,
            description = "The days, a header row then one row per day",
            body = String,
            content_type = "text/csv",
        ),
        Unauthenticated,
        NotAnAdmin,
        NoShop,
        BadRange,
    ),
)]
async fn stats_days_csv(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ShopPath { shop }): ApiPath<ShopPath>,
    ApiQuery(range): ApiQuery<Range>,
) -> ApiResult<Response> {
    let report = report(&state, &caller, &shop, &range).await?;
    Ok(csv_download(
        &format!("espresso-{shop}-days-{}-{}.csv", report.from, report.to),
        days_csv(&report.days),
    ))
}

/// The daily summary: the header, then a row per day.
pub fn days_csv(days: &[DayStats]) -> String {
    let mut out = String::new();
    push_row(&mut out, DAYS_HEADER.iter().map(|h| (*h).to_owned()));
    for day in days {
        let s = &day.stats;
        let wait = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
        push_row(
            &mut out,
            [
                day.date.clone(),
                s.orders.to_string(),
                s.served.to_string(),
                s.cancelled_by_customer.to_string(),
                s.cancelled_by_staff.to_string(),
                s.timed_out_choosing.to_string(),
                s.timed_out_making.to_string(),
                s.not_collected.to_string(),
                wait(s.wait_p50_s),
                wait(s.wait_p90_s),
                wait(s.pickup_p50_s),
                wait(s.pickup_p90_s),
            ]
            .into_iter(),
        );
    }
    out
}
