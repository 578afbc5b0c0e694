//! A shop: open or closed, its menu, its limits, its partial updates and its live numbers.

use serde::{Deserialize, Serialize};

use crate::ShopId;

/// The id of the shop every server starts with.
pub const MAIN_SHOP_ID: &str = "main";

/// `GET /api/v1/shops/{shop}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Shop {
    pub id: ShopId,
    pub name: String,
    /// Closed shops refuse new orders (`shop_closed`); orders already started go on.
    pub open: bool,
    pub menu: Vec<MenuItem>,
    pub limits: Limits,
    /// The shop's time zone, an IANA name (`America/Los_Angeles`): its business day — order
    /// numbers from 1, the daily limit per customer, served today — starts at midnight there.
    /// A shop stored before it existed reads as `UTC`.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// An archived shop (a past event) is closed, refuses new orders (`shop_closed`) and cannot
    /// be opened until it is unarchived; its orders and numbers stay. Left out of the shop list
    /// unless asked for. A shop stored before it existed reads `false`.
    #[serde(default)]
    pub archived: bool,
}

/// One element of `GET /api/v1/shops` (staff): what a shop picker shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShopSummary {
    pub id: ShopId,
    pub name: String,
    pub open: bool,
    /// Its IANA time zone name.
    pub time_zone: String,
    pub archived: bool,
}

impl From<&Shop> for ShopSummary {
    fn from(shop: &Shop) -> Self {
        Self {
            id: shop.id.clone(),
            name: shop.name.clone(),
            open: shop.open,
            time_zone: shop.time_zone.clone(),
            archived: shop.archived,
        }
    }
}

/// The time zone a shop has unless told otherwise.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

fn utc() -> String {
    DEFAULT_TIME_ZONE.to_owned()
}

/// A drink on the menu. Also the element of `PUT …/menu`, so unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MenuItem {
    /// Stable snake_case id, e.g. `flat_white`; orders refer to it.
    pub id: String,
    pub name: String,
    /// Icon name the apps map to a picture, e.g. `flat_white`.
    pub icon: String,
    /// `false` while "86'd" (run out): shown greyed, refused with `item_unavailable`.
    pub available: bool,
    pub modifiers: Vec<Modifier>,
}

/// A group of options for a drink, e.g. milk: Regular or Oat. At most one option per group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Modifier {
    pub id: String,
    pub name: String,
    pub options: Vec<String>,
    /// A required group must be chosen; an optional one may be left out.
    pub required: bool,
    /// Options of this group that are out for now ("86'd", e.g. oat milk): shown greyed,
    /// refused at order time with `item_unavailable`. Each is one of `options`. Left out of the
    /// JSON when none is out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<String>,
}

/// The shop's rules. Every value is a count or seconds; the defaults are API.md's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Limits {
    /// Orders one booth code may start.
    pub drinks_per_code: u32,
    /// Seconds between booth codes.
    pub code_rotation_s: u32,
    /// Seconds a customer has, from starting the order, to choose the drink.
    pub customer_timeout_s: u32,
    /// Seconds the bar has, from the order being queued, to make it (a claim does not reset it).
    pub barista_timeout_s: u32,
    /// Orders queued or in progress at once; more are refused with `queue_full`.
    pub max_queue: u32,
    /// Orders per customer per day (cancelled and timed-out ones do not count); 0 = unlimited.
    pub max_orders_per_day: u32,
    /// Seconds a ready order stays on the display.
    pub ready_display_s: u32,
    /// Seconds a ready order waits to be handed over before it times out as not collected
    /// (`timed_out`, stage `collection`): it leaves the boards and frees the customer; 0 = never.
    /// A shop stored before this limit existed reads the default.
    #[serde(default = "default_ready_expiry_s")]
    pub ready_expiry_s: u32,
}

/// The default [`Limits::ready_expiry_s`]: half an hour.
pub const DEFAULT_READY_EXPIRY_S: u32 = 1800;

fn default_ready_expiry_s() -> u32 {
    DEFAULT_READY_EXPIRY_S
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            drinks_per_code: 10,
            code_rotation_s: 300,
            customer_timeout_s: 300,
            barista_timeout_s: 900,
            max_queue: 20,
            max_orders_per_day: 1,
            ready_display_s: 600,
            ready_expiry_s: DEFAULT_READY_EXPIRY_S,
        }
    }
}

