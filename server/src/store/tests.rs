//! The writer and its memory against the database they keep: given a store on a real file, when
//! commands run (concurrently, refused, retried, across a reopen), then what memory decided from
//! is what the database says.

use crate::store::prelude::*;
use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use espresso_protocol::{
    CustomerRef, DrinkChoice, ErrorCode, EventType, OrderId, OrderState, Role, ShopId,
};

use super::{Answer, Remember, SqliteStore};
use crate::workflow::{Actor, Command};

async fn open_at(dir: &tempfile::TempDir) -> SqliteStore {
    let url = format!("sqlite://{}", dir.path().join("espresso.db").display());
    SqliteStore::open(&url, "http://cafe.test").await.unwrap()
}

/// An open shop with room for many orders a code, a day and in the queue.
async fn open_shop(store: &SqliteStore, drinks_per_code: u32) {
    store
        .change_shop(&ShopId::main(), Utc::now(), move |shop| {
            shop.open = true;
            shop.limits.drinks_per_code = drinks_per_code;
            shop.limits.max_queue = 1000;
            shop.limits.max_orders_per_day = 0;
            Ok(())
        })
        .await
        .unwrap();
}

/// `store` with its shop open (see [`open_shop`]), and the booth code to order with.
async fn with_open_shop(store: SqliteStore, drinks_per_code: u32) -> (SqliteStore, String) {
    open_shop(&store, drinks_per_code).await;
    let code = store
        .current_code(&ShopId::main(), Utc::now())
        .await
        .unwrap()
        .code;
    (store, code)
}

/// A store on a file in `dir` with its shop open, and the booth code.
async fn open_shop_at(dir: &tempfile::TempDir, drinks_per_code: u32) -> (SqliteStore, String) {
    with_open_shop(open_at(dir).await, drinks_per_code).await
}

/// A throwaway store with its shop open, and the booth code.
async fn open_shop_in_memory(drinks_per_code: u32) -> (SqliteStore, String) {
    let store = SqliteStore::open("sqlite::memory:", "http://cafe.test")
        .await
        .unwrap();
    with_open_shop(store, drinks_per_code).await
}

/// `who` starts an order of `item` now with the booth code, no `Idempotency-Key`.
async fn place(
    store: &SqliteStore,
    who: CustomerRef,
    code: &str,
    item: &str,
) -> super::StoreResult<Answer<espresso_protocol::Order>> {
    store
        .start_order(&ShopId::main(), who, code, drink(item), Utc::now(), None)
        .await
}

fn customer(n: usize) -> CustomerRef {
    CustomerRef {
        id: format!("usr_{n}").into(),
        display_name: None,
    }
}

async fn person(store: &SqliteStore, n: usize) -> CustomerRef {
    let user = store
        .ensure_user(&format!("guest{n}@cafe.test"), Utc::now())
        .await
        .unwrap();
    CustomerRef {
        id: user.id,
        display_name: None,
    }
}

fn drink(item: &str) -> Option<DrinkChoice> {
    let options = if item == "flat_white" {
        BTreeMap::from([("milk".to_owned(), "Oat".to_owned())])
    } else {
        BTreeMap::new()
    };
    Some(DrinkChoice {
        item_id: item.to_owned(),
        options,
    })
}

fn barista() -> Actor {
    Actor::new("usr_barista", vec![Role::Customer, Role::Barista])
}

async fn run(store: &SqliteStore, order: &OrderId, command: Command) -> espresso_protocol::Order {
    store
        .order_command(&ShopId::main(), order, command, Utc::now(), None)
        .await
        .unwrap()
        .done()
        .unwrap()
}

#[tokio::test]
async fn the_stats_memory_publishes_are_the_stats_the_database_gives() {
    let dir = tempfile::tempdir().unwrap();
    let (store, code) = open_shop_at(&dir, 100).await;
    let items = ["flat_white", "espresso", "americano"];
    for n in 0..12 {
        let who = person(&store, n).await;
        let order = store
            .start_order(
                &ShopId::main(),
                who,
                &code,
                drink(items[n % 3]),
                Utc::now(),
                None,
            )
            .await
            .unwrap()
            .done()
            .unwrap();
        // Leave some queued, some in progress, some ready, some handed over, one cancelled.
        if n % 6 == 5 {
            run(
                &store,
                &order.id,
                Command::Cancel {
                    by: barista(),
                    reason: None,
                },
            )
            .await;
            continue;
        }
        if n % 6 >= 1 {
            run(&store, &order.id, Command::Claim { by: barista() }).await;
        }
        if n % 6 >= 2 {
            run(&store, &order.id, Command::Complete { by: barista() }).await;
        }
        if n % 6 >= 3 {
            run(&store, &order.id, Command::Collect { by: barista() }).await;
        }
    }
    let from_memory = store.memory_stats("main").await.unwrap();
    let from_database = store.stats(&ShopId::main(), Utc::now()).await.unwrap();
    assert_eq!(from_memory, from_database);
    assert_eq!(from_memory.queue_length, 2);
    assert_eq!(from_memory.in_progress, 2);
    assert_eq!(from_memory.served_today, 4);
    assert!(!from_memory.by_item.is_empty());

    // And after a reopen, memory reloaded from the file says the same.
    drop(store);
    let store = open_at(&dir).await;
    assert_eq!(store.memory_stats("main").await.unwrap(), from_database);
}

