//! `GET /api/openapi.json`: the OpenAPI 3.1 document of API.md, generated from the code. The
//! routes are described by `#[utoipa::path]` on their handlers, the bodies by the wire types of
//! `espresso_protocol` (its `openapi` feature); this file only gathers them.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use espresso_protocol::{
    App, BoothCode, CancelOrder, CancelledBy, ClientFrame, CustomerRef, DayStats, DemoState, Drink,
    DrinkChoice, ErrorCode, Event, EventType, Health, HealthStatus, Invitation, ItemCount,
    ItemStats, JourneyStep, Limits, LimitsPatch, LinkSignIn, LinkTo, Me, MePatch, MenuItem,
    MenuItemPatch, Modifier, NewShop, OptionAvailability, Order, OrderDetail, OrderList,
    OrderState, OtpChallenge, OtpRequest, OtpVerify, PassRequest, PeriodStats, Problem, PushKey,
    PushKeys, PushMessage, PushSubscription, PushUnsubscribe, ReasonCount, RefreshRequest, Role,
    RolesUpdate, ScanPass, Scope, ServerFrame, Session, Shop, ShopPatch, ShopSummary, StaffMember,
    StartOrder, Stats, StatsReport, TimeoutStage, TokenType, User,
};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{auth, export, live, orders, push, report, shops};
use crate::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Espresso API",
        version = env!("CARGO_PKG_VERSION"),
        description = "The Espresso HTTP and live API, version 1 (API.md). JSON bodies with \
            snake_case fields, RFC 3339 UTC times, opaque string ids. Every refusal is an RFC 9457 \
            `application/problem+json` body with a stable `code`. Auth is \
            `Authorization: Bearer <access_token>`."
    ),
    paths(
        auth::request_code,
        auth::verify_code,
        auth::refresh,
        auth::logout,
        auth::me,
        auth::patch_me,
        auth::put_roles,
        auth::staff,
        auth::invite,
        auth::sign_in_with_link,
        shops::list_shops,
        shops::create_shop,
        shops::get_shop,
        shops::patch_shop,
        shops::put_menu,
        shops::patch_menu_item,
        shops::patch_option,
        shops::get_stats,
        shops::get_demo,
        shops::put_demo,
        shops::get_code,
        shops::rotate_code,
        orders::issue_pass,
        orders::start_order,
        orders::list_orders,
        orders::get_order,
        orders::choose_drink,
        orders::cancel,
        orders::claim,
        orders::unclaim,
        orders::complete,
        orders::collect,
        orders::my_orders,
        export::orders_csv,
        report::stats_days,
        report::stats_days_csv,
        push::push_key,
        push::subscribe,
        push::unsubscribe,
        live::live,
        super::healthz,
        super::readyz,
        crate::metrics::render,
        serve,
    ),
    components(schemas(
        Problem,
        ErrorCode,
        OtpRequest,
        LinkTo,
        App,
        OtpChallenge,
        OtpVerify,
        RefreshRequest,
        TokenType,
        Session,
        User,
        Role,
        Me,
        MePatch,
        RolesUpdate,
        StaffMember,
        Invitation,
        LinkSignIn,
        Shop,
        ShopSummary,
        MenuItem,
        Modifier,
        Limits,
        ShopPatch,
        NewShop,
        LimitsPatch,
        MenuItemPatch,
        OptionAvailability,
        Stats,
        ItemStats,
        DemoState,
        StatsReport,
        DayStats,
        PeriodStats,
        ItemCount,
        ReasonCount,
        BoothCode,
        Order,
        OrderState,
        Drink,
        DrinkChoice,
        StartOrder,
        PassRequest,
        ScanPass,
        CancelOrder,
        CustomerRef,
        CancelledBy,
        TimeoutStage,
        OrderDetail,
        JourneyStep,
        OrderList,
        Event,
        EventType,
        ClientFrame,
        ServerFrame,
        Scope,
        Health,
        HealthStatus,
        PushKey,
        PushKeys,
        PushSubscription,
        PushUnsubscribe,
        PushMessage,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "One-time-code sign-in, sessions, the signed-in user, roles"),
        (name = "shops", description = "A shop: open or closed, menu, limits, stats, booth code"),
        (name = "orders", description = "Starting, choosing, making and collecting orders"),
        (name = "push", description = "Web Push: the server's key and a customer's subscriptions"),
        (name = "live", description = "The live stream of a shop's events (WebSocket)"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
    ),
)]
struct ApiDoc;

