//! Orders: each command is a job of the writer ([`super::writer`]) that decides against the
//! shop's state in memory ([`super::memory`]), writes the order row, its deadline row (only
//! when the deadline moved), its events and — when the caller sent an `Idempotency-Key` — the
//! answer, all in one savepoint of the batch's transaction. Reads go to the read pool.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use espresso_protocol::{
    CustomerRef, DrinkChoice, Event, Order, OrderId, OrderState, ShopId, TimeoutStage, UserId,
};
use rusqlite::{OptionalExtension, params};
use sqlx::Row;

use super::idempotency::{self, Answer, Remember};
use super::passes::{self, Ticket};
use super::storage::prelude::*;
use super::writer::Work;
use super::{DatedOrder, SqliteStore, StoreError, StoreResult, business_day, from_ms, to_ms};
use crate::workflow::{self, Admission, CodeCheck, Command, Context, OrderEvent};

/// A command on an existing order (starting one is [`Storage::start_order`]).
pub type OrderCommand = Command;

/// A stage as stored (see [`stage_name`]); anything else reads as the bar's.
pub(super) fn stage_from_name(name: &str) -> TimeoutStage {
    match name {
        "customer" => TimeoutStage::Customer,
        "collection" => TimeoutStage::Collection,
        _ => TimeoutStage::Barista,
    }
}

pub(super) fn stage_name(stage: TimeoutStage) -> &'static str {
    match stage {
        TimeoutStage::Customer => "customer",
        TimeoutStage::Barista => "barista",
        TimeoutStage::Collection => "collection",
    }
}

/// A closed order (not in memory), read inside the writer's transaction.
fn stored_order(work: &Work<'_>, shop: &str, id: &str) -> StoreResult<Option<Order>> {
    let body: Option<String> = work
        .conn
        .prepare_cached("SELECT body FROM orders WHERE id = ?1 AND shop = ?2")
        .map_err(super::StoreError::from)?
        .query_row(params![id, shop], |row| row.get(0))
        .optional()
        .map_err(super::StoreError::from)?;
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}

