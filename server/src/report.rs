//! The numbers of a range of business days (`GET …/stats/days`, `…/stats/days.csv`): a pure
//! fold of the orders started on those days into a [`StatsReport`]. No I/O, no clock: the
//! orders, their business days and the shop's time zone are given.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use espresso_protocol::{
    CancelledBy, DayStats, ItemCount, Order, OrderState, PeriodStats, ReasonCount, StatsReport,
    TimeoutStage,
};

use crate::store::DatedOrder;

/// The report of the business days `from` to `to` (both included; `from <= to`) in `zone`
/// (named `zone_name`), from `orders`, each with the business day it was started on
/// (`YYYY-MM-DD`). Orders on days outside the range are left out.
pub fn stats_report(
    orders: &[DatedOrder],
    from: NaiveDate,
    to: NaiveDate,
    zone: Tz,
    zone_name: &str,
) -> StatsReport {
    let mut per_day: BTreeMap<String, Period> = from
        .iter_days()
        .take_while(|day| *day <= to)
        .map(|day| (day.to_string(), Period::default()))
        .collect();
    let mut total = Period::default();
    for DatedOrder { day, order } in orders {
        if let Some(period) = per_day.get_mut(day) {
            period.add(order, zone);
            total.add(order, zone);
        }
    }
    StatsReport {
        from: from.to_string(),
        to: to.to_string(),
        time_zone: zone_name.to_owned(),
        total: total.finish(),
        days: per_day
            .into_iter()
            .map(|(date, period)| DayStats {
                date,
                stats: period.finish(),
            })
            .collect(),
    }
}

/// What one period gathers before its percentiles and orderings are worked out.
#[derive(Default)]
struct Period {
    stats: PeriodStats,
    by_hour: [u32; 24],
    /// item id → (name, orders, served)
    items: BTreeMap<String, (String, u32, u32)>,
    waits: Vec<u64>,
    pickups: Vec<u64>,
    reasons: BTreeMap<String, u32>,
}

impl Period {
    fn add(&mut self, order: &Order, zone: Tz) {
        let stats = &mut self.stats;
        match order.state {
            OrderState::Collected => stats.served += 1,
            OrderState::Cancelled => match order.cancelled_by {
                Some(CancelledBy::Customer) => stats.cancelled_by_customer += 1,
                Some(CancelledBy::Staff) | None => {
                    stats.cancelled_by_staff += 1;
                    if let Some(reason) = order
                        .cancel_reason
                        .as_deref()
                        .map(str::trim)
                        .filter(|r| !r.is_empty())
                    {
                        *self.reasons.entry(reason.to_owned()).or_default() += 1;
                    }
                }
            },
            OrderState::TimedOut => match order.timeout_stage {
                Some(TimeoutStage::Customer) => stats.timed_out_choosing += 1,
                Some(TimeoutStage::Barista) | None => stats.timed_out_making += 1,
                Some(TimeoutStage::Collection) => stats.not_collected += 1,
            },
            _ => {}
        }
        let Some(queued) = order.placed_at else {
            return;
        };
        stats.orders += 1;
        let hour = queued.with_timezone(&zone).hour() as usize;
        if let Some(count) = self.by_hour.get_mut(hour) {
            *count += 1;
        }
        if let Some(drink) = &order.drink {
            let entry = self
                .items
                .entry(drink.item_id.clone())
                .or_insert_with(|| (drink.name.clone(), 0, 0));
            entry.1 += 1;
            if order.state == OrderState::Collected {
                entry.2 += 1;
            }
        }
        if let Some(ready) = order.ready_at {
            self.waits.push(seconds(queued, ready));
            if order.state == OrderState::Collected
                && let Some(collected) = order.finished_at
            {
                self.pickups.push(seconds(ready, collected));
            }
        }
    }

    fn finish(mut self) -> PeriodStats {
        let mut stats = self.stats;
        stats.by_hour = self.by_hour.to_vec();
        let mut items: Vec<ItemCount> = self
            .items
            .into_iter()
            .map(|(item_id, (name, orders, served))| ItemCount {
                item_id,
                name,
                orders,
                served,
            })
            .collect();
        // Most ordered first; ties by id (the map's order), as the sort is stable.
        items.sort_by_key(|item| std::cmp::Reverse(item.orders));
        stats.by_item = items;
        self.waits.sort_unstable();
        self.pickups.sort_unstable();
        stats.wait_p50_s = percentile(&self.waits, 50);
        stats.wait_p90_s = percentile(&self.waits, 90);
        stats.pickup_p50_s = percentile(&self.pickups, 50);
        stats.pickup_p90_s = percentile(&self.pickups, 90);
        let mut reasons: Vec<ReasonCount> = self
            .reasons
            .into_iter()
            .map(|(reason, count)| ReasonCount { reason, count })
            .collect();
        reasons.sort_by_key(|reason| std::cmp::Reverse(reason.count));
        stats.cancel_reasons = reasons;
        stats
    }
}