/// Adds the `bearer` scheme the authenticated routes name in their `security`.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The `access_token` of a session (`POST /api/v1/auth/otp/verify` or \
                         `/auth/refresh`), sent as `Authorization: Bearer <access_token>`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Serialised once: the document does not change while the server runs.
static DOCUMENT_JSON: LazyLock<Result<String, String>> =
    LazyLock::new(|| document().to_json().map_err(|e| e.to_string()));

/// This document
///
/// The OpenAPI 3.1 document of this API, generated from the code.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "operations",
    responses((
        status = 200,
        description = "The OpenAPI document",
        body = Object,
        content_type = "application/json"
    )),
)]
pub async fn serve() -> Response {
    match &*DOCUMENT_JSON {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json.as_str()).into_response(),
        Err(error) => ApiError::internal(format!("OpenAPI document: {error}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use serde_json::Value;
    use tower::ServiceExt;

    use super::*;

    fn json() -> Value {
        serde_json::to_value(document()).unwrap()
    }

    /// Every route of API.md, written out by hand from it (not from the router).
    const API_MD_ROUTES: &[(&str, &str)] = &[
        // Auth
        ("post", "/api/v1/auth/otp"),
        ("post", "/api/v1/auth/otp/verify"),
        ("post", "/api/v1/auth/refresh"),
        ("post", "/api/v1/auth/logout"),
        ("get", "/api/v1/me"),
        ("patch", "/api/v1/me"),
        ("put", "/api/v1/users/{email}/roles"),
        // Shop
        ("get", "/api/v1/shops/{shop}"),
        ("patch", "/api/v1/shops/{shop}"),
        ("put", "/api/v1/shops/{shop}/menu"),
        ("patch", "/api/v1/shops/{shop}/menu/{item_id}"),
        ("get", "/api/v1/shops/{shop}/stats"),
        // Booth code
        ("get", "/api/v1/shops/{shop}/code"),
        // Orders
        ("post", "/api/v1/shops/{shop}/orders"),
        ("put", "/api/v1/shops/{shop}/orders/{id}/drink"),
        ("post", "/api/v1/shops/{shop}/orders/{id}/cancel"),
        ("post", "/api/v1/shops/{shop}/orders/{id}/claim"),
        ("post", "/api/v1/shops/{shop}/orders/{id}/unclaim"),
        ("post", "/api/v1/shops/{shop}/orders/{id}/complete"),
        ("post", "/api/v1/shops/{shop}/orders/{id}/collect"),
        ("get", "/api/v1/shops/{shop}/orders"),
        ("get", "/api/v1/shops/{shop}/orders/{id}"),
        ("get", "/api/v1/me/orders"),
        // Live stream
        ("get", "/api/v1/live"),
        // Operations
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
        ("get", "/api/openapi.json"),
    ];

    /// Routes beyond API.md, each listed in OPERATIONS.md "Extensions to API.md".
    const EXTENSIONS: &[(&str, &str)] = &[
        ("post", "/api/v1/shops"),
        ("get", "/api/v1/shops"),
        ("post", "/api/v1/shops/{shop}/code/rotate"),
        ("get", "/api/v1/staff"),
        (
            "patch",
            "/api/v1/shops/{shop}/menu/{item_id}/modifiers/{modifier_id}",
        ),
        ("get", "/api/v1/shops/{shop}/orders.csv"),
        ("get", "/api/v1/shops/{shop}/stats/days"),
        ("get", "/api/v1/shops/{shop}/stats/days.csv"),
        ("post", "/api/v1/staff/invitations"),
        ("post", "/api/v1/auth/link"),
        ("get", "/api/v1/shops/{shop}/demo"),
        ("put", "/api/v1/shops/{shop}/demo"),
        ("post", "/api/v1/shops/{shop}/passes"),
        ("get", "/api/v1/push/key"),
        ("post", "/api/v1/push/subscriptions"),
        ("delete", "/api/v1/push/subscriptions"),
    ];

    const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];

    fn operations(doc: &Value) -> BTreeSet<(String, String)> {
        let paths = doc["paths"].as_object().expect("paths");
        paths
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .expect("path item")
                    .keys()
                    .filter(|key| METHODS.contains(&key.as_str()))
                    .map(move |method| (method.clone(), path.clone()))
            })
            .collect()
    }

    #[test]
    fn the_document_serialises_as_openapi_3_1() {
        let text = document().to_pretty_json().unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["info"]["title"], "Espresso API");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn every_route_of_api_md_is_documented_with_its_method() {
        let documented = operations(&json());
        let expected: BTreeSet<(String, String)> = API_MD_ROUTES
            .iter()
            .chain(EXTENSIONS)
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        let missing: Vec<_> = expected.difference(&documented).collect();
        assert!(missing.is_empty(), "not in the document: {missing:?}");
        let extra: Vec<_> = documented.difference(&expected).collect();
        assert!(extra.is_empty(), "not in API.md: {extra:?}");
        assert_eq!(documented.len(), 44);
    }

    #[test]
    fn every_operation_has_a_description_and_a_success_response() {
        let doc = json();
        for (method, path) in operations(&doc) {
            let op = &doc["paths"][&path][&method];
            assert!(
                op["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{method} {path}: no description"
            );
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses
                    .keys()
                    .any(|status| status.starts_with('1') || status.starts_with('2')),
                "{method} {path}: no success response"
            );
        }
    }

    fn collect_refs<'a>(value: &'a Value, refs: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    if key == "$ref" {
                        refs.push(value.as_str().expect("$ref is a string"));
                    } else {
                        collect_refs(value, refs);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
            _ => {}
        }
    }

    #[test]
    fn every_ref_resolves_to_a_component() {
        let doc = json();
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(
            refs.contains(&"#/components/schemas/Problem"),
            "the document refers to Problem"
        );
        for reference in refs {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("{reference}: not a local reference"));
            assert!(
                pointer.starts_with("/components/"),
                "{reference}: not a component"
            );
            assert!(
                doc.pointer(pointer).is_some(),
                "{reference} does not resolve"
            );
        }
    }

    #[test]
    fn the_wire_types_and_the_live_frames_are_components() {
        let doc = json();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for name in [
            "Problem",
            "ErrorCode",
            "Order",
            "OrderDetail",
            "DrinkChoice",
            "Shop",
            "Event",
            "ClientFrame",
            "ServerFrame",
            "Scope",
        ] {
            assert!(schemas.contains_key(name), "{name} is not a component");
        }
        let codes = schemas["ErrorCode"]["enum"].as_array().unwrap();
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        assert!(codes.contains(&Value::from("idempotency_key_reused")));
    }

    #[test]
    fn refusals_are_problem_json() {
        let doc = json();
        let conflict =
            &doc["paths"]["/api/v1/shops/{shop}/orders"]["post"]["responses"]["409"]["content"];
        assert_eq!(
            conflict["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
    }

    #[test]
    fn mutating_routes_document_the_idempotency_key_and_bearer_auth() {
        let doc = json();
        for (method, path) in operations(&doc) {
            if !matches!(method.as_str(), "post" | "put" | "patch") {
                continue;
            }
            let params = doc["paths"][&path][&method]["parameters"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path}: no parameters"));
            let key = params
                .iter()
                .find(|p| p["name"] == "Idempotency-Key")
                .unwrap_or_else(|| panic!("{method} {path}: no Idempotency-Key"));
            assert_eq!(key["in"], "header");
            assert_eq!(key["required"], false);
        }
        let start = &doc["paths"]["/api/v1/shops/{shop}/orders"]["post"];
        assert_eq!(start["security"], serde_json::json!([{"bearer": []}]));
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        assert!(
            doc["paths"]["/api/v1/shops/{shop}"]["get"]
                .get("security")
                .is_none(),
            "reading a shop needs no token"
        );
    }

    #[test]
    fn the_live_route_is_a_websocket_upgrade() {
        let doc = json();
        let live = &doc["paths"]["/api/v1/live"]["get"];
        assert!(live["responses"].get("101").is_some());
        assert!(
            live["description"]
                .as_str()
                .is_some_and(|d| d.contains("ServerFrame"))
        );
    }

    #[tokio::test]
    async fn the_router_serves_the_document() {
        let store = crate::store::SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap();
        let app = super::super::router(super::super::AppState::new(
            store,
            PathBuf::from("/nonexistent"),
            crate::mailer::Mailer::Log,
        ));
        let response = app
            .oneshot(
                Request::get("/api/openapi.json")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
            .await
            .unwrap();
        let served: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(served, json());
    }
}
