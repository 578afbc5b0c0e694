//! Orders on PostgreSQL: each command is one transaction under the shop's lock. It reads what
//! the workflow decides on (the order, the customer's open order and orders today, the queue,
//! the day's next number, the booth code or scan pass), then writes the events, the order row,
//! its deadline, the counters and the `Idempotency-Key` answer.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use espresso_protocol::{
    CustomerRef, DrinkChoice, Event, Order, OrderId, OrderState, Shop, ShopId, UserId,
};
use sqlx::Row;

use super::super::idempotency::{Answer, Remember};
use super::super::orders::{stage_from_name, stage_name};
use super::super::passes::Ticket;
use super::super::storage::OrderStorage;
use super::super::{
    DatedOrder, DueDeadline, OrderCommand, StoreError, StoreResult, business_day, from_ms, new_id,
    to_ms,
};
use super::codes::{check_code, check_pass, redeem_code, use_pass};
use super::idempotency::{self, Answered};
use super::{PgStore, Tx, lock_shop};
use crate::workflow::{self, Admission, Command, Context, OrderEvent};

/// How long a server holds the deadlines it claimed before another may take them.
const CLAIM_MS: i64 = 30_000;

async fn count(tx: &mut Tx, sql: &'static str, binds: &[&str]) -> StoreResult<u32> {
    let mut query = sqlx::query_scalar::<_, i64>(sql);
    for bind in binds {
        query = query.bind(*bind);
    }
    let n = query.fetch_one(&mut *tx.tx).await?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// The number the next order placed on `day` gets.
async fn next_number(tx: &mut Tx, shop: &str, day: &str) -> StoreResult<u32> {
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT last_number FROM order_numbers WHERE shop = $1 AND business_day = $2",
    )
    .bind(shop)
    .bind(day)
    .fetch_optional(&mut *tx.tx)
    .await?;
    Ok(u32::try_from(last.unwrap_or(0))
        .unwrap_or(u32::MAX)
        .saturating_add(1))
}

async fn stored_order(tx: &mut Tx, shop: &str, id: &str) -> StoreResult<Option<Order>> {
    let body: Option<String> =
        sqlx::query_scalar("SELECT body FROM orders WHERE id = $1 AND shop = $2")
            .bind(id)
            .bind(shop)
            .fetch_optional(&mut *tx.tx)
            .await?;
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}

/// When the command was decided (the events carry it).
fn decided_at(decided: &[OrderEvent]) -> DateTime<Utc> {
    decided.last().map_or_else(Utc::now, OrderEvent::at)
}

