//! The PostgreSQL store against a throwaway cluster ([`super::scratch`]): two stores on one
//! database stand for two servers.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use espresso_protocol::{CustomerRef, EventType, ShopId};

use super::PgStore;
use crate::store::prelude::*;
use crate::store::{Answer, Committed, StoreError};

async fn two_servers() -> (PgStore, PgStore) {
    let url = super::scratch::fresh_database().await.unwrap();
    let a = PgStore::open(&url, "http://cafe.test").await.unwrap();
    let b = PgStore::open(&url, "http://cafe.test").await.unwrap();
    (a, b)
}

async fn open_main(store: &PgStore) {
    store
        .update_shop(
            &ShopId::main(),
            Utc::now(),
            Box::new(|shop| {
                shop.open = true;
                shop.limits.drinks_per_code = 5;
                shop.limits.max_queue = 100;
                Ok(())
            }),
            None,
        )
        .await
        .unwrap();
}

async fn customer(store: &PgStore, n: usize) -> CustomerRef {
    let id = crate::store::new_id("usr");
    sqlx::query("INSERT INTO users (id, email, created_ms) VALUES ($1, $2, 0)")
        .bind(&id)
        .bind(format!("c{n}@example.com"))
        .execute(store.pool())
        .await
        .unwrap();
    CustomerRef {
        id: id.into(),
        display_name: Some(format!("C{n}")),
    }
}

/// Wait until `tail` has shown every seq up to `head`, returning them in order of arrival.
async fn seqs_until(tail: &mut tokio::sync::broadcast::Receiver<Committed>, head: u64) -> Vec<u64> {
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while seen.last().copied().unwrap_or(0) < head {
            seen.push(tail.recv().await.unwrap().seq);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the tail stopped at {seen:?}, head {head}"));
    seen
}

#[tokio::test]
async fn scans_of_one_code_on_two_servers_start_exactly_its_uses() {
    let (a, b) = two_servers().await;
    open_main(&a).await;
    let code = a.current_code(&ShopId::main(), Utc::now()).await.unwrap();
    assert_eq!(
        b.current_code(&ShopId::main(), Utc::now())
            .await
            .unwrap()
            .code,
        code.code,
        "the second server issues no code of its own"
    );
    let mut customers = Vec::new();
    for n in 0..12 {
        customers.push(customer(&a, n).await);
    }
    let mut scans = Vec::new();
    for (n, who) in customers.into_iter().enumerate() {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        let code = code.code.clone();
        scans.push(tokio::spawn(async move {
            store
                .start_order(&ShopId::main(), who, &code, None, Utc::now(), None)
                .await
        }));
    }
    let mut started = 0;
    let mut exhausted = 0;
    for scan in scans {
        match scan.await.unwrap() {
            Ok(Answer::Done(_)) => started += 1,
            Err(StoreError::Refused(problem)) => {
                assert_eq!(problem.code.as_str(), "code_exhausted", "{problem:?}");
                exhausted += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((started, exhausted), (5, 7));
    let left = b.current_code(&ShopId::main(), Utc::now()).await.unwrap();
    assert_eq!(left.remaining, 0);
}

#[tokio::test]
async fn each_server_publishes_every_event_of_a_shop_once_in_seq_order() {
    let (a, b) = two_servers().await;
    let mut tail_a = a.tail.subscribe();
    let mut tail_b = b.tail.subscribe();
    open_main(&a).await;
    let code = b.current_code(&ShopId::main(), Utc::now()).await.unwrap();
    for n in 0..4 {
        let who = customer(&a, n).await;
        let store = if n % 2 == 0 { &a } else { &b };
        store
            .start_order(&ShopId::main(), who, &code.code, None, Utc::now(), None)
            .await
            .unwrap();
    }
    let head = a.head(&ShopId::main()).await.unwrap();
    assert_eq!(head, b.head(&ShopId::main()).await.unwrap());
    for tail in [&mut tail_a, &mut tail_b] {
        let seqs = seqs_until(tail, head).await;
        assert_eq!(
            seqs,
            (1..=head).collect::<Vec<_>>(),
            "gap-free, once each, in order"
        );
    }
    let kinds: HashSet<EventType> = a
        .events_after(&ShopId::main(), 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.event.kind)
        .collect();
    assert!(kinds.contains(&EventType::CodeRedeemed), "{kinds:?}");
}

#[tokio::test]
async fn a_periodic_round_goes_to_one_server_and_the_next_round_to_whoever_asks_first() {
    let (a, b) = two_servers().await;
    let every = Duration::from_secs(600);
    let t0 = Utc::now();
    let first = (
        a.claim_periodic("housekeeping", t0, every).await.unwrap(),
        b.claim_periodic("housekeeping", t0, every).await.unwrap(),
    );
    assert_eq!(first, (true, false));
    let later = t0 + chrono::Duration::seconds(599);
    assert!(
        !b.claim_periodic("housekeeping", later, every)
            .await
            .unwrap()
    );
    let due = t0 + chrono::Duration::seconds(600);
    assert!(b.claim_periodic("housekeeping", due, every).await.unwrap());
    assert!(!a.claim_periodic("housekeeping", due, every).await.unwrap());
    assert!(
        a.claim_periodic("other", due, every).await.unwrap(),
        "each task its own rounds"
    );
}

#[tokio::test]
async fn a_deadline_taken_by_a_server_that_dies_before_firing_it_is_taken_over_once_its_claim_runs_out()
 {
    let (a, b) = two_servers().await;
    open_main(&a).await;
    let shop = ShopId::main();
    let code = a.current_code(&shop, Utc::now()).await.unwrap().code;
    let ann = customer(&a, 1).await;
    let order = a
        .start_order(&shop, ann, &code, None, Utc::now(), None)
        .await
        .unwrap()
        .done()
        .unwrap();
    let due_at = order
        .deadline_at
        .expect("a new order waits for its drink until a deadline");
    let ids = |due: Vec<crate::store::DueDeadline>| -> Vec<String> {
        due.into_iter().map(|d| d.order_id.to_string()).collect()
    };

    // Server a takes the deadline when it is due, then dies without firing it.
    let taken = a.due_deadlines(due_at, 10).await.unwrap();
    let stage = taken[0].stage;
    assert_eq!(ids(taken), [order.id.to_string()]);
    // While a's claim holds, b leaves it alone, and wakes for it when the claim runs out.
    assert!(b.due_deadlines(due_at, 10).await.unwrap().is_empty());
    let claim_ends = b.next_deadline().await.unwrap().unwrap();
    assert!(
        claim_ends > due_at,
        "b would spin at {due_at} on a claimed deadline"
    );
    let just_before = claim_ends - chrono::Duration::milliseconds(1);
    assert!(b.due_deadlines(just_before, 10).await.unwrap().is_empty());

    // a never fired it: b takes it over, and only b.
    let taken_over = b.due_deadlines(claim_ends, 10).await.unwrap();
    assert_eq!(ids(taken_over), [order.id.to_string()]);
    assert!(a.due_deadlines(claim_ends, 10).await.unwrap().is_empty());
    let expired = b
        .order_command(
            &shop,
            &order.id,
            crate::workflow::Command::Expire { stage },
            claim_ends,
            None,
        )
        .await
        .unwrap()
        .done()
        .unwrap();
    assert_eq!(expired.state, espresso_protocol::OrderState::TimedOut);
    assert!(
        a.next_deadline().await.unwrap().is_none(),
        "fired once, and gone for every server"
    );
}
