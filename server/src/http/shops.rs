//! Shop routes: state, menu, stats and the booth code (API.md "Shop", "Booth code").

use std::collections::HashSet;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, patch};
use chrono::Utc;
use espresso_protocol::{
    BoothCode, DemoState, ErrorCode, MenuItem, MenuItemPatch, NewShop, OptionAvailability, Shop,
    ShopPatch, ShopSummary, Stats, is_shop_id,
};

use super::AppState;
use super::doc::{
    BadKey, IdempotencyKey, JsonBody, MenuItemPath, ModifierPath, NoShop, NotABarista, NotAnAdmin,
    ShopPath, Unauthenticated, problems,
};
use super::extract::{ApiJson, ApiJsonList, ApiPath, ApiQuery, Caller};
use super::idempotency::{Idempotent, answer};
use crate::error::{ApiError, ApiResult};
use crate::policy::Action;

problems! {
    ShopExists: 409 "`shop_exists`: that id is taken";
    BadNewShop: 422
        "`validation_failed` (the id, the name or an unknown time zone), `idempotency_key_reused`";
    MayNotPatch: 403
        "`forbidden`: not a barista, or `name`/`limits`/`time_zone`/`archived` without admin";
    BadShopPatch: 422
        "`validation_failed` (empty name, a zero limit, an unknown time zone, opening an archived \
         shop, unknown field), `idempotency_key_reused`";
    BadDemo: 422 "`validation_failed` (unknown field), `idempotency_key_reused`";
    NotStaff: 403 "`forbidden`: a customer (no role beyond customer)";
    BadListQuery: 422 "`validation_failed`: `archived` is not `true` or `false`";
    BadMenu: 422
        "`validation_failed` (duplicate ids, empty names, an unavailable option the group does \
         not offer, unknown field), `idempotency_key_reused`";
    NoMenuItem: 404 "`not_found`: no such shop or menu item";
    NoModifier: 404 "`not_found`: no such shop, menu item or option group";
    BadOptionPatch: 422
        "`validation_failed` (an option the group does not offer, unknown field), \
         `idempotency_key_reused`";
    BadItemPatch: 422 "`validation_failed` (unknown field), `idempotency_key_reused`";
    KeyReused: 422 "`idempotency_key_reused`";
    NotDisplayOrBarista: 403 "`forbidden`: not a display or barista";
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/shops", get(list_shops).post(create_shop))
        .route("/shops/{shop}", get(get_shop).patch(patch_shop))
        .route("/shops/{shop}/menu", axum::routing::put(put_menu))
        .route("/shops/{shop}/menu/{item_id}", patch(patch_menu_item))
        .route(
            "/shops/{shop}/menu/{item_id}/modifiers/{modifier_id}",
            patch(patch_option),
        )
        .route("/shops/{shop}/stats", get(get_stats))
        .route("/shops/{shop}/demo", get(get_demo).put(put_demo))
        .route("/shops/{shop}/code", get(get_code))
        .route(
            "/shops/{shop}/code/rotate",
            axum::routing::post(rotate_code),
        )
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `true`: archived shops too (past events); by default they are left out.
    archived: Option<bool>,
}

