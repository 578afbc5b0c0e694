//! The orders export (admin): `GET /api/v1/shops/{shop}/orders.csv`, one row per order with its
//! times, for a spreadsheet.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use espresso_protocol::{CancelledBy, ErrorCode, Order, OrderState, TimeoutStage};
use serde::Deserialize;

use super::AppState;
use super::doc::{NoShop, NotAnAdmin, ShopPath, Unauthenticated, problems};
use super::extract::{ApiPath, ApiQuery, Caller};
use crate::error::{ApiError, ApiResult};
use crate::policy::Action;

problems! {
    pub(super) BadRange: 422
        "`validation_failed`: a date that is not `YYYY-MM-DD`, `from` after `to`, or more than \
         366 days";
}

/// Most days one export covers.
const MAX_DAYS: i64 = 366;
/// Most rows one export holds (a year of a busy booth fits).
pub(super) const MAX_ROWS: u32 = 500_000;

/// The columns, in order: the header row.
pub const HEADER: [&str; 16] = [
    "id",
    "number",
    "customer",
    "drink",
    "item_id",
    "options",
    "state",
    "created_at",
    "queued_at",
    "claimed_at",
    "ready_at",
    "collected_at",
    "ended_at",
    "cancelled_by",
    "cancel_reason",
    "timeout_stage",
];

pub fn routes() -> Router<AppState> {
    Router::new().route("/shops/{shop}/orders.csv", get(orders_csv))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct Range {
    /// The first business day (`YYYY-MM-DD`, in the shop's time zone); default: today there.
    #[param(value_type = Option<String>, example = "2026-11-28")]
    from: Option<String>,
    /// The last business day, included; default: today there.
    #[param(value_type = Option<String>, example = "2026-11-29")]
    to: Option<String>,
}

impl Range {
    /// The business days asked for at `shop` (each defaults to today in its time zone), or
    /// `validation_failed` for a bad date, `from` after `to`, or more than [`MAX_DAYS`].
    pub(super) fn days(&self, shop: &espresso_protocol::Shop) -> ApiResult<(NaiveDate, NaiveDate)> {
        let today = Utc::now()
            .with_timezone(&crate::workflow::zone_of(shop))
            .date_naive();
        let from = day(self.from.as_deref(), today, "from")?;
        let to = day(self.to.as_deref(), today, "to")?;
        if from > to {
            return Err(invalid(format!("from ({from}) is after to ({to})")));
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(invalid(format!("at most {MAX_DAYS} days at once")));
        }
        Ok((from, to))
    }
}

/// Export the orders as CSV (admin)
///
/// One row per order started on the business days `from` to `to` (both included, the shop's
/// time zone; at most 366 days), oldest first, with a header row: `id, number, customer (the
/// name on the board), drink, item_id, options (group=option; …), state, created_at, queued_at,
/// claimed_at, ready_at, collected_at, ended_at (RFC 3339 UTC, empty when it did not happen),
/// cancelled_by, cancel_reason, timeout_stage`. `text/csv` (RFC 4180, UTF-8); a cell that a
/// spreadsheet would read as a formula starts with `'`.
#[utoipa::path(
    get,
    path = "/api/v1/shops/{shop}/orders.csv",
    tag = "orders",
    params(ShopPath, Range),
    security(("bearer" = [])),
    responses(
        (
            status = 200,
            description = "The orders, a header row then one row per order",
            body = String,
            content_type = "text/csv",
        ),
        Unauthenticated,
        NotAnAdmin,
        NoShop,
        BadRange,
    ),
)]
async fn orders_csv(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ShopPath { shop }): ApiPath<ShopPath>,
    ApiQuery(range): ApiQuery<Range>,
) -> ApiResult<Response> {
    caller.require(Action::Administer)?;
    let found = state.store().shop(&shop).await?;
    let (from, to) = range.days(&found)?;
    let orders = state
        .store()
        .orders_between(&shop, &from.to_string(), &to.to_string(), MAX_ROWS)
        .await?;
    Ok(csv_download(
        &format!("espresso-{shop}-{from}-{to}.csv"),
        csv(&orders),
    ))
}