impl Limits {
    /// PATCH semantics: each field given replaces the current value, the others stay.
    pub fn apply(&mut self, patch: &LimitsPatch) {
        let LimitsPatch {
            drinks_per_code,
            code_rotation_s,
            customer_timeout_s,
            barista_timeout_s,
            max_queue,
            max_orders_per_day,
            ready_display_s,
            ready_expiry_s,
        } = *patch;
        // Destructured so that a new limit cannot be forgotten here.
        set_if(&mut self.drinks_per_code, drinks_per_code);
        set_if(&mut self.code_rotation_s, code_rotation_s);
        set_if(&mut self.customer_timeout_s, customer_timeout_s);
        set_if(&mut self.barista_timeout_s, barista_timeout_s);
        set_if(&mut self.max_queue, max_queue);
        set_if(&mut self.max_orders_per_day, max_orders_per_day);
        set_if(&mut self.ready_display_s, ready_display_s);
        set_if(&mut self.ready_expiry_s, ready_expiry_s);
    }
}

fn set_if<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

/// `POST /shops` (admin): a new shop — a second counter, tomorrow's event. It starts closed,
/// with the original's menu and the default limits; change them like any shop's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewShop {
    /// What its paths and the apps' `?shop=` use: 1 to 64 letters, digits, `-` or `_`
    /// ([`ShopId::parse`]); it cannot change later.
    pub id: ShopId,
    /// What the apps show, e.g. "Espresso at Re:Invent".
    pub name: String,
    /// Its time zone, an IANA name (`America/Los_Angeles`); `UTC` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

impl NewShop {
    /// The shop it creates: closed, the original's menu, the default limits.
    pub fn shop(&self) -> Shop {
        Shop {
            id: self.id.clone(),
            name: self.name.trim().to_owned(),
            time_zone: self.time_zone.clone().unwrap_or_else(utc),
            ..Shop::default_main()
        }
    }
}

/// `PATCH /api/v1/shops/{shop}`: a partial shop. A field left out (or null) stays as it is;
/// `limits` is partial too. A barista may send `open` only; `name` and `limits` need an admin
/// (see [`ShopPatch::needs_admin`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ShopPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsPatch>,
    /// An IANA time zone name (admin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Archive (`true`: the shop closes and stays closed) or unarchive it (admin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

impl ShopPatch {
    /// Does this patch touch what only an admin may change?
    pub fn needs_admin(&self) -> bool {
        self.name.is_some()
            || self.limits.is_some()
            || self.time_zone.is_some()
            || self.archived.is_some()
    }
}

/// The `limits` of a [`ShopPatch`]: every field optional, see [`Limits::apply`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LimitsPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drinks_per_code: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_rotation_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_timeout_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barista_timeout_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_queue: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_orders_per_day: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_display_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_expiry_s: Option<u32>,
}

/// `PATCH /api/v1/shops/{shop}/menu/{item_id}/modifiers/{modifier_id}`: "86" one option of a
/// group (`available: false`, e.g. oat milk is out) or bring it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OptionAvailability {
    /// One of the group's `options`, e.g. `Oat`.
    pub option: String,
    pub available: bool,
}

/// `PATCH /api/v1/shops/{shop}/menu/{item_id}`: "86" an item (`false`) or bring it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MenuItemPatch {
    pub available: bool,
}

impl Shop {
    /// The shop a new server starts with: `main`, closed, the original's menu, default limits.
    ///
    /// Milk is a required choice on the milk drinks (Flat White, Cappuccino) and an optional
    /// splash on the Americano; the espressos take no milk. Every drink starts available.
    pub fn default_main() -> Self {
        let milk = |required| Modifier {
            id: "milk".into(),
            name: "Milk".into(),
            options: vec!["Regular".into(), "Oat".into()],
            required,
            unavailable: Vec::new(),
        };
        let item = |id: &str, name: &str, modifiers| MenuItem {
            id: id.into(),
            name: name.into(),
            icon: id.into(),
            available: true,
            modifiers,
        };
        Self {
            id: MAIN_SHOP_ID.into(),
            name: "Espresso".into(),
            open: false,
            menu: vec![
                item("americano", "Americano", vec![milk(false)]),
                item("flat_white", "Flat White", vec![milk(true)]),
                item("cappuccino", "Cappuccino", vec![milk(true)]),
                item("espresso", "Espresso", vec![]),
                item("double_espresso", "Double Espresso", vec![]),
            ],
            limits: Limits::default(),
            time_zone: utc(),
            archived: false,
        }
    }

    /// The menu item with this id, available or not.
    pub fn item(&self, item_id: &str) -> Option<&MenuItem> {
        self.menu.iter().find(|item| item.id == item_id)
    }