/// Write what `decided` did to `before`: its events, the order row, the deadline if it moved,
/// the day's number if one was handed out, the served count if it was collected. Returns the
/// order after and the `seq` of its last event.
async fn write_decision(
    tx: &mut Tx,
    zone: chrono_tz::Tz,
    before: Option<&Order>,
    decided: &[OrderEvent],
) -> StoreResult<Option<(Order, u64)>> {
    let mut order = before.cloned();
    let mut last_seq = 0;
    for event in decided {
        order = workflow::apply(order, event);
        let Some(after) = order.clone() else { continue };
        let customer_id = after.customer.id.clone();
        let api_event = Event::order(event.event_type(), after, event.at());
        last_seq = tx.append(api_event, Some(&customer_id)).await?;
    }
    let Some(after) = &order else {
        return Ok(None);
    };
    let body = serde_json::to_string(after)?;
    if before.is_none() {
        sqlx::query(
            "INSERT INTO orders (id, shop, customer_id, state, number, business_day, created_ms,
                                 item_id, placed_ms, ready_ms, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(after.id.as_str())
        .bind(after.shop.as_str())
        .bind(after.customer.id.as_str())
        .bind(after.state.as_str())
        .bind(after.number.map(i64::from))
        .bind(business_day(after.created_at, zone))
        .bind(to_ms(after.created_at))
        .bind(after.drink.as_ref().map(|d| d.item_id.as_str()))
        .bind(after.placed_at.map(to_ms))
        .bind(after.ready_at.map(to_ms))
        .bind(&body)
        .execute(&mut *tx.tx)
        .await?;
    } else {
        sqlx::query(
            "UPDATE orders SET state = $2, number = $3, item_id = $4, placed_ms = $5,
                               ready_ms = $6, body = $7
             WHERE id = $1",
        )
        .bind(after.id.as_str())
        .bind(after.state.as_str())
        .bind(after.number.map(i64::from))
        .bind(after.drink.as_ref().map(|d| d.item_id.as_str()))
        .bind(after.placed_at.map(to_ms))
        .bind(after.ready_at.map(to_ms))
        .bind(&body)
        .execute(&mut *tx.tx)
        .await?;
    }
    let placed = decided
        .iter()
        .any(|e| matches!(e, OrderEvent::Placed { .. }));
    if placed && let Some(number) = after.number {
        sqlx::query(
            "INSERT INTO order_numbers (shop, business_day, last_number) VALUES ($1, $2, $3)
             ON CONFLICT (shop, business_day) DO UPDATE SET last_number = excluded.last_number",
        )
        .bind(after.shop.as_str())
        .bind(business_day(decided_at(decided), zone))
        .bind(i64::from(number))
        .execute(&mut *tx.tx)
        .await?;
    }
    let deadline_before = before.and_then(workflow::pending_deadline);
    let deadline_after = workflow::pending_deadline(after);
    if deadline_before != deadline_after {
        match deadline_after {
            Some(deadline) => {
                sqlx::query(
                    "INSERT INTO deadlines (order_id, shop, stage, due_ms) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (order_id) DO UPDATE
                     SET stage = excluded.stage, due_ms = excluded.due_ms, claimed_until_ms = NULL",
                )
                .bind(after.id.as_str())
                .bind(after.shop.as_str())
                .bind(stage_name(deadline.stage))
                .bind(to_ms(deadline.due_at))
                .execute(&mut *tx.tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM deadlines WHERE order_id = $1")
                    .bind(after.id.as_str())
                    .execute(&mut *tx.tx)
                    .await?;
            }
        }
    }
    let collected = decided
        .iter()
        .any(|e| matches!(e, OrderEvent::Collected { .. }));
    if collected && let Some(drink) = &after.drink {
        sqlx::query(
            "INSERT INTO served_counts (shop, business_day, item_id, served) VALUES ($1, $2, $3, 1)
             ON CONFLICT (shop, business_day, item_id)
             DO UPDATE SET served = served_counts.served + 1",
        )
        .bind(after.shop.as_str())
        .bind(business_day(after.created_at, zone))
        .bind(&drink.item_id)
        .execute(&mut *tx.tx)
        .await?;
    }
    Ok(order.map(|order| (order, last_seq)))
}

/// What a start is admitted on, read under the shop's lock.
async fn admission(
    tx: &mut Tx,
    shop: &Shop,
    customer: &UserId,
    ticket: &Ticket,
    now: DateTime<Utc>,
) -> StoreResult<Admission> {
    let day = business_day(now, workflow::zone_of(shop));
    let code = match ticket {
        Ticket::Code(code) => check_code(tx, &shop.id, code, now).await?,
        Ticket::Pass(hash) => check_pass(tx, &shop.id, hash, now).await?,
    };
    let has_open_order = count(
        tx,
        "SELECT COUNT(*) FROM orders WHERE shop = $1 AND customer_id = $2
           AND state IN ('awaiting_drink','queued','in_progress','ready')",
        &[&shop.id, customer],
    )
    .await?
        > 0;
    let orders_today = count(
        tx,
        "SELECT COUNT(*) FROM orders WHERE shop = $1 AND business_day = $2 AND customer_id = $3
           AND state NOT IN ('cancelled','timed_out')",
        &[&shop.id, &day, customer],
    )
    .await?;
    let queue_length = count(
        tx,
        "SELECT COUNT(*) FROM orders WHERE shop = $1 AND state IN ('queued','in_progress')",
        &[&shop.id],
    )
    .await?;
    Ok(Admission {
        code,
        has_open_order,
        orders_today,
        queue_length,
    })
}

#[async_trait]
impl OrderStorage for PgStore {
    async fn start_order_with(
        &self,
        shop_id: &ShopId,
        customer: CustomerRef,
        ticket: Ticket,
        drink: Option<DrinkChoice>,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Order>> {
        let mut tx = self.begin().await?;
        let shop = lock_shop(&mut tx, shop_id).await?;
        if let Some(answer) = idempotency::replayed(&mut tx, remember.as_ref()).await? {
            return Ok(answer);
        }
        let zone = workflow::zone_of(&shop);
        let admission = admission(&mut tx, &shop, &customer.id, &ticket, now).await?;
        let next_number = next_number(&mut tx, shop_id, &business_day(now, zone)).await?;
        let command = Command::Start {
            order_id: OrderId::from(new_id("ord")),
            customer,
            drink,
            admission,
        };
        let ctx = Context {
            now,
            shop: &shop,
            next_number,
        };
        let decided = workflow::decide(None, &command, &ctx)?;
        let (order, answer_seq) = write_decision(&mut tx, zone, None, &decided)
            .await?
            .ok_or_else(|| StoreError::database("a start produced no order"))?;
        match &ticket {
            // The workflow admitted the code, so it has uses left.
            Ticket::Code(code) => {
                redeem_code(&mut tx, shop_id, code, &self.public_url, now).await?
            }
            // The pass took its code's use when it was issued.
            Ticket::Pass(hash) => use_pass(&mut tx, hash, &order.id).await?,
        }
        let answered = Answered::Event {
            shop: shop_id,
            seq: answer_seq,
        };
        idempotency::remember(&mut tx, remember.as_ref(), answered, decided_at(&decided)).await?;
        if decided
            .iter()
            .any(|e| !matches!(e, OrderEvent::Created { .. }))
        {
            tx.stats_moved(&shop);
        }
        self.commit(tx).await?;
        Ok(Answer::Done(order))
    }

    async fn order_command(
        &self,
        shop_id: &ShopId,
        order_id: &OrderId,
        command: OrderCommand,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Order>> {
        let mut tx = self.begin().await?;
        let shop = lock_shop(&mut tx, shop_id).await?;
        if let Some(answer) = idempotency::replayed(&mut tx, remember.as_ref()).await? {
            return Ok(answer);
        }
        let zone = workflow::zone_of(&shop);
        let current = stored_order(&mut tx, shop_id, order_id)
            .await?
            .ok_or_else(|| StoreError::not_found("no such order"))?;
        let next_number = next_number(&mut tx, shop_id, &business_day(now, zone)).await?;
        let ctx = Context {
            now,
            shop: &shop,
            next_number,
        };
        let decided = workflow::decide(Some(&current), &command, &ctx)?;
        if decided.is_empty() {
            return Ok(Answer::Done(current));
        }
        let (order, answer_seq) = write_decision(&mut tx, zone, Some(&current), &decided)
            .await?
            .ok_or_else(|| StoreError::database("an order command removed the order"))?;
        let answered = Answered::Event {
            shop: shop_id,
            seq: answer_seq,
        };
        idempotency::remember(&mut tx, remember.as_ref(), answered, decided_at(&decided)).await?;
        if decided
            .iter()
            .any(|e| !matches!(e, OrderEvent::Created { .. }))
        {
            tx.stats_moved(&shop);
        }
        self.commit(tx).await?;
        Ok(Answer::Done(order))
    }

    async fn order(&self, shop: &ShopId, id: &OrderId) -> StoreResult<Option<Order>> {
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM orders WHERE id = $1 AND shop = $2")
                .bind(id.as_str())
                .bind(shop.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    async fn orders_in(
        &self,
        shop: &ShopId,
        states: &[OrderState],
        limit: u32,
    ) -> StoreResult<Vec<Order>> {
        let states: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM orders WHERE shop = $1 AND state = ANY($2)
             ORDER BY business_day, number, created_ms LIMIT $3",
        )
        .bind(shop.as_str())
        .bind(&states)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
    }

    async fn orders_of(&self, customer_id: &UserId, limit: u32) -> StoreResult<Vec<Order>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM orders WHERE customer_id = $1 ORDER BY created_ms DESC LIMIT $2",
        )
        .bind(customer_id.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
    }

    async fn orders_between(
        &self,
        shop: &ShopId,
        from: &str,
        to: &str,
        limit: u32,
    ) -> StoreResult<Vec<Order>> {
        Ok(self
            .orders_by_day_between(shop, from, to, limit)
            .await?
            .into_iter()
            .map(|dated| dated.order)
            .collect())
    }

    async fn orders_by_day_between(
        &self,
        shop: &ShopId,
        from: &str,
        to: &str,
        limit: u32,
    ) -> StoreResult<Vec<DatedOrder>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT business_day, body FROM orders
             WHERE shop = $1 AND business_day BETWEEN $2 AND $3
             ORDER BY created_ms, id LIMIT $4",
        )
        .bind(shop.as_str())
        .bind(from)
        .bind(to)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(day, body)| {
                Ok(DatedOrder {
                    day,
                    order: serde_json::from_str(&body)?,
                })
            })
            .collect()
    }

    /// Deadlines due at `now`, claimed for this server for a while: another server skips them
    /// (`SKIP LOCKED`, then the claim), and takes them over if this one never fires them.
    async fn due_deadlines(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<DueDeadline>> {
        let now_ms = to_ms(now);
        let rows = sqlx::query(
            "UPDATE deadlines SET claimed_until_ms = $1 + $3
             WHERE order_id IN (
               SELECT order_id FROM deadlines
               WHERE due_ms <= $1 AND (claimed_until_ms IS NULL OR claimed_until_ms <= $1)
               ORDER BY due_ms LIMIT $2 FOR UPDATE SKIP LOCKED)
             RETURNING shop, order_id, stage, due_ms",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .bind(CLAIM_MS)
        .fetch_all(&self.pool)
        .await?;
        let mut due = rows
            .into_iter()
            .map(|row| {
                let stage = stage_from_name(&row.try_get::<String, _>("stage")?);
                Ok(DueDeadline {
                    shop: ShopId::from(row.try_get::<String, _>("shop")?),
                    order_id: OrderId::from(row.try_get::<String, _>("order_id")?),
                    stage,
                    due_at: from_ms(row.try_get("due_ms")?),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        due.sort_by_key(|d| d.due_at);
        Ok(due)
    }

    async fn next_deadline(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let ms: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(GREATEST(due_ms, COALESCE(claimed_until_ms, 0))) FROM deadlines",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(ms.map(from_ms))
    }

    async fn drop_deadline(&self, order_id: &OrderId) -> StoreResult<()> {
        sqlx::query("DELETE FROM deadlines WHERE order_id = $1")
            .bind(order_id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
