//! Given/when/then: given the events an order has seen, when a command arrives, then these
//! events follow (or this refusal). No database, no clock.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use espresso_protocol::{
    CancelledBy, CustomerRef, Drink, DrinkChoice, ErrorCode, EventType, Order, OrderState, Role,
    Shop, TimeoutStage,
};

use super::*;

// ── time ─────────────────────────────────────────────────────────────────────────────────────

/// `secs` seconds after the order was started (09:00:00 UTC).
fn t(secs: i64) -> DateTime<Utc> {
    let start: DateTime<Utc> = "2026-05-04T09:00:00Z".parse().unwrap();
    start + TimeDelta::seconds(secs)
}

/// When the command under test arrives, unless a test says otherwise.
const NOW: i64 = 240;

// ── people ───────────────────────────────────────────────────────────────────────────────────

/// Alice owns the order under test.
fn alice() -> Actor {
    Actor::new("alice", [Role::Customer])
}

fn bob() -> Actor {
    Actor::new("bob", [Role::Customer])
}

/// Bea is the barista who claims the order in the histories below.
fn bea() -> Actor {
    Actor::new("bea", [Role::Customer, Role::Barista])
}

fn ben() -> Actor {
    Actor::new("ben", [Role::Customer, Role::Barista])
}

fn ada() -> Actor {
    Actor::new("ada", [Role::Customer, Role::Admin])
}

fn dee_the_display() -> Actor {
    Actor::new("dee", [Role::Display])
}

fn alice_ref() -> CustomerRef {
    CustomerRef {
        id: "alice".into(),
        display_name: Some("Alice".into()),
    }
}

// ── drinks ───────────────────────────────────────────────────────────────────────────────────