    /// PATCH semantics: what the patch gives replaces the current value, the rest stays.
    /// Who may send which field is the server's check, not this function's.
    pub fn apply(&mut self, patch: &ShopPatch) {
        if let Some(name) = &patch.name {
            self.name.clone_from(name);
        }
        set_if(&mut self.open, patch.open);
        if let Some(limits) = &patch.limits {
            self.limits.apply(limits);
        }
        if let Some(time_zone) = &patch.time_zone {
            self.time_zone.clone_from(time_zone);
        }
        set_if(&mut self.archived, patch.archived);
        // Archiving closes the shop (opening an archived one is the server's refusal).
        if self.archived {
            self.open = false;
        }
    }
}

impl MenuItem {
    /// The modifier group with this id.
    pub fn modifier(&self, modifier_id: &str) -> Option<&Modifier> {
        self.modifiers.iter().find(|m| m.id == modifier_id)
    }
}

impl Modifier {
    pub fn offers(&self, option: &str) -> bool {
        self.options.iter().any(|o| o == option)
    }

    /// Is `option` one this group offers and not out ([`Modifier::unavailable`])?
    pub fn is_available(&self, option: &str) -> bool {
        self.offers(option) && !self.unavailable.iter().any(|o| o == option)
    }

    /// Mark `option` out (`false`) or back (`true`); the list stays in the order of `options`.
    /// Whether the group offers it is the caller's check.
    pub fn set_available(&mut self, option: &str, available: bool) {
        let mut unavailable: Vec<String> = self
            .options
            .iter()
            .filter(|o| {
                if o.as_str() == option {
                    !available
                } else {
                    self.unavailable.contains(o)
                }
            })
            .cloned()
            .collect();
        unavailable.dedup();
        self.unavailable = unavailable;
    }
}

/// `GET /api/v1/shops/{shop}/stats` and the payload of `stats.updated`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stats {
    /// Orders queued and not yet claimed.
    pub queue_length: u32,
    pub in_progress: u32,
    /// Orders ready and not yet collected.
    pub ready: u32,
    /// Orders collected today.
    pub served_today: u32,
    /// Orders made today that nobody collected within `ready_expiry_s` (timed out, stage
    /// `collection`).
    #[serde(default)]
    pub not_collected_today: u32,
    /// Mean seconds from queued to ready over the last 10 finished orders; null before any.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub avg_wait_s: Option<u64>,
    pub by_item: Vec<ItemStats>,
}

/// One drink's share of [`Stats`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemStats {
    pub item_id: String,
    pub served: u32,
    /// Mean seconds from queued to ready over this drink's last 10 finished orders; null before any.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub avg_wait_s: Option<u64>,
}

/// `GET`/`PUT /api/v1/shops/{shop}/demo` (admin): whether the booth demo — a gentle stream of
/// demo orders that keeps the board alive — runs at this shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DemoState {
    pub running: bool,
}

/// `GET /api/v1/shops/{shop}/stats/days` (admin): the numbers of a range of business days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatsReport {
    /// The first business day, `YYYY-MM-DD`.
    pub from: String,
    /// The last business day, included.
    pub to: String,
    /// The shop's time zone the days and hours are in (an IANA name).
    pub time_zone: String,
    /// The whole range (percentiles over all its orders, not averages of the days).
    pub total: PeriodStats,
    /// One entry per day of the range, in order, days without orders included.
    pub days: Vec<DayStats>,
}

/// One business day of a [`StatsReport`]: its date and its numbers (flattened).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayStats {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(flatten)]
    pub stats: PeriodStats,
}

/// The numbers of a day or a range of days. An order counts on the business day it was started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeriodStats {
    /// Orders that reached the queue (a drink chosen).
    pub orders: u32,
    /// Orders handed over.
    pub served: u32,
    pub cancelled_by_customer: u32,
    pub cancelled_by_staff: u32,
    /// Orders whose customer did not choose a drink in time (timeout stage `customer`).
    pub timed_out_choosing: u32,
    /// Orders the bar did not make in time (timeout stage `barista`).
    pub timed_out_making: u32,
    /// Orders made and not collected in time (timeout stage `collection`).
    pub not_collected: u32,
    /// 24 counts: the orders queued in each hour of the day (local time, `0` = midnight).
    pub by_hour: Vec<u32>,
    /// Per drink, by `orders` (most first).
    pub by_item: Vec<ItemCount>,
    /// Seconds from queued to ready: median (nearest rank); null without a made order.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub wait_p50_s: Option<u64>,
    /// Seconds from queued to ready: 90th percentile (nearest rank).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub wait_p90_s: Option<u64>,
    /// Seconds from ready to handed over: median (nearest rank); null without a collected order.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub pickup_p50_s: Option<u64>,
    /// Seconds from ready to handed over: 90th percentile (nearest rank).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub pickup_p90_s: Option<u64>,
    /// The reasons staff gave for cancelling, by count (most first).
    pub cancel_reasons: Vec<ReasonCount>,
}