#[tokio::test]
async fn concurrent_scans_of_one_code_start_exactly_its_drinks_and_the_log_has_no_gap() {
    let dir = tempfile::tempdir().unwrap();
    let (store, code) = open_shop_at(&dir, 10).await;
    let head_before = store.head(&ShopId::main()).await.unwrap();
    let mut people = Vec::new();
    for n in 0..50 {
        people.push(person(&store, n).await);
    }
    let scans: Vec<_> = people
        .into_iter()
        .map(|who| {
            let store = store.clone();
            let code = code.clone();
            tokio::spawn(async move {
                store
                    .start_order(
                        &ShopId::main(),
                        who,
                        &code,
                        drink("espresso"),
                        Utc::now(),
                        None,
                    )
                    .await
            })
        })
        .collect();
    let mut started = 0;
    let mut exhausted = 0;
    for scan in scans {
        match scan.await.unwrap() {
            Ok(_) => started += 1,
            Err(error) if error.code() == ErrorCode::CodeExhausted => exhausted += 1,
            Err(error) => panic!("unexpected refusal: {error}"),
        }
    }
    assert_eq!((started, exhausted), (10, 40));
    // Refused scans appended nothing: the log runs on from the head without a gap.
    let events = store
        .events_after(&ShopId::main(), head_before, 1000)
        .await
        .unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    let expected: Vec<u64> = (head_before + 1..=head_before + seqs.len() as u64).collect();
    assert_eq!(seqs, expected);
    assert_eq!(
        store.head(&ShopId::main()).await.unwrap(),
        head_before + seqs.len() as u64
    );
    let placed = events
        .iter()
        .filter(|e| e.event.kind == EventType::OrderPlaced)
        .count();
    assert_eq!(placed, 10);
    // Numbers 1..=10, each once.
    let mut numbers: Vec<u32> = store
        .orders_in(&ShopId::main(), &[OrderState::Queued], 100)
        .await
        .unwrap()
        .iter()
        .filter_map(|o| o.number)
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=10).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_retried_command_answers_the_first_answer_and_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, code) = open_shop_at(&dir, 10).await;
    let who = person(&store, 1).await;
    let order = store
        .start_order(
            &ShopId::main(),
            who,
            &code,
            drink("espresso"),
            Utc::now(),
            None,
        )
        .await
        .unwrap()
        .done()
        .unwrap();
    let key = |hash: &str| {
        Some(Remember {
            scope: "usr_barista POST /shops/main/orders/x/claim".into(),
            key: "k1".into(),
            request_hash: hash.into(),
            status: 200,
        })
    };
    let first = store
        .order_command(
            &ShopId::main(),
            &order.id,
            Command::Claim { by: barista() },
            Utc::now(),
            key("h"),
        )
        .await
        .unwrap();
    let Some(claimed) = first.done() else {
        panic!("the first claim must run")
    };
    let again = store
        .order_command(
            &ShopId::main(),
            &order.id,
            Command::Claim { by: barista() },
            Utc::now(),
            key("h"),
        )
        .await
        .unwrap();
    let Answer::Replayed(stored) = again else {
        panic!("the retry must be a replay")
    };
    assert_eq!(stored.status, 200);
    assert_eq!(
        serde_json::from_str::<espresso_protocol::Order>(&stored.body).unwrap(),
        claimed
    );
    let claims = store
        .journey(&order.id)
        .await
        .unwrap()
        .iter()
        .filter(|step| step.kind == EventType::OrderClaimed)
        .count();
    assert_eq!(claims, 1);
    // The same key with another body is refused, and changes nothing.
    let reused = store
        .order_command(
            &ShopId::main(),
            &order.id,
            Command::Complete { by: barista() },
            Utc::now(),
            key("other"),
        )
        .await
        .unwrap_err();
    assert_eq!(reused.code(), ErrorCode::IdempotencyKeyReused);
    let now = store
        .order(&ShopId::main(), &order.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.state, OrderState::InProgress);
}