fn choice(item_id: &str, options: &[(&str, &str)]) -> DrinkChoice {
    DrinkChoice {
        item_id: item_id.into(),
        options: options
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn oat_flat_white() -> DrinkChoice {
    choice("flat_white", &[("milk", "Oat")])
}

fn oat_flat_white_drink() -> Drink {
    Drink {
        item_id: "flat_white".into(),
        name: "Flat White".into(),
        options: BTreeMap::from([("milk".to_owned(), "Oat".to_owned())]),
    }
}

// ── histories ────────────────────────────────────────────────────────────────────────────────

fn created() -> OrderEvent {
    OrderEvent::Created {
        order_id: "o1".into(),
        shop: "main".into(),
        customer: alice_ref(),
        at: t(0),
        deadline_at: t(300),
    }
}

fn placed() -> OrderEvent {
    OrderEvent::Placed {
        number: 7,
        drink: oat_flat_white_drink(),
        at: t(60),
        deadline_at: t(60 + 900),
    }
}

fn claimed_by(barista: &Actor) -> OrderEvent {
    OrderEvent::Claimed {
        barista_id: barista.user_id.clone(),
        at: t(120),
    }
}

fn unclaimed() -> OrderEvent {
    OrderEvent::Unclaimed { at: t(150) }
}

fn completed() -> OrderEvent {
    OrderEvent::Completed {
        at: t(180),
        deadline_at: Some(t(180 + 1800)),
    }
}

fn collected() -> OrderEvent {
    OrderEvent::Collected { at: t(200) }
}

fn cancelled(by: CancelledBy) -> OrderEvent {
    OrderEvent::Cancelled {
        by,
        reason: None,
        at: t(90),
    }
}

fn timed_out(stage: TimeoutStage, at: i64) -> OrderEvent {
    OrderEvent::TimedOut { stage, at: t(at) }
}

/// The shortest history that leaves the order in `state`.
fn history(state: OrderState) -> Vec<OrderEvent> {
    match state {
        OrderState::AwaitingDrink => vec![created()],
        OrderState::Queued => vec![created(), placed()],
        OrderState::InProgress => vec![created(), placed(), claimed_by(&bea())],
        OrderState::Ready => vec![created(), placed(), claimed_by(&bea()), completed()],
        OrderState::Collected => vec![
            created(),
            placed(),
            claimed_by(&bea()),
            completed(),
            collected(),
        ],
        OrderState::Cancelled => vec![created(), placed(), cancelled(CancelledBy::Customer)],
        OrderState::TimedOut => vec![created(), timed_out(TimeoutStage::Customer, 300)],
    }
}

// ── commands ─────────────────────────────────────────────────────────────────────────────────

fn admitted() -> Admission {
    Admission {
        code: CodeCheck::Valid,
        has_open_order: false,
        orders_today: 0,
        queue_length: 0,
    }
}

fn start(drink: Option<DrinkChoice>, admission: Admission) -> Command {
    Command::Start {
        order_id: "o1".into(),
        customer: alice_ref(),
        drink,
        admission,
    }
}

fn choose(by: Actor, drink: DrinkChoice) -> Command {
    Command::ChooseDrink { by, drink }
}

fn cancel(by: Actor) -> Command {
    Command::Cancel { by, reason: None }
}

// ── the harness ──────────────────────────────────────────────────────────────────────────────

struct Given {
    events: Vec<OrderEvent>,
    shop: Shop,
    now: DateTime<Utc>,
    next_number: u32,
}

/// The order has seen `events` (none: it does not exist yet); the shop is open with the
/// default menu and limits.
fn given(events: impl Into<Vec<OrderEvent>>) -> Given {
    let mut shop = Shop::default_main();
    shop.open = true;
    Given {
        events: events.into(),
        shop,
        now: t(NOW),
        next_number: 7,
    }
}

impl Given {
    fn shop(mut self, change: impl FnOnce(&mut Shop)) -> Self {
        change(&mut self.shop);
        self
    }

    fn at(mut self, secs: i64) -> Self {
        self.now = t(secs);
        self
    }

    /// At this moment rather than `secs` after the start.
    fn at_instant(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    fn next_number(mut self, number: u32) -> Self {
        self.next_number = number;
        self
    }

    fn when(self, command: Command) -> Then {
        let order = apply_all(None, &self.events);
        let ctx = Context {
            now: self.now,
            shop: &self.shop,
            next_number: self.next_number,
        };
        let result = decide(order.as_ref(), &command, &ctx);
        Then { order, result }
    }
}

struct Then {
    order: Option<Order>,
    result: Result<Vec<OrderEvent>, WorkflowError>,
}

impl Then {
    #[track_caller]
    fn then_expect(self, expected: impl Into<Vec<OrderEvent>>) -> Option<Order> {
        match self.result {
            Ok(events) => {
                assert_eq!(events, expected.into());
                apply_all(self.order, &events)
            }
            Err(error) => panic!("expected events, was refused: {error:?}"),
        }
    }

    /// Refused with `code`; an `invalid_transition` must also name the order's current state.
    #[track_caller]
    fn then_refuse(self, code: ErrorCode) -> WorkflowError {
        let error = match self.result {
            Ok(events) => panic!("expected {code}, got events {events:?}"),
            Err(error) => error,
        };
        assert_eq!(error.code(), code, "{error:?}");
        let problem = error.to_problem();
        assert_eq!(problem.code, code);
        if code == ErrorCode::InvalidTransition {
            let current = self.order.as_ref().map(|o| o.state);
            assert_eq!(
                problem.state, current,
                "the problem must name the current state"
            );
        }
        error
    }

    /// Accepted, with nothing to do.
    #[track_caller]
    fn then_nothing(self) {
        self.then_expect([]);
    }
}

fn state_after(events: &[OrderEvent]) -> OrderState {
    apply_all(None, events).unwrap().state
}

// ── starting an order ───────────────────────────────────────────────────────────────────────

#[test]
fn starting_without_a_drink_awaits_the_drink_with_the_customer_deadline_from_now() {
    let order = given([])
        .when(start(None, admitted()))
        .then_expect([OrderEvent::Created {
            order_id: "o1".into(),
            shop: "main".into(),
            customer: alice_ref(),
            at: t(NOW),
            deadline_at: t(NOW + 300),
        }])
        .unwrap();
    assert_eq!(order.state, OrderState::AwaitingDrink);
    assert_eq!(order.number, None, "abandoned scans use no number");
    assert_eq!(order.deadline_at, Some(t(NOW + 300)));
}

#[test]
fn starting_with_a_drink_queues_it_at_once_with_the_next_number() {
    let order = given([])
        .next_number(12)
        .when(start(Some(oat_flat_white()), admitted()))
        .then_expect([
            OrderEvent::Created {
                order_id: "o1".into(),
                shop: "main".into(),
                customer: alice_ref(),
                at: t(NOW),
                deadline_at: t(NOW + 300),
            },
            OrderEvent::Placed {
                number: 12,
                drink: oat_flat_white_drink(),
                at: t(NOW),
                deadline_at: t(NOW + 900),
            },
        ])
        .unwrap();
    assert_eq!(order.state, OrderState::Queued);
    assert_eq!(order.number, Some(12));
    assert_eq!(order.placed_at, Some(t(NOW)));
}

#[test]
fn deadlines_follow_the_shops_limits() {
    let events = given([])
        .shop(|s| {
            s.limits.customer_timeout_s = 60;
            s.limits.barista_timeout_s = 120;
        })
        .when(start(None, admitted()))
        .then_expect([OrderEvent::Created {
            order_id: "o1".into(),
            shop: "main".into(),
            customer: alice_ref(),
            at: t(NOW),
            deadline_at: t(NOW + 60),
        }]);
    assert!(events.is_some());
    given([created()])
        .shop(|s| s.limits.barista_timeout_s = 120)
        .when(choose(alice(), oat_flat_white()))
        .then_expect([OrderEvent::Placed {
            number: 7,
            drink: oat_flat_white_drink(),
            at: t(NOW),
            deadline_at: t(NOW + 120),
        }]);
}

#[test]
fn starting_in_a_closed_shop_is_refused() {
    given([])
        .shop(|s| s.open = false)
        .when(start(Some(oat_flat_white()), admitted()))
        .then_refuse(ErrorCode::ShopClosed);
}

#[test]
fn starting_in_an_archived_shop_is_refused_even_if_it_reads_open() {
    // The server never stores an archived shop open; the workflow refuses one all the same.
    given([])
        .shop(|s| {
            s.open = true;
            s.archived = true;
        })
        .when(start(Some(oat_flat_white()), admitted()))
        .then_refuse(ErrorCode::ShopClosed);
}

#[test]
fn a_closed_shop_is_said_before_any_other_refusal() {
    let everything_wrong = Admission {
        code: CodeCheck::Invalid,
        has_open_order: true,
        orders_today: 5,
        queue_length: 99,
    };
    given([])
        .shop(|s| s.open = false)
        .when(start(Some(choice("tea", &[])), everything_wrong))
        .then_refuse(ErrorCode::ShopClosed);
}

#[test]
fn starting_with_an_unknown_code_is_refused() {
    let admission = Admission {
        code: CodeCheck::Invalid,
        ..admitted()
    };
    given([])
        .when(start(None, admission))
        .then_refuse(ErrorCode::CodeInvalid);
}

#[test]
fn starting_with_a_replaced_code_is_refused() {
    let admission = Admission {
        code: CodeCheck::Expired,
        ..admitted()
    };
    given([])
        .when(start(None, admission))
        .then_refuse(ErrorCode::CodeExpired);
}

#[test]
fn starting_with_a_used_up_code_is_refused_with_when_the_next_code_comes() {
    let admission = Admission {
        code: CodeCheck::Exhausted { next_in_s: 192 },
        ..admitted()
    };
    let refusal = given([])
        .when(start(None, admission))
        .then_refuse(ErrorCode::CodeExhausted);
    assert_eq!(refusal.to_problem().retry_after_s, Some(192));
}

// ── scan passes ─────────────────────────────────────────────────────────────────────────────

impl Given {
    /// Someone (not signed in) scanned a code the storage found to be `code`.
    fn when_scanned(self, code: CodeCheck) -> Result<DateTime<Utc>, WorkflowError> {
        issue_pass(&self.shop, code, self.now)
    }
}

fn with_pass(check: CodeCheck) -> Admission {
    Admission {
        code: check,
        ..admitted()
    }
}

#[test]
fn a_good_code_scanned_before_sign_in_gets_a_pass_for_ten_minutes() {
    let expires_at = given([]).when_scanned(CodeCheck::Valid).unwrap();
    assert_eq!(expires_at, t(NOW + 600));
}

#[test]
fn a_bad_code_scanned_before_sign_in_is_refused_as_a_start_with_it_would_be() {
    for (check, code) in [
        (CodeCheck::Invalid, ErrorCode::CodeInvalid),
        (CodeCheck::Expired, ErrorCode::CodeExpired),
        (
            CodeCheck::Exhausted { next_in_s: 192 },
            ErrorCode::CodeExhausted,
        ),
        // A pass is not a code: it makes no second pass.
        (CodeCheck::Held, ErrorCode::CodeInvalid),
        (CodeCheck::PassUsed, ErrorCode::CodeInvalid),
    ] {
        let refusal = given([]).when_scanned(check).unwrap_err();
        assert_eq!(refusal.code(), code, "{check:?}");
    }
    let used_up = given([])
        .when_scanned(CodeCheck::Exhausted { next_in_s: 192 })
        .unwrap_err();
    assert_eq!(used_up.to_problem().retry_after_s, Some(192));
}

#[test]
fn a_closed_shop_gives_no_pass_whatever_the_code() {
    for check in [CodeCheck::Valid, CodeCheck::Invalid] {
        let refusal = given([])
            .shop(|s| s.open = false)
            .when_scanned(check)
            .unwrap_err();
        assert_eq!(refusal.code(), ErrorCode::ShopClosed);
    }
    let refusal = given([])
        .shop(|s| s.archived = true)
        .when_scanned(CodeCheck::Valid)
        .unwrap_err();
    assert_eq!(refusal.code(), ErrorCode::ShopClosed);
}

#[test]
fn a_held_pass_starts_the_order_like_a_good_code() {
    given([])
        .when(start(Some(oat_flat_white()), with_pass(CodeCheck::Held)))
        .then_expect([
            OrderEvent::Created {
                order_id: "o1".into(),
                shop: "main".into(),
                customer: alice_ref(),
                at: t(NOW),
                deadline_at: t(NOW + 300),
            },
            OrderEvent::Placed {
                number: 7,
                drink: oat_flat_white_drink(),
                at: t(NOW),
                deadline_at: t(NOW + 900),
            },
        ]);
}

#[test]
fn an_expired_or_used_pass_is_refused_with_its_own_code() {
    for check in [CodeCheck::PassExpired, CodeCheck::PassUsed] {
        given([])
            .when(start(None, with_pass(check)))
            .then_refuse(ErrorCode::PassExpired);
    }
}

#[test]
fn a_pass_does_not_get_round_the_customer_s_own_limits_nor_a_closed_shop() {
    given([])
        .shop(|s| s.open = false)
        .when(start(None, with_pass(CodeCheck::Held)))
        .then_refuse(ErrorCode::ShopClosed);
    let open_order = Admission {
        has_open_order: true,
        ..with_pass(CodeCheck::Held)
    };
    given([])
        .when(start(None, open_order))
        .then_refuse(ErrorCode::OpenOrderExists);
    let full = Admission {
        queue_length: 99,
        ..with_pass(CodeCheck::Held)
    };
    given([])
        .when(start(None, full))
        .then_refuse(ErrorCode::QueueFull);
}

#[test]
fn a_customer_with_an_order_on_the_way_cannot_start_another() {
    let admission = Admission {
        has_open_order: true,
        orders_today: 1,
        ..admitted()
    };
    // The open order is the more useful answer than the daily limit it also hits.
    given([])
        .when(start(None, admission))
        .then_refuse(ErrorCode::OpenOrderExists);
}

#[test]
fn a_customer_at_the_daily_limit_cannot_start_another() {
    let admission = Admission {
        orders_today: 1,
        queue_length: 20,
        ..admitted()
    };
    // "Come back tomorrow" beats "try again later" when both apply.
    let error = given([])
        .when(start(None, admission))
        .then_refuse(ErrorCode::DailyLimitReached);
    // ... and says when tomorrow starts.
    let resets_in = error.to_problem().retry_after_s.expect("retry_after_s");
    assert!((1..=86_400).contains(&resets_in), "{resets_in}");
}

#[test]
fn the_daily_limit_resets_at_utc_midnight() {
    let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let utc = chrono_tz::Tz::UTC;
    assert_eq!(until_next_day_s(at("2026-11-21T23:59:00Z"), utc), 60);
    assert_eq!(until_next_day_s(at("2026-11-21T00:00:00Z"), utc), 86_400);
    assert_eq!(until_next_day_s(at("2026-12-31T12:00:00Z"), utc), 43_200);
}

#[test]
fn the_daily_limit_resets_at_midnight_in_the_shops_time_zone() {
    let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let la = time_zone("America/Los_Angeles").unwrap();
    // 23:30 in Los Angeles (PST, UTC-8) is 07:30 UTC the next day: half an hour to midnight there.
    assert_eq!(until_next_day_s(at("2026-11-22T07:30:00Z"), la), 1_800);
    // 00:30 there: a whole day less half an hour.
    assert_eq!(
        until_next_day_s(at("2026-11-22T08:30:00Z"), la),
        86_400 - 1_800
    );
    // The day the clocks go back (1 November 2026) has 25 hours.
    assert_eq!(until_next_day_s(at("2026-11-01T07:00:00Z"), la), 25 * 3_600);
    assert!(time_zone("Mars/Olympus_Mons").is_none());
    let mut shop = Shop::default_main();
    assert_eq!(zone_of(&shop), chrono_tz::Tz::UTC);
    shop.time_zone = "America/Los_Angeles".into();
    assert_eq!(zone_of(&shop), la);
    // The refusal says so: at 23:30 there, the limit frees in 30 minutes.
    let admission = Admission {
        orders_today: 1,
        ..admitted()
    };
    let error = given([])
        .shop(|s| s.time_zone = "America/Los_Angeles".into())
        .at_instant(at("2026-11-22T07:30:00Z"))
        .when(start(None, admission))
        .then_refuse(ErrorCode::DailyLimitReached);
    assert_eq!(error.to_problem().retry_after_s, Some(1_800));
}

#[test]
fn a_customer_below_the_daily_limit_may_start() {
    let admission = Admission {
        orders_today: 2,
        ..admitted()
    };
    given([])
        .shop(|s| s.limits.max_orders_per_day = 3)
        .when(start(None, admission))
        .then_expect([OrderEvent::Created {
            order_id: "o1".into(),
            shop: "main".into(),
            customer: alice_ref(),
            at: t(NOW),
            deadline_at: t(NOW + 300),
        }]);
}

#[test]
fn a_daily_limit_of_zero_means_unlimited() {
    let admission = Admission {
        orders_today: 1_000,
        ..admitted()
    };
    let order = given([])
        .shop(|s| s.limits.max_orders_per_day = 0)
        .when(start(None, admission))
        .then_expect([OrderEvent::Created {
            order_id: "o1".into(),
            shop: "main".into(),
            customer: alice_ref(),
            at: t(NOW),
            deadline_at: t(NOW + 300),
        }]);
    assert!(order.is_some());
}

#[test]
fn starting_when_the_queue_is_full_is_refused() {
    let admission = Admission {
        queue_length: 20,
        ..admitted()
    };
    given([])
        .when(start(Some(oat_flat_white()), admission))
        .then_refuse(ErrorCode::QueueFull);
}

#[test]
fn starting_with_one_place_left_in_the_queue_is_accepted() {
    let admission = Admission {
        queue_length: 19,
        ..admitted()
    };
    let order = given([])
        .when(start(Some(oat_flat_white()), admission))
        .then_expect([
            OrderEvent::Created {
                order_id: "o1".into(),
                shop: "main".into(),
                customer: alice_ref(),
                at: t(NOW),
                deadline_at: t(NOW + 300),
            },
            OrderEvent::Placed {
                number: 7,
                drink: oat_flat_white_drink(),
                at: t(NOW),
                deadline_at: t(NOW + 900),
            },
        ])
        .unwrap();
    assert_eq!(order.state, OrderState::Queued);
}

#[test]
fn starting_with_a_drink_that_ran_out_is_refused() {
    given([])
        .shop(|s| {
            s.menu
                .iter_mut()
                .filter(|i| i.id == "flat_white")
                .for_each(|i| i.available = false)
        })
        .when(start(Some(oat_flat_white()), admitted()))
        .then_refuse(ErrorCode::ItemUnavailable);
}

#[test]
fn starting_with_a_drink_not_on_the_menu_is_refused() {
    given([])
        .when(start(Some(choice("pumpkin_latte", &[])), admitted()))
        .then_refuse(ErrorCode::DrinkInvalid);
}

#[test]
fn starting_with_a_drink_refused_creates_nothing() {
    // One command, all or nothing: a bad drink does not leave an order awaiting one.
    let error = given([])
        .when(start(
            Some(choice("flat_white", &[("milk", "Soy")])),
            admitted(),
        ))
        .then_refuse(ErrorCode::DrinkInvalid);
    assert!(error.to_string().contains("Soy"), "{error}");
}

#[test]
fn starting_an_order_that_already_exists_is_an_invalid_transition() {
    given(history(OrderState::Queued))
        .when(start(None, admitted()))
        .then_refuse(ErrorCode::InvalidTransition);
}

// ── choosing the drink ───────────────────────────────────────────────────────────────────────

#[test]
fn customer_choosing_a_drink_queues_the_order_with_the_next_number() {
    let order = given([created()])
        .next_number(3)
        .when(choose(alice(), oat_flat_white()))
        .then_expect([OrderEvent::Placed {
            number: 3,
            drink: oat_flat_white_drink(),
            at: t(NOW),
            deadline_at: t(NOW + 900),
        }])
        .unwrap();
    assert_eq!(order.state, OrderState::Queued);
    assert_eq!(order.number, Some(3));
    assert_eq!(order.drink, Some(oat_flat_white_drink()));
    assert_eq!(order.placed_at, Some(t(NOW)));
    assert_eq!(order.deadline_at, Some(t(NOW + 900)));
}

#[test]
fn a_drink_without_a_required_choice_is_refused() {
    let error = given([created()])
        .when(choose(alice(), choice("flat_white", &[])))
        .then_refuse(ErrorCode::DrinkInvalid);
    assert!(error.to_string().contains("Milk"), "{error}");
}

#[test]
fn an_optional_choice_may_be_left_out() {
    given([created()])
        .when(choose(alice(), choice("americano", &[])))
        .then_expect([OrderEvent::Placed {
            number: 7,
            drink: Drink {
                item_id: "americano".into(),
                name: "Americano".into(),
                options: BTreeMap::new(),
            },
            at: t(NOW),
            deadline_at: t(NOW + 900),
        }]);
}

#[test]
fn an_option_the_group_does_not_offer_is_refused() {
    given([created()])
        .when(choose(alice(), choice("flat_white", &[("milk", "Soy")])))
        .then_refuse(ErrorCode::DrinkInvalid);
}

#[test]
fn a_choice_the_drink_does_not_have_is_refused() {
    let error = given([created()])
        .when(choose(alice(), choice("espresso", &[("milk", "Oat")])))
        .then_refuse(ErrorCode::DrinkInvalid);
    assert!(error.to_string().contains("milk"), "{error}");
}

#[test]
fn an_unknown_drink_is_refused() {
    given([created()])
        .when(choose(alice(), choice("tea", &[])))
        .then_refuse(ErrorCode::DrinkInvalid);
}

#[test]
fn a_drink_that_ran_out_cannot_be_chosen() {
    let error = given([created()])
        .shop(|s| s.menu.iter_mut().for_each(|i| i.available = false))
        .when(choose(alice(), oat_flat_white()))
        .then_refuse(ErrorCode::ItemUnavailable);
    assert!(error.to_string().contains("Flat White"), "{error}");
}

/// Oat milk is out on every drink that offers it.
fn oat_is_out(shop: &mut Shop) {
    for item in &mut shop.menu {
        for modifier in &mut item.modifiers {
            modifier.set_available("Oat", false);
        }
    }
}

#[test]
fn an_option_that_ran_out_cannot_be_chosen_and_the_refusal_names_it() {
    let error = given([created()])
        .shop(oat_is_out)
        .when(choose(alice(), oat_flat_white()))
        .then_refuse(ErrorCode::ItemUnavailable);
    assert_eq!(error.to_problem().detail.as_deref(), Some("Oat is out"));
}

#[test]
fn starting_with_an_option_that_ran_out_is_refused_and_creates_nothing() {
    let error = given([])
        .shop(oat_is_out)
        .when(start(Some(oat_flat_white()), admitted()))
        .then_refuse(ErrorCode::ItemUnavailable);
    assert_eq!(error.to_string(), "Oat is out");
}

#[test]
fn the_other_options_of_a_group_with_one_out_may_still_be_chosen() {
    let order = given([created()])
        .shop(oat_is_out)
        .when(choose(
            alice(),
            choice("flat_white", &[("milk", "Regular")]),
        ))
        .then_expect([OrderEvent::Placed {
            number: 7,
            drink: Drink {
                options: BTreeMap::from([("milk".to_owned(), "Regular".to_owned())]),
                ..oat_flat_white_drink()
            },
            at: t(NOW),
            deadline_at: t(NOW + 900),
        }])
        .unwrap();
    assert_eq!(order.state, OrderState::Queued);
    // A drink whose optional group has an option out is fine without that group.
    given([created()])
        .shop(oat_is_out)
        .when(choose(alice(), choice("americano", &[])))
        .then_expect([OrderEvent::Placed {
            number: 7,
            drink: Drink {
                item_id: "americano".into(),
                name: "Americano".into(),
                options: BTreeMap::new(),
            },
            at: t(NOW),
            deadline_at: t(NOW + 900),
        }]);
}

#[test]
fn an_unavailable_drink_is_said_before_its_options_are_checked() {
    given([created()])
        .shop(|s| s.menu.iter_mut().for_each(|i| i.available = false))
        .when(choose(alice(), choice("flat_white", &[("milk", "Soy")])))
        .then_refuse(ErrorCode::ItemUnavailable);
}

#[test]
fn the_drink_is_named_as_the_menu_names_it_then() {
    let order = given([created()])
        .shop(|s| {
            s.menu
                .iter_mut()
                .filter(|i| i.id == "flat_white")
                .for_each(|i| i.name = "Flat White (house blend)".into())
        })
        .when(choose(alice(), oat_flat_white()))
        .then_expect([OrderEvent::Placed {
            number: 7,
            drink: Drink {
                name: "Flat White (house blend)".into(),
                ..oat_flat_white_drink()
            },
            at: t(NOW),
            deadline_at: t(NOW + 900),
        }])
        .unwrap();
    assert_eq!(order.drink.unwrap().name, "Flat White (house blend)");
}

#[test]
fn choosing_a_drink_after_the_shop_closed_still_queues_it() {
    // The customer was admitted while it was open; closing stops new orders only.
    given([created()])
        .shop(|s| s.open = false)
        .when(choose(alice(), oat_flat_white()))
        .then_expect([OrderEvent::Placed {
            number: 7,
            drink: oat_flat_white_drink(),
            at: t(NOW),
            deadline_at: t(NOW + 900),
        }]);
}

#[test]
fn a_drink_cannot_be_chosen_twice() {
    given(history(OrderState::Queued))
        .when(choose(alice(), oat_flat_white()))
        .then_refuse(ErrorCode::InvalidTransition);
}

#[test]
fn a_drink_cannot_be_chosen_after_the_customer_deadline() {
    given(history(OrderState::TimedOut))
        .when(choose(alice(), oat_flat_white()))
        .then_refuse(ErrorCode::InvalidTransition);
}

#[test]
fn another_customer_cannot_choose_the_drink_and_does_not_learn_the_order_exists() {
    given([created()])
        .when(choose(bob(), oat_flat_white()))
        .then_refuse(ErrorCode::NotFound);
}

#[test]
fn a_barista_cannot_choose_a_drink_for_a_customer() {
    given([created()])
        .when(choose(bea(), oat_flat_white()))
        .then_refuse(ErrorCode::Forbidden);
}

#[test]
fn choosing_a_drink_for_an_order_that_does_not_exist_is_not_found() {
    given([])
        .when(choose(alice(), oat_flat_white()))
        .then_refuse(ErrorCode::NotFound);
}

// ── claiming ─────────────────────────────────────────────────────────────────────────────────

#[test]
fn barista_claims_a_queued_order() {
    let order = given(history(OrderState::Queued))
        .when(Command::Claim { by: bea() })
        .then_expect([OrderEvent::Claimed {
            barista_id: "bea".into(),
            at: t(NOW),
        }])
        .unwrap();
    assert_eq!(order.state, OrderState::InProgress);
    assert_eq!(order.barista_id.as_deref(), Some("bea"));
    assert_eq!(order.claimed_at, Some(t(NOW)));
}

#[test]
fn an_admin_may_claim_like_a_barista() {
    given(history(OrderState::Queued))
        .when(Command::Claim { by: ada() })
        .then_expect([OrderEvent::Claimed {
            barista_id: "ada".into(),
            at: t(NOW),
        }]);
}

#[test]
fn an_order_in_progress_cannot_be_claimed_again() {
    given(history(OrderState::InProgress))
        .when(Command::Claim { by: ben() })
        .then_refuse(ErrorCode::AlreadyClaimed);
}

#[test]
fn the_claiming_barista_claiming_again_hears_it_is_claimed() {
    given(history(OrderState::InProgress))
        .when(Command::Claim { by: bea() })
        .then_refuse(ErrorCode::AlreadyClaimed);
}

#[test]
fn an_order_awaiting_its_drink_cannot_be_claimed() {
    given(history(OrderState::AwaitingDrink))
        .when(Command::Claim { by: bea() })
        .then_refuse(ErrorCode::InvalidTransition);
}

#[test]
fn a_ready_order_cannot_be_claimed() {
    given(history(OrderState::Ready))
        .when(Command::Claim { by: bea() })
        .then_refuse(ErrorCode::InvalidTransition);
}

#[test]
fn a_cancelled_order_cannot_be_claimed() {
    given(history(OrderState::Cancelled))
        .when(Command::Claim { by: bea() })
        .then_refuse(ErrorCode::InvalidTransition);
}

#[test]
fn customer_cannot_claim_an_order() {
    given(history(OrderState::Queued))
        .when(Command::Claim { by: alice() })
        .then_refuse(ErrorCode::Forbidden);
}

#[test]
fn a_display_cannot_claim_an_order() {
    given(history(OrderState::Queued))
        .when(Command::Claim {
            by: dee_the_display(),
        })
        .then_refuse(ErrorCode::Forbidden);
}

#[test]
fn claiming_an_order_that_does_not_exist_is_not_found() {
    given([])
        .when(Command::Claim { by: bea() })
        .then_refuse(ErrorCode::NotFound);
}

// ── unclaiming ───────────────────────────────────────────────────────────────────────────────

#[test]
fn the_claiming_barista_puts_the_order_back_in_the_queue() {
    let order = given(history(OrderState::InProgress))
        .when(Command::Unclaim { by: bea() })
        .then_expect([OrderEvent::Unclaimed { at: t(NOW) }])
        .unwrap();
    assert_eq!(order.state, OrderState::Queued);
    assert_eq!(order.barista_id, None);
    assert_eq!(order.claimed_at, None);
    assert_eq!(order.number, Some(7), "it keeps its place by number");
}

#[test]
fn an_admin_may_unclaim_another_baristas_order() {
    given(history(OrderState::InProgress))
        .when(Command::Unclaim { by: ada() })
        .then_expect([OrderEvent::Unclaimed { at: t(NOW) }]);
}

#[test]
fn another_barista_cannot_unclaim_an_order() {
    given(history(OrderState::InProgress))
        .when(Command::Unclaim { by: ben() })
        .then_refuse(ErrorCode::Forbidden);
}

#[test]
fn a_queued_order_cannot_be_unclaimed() {
    given(history(OrderState::Queued))
        .when(Command::Unclaim { by: bea() })
        .then_refuse(ErrorCode::InvalidTransition);
}

#[test]
fn a_ready_order_cannot_be_unclaimed() {
    given(history(OrderState::Ready))
        .when(Command::Unclaim { by: bea() })
        .then_refuse(ErrorCode::InvalidTransition);
}

#[test]
fn customer_cannot_unclaim_an_order() {
    given(history(OrderState::InProgress))
        .when(Command::Unclaim { by: alice() })
        .then_refuse(ErrorCode::Forbidden);
}

#[test]
fn an_unclaimed_order_can_be_claimed_by_another_barista() {
    let mut events = history(OrderState::InProgress);
    events.push(unclaimed());
    given(events)
        .when(Command::Claim { by: ben() })
        .then_expect([OrderEvent::Claimed {
            barista_id: "ben".into(),
            at: t(NOW),
        }]);
}

// ── completing ───────────────────────────────────────────────────────────────────────────────

#[test]
fn barista_completes_an_order_in_progress_and_it_is_ready() {
    let order = given(history(OrderState::InProgress))
        .when(Command::Complete { by: bea() })
        .then_expect([OrderEvent::Completed {
            at: t(NOW),
            deadline_at: Some(t(NOW + 1800)),
        }])
        .unwrap();
    assert_eq!(order.state, OrderState::Ready);
    assert_eq!(order.ready_at, Some(t(NOW)));
    assert_eq!(
        pending_deadline(&order),
        Some(Deadline {
            stage: TimeoutStage::Collection,
            due_at: t(NOW + 1800),
        }),
        "the bar's deadline is met; the collection's starts"
    );
    assert_eq!(order.barista_id.as_deref(), Some("bea"));
}

#[test]
fn another_barista_may_complete_an_order() {
    given(history(OrderState::InProgress))
        .when(Command::Complete { by: ben() })
        .then_expect([OrderEvent::Completed {
            at: t(NOW),
            deadline_at: Some(t(NOW + 1800)),
        }]);
}

#[test]
fn a_shop_without_a_ready_expiry_sets_no_collection_deadline() {
    let order = given(history(OrderState::InProgress))
        .shop(|s| s.limits.ready_expiry_s = 0)
        .when(Command::Complete { by: bea() })
        .then_expect([OrderEvent::Completed {
            at: t(NOW),
            deadline_at: None,
        }])
        .unwrap();
    assert_eq!(order.deadline_at, None);
    assert_eq!(pending_deadline(&order), None);
}

#[test]
fn a_queued_order_must_be_claimed_before_it_is_completed() {
    given(history(OrderState::Queued))
        .when(Command::Complete { by: bea() })
        .then_refuse(ErrorCode::InvalidTransition);
}

#[test]
fn a_ready_order_cannot_be_completed_twice() {
    given(history(OrderState::Ready))
        .when(Command::Complete { by: bea() })
        .then_refuse(ErrorCode::InvalidTransition);
}

#[test]
fn customer_cannot_complete_their_order() {
    given(history(OrderState::InProgress))
        .when(Command::Complete { by: alice() })
        .then_refuse(ErrorCode::Forbidden);
}

// ── collecting ───────────────────────────────────────────────────────────────────────────────

#[test]
fn barista_hands_over_a_ready_order() {
    let order = given(history(OrderState::Ready))
        .when(Command::Collect { by: ben() })
        .then_expect([OrderEvent::Collected { at: t(NOW) }])
        .unwrap();
    assert_eq!(order.state, OrderState::Collected);
    assert_eq!(order.finished_at, Some(t(NOW)));
    assert_eq!(order.deadline_at, None);
}

#[test]
fn an_order_in_progress_cannot_be_collected() {
    given(history(OrderState::InProgress))
        .when(Command::Collect { by: bea() })
        .then_refuse(ErrorCode::InvalidTransition);
}

#[test]
fn an_order_cannot_be_collected_twice() {
    given(history(OrderState::Collected))
        .when(Command::Collect { by: bea() })
        .then_refuse(ErrorCode::InvalidTransition);
}

#[test]
fn customer_cannot_mark_their_order_collected() {
    given(history(OrderState::Ready))
        .when(Command::Collect { by: alice() })
        .then_refuse(ErrorCode::Forbidden);
}

// ── cancelling ───────────────────────────────────────────────────────────────────────────────

#[test]
fn customer_can_cancel_while_choosing_a_drink() {
    let order = given(history(OrderState::AwaitingDrink))
        .when(Command::Cancel {
            by: alice(),
            reason: Some("changed my mind".into()),
        })
        .then_expect([OrderEvent::Cancelled {
            by: CancelledBy::Customer,
            reason: Some("changed my mind".into()),
            at: t(NOW),
        }])
        .unwrap();
    assert_eq!(order.state, OrderState::Cancelled);
    assert_eq!(order.cancelled_by, Some(CancelledBy::Customer));
    assert_eq!(order.cancel_reason.as_deref(), Some("changed my mind"));
    assert_eq!(order.finished_at, Some(t(NOW)));
    assert_eq!(order.deadline_at, None);
}

#[test]
fn customer_can_cancel_a_queued_order() {
    given(history(OrderState::Queued))
        .when(cancel(alice()))
        .then_expect([OrderEvent::Cancelled {
            by: CancelledBy::Customer,
            reason: None,
            at: t(NOW),
        }]);
}

#[test]
fn customer_cannot_cancel_once_the_barista_started() {
    given(history(OrderState::InProgress))
        .when(cancel(alice()))
        .then_refuse(ErrorCode::InvalidTransition);
}

#[test]
fn customer_cannot_cancel_a_ready_order() {
    given(history(OrderState::Ready))
        .when(cancel(alice()))
        .then_refuse(ErrorCode::InvalidTransition);
}

#[test]
fn customer_can_cancel_again_after_the_barista_unclaimed() {
    let mut events = history(OrderState::InProgress);
    events.push(unclaimed());
    given(events)
        .when(cancel(alice()))
        .then_expect([OrderEvent::Cancelled {
            by: CancelledBy::Customer,
            reason: None,
            at: t(NOW),
        }]);
}

#[test]
fn barista_can_cancel_an_order_awaiting_its_drink() {
    given(history(OrderState::AwaitingDrink))
        .when(cancel(bea()))
        .then_expect([OrderEvent::Cancelled {
            by: CancelledBy::Staff,
            reason: None,
            at: t(NOW),
        }]);
}

#[test]
fn barista_can_cancel_a_queued_order() {
    given(history(OrderState::Queued))
        .when(Command::Cancel {
            by: ben(),
            reason: Some("out of oat milk".into()),
        })
        .then_expect([OrderEvent::Cancelled {
            by: CancelledBy::Staff,
            reason: Some("out of oat milk".into()),
            at: t(NOW),
        }]);
}

#[test]
fn barista_can_cancel_an_order_in_progress() {
    let order = given(history(OrderState::InProgress))
        .when(cancel(bea()))
        .then_expect([OrderEvent::Cancelled {
            by: CancelledBy::Staff,
            reason: None,
            at: t(NOW),
        }])
        .unwrap();
    assert_eq!(order.cancelled_by, Some(CancelledBy::Staff));
}

#[test]
fn an_admin_can_cancel_an_order_in_progress() {
    given(history(OrderState::InProgress))
        .when(cancel(ada()))
        .then_expect([OrderEvent::Cancelled {
            by: CancelledBy::Staff,
            reason: None,
            at: t(NOW),
        }]);
}

#[test]
fn barista_cannot_cancel_a_ready_order() {
    given(history(OrderState::Ready))
        .when(cancel(bea()))
        .then_refuse(ErrorCode::InvalidTransition);
}

#[test]
fn a_finished_order_cannot_be_cancelled() {
    for state in [
        OrderState::Collected,
        OrderState::Cancelled,
        OrderState::TimedOut,
    ] {
        given(history(state))
            .when(cancel(alice()))
            .then_refuse(ErrorCode::InvalidTransition);
        given(history(state))
            .when(cancel(bea()))
            .then_refuse(ErrorCode::InvalidTransition);
    }
}

#[test]
fn another_customer_cannot_cancel_and_does_not_learn_the_order_exists() {
    given(history(OrderState::Queued))
        .when(cancel(bob()))
        .then_refuse(ErrorCode::NotFound);
}

#[test]
fn a_display_cannot_cancel_an_order() {
    given(history(OrderState::Queued))
        .when(cancel(dee_the_display()))
        .then_refuse(ErrorCode::Forbidden);
}

#[test]
fn a_barista_cancelling_their_own_queued_order_cancels_as_the_customer() {
    let mut events = history(OrderState::Queued);
    if let OrderEvent::Created { customer, .. } = &mut events[0] {
        customer.id = "bea".into();
    }
    given(events)
        .when(cancel(bea()))
        .then_expect([OrderEvent::Cancelled {
            by: CancelledBy::Customer,
            reason: None,
            at: t(NOW),
        }]);
}

#[test]
fn a_barista_may_cancel_their_own_order_in_progress_as_staff() {
    let mut events = history(OrderState::InProgress);
    if let OrderEvent::Created { customer, .. } = &mut events[0] {
        customer.id = "bea".into();
    }
    given(events)
        .when(cancel(bea()))
        .then_expect([OrderEvent::Cancelled {
            by: CancelledBy::Staff,
            reason: None,
            at: t(NOW),
        }]);
}

#[test]
fn a_blank_cancel_reason_is_no_reason() {
    given(history(OrderState::Queued))
        .when(Command::Cancel {
            by: alice(),
            reason: Some("   ".into()),
        })
        .then_expect([OrderEvent::Cancelled {
            by: CancelledBy::Customer,
            reason: None,
            at: t(NOW),
        }]);
}

#[test]
fn cancelling_an_order_that_does_not_exist_is_not_found() {
    given([])
        .when(cancel(alice()))
        .then_refuse(ErrorCode::NotFound);
}

// ── deadlines ────────────────────────────────────────────────────────────────────────────────

#[test]
fn customer_deadline_times_out_an_order_still_awaiting_its_drink() {
    let order = given([created()])
        .at(300)
        .when(Command::Expire {
            stage: TimeoutStage::Customer,
        })
        .then_expect([timed_out(TimeoutStage::Customer, 300)])
        .unwrap();
    assert_eq!(order.state, OrderState::TimedOut);
    assert_eq!(order.timeout_stage, Some(TimeoutStage::Customer));
    assert_eq!(order.finished_at, Some(t(300)));
    assert_eq!(order.deadline_at, None);
    assert_eq!(pending_deadline(&order), None);
}

#[test]
fn customer_deadline_does_nothing_once_the_drink_is_chosen() {
    given(history(OrderState::Queued))
        .at(300)
        .when(Command::Expire {
            stage: TimeoutStage::Customer,
        })
        .then_nothing();
}

#[test]
fn customer_deadline_does_nothing_after_the_customer_cancelled() {
    given([created(), cancelled(CancelledBy::Customer)])
        .at(300)
        .when(Command::Expire {
            stage: TimeoutStage::Customer,
        })
        .then_nothing();
}

#[test]
fn customer_deadline_fires_exactly_once() {
    given([created(), timed_out(TimeoutStage::Customer, 300)])
        .at(301)
        .when(Command::Expire {
            stage: TimeoutStage::Customer,
        })
        .then_nothing();
}

#[test]
fn barista_deadline_times_out_a_queued_order() {
    let order = given(history(OrderState::Queued))
        .at(960)
        .when(Command::Expire {
            stage: TimeoutStage::Barista,
        })
        .then_expect([timed_out(TimeoutStage::Barista, 960)])
        .unwrap();
    assert_eq!(order.state, OrderState::TimedOut);
    assert_eq!(order.timeout_stage, Some(TimeoutStage::Barista));
    assert_eq!(order.number, Some(7));
}

#[test]
fn barista_deadline_times_out_an_order_in_progress() {
    given(history(OrderState::InProgress))
        .at(960)
        .when(Command::Expire {
            stage: TimeoutStage::Barista,
        })
        .then_expect([timed_out(TimeoutStage::Barista, 960)]);
}

#[test]
fn barista_deadline_counts_from_queueing_even_after_a_claim() {
    let events = history(OrderState::InProgress);
    let order = apply_all(None, &events).unwrap();
    assert_eq!(
        pending_deadline(&order),
        Some(Deadline {
            stage: TimeoutStage::Barista,
            due_at: t(60 + 900),
        }),
        "placed at 60 s; the claim at 120 s does not move it"
    );
}

#[test]
fn barista_deadline_is_kept_across_an_unclaim() {
    let mut events = history(OrderState::InProgress);
    events.push(unclaimed());
    let order = apply_all(None, &events).unwrap();
    assert_eq!(order.deadline_at, Some(t(960)));
    given(events)
        .at(960)
        .when(Command::Expire {
            stage: TimeoutStage::Barista,
        })
        .then_expect([timed_out(TimeoutStage::Barista, 960)]);
}

#[test]
fn barista_deadline_does_nothing_once_the_order_is_ready() {
    given(history(OrderState::Ready))
        .at(960)
        .when(Command::Expire {
            stage: TimeoutStage::Barista,
        })
        .then_nothing();
}

#[test]
fn barista_deadline_does_nothing_after_collection_or_cancellation() {
    for state in [OrderState::Collected, OrderState::Cancelled] {
        given(history(state))
            .at(960)
            .when(Command::Expire {
                stage: TimeoutStage::Barista,
            })
            .then_nothing();
    }
}

#[test]
fn barista_deadline_fires_exactly_once() {
    let mut events = history(OrderState::Queued);
    events.push(timed_out(TimeoutStage::Barista, 960));
    given(events)
        .at(961)
        .when(Command::Expire {
            stage: TimeoutStage::Barista,
        })
        .then_nothing();
}

#[test]
fn barista_deadline_does_not_touch_an_order_awaiting_its_drink() {
    given([created()])
        .when(Command::Expire {
            stage: TimeoutStage::Barista,
        })
        .then_nothing();
}

#[test]
fn a_ready_order_not_collected_in_time_times_out_as_not_collected() {
    let order = given(history(OrderState::Ready))
        .at(180 + 1800)
        .when(Command::Expire {
            stage: TimeoutStage::Collection,
        })
        .then_expect([timed_out(TimeoutStage::Collection, 1980)])
        .unwrap();
    assert_eq!(order.state, OrderState::TimedOut);
    assert_eq!(order.timeout_stage, Some(TimeoutStage::Collection));
    assert_eq!(order.ready_at, Some(t(180)), "it was made");
    assert_eq!(order.finished_at, Some(t(1980)));
    assert_eq!(order.deadline_at, None);
    assert_eq!(pending_deadline(&order), None);
}

#[test]
fn the_collection_deadline_does_nothing_once_handed_over() {
    given(history(OrderState::Collected))
        .at(1980)
        .when(Command::Expire {
            stage: TimeoutStage::Collection,
        })
        .then_nothing();
}

#[test]
fn the_collection_deadline_fires_exactly_once() {
    let mut events = history(OrderState::Ready);
    events.push(timed_out(TimeoutStage::Collection, 1980));
    given(events.clone())
        .at(1981)
        .when(Command::Expire {
            stage: TimeoutStage::Collection,
        })
        .then_nothing();
    // And a drink not collected can no longer be handed over.
    given(events)
        .when(Command::Collect { by: bea() })
        .then_refuse(ErrorCode::InvalidTransition);
}

#[test]
fn the_collection_deadline_does_not_touch_an_order_still_being_made() {
    for state in [
        OrderState::Queued,
        OrderState::InProgress,
        OrderState::AwaitingDrink,
    ] {
        given(history(state))
            .when(Command::Expire {
                stage: TimeoutStage::Collection,
            })
            .then_nothing();
    }
}

#[test]
fn a_deadline_of_an_order_that_does_not_exist_does_nothing() {
    given([])
        .when(Command::Expire {
            stage: TimeoutStage::Customer,
        })
        .then_nothing();
}

#[test]
fn a_timed_out_order_accepts_no_more_actions() {
    let mut events = history(OrderState::InProgress);
    events.push(timed_out(TimeoutStage::Barista, 960));
    given(events.clone())
        .when(Command::Complete { by: bea() })
        .then_refuse(ErrorCode::InvalidTransition);
    given(events)
        .when(Command::Collect { by: bea() })
        .then_refuse(ErrorCode::InvalidTransition);
}

#[test]
fn the_pending_deadline_follows_the_order_through_its_life() {
    let customer = |due| {
        Some(Deadline {
            stage: TimeoutStage::Customer,
            due_at: t(due),
        })
    };
    let barista = Some(Deadline {
        stage: TimeoutStage::Barista,
        due_at: t(960),
    });
    let steps = [
        (created(), customer(300)),
        (placed(), barista),
        (claimed_by(&bea()), barista),
        (unclaimed(), barista),
        (claimed_by(&ben()), barista),
        (
            completed(),
            Some(Deadline {
                stage: TimeoutStage::Collection,
                due_at: t(180 + 1800),
            }),
        ),
        (collected(), None),
    ];
    let mut order = None;
    for (event, expected) in steps {
        order = apply(order, &event);
        let current = order.as_ref().unwrap();
        assert_eq!(pending_deadline(current), expected, "after {event:?}");
    }
}

// ── apply ────────────────────────────────────────────────────────────────────────────────────

#[test]
fn apply_folds_a_whole_lifecycle_into_the_order() {
    let order = apply_all(None, &history(OrderState::Collected)).unwrap();
    assert_eq!(
        order,
        Order {
            id: "o1".into(),
            shop: "main".into(),
            number: Some(7),
            state: OrderState::Collected,
            drink: Some(oat_flat_white_drink()),
            customer: alice_ref(),
            barista_id: Some("bea".into()),
            created_at: t(0),
            placed_at: Some(t(60)),
            claimed_at: Some(t(120)),
            ready_at: Some(t(180)),
            finished_at: Some(t(200)),
            deadline_at: None,
            cancel_reason: None,
            cancelled_by: None,
            timeout_stage: None,
        }
    );
}

#[test]
fn apply_ignores_events_of_an_order_that_was_never_created() {
    assert_eq!(apply(None, &placed()), None);
}

#[test]
fn every_event_is_published_under_its_api_type() {
    let pairs = [
        (created(), EventType::OrderCreated),
        (placed(), EventType::OrderPlaced),
        (claimed_by(&bea()), EventType::OrderClaimed),
        (unclaimed(), EventType::OrderUnclaimed),
        (completed(), EventType::OrderCompleted),
        (collected(), EventType::OrderCollected),
        (cancelled(CancelledBy::Staff), EventType::OrderCancelled),
        (
            timed_out(TimeoutStage::Barista, 960),
            EventType::OrderTimedOut,
        ),
    ];
    for (event, kind) in pairs {
        assert_eq!(event.event_type(), kind);
        // Stored events use the same names as the API's event types.
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], kind.as_str());
        assert_eq!(json["at"], serde_json::to_value(event.at()).unwrap());
        assert_eq!(serde_json::from_value::<OrderEvent>(json).unwrap(), event);
    }
}

#[test]
fn a_refusal_becomes_the_apis_problem() {
    let problem = WorkflowError::InvalidTransition {
        action: "claim",
        state: OrderState::Ready,
    }
    .to_problem();
    assert_eq!(problem.status, 409);
    assert_eq!(problem.state, Some(OrderState::Ready));
    assert_eq!(
        problem.detail.as_deref(),
        Some("cannot claim an order that is ready")
    );
    let full = WorkflowError::QueueFull { limit: 20 }.to_problem();
    assert_eq!(full.code, ErrorCode::QueueFull);
    assert_eq!(full.state, None);
    assert_eq!(
        full.title,
        "The queue is full right now. Please try again in a few minutes"
    );
}

// ── the whole transition table ───────────────────────────────────────────────────────────────

/// What a command does from a state, with an actor allowed to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    To(OrderState),
    Nothing,
    Refused(ErrorCode),
}

