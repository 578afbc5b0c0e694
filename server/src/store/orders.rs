//! Orders: each command is one transaction that gathers the facts, lets the workflow decide,
//! stores the order, its deadline row and its events, then publishes the events.

use chrono::{DateTime, Utc};
use espresso_core::protocol::{
    CustomerRef, DrinkChoice, ErrorCode, Event, EventType, Order, OrderState, Shop,
};
use sqlx::{Row, SqliteConnection};

use super::{
    Committed, SqliteStore, business_day, codes, events, from_ms, shops::load_shop, to_ms,
};
use crate::error::{ApiError, ApiResult};
use crate::workflow::{self, Admission, Command, Context, OrderEvent};

/// A command on an existing order (starting one is [`Storage::start_order`]).
pub type OrderCommand = Command;

/// The facts of the order's shop, read inside the transaction.
struct Facts {
    shop: Shop,
    next_number: u32,
    day: String,
}

async fn facts(conn: &mut SqliteConnection, shop_id: &str, now: DateTime<Utc>) -> ApiResult<Facts> {
    let shop = load_shop(conn, shop_id).await?;
    let day = business_day(now);
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT last_number FROM order_numbers WHERE shop = ?1 AND business_day = ?2",
    )
    .bind(shop_id)
    .bind(&day)
    .fetch_optional(&mut *conn)
    .await?;
    let next_number = u32::try_from(last.unwrap_or(0) + 1).unwrap_or(u32::MAX);
    Ok(Facts {
        shop,
        next_number,
        day,
    })
}

async fn load_order(conn: &mut SqliteConnection, shop: &str, id: &str) -> ApiResult<Option<Order>> {
    let body: Option<String> =
        sqlx::query_scalar("SELECT body FROM orders WHERE id = ?1 AND shop = ?2")
            .bind(id)
            .bind(shop)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}

async fn admission(
    conn: &mut SqliteConnection,
    shop: &str,
    customer_id: &str,
    code: &str,
    day: &str,
    now: DateTime<Utc>,
) -> ApiResult<Admission> {
    let code = codes::check(conn, shop, code, now).await?;
    let row = sqlx::query(
        "SELECT
           COALESCE(SUM(CASE WHEN state IN ('awaiting_drink','queued','in_progress','ready') THEN 1 ELSE 0 END), 0) AS open,
           COALESCE(SUM(CASE WHEN business_day = ?3 AND state NOT IN ('cancelled','timed_out') THEN 1 ELSE 0 END), 0) AS today
         FROM orders WHERE shop = ?1 AND customer_id = ?2",
    )
    .bind(shop)
    .bind(customer_id)
    .bind(day)
    .fetch_one(&mut *conn)
    .await?;
    let queue: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE shop = ?1 AND state IN ('queued','in_progress')",
    )
    .bind(shop)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Admission {
        code,
        has_open_order: row.try_get::<i64, _>("open")? > 0,
        orders_today: u32::try_from(row.try_get::<i64, _>("today")?).unwrap_or(u32::MAX),
        queue_length: u32::try_from(queue).unwrap_or(u32::MAX),
    })
}

impl SqliteStore {
    /// A customer scanned `code`: start an order (queued at once if `drink` is given).
    /// Admission, the code's redemption and the events are one transaction, so concurrent
    /// scans never start more orders than the code allows.
    pub async fn start_order(
        &self,
        shop_id: &str,
        customer: CustomerRef,
        code: &str,
        drink: Option<DrinkChoice>,
        now: DateTime<Utc>,
    ) -> ApiResult<Order> {
        let _write = self.write().await;
        let mut tx = self.begin_write().await?;
        let facts = facts(&mut tx, shop_id, now).await?;
        let admission = admission(&mut tx, shop_id, &customer.id, code, &facts.day, now).await?;
        let command = Command::Start {
            order_id: super::new_id("ord"),
            customer,
            drink,
            admission,
        };
        let ctx = Context {
            now,
            shop: &facts.shop,
            next_number: facts.next_number,
        };
        let decided = workflow::decide(None, &command, &ctx)?;
        let (order, mut committed) = self
            .store_decision(&mut tx, &facts, None, decided, now)
            .await?;
        let order = order.ok_or_else(|| ApiError::internal("a start produced no order"))?;
        if let Some(booth) = codes::redeem(self, &mut tx, shop_id, code).await? {
            let event = Event::code(EventType::CodeRedeemed, shop_id, booth, now);
            committed.push(events::append(&mut tx, event, None).await?);
        } else {
            // The workflow admitted the code, so it had uses left in this transaction.
            return Err(ApiError::internal("booth code could not be redeemed"));
        }
        tx.commit().await?;
        self.publish(committed);
        Ok(order)
    }

