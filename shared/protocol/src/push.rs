//! Web Push (RFC 8030, VAPID RFC 8292, payloads RFC 8291): the server's public key, a
//! customer's subscriptions, and the message pushed when one of their orders is ready, cancelled
//! or timed out.

use serde::{Deserialize, Serialize};

use crate::{OrderId, OrderState, ShopId};

/// `GET /api/v1/push/key`: the server's VAPID public key (`applicationServerKey`), an
/// uncompressed P-256 point in base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushKey {
    pub public_key: String,
}

/// The keys of a browser's push subscription (`PushSubscription.toJSON().keys`), base64url.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushKeys {
    /// The subscription's P-256 public key (65 bytes, uncompressed).
    pub p256dh: String,
    /// Its authentication secret (16 bytes).
    pub auth: String,
}

/// `POST /api/v1/push/subscriptions`: where to push the signed-in customer's order news.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushSubscription {
    /// The push service's URL for this subscription (`https://`).
    pub endpoint: String,
    pub keys: PushKeys,
}

/// `DELETE /api/v1/push/subscriptions`: stop pushing to this endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushUnsubscribe {
    pub endpoint: String,
}

/// What a push carries (JSON, encrypted for the subscription): the service worker shows
/// `title` and `body` and opens `url` on a tap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushMessage {
    pub title: String,
    pub body: String,
    pub order_id: OrderId,
    /// The order's number of the day, once it has one.
    pub number: Option<u32>,
    pub state: OrderState,
    /// The shop's id.
    pub shop: ShopId,
    /// The shop's name.
    pub shop_name: String,
    /// The customer's order page.
    pub url: String,
    /// One notification per order: a newer one replaces it.
    pub tag: String,
}
