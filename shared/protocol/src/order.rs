//! Orders as the API shows them, and the bodies of the customer's order commands.
//!
//! The rules of how an order moves are not here: they are the server's workflow. These are
//! only the shapes both sides read and write.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::EventType;
use crate::{OrderId, ShopId, UserId};

/// An order. Every key is always present; what does not apply (yet) is null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: OrderId,
    /// The shop id.
    pub shop: ShopId,
    /// Set once queued; per shop, from 1 each day.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub number: Option<u32>,
    pub state: OrderState,
    /// Null until the customer has chosen.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub drink: Option<Drink>,
    pub customer: CustomerRef,
    /// The barista who claimed it; null while queued (also after an unclaim).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub barista_id: Option<UserId>,
    #[serde(
        serialize_with = "crate::stamp::serialize",
        deserialize_with = "crate::stamp::deserialize"
    )]
    pub created_at: DateTime<Utc>,
    /// When the drink was chosen and the order queued.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    #[serde(
        default,
        serialize_with = "crate::stamp::serialize_option",
        deserialize_with = "crate::stamp::deserialize_option"
    )]
    pub placed_at: Option<DateTime<Utc>>,
    /// When the current barista claimed it; null again after an unclaim.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    #[serde(
        default,
        serialize_with = "crate::stamp::serialize_option",
        deserialize_with = "crate::stamp::deserialize_option"
    )]
    pub claimed_at: Option<DateTime<Utc>>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    #[serde(
        default,
        serialize_with = "crate::stamp::serialize_option",
        deserialize_with = "crate::stamp::deserialize_option"
    )]
    pub ready_at: Option<DateTime<Utc>>,
    /// When it was collected, cancelled or timed out.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    #[serde(
        default,
        serialize_with = "crate::stamp::serialize_option",
        deserialize_with = "crate::stamp::deserialize_option"
    )]
    pub finished_at: Option<DateTime<Utc>>,
    /// When the pending deadline fires (customer: choose a drink; bar: make it); null if none.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    #[serde(
        default,
        serialize_with = "crate::stamp::serialize_option",
        deserialize_with = "crate::stamp::deserialize_option"
    )]
    pub deadline_at: Option<DateTime<Utc>>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub cancel_reason: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub cancelled_by: Option<CancelledBy>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub timeout_stage: Option<TimeoutStage>,
}

/// Where an order is in its life. See the lifecycle in DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    AwaitingDrink,
    Queued,
    InProgress,
    Ready,
    Collected,
    Cancelled,
    TimedOut,
}

impl OrderState {
    /// Every state, in lifecycle order.
    pub const ALL: [OrderState; 7] = [
        OrderState::AwaitingDrink,
        OrderState::Queued,
        OrderState::InProgress,
        OrderState::Ready,
        OrderState::Collected,
        OrderState::Cancelled,
        OrderState::TimedOut,
    ];

    /// Not finished yet: awaiting its drink, queued, in progress or ready to collect.
    pub fn is_open(self) -> bool {
        !self.is_finished()
    }

    /// Collected, cancelled or timed out: nothing more will happen to it.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            OrderState::Collected | OrderState::Cancelled | OrderState::TimedOut
        )
    }

    /// The wire name, e.g. `in_progress`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::AwaitingDrink => "awaiting_drink",
            OrderState::Queued => "queued",
            OrderState::InProgress => "in_progress",
            OrderState::Ready => "ready",
            OrderState::Collected => "collected",
            OrderState::Cancelled => "cancelled",
            OrderState::TimedOut => "timed_out",
        }
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses one wire name, as in `?state=queued,in_progress` (split on commas first).
impl FromStr for OrderState {
    type Err = UnknownOrderState;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        OrderState::ALL
            .into_iter()
            .find(|state| state.as_str() == name)
            .ok_or_else(|| UnknownOrderState(name.to_owned()))
    }
}

/// A name that is not an [`OrderState`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown order state {0:?}")]
pub struct UnknownOrderState(pub String);

/// The drink of an order as the menu named it when it was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Drink {
    pub item_id: String,
    /// The menu item's name at the time (a later menu edit does not rename past orders).
    pub name: String,
    /// Chosen option per modifier group: `{"milk": "Oat"}`.
    pub options: BTreeMap<String, String>,
}

/// `PUT …/orders/{id}/drink`, and `drink` of [`StartOrder`]: the customer's choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DrinkChoice {
    pub item_id: String,
    /// `{modifier_id: option}`; may be left out when nothing is chosen. A group given twice is
    /// refused while reading, so one group can never carry two options.
    #[serde(default, deserialize_with = "one_option_per_group")]
    pub options: BTreeMap<String, String>,
}