#[tokio::test]
async fn what_memory_decides_from_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (store, code) = open_shop_at(&dir, 10).await;
    let ann = person(&store, 1).await;
    let bob = person(&store, 2).await;
    let first = store
        .start_order(
            &ShopId::main(),
            ann.clone(),
            &code,
            drink("espresso"),
            Utc::now(),
            None,
        )
        .await
        .unwrap()
        .done()
        .unwrap();
    assert_eq!(first.number, Some(1));
    let head = store.head(&ShopId::main()).await.unwrap();
    assert!(head > 0);
    drop(store);

    let store = open_at(&dir).await;
    // The live stream's head is where it was, and the log goes on from it.
    assert_eq!(store.head(&ShopId::main()).await.unwrap(), head);
    // Ann's order is still open; the code has one use fewer; numbers go on.
    let refused = store
        .start_order(
            &ShopId::main(),
            ann,
            &code,
            drink("espresso"),
            Utc::now(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::OpenOrderExists);
    let second = store
        .start_order(
            &ShopId::main(),
            bob,
            &code,
            drink("espresso"),
            Utc::now(),
            None,
        )
        .await
        .unwrap()
        .done()
        .unwrap();
    assert_eq!(second.number, Some(2));
    let next = store.events_after(&ShopId::main(), head, 1).await.unwrap();
    assert_eq!(next[0].seq, head + 1);
    assert!(store.head(&ShopId::main()).await.unwrap() > head);
    assert_eq!(
        store
            .current_code(&ShopId::main(), Utc::now())
            .await
            .unwrap()
            .remaining,
        8
    );
}