#[test]
fn every_state_and_action_follows_the_transition_table() {
    use ErrorCode::InvalidTransition as No;
    use OrderState::*;
    let actions: [(&str, Command); 10] = [
        ("choose", choose(alice(), oat_flat_white())),
        ("claim", Command::Claim { by: bea() }),
        ("unclaim", Command::Unclaim { by: bea() }),
        ("complete", Command::Complete { by: bea() }),
        ("collect", Command::Collect { by: bea() }),
        ("cancel (owner)", cancel(alice())),
        ("cancel (barista)", cancel(ben())),
        (
            "customer deadline",
            Command::Expire {
                stage: TimeoutStage::Customer,
            },
        ),
        (
            "barista deadline",
            Command::Expire {
                stage: TimeoutStage::Barista,
            },
        ),
        (
            "collection deadline",
            Command::Expire {
                stage: TimeoutStage::Collection,
            },
        ),
    ];
    // Short names, consts not variables: each use in the table is a fresh value.
    const X: Outcome = Outcome::Refused(ErrorCode::InvalidTransition);
    const TAKEN: Outcome = Outcome::Refused(ErrorCode::AlreadyClaimed);
    const STAY: Outcome = Outcome::Nothing;
    const QUEUED: Outcome = Outcome::To(Queued);
    const MAKING: Outcome = Outcome::To(InProgress);
    const READY: Outcome = Outcome::To(Ready);
    const DONE: Outcome = Outcome::To(Collected);
    const CANCEL: Outcome = Outcome::To(Cancelled);
    const TIMEUP: Outcome = Outcome::To(TimedOut);
    #[rustfmt::skip]
    let table: [(OrderState, [Outcome; 10]); 7] = [
        //                choose  claim   unclaim compl.  collect cancel  cancel  cust.   barista collection
        //                                                        (owner) (staff) dl      dl      dl
        (AwaitingDrink,  [QUEUED, X,      X,      X,      X,      CANCEL, CANCEL, TIMEUP, STAY,   STAY]),
        (Queued,         [X,      MAKING, X,      X,      X,      CANCEL, CANCEL, STAY,   TIMEUP, STAY]),
        (InProgress,     [X,      TAKEN,  QUEUED, READY,  X,      X,      CANCEL, STAY,   TIMEUP, STAY]),
        (Ready,          [X,      X,      X,      X,      DONE,   X,      X,      STAY,   STAY,   TIMEUP]),
        (Collected,      [X,      X,      X,      X,      X,      X,      X,      STAY,   STAY,   STAY]),
        (Cancelled,      [X,      X,      X,      X,      X,      X,      X,      STAY,   STAY,   STAY]),
        (TimedOut,       [X,      X,      X,      X,      X,      X,      X,      STAY,   STAY,   STAY]),
    ];
    for (state, outcomes) in table {
        assert_eq!(state_after(&history(state)), state);
        for ((name, command), expected) in actions.iter().zip(outcomes) {
            let then = given(history(state)).when(command.clone());
            let actual = match &then.result {
                Ok(events) if events.is_empty() => Outcome::Nothing,
                Ok(events) => Outcome::To(
                    apply_all(then.order.clone(), events)
                        .map(|o| o.state)
                        .unwrap(),
                ),
                Err(error) => {
                    if error.code() == No {
                        assert_eq!(error.to_problem().state, Some(state));
                    }
                    Outcome::Refused(error.code())
                }
            };
            assert_eq!(actual, expected, "{name} from {state}");
        }
    }
}
