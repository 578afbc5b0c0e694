//! The booth code: the rotating code behind the QR code on the booth screen.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ShopId;

/// `GET /api/v1/shops/{shop}/code` and the payload of `code.rotated` / `code.redeemed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BoothCode {
    pub code: String,
    /// What the QR code encodes: `{public_url}/order?shop={shop}&code={code}`.
    pub order_url: String,
    pub issued_at: DateTime<Utc>,
    /// After this the code is refused with `code_expired`; a new one is issued.
    pub expires_at: DateTime<Utc>,
    /// Orders this code may still start (`drinks_per_code` at first); 0 → `code_exhausted`.
    pub remaining: u32,
}

/// `POST /api/v1/shops/{shop}/passes`: the booth code just scanned, checked before sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PassRequest {
    pub code: String,
}

/// A scan pass: the scanned code was good, and one of its orders is held for this device until
/// `expires_at`. `pass` is a secret only this answer carries (the server keeps its hash); it
/// starts one order (`POST …/orders {pass}`) even if the code rotates or runs out meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScanPass {
    pub pass: String,
    pub shop: ShopId,
    /// The booth code it was issued for.
    pub code: String,
    pub issued_at: DateTime<Utc>,
    /// After this, ordering with it is `pass_expired`: scan again.
    pub expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_booth_code_reads_as_api_md_shows_it() {
        let json = json!({
            "code": "K7QX2M",
            "order_url": "http://127.0.0.1:8080/order?shop=main&code=K7QX2M",
            "issued_at": "2026-05-04T09:00:00Z",
            "expires_at": "2026-05-04T09:05:00Z",
            "remaining": 10
        });
        let code: BoothCode = serde_json::from_value(json.clone()).unwrap();
        assert_eq!((code.expires_at - code.issued_at).num_seconds(), 300);
        assert_eq!(serde_json::to_value(&code).unwrap(), json);
    }
}