    /// Run `command` on an existing order of `shop_id`.
    pub async fn order_command(
        &self,
        shop_id: &str,
        order_id: &str,
        command: OrderCommand,
        now: DateTime<Utc>,
    ) -> ApiResult<Order> {
        let _write = self.write().await;
        let mut tx = self.begin_write().await?;
        let facts = facts(&mut tx, shop_id, now).await?;
        let current = load_order(&mut tx, shop_id, order_id).await?;
        let Some(current) = current else {
            return Err(ApiError::new(ErrorCode::NotFound));
        };
        let ctx = Context {
            now,
            shop: &facts.shop,
            next_number: facts.next_number,
        };
        let decided = workflow::decide(Some(&current), &command, &ctx)?;
        if decided.is_empty() {
            return Ok(current);
        }
        let (order, committed) = self
            .store_decision(&mut tx, &facts, Some(current), decided, now)
            .await?;
        tx.commit().await?;
        self.publish(committed);
        order.ok_or_else(|| ApiError::internal("an order command removed the order"))
    }

    /// Fold the events, store the order, its deadline row and the events.
    async fn store_decision(
        &self,
        tx: &mut SqliteConnection,
        facts: &Facts,
        mut order: Option<Order>,
        decided: Vec<OrderEvent>,
        now: DateTime<Utc>,
    ) -> ApiResult<(Option<Order>, Vec<Committed>)> {
        let mut committed = Vec::with_capacity(decided.len() + 1);
        let mut placed = false;
        let mut collected = false;
        for event in &decided {
            placed |= matches!(event, OrderEvent::Placed { .. });
            collected |= matches!(event, OrderEvent::Collected { .. });
            order = workflow::apply(order, event);
            let Some(after) = order.clone() else { continue };
            let customer_id = after.customer.id.clone();
            let api_event = Event::order(event.event_type(), after, event.at());
            committed.push(events::append(tx, api_event, Some(&customer_id)).await?);
        }
        let Some(current) = &order else {
            return Ok((None, committed));
        };
        // Every change past creation moves a count or a wait time.
        let counts_moved = decided
            .iter()
            .any(|e| !matches!(e, OrderEvent::Created { .. }));
        sqlx::query(
            "INSERT INTO orders (id, shop, customer_id, state, number, business_day, created_ms,
                                 item_id, placed_ms, ready_ms, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, number = excluded.number,
               item_id = excluded.item_id, placed_ms = excluded.placed_ms,
               ready_ms = excluded.ready_ms, body = excluded.body",
        )
        .bind(&current.id)
        .bind(&current.shop)
        .bind(&current.customer.id)
        .bind(current.state.as_str())
        .bind(current.number.map(i64::from))
        .bind(business_day(current.created_at))
        .bind(to_ms(current.created_at))
        .bind(current.drink.as_ref().map(|d| d.item_id.as_str()))
        .bind(current.placed_at.map(to_ms))
        .bind(current.ready_at.map(to_ms))
        .bind(serde_json::to_string(current)?)
        .execute(&mut *tx)
        .await?;
        if placed && let Some(number) = current.number {
            sqlx::query(
                "INSERT INTO order_numbers (shop, business_day, last_number) VALUES (?1, ?2, ?3)
                 ON CONFLICT (shop, business_day) DO UPDATE SET last_number = excluded.last_number",
            )
            .bind(&current.shop)
            .bind(&facts.day)
            .bind(i64::from(number))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM deadlines WHERE order_id = ?1")
            .bind(&current.id)
            .execute(&mut *tx)
            .await?;
        if let Some(deadline) = workflow::pending_deadline(current) {
            let stage = match deadline.stage {
                espresso_core::protocol::TimeoutStage::Customer => "customer",
                espresso_core::protocol::TimeoutStage::Barista => "barista",
            };
            sqlx::query(
                "INSERT INTO deadlines (order_id, shop, stage, due_ms) VALUES (?1, ?2, ?3, ?4)",
            )
            .bind(&current.id)
            .bind(&current.shop)
            .bind(stage)
            .bind(to_ms(deadline.due_at))
            .execute(&mut *tx)
            .await?;
        }
        if collected && let Some(drink) = &current.drink {
            super::stats::count_served(
                tx,
                &current.shop,
                &business_day(current.created_at),
                &drink.item_id,
            )
            .await?;
        }
        if counts_moved {
            let stats = super::stats::stats_in(tx, &facts.shop, now).await?;
            let event = Event::stats_updated(current.shop.clone(), stats, now);
            committed.push(events::append(tx, event, None).await?);
        }
        Ok((order, committed))
    }

    /// One order of the shop, as stored.
    pub async fn order(&self, shop: &str, id: &str) -> ApiResult<Option<Order>> {
        let mut conn = self.pool.acquire().await?;
        load_order(&mut conn, shop, id).await
    }

    /// The shop's orders in `states`, by number, at most `limit`.
    pub async fn orders_in(
        &self,
        shop: &str,
        states: &[OrderState],
        limit: u32,
    ) -> ApiResult<Vec<Order>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM orders WHERE shop = ?1 AND state IN (SELECT value FROM json_each(?2))
             ORDER BY business_day, number, created_ms LIMIT ?3",
        )
        .bind(shop)
        .bind(serde_json::to_string(
            &states.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        )?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
    }