/// One drink's share of [`PeriodStats`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemCount {
    pub item_id: String,
    /// The drink's name when it was ordered.
    pub name: String,
    /// Orders of it that reached the queue.
    pub orders: u32,
    /// Of those, handed over.
    pub served: u32,
}

/// How often staff gave one cancel reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReasonCount {
    pub reason: String,
    pub count: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::is_shop_id;
    use serde_json::json;

    #[test]
    fn shop_ids_are_what_paths_and_pages_can_carry() {
        assert!(is_shop_id("main"));
        assert!(is_shop_id("pop-up_2"));
        assert!(is_shop_id(&"x".repeat(64)));
        assert!(!is_shop_id(""));
        assert!(!is_shop_id("pop up"));
        assert!(!is_shop_id("a/b"));
        assert!(!is_shop_id(&"x".repeat(65)));
    }

    #[test]
    fn a_shop_stored_before_archiving_existed_reads_unarchived_and_archiving_closes_it() {
        let mut stored = serde_json::to_value(Shop::default_main()).unwrap();
        stored.as_object_mut().unwrap().remove("archived");
        let mut shop: Shop = serde_json::from_value(stored).unwrap();
        assert!(!shop.archived);
        shop.open = true;
        let archive = ShopPatch {
            archived: Some(true),
            ..ShopPatch::default()
        };
        assert!(archive.needs_admin());
        shop.apply(&archive);
        assert!(shop.archived && !shop.open);
        assert_eq!(
            ShopSummary::from(&shop),
            ShopSummary {
                id: "main".into(),
                name: "Espresso".into(),
                open: false,
                time_zone: "UTC".into(),
                archived: true,
            }
        );
    }

    #[test]
    fn limits_default_to_api_md_table() {
        assert_eq!(
            serde_json::to_value(Limits::default()).unwrap(),
            json!({
                "drinks_per_code": 10,
                "code_rotation_s": 300,
                "customer_timeout_s": 300,
                "barista_timeout_s": 900,
                "max_queue": 20,
                "max_orders_per_day": 1,
                "ready_display_s": 600,
                "ready_expiry_s": 1800
            })
        );
    }

    #[test]
    fn a_new_server_starts_with_the_main_shop_closed_and_the_original_menu() {
        let shop = Shop::default_main();
        assert_eq!(shop.id, "main");
        assert!(!shop.open);
        let names: Vec<_> = shop.menu.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Americano",
                "Flat White",
                "Cappuccino",
                "Espresso",
                "Double Espresso"
            ]
        );
        assert!(shop.menu.iter().all(|i| i.available));
        let flat_white = shop.item("flat_white").unwrap();
        let milk = flat_white.modifier("milk").unwrap();
        assert!(milk.required);
        assert_eq!(milk.options, ["Regular", "Oat"]);
        assert!(
            !shop
                .item("americano")
                .unwrap()
                .modifier("milk")
                .unwrap()
                .required
        );
        assert!(shop.item("espresso").unwrap().modifiers.is_empty());
        assert_eq!(shop.limits, Limits::default());
    }

    #[test]
    fn a_shop_reads_as_api_md_shows_it() {
        let json = json!({
            "id": "main",
            "name": "Espresso",
            "open": true,
            "menu": [{
                "id": "flat_white", "name": "Flat White", "icon": "flat_white", "available": false,
                "modifiers": [{"id": "milk", "name": "Milk", "options": ["Regular", "Oat"], "required": true}]
            }],
            "limits": serde_json::to_value(Limits::default()).unwrap()
        });
        let shop: Shop = serde_json::from_value(json.clone()).unwrap();
        assert!(!shop.menu[0].available);
        // A shop stored before time zones were kept is in UTC.
        assert_eq!(shop.time_zone, "UTC");
        // …and not archived.
        assert!(!shop.archived);
        let mut with_zone = json;
        with_zone["time_zone"] = json!("UTC");
        with_zone["archived"] = json!(false);
        assert_eq!(serde_json::to_value(&shop).unwrap(), with_zone);
    }

    #[test]
    fn limits_stored_before_the_ready_expiry_read_its_default() {
        let mut old = serde_json::to_value(Limits::default()).unwrap();
        old.as_object_mut().unwrap().remove("ready_expiry_s");
        let limits: Limits = serde_json::from_value(old).unwrap();
        assert_eq!(limits.ready_expiry_s, 1800);
        let mut limits = Limits::default();
        limits.apply(&LimitsPatch {
            ready_expiry_s: Some(0),
            ..LimitsPatch::default()
        });
        assert_eq!(limits.ready_expiry_s, 0);
        assert_eq!(limits.max_queue, 20);
    }

    #[test]
    fn a_patch_changes_what_it_gives_and_keeps_the_rest() {
        let mut shop = Shop::default_main();
        let patch: ShopPatch =
            serde_json::from_value(json!({"open": true, "limits": {"max_queue": 5}})).unwrap();
        assert!(patch.needs_admin());
        shop.apply(&patch);
        assert!(shop.open);
        assert_eq!(shop.name, "Espresso");
        assert_eq!(shop.limits.max_queue, 5);
        assert_eq!(shop.limits.barista_timeout_s, 900);
    }

    #[test]
    fn a_barista_patch_is_open_only() {
        let patch: ShopPatch = serde_json::from_value(json!({"open": false})).unwrap();
        assert!(!patch.needs_admin());
        let rename: ShopPatch = serde_json::from_value(json!({"name": "Bar"})).unwrap();
        assert!(rename.needs_admin());
        let zone: ShopPatch =
            serde_json::from_value(json!({"time_zone": "America/Los_Angeles"})).unwrap();
        assert!(zone.needs_admin());
        let mut shop = Shop::default_main();
        shop.apply(&zone);
        assert_eq!(shop.time_zone, "America/Los_Angeles");
    }

    #[test]
    fn a_new_shop_is_in_utc_unless_told() {
        let new: NewShop = serde_json::from_value(json!({"id": "vegas", "name": "Vegas"})).unwrap();
        assert_eq!(new.shop().time_zone, "UTC");
        let new: NewShop = serde_json::from_value(
            json!({"id": "vegas", "name": "Vegas", "time_zone": "America/Los_Angeles"}),
        )
        .unwrap();
        assert_eq!(new.shop().time_zone, "America/Los_Angeles");
    }

    #[test]
    fn menu_and_patch_bodies_refuse_unknown_fields() {
        assert!(serde_json::from_value::<ShopPatch>(json!({"opened": true})).is_err());
        assert!(serde_json::from_value::<ShopPatch>(json!({"limits": {"max_q": 1}})).is_err());
        assert!(
            serde_json::from_value::<MenuItemPatch>(json!({"available": true, "price": 1}))
                .is_err()
        );
        assert!(serde_json::from_value::<MenuItemPatch>(json!({})).is_err());
        let item = json!({"id": "x", "name": "X", "icon": "x", "available": true,
                          "modifiers": [], "price": 3});
        assert!(serde_json::from_value::<MenuItem>(item).is_err());
    }

    #[test]
    fn a_modifier_without_options_out_reads_and_writes_as_before() {
        let json =
            json!({"id": "milk", "name": "Milk", "options": ["Regular", "Oat"], "required": true});
        let mut milk: Modifier = serde_json::from_value(json.clone()).unwrap();
        assert!(milk.unavailable.is_empty());
        assert!(milk.is_available("Oat"));
        assert!(!milk.is_available("Soy"), "not offered");
        assert_eq!(serde_json::to_value(&milk).unwrap(), json);

        milk.set_available("Oat", false);
        assert!(!milk.is_available("Oat"));
        assert!(milk.is_available("Regular"));
        assert_eq!(
            serde_json::to_value(&milk).unwrap()["unavailable"],
            json!(["Oat"])
        );
        milk.set_available("Oat", false);
        milk.set_available("Regular", false);
        assert_eq!(
            milk.unavailable,
            ["Regular", "Oat"],
            "in the order of the options, once"
        );
        milk.set_available("Regular", true);
        milk.set_available("Oat", true);
        assert_eq!(serde_json::to_value(&milk).unwrap(), json);
        let availability: OptionAvailability =
            serde_json::from_value(json!({"option": "Oat", "available": false})).unwrap();
        assert!(!availability.available);
        assert!(
            serde_json::from_value::<OptionAvailability>(
                json!({"option": "Oat", "available": false, "x": 1})
            )
            .is_err()
        );
    }

    #[test]
    fn stats_say_null_before_anything_was_served() {
        let stats = Stats {
            by_item: vec![ItemStats {
                item_id: "espresso".into(),
                served: 0,
                avg_wait_s: None,
            }],
            ..Stats::default()
        };
        assert_eq!(
            serde_json::to_value(&stats).unwrap(),
            json!({
                "queue_length": 0, "in_progress": 0, "ready": 0, "served_today": 0,
                "not_collected_today": 0, "avg_wait_s": null,
                "by_item": [{"item_id": "espresso", "served": 0, "avg_wait_s": null}]
            })
        );
    }
}
