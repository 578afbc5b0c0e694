//! The ids the API passes around, each its own type: a shop id cannot go where an order id is
//! expected. On the wire each is its plain string (`#[serde(transparent)]`): API.md's JSON is
//! unchanged, and reading one never refuses (the routes check the shop-name rule themselves, with
//! their own words); [`ShopId::parse`] (also `str::parse`) checks it where a rule applies.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[doc = $doc:literal])* $name:ident) => {
        $(#[doc = $doc])*
        #[derive(
            Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as given (no rule checked).
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        /// Read as its text where text is asked for (`&order.id` as a `&str`); an id of another
        /// kind is not this one.
        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<&String> for $name {
            fn from(id: &String) -> Self {
                Self(id.clone())
            }
        }

        impl From<&$name> for $name {
            fn from(id: &$name) -> Self {
                id.clone()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

id! {
    /// A shop's id (`main`, `reinvent-2026`): 1 to 64 ASCII letters, digits, `-` or `_`
    /// ([`ShopId::parse`]); it never changes.
    ShopId
}

id! {
    /// An order's id (`ord_…`), made by the server.
    OrderId
}

id! {
    /// A user's id (`usr_…`), made by the server: a customer, a barista, an admin.
    UserId
}

/// `name` is not a shop id: the rule is [`ShopId::parse`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a shop id: 1 to 64 letters, digits, '-' or '_'")]
pub struct NotAShopId(pub String);

impl ShopId {
    /// The shop id `id`, if it keeps the rule: 1 to 64 ASCII letters, digits, `-` or `_`.
    pub fn parse(id: &str) -> Result<Self, NotAShopId> {
        if is_shop_id(id) {
            Ok(Self(id.to_owned()))
        } else {
            Err(NotAShopId(id.to_owned()))
        }
    }

    /// The shop every server starts with ([`crate::MAIN_SHOP_ID`]).
    pub fn main() -> Self {
        Self(crate::MAIN_SHOP_ID.to_owned())
    }

    /// Does it keep the rule ([`ShopId::parse`])?
    pub fn is_valid(&self) -> bool {
        is_shop_id(&self.0)
    }
}

impl FromStr for ShopId {
    type Err = NotAShopId;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        Self::parse(id)
    }
}

/// The shop-name rule, once: 1 to 64 ASCII letters, digits, `-` or `_` (it goes in URLs and
/// paths as it is).
pub fn is_shop_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Ids the shop-name rule accepts, and ones it refuses (with why).
    const GOOD: [&str; 5] = ["main", "pop-up_2", "A", "reinvent-2026", "0"];
    const BAD: [&str; 9] = [
        "",         // empty
        "pop up",   // a space
        "a/b",      // a path separator
        "café",     // not ASCII
        "main?x=1", // a query
        "a.b",      // a dot
        "..",       // a parent path
        "%2e",      // an escape
        "tab\t",    // a control character
    ];

    #[test]
    fn an_id_is_its_plain_string_on_the_wire() {
        let order = OrderId::new("ord_1");
        assert_eq!(serde_json::to_string(&order).unwrap(), "\"ord_1\"");
        assert_eq!(
            serde_json::to_value(UserId::new("usr_1")).unwrap(),
            json!("usr_1")
        );
        let read: ShopId = serde_json::from_str("\"main\"").unwrap();
        assert_eq!(read, ShopId::main());
        assert_eq!(read.to_string(), "main");
        assert_eq!(read, "main");
        // Reading never refuses: the routes check the rule with their own words.
        let odd: ShopId = serde_json::from_str("\"no such/shop\"").unwrap();
        assert!(!odd.is_valid());
        // Only a string is an id.
        assert!(serde_json::from_value::<OrderId>(json!(42)).is_err());
        assert!(serde_json::from_value::<ShopId>(json!({ "id": "main" })).is_err());
    }

    #[test]
    fn each_id_round_trips_through_json_unchanged() {
        for text in GOOD.iter().chain(&BAD) {
            let shop = ShopId::new(*text);
            let json = serde_json::to_string(&shop).unwrap();
            assert_eq!(json, serde_json::to_string(text).unwrap(), "{text:?}");
            assert_eq!(serde_json::from_str::<ShopId>(&json).unwrap(), shop);
            let order = OrderId::new(*text);
            assert_eq!(
                serde_json::from_value::<OrderId>(json!(text)).unwrap(),
                order
            );
            let user = UserId::new(*text);
            assert_eq!(serde_json::to_value(&user).unwrap(), json!(text));
        }
    }

    #[test]
    fn a_shop_id_keeps_the_rule_when_parsed() {
        for good in GOOD {
            assert_eq!(good.parse::<ShopId>(), Ok(ShopId::new(good)), "{good:?}");
            assert!(ShopId::new(good).is_valid(), "{good:?}");
        }
        let long = "x".repeat(65);
        for bad in BAD.iter().copied().chain([long.as_str()]) {
            assert_eq!(
                ShopId::parse(bad),
                Err(NotAShopId(bad.to_owned())),
                "{bad:?}"
            );
            assert!(!ShopId::new(bad).is_valid(), "{bad:?}");
            assert!(!is_shop_id(bad), "{bad:?}");
        }
        assert!(ShopId::parse(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn the_wire_types_carry_ids_as_plain_strings() {
        // An order as API.md writes it: reading it and writing it back changes nothing.
        let wire = json!({
            "id": "ord_1", "shop": "main", "number": 7, "state": "in_progress",
            "drink": null, "customer": { "id": "usr_c", "display_name": "Ann" },
            "barista_id": "usr_b", "created_at": "2026-05-04T09:00:00Z",
            "placed_at": "2026-05-04T09:00:10Z", "claimed_at": "2026-05-04T09:00:20Z",
            "ready_at": null, "finished_at": null, "deadline_at": null, "cancel_reason": null,
            "cancelled_by": null, "timeout_stage": null
        });
        let order: crate::Order = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(order.id, OrderId::new("ord_1"));
        assert_eq!(order.shop, ShopId::main());
        assert_eq!(order.customer.id, UserId::new("usr_c"));
        assert_eq!(order.barista_id, Some(UserId::new("usr_b")));
        assert_eq!(serde_json::to_value(&order).unwrap(), wire);
    }
}