/// Reads `{modifier_id: option}` but refuses a repeated key, which a plain map would silently
/// resolve to the last one.
fn one_option_per_group<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    struct Options;

    impl<'de> Visitor<'de> for Options {
        type Value = BTreeMap<String, String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of modifier id to option")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut options = BTreeMap::new();
            while let Some((group, option)) = map.next_entry::<String, String>()? {
                if options.contains_key(&group) {
                    return Err(serde::de::Error::custom(format!(
                        "modifier `{group}` is given more than once: choose one option"
                    )));
                }
                options.insert(group, option);
            }
            Ok(options)
        }
    }

    deserializer.deserialize_map(Options)
}

/// `POST /api/v1/shops/{shop}/orders`: start an order with the scanned booth code, and the drink
/// at once if the customer has already chosen. Instead of `code`, a scan pass (`pass`, from
/// `POST …/passes`) that holds one of a code's orders (OPERATIONS.md "Extensions to API.md");
/// exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StartOrder {
    /// The booth code scanned (API.md); empty when `pass` is given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    /// A scan pass in place of `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass: Option<String>,
    #[serde(default)]
    pub drink: Option<DrinkChoice>,
}

/// `POST …/orders/{id}/cancel`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CancelOrder {
    #[serde(default)]
    pub reason: Option<String>,
}

/// Who ordered: enough to show and to check ownership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerRef {
    pub id: UserId,
    /// The name called out at pickup; null if the customer set none.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub display_name: Option<String>,
}

/// Who cancelled an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CancelledBy {
    Customer,
    /// A barista or an admin.
    Staff,
}

/// Whose deadline passed when an order timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TimeoutStage {
    /// The customer did not choose a drink in time.
    Customer,
    /// The bar did not make the drink in time.
    Barista,
    /// Made, but not handed over within `ready_expiry_s` ("not collected").
    Collection,
}

/// `GET /api/v1/shops/{shop}/orders/{id}`: the order and what happened to it, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderDetail {
    #[serde(flatten)]
    pub order: Order,
    pub journey: Vec<JourneyStep>,
}

/// One event of an order's journey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JourneyStep {
    /// The event's `seq` in the shop's log.
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub at: DateTime<Utc>,
}