/// Whole seconds from `from` to `to` (0 if `to` is earlier).
fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    u64::try_from((to - from).num_seconds()).unwrap_or(0)
}

/// The nearest-rank `p`th percentile of `sorted` (ascending): the smallest value with at least
/// `p`% of the values at or below it; `None` when there is none.
pub fn percentile(sorted: &[u64], p: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use espresso_protocol::{CustomerRef, Drink};

    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let ten: Vec<u64> = (1..=10).map(|n| n * 10).collect();
        assert_eq!(percentile(&ten, 50), Some(50));
        assert_eq!(percentile(&ten, 90), Some(90));
        assert_eq!(percentile(&[7], 50), Some(7));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[1, 2, 3], 50), Some(2));
        assert_eq!(percentile(&[1, 2, 3], 90), Some(3));
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(percentile(&[], 50), None);
    }

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, h, m, s).unwrap()
    }

    fn order(state: OrderState, queued: Option<DateTime<Utc>>) -> Order {
        let created = queued.unwrap_or_else(|| at(9, 0, 0));
        Order {
            id: "o".into(),
            shop: "main".into(),
            number: Some(1),
            state,
            drink: queued.map(|_| Drink {
                item_id: "espresso".into(),
                name: "Espresso".into(),
                options: Default::default(),
            }),
            customer: CustomerRef {
                id: "u".into(),
                display_name: None,
            },
            barista_id: None,
            created_at: created,
            placed_at: queued,
            claimed_at: None,
            ready_at: None,
            finished_at: None,
            deadline_at: None,
            cancel_reason: None,
            cancelled_by: None,
            timeout_stage: None,
        }
    }

    #[test]
    fn each_outcome_counts_once_and_unqueued_orders_are_not_orders() {
        let mut served = order(OrderState::Collected, Some(at(9, 0, 0)));
        served.ready_at = Some(at(9, 2, 0));
        served.finished_at = Some(at(9, 3, 0));
        let mut mine = order(OrderState::Cancelled, Some(at(9, 10, 0)));
        mine.cancelled_by = Some(CancelledBy::Customer);
        mine.cancel_reason = Some("changed my mind".into());
        let mut theirs = order(OrderState::Cancelled, Some(at(10, 0, 0)));
        theirs.cancelled_by = Some(CancelledBy::Staff);
        theirs.cancel_reason = Some(" out of oat ".into());
        let mut choosing = order(OrderState::TimedOut, None);
        choosing.timeout_stage = Some(TimeoutStage::Customer);
        let mut making = order(OrderState::TimedOut, Some(at(11, 0, 0)));
        making.timeout_stage = Some(TimeoutStage::Barista);
        let mut left = order(OrderState::TimedOut, Some(at(11, 5, 0)));
        left.ready_at = Some(at(11, 6, 0));
        left.timeout_stage = Some(TimeoutStage::Collection);
        let day = "2026-11-28".to_owned();
        let orders: Vec<DatedOrder> = [served, mine, theirs, choosing, making, left]
            .into_iter()
            .map(|order| DatedOrder {
                day: day.clone(),
                order,
            })
            .collect();
        let date = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let report = stats_report(&orders, date, date, Tz::UTC, "UTC");
        let total = &report.total;
        assert_eq!(report.days.len(), 1);
        assert_eq!(&report.days[0].stats, total);
        assert_eq!(total.orders, 5, "the one that never chose is not an order");
        assert_eq!(
            (
                total.served,
                total.cancelled_by_customer,
                total.cancelled_by_staff,
                total.timed_out_choosing,
                total.timed_out_making,
                total.not_collected
            ),
            (1, 1, 1, 1, 1, 1)
        );
        assert_eq!(total.by_hour[9], 2);
        assert_eq!(total.by_hour[10], 1);
        assert_eq!(total.by_hour[11], 2);
        assert_eq!(total.by_hour.iter().sum::<u32>(), 5);
        assert_eq!(
            total.cancel_reasons,
            [ReasonCount {
                reason: "out of oat".into(),
                count: 1
            }],
            "only staff reasons"
        );
        // Waits over the two made ones (120 s and 60 s); the pickup of the one collected.
        assert_eq!((total.wait_p50_s, total.wait_p90_s), (Some(60), Some(120)));
        assert_eq!(
            (total.pickup_p50_s, total.pickup_p90_s),
            (Some(60), Some(60))
        );
        assert_eq!(
            total.by_item,
            [ItemCount {
                item_id: "espresso".into(),
                name: "Espresso".into(),
                orders: 5,
                served: 1
            }]
        );
    }
}