/// The shops (staff)
///
/// Every shop (a counter, an event) as `{id, name, open, time_zone, archived}`, sorted by name
/// (then id), for a shop picker. Archived shops are left out unless `?archived=true`.
#[utoipa::path(
    get,
    path = "/api/v1/shops",
    tag = "shops",
    params(ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The shops, by name", body = Vec<ShopSummary>),
        Unauthenticated,
        NotStaff,
        BadListQuery,
    ),
)]
async fn list_shops(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<ApiJson<Vec<ShopSummary>>> {
    caller.require(Action::ListShops)?;
    let mut shops: Vec<ShopSummary> = state
        .store()
        .shops()
        .await?
        .iter()
        .filter(|shop| query.archived == Some(true) || !shop.archived)
        .map(ShopSummary::from)
        .collect();
    shops.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    Ok(ApiJson(shops))
}

/// Create a shop (admin)
///
/// A second counter, or tomorrow's event: `{id, name, time_zone?}`. It starts closed, with the
/// original's menu and the default limits, and has its own booth code, queue, numbers and live
/// stream; its business day follows its time zone (an IANA name, `UTC` when left out).
#[utoipa::path(
    post,
    path = "/api/v1/shops",
    tag = "shops",
    params(IdempotencyKey),
    request_body = NewShop,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new shop", body = Shop),
        JsonBody,
        Unauthenticated,
        NotAnAdmin,
        ShopExists,
        BadNewShop,
    ),
)]
async fn create_shop(
    State(state): State<AppState>,
    caller: Caller,
    idempotent: Idempotent,
    ApiJson(new): ApiJson<NewShop>,
) -> ApiResult<Response> {
    caller.require(Action::Administer)?;
    if !is_shop_id(&new.id) {
        return Err(ApiError::detail(
            ErrorCode::ValidationFailed,
            "the id is 1 to 64 letters, digits, - or _",
        ));
    }
    let name_length = new.name.trim().chars().count();
    if name_length == 0 || name_length > 64 {
        return Err(ApiError::detail(
            ErrorCode::ValidationFailed,
            "the name is 1 to 64 characters",
        ));
    }
    let mut shop = new.shop();
    if let Some(name) = &new.time_zone {
        shop.time_zone = known_time_zone(name)?;
    }
    let shop = state
        .store()
        .create_shop(shop, Utc::now(), idempotent.remember(StatusCode::CREATED))
        .await?;
    Ok(answer(shop, StatusCode::CREATED))
}

/// A shop
///
/// Whether it is open, its menu and its limits. Anyone may read it.
#[utoipa::path(
    get,
    path = "/api/v1/shops/{shop}",
    tag = "shops",
    params(ShopPath),
    responses(
        (status = 200, description = "The shop", body = Shop),
        NoShop,
    ),
)]
async fn get_shop(
    State(state): State<AppState>,
    ApiPath(ShopPath { shop }): ApiPath<ShopPath>,
) -> ApiResult<ApiJson<Shop>> {
    Ok(ApiJson(state.store().shop(&shop).await?))
}

/// Change a shop
///
/// Baristas open and close the shop; only an admin renames it, changes its limits or its time
/// zone (an IANA name: the business day — order numbers, daily limits, served today — starts at
/// midnight there), or archives it (`archived: true`: it closes and cannot be opened until
/// unarchived — 422 `validation_failed`; its orders and numbers stay).
/// PATCH semantics: fields given change, the rest stay (also inside `limits`).
#[utoipa::path(
    patch,
    path = "/api/v1/shops/{shop}",
    tag = "shops",
    params(ShopPath, IdempotencyKey),
    request_body = ShopPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The shop after the change", body = Shop),
        JsonBody,
        Unauthenticated,
        MayNotPatch,
        NoShop,
        BadShopPatch,
    ),
)]
async fn patch_shop(
    State(state): State<AppState>,
    caller: Caller,
    idempotent: Idempotent,
    ApiPath(ShopPath { shop }): ApiPath<ShopPath>,
    ApiJson(patch): ApiJson<ShopPatch>,
) -> ApiResult<Response> {
    caller.require(if patch.needs_admin() {
        Action::Administer
    } else {
        Action::WorkTheBar
    })?;
    if let Some(name) = &patch.name
        && (name.trim().is_empty() || name.chars().count() > 64)
    {
        return Err(ApiError::detail(
            ErrorCode::ValidationFailed,
            "the name must be 1 to 64 characters",
        ));
    }
    if let Some(limits) = &patch.limits {
        let zero = |v: Option<u32>| v == Some(0);
        if zero(limits.drinks_per_code)
            || zero(limits.code_rotation_s)
            || zero(limits.customer_timeout_s)
            || zero(limits.barista_timeout_s)
            || zero(limits.max_queue)
        {
            return Err(ApiError::detail(
                ErrorCode::ValidationFailed,
                "limits must be at least 1 (only max_orders_per_day may be 0: unlimited, and \
                 ready_expiry_s: never)",
            ));
        }
    }
    let mut patch = patch;
    if let Some(name) = &patch.time_zone {
        patch.time_zone = Some(known_time_zone(name)?);
    }
    let shop = state
        .store()
        .update_shop(
            &shop,
            Utc::now(),
            Box::new(move |s| {
                let archived = patch.archived.unwrap_or(s.archived);
                if archived && patch.open == Some(true) {
                    return Err(crate::store::StoreError::refused(
                        ErrorCode::ValidationFailed,
                        format!(
                            "{} is archived: unarchive it first (archived: false)",
                            s.name
                        ),
                    ));
                }
                s.apply(&patch);
                Ok(())
            }),
            idempotent.remember(StatusCode::OK),
        )
        .await?;
    Ok(answer(shop, StatusCode::OK))
}

