//! Shop routes: state, menu, stats and the booth code (API.md "Shop", "Booth code").

use std::collections::HashSet;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, patch};
use chrono::Utc;
use espresso_core::protocol::{
    BoothCode, ErrorCode, MenuItem, MenuItemPatch, Role, Shop, ShopPatch, Stats,
};

use super::AppState;
use super::extract::{ApiJson, Caller};
use crate::error::{ApiError, ApiResult};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/shops/{shop}", get(get_shop).patch(patch_shop))
        .route("/shops/{shop}/menu", axum::routing::put(put_menu))
        .route("/shops/{shop}/menu/{item_id}", patch(patch_menu_item))
        .route("/shops/{shop}/stats", get(get_stats))
        .route("/shops/{shop}/code", get(get_code))
}

async fn get_shop(
    State(state): State<AppState>,
    Path(shop): Path<String>,
) -> ApiResult<ApiJson<Shop>> {
    Ok(ApiJson(state.store().shop(&shop).await?))
}

/// Baristas open and close the shop; only an admin renames it or changes its limits.
async fn patch_shop(
    State(state): State<AppState>,
    caller: Caller,
    Path(shop): Path<String>,
    ApiJson(patch): ApiJson<ShopPatch>,
) -> ApiResult<ApiJson<Shop>> {
    caller.require(if patch.needs_admin() {
        Role::Admin
    } else {
        Role::Barista
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
                "limits must be at least 1 (only max_orders_per_day may be 0: unlimited)",
            ));
        }
    }
    let shop = state
        .store()
        .update_shop(&shop, Utc::now(), |s| {
            s.apply(&patch);
            Ok(())
        })
        .await?;
    Ok(ApiJson(shop))
}

async fn put_menu(
    State(state): State<AppState>,
    caller: Caller,
    Path(shop): Path<String>,
    ApiJson(menu): ApiJson<Vec<MenuItem>>,
) -> ApiResult<ApiJson<Shop>> {
    caller.require(Role::Admin)?;
    validate_menu(&menu)?;
    let shop = state
        .store()
        .update_shop(&shop, Utc::now(), |s| {
            s.menu = menu;
            Ok(())
        })
        .await?;
    Ok(ApiJson(shop))
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
        }
    }
    Ok(())
}

/// "86" a drink (and bring it back).
async fn patch_menu_item(
    State(state): State<AppState>,
    caller: Caller,
    Path((shop, item_id)): Path<(String, String)>,
    ApiJson(patch): ApiJson<MenuItemPatch>,
) -> ApiResult<ApiJson<Shop>> {
    caller.require(Role::Barista)?;
    let shop = state
        .store()
        .update_shop(&shop, Utc::now(), |s| {
            let item = s.menu.iter_mut().find(|i| i.id == item_id).ok_or_else(|| {
                ApiError::detail(ErrorCode::NotFound, format!("no menu item {item_id:?}"))
            })?;
            item.available = patch.available;
            Ok(())
        })
        .await?;
    Ok(ApiJson(shop))
}

async fn get_stats(
    State(state): State<AppState>,
    Path(shop): Path<String>,
) -> ApiResult<ApiJson<Stats>> {
    Ok(ApiJson(state.store().stats(&shop, Utc::now()).await?))
}

/// The booth display (and a barista) read the current code; it rotates on its own.
async fn get_code(
    State(state): State<AppState>,
    caller: Caller,
    Path(shop): Path<String>,
) -> ApiResult<ApiJson<BoothCode>> {
    if !(caller.0.has(Role::Display) || caller.0.has(Role::Barista)) {
        return Err(ApiError::detail(
            ErrorCode::Forbidden,
            "the booth code is for the display and baristas",
        ));
    }
    Ok(ApiJson(
        state.store().current_code(&shop, Utc::now()).await?,
    ))
}