    /// A customer's orders, newest first.
    pub async fn orders_of(&self, customer_id: &str, limit: u32) -> ApiResult<Vec<Order>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM orders WHERE customer_id = ?1 ORDER BY created_ms DESC LIMIT ?2",
        )
        .bind(customer_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
    }

    /// Deadlines due at `now`: (shop, order id, stage).
    pub async fn due_deadlines(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<
        Vec<(
            String,
            String,
            espresso_core::protocol::TimeoutStage,
            DateTime<Utc>,
        )>,
        sqlx::Error,
    > {
        let rows = sqlx::query(
            "SELECT shop, order_id, stage, due_ms FROM deadlines WHERE due_ms <= ?1 ORDER BY due_ms LIMIT ?2",
        )
        .bind(to_ms(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let stage: String = row.try_get("stage")?;
                let stage = if stage == "customer" {
                    espresso_core::protocol::TimeoutStage::Customer
                } else {
                    espresso_core::protocol::TimeoutStage::Barista
                };
                Ok((
                    row.try_get("shop")?,
                    row.try_get("order_id")?,
                    stage,
                    from_ms(row.try_get("due_ms")?),
                ))
            })
            .collect()
    }

    /// When the next deadline falls due, if any.
    pub async fn next_deadline(&self) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        let ms: Option<i64> = sqlx::query_scalar("SELECT MIN(due_ms) FROM deadlines")
            .fetch_one(&self.pool)
            .await?;
        Ok(ms.map(from_ms))
    }
}

impl SqliteStore {
    /// Forget an order's deadline (it could not fire).
    pub async fn drop_deadline(&self, order_id: &str) -> Result<(), sqlx::Error> {
        let _write = self.write().await;
        sqlx::query("DELETE FROM deadlines WHERE order_id = ?1")
            .bind(order_id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}