/// Write what `decided` did to `before`: its events, the order row, the deadline row if it
/// moved, the day's order number if one was handed out, the served count if it was collected.
/// Returns the order after. Memory is not touched (see [`track`]).
fn write_decision(
    work: &mut Work<'_>,
    zone: chrono_tz::Tz,
    before: Option<&Order>,
    decided: &[OrderEvent],
) -> StoreResult<Option<(Order, u64, String)>> {
    let mut order = before.cloned();
    let mut last_seq = 0;
    // The order's JSON after the last event: its row's body too (written once).
    let mut order_json = None;
    for event in decided {
        order = workflow::apply(order, event);
        let Some(after) = order.clone() else {
            order_json = None;
            continue;
        };
        let customer_id = after.customer.id.clone();
        let json = serde_json::to_string(&after)?;
        let api_event = Event::order(event.event_type(), after, event.at());
        let event_json = order_event_json(&api_event, &json)?;
        last_seq = work.append_json(api_event, event_json, Some(&customer_id))?;
        order_json = Some(json);
    }
    let Some(after) = &order else {
        return Ok(None);
    };
    let conn = work.conn;
    let db = super::StoreError::from;
    let body = match order_json {
        Some(json) => json,
        None => serde_json::to_string(after)?,
    };
    if before.is_none() {
        conn.prepare_cached(
            "INSERT INTO orders (id, shop, customer_id, state, number, business_day, created_ms,
                                 item_id, placed_ms, ready_ms, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .map_err(db)?
        .execute(params![
            after.id.as_str(),
            after.shop.as_str(),
            after.customer.id.as_str(),
            after.state.as_str(),
            after.number.map(i64::from),
            business_day(after.created_at, zone),
            to_ms(after.created_at),
            after.drink.as_ref().map(|d| d.item_id.as_str()),
            after.placed_at.map(to_ms),
            after.ready_at.map(to_ms),
            body,
        ])
        .map_err(db)?;
    } else if let Some(before) = before {
        update_order(conn, before, after, &body).map_err(db)?;
    }
    let placed = decided
        .iter()
        .any(|e| matches!(e, OrderEvent::Placed { .. }));
    if placed && let Some(number) = after.number {
        conn.prepare_cached(
            "INSERT INTO order_numbers (shop, business_day, last_number) VALUES (?1, ?2, ?3)
             ON CONFLICT (shop, business_day) DO UPDATE SET last_number = excluded.last_number",
        )
        .map_err(db)?
        .execute(params![
            after.shop.as_str(),
            business_day(decided_at(decided), zone),
            i64::from(number)
        ])
        .map_err(db)?;
    }
    let deadline_before = before.and_then(workflow::pending_deadline);
    let deadline_after = workflow::pending_deadline(after);
    if deadline_before != deadline_after {
        // A deadline that moved is updated in place (the upsert); one that ended is deleted.
        if deadline_before.is_some() && deadline_after.is_none() {
            conn.prepare_cached("DELETE FROM deadlines WHERE order_id = ?1")
                .map_err(db)?
                .execute([after.id.as_str()])
                .map_err(db)?;
        }
        if let Some(deadline) = deadline_after {
            conn.prepare_cached(
                "INSERT INTO deadlines (order_id, shop, stage, due_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (order_id)
                 DO UPDATE SET stage = excluded.stage, due_ms = excluded.due_ms",
            )
            .map_err(db)?
            .execute(params![
                after.id.as_str(),
                after.shop.as_str(),
                stage_name(deadline.stage),
                to_ms(deadline.due_at)
            ])
            .map_err(db)?;
        }
    }
    let collected = decided
        .iter()
        .any(|e| matches!(e, OrderEvent::Collected { .. }));
    if collected && let Some(drink) = &after.drink {
        conn.prepare_cached(
            "INSERT INTO served_counts (shop, business_day, item_id, served) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (shop, business_day, item_id) DO UPDATE SET served = served + 1",
        )
        .map_err(db)?
        .execute(params![
            after.shop.as_str(),
            business_day(after.created_at, zone),
            drink.item_id
        ])
        .map_err(db)?;
    }
    Ok(order.map(|order| (order, last_seq, body)))
}

/// An order event's JSON, byte for byte as serde writes it, around its order's JSON written
/// already (`order_json` must be the JSON of `event.order`): an order command serialises the
/// order once, for its row and for its event. Any other event is written whole.
fn order_event_json(event: &Event, order_json: &str) -> serde_json::Result<String> {
    if event.order.is_none()
        || event.shop_state.is_some()
        || event.code.is_some()
        || event.stats.is_some()
    {
        return serde_json::to_string(event);
    }
    let mut out = Vec::with_capacity(order_json.len() + 160);
    out.extend_from_slice(br#"{"type":"#);
    serde_json::to_writer(&mut out, &event.kind)?;
    out.extend_from_slice(br#","shop":"#);
    serde_json::to_writer(&mut out, &event.shop)?;
    out.extend_from_slice(br#","at":"#);
    espresso_protocol::stamp::serialize(&event.at, &mut serde_json::Serializer::new(&mut out))?;
    out.extend_from_slice(br#","order":"#);
    out.extend_from_slice(order_json.as_bytes());
    out.extend_from_slice(br#","shop_state":null,"code":null,"stats":null}"#);
    String::from_utf8(out).map_err(serde::ser::Error::custom)
}

/// Update the order's row: its body, and of the columns the indexes are built on only those
/// that changed. SQLite rewrites the entries of every index on a column an `UPDATE` sets,
/// changed or not; a claim changes only the state, so it leaves the wait-time indexes alone
/// (a quarter fewer pages written a command).
fn update_order(
    conn: &rusqlite::Connection,
    before: &Order,
    after: &Order,
    body: &str,
) -> rusqlite::Result<usize> {
    use rusqlite::types::ToSql;
    let item = |order: &Order| order.drink.as_ref().map(|d| d.item_id.clone());
    let (state, number, item_id) = (
        after.state.as_str(),
        after.number.map(i64::from),
        item(after),
    );
    let (placed, ready) = (after.placed_at.map(to_ms), after.ready_at.map(to_ms));
    let columns: [(&str, bool, &dyn ToSql); 5] = [
        ("state", before.state != after.state, &state),
        ("number", before.number != after.number, &number),
        ("item_id", item(before) != item_id, &item_id),
        ("placed_ms", before.placed_at != after.placed_at, &placed),
        ("ready_ms", before.ready_at != after.ready_at, &ready),
    ];
    let mut sql = String::from("UPDATE orders SET body = ?2");
    let id = after.id.as_str();
    let mut values: Vec<&dyn ToSql> = vec![&id, &body];
    for (name, changed, value) in columns {
        if changed {
            values.push(value);
            sql.push_str(&format!(", {name} = ?{}", values.len()));
        }
    }
    sql.push_str(" WHERE id = ?1");
    // At most 32 shapes, each prepared once.
    conn.prepare_cached(&sql)?.execute(values.as_slice())
}

/// When the command was decided (the events carry it).
fn decided_at(decided: &[OrderEvent]) -> DateTime<Utc> {
    decided.last().map_or_else(Utc::now, OrderEvent::at)
}

/// The end every order command shares once its events are written: the answer (the event at
/// `answer_seq`) remembered for its `Idempotency-Key` if it came with one, then [`track`].
fn answered(
    work: &mut Work<'_>,
    remember: Option<&Remember>,
    before: Option<&Order>,
    after: &Order,
    answer_seq: u64,
    decided: &[OrderEvent],
) -> StoreResult<()> {
    if let Some(remember) = remember {
        let answered = idempotency::Answered::Event {
            shop: &after.shop,
            seq: answer_seq,
        };
        idempotency::remember(work.conn, remember, answered, decided_at(decided))?;
    }
    track(work, before, after, decided)
}

/// Memory follows what was written (only once every statement of the job succeeded).
fn track(
    work: &mut Work<'_>,
    before: Option<&Order>,
    after: &Order,
    decided: &[OrderEvent],
) -> StoreResult<()> {
    let shop_id = after.shop.clone();
    let state = work.memory.existing_shop(work.conn, &shop_id)?;
    state.track(before, after);
    let zone = state.zone();
    for event in decided {
        if let OrderEvent::Placed { number, at, .. } = event {
            state.numbered(&business_day(*at, zone), *number);
        }
    }
    // Every change past creation moves a count or a wait time.
    if decided
        .iter()
        .any(|e| !matches!(e, OrderEvent::Created { .. }))
    {
        work.stats_moved(&shop_id);
    }
    Ok(())
}

impl SqliteStore {
    /// The open orders' numbers as memory has them (tests compare them with the database).
    #[cfg(test)]
    pub(crate) async fn memory_stats(&self, shop: &str) -> StoreResult<espresso_protocol::Stats> {
        let shop = shop.to_owned();
        self.writer
            .run(move |work| work.memory.stats(work.conn, &shop, Utc::now()))
            .await
    }
}

#[async_trait]
impl OrderStorage for SqliteStore {
    /// Start an order with a booth code or a scan pass (queued at once if `drink` is given).
    /// Admission, the code's redemption (or the pass's use) and the events are one job of the
    /// writer, so concurrent scans never start more orders than the code allows, and a pass
    /// starts one order only.
    async fn start_order_with(
        &self,
        shop_id: &ShopId,
        customer: CustomerRef,
        ticket: Ticket,
        drink: Option<DrinkChoice>,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Order>> {
        let shop_id = shop_id.to_owned();
        let public_url = self.public_url.clone();
        // Every refusal (the workflow's, a spent pass) comes before the first write.
        self.writer
            .run_deciding_first(move |work| {
                if let Some(answer) = idempotency::replayed(work.conn, remember.as_ref())? {
                    return Ok(answer);
                }
                let pass_check = match &ticket {
                    Ticket::Pass(hash) => Some(passes::check_pass(work, &shop_id, hash, now)?),
                    Ticket::Code(_) => None,
                };
                let state = work.memory.existing_shop(work.conn, &shop_id)?;
                let zone = state.zone();
                let day = business_day(now, zone);
                let admission = Admission {
                    code: match (&ticket, pass_check) {
                        (Ticket::Code(code), _) => state.check_code(code, now),
                        (Ticket::Pass(_), check) => check.unwrap_or(CodeCheck::Invalid),
                    },
                    has_open_order: state.has_open_order(&customer.id),
                    orders_today: state.orders_today(work.conn, &day, &customer.id)?,
                    queue_length: state.queue_length(),
                };
                let next_number = state.next_number(work.conn, &day)?;
                let shop = state.shop.clone();
                let command = Command::Start {
                    order_id: OrderId::from(super::new_id("ord")),
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
                let (order, answer_seq, json) = write_decision(work, zone, None, &decided)?
                    .ok_or_else(|| StoreError::database("a start produced no order"))?;
                match &ticket {
                    // The workflow admitted the code, so it has uses left.
                    Ticket::Code(code) => {
                        passes::redeem_code(work, &shop_id, code, &public_url, now)?;
                    }
                    // The pass took its code's use when it was issued.
                    Ticket::Pass(hash) => passes::use_pass(work, hash, &order.id)?,
                }
                answered(work, remember.as_ref(), None, &order, answer_seq, &decided)?;
                if let Ticket::Code(code) = &ticket
                    && let Some(state) = work.memory.shop(work.conn, &shop_id)?
                {
                    state.redeemed(code);
                }
                Ok(Answer::Written(order, json))
            })
            .await
    }

    /// Run `command` on an existing order of `shop_id`.
    async fn order_command(
        &self,
        shop_id: &ShopId,
        order_id: &OrderId,
        command: OrderCommand,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Order>> {
        let shop_id = shop_id.to_owned();
        let order_id = order_id.to_owned();
        // Every refusal (the workflow's, no such order) comes before the first write.
        self.writer
            .run_deciding_first(move |work| {
                if let Some(answer) = idempotency::replayed(work.conn, remember.as_ref())? {
                    return Ok(answer);
                }
                let state = work.memory.existing_shop(work.conn, &shop_id)?;
                let zone = state.zone();
                let day = business_day(now, zone);
                let open = state.open_order(&order_id).cloned();
                let next_number = state.next_number(work.conn, &day)?;
                let shop = state.shop.clone();
                let current = match open {
                    Some(order) => order,
                    None => stored_order(work, &shop_id, &order_id)?
                        .ok_or_else(|| StoreError::not_found("no such order"))?,
                };
                let ctx = Context {
                    now,
                    shop: &shop,
                    next_number,
                };
                let decided = workflow::decide(Some(&current), &command, &ctx)?;
                if decided.is_empty() {
                    return Ok(Answer::Done(current));
                }
                let (order, answer_seq, json) =
                    write_decision(work, zone, Some(&current), &decided)?.ok_or_else(|| {
                        StoreError::database("an order command removed the order")
                    })?;
                answered(
                    work,
                    remember.as_ref(),
                    Some(&current),
                    &order,
                    answer_seq,
                    &decided,
                )?;
                Ok(Answer::Written(order, json))
            })
            .await
    }

    /// One order of the shop, as stored.
    async fn order(&self, shop: &ShopId, id: &OrderId) -> StoreResult<Option<Order>> {
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM orders WHERE id = ?1 AND shop = ?2")
                .bind(id.as_str())
                .bind(shop.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(super::StoreError::from)?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    /// The shop's orders in `states`, by number, at most `limit`.
    async fn orders_in(
        &self,
        shop: &ShopId,
        states: &[OrderState],
        limit: u32,
    ) -> StoreResult<Vec<Order>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM orders WHERE shop = ?1 AND state IN (SELECT value FROM json_each(?2))
             ORDER BY business_day, number, created_ms LIMIT ?3",
        )
        .bind(shop.as_str())
        .bind(serde_json::to_string(
            &states.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        )?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
    }

    /// The shop's orders started on the business days `from` to `to` (`YYYY-MM-DD`, both
    /// included), oldest first, at most `limit`.
    async fn orders_between(
        &self,
        shop: &ShopId,
        from: &str,
        to: &str,
        limit: u32,
    ) -> StoreResult<Vec<Order>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM orders WHERE shop = ?1 AND business_day BETWEEN ?2 AND ?3
             ORDER BY created_ms, id LIMIT ?4",
        )
        .bind(shop.as_str())
        .bind(from)
        .bind(to)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
    }

    /// As [`Self::orders_between`], each order with its business day.
    async fn orders_by_day_between(
        &self,
        shop: &ShopId,
        from: &str,
        to: &str,
        limit: u32,
    ) -> StoreResult<Vec<DatedOrder>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT business_day, body FROM orders WHERE shop = ?1 AND business_day BETWEEN ?2 AND ?3
             ORDER BY created_ms, id LIMIT ?4",
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

    /// A customer's orders, newest first.
    async fn orders_of(&self, customer_id: &UserId, limit: u32) -> StoreResult<Vec<Order>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM orders WHERE customer_id = ?1 ORDER BY created_ms DESC LIMIT ?2",
        )
        .bind(customer_id.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
    }

    /// Deadlines due at `now`: (shop, order id, stage, due at), oldest first.
    async fn due_deadlines(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> super::StoreResult<Vec<super::DueDeadline>> {
        let rows = sqlx::query(
            "SELECT shop, order_id, stage, due_ms FROM deadlines
             WHERE due_ms <= ?1 ORDER BY due_ms LIMIT ?2",
        )
        .bind(to_ms(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let stage = stage_from_name(&row.try_get::<String, _>("stage")?);
                Ok(super::DueDeadline {
                    shop: ShopId::from(row.try_get::<String, _>("shop")?),
                    order_id: OrderId::from(row.try_get::<String, _>("order_id")?),
                    stage,
                    due_at: from_ms(row.try_get("due_ms")?),
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// When the next deadline falls due, if any.
    async fn next_deadline(&self) -> super::StoreResult<Option<DateTime<Utc>>> {
        let ms: Option<i64> = sqlx::query_scalar("SELECT MIN(due_ms) FROM deadlines")
            .fetch_one(&self.pool)
            .await?;
        Ok(ms.map(from_ms))
    }

    /// Forget an order's deadline (it can never fire: its order is gone or refuses it for good).
    async fn drop_deadline(&self, order_id: &OrderId) -> super::StoreResult<()> {
        let order_id = order_id.to_owned();
        self.writer
            .run(move |work| {
                work.conn
                    .prepare_cached("DELETE FROM deadlines WHERE order_id = ?1")?
                    .execute([order_id.as_str()])?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use espresso_protocol::{Event, EventType, OrderState, Stats};

    use super::order_event_json;

    #[test]
    fn an_order_event_written_around_its_orders_json_is_what_serde_writes() {
        let at = "2026-05-04T09:01:01Z".parse().unwrap();
        let mut events = Vec::new();
        for state in [OrderState::Queued, OrderState::Ready, OrderState::Collected] {
            let mut order = crate::policy::tests::order("ana", Some("b1"));
            order.state = state;
            order.cancel_reason = Some("out of \"oat\" milk — sorry\n".into());
            events.push(Event::order(EventType::OrderClaimed, order, at));
        }
        let mut elsewhere = events[0].clone();
        elsewhere.shop = "caf\u{e9} \"r\u{fc}\"\\".into();
        elsewhere.at = "2026-05-04T09:00:00.123456789Z".parse().unwrap();
        events.push(elsewhere);
        // Not an order's event alone: written whole.
        let mut odd = events[1].clone();
        odd.stats = Some(Stats::default());
        events.push(odd);
        events.push(Event::stats_updated("main", Stats::default(), at));
        for event in &events {
            let order_json = serde_json::to_string(&event.order).unwrap();
            assert_eq!(
                order_event_json(event, &order_json).unwrap(),
                serde_json::to_string(event).unwrap()
            );
        }
    }
}
