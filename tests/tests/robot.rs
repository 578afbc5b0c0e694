//! The order robot (`espresso-robot`) against the real server: what a person running it at a
//! booth or for a benchmark would notice. Whole lifecycles happen, every screen sees every
//! barista action, nothing fails but the expected races, and the shop is left as it was.
//!
//! Everyone signs in through the real one-time-code flow (the server's `dir:` mailer); only the
//! first admin is arranged in the database, as `serve --admin` does.

use std::time::Duration;

use espresso_core::protocol::{OrderState, Role, ShopId};
use espresso_robot::parse::TimeRange;
use espresso_robot::{Config, Progress, Stop, Summary, run};
use espresso_tests::{TestServer, wait_for};

const ADMIN: &str = "owner@robot.espresso.test";
/// Longest a whole robot run may take here.
const RUN_DEADLINE: Duration = Duration::from_secs(60);

/// A short, fast run against `server` with its admin.
fn quick(server: &TestServer) -> Config {
    let make_time = TimeRange::parse("0..200ms").expect("a valid range");
    Config {
        customers: 6,
        baristas: 2,
        watchers: 5,
        duration: Some(Duration::from_secs(3)),
        drain: Duration::from_secs(15),
        cancel_rate: 0.2,
        cancel_after: TimeRange::parse("0..50ms").expect("a valid range"),
        make_time,
        handover: Config::handover_for(make_time),
        mail_dir: Some(server.mail_dir()),
        admin: Some(ADMIN.to_owned()),
        progress: Progress::Hidden,
        ..Config::new(server.url())
    }
}

