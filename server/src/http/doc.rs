//! What the handlers' `#[utoipa::path]` attributes share: the typed path parameters, the
//! `Idempotency-Key` header and the problem answers. `openapi.rs` gathers the handlers into the
//! document; this module depends on no handler, so neither depends on the other's module.
//!
//! A problem answer is a type whose [`utoipa::IntoResponses`] is one status with its description
//! and an `application/problem+json` [`Problem`](espresso_protocol::Problem) body, declared
//! with [`problems!`]; [`problem_groups!`] names a few that always come together. A route lists
//! them by name: `responses((status = 200, …), JsonBody, Unauthenticated, NoShop)`.

use std::collections::BTreeMap;

use espresso_protocol::{OrderId, ShopId};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

/// The media type of every refusal (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One documented refusal: `description`, with a `Problem` body.
pub fn problem(description: &str) -> RefOr<utoipa::openapi::Response> {
    let body = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, body)
        .build()
        .into()
}

/// A 429 `rate_limited` refusal: `description`, a `Problem` body (its `retry_after_s`) and the
/// `Retry-After` header, which every rate limit sends.
pub fn rate_limited(description: &str) -> RefOr<utoipa::openapi::Response> {
    let body = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    let retry_after = HeaderBuilder::new()
        .schema(Some(Object::with_type(Type::Integer)))
        .description(Some("Seconds until a retry can succeed"))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, body)
        .header("Retry-After", retry_after)
        .build()
        .into()
}

/// The responses map of `IntoResponses`.
pub type Responses = BTreeMap<String, RefOr<utoipa::openapi::Response>>;

/// `Name: status "description";` declares a unit struct documenting that refusal.
macro_rules! problems {
    ($($(#[$attr:meta])* $vis:vis $name:ident: $status:literal $description:literal;)*) => {$(
        $(#[$attr])*
        $vis struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> $crate::http::doc::Responses {
                ::std::collections::BTreeMap::from([(
                    $status.to_string(),
                    $crate::http::doc::problem($description),
                )])
            }
        }
    )*};
}
pub(crate) use problems;

/// `Name: "description";` declares a unit struct documenting a 429 `rate_limited` refusal
/// ([`rate_limited`]: with its `Retry-After`).
macro_rules! rate_limits {
    ($($(#[$attr:meta])* $vis:vis $name:ident: $description:literal;)*) => {$(
        $(#[$attr])*
        $vis struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> $crate::http::doc::Responses {
                ::std::collections::BTreeMap::from([(
                    "429".to_owned(),
                    $crate::http::doc::rate_limited($description),
                )])
            }
        }
    )*};
}
pub(crate) use rate_limits;

rate_limits! {
    /// Past an anonymous route's limits (per address, per email): when to try again.
    pub RateLimited: "`rate_limited`: `retry_after_s` and `Retry-After` say when to try again";
}

/// `Name = A + B;` declares a unit struct documenting the refusals `A` and `B` together.
macro_rules! problem_groups {
    ($($(#[$attr:meta])* $vis:vis $name:ident = $first:ident $(+ $rest:ident)*;)*) => {$(
        $(#[$attr])*
        $vis struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> $crate::http::doc::Responses {
                let mut all = <$first as utoipa::IntoResponses>::responses();
                $(all.extend(<$rest as utoipa::IntoResponses>::responses());)*
                all
            }
        }
    )*};
}

problems! {
    pub Unauthenticated: 401 "`unauthenticated`";
    /// A JSON command refused before it is read.
    pub BadJson: 400 "`bad_request`: not JSON, or a bad Idempotency-Key";
    /// A command without a body refused before it is read.
    pub BadKey: 400 "`bad_request`: a bad Idempotency-Key";
    pub TooLarge: 413 "`payload_too_large`: body over 64 KiB";
    pub NotJson: 415 "`unsupported_media_type`: the body is not `application/json`";
    pub KeyReused: 422 "`idempotency_key_reused`";
    pub NotABarista: 403 "`forbidden`: not a barista";
    pub NotAnAdmin: 403 "`forbidden`: not an admin";
    pub NoShop: 404 "`not_found`: no such shop";
    pub NoOrder: 404 "`not_found`: no such shop or order, or another customer's order";
    pub NotInThisState: 409 "`invalid_transition` (with the current `state`)";
}

problem_groups! {
    /// What every JSON body may be refused for before it is read.
    pub JsonBody = BadJson + TooLarge + NotJson;
    /// What every bodiless order action may be refused for besides its own rules.
    pub OrderAction = BadKey + Unauthenticated + NoOrder + KeyReused;
}

/// `{shop}` in a route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ShopPath {
    /// The shop id, e.g. `main`
    #[param(value_type = String)]
    pub shop: ShopId,
}

/// `{shop}` and `{id}` in an order's route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OrderPath {
    /// The shop id, e.g. `main`
    #[param(value_type = String)]
    pub shop: ShopId,
    /// The order id
    #[param(value_type = String)]
    pub id: OrderId,
}

/// `{shop}` and `{item_id}` in a menu item's route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MenuItemPath {
    /// The shop id, e.g. `main`
    #[param(value_type = String)]
    pub shop: ShopId,
    /// The menu item id, e.g. `flat_white`
    pub item_id: String,
}

/// `{shop}`, `{item_id}` and `{modifier_id}` in an option group's route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ModifierPath {
    /// The shop id, e.g. `main`
    #[param(value_type = String)]
    pub shop: ShopId,
    /// The menu item id, e.g. `flat_white`
    pub item_id: String,
    /// The option group's id on that item, e.g. `milk`
    pub modifier_id: String,
}

/// `{email}` in a user's route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The user's email address
    pub email: String,
}

/// The `Idempotency-Key` header every mutating route (POST, PUT, PATCH) honours. Only its
/// description is used (`params(IdempotencyKey)` on a route); it is read by the idempotency layer.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct IdempotencyKey {
    /// Optional, at most 255 visible ASCII characters. A retry with the same key and body gets
    /// the first answer again and changes nothing; the same key with another body is refused
    /// with 422 `idempotency_key_reused`. Keys are kept at least 24 h, per caller and route.
    #[param(
        rename = "Idempotency-Key",
        value_type = String,
        required = false,
        min_length = 1,
        max_length = 255
    )]
    idempotency_key: Option<String>,
}

#[cfg(test)]
mod tests {
    use utoipa::IntoResponses;

    use super::*;

    #[test]
    fn a_group_documents_each_of_its_refusals_as_problem_json() {
        let responses = JsonBody::responses();
        assert_eq!(
            responses.keys().map(String::as_str).collect::<Vec<_>>(),
            ["400", "413", "415"]
        );
        for (status, response) in responses {
            let RefOr::T(response) = response else {
                panic!("{status}: a reference, not an inline response");
            };
            let content = serde_json::to_value(&response.content[PROBLEM_JSON]).ok();
            assert_eq!(
                content.as_ref().map(|c| &c["schema"]),
                Some(&serde_json::json!({"$ref": "#/components/schemas/Problem"})),
                "{status}"
            );
        }
        assert_eq!(OrderAction::responses().len(), 4);
    }
}