#[tokio::test]
async fn a_cached_access_token_stops_working_at_sign_out_and_follows_role_changes() {
    let store = SqliteStore::open("sqlite::memory:", "http://cafe.test")
        .await
        .unwrap();
    let now = Utc::now();
    let user = store.ensure_user("ann@cafe.test", now).await.unwrap();
    let session = crate::auth::open_session(&store, &user, now).await.unwrap();
    let seen = crate::auth::authenticate(&store, &session.access_token, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.roles, vec![Role::Customer]);

    store
        .grant("ann@cafe.test", Role::Barista, now)
        .await
        .unwrap();
    let seen = crate::auth::authenticate(&store, &session.access_token, now)
        .await
        .unwrap()
        .unwrap();
    assert!(seen.roles.contains(&Role::Barista), "{:?}", seen.roles);

    crate::auth::sign_out(&store, &session.access_token, now)
        .await
        .unwrap();
    assert!(
        crate::auth::authenticate(&store, &session.access_token, now)
            .await
            .unwrap()
            .is_none()
    );
    // Cached or not, a token is refused once it has expired.
    let other = crate::auth::open_session(&store, &user, now).await.unwrap();
    let later = now + crate::auth::ACCESS_TOKEN_TTL + Duration::seconds(1);
    assert!(
        crate::auth::authenticate(&store, &other.access_token, now)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        crate::auth::authenticate(&store, &other.access_token, later)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_customer_unknown_to_the_database_is_refused_and_changes_nothing() {
    // A foreign key refusal inside a job rolls that job back alone.
    let (store, code) = open_shop_in_memory(10).await;
    let head = store.head(&ShopId::main()).await.unwrap();
    let error = store
        .start_order(
            &ShopId::main(),
            customer(99),
            &code,
            drink("espresso"),
            Utc::now(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::Internal);
    assert_eq!(store.head(&ShopId::main()).await.unwrap(), head);
    assert_eq!(
        store
            .current_code(&ShopId::main(), Utc::now())
            .await
            .unwrap()
            .remaining,
        10
    );
    // And the writer goes on.
    let ann = person(&store, 1).await;
    store
        .start_order(
            &ShopId::main(),
            ann,
            &code,
            drink("espresso"),
            Utc::now(),
            None,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_command_that_fails_after_writing_takes_its_whole_batch_back() {
    // Order commands run without a savepoint (they refuse before they write). Given one that
    // writes and then fails all the same, as only a database error could:
    let store = SqliteStore::open("sqlite::memory:", "http://cafe.test")
        .await
        .unwrap();
    let error = store
        .writer
        .run_deciding_first(|work| -> super::StoreResult<()> {
            work.conn.execute(
                "INSERT INTO order_numbers (shop, business_day, last_number)
                 VALUES ('main', '2000-01-01', 7)",
                [],
            )?;
            Err(super::StoreError::database("the disk went away"))
        })
        .await
        .unwrap_err();
    // then it is answered with its error, and nothing it wrote is kept;
    let failed_batches = || {
        store
            .writer
            .stats()
            .failed_batches
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    assert_eq!(error.code(), ErrorCode::Internal);
    let kept: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM order_numbers WHERE business_day = '2000-01-01'")
            .fetch_one(&store.pool)
            .await
            .unwrap();
    assert_eq!(kept, 0, "half a command was committed");
    assert_eq!(failed_batches(), 1);
    // a command that refuses before writing fails alone, and the writer goes on.
    let refused = store
        .writer
        .run_deciding_first(|_| -> super::StoreResult<()> {
            Err(super::StoreError::not_found("no such order"))
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::NotFound);
    assert_eq!(failed_batches(), 1);
    let ann = person(&store, 1).await;
    assert!(store.user_by_id(&ann.id).await.unwrap().is_some());
}

#[tokio::test]
async fn push_subscriptions_are_found_after_a_restart() {
    // The store answers "no subscriptions" from memory for whoever never subscribed: given a
    // customer who subscribed before the server restarted,
    let dir = tempfile::tempdir().unwrap();
    let subscription = espresso_protocol::PushSubscription {
        endpoint: "https://push.example/ann".into(),
        keys: espresso_protocol::PushKeys {
            p256dh: "key".into(),
            auth: "auth".into(),
        },
    };
    let ann = {
        let store = open_at(&dir).await;
        let ann = person(&store, 1).await;
        store
            .add_push_subscription(&ann.id, &subscription, Utc::now(), 3)
            .await
            .unwrap();
        ann
    };
    // when the store is opened again, then the subscription is found; nobody else has one.
    let store = open_at(&dir).await;
    assert_eq!(
        store.push_subscriptions_of(&ann.id).await.unwrap(),
        vec![subscription]
    );
    let bob = person(&store, 2).await;
    assert!(
        store
            .push_subscriptions_of(&bob.id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn answers_remembered_before_the_upgrade_are_still_given_after_it() {
    // Given a database of the previous release (migrations up to 0006) holding a remembered
    // answer,
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("espresso.db");
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        let mut before = sqlx::migrate!("./migrations");
        let up_to_0006: Vec<_> = before
            .migrations
            .iter()
            .filter(|m| m.version <= 6)
            .cloned()
            .collect();
        assert_eq!(up_to_0006.len(), 6);
        before.migrations = up_to_0006.into();
        before.run(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO idempotency_keys (scope, key, request_hash, status, body, created_ms)
             VALUES ('usr_1 POST /x', 'k-1', 'h', 201, '{\"answer\":1}', 5)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    // when this release opens it, then the answer is still there, found by its key.
    let store = open_at(&dir).await;
    let kept: (i64, String) = sqlx::query_as(
        "SELECT status, body FROM idempotency_keys WHERE scope = 'usr_1 POST /x' AND key = 'k-1'",
    )
    .fetch_one(&store.pool)
    .await
    .unwrap();
    assert_eq!(kept, (201, r#"{"answer":1}"#.to_owned()));
}

#[test]
fn the_business_day_is_the_local_date_as_chrono_formats_it() {
    // Written by hand for speed: the same text as `format("%Y-%m-%d")`, in any zone, any day.
    let zones = [
        chrono_tz::Tz::UTC,
        chrono_tz::Tz::America__Los_Angeles,
        chrono_tz::Tz::Asia__Kolkata,
        chrono_tz::Tz::Pacific__Kiritimati,
    ];
    let start = chrono::DateTime::parse_from_rfc3339("1999-12-31T00:00:00Z").unwrap();
    for hours in (0..24 * 400).step_by(7) {
        let at = start.with_timezone(&Utc) + Duration::hours(hours);
        for zone in zones {
            let expected = at.with_timezone(&zone).format("%Y-%m-%d").to_string();
            assert_eq!(super::business_day(at, zone), expected, "{at} in {zone}");
        }
    }
}

#[tokio::test]
async fn stats_go_out_at_most_every_quarter_second_and_the_last_numbers_always_do() {
    // Given a shop whose screens follow its stats,
    let (store, code) = open_shop_in_memory(100).await;
    let mut tail = store.tail();
    // when ten orders are placed one after another, as fast as they go,
    let started = std::time::Instant::now();
    for n in 0..10 {
        let who = person(&store, n).await;
        place(&store, who, &code, "espresso")
            .await
            .unwrap()
            .done()
            .unwrap();
    }
    let placing = started.elapsed();
    // then the screens get the queue of ten (even though no order follows the last), and
    // no more stats than one a quarter of a second, plus the first.
    let mut sent = 0;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let committed = tokio::time::timeout_at(deadline, tail.recv())
            .await
            .expect("the last numbers never went out")
            .unwrap();
        if let Some(stats) = &committed.event.stats {
            sent += 1;
            if stats.queue_length == 10 {
                break;
            }
        }
    }
    let most = 2 + placing.as_millis() / super::writer::STATS_EVERY.as_millis();
    assert!(
        sent <= most,
        "{sent} stats.updated for 10 orders placed in {placing:?}"
    );
}

/// 23:30 and 00:30 in Los Angeles (PST, UTC-8) on 15/16 January 2027: 07:30 and 08:30 UTC, the
/// same UTC day.
fn late_and_early() -> (chrono::DateTime<Utc>, chrono::DateTime<Utc>) {
    let at = |s: &str| s.parse::<chrono::DateTime<Utc>>().unwrap();
    (at("2027-01-16T07:30:00Z"), at("2027-01-16T08:30:00Z"))
}

/// Ann orders at 23:30 and (after her first was handed over) at 00:30 local time, in a shop of
/// `zone` with one order a day per customer; the second order's answer, and the stats at 00:30.
async fn two_orders_around_midnight(
    zone: &'static str,
) -> (
    espresso_protocol::Order,
    Result<espresso_protocol::Order, espresso_protocol::Problem>,
    espresso_protocol::Stats,
) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_at(&dir).await;
    store
        .change_shop(&ShopId::main(), Utc::now(), move |shop| {
            shop.open = true;
            shop.limits.max_orders_per_day = 1;
            shop.time_zone = zone.into();
            Ok(())
        })
        .await
        .unwrap();
    let ann = person(&store, 1).await;
    let (late, early) = late_and_early();
    let code = store
        .current_code(&ShopId::main(), late)
        .await
        .unwrap()
        .code;
    let first = store
        .start_order(
            &ShopId::main(),
            ann.clone(),
            &code,
            drink("espresso"),
            late,
            None,
        )
        .await
        .unwrap()
        .done()
        .unwrap();
    for command in [
        Command::Claim { by: barista() },
        Command::Complete { by: barista() },
        Command::Collect { by: barista() },
    ] {
        store
            .order_command(&ShopId::main(), &first.id, command, late, None)
            .await
            .unwrap();
    }
    let code = store
        .current_code(&ShopId::main(), early)
        .await
        .unwrap()
        .code;
    let second = store
        .start_order(&ShopId::main(), ann, &code, drink("espresso"), early, None)
        .await
        .map(|answer| answer.done().unwrap())
        .map_err(|error| match error {
            super::StoreError::Refused(problem) => *problem,
            other => panic!("{other}"),
        });
    let stats = store.stats(&ShopId::main(), early).await.unwrap();
    (first, second, stats)
}

#[tokio::test]
async fn the_business_day_starts_at_midnight_in_the_shops_time_zone() {
    let (first, second, stats) = two_orders_around_midnight("America/Los_Angeles").await;
    assert_eq!(first.number, Some(1));
    // 00:30 in Los Angeles is a new day there: the daily limit is free, numbers start over and
    // nothing has been served yet today.
    let second = second.expect("a new day, a new order");
    assert_eq!(second.number, Some(1));
    assert_eq!(stats.served_today, 0);
}

#[tokio::test]
async fn in_utc_the_same_two_orders_fall_on_one_day() {
    let (first, second, stats) = two_orders_around_midnight("UTC").await;
    assert_eq!(first.number, Some(1));
    let refusal = second.expect_err("the same UTC day");
    assert_eq!(refusal.code, ErrorCode::DailyLimitReached);
    // The limit frees at UTC midnight, 15.5 hours after 08:30 UTC.
    assert_eq!(refusal.retry_after_s, Some(15 * 3_600 + 1_800));
    assert_eq!(stats.served_today, 1);
}

#[tokio::test]
async fn an_order_not_collected_frees_its_customer_and_memory_and_database_count_it_alike() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_at(&dir).await;
    store
        .change_shop(&ShopId::main(), Utc::now(), |shop| {
            shop.open = true;
            shop.limits.max_orders_per_day = 1;
            Ok(())
        })
        .await
        .unwrap();
    let ann = person(&store, 1).await;
    let code = store
        .current_code(&ShopId::main(), Utc::now())
        .await
        .unwrap()
        .code;
    let order = store
        .start_order(
            &ShopId::main(),
            ann.clone(),
            &code,
            drink("espresso"),
            Utc::now(),
            None,
        )
        .await
        .unwrap()
        .done()
        .unwrap();
    run(&store, &order.id, Command::Claim { by: barista() }).await;
    let ready = run(&store, &order.id, Command::Complete { by: barista() }).await;
    let due = store
        .due_deadlines(ready.deadline_at.unwrap(), 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].stage, espresso_protocol::TimeoutStage::Collection);
    let expired = run(
        &store,
        &order.id,
        Command::Expire {
            stage: espresso_protocol::TimeoutStage::Collection,
        },
    )
    .await;
    assert_eq!(expired.state, OrderState::TimedOut);
    assert!(
        store.next_deadline().await.unwrap().is_none(),
        "no row left"
    );

    let from_memory = store.memory_stats("main").await.unwrap();
    assert_eq!(
        from_memory,
        store.stats(&ShopId::main(), Utc::now()).await.unwrap()
    );
    assert_eq!(from_memory.not_collected_today, 1);
    assert_eq!(from_memory.ready, 0);
    drop(store);
    let store = open_at(&dir).await;
    assert_eq!(store.memory_stats("main").await.unwrap(), from_memory);
    // One order a day, and that one was never handed over: Ann may order again.
    let again = store
        .start_order(
            &ShopId::main(),
            ann,
            &code,
            drink("espresso"),
            Utc::now(),
            None,
        )
        .await
        .unwrap()
        .done()
        .unwrap();
    assert_eq!(again.state, OrderState::Queued);
}

/// The numbers of a range of days from orders run through the store at chosen times (its
/// clock is the `now` each command is given): a shop in Los Angeles, orders on two local days
/// and at several hours, a day with none, known waits.
#[tokio::test]
async fn a_range_of_days_counts_each_order_on_its_local_day_and_hour_with_known_waits() {
    use chrono::{DateTime, NaiveDate, TimeZone};
    let dir = tempfile::tempdir().unwrap();
    let store = open_at(&dir).await;
    store
        .change_shop(&ShopId::main(), Utc::now(), |shop| {
            shop.open = true;
            shop.time_zone = "America/Los_Angeles".into();
            shop.limits.drinks_per_code = 1000;
            shop.limits.code_rotation_s = 7 * 86_400;
            shop.limits.max_queue = 1000;
            shop.limits.max_orders_per_day = 0;
            Ok(())
        })
        .await
        .unwrap();
    let zone = chrono_tz::America::Los_Angeles;
    // Local wall time in Los Angeles (PST, UTC-8, in late November).
    let local = |day: u32, h: u32, m: u32| -> DateTime<Utc> {
        zone.with_ymd_and_hms(2026, 11, day, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    };
    let mut n = 0;
    let mut order_at = async |at: DateTime<Utc>, item: &str| {
        n += 1;
        let who = person(&store, n).await;
        let code = store.current_code(&ShopId::main(), at).await.unwrap().code;
        let order = store
            .start_order(&ShopId::main(), who.clone(), &code, drink(item), at, None)
            .await
            .unwrap()
            .done()
            .unwrap();
        (order.id, who)
    };
    let step = async |id: &OrderId, command: Command, at: DateTime<Utc>| {
        store
            .order_command(&ShopId::main(), id, command, at, None)
            .await
            .unwrap()
            .done()
            .unwrap();
    };
    // 27 November: three made and handed over (waits 60, 120, 300 s; pickups 30, 90, 10 s),
    // one cancelled by the bar at 23:30.
    for (h, m, item, wait, pickup) in [
        (9, 0, "flat_white", 60, 30),
        (9, 30, "espresso", 120, 90),
        (14, 10, "espresso", 300, 10),
    ] {
        let queued = local(27, h, m);
        let (id, _) = order_at(queued, item).await;
        step(
            &id,
            Command::Claim { by: barista() },
            queued + Duration::seconds(5),
        )
        .await;
        let ready = queued + Duration::seconds(wait);
        step(&id, Command::Complete { by: barista() }, ready).await;
        let collected = ready + Duration::seconds(pickup);
        step(&id, Command::Collect { by: barista() }, collected).await;
    }
    let late = local(27, 23, 30);
    let (id, _) = order_at(late, "flat_white").await;
    let out_of_oat = || Command::Cancel {
        by: barista(),
        reason: Some("out of oat".into()),
    };
    step(&id, out_of_oat(), late + Duration::seconds(60)).await;
    // 28 November (the next local day, one hour later): at 00:30 one the customer cancels,
    // at 10:00 one the bar cancels.
    let early = local(28, 0, 30);
    let (id, who) = order_at(early, "espresso").await;
    let customer = Actor::new(who.id, vec![Role::Customer]);
    let by_customer = Command::Cancel {
        by: customer,
        reason: None,
    };
    step(&id, by_customer, early + Duration::seconds(20)).await;
    let morning = local(28, 10, 0);
    let (id, _) = order_at(morning, "flat_white").await;
    step(&id, out_of_oat(), morning + Duration::seconds(20)).await;

    let orders = store
        .orders_by_day_between(&ShopId::main(), "2026-11-27", "2026-11-29", 1000)
        .await
        .unwrap();
    assert_eq!(orders.len(), 6);
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let report =
        crate::report::stats_report(&orders, day(27), day(29), zone, "America/Los_Angeles");
    assert_eq!(
        (report.from.as_str(), report.to.as_str()),
        ("2026-11-27", "2026-11-29")
    );
    let dates: Vec<&str> = report.days.iter().map(|d| d.date.as_str()).collect();
    assert_eq!(dates, ["2026-11-27", "2026-11-28", "2026-11-29"]);

    let first = &report.days[0].stats;
    assert_eq!(
        (first.orders, first.served, first.cancelled_by_staff),
        (4, 3, 1)
    );
    let mut hours = vec![0; 24];
    (hours[9], hours[14], hours[23]) = (2, 1, 1);
    assert_eq!(first.by_hour, hours, "local hours, not UTC's");
    assert_eq!((first.wait_p50_s, first.wait_p90_s), (Some(120), Some(300)));
    assert_eq!(
        (first.pickup_p50_s, first.pickup_p90_s),
        (Some(30), Some(90))
    );
    let items: Vec<(&str, u32, u32)> = first
        .by_item
        .iter()
        .map(|i| (i.item_id.as_str(), i.orders, i.served))
        .collect();
    assert_eq!(
        items,
        [("espresso", 2, 2), ("flat_white", 2, 1)],
        "ties by id"
    );

    let second = &report.days[1].stats;
    assert_eq!(
        (
            second.orders,
            second.served,
            second.cancelled_by_customer,
            second.cancelled_by_staff
        ),
        (2, 0, 1, 1)
    );
    let mut hours = vec![0; 24];
    (hours[0], hours[10]) = (1, 1);
    assert_eq!(second.by_hour, hours);
    assert_eq!((second.wait_p50_s, second.pickup_p90_s), (None, None));

    // A day without orders is there, all zeros.
    let empty = &report.days[2].stats;
    assert_eq!(
        *empty,
        espresso_protocol::PeriodStats {
            by_hour: vec![0; 24],
            ..Default::default()
        }
    );

    let total = &report.total;
    assert_eq!((total.orders, total.served), (6, 3));
    assert_eq!(
        (total.cancelled_by_customer, total.cancelled_by_staff),
        (1, 2)
    );
    assert_eq!((total.wait_p50_s, total.wait_p90_s), (Some(120), Some(300)));
    assert_eq!(
        total.cancel_reasons,
        [espresso_protocol::ReasonCount {
            reason: "out of oat".into(),
            count: 2
        }]
    );
    let items: Vec<(&str, u32, u32)> = total
        .by_item
        .iter()
        .map(|i| (i.item_id.as_str(), i.orders, i.served))
        .collect();
    assert_eq!(items, [("espresso", 3, 2), ("flat_white", 3, 1)]);

    // Only the days asked for.
    let one = store
        .orders_by_day_between(&ShopId::main(), "2026-11-28", "2026-11-28", 1000)
        .await
        .unwrap();
    assert_eq!(one.len(), 2);
}

#[tokio::test]
async fn a_new_served_database_gets_a_written_out_wal_that_its_commits_fill_in_place() {
    use super::wal::{cycle_bytes, wal_path};
    // Fewer pages than the default: the file is the cycle asked for.
    let cycle = cycle_bytes(500);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("espresso.db");
    let url = format!("sqlite://{}", db.display());
    let wal_len = || std::fs::metadata(wal_path(&db)).map_or(0, |meta| meta.len());
    let lock = SqliteStore::lock_for_serving(&url).unwrap();
    assert!(lock.is_some());
    SqliteStore::write_out_wal(&url, 500);
    let written = std::fs::metadata(wal_path(&db)).unwrap();
    assert_eq!(written.len(), cycle);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        assert!(
            written.blocks() * 512 >= cycle,
            "written, not a sparse file"
        );
        assert_eq!(written.permissions().mode() & 0o777, 0o600);
    }

    let (store, code) = open_shop_at(&dir, 10).await;
    let ann = person(&store, 1).await;
    let order = place(&store, ann, &code, "espresso")
        .await
        .unwrap()
        .done()
        .unwrap();
    // SQLite took the zeros as an empty log and wrote over them: the file did not grow, nor was
    // it made anew.
    assert_eq!(wal_len(), cycle);
    drop((store, lock));

    let lock = SqliteStore::lock_for_serving(&url).unwrap();
    SqliteStore::write_out_wal(&url, 500);
    let store = open_at(&dir).await;
    let kept = store.order(&ShopId::main(), &order.id).await.unwrap();
    assert_eq!(kept.map(|order| order.id), Some(order.id));
    drop((store, lock));
}

/// Given the schema after every migration, when the writer and the stats read the waits and the
/// orders not collected, then each query goes through its own small index: a table scan would
/// read every order a café ever took, on each stats read.
#[tokio::test]
async fn the_wait_and_not_collected_queries_read_their_partial_indexes() {
    let (store, _) = open_shop_in_memory(10).await;
    let plans = [
        (super::memory::LAST_WAITS, 2, "orders_by_ready"),
        (super::memory::LAST_WAITS_OF_ITEM, 3, "orders_by_item_ready"),
        (super::memory::NOT_COLLECTED_ON, 2, "orders_not_collected"),
    ];
    for (sql, params, index) in plans {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
        for _ in 0..params {
            query = query.bind("main");
        }
        let plan: Vec<String> = query
            .fetch_all(&store.pool)
            .await
            .unwrap()
            .iter()
            .map(|row| sqlx::Row::get::<String, _>(row, "detail"))
            .collect();
        assert!(
            plan.iter()
                .any(|step| step.contains(&format!("USING INDEX {index} "))),
            "{sql}: {plan:?}"
        );
    }
    // All three are partial: they hold the orders their queries ask for, not every order.
    let indexed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND sql LIKE '%WHERE%'
           AND name IN ('orders_by_ready', 'orders_by_item_ready', 'orders_not_collected')",
    )
    .fetch_one(&store.pool)
    .await
    .unwrap();
    assert_eq!(indexed, 3);
}

#[tokio::test]
async fn a_prune_forgets_every_old_key_page_after_page_and_keeps_the_recent_ones() {
    let store = SqliteStore::open("sqlite::memory:", "http://cafe.test")
        .await
        .unwrap();
    let t0 = Utc::now() - Duration::days(3);
    // More old answers than one page of the prune (500), some keys under two callers, and the
    // first page ends between the two callers of one key (`old-0499`: Ana 500th, Bob 501st).
    for n in 0..1_100 {
        let scope = if n % 3 == 0 {
            "bob POST /x"
        } else {
            "ana POST /x"
        };
        store
            .remember_answer(scope, &format!("old-{n:04}"), "h", 201, "{}", t0)
            .await
            .unwrap();
    }
    store
        .remember_answer("bob POST /x", "old-0499", "h", 201, "{}", t0)
        .await
        .unwrap();
    let recent = t0 + Duration::days(2);
    for key in ["a-new", "old-0500", "z-new"] {
        store
            .remember_answer("ana POST /y", key, "h", 201, "{}", recent)
            .await
            .unwrap();
    }
    let forgotten = store
        .prune_idempotency(recent + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(forgotten, 1_101);
    for (scope, key) in [
        ("ana POST /x", "old-0001"),
        ("ana POST /x", "old-0499"),
        ("bob POST /x", "old-0499"),
        ("ana POST /x", "old-1099"),
    ] {
        assert!(
            store.idempotent_answer(scope, key).await.unwrap().is_none(),
            "{scope} {key}"
        );
    }
    for key in ["a-new", "old-0500", "z-new"] {
        assert!(
            store
                .idempotent_answer("ana POST /y", key)
                .await
                .unwrap()
                .is_some(),
            "{key}"
        );
    }
}