/// Replace the menu (admin)
///
/// The whole menu, in order. Item ids must be unique; every modifier group needs a unique id
/// and at least one option.
#[utoipa::path(
    put,
    path = "/api/v1/shops/{shop}/menu",
    tag = "shops",
    params(ShopPath, IdempotencyKey),
    request_body = Vec<MenuItem>,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The shop with the new menu", body = Shop),
        JsonBody,
        Unauthenticated,
        NotAnAdmin,
        NoShop,
        BadMenu,
    ),
)]
async fn put_menu(
    State(state): State<AppState>,
    caller: Caller,
    idempotent: Idempotent,
    ApiPath(ShopPath { shop }): ApiPath<ShopPath>,
    ApiJsonList(menu): ApiJsonList<MenuItem>,
) -> ApiResult<Response> {
    caller.require(Action::Administer)?;
    validate_menu(&menu)?;
    let shop = state
        .store()
        .update_shop(
            &shop,
            Utc::now(),
            Box::new(move |s| {
                s.menu = menu;
                Ok(())
            }),
            idempotent.remember(StatusCode::OK),
        )
        .await?;
    Ok(answer(shop, StatusCode::OK))
}

/// An IANA time zone name as the time zone database spells it, or `validation_failed`.
fn known_time_zone(name: &str) -> ApiResult<String> {
    crate::workflow::time_zone(name.trim())
        .map(|zone| zone.name().to_owned())
        .ok_or_else(|| {
            ApiError::detail(
                ErrorCode::ValidationFailed,
                format!(
                    "unknown time zone {name:?}: use an IANA name such as America/Los_Angeles or \
                     Europe/London"
                ),
            )
        })
}

