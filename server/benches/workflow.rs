//! The order workflow's pure core: `decide` and `apply`, without storage or HTTP.
//!
//! `cargo bench -p espresso-server --bench workflow` (or `cargo xtask bench`, which runs it with
//! the other figures). What it shows: the state machine's share of a command's cost.

use std::collections::BTreeMap;
use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use espresso_protocol::{CustomerRef, DrinkChoice, Order, Role, Shop};
use espresso_server::workflow::{self, Actor, Admission, CodeCheck, Command, Context, OrderEvent};

fn open_shop() -> Shop {
    let mut shop = Shop::default_main();
    shop.open = true;
    shop
}

fn instant() -> DateTime<Utc> {
    "2026-05-04T09:00:00Z".parse().expect("a valid instant")
}

/// The five commands of one full lifecycle: scan, choose, claim, complete, collect.
fn lifecycle_commands(n: u32) -> Vec<Command> {
    let customer = Actor::new(format!("u{n}"), vec![Role::Customer]);
    let barista = Actor::new("b1", vec![Role::Barista]);
    vec![
        Command::Start {
            order_id: format!("ord_{n}").into(),
            customer: CustomerRef {
                id: format!("u{n}").into(),
                display_name: Some("Ann".into()),
            },
            drink: None,
            admission: Admission {
                code: CodeCheck::Valid,
                has_open_order: false,
                orders_today: 0,
                queue_length: 3,
            },
        },
        Command::ChooseDrink {
            by: customer,
            drink: DrinkChoice {
                item_id: "flat_white".into(),
                options: BTreeMap::from([("milk".to_owned(), "Oat".to_owned())]),
            },
        },
        Command::Claim {
            by: barista.clone(),
        },
        Command::Complete {
            by: barista.clone(),
        },
        Command::Collect { by: barista },
    ]
}

/// Decide and apply each command in turn; the events of every step.
fn run(commands: &[Command], ctx: &Context<'_>) -> (Option<Order>, Vec<OrderEvent>) {
    let mut order = None;
    let mut all = Vec::new();
    for command in commands {
        let events = workflow::decide(order.as_ref(), command, ctx).expect("an allowed step");
        order = workflow::apply_all(order, &events);
        all.extend(events);
    }
    (order, all)
}

fn benches(c: &mut Criterion) {
    let shop = open_shop();
    let ctx = Context {
        now: instant(),
        shop: &shop,
        next_number: 42,
    };
    let commands = lifecycle_commands(1);
    let (done, events) = run(&commands, &ctx);
    assert!(done.is_some_and(|order| order.state.is_finished()));

    c.bench_function("workflow: one full lifecycle (5 × decide + apply)", |b| {
        b.iter(|| run(black_box(&commands), &ctx));
    });

    let queued = workflow::apply_all(None, &events[..2]);
    let claim = &commands[2];
    c.bench_function("workflow: decide a claim", |b| {
        b.iter(|| workflow::decide(black_box(queued.as_ref()), claim, &ctx));
    });
    c.bench_function("workflow: apply the 5 events of a lifecycle", |b| {
        b.iter(|| workflow::apply_all(None, black_box(&events)));
    });
}

criterion_group!(workflow_benches, benches);
criterion_main!(workflow_benches);
