//! The barista app in headless Chromium against the real server: customers order through the
//! API, the barista runs the queue on the page (taps and keys), and what the customers and the
//! shop see changes with it.

use anyhow::{Context, bail};
use espresso_core::protocol::{
    DrinkChoice, ErrorCode, LimitsPatch, Order, OrderState, Role, ShopId, ShopPatch,
};
use espresso_core::{Client, LiveStream, LiveUpdate, LiveUpdates};
use espresso_tests::{
    Browser, STEP_DEADLINE, TestServer, axe, click, sign_in_on_page, wait_for, wait_for_element,
    wait_for_text, wait_until_gone,
};
use fantoccini::Client as WebDriver;
use fantoccini::Locator;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;

const SHOP: &str = "main";

/// A server with the shop open and room for a busy queue (many drinks per booth code).
async fn cafe() -> anyhow::Result<(TestServer, Client)> {
    let server = TestServer::start().await?;
    let admin = server.open_shop().await?;
    admin
        .patch_shop(
            &ShopId::from(SHOP),
            &ShopPatch {
                limits: Some(LimitsPatch {
                    drinks_per_code: Some(100),
                    max_queue: Some(40),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await?;
    Ok((server, admin))
}

/// A customer (signed in through the API) who orders `item` (with `milk` if given).
async fn customer_orders(
    server: &TestServer,
    admin: &Client,
    email: &str,
    name: Option<&str>,
    item: &str,
    milk: Option<&str>,
) -> anyhow::Result<(Client, Order)> {
    let customer = server.sign_in(email, &[]).await?;
    if name.is_some() {
        customer.set_display_name(name).await?;
    }
    let order = order_again(&customer, admin, item, milk).await?;
    Ok((customer, order))
}

async fn order_again(
    customer: &Client,
    admin: &Client,
    item: &str,
    milk: Option<&str>,
) -> anyhow::Result<Order> {
    let code = admin.booth_code(&ShopId::from(SHOP)).await?.code;
    let drink = DrinkChoice {
        item_id: item.into(),
        options: milk
            .map(|milk| [("milk".to_owned(), milk.to_owned())].into())
            .unwrap_or_default(),
    };
    Ok(customer
        .start_order(&ShopId::from(SHOP), &code, Some(drink))
        .await?)
}

/// A browser at `width`×`height` with the barista app open and `email` (a barista) signed in.
async fn barista_page(
    server: &TestServer,
    email: &str,
    width: u32,
    height: u32,
) -> anyhow::Result<Browser> {
    server.grant(email, &[Role::Barista]).await?;
    let browser = Browser::start(width, height).await?;
    browser
        .driver
        .goto(&format!("{}/barista?shop={SHOP}", server.url()))
        .await?;
    wait_for_element(&browser.driver, "[data-testid=email]").await?;
    axe::check(&browser.driver, "barista sign-in").await?;
    sign_in_on_page(&browser.driver, server, email).await?;
    wait_for_element(&browser.driver, "[data-testid=barista-board]").await?;
    wait_for_text(&browser.driver, "[data-testid=connection]", "Live").await?;
    axe::check(&browser.driver, "barista queue").await?;
    Ok(browser)
}

fn number_of(order: &Order) -> anyhow::Result<u32> {
    order.number.context("a queued order has a number")
}

/// The card of order `number` in column `column` (queue, making, ready).
fn card_in(column: &str, number: u32) -> String {
    format!("[data-testid=col-{column}] [data-testid=order-card][data-number=\"{number}\"]")
}

/// The card once its last call is answered (its buttons work again).
fn settled(card: &str) -> String {
    format!("{card}[data-busy=false]")
}

fn card(number: u32) -> String {
    format!("[data-testid=order-card][data-number=\"{number}\"]")
}

/// Press keys on the page (as a keyboard or bump bar does), whatever has the focus.
async fn press(driver: &WebDriver, keys: &[char]) -> anyhow::Result<()> {
    let mut actions = KeyActions::new("keyboard".into());
    for &key in keys {
        actions = actions
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
    }
    driver.perform_actions(actions).await?;
    Ok(())
}

async fn attribute(driver: &WebDriver, css: &str, name: &str) -> anyhow::Result<Option<String>> {
    Ok(driver.find(Locator::Css(css)).await?.attr(name).await?)
}

/// Wait until the customer's live stream says order `id` is in `state`.
async fn customer_sees(
    updates: &mut LiveUpdates,
    id: &str,
    state: OrderState,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + STEP_DEADLINE;
    loop {
        let next = tokio::time::timeout_at(deadline, updates.next())
            .await
            .with_context(|| format!("the customer's stream never said {id} is {state}"))?;
        match next {
            Some(LiveUpdate::Event { event, .. })
                if event
                    .order
                    .as_ref()
                    .is_some_and(|order| order.id == id && order.state == state) =>
            {
                return Ok(());
            }
            Some(_) => {}
            None => bail!("the customer's stream ended before {id} was {state}"),
        }
    }
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn an_order_goes_from_queue_to_making_to_ready_and_the_customer_sees_it() -> anyhow::Result<()>
{
    let (server, admin) = cafe().await?;
    let browser = barista_page(&server, "barista@espresso.test", 1280, 800).await?;
    let driver = &browser.driver;
    let barista_id = server
        .store()?
        .user_by_email("barista@espresso.test")
        .await?
        .context("the barista exists")?
        .id;

    // A customer orders; the card arrives live in Queue, highlighted, with all a barista needs.
    let customer = server.sign_in("sam@espresso.test", &[]).await?;
    customer.set_display_name(Some("Sam")).await?;
    let (_stream, mut updates) = LiveStream::connect(&customer, &ShopId::from(SHOP));
    let order = order_again(&customer, &admin, "flat_white", Some("Oat")).await?;
    let number = number_of(&order)?;
    let text = wait_for_text(driver, &card_in("queue", number), "Flat White").await?;
    assert!(text.contains(&number.to_string()), "{text}");
    assert!(text.contains("Oat milk"), "{text}");
    assert!(text.contains("Sam"), "{text}");
    let class = attribute(driver, &card(number), "class")
        .await?
        .unwrap_or_default();
    assert!(
        class.contains("fresh"),
        "a new order is highlighted: {class}"
    );
    assert!(class.contains("age-fresh"), "{class}");
    wait_for_text(driver, "[data-testid=stat-waiting]", "1").await?;
    axe::check(driver, "barista queue, a new order").await?;

    // Make → Making, claimed by this barista.
    click(
        driver,
        &format!("{} [data-testid=make]", card_in("queue", number)),
    )
    .await?;
    wait_for_element(driver, &card_in("making", number)).await?;
    wait_until_gone(driver, &card_in("queue", number)).await?;
    customer_sees(&mut updates, &order.id, OrderState::InProgress).await?;
    let claimed = admin.order(&ShopId::from(SHOP), &order.id).await?;
    assert_eq!(
        claimed.order.barista_id.as_deref(),
        Some(barista_id.as_str())
    );

    // Back to queue and Make again (unclaim, claim).
    click(
        driver,
        &format!("{} [data-testid=unclaim]", card_in("making", number)),
    )
    .await?;
    wait_for_element(driver, &card_in("queue", number)).await?;
    customer_sees(&mut updates, &order.id, OrderState::Queued).await?;
    click(
        driver,
        &format!("{} [data-testid=make]", card_in("queue", number)),
    )
    .await?;
    wait_for_element(driver, &card_in("making", number)).await?;

    // Done → Ready, and the customer's phone hears it.
    click(
        driver,
        &format!("{} [data-testid=done]", card_in("making", number)),
    )
    .await?;
    wait_for_element(driver, &card_in("ready", number)).await?;
    customer_sees(&mut updates, &order.id, OrderState::Ready).await?;
    axe::check(driver, "barista, an order ready").await?;

    // Handed over → off the board; collected for the customer.
    click(
        driver,
        &format!("{} [data-testid=handed-over]", card_in("ready", number)),
    )
    .await?;
    wait_until_gone(driver, &card(number)).await?;
    customer_sees(&mut updates, &order.id, OrderState::Collected).await?;
    wait_for_text(driver, "[data-testid=stat-served]", "1").await?;

    // Cancel with a reason: a dialog with a few reasons; the customer is told which.
    let (other, second) = customer_orders(
        &server,
        &admin,
        "kim@espresso.test",
        None,
        "americano",
        None,
    )
    .await?;
    let second_number = number_of(&second)?;
    wait_for_text(driver, &card_in("queue", second_number), "Americano").await?;
    click(
        driver,
        &format!("{} [data-testid=cancel]", card(second_number)),
    )
    .await?;
    let dialog = wait_for_text(driver, "[data-testid=cancel-dialog]", "Cancel #").await?;
    assert!(dialog.contains(&format!("#{second_number}")), "{dialog}");
    let confirm = wait_for_element(driver, "[data-testid=confirm-cancel]").await?;
    assert!(!confirm.is_enabled().await?, "a reason is needed first");
    axe::check(driver, "barista cancel dialog").await?;
    click(driver, "[data-testid=reason-0]").await?;
    click(driver, "[data-testid=confirm-cancel]").await?;
    wait_until_gone(driver, "[data-testid=cancel-dialog]").await?;
    wait_until_gone(driver, &card(second_number)).await?;
    // The card goes at once; the server's answer follows.
    let cancelled = wait_for("the order to be cancelled", STEP_DEADLINE, || async {
        let order = other.order(&ShopId::from(SHOP), &second.id).await?.order;
        Ok((order.state == OrderState::Cancelled).then_some(order))
    })
    .await?;
    assert_eq!(
        cancelled.cancel_reason.as_deref(),
        Some("We ran out of an ingredient")
    );

    browser.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn two_baristas_race_for_one_order_and_exactly_one_gets_it() -> anyhow::Result<()> {
    let (server, admin) = cafe().await?;
    let ana = barista_page(&server, "ana@espresso.test", 1280, 800).await?;
    let ben = barista_page(&server, "ben@espresso.test", 1280, 800).await?;
    let (_customer, order) =
        customer_orders(&server, &admin, "lee@espresso.test", None, "espresso", None).await?;
    let number = number_of(&order)?;
    let make = format!("{} [data-testid=make]", card_in("queue", number));
    let a = wait_for_element(&ana.driver, &make).await?;
    let b = wait_for_element(&ben.driver, &make).await?;

    // Both tap Make at once.
    let refusals_before = refused_calls(&server.url()).await?;
    let (a_tap, b_tap) = tokio::join!(a.click(), b.click());
    let store = server.store()?;
    let ana_id = store
        .user_by_email("ana@espresso.test")
        .await?
        .context("ana")?
        .id;
    let ben_id = store
        .user_by_email("ben@espresso.test")
        .await?
        .context("ben")?
        .id;
    let claimed = wait_for("the order to be claimed", STEP_DEADLINE, || async {
        let order = admin.order(&ShopId::from(SHOP), &order.id).await?.order;
        Ok((order.state == OrderState::InProgress)
            .then_some(order.barista_id)
            .flatten())
    })
    .await?;
    let (winner, loser, lost_tap) = if claimed == ana_id {
        (&ana, &ben, b_tap)
    } else if claimed == ben_id {
        (&ben, &ana, a_tap)
    } else {
        bail!("claimed by someone else: {claimed}");
    };

    // The winner makes it; the loser sees the card in Making, someone else's, and why.
    wait_for_element(
        &winner.driver,
        &format!("{} [data-testid=done]", card_in("making", number)),
    )
    .await?;
    let seen = wait_for_text(
        &loser.driver,
        &card_in("making", number),
        "Another barista is making this",
    )
    .await?;
    // A tap can land after the winner's claim has already reached the loser's screen (the card
    // moved, its button gone): then nothing is sent. If the loser's claim did reach the server,
    // the server refused it (a 4xx answer), and the card must say why.
    if lost_tap.is_ok() && refused_calls(&server.url()).await? > refusals_before {
        // The loser's tap reached the server, which refused it: the card says so.
        let note = wait_for_text(
            &loser.driver,
            &format!("{} [data-testid=card-note]", card(number)),
            "Another barista started this one first",
        )
        .await?;
        assert!(!note.is_empty());
    }
    assert!(
        !seen.contains("Done"),
        "no buttons on another's order: {seen}"
    );
    let loser_buttons = loser
        .driver
        .find_all(Locator::Css(&format!("{} button", card(number))))
        .await?;
    assert!(loser_buttons.is_empty(), "the loser cannot act on it");
    loser.screenshot("barista-race-loser-1280x800").await?;

    ana.close().await?;
    ben.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn closing_the_shop_and_86ing_a_drink_reach_the_customers() -> anyhow::Result<()> {
    let (server, admin) = cafe().await?;
    let browser = barista_page(&server, "barista@espresso.test", 1280, 800).await?;
    let driver = &browser.driver;
    let customer = server.sign_in("ola@espresso.test", &[]).await?;

    // Close: asked first, then closed; a new order is refused with shop_closed.
    wait_for_text(driver, "[data-testid=shop-state]", "Open").await?;
    click(driver, "[data-testid=shop-switch]").await?;
    wait_for_text(driver, "[data-testid=confirm-close]", "Close the shop?").await?;
    browser.screenshot("barista-close-confirm-1280x800").await?;
    axe::check(driver, "barista close the shop?").await?;
    click(driver, "[data-testid=keep-open]").await?;
    wait_until_gone(driver, "[data-testid=confirm-close]").await?;
    assert!(
        admin.shop(&ShopId::from(SHOP)).await?.open,
        "keeping it open changes nothing"
    );
    click(driver, "[data-testid=shop-switch]").await?;
    click(driver, "[data-testid=confirm-close-shop]").await?;
    wait_for_text(driver, "[data-testid=shop-state]", "Closed").await?;
    wait_for_element(driver, "[data-testid=closed-banner]").await?;
    assert!(!admin.shop(&ShopId::from(SHOP)).await?.open);
    axe::check(driver, "barista, shop closed").await?;
    let refused = order_again(&customer, &admin, "espresso", None).await;
    let error = refused.err().context("a closed shop takes no orders")?;
    let error = error.downcast::<espresso_core::ClientError>()?;
    assert_eq!(error.code(), Some(&ErrorCode::ShopClosed), "{error}");

    // Open again: no question asked.
    click(driver, "[data-testid=shop-switch]").await?;
    wait_for_text(driver, "[data-testid=shop-state]", "Open").await?;
    wait_until_gone(driver, "[data-testid=closed-banner]").await?;
    assert!(admin.shop(&ShopId::from(SHOP)).await?.open);

    // 86 the cappuccino: off the menu for everyone, refused if ordered; then back.
    click(driver, "[data-testid=menu-button]").await?;
    wait_for_text(driver, "[data-testid=menu-item-cappuccino]", "Available").await?;
    click(driver, "[data-testid=toggle-cappuccino]").await?;
    wait_for_text(driver, "[data-testid=menu-item-cappuccino]", "Off").await?;
    let cappuccino = |shop: &espresso_core::protocol::Shop| {
        shop.menu
            .iter()
            .find(|item| item.id == "cappuccino")
            .map(|item| item.available)
    };
    assert_eq!(
        cappuccino(&server.client()?.shop(&ShopId::from(SHOP)).await?),
        Some(false)
    );
    browser.screenshot("barista-menu-1280x800").await?;
    axe::check(driver, "barista menu dialog").await?;
    let refused = order_again(&customer, &admin, "cappuccino", Some("Oat")).await;
    let error = refused.err().context("an 86'd drink cannot be ordered")?;
    let error = error.downcast::<espresso_core::ClientError>()?;
    assert_eq!(error.code(), Some(&ErrorCode::ItemUnavailable), "{error}");
    click(driver, "[data-testid=toggle-cappuccino]").await?;
    wait_for_text(driver, "[data-testid=menu-item-cappuccino]", "Available").await?;
    assert_eq!(
        cappuccino(&server.client()?.shop(&ShopId::from(SHOP)).await?),
        Some(true)
    );
    click(driver, "[data-testid=menu-close]").await?;
    wait_until_gone(driver, "[data-testid=menu]").await?;

    // The chime can be muted, and stays muted after a reload.
    wait_for_text(driver, "[data-testid=sound-toggle]", "Sound on").await?;
    click(driver, "[data-testid=sound-toggle]").await?;
    wait_for_text(driver, "[data-testid=sound-toggle]", "Sound off").await?;
    driver.refresh().await?;
    wait_for_element(driver, "[data-testid=barista-board]").await?;
    wait_for_text(driver, "[data-testid=sound-toggle]", "Sound off").await?;

    // Signing out shows the sign-in form again.
    click(driver, "[data-testid=sign-out]").await?;
    wait_for_element(driver, "[data-testid=email]").await?;
    wait_until_gone(driver, "[data-testid=barista-board]").await?;

    browser.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn a_busy_queue_runs_from_the_keyboard() -> anyhow::Result<()> {
    let (server, admin) = cafe().await?;
    let browser = barista_page(&server, "barista@espresso.test", 1280, 800).await?;
    let driver = &browser.driver;

    // Ten orders: names, milks, drinks of every kind.
    let drinks: [(&str, Option<&str>, Option<&str>); 10] = [
        ("flat_white", Some("Oat"), Some("Sam")),
        ("americano", None, None),
        ("cappuccino", Some("Regular"), Some("Priya")),
        ("double_espresso", None, Some("Jo")),
        ("espresso", None, None),
        ("americano", Some("Oat"), Some("Alex")),
        ("flat_white", Some("Regular"), None),
        ("cappuccino", Some("Oat"), Some("Mia")),
        ("flat_white", Some("Oat"), Some("Noor")),
        ("double_espresso", None, None),
    ];
    let mut numbers = Vec::new();
    for (i, (item, milk, name)) in drinks.iter().enumerate() {
        let email = format!("guest{i}@espresso.test");
        let (_, order) = customer_orders(&server, &admin, &email, *name, item, *milk).await?;
        numbers.push(number_of(&order)?);
    }
    let last = *numbers.last().context("ten orders")?;
    wait_for_element(driver, &card_in("queue", last)).await?;
    wait_for_text(driver, "[data-testid=stat-waiting]", "10").await?;

    // Number keys pick a card; Enter makes it, Enter again marks it done.
    let first = numbers[0];
    press(driver, &digits(first)).await?;
    wait_for_element(driver, &format!("{}[data-selected=true]", card(first))).await?;
    press(driver, &[Key::Enter.into()]).await?;
    wait_for_element(driver, &settled(&card_in("making", first))).await?;
    press(driver, &[Key::Enter.into()]).await?;
    wait_for_element(driver, &settled(&card_in("ready", first))).await?;
    // Backspace cannot take back "ready" (the server has no such move): it says so.
    press(driver, &[Key::Backspace.into()]).await?;
    wait_for_text(driver, "[data-testid=flash]", "cannot go back").await?;
    assert!(
        driver
            .find(Locator::Css(&card_in("ready", first)))
            .await
            .is_ok()
    );

    // Make another, then Backspace: back to the queue.
    let second = numbers[1];
    press(driver, &digits(second)).await?;
    wait_for_element(driver, &format!("{}[data-selected=true]", card(second))).await?;
    press(driver, &[Key::Enter.into()]).await?;
    wait_for_element(driver, &settled(&card_in("making", second))).await?;
    press(driver, &[Key::Backspace.into()]).await?;
    // Settled: the card moves at once, the server's answer comes after.
    wait_for_element(driver, &settled(&card_in("queue", second))).await?;
    let back = admin
        .orders(&ShopId::from(SHOP), &[OrderState::Queued], None)
        .await?;
    assert!(back.iter().any(|order| order.number == Some(second)));

    // Arrows move the selection: down the queue, across to Ready.
    press(driver, &digits(second)).await?;
    wait_for_element(driver, &format!("{}[data-selected=true]", card(second))).await?;
    press(driver, &[Key::Down.into()]).await?;
    let below = numbers[2];
    wait_for_element(driver, &format!("{}[data-selected=true]", card(below))).await?;
    press(driver, &[Key::Right.into(), Key::Right.into()]).await?;
    wait_for_element(
        driver,
        &format!("{}[data-selected=true]", card_in("ready", first)),
    )
    .await?;

    // "?" lists the keys.
    press(driver, &['?']).await?;
    let help = wait_for_text(driver, "[data-testid=help]", "Backspace").await?;
    assert!(help.contains("Enter"), "{help}");
    browser.screenshot("barista-keys-help-1280x800").await?;
    axe::check(driver, "barista keys help").await?;
    press(driver, &[Key::Escape.into()]).await?;
    wait_until_gone(driver, "[data-testid=help]").await?;

    // Fill the board: two more being made here, one by another barista, two more ready.
    for &n in &numbers[2..4] {
        press(driver, &digits(n)).await?;
        wait_for_element(driver, &format!("{}[data-selected=true]", card(n))).await?;
        press(driver, &[Key::Enter.into()]).await?;
        wait_for_element(driver, &settled(&card_in("making", n))).await?;
    }
    for &n in &numbers[4..6] {
        press(driver, &digits(n)).await?;
        wait_for_element(driver, &format!("{}[data-selected=true]", card(n))).await?;
        press(driver, &[Key::Enter.into()]).await?;
        wait_for_element(driver, &settled(&card_in("making", n))).await?;
        press(driver, &[Key::Enter.into()]).await?;
        wait_for_element(driver, &settled(&card_in("ready", n))).await?;
    }
    let colleague = server
        .sign_in("colleague@espresso.test", &[Role::Barista])
        .await?;
    let theirs = admin
        .orders(&ShopId::from(SHOP), &[OrderState::Queued], None)
        .await?
        .into_iter()
        .find(|order| order.number == Some(numbers[6]))
        .context("the seventh order is queued")?;
    colleague.claim(&ShopId::from(SHOP), &theirs.id).await?;
    wait_for_text(
        driver,
        &card_in("making", numbers[6]),
        "Another barista is making this",
    )
    .await?;
    // Enter on another barista's order does nothing but say so.
    press(driver, &digits(numbers[6])).await?;
    press(driver, &[Key::Enter.into()]).await?;
    wait_for_text(
        driver,
        &format!("{} [data-testid=card-note]", card(numbers[6])),
        "another barista",
    )
    .await?;

    let count = |column: &'static str| async move {
        Ok::<_, anyhow::Error>(
            driver
                .find_all(Locator::Css(&format!(
                    "[data-testid=col-{column}] [data-testid=order-card]"
                )))
                .await?
                .len(),
        )
    };
    assert_eq!(count("queue").await?, 4);
    assert_eq!(count("making").await?, 3);
    assert_eq!(count("ready").await?, 3);
    // Select a queued card for the picture (the selection ring).
    press(driver, &digits(numbers[7])).await?;
    wait_for_element(driver, &format!("{}[data-selected=true]", card(numbers[7]))).await?;
    browser.screenshot("barista-busy-1280x800").await?;
    axe::check(driver, "barista busy board").await?;

    // The cancel dialog, for the picture too.
    press(driver, &['x']).await?;
    wait_for_element(driver, "[data-testid=cancel-dialog]").await?;
    click(driver, "[data-testid=reason-2]").await?;
    browser.screenshot("barista-cancel-1280x800").await?;
    axe::check(driver, "barista cancel dialog, a reason chosen").await?;
    press(driver, &[Key::Escape.into()]).await?;
    wait_until_gone(driver, "[data-testid=cancel-dialog]").await?;

    // The same board on a desktop screen.
    driver.set_window_size(1920, 1080).await?;
    wait_for_element(driver, &card_in("queue", last)).await?;
    browser.screenshot("barista-busy-1920x1080").await?;
    axe::check(driver, "barista busy board, 1920 wide").await?;

    browser.close().await?;
    server.stop().await
}

/// The keys to type a number.
fn digits(number: u32) -> Vec<char> {
    number.to_string().chars().collect()
}

/// How many API calls the server has answered with a 4xx so far (its `/metrics`; the server
/// runs on this test's runtime, so the call is async).
async fn refused_calls(base: &str) -> anyhow::Result<u64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut text = String::new();
    stream.read_to_string(&mut text).await?;
    text.lines()
        .find_map(|line| {
            line.strip_prefix("espresso_http_request_duration_seconds_count{status=\"4xx\"} ")
        })
        .context("no 4xx count in /metrics")?
        .trim()
        .parse()
        .context("a 4xx count that is not a number")
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn the_bar_in_portuguese() -> anyhow::Result<()> {
    use espresso_tests::by;
    let (server, admin) = cafe().await?;
    let (_ana, order) = customer_orders(
        &server,
        &admin,
        "ana@example.com",
        Some("Ana"),
        "flat_white",
        Some("Oat"),
    )
    .await?;
    server
        .grant("barista@espresso.test", &[Role::Barista])
        .await?;
    // A tablet set to Portuguese (Portugal): the bar speaks Portuguese by itself.
    let browser = Browser::start_in_language(1280, 800, "pt-PT").await?;
    let driver = &browser.driver;
    driver
        .goto(&format!("{}/barista?shop={SHOP}", server.url()))
        .await?;
    by::heading(driver, "Entrada do barista").await?;
    sign_in_on_page(driver, &server, "barista@espresso.test").await?;
    wait_for_text(driver, "[data-testid=connection]", "Ao vivo").await?;
    let number = number_of(&order)?;
    by::labelled(driver, &format!("Pedido {number}, Flat White")).await?;
    by::press_button(driver, "Preparar").await?;
    by::press_button(driver, "Pronto").await?;
    by::press_button(driver, "Entregue").await?;
    wait_for("the order handed over", STEP_DEADLINE, || async {
        let orders = admin
            .orders(&ShopId::from(SHOP), &[OrderState::Collected], None)
            .await?;
        Ok((!orders.is_empty()).then_some(()))
    })
    .await?;
    by::press_button(driver, "Cardápio").await?;
    by::heading(driver, "Cardápio").await?;
    browser.screenshot("barista-pt-menu-1280x800").await?;
    axe::check(driver, "the bar's menu (pt)").await?;
    by::press_button(driver, "Concluir").await?;
    browser.screenshot("barista-pt-1280x800").await?;
    axe::check(driver, "the bar (pt)").await?;

    browser.close().await?;
    server.stop().await
}