fn validate_menu(menu: &[MenuItem]) -> ApiResult<()> {
    let mut ids = HashSet::new();
    for item in menu {
        if item.id.trim().is_empty() || item.name.trim().is_empty() {
            return Err(ApiError::detail(
                ErrorCode::ValidationFailed,
                "every item needs an id and a name",
            ));
        }
        if !ids.insert(item.id.as_str()) {
            return Err(ApiError::detail(
                ErrorCode::ValidationFailed,
                format!("item id {:?} is used twice", item.id),
            ));
        }
        let mut groups = HashSet::new();
        for modifier in &item.modifiers {
            if !groups.insert(modifier.id.as_str()) || modifier.options.is_empty() {
                return Err(ApiError::detail(
                    ErrorCode::ValidationFailed,
                    format!(
                        "{}: modifier groups need a unique id and at least one option",
                        item.name
                    ),
                ));
            }
            if let Some(stray) = modifier.unavailable.iter().find(|o| !modifier.offers(o)) {
                return Err(ApiError::detail(
                    ErrorCode::ValidationFailed,
                    format!(
                        "{} {}: {stray:?} is marked unavailable but is not one of its options",
                        item.name, modifier.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// "86" a drink (and bring it back)
///
/// A barista marks a menu item as run out (`available: false`) or back on (`true`).
#[utoipa::path(
    patch,
    path = "/api/v1/shops/{shop}/menu/{item_id}",
    tag = "shops",
    params(MenuItemPath, IdempotencyKey),
    request_body = MenuItemPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The shop after the change", body = Shop),
        JsonBody,
        Unauthenticated,
        NotABarista,
        NoMenuItem,
        BadItemPatch,
    ),
)]
async fn patch_menu_item(
    State(state): State<AppState>,
    caller: Caller,
    idempotent: Idempotent,
    ApiPath(MenuItemPath { shop, item_id }): ApiPath<MenuItemPath>,
    ApiJson(patch): ApiJson<MenuItemPatch>,
) -> ApiResult<Response> {
    caller.require(Action::WorkTheBar)?;
    let shop = state
        .store()
        .update_shop(
            &shop,
            Utc::now(),
            Box::new(move |s| {
                let item = s.menu.iter_mut().find(|i| i.id == item_id).ok_or_else(|| {
                    crate::store::StoreError::not_found(format!("no menu item {item_id:?}"))
                })?;
                item.available = patch.available;
                Ok(())
            }),
            idempotent.remember(StatusCode::OK),
        )
        .await?;
    Ok(answer(shop, StatusCode::OK))
}

/// "86" an option (and bring it back)
///
/// A barista marks one option of a drink's group as run out (`available: false`, e.g. oat milk
/// on the Flat White) or back on (`true`). It is listed in the group's `unavailable`; ordering
/// the drink with it is refused with `item_unavailable`. Every screen hears `shop.updated`.
#[utoipa::path(
    patch,
    path = "/api/v1/shops/{shop}/menu/{item_id}/modifiers/{modifier_id}",
    tag = "shops",
    params(ModifierPath, IdempotencyKey),
    request_body = OptionAvailability,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The shop after the change", body = Shop),
        JsonBody,
        Unauthenticated,
        NotABarista,
        NoModifier,
        BadOptionPatch,
    ),
)]
async fn patch_option(
    State(state): State<AppState>,
    caller: Caller,
    idempotent: Idempotent,
    ApiPath(ModifierPath {
        shop,
        item_id,
        modifier_id,
    }): ApiPath<ModifierPath>,
    ApiJson(patch): ApiJson<OptionAvailability>,
) -> ApiResult<Response> {
    caller.require(Action::WorkTheBar)?;
    let shop = state
        .store()
        .update_shop(
            &shop,
            Utc::now(),
            Box::new(move |s| {
                let not_found = |what: String| crate::store::StoreError::not_found(what);
                let item = s
                    .menu
                    .iter_mut()
                    .find(|i| i.id == item_id)
                    .ok_or_else(|| not_found(format!("no menu item {item_id:?}")))?;
                let modifier = item
                    .modifiers
                    .iter_mut()
                    .find(|m| m.id == modifier_id)
                    .ok_or_else(|| {
                        not_found(format!("{} has no option group {modifier_id:?}", item.name))
                    })?;
                if !modifier.offers(&patch.option) {
                    return Err(crate::store::StoreError::refused(
                        ErrorCode::ValidationFailed,
                        format!(
                            "{} {} is {}, not {:?}",
                            item.name,
                            modifier.name,
                            modifier.options.join(" or "),
                            patch.option
                        ),
                    ));
                }
                modifier.set_available(&patch.option, patch.available);
                Ok(())
            }),
            idempotent.remember(StatusCode::OK),
        )
        .await?;
    Ok(answer(shop, StatusCode::OK))
}

/// A shop's live numbers
///
/// Queue length, orders in progress and ready, served today, and the mean wait (over the last
/// 10 finished orders) overall and per drink. Anyone may read them.
#[utoipa::path(
    get,
    path = "/api/v1/shops/{shop}/stats",
    tag = "shops",
    params(ShopPath),
    responses(
        (status = 200, description = "The numbers", body = Stats),
        NoShop,
    ),
)]
async fn get_stats(
    State(state): State<AppState>,
    ApiPath(ShopPath { shop }): ApiPath<ShopPath>,
) -> ApiResult<ApiJson<Stats>> {
    Ok(ApiJson(state.store().stats(&shop, Utc::now()).await?))
}

/// The current booth code
///
/// The booth display (and a barista) read the current code; it rotates on its own every
/// `code_rotation_s`. `order_url` is what the QR code encodes.
#[utoipa::path(
    get,
    path = "/api/v1/shops/{shop}/code",
    tag = "shops",
    params(ShopPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The current code", body = BoothCode),
        Unauthenticated,
        NotDisplayOrBarista,
        NoShop,
    ),
)]
async fn get_code(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ShopPath { shop }): ApiPath<ShopPath>,
) -> ApiResult<ApiJson<BoothCode>> {
    caller.require(Action::ReadBoothCode)?;
    Ok(ApiJson(
        state.store().current_code(&shop, Utc::now()).await?,
    ))
}

