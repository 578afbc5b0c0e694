//! What happened in a shop: the events of the log that the live stream replays.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{BoothCode, Order, Shop, Stats};
use crate::ShopId;

/// The kind of an [`Event`], by its dotted wire name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    /// A customer started an order (`awaiting_drink`).
    #[serde(rename = "order.created")]
    OrderCreated,
    /// The drink was chosen: the order is queued with its number.
    #[serde(rename = "order.placed")]
    OrderPlaced,
    #[serde(rename = "order.claimed")]
    OrderClaimed,
    /// Back from `in_progress` to `queued`.
    #[serde(rename = "order.unclaimed")]
    OrderUnclaimed,
    /// Made: ready to collect.
    #[serde(rename = "order.completed")]
    OrderCompleted,
    #[serde(rename = "order.collected")]
    OrderCollected,
    #[serde(rename = "order.cancelled")]
    OrderCancelled,
    #[serde(rename = "order.timed_out")]
    OrderTimedOut,
    /// Opened, closed, renamed, new limits or menu.
    #[serde(rename = "shop.updated")]
    ShopUpdated,
    /// A new booth code replaced the old one.
    #[serde(rename = "code.rotated")]
    CodeRotated,
    /// An order used the booth code (`remaining` went down).
    #[serde(rename = "code.redeemed")]
    CodeRedeemed,
    #[serde(rename = "stats.updated")]
    StatsUpdated,
}

impl EventType {
    pub const ALL: [EventType; 12] = [
        EventType::OrderCreated,
        EventType::OrderPlaced,
        EventType::OrderClaimed,
        EventType::OrderUnclaimed,
        EventType::OrderCompleted,
        EventType::OrderCollected,
        EventType::OrderCancelled,
        EventType::OrderTimedOut,
        EventType::ShopUpdated,
        EventType::CodeRotated,
        EventType::CodeRedeemed,
        EventType::StatsUpdated,
    ];

    /// The dotted wire name, e.g. `order.created`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::OrderCreated => "order.created",
            EventType::OrderPlaced => "order.placed",
            EventType::OrderClaimed => "order.claimed",
            EventType::OrderUnclaimed => "order.unclaimed",
            EventType::OrderCompleted => "order.completed",
            EventType::OrderCollected => "order.collected",
            EventType::OrderCancelled => "order.cancelled",
            EventType::OrderTimedOut => "order.timed_out",
            EventType::ShopUpdated => "shop.updated",
            EventType::CodeRotated => "code.rotated",
            EventType::CodeRedeemed => "code.redeemed",
            EventType::StatsUpdated => "stats.updated",
        }
    }

    /// An `order.*` event: it carries the whole order after the change.
    pub fn is_order_event(self) -> bool {
        self.as_str().starts_with("order.")
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event of a shop. Exactly one payload goes with each type: `order` for `order.*`,
/// `shop_state` for `shop.updated`, `code` for `code.*`, `stats` for `stats.updated`; the others
/// are null. Its `seq` is in the live frame (and the journey), not here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The shop id.
    pub shop: ShopId,
    #[serde(
        serialize_with = "crate::stamp::serialize",
        deserialize_with = "crate::stamp::deserialize"
    )]
    pub at: DateTime<Utc>,
    /// The whole order after the change.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub order: Option<Order>,
    /// The whole shop after the change.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub shop_state: Option<Shop>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub code: Option<BoothCode>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub stats: Option<Stats>,
}

impl Event {
    fn bare(kind: EventType, shop: ShopId, at: DateTime<Utc>) -> Self {
        Self {
            kind,
            shop,
            at,
            order: None,
            shop_state: None,
            code: None,
            stats: None,
        }
    }

    /// An `order.*` event carrying `order` as it is after the change.
    pub fn order(kind: EventType, order: Order, at: DateTime<Utc>) -> Self {
        debug_assert!(kind.is_order_event(), "{kind} is not an order event");
        let mut event = Self::bare(kind, order.shop.clone(), at);
        event.order = Some(order);
        event
    }

    /// `shop.updated` with the shop after the change.
    pub fn shop_updated(shop: Shop, at: DateTime<Utc>) -> Self {
        let mut event = Self::bare(EventType::ShopUpdated, shop.id.clone(), at);
        event.shop_state = Some(shop);
        event
    }

    /// `code.rotated` or `code.redeemed` with the code as it is now.
    pub fn code(
        kind: EventType,
        shop: impl Into<ShopId>,
        code: BoothCode,
        at: DateTime<Utc>,
    ) -> Self {
        debug_assert!(matches!(
            kind,
            EventType::CodeRotated | EventType::CodeRedeemed
        ));
        let mut event = Self::bare(kind, shop.into(), at);
        event.code = Some(code);
        event
    }

    /// `stats.updated` with the new numbers.
    pub fn stats_updated(shop: impl Into<ShopId>, stats: Stats, at: DateTime<Utc>) -> Self {
        let mut event = Self::bare(EventType::StatsUpdated, shop.into(), at);
        event.stats = Some(stats);
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_types_have_their_dotted_names() {
        let names: Vec<_> = EventType::ALL
            .iter()
            .map(|t| serde_json::to_value(t).unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "order.created",
                "order.placed",
                "order.claimed",
                "order.unclaimed",
                "order.completed",
                "order.collected",
                "order.cancelled",
                "order.timed_out",
                "shop.updated",
                "code.rotated",
                "code.redeemed",
                "stats.updated"
            ]
        );
        for kind in EventType::ALL {
            assert_eq!(json!(kind.as_str()), serde_json::to_value(kind).unwrap());
            assert_eq!(
                serde_json::from_value::<EventType>(json!(kind.as_str())).unwrap(),
                kind
            );
        }
        assert_eq!(
            EventType::ALL.iter().filter(|t| t.is_order_event()).count(),
            8
        );
    }

    #[test]
    fn a_stats_event_has_every_payload_key_and_only_its_own_filled() {
        let at = "2026-05-04T09:00:00Z".parse().unwrap();
        let event = Event::stats_updated("main", Stats::default(), at);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            json!({
                "type": "stats.updated",
                "shop": "main",
                "at": "2026-05-04T09:00:00Z",
                "order": null,
                "shop_state": null,
                "code": null,
                "stats": {"queue_length": 0, "in_progress": 0, "ready": 0, "served_today": 0,
                          "not_collected_today": 0, "avg_wait_s": null, "by_item": []}
            })
        );
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), event);
    }

    #[test]
    fn a_shop_event_carries_the_shop_and_reads_without_the_other_payloads() {
        let at = "2026-05-04T09:00:00Z".parse().unwrap();
        let event = Event::shop_updated(Shop::default_main(), at);
        assert_eq!(event.shop, "main");
        let json = json!({
            "type": "shop.updated",
            "shop": "main",
            "at": "2026-05-04T09:00:00Z",
            "shop_state": serde_json::to_value(Shop::default_main()).unwrap()
        });
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), event);
    }
}