/// `GET …/orders` (by number) and `GET /api/v1/me/orders` (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderList {
    pub orders: Vec<Order>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn awaiting() -> serde_json::Value {
        json!({
            "id": "o1",
            "shop": "main",
            "number": null,
            "state": "awaiting_drink",
            "drink": null,
            "customer": {"id": "u1", "display_name": null},
            "barista_id": null,
            "created_at": "2026-05-04T09:00:00Z",
            "placed_at": null,
            "claimed_at": null,
            "ready_at": null,
            "finished_at": null,
            "deadline_at": "2026-05-04T09:05:00Z",
            "cancel_reason": null,
            "cancelled_by": null,
            "timeout_stage": null
        })
    }

    #[test]
    fn an_order_serialises_every_documented_key_with_nulls() {
        let order: Order = serde_json::from_value(awaiting()).unwrap();
        assert_eq!(order.state, OrderState::AwaitingDrink);
        assert_eq!(serde_json::to_value(&order).unwrap(), awaiting());
    }

    #[test]
    fn a_finished_order_reads_back_whole() {
        let json = json!({
            "id": "o2",
            "shop": "main",
            "number": 7,
            "state": "cancelled",
            "drink": {"item_id": "flat_white", "name": "Flat White", "options": {"milk": "Oat"}},
            "customer": {"id": "u1", "display_name": "Ann"},
            "barista_id": "b1",
            "created_at": "2026-05-04T09:00:00Z",
            "placed_at": "2026-05-04T09:01:00Z",
            "claimed_at": "2026-05-04T09:02:00.250Z",
            "ready_at": null,
            "finished_at": "2026-05-04T09:03:00Z",
            "deadline_at": null,
            "cancel_reason": "out of oat milk",
            "cancelled_by": "staff",
            "timeout_stage": null
        });
        let order: Order = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(order.cancelled_by, Some(CancelledBy::Staff));
        assert_eq!(order.drink.as_ref().unwrap().options["milk"], "Oat");
        assert_eq!(serde_json::to_value(&order).unwrap(), json);
    }

    #[test]
    fn times_are_rfc_3339_utc() {
        let order: Order = serde_json::from_value(awaiting()).unwrap();
        let json = serde_json::to_value(&order).unwrap();
        assert_eq!(json["created_at"], "2026-05-04T09:00:00Z");
        // An offset on the way in is normalised to UTC on the way out.
        let mut shifted = awaiting();
        shifted["created_at"] = json!("2026-05-04T11:00:00+02:00");
        let order: Order = serde_json::from_value(shifted).unwrap();
        assert_eq!(
            serde_json::to_value(&order).unwrap()["created_at"],
            "2026-05-04T09:00:00Z"
        );
    }

    #[test]
    fn states_have_their_wire_names_and_split_into_open_and_finished() {
        let names: Vec<_> = OrderState::ALL
            .iter()
            .map(|s| serde_json::to_value(s).unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "awaiting_drink",
                "queued",
                "in_progress",
                "ready",
                "collected",
                "cancelled",
                "timed_out"
            ]
        );
        for state in OrderState::ALL {
            assert_eq!(state.as_str().parse::<OrderState>(), Ok(state));
            assert_ne!(state.is_open(), state.is_finished());
        }
        let open: Vec<_> = OrderState::ALL
            .into_iter()
            .filter(|s| s.is_open())
            .collect();
        assert_eq!(
            open,
            [
                OrderState::AwaitingDrink,
                OrderState::Queued,
                OrderState::InProgress,
                OrderState::Ready
            ]
        );
        assert!("done".parse::<OrderState>().is_err());
    }

    #[test]
    fn start_order_takes_an_optional_drink() {
        let bare: StartOrder = serde_json::from_value(json!({"code": "K7QX2M"})).unwrap();
        assert_eq!(bare.drink, None);
        assert_eq!(bare.pass, None);
        // A scan pass in place of the code; the code is then left out on the wire.
        let with_pass: StartOrder = serde_json::from_value(json!({"pass": "p"})).unwrap();
        assert_eq!(
            (with_pass.code.as_str(), with_pass.pass.as_deref()),
            ("", Some("p"))
        );
        assert_eq!(
            serde_json::to_value(&with_pass).unwrap(),
            json!({"pass": "p", "drink": null})
        );
        let with: StartOrder = serde_json::from_value(json!({
            "code": "K7QX2M",
            "drink": {"item_id": "flat_white", "options": {"milk": "Oat"}}
        }))
        .unwrap();
        let drink = with.drink.unwrap();
        assert_eq!(drink.item_id, "flat_white");
        assert_eq!(drink.options["milk"], "Oat");
        let no_options: DrinkChoice =
            serde_json::from_value(json!({"item_id": "espresso"})).unwrap();
        assert!(no_options.options.is_empty());
    }

    #[test]
    fn order_commands_refuse_unknown_fields() {
        assert!(
            serde_json::from_value::<StartOrder>(json!({"code": "c", "user_id": "u"})).is_err()
        );
        assert!(
            serde_json::from_value::<DrinkChoice>(
                json!({"item_id": "espresso", "options": {}, "size": "xl"})
            )
            .is_err()
        );
        assert!(serde_json::from_value::<CancelOrder>(json!({"why": "late"})).is_err());
        let cancel: CancelOrder = serde_json::from_value(json!({})).unwrap();
        assert_eq!(cancel.reason, None);
    }

    #[test]
    fn a_modifier_given_twice_is_refused() {
        let parsed: Result<DrinkChoice, _> = serde_json::from_str(
            r#"{"item_id": "flat_white", "options": {"milk": "Oat", "milk": "Regular"}}"#,
        );
        let error = parsed.unwrap_err().to_string();
        assert!(error.contains("milk"), "{error}");
    }

    #[test]
    fn order_detail_is_the_order_plus_its_journey() {
        let order: Order = serde_json::from_value(awaiting()).unwrap();
        let detail = OrderDetail {
            order,
            journey: vec![JourneyStep {
                seq: 41,
                kind: EventType::OrderCreated,
                at: "2026-05-04T09:00:00Z".parse().unwrap(),
            }],
        };
        let mut expected = awaiting();
        expected["journey"] =
            json!([{"seq": 41, "type": "order.created", "at": "2026-05-04T09:00:00Z"}]);
        let json = serde_json::to_value(&detail).unwrap();
        assert_eq!(json, expected);
        assert_eq!(serde_json::from_value::<OrderDetail>(json).unwrap(), detail);
    }

    #[test]
    fn order_lists_wrap_orders() {
        let list = OrderList {
            orders: vec![serde_json::from_value(awaiting()).unwrap()],
        };
        assert_eq!(
            serde_json::to_value(&list).unwrap(),
            json!({"orders": [awaiting()]})
        );
    }
}