/// Replace the booth code now (admin)
///
/// For a code seen where it should not be (a photo of the screen passed around): a new code at
/// once, and the one it replaces is refused from now on with `code_expired`, without the grace
/// a code that ran out keeps. The booth screen hears `code.rotated` and shows the new one. No
/// body.
#[utoipa::path(
    post,
    path = "/api/v1/shops/{shop}/code/rotate",
    tag = "shops",
    params(ShopPath, IdempotencyKey),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The new code", body = BoothCode),
        BadKey,
        Unauthenticated,
        NotAnAdmin,
        NoShop,
        KeyReused,
    ),
)]
async fn rotate_code(
    State(state): State<AppState>,
    caller: Caller,
    idempotent: Idempotent,
    ApiPath(ShopPath { shop }): ApiPath<ShopPath>,
) -> ApiResult<Response> {
    caller.require(Action::Administer)?;
    let code = state
        .store()
        .rotate_code(&shop, Utc::now(), idempotent.remember(StatusCode::OK))
        .await?;
    Ok(answer(code, StatusCode::OK))
}

/// The booth demo (admin)
///
/// Whether the booth demo runs at this shop: a gentle stream of demo orders (one every 20–40 s
/// from demo customers named "Demo 1"…, made in 20–60 s and handed over 10–30 s later by a demo
/// barista) that keeps the board and the booth screen alive at an unattended booth.
#[utoipa::path(
    get,
    path = "/api/v1/shops/{shop}/demo",
    tag = "shops",
    params(ShopPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Whether it runs", body = DemoState),
        Unauthenticated,
        NotAnAdmin,
        NoShop,
    ),
)]
async fn get_demo(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ShopPath { shop }): ApiPath<ShopPath>,
) -> ApiResult<ApiJson<DemoState>> {
    caller.require(Action::Administer)?;
    state.store().shop(&shop).await?;
    Ok(ApiJson(DemoState {
        running: state.demos().is_running(&shop),
    }))
}

/// Start or stop the booth demo (admin)
///
/// `{running: true}` starts the booth demo at this shop (one per shop; starting it again changes
/// nothing), `{running: false}` stops it: no new demo order starts, the ones under way are made
/// and handed over. Its orders are orders like any: the shop must be open, and the booth code,
/// queue size and daily limit apply (a refused one is skipped). It stops with the server
/// (`serve --demo` starts it for `main`).
#[utoipa::path(
    put,
    path = "/api/v1/shops/{shop}/demo",
    tag = "shops",
    params(ShopPath, IdempotencyKey),
    request_body = DemoState,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Whether it runs now", body = DemoState),
        JsonBody,
        Unauthenticated,
        NotAnAdmin,
        NoShop,
        BadDemo,
    ),
)]
async fn put_demo(
    State(state): State<AppState>,
    caller: Caller,
    idempotent: Idempotent,
    ApiPath(ShopPath { shop }): ApiPath<ShopPath>,
    ApiJson(wanted): ApiJson<DemoState>,
) -> ApiResult<Response> {
    caller.require(Action::Administer)?;
    state.store().shop(&shop).await?;
    // Not a change in the store: the key's first answer is kept here, beside the change.
    let remember = idempotent.remember(StatusCode::OK);
    let scope = remember
        .as_ref()
        .map(|r| crate::auth::hash_secret(&r.scope));
    if let (Some(remember), Some(scope)) = (&remember, &scope)
        && let Some(kept) = state
            .store()
            .idempotent_answer(scope, &remember.key)
            .await?
    {
        if kept.request_hash != remember.request_hash {
            return Err(ApiError::detail(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was used for a request with another body",
            ));
        }
        return Ok(answer(
            crate::store::Answer::<DemoState>::Replayed(crate::store::StoredAnswer {
                status: kept.status,
                body: kept.body,
            }),
            StatusCode::OK,
        ));
    }
    state.demos().set(&shop, wanted.running);
    let now = DemoState {
        running: state.demos().is_running(&shop),
    };
    if let (Some(remember), Some(scope)) = (&remember, &scope) {
        let body = serde_json::to_string(&now)
            .map_err(|e| ApiError::internal(format!("a demo state as JSON: {e}")))?;
        state
            .store()
            .remember_answer(
                scope,
                &remember.key,
                &remember.request_hash,
                200,
                &body,
                Utc::now(),
            )
            .await?;
    }
    Ok(answer(crate::store::Answer::Done(now), StatusCode::OK))
}