/// A CSV answer: `text/csv`, downloaded as `filename`, not cached.
pub(super) fn csv_download(filename: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

fn invalid(detail: String) -> ApiError {
    ApiError::detail(ErrorCode::ValidationFailed, detail)
}

/// A `YYYY-MM-DD` date, or `default` when none is given.
fn day(given: Option<&str>, default: NaiveDate, name: &str) -> ApiResult<NaiveDate> {
    match given.map(str::trim) {
        None | Some("") => Ok(default),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .filter(|_| text.len() == 10)
            .ok_or_else(|| invalid(format!("{name} is not a date as YYYY-MM-DD: {text:?}"))),
    }
}

/// The whole CSV: the header, then a row per order (CRLF line ends, RFC 4180).
pub fn csv(orders: &[Order]) -> String {
    let mut out = String::new();
    push_row(&mut out, HEADER.iter().map(|h| (*h).to_owned()));
    for order in orders {
        push_row(&mut out, row(order).into_iter());
    }
    out
}

fn row(order: &Order) -> [String; 16] {
    let time = |at: Option<DateTime<Utc>>| {
        at.map(|at| at.to_rfc3339_opts(SecondsFormat::Millis, true))
            .unwrap_or_default()
    };
    let drink = order.drink.as_ref();
    let options = drink
        .map(|d| {
            d.options
                .iter()
                .map(|(group, option)| format!("{group}={option}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    let collected = (order.state == OrderState::Collected).then_some(order.finished_at);
    [
        order.id.to_string(),
        order.number.map(|n| n.to_string()).unwrap_or_default(),
        order.customer.display_name.clone().unwrap_or_default(),
        drink.map(|d| d.name.clone()).unwrap_or_default(),
        drink.map(|d| d.item_id.clone()).unwrap_or_default(),
        options,
        order.state.as_str().to_owned(),
        time(Some(order.created_at)),
        time(order.placed_at),
        time(order.claimed_at),
        time(order.ready_at),
        time(collected.flatten()),
        time(order.finished_at),
        order
            .cancelled_by
            .map(|by| match by {
                CancelledBy::Customer => "customer",
                CancelledBy::Staff => "staff",
            })
            .unwrap_or_default()
            .to_owned(),
        order.cancel_reason.clone().unwrap_or_default(),
        order
            .timeout_stage
            .map(|stage| match stage {
                TimeoutStage::Customer => "customer",
                TimeoutStage::Barista => "barista",
                TimeoutStage::Collection => "collection",
            })
            .unwrap_or_default()
            .to_owned(),
    ]
}

pub(super) fn push_row(out: &mut String, cells: impl Iterator<Item = String>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&cell_text(&cell));
    }
    out.push_str("\r\n");
}

/// One cell: quoted when it holds a comma, a quote or a line break (quotes doubled); a cell a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a `'` in front
/// (names and reasons come from customers and staff).
fn cell_text(cell: &str) -> String {
    let guarded = if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell_text("Ann"), "Ann");
        assert_eq!(cell_text("Lee, Ann"), "\"Lee, Ann\"");
        assert_eq!(cell_text("the \"big\" one"), "\"the \"\"big\"\" one\"");
        assert_eq!(cell_text("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell_text("-1"), "'-1");
        assert_eq!(cell_text(""), "");
    }

    #[test]
    fn dates_are_yyyy_mm_dd_or_the_default() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        assert_eq!(day(None, today, "from").unwrap(), today);
        assert_eq!(day(Some(""), today, "from").unwrap(), today);
        assert_eq!(
            day(Some("2026-01-02"), today, "from").unwrap(),
            NaiveDate::from_ymd_opt(2026, 1, 2).unwrap()
        );
        for bad in [
            "2026-1-2",
            "29/11/2026",
            "2026-02-30",
            "yesterday",
            "2026-11-29T00:00",
        ] {
            let error = day(Some(bad), today, "from").unwrap_err();
            assert_eq!(error.0.code, ErrorCode::ValidationFailed, "{bad}");
        }
    }
}