async fn run_robot(config: Config, stop: Stop) -> anyhow::Result<Summary> {
    tokio::time::timeout(RUN_DEADLINE, run(config, stop)).await?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_robot_runs_whole_lifecycles_that_every_screen_sees_and_restores_the_shop()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.grant(ADMIN, &[Role::Admin]).await?;
    let before = server.client()?.shop(&ShopId::main()).await?;
    assert!(!before.open, "a new server's shop starts closed");

    let config = quick(&server);
    let watchers = config.watchers as u64;
    let summary = run_robot(config, Stop::new()).await?;
    let table = summary.table();

    assert!(
        summary.lifecycles_completed > 0,
        "no drink was handed over:\n{table}"
    );
    assert!(summary.lifecycles_per_s() > 0.0, "{table}");
    assert!(
        summary.calls.errors.is_empty(),
        "errors other than the expected races:\n{table}"
    );
    for refusal in summary.calls.expected.keys() {
        assert!(
            [
                "already_claimed",
                "invalid_transition",
                "code_expired",
                "code_exhausted"
            ]
            .contains(&refusal.as_str()),
            "{refusal} is not an expected race:\n{table}"
        );
    }
    // Every order started ended one way or another, none left open.
    assert_eq!(summary.unfinished, 0, "{table}");
    assert_eq!(
        summary.orders_started,
        summary.lifecycles_completed + summary.cancelled + summary.timed_out,
        "{table}"
    );
    // Claim, complete and collect of each drink handed over, each seen by every watcher and by
    // the order's customer.
    assert_eq!(summary.watchers_connected, watchers, "{table}");
    assert_eq!(
        summary.fanout_actions,
        3 * summary.lifecycles_completed,
        "{table}"
    );
    assert_eq!(summary.fanout_receivers, watchers + 1, "{table}");
    assert_eq!(
        summary.fanout_each.count(),
        summary.fanout_actions * (watchers + 1),
        "{table}"
    );
    assert_eq!(
        summary.fanout_all.count(),
        summary.fanout_actions,
        "{table}"
    );
    assert_eq!(summary.fanout_missed, 0, "{table}");
    for call in [
        "request_code",
        "verify_code",
        "start_order",
        "choose_drink",
        "claim",
        "complete",
        "collect",
        "booth_code",
    ] {
        assert!(
            summary.calls.calls.contains_key(call),
            "no {call} latencies:\n{table}"
        );
    }

    // The JSON summary says the same (the contract `cargo xtask bench` reads).
    let json = summary.to_json();
    assert_eq!(json["lifecycles_completed"], summary.lifecycles_completed);
    assert_eq!(json["watchers"]["connected"], watchers);
    assert_eq!(
        json["api"]["claim"]["count"],
        summary.calls.calls["claim"].count()
    );
    assert!(
        json["errors"]
            .as_object()
            .is_some_and(|errors| errors.is_empty())
    );

    // The booth's limits and its closed sign are back.
    let after = server.client()?.shop(&ShopId::main()).await?;
    assert_eq!(after.limits, before.limits);
    assert_eq!(after.open, before.open);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baristas_share_one_screen_and_still_make_every_drink() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.grant(ADMIN, &[Role::Admin]).await?;
    let config = Config {
        customers: 8,
        baristas: 4,
        barista_screens: Some(1),
        watchers: 1,
        cancel_rate: 0.0,
        ..quick(&server)
    };
    let summary = run_robot(config, Stop::new()).await?;
    let table = summary.table();
    assert_eq!(
        (summary.baristas, summary.barista_screens),
        (4, 1),
        "{table}"
    );
    assert!(table.contains("4 baristas at 1 staff screen"), "{table}");
    assert!(summary.lifecycles_completed > 0, "{table}");
    // Four baristas at one screen call out what they take: nobody's claim is refused as an
    // error, and every order ends.
    assert!(summary.calls.errors.is_empty(), "{table}");
    assert_eq!(summary.unfinished, 0, "{table}");
    assert_eq!(
        summary.orders_started,
        summary.lifecycles_completed + summary.cancelled + summary.timed_out,
        "{table}"
    );
    // The server runs in this process here: its CPU is read from /proc all the same.
    if std::path::Path::new("/proc/self/stat").exists() {
        assert!(summary.server_cpu_timed.is_some(), "{table}");
        assert!(
            summary.to_json()["server_cpu_per_lifecycle_ms"].is_number(),
            "{table}"
        );
        // The server's writer thread is found by its name, and is a part of the whole.
        assert!(
            summary
                .writer_cpu_timed
                .is_some_and(|writer| Some(writer) <= summary.server_cpu_timed),
            "{table}"
        );
        assert!(table.contains("its writer thread"), "{table}");
    }
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_alone_connect_hold_their_sockets_and_report_it() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.grant(ADMIN, &[Role::Admin]).await?;
    let config = Config {
        customers: 0,
        baristas: 0,
        watchers: 40,
        duration: Some(Duration::from_secs(1)),
        ..quick(&server)
    };
    let summary = run_robot(config, Stop::new()).await?;
    let table = summary.table();
    assert_eq!(summary.watchers_requested, 40, "{table}");
    assert_eq!(summary.watchers_connected, 40, "{table}");
    assert!(
        summary.watchers_connect < Duration::from_secs(20),
        "{table}"
    );
    assert_eq!(summary.orders_started, 0, "{table}");
    assert!(summary.calls.errors.is_empty(), "{table}");
    assert!(table.contains("40 of 40 connected"), "{table}");
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_mid_run_tidies_the_board_and_restores_the_shop() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.grant(ADMIN, &[Role::Admin]).await?;
    let before = server.client()?.shop(&ShopId::main()).await?;
    // Slow baristas: when the stop comes, drinks are being made.
    let make_time = TimeRange::parse("20s").expect("a valid range");
    let config = Config {
        customers: 3,
        baristas: 1,
        watchers: 0,
        duration: None,
        cancel_rate: 0.0,
        make_time,
        handover: Config::handover_for(make_time),
        ..quick(&server)
    };
    let stop = Stop::new();
    let robot = tokio::spawn(run_robot(config, stop.clone()));
    let public = server.client()?;
    wait_for("a drink being made", Duration::from_secs(30), || async {
        Ok((public.stats(&ShopId::main()).await?.in_progress > 0).then_some(()))
    })
    .await?;
    stop.stop();
    let summary = robot.await??;
    let table = summary.table();
    assert!(
        summary.unfinished >= 1,
        "the drink being made was left:\n{table}"
    );
    assert!(summary.calls.errors.is_empty(), "{table}");

    // Nothing is left on the bar, and the shop is as it was. (Another account looks: the
    // admin's next code would be refused within 30 s of the robot's.)
    let admin = server
        .sign_in("checker@robot.espresso.test", &[Role::Admin])
        .await?;
    let open = admin
        .orders(
            &ShopId::main(),
            &[
                OrderState::AwaitingDrink,
                OrderState::Queued,
                OrderState::InProgress,
                OrderState::Ready,
            ],
            None,
        )
        .await?;
    assert!(open.is_empty(), "still open: {open:?}\n{table}");
    let after = public.shop(&ShopId::main()).await?;
    assert_eq!((after.open, after.limits), (before.open, before.limits));
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_admin_a_missing_role_is_said_in_plain_words() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let config = Config {
        admin: None,
        customers: 1,
        baristas: 1,
        watchers: 0,
        ..quick(&server)
    };
    let error = run_robot(config, Stop::new())
        .await
        .expect_err("the robot's accounts have no roles");
    let message = format!("{error:#}");
    assert!(
        message.contains("does not have the display role"),
        "{message}"
    );
    assert!(message.contains("--admin"), "{message}");
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_reaches_every_screen_for_every_step_and_leaves_the_orders_handed_over()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.grant(ADMIN, &[Role::Admin]).await?;
    let config = quick(&server);

    let burst = tokio::time::timeout(
        RUN_DEADLINE,
        espresso_robot::burst::run(config, 8, 3, Stop::new()),
    )
    .await??;
    let table = burst.table();

    let steps: Vec<&str> = burst.steps.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(steps, ["claim", "complete", "collect"], "{table}");
    for step in &burst.steps {
        // 8 events on each of 3 screens, each after its own request was sent.
        assert_eq!(step.each.count, 24, "{table}");
    }
    // The burst's orders were all handed over, and the shop is closed again.
    let barista = server
        .sign_in("checker@robot.espresso.test", &[Role::Barista])
        .await?;
    let collected = barista
        .orders(&ShopId::main(), &[OrderState::Collected], None)
        .await?;
    assert_eq!(collected.len(), 8, "{table}");
    let open = barista.orders(&ShopId::main(), &[], None).await?;
    assert!(open.is_empty(), "orders left on the bar: {open:?}");
    assert!(
        !server.client()?.shop(&ShopId::main()).await?.open,
        "{table}"
    );
    Ok(())
}
