//! The customer app in headless Chromium with a phone viewport (390×844) against the real
//! server: from the booth's QR link to a drink that is ready, and every refusal on its own
//! screen. The barista's side is driven through the API with the real client.

use anyhow::Context;
use espresso_core::Client;
use espresso_core::protocol::{BoothCode, LimitsPatch, Order, OrderState, Role, ShopId, ShopPatch};
use espresso_tests::{
    Browser, STEP_DEADLINE, TestServer, axe, by, click, fill, order_numbered, sign_in_on_page,
    wait_for, wait_for_element, wait_for_text, wait_until_gone,
};
use fantoccini::Locator;
use fantoccini::key::Key;

const PHONE: (u32, u32) = (390, 844);

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn a_customer_orders_from_the_qr_code_and_sees_it_ready_without_reloading()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let admin = server.open_shop().await?;
    let barista = server
        .sign_in("barista@espresso.test", &[Role::Barista])
        .await?;
    let booth = admin.booth_code(&ShopId::main()).await?;
    let browser = Browser::start(PHONE.0, PHONE.1).await?;
    let driver = &browser.driver;

    // Given the phone opened the booth's QR link,
    driver.goto(&booth.order_url).await?;
    wait_for_text(driver, "#sign-in-title", "Sign in to order").await?;
    browser.screenshot("customer-1-sign-in-390x844").await?;
    axe::check(driver, "sign-in").await?;

    // when the customer signs in with the code from the mail,
    sign_in_on_page(driver, &server, "ana@example.com").await?;
    // (Asked once for a first name for the board; she skips it.)
    by::heading(driver, "What should we call you?").await?;
    axe::check(driver, "name").await?;
    click(driver, "[data-testid=name-skip]").await?;

    // then the order has started: the menu, with the time left to choose.
    wait_for_element(driver, "[data-testid=menu]").await?;
    let countdown =
        wait_for_text(driver, "[data-testid=choose-countdown]", "left to choose").await?;
    assert!(
        countdown.starts_with('4') || countdown.starts_with('5'),
        "{countdown}"
    );
    // The code did its job and left the address: a reload will not redeem it again.
    assert!(!driver.current_url().await?.as_str().contains("code="));
    axe::check(driver, "menu").await?;

    // A milk drink cannot be ordered before the milk is chosen.
    click(driver, "[data-testid=drink-flat_white]").await?;
    wait_for_text(driver, "[data-testid=missing]", "Choose your milk").await?;
    let order_now = driver.find(Locator::Css("[data-testid=order-now]")).await?;
    assert!(
        !order_now.is_enabled().await?,
        "ordering without milk must not be possible"
    );
    click(driver, "[data-testid=option-milk-oat]").await?;
    wait_for_text(driver, "[data-testid=summary]", "Flat White · Oat milk").await?;
    browser.screenshot("customer-2-menu-390x844").await?;
    axe::check(driver, "menu, a drink and its milk chosen").await?;
    click(driver, "[data-testid=order-now]").await?;

    // The order is queued with its number as the hero.
    wait_for_text(driver, "[data-testid=status-headline]", "in the queue").await?;
    wait_for_text(driver, "[data-testid=order-number]", "#1").await?;
    browser.screenshot("customer-3-queued-390x844").await?;
    axe::check(driver, "queued").await?;

    // A reload mid-order comes back to the live status.
    driver.refresh().await?;
    wait_for_text(driver, "[data-testid=order-number]", "#1").await?;
    wait_for_text(driver, "[data-testid=status-drink]", "Flat White").await?;

    // When a barista starts it, then completes it, the page follows without a reload.
    let order = order_numbered(&barista, 1).await?;
    barista.claim(&ShopId::main(), &order.id).await?;
    wait_for_text(driver, "[data-testid=status-headline]", "being made").await?;
    axe::check(driver, "being made").await?;
    barista.complete(&ShopId::main(), &order.id).await?;
    wait_for_text(driver, "[data-testid=status-headline]", "Ready").await?;
    // A screen reader hears it: the status live region says so.
    by::status(driver, "Your order #1 is ready").await?;
    browser.screenshot("customer-4-ready-390x844").await?;
    axe::check(driver, "ready").await?;

    // Handed over: the end screen and a receipt with the order's journey.
    barista.collect(&ShopId::main(), &order.id).await?;
    wait_for_element(driver, "[data-testid=finished-collected]").await?;
    axe::check(driver, "collected").await?;
    click(driver, "[data-testid=open-receipt]").await?;
    let journey = wait_for_text(driver, "[data-testid=journey]", "Handed over").await?;
    for step in [
        "Scanned the code",
        "Ordered",
        "started making it",
        "Ready to pick up",
    ] {
        assert!(journey.contains(step), "{step:?} missing from {journey:?}");
    }
    browser.screenshot("customer-5-receipt-390x844").await?;
    axe::check(driver, "receipt").await?;

    // The history lists the order.
    click(driver, "[data-testid=back]").await?;
    let history = wait_for_text(driver, "[data-testid=history]", "Collected").await?;
    assert!(history.contains("#1"), "{history}");
    axe::check(driver, "my orders").await?;

    // Scanning again the same day: the daily limit (one drink) says when it resets.
    driver.goto(&booth.order_url).await?;
    let refusal = wait_for_text(
        driver,
        "[data-testid=refusal-daily-limit]",
        "all your drinks",
    )
    .await?;
    assert!(refusal.contains("You can order again in"), "{refusal}");
    browser.screenshot("customer-6-daily-limit-390x844").await?;
    axe::check(driver, "daily limit").await?;
    // "OK" shows what she had today, not a prompt to scan again.
    by::press_button(driver, "OK").await?;
    by::heading(driver, "My orders").await?;

    browser.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn a_closed_shop_and_a_used_up_code_each_say_what_to_do() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    // A closed shop whose booth code starts one order only.
    let admin = server
        .sign_in("owner@espresso.test", &[Role::Admin])
        .await?;
    let limits = LimitsPatch {
        drinks_per_code: Some(1),
        ..LimitsPatch::default()
    };
    admin
        .patch_shop(
            &ShopId::main(),
            &ShopPatch {
                limits: Some(limits),
                ..ShopPatch::default()
            },
        )
        .await?;
    let booth = admin.booth_code(&ShopId::main()).await?;
    assert_eq!(booth.remaining, 1);
    let browser = Browser::start(PHONE.0, PHONE.1).await?;
    let driver = &browser.driver;

    // A customer scans while the shop is closed. She mistypes the emailed code first: the
    // form says so and how many tries are left.
    driver.goto(&booth.order_url).await?;
    let seen = server.mails_to("cleo@example.com").len();
    fill(driver, "[data-testid=email]", "cleo@example.com").await?;
    click(driver, "[data-testid=send-code]").await?;
    let code = server.code_after("cleo@example.com", seen).await?;
    // The focus moved on with the screen: to the code field.
    by::focus_on(driver, "Code from the email").await?;
    by::heading(driver, "Sign in to order").await?;
    axe::check(driver, "code sent").await?;
    wait_for_text(
        driver,
        "[data-testid=resend-countdown]",
        "Send a new code in 0:",
    )
    .await?;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    fill(driver, "[data-testid=otp]", wrong).await?;
    wait_for_text(
        driver,
        "[data-testid=sign-in-error]",
        "You have 4 tries left",
    )
    .await?;
    browser.screenshot("customer-wrong-code-390x844").await?;
    axe::check(driver, "wrong code").await?;
    fill(driver, "[data-testid=otp]", &code).await?;
    // Then the closed screen, with "try again".
    click(driver, "[data-testid=name-skip]").await?;
    wait_for_text(driver, "[data-testid=refusal-closed]", "closed").await?;
    browser
        .screenshot("customer-refusal-closed-390x844")
        .await?;
    axe::check(driver, "closed").await?;

    // The shop opens: the closed screen moves on by itself and starts the order (using the
    // code up), no tap needed.
    admin.set_shop_open(&ShopId::main(), true).await?;
    by::heading(driver, "Choose your drink").await?;

    // An unavailable drink is shown but cannot be chosen.
    admin
        .set_item_available(&ShopId::main(), "cappuccino", false)
        .await?;
    wait_for_text(
        driver,
        "[data-testid=drink-cappuccino]",
        "Not available right now",
    )
    .await?;
    let cappuccino = driver
        .find(Locator::Css("[data-testid=drink-cappuccino]"))
        .await?;
    assert!(!cappuccino.is_enabled().await?);
    axe::check(driver, "menu with a drink out").await?;

    // She changes her mind and cancels before choosing.
    click(driver, "[data-testid=cancel-start]").await?;
    wait_for_element(driver, "[data-testid=finished-cancelled]").await?;
    axe::check(driver, "cancelled before choosing").await?;
    click(driver, "[data-testid=finished-done]").await?;
    wait_for_element(driver, "[data-testid=scan-prompt]").await?;
    axe::check(driver, "scan the code").await?;

    // Someone else scans the same (used up) code: the screen says so at once, before any
    // sign-in (no email asked for), and when the next code comes, counting down.
    click(driver, "[data-testid=open-history]").await?;
    click(driver, "[data-testid=sign-out]").await?;
    by::field(driver, "Email").await?;
    driver.goto(&booth.order_url).await?;
    by::heading(driver, "That code is used up").await?;
    by::text(driver, "Scan the new code on the big screen").await?;
    by::text(driver, "A new code comes up on the big screen in").await?;
    assert!(
        !by::field_shown(driver, "Email").await?,
        "a used-up code must be said before sign-in"
    );
    browser
        .screenshot("customer-refusal-used-up-390x844")
        .await?;
    axe::check(driver, "used-up code before sign-in").await?;
    // OK: on to sign-in, with no code to use.
    by::press_button(driver, "OK").await?;
    by::field(driver, "Email").await?;
    assert!(!driver.current_url().await?.as_str().contains("code="));

    browser.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn a_code_that_rotates_while_the_customer_signs_in_still_orders() -> anyhow::Result<()> {
    // Given a first-time customer opened the booth's QR link (the code is checked and her
    // place held before she signs in),
    let (server, admin, booth, browser) = phone_at_the_booth().await?;
    let driver = &browser.driver;
    by::text(driver, "Your drink is one step away").await?;
    wait_for(
        "the scan to hold one of the code's orders",
        STEP_DEADLINE,
        || async {
            let code = admin.booth_code(&ShopId::main()).await?;
            Ok((code.remaining == booth.remaining - 1).then_some(()))
        },
    )
    .await?;

    // when the owner replaces the code while her mail is on its way (the old one stops at once
    // for anyone else),
    let seen = server.mails_to("fay@example.com").len();
    by::type_into(driver, "Email", "fay@example.com").await?;
    by::press_button(driver, "Send me a code").await?;
    let mailed = server.code_after("fay@example.com", seen).await?;
    let new = admin.rotate_booth_code(&ShopId::main()).await?;
    assert_ne!(new.code, booth.code);
    let late = server.sign_in("gus@example.com", &[]).await?;
    let refused = late.start_order(&ShopId::main(), &booth.code, None).await;
    assert!(refused.is_err(), "the old code is refused to a new scan");

    // then, signed in, her order starts all the same.
    by::type_into(driver, "Code from the email", &mailed).await?;
    by::press_button(driver, "Skip").await?;
    by::heading(driver, "Choose your drink").await?;
    browser.screenshot("customer-rotated-menu-390x844").await?;
    axe::check(driver, "menu after a rotated code").await?;
    let started = admin
        .orders(&ShopId::main(), &[OrderState::AwaitingDrink], None)
        .await?;
    assert_eq!(started.len(), 1);
    // The new code was not charged for it.
    assert_eq!(
        admin.booth_code(&ShopId::main()).await?.remaining,
        new.remaining
    );

    browser.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn the_mails_link_signs_in_on_the_phone_that_asked_and_nowhere_else() -> anyhow::Result<()> {
    // Given a customer who scanned the booth's code and asked for a sign-in code,
    let (server, admin, _, phone) = phone_at_the_booth().await?;
    let driver = &phone.driver;
    by::type_into(driver, "Email", "hal@example.com").await?;
    by::press_button(driver, "Send me a code").await?;
    by::text(driver, "We sent a 6-digit code to").await?;
    let link = server.mailed_link("hal@example.com", "otp=").await?;
    // (a phone that reloads the page while she reads the mail still waits for that code)
    driver.refresh().await?;
    by::text(driver, "We sent a 6-digit code to hal@example.com").await?;
    assert!(by::field_shown(driver, "Code from the email").await?);
    assert!(
        link.starts_with(&format!("{}/order?shop=main&otp=", server.url())),
        "the link opens the customer's page: {link}"
    );

    // when the mail is opened on another device, its link signs no one in there,
    let laptop = Browser::start(PHONE.0, PHONE.1).await?;
    laptop.driver.goto(&link).await?;
    by::text(
        &laptop.driver,
        "That link signs in only on the phone or computer where the code was asked for",
    )
    .await?;
    assert!(by::field_shown(&laptop.driver, "Email").await?);
    laptop
        .screenshot("customer-mail-link-elsewhere-390x844")
        .await?;
    axe::check(&laptop.driver, "a mail's link on another device").await?;
    laptop.close().await?;

    // then on the phone that asked (the mail app opens it in the same browser) it signs her in
    // and her held place on the booth code starts the order.
    driver.goto(&link).await?;
    by::press_button(driver, "Skip").await?;
    by::heading(driver, "Choose your drink").await?;
    let address = driver.current_url().await?;
    assert!(
        !address.as_str().contains("otp="),
        "the code leaves the address: {address}"
    );
    let started = admin
        .orders(&ShopId::main(), &[OrderState::AwaitingDrink], None)
        .await?;
    assert_eq!(started.len(), 1, "her order started from the held place");

    phone.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn a_queued_order_survives_the_network_dropping_and_can_be_cancelled_after_confirming()
-> anyhow::Result<()> {
    let mut server = TestServer::start().await?;
    let admin = server.open_shop().await?;
    let booth = admin.booth_code(&ShopId::main()).await?;
    let browser = Browser::start(320, 640).await?;
    let driver = &browser.driver;

    driver.goto(&booth.order_url).await?;
    sign_in_on_page(driver, &server, "eve@example.com").await?;

    // The first name, asked once before the first order, goes on the board.
    let name = wait_for_element(driver, "[data-testid=name-input]").await?;
    name.send_keys("Eve").await?;
    browser.screenshot("customer-name-320x640").await?;
    axe::check(driver, "name, typed").await?;
    click(driver, "[data-testid=name-save]").await?;
    wait_until_gone(driver, "[data-testid=name-prompt]").await?;
    click(driver, "[data-testid=drink-espresso]").await?;
    click(driver, "[data-testid=order-now]").await?;
    wait_for_text(driver, "[data-testid=status-headline]", "in the queue").await?;
    wait_for_text(driver, "[data-testid=status]", "For Eve").await?;
    // The bar sees the name on the order.
    let named = wait_for("the name on the order", STEP_DEADLINE, || async {
        let orders = admin
            .orders(&ShopId::main(), &[OrderState::Queued], None)
            .await?;
        Ok(orders
            .into_iter()
            .find(|o| o.customer.display_name.is_some()))
    })
    .await?;
    assert_eq!(named.customer.display_name.as_deref(), Some("Eve"));
    browser.screenshot("customer-queued-320x640").await?;
    axe::check(driver, "queued, named, 320 wide").await?;

    // The bar's server goes away: the page says so and keeps the order; when the server is
    // back the page reconnects by itself and follows again.
    wait_for_text(driver, "[data-testid=connection]", "Live").await?;
    server.stop_for_now().await?;
    wait_for_text(driver, "[data-testid=connection]", "Reconnecting").await?;
    wait_for_text(driver, "[data-testid=order-number]", "#1").await?;
    axe::check(driver, "reconnecting").await?;
    server.start_again().await?;
    wait_for_text(driver, "[data-testid=connection]", "Live").await?;
    admin.claim(&ShopId::main(), &named.id).await?;
    wait_for_text(driver, "[data-testid=status-headline]", "being made").await?;
    admin.unclaim(&ShopId::main(), &named.id).await?;
    wait_for_text(driver, "[data-testid=status-headline]", "in the queue").await?;

    // Cancel asks first; "keep my order" keeps it.
    click(driver, "[data-testid=cancel-order]").await?;
    click(driver, "[data-testid=confirm-cancel-no]").await?;
    wait_until_gone(driver, "[data-testid=confirm-cancel]").await?;
    click(driver, "[data-testid=cancel-order]").await?;
    browser
        .screenshot("customer-confirm-cancel-320x640")
        .await?;
    axe::check(driver, "confirm cancel").await?;
    click(driver, "[data-testid=confirm-cancel-yes]").await?;
    wait_for_text(driver, "[data-testid=finished-cancelled]", "cancelled").await?;
    axe::check(driver, "cancelled").await?;

    let cancelled = admin
        .orders(&ShopId::main(), &[OrderState::Cancelled], None)
        .await?;
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].id, named.id);

    browser.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn a_customer_orders_with_the_keyboard_alone() -> anyhow::Result<()> {
    let (server, admin, _, browser) = phone_at_the_booth().await?;
    let driver = &browser.driver;
    let email = "kai@example.com";

    // Tab, arrows, Enter and typing only: no click anywhere.
    by::keys(driver, &Key::Tab).await?;
    by::focus_on(driver, "Email").await?;
    let seen = server.mails_to(email).len();
    by::keys(driver, &(email.to_owned() + &Key::Enter)).await?;
    // "Send me a code" leaves the focus in the code field.
    by::focus_on(driver, "Code from the email").await?;
    let code = server.code_after(email, seen).await?;
    by::keys(driver, &code).await?;

    // The name screen starts at its field; Enter saves.
    by::focus_on(driver, "First name").await?;
    by::keys(driver, &("Kai".to_owned() + &Key::Enter)).await?;

    // The menu starts at its heading; Tab enters the drinks, the arrows move and choose.
    by::focus_on(driver, "Choose your drink").await?;
    by::keys(driver, &Key::Tab).await?;
    let first = by::focus_on(driver, "Americano").await?;
    assert!(first.starts_with("button|radio|"), "{first}");
    for _ in 0..3 {
        by::keys(driver, &Key::Right).await?;
    }
    by::focus_on(driver, "Espresso").await?;
    let chosen = "//*[@role='radio' and @aria-checked='true' and normalize-space()='Espresso']";
    by::xpath(driver, "Espresso chosen", chosen).await?;
    // Back and forth: Left then Right lands on the same drink again.
    by::keys(driver, &Key::Left).await?;
    by::focus_on(driver, "Cappuccino").await?;
    by::keys(driver, &Key::Right).await?;
    by::focus_on(driver, "Espresso").await?;
    // A drink with a choice of milk: Tab goes from the chosen drink into the milk, a radio
    // group of its own, where the arrows choose.
    by::keys(driver, &Key::Left).await?;
    by::focus_on(driver, "Cappuccino").await?;
    by::keys(driver, &Key::Tab).await?;
    let regular = by::focus_on(driver, "Regular").await?;
    assert!(regular.starts_with("button|radio|"), "{regular}");
    by::keys(driver, &Key::Right).await?;
    by::focus_on(driver, "Oat").await?;
    let oat = "//*[@role='radiogroup' and @aria-label='Milk']\
               //*[@role='radio' and @aria-checked='true' and normalize-space()='Oat']";
    by::xpath(driver, "Oat chosen", oat).await?;
    browser.screenshot("customer-keyboard-menu-390x844").await?;
    axe::check(driver, "menu, milk chosen with the keyboard").await?;
    // The chosen milk is the group's one tab stop: Tab goes on to "Order now".
    by::keys(driver, &Key::Tab).await?;
    by::focus_on(driver, "Order now").await?;
    by::keys(driver, &Key::Enter).await?;

    // Queued, and the focus is on the new screen's heading.
    by::focus_on(driver, "in the queue").await?;
    by::status(driver, "Your order #1 is in the queue").await?;
    let queued = wait_for("the order in the queue", STEP_DEADLINE, || async {
        let orders = admin
            .orders(&ShopId::main(), &[OrderState::Queued], None)
            .await?;
        Ok(orders.into_iter().next())
    })
    .await?;
    let drink = queued.drink.as_ref().expect("a drink");
    assert_eq!(drink.item_id, "cappuccino");
    assert_eq!(drink.options.get("milk").map(String::as_str), Some("Oat"));
    assert_eq!(queued.customer.display_name.as_deref(), Some("Kai"));
    browser
        .screenshot("customer-keyboard-queued-390x844")
        .await?;

    browser.close().await?;
    server.stop().await
}

/// An open shop and a phone that opened its booth's QR link, on the sign-in screen: the server,
/// the admin, the booth's code as scanned, and the phone.
async fn phone_at_the_booth() -> anyhow::Result<(TestServer, Client, BoothCode, Browser)> {
    let server = TestServer::start().await?;
    let admin = server.open_shop().await?;
    let booth = admin.booth_code(&ShopId::main()).await?;
    let phone = Browser::start(PHONE.0, PHONE.1).await?;
    phone.driver.goto(&booth.order_url).await?;
    by::heading(&phone.driver, "Sign in to order").await?;
    Ok((server, admin, booth, phone))
}

/// Set some of main's limits.
async fn set_limits(admin: &Client, limits: LimitsPatch) -> anyhow::Result<()> {
    admin
        .patch_shop(
            &ShopId::main(),
            &ShopPatch {
                limits: Some(limits),
                ..ShopPatch::default()
            },
        )
        .await?;
    Ok(())
}

/// Scan the booth's code again and order an espresso from the menu.
async fn order_espresso(driver: &fantoccini::Client, order_url: &str) -> anyhow::Result<()> {
    driver.goto(order_url).await?;
    by::heading(driver, "Choose your drink").await?;
    by::press_button(driver, "Espresso").await?;
    by::press_button(driver, "Order now").await
}

/// The one order in the queue.
async fn queued_order(admin: &Client) -> anyhow::Result<Order> {
    wait_for("the order in the queue", STEP_DEADLINE, || async {
        let queued = admin
            .orders(&ShopId::main(), &[OrderState::Queued], None)
            .await?;
        Ok(queued.into_iter().next())
    })
    .await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn every_end_of_an_order_is_said_and_passes_axe() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let admin = server.open_shop().await?;
    // Quick deadlines, one at a time, and room for several orders today.
    set_limits(
        &admin,
        LimitsPatch {
            customer_timeout_s: Some(2),
            max_orders_per_day: Some(10),
            ..LimitsPatch::default()
        },
    )
    .await?;
    let booth = admin.booth_code(&ShopId::main()).await?;
    let browser = Browser::start(PHONE.0, PHONE.1).await?;
    let driver = &browser.driver;

    // No drink chosen in time.
    driver.goto(&booth.order_url).await?;
    sign_in_on_page(driver, &server, "liv@example.com").await?;
    by::press_button(driver, "Skip").await?;
    by::heading(driver, "Time ran out").await?;
    by::focus_on(driver, "Time ran out").await?;
    axe::check(driver, "timed out choosing").await?;
    by::press_button(driver, "Done").await?;

    // Not made in time.
    set_limits(
        &admin,
        LimitsPatch {
            customer_timeout_s: Some(300),
            barista_timeout_s: Some(3),
            ..LimitsPatch::default()
        },
    )
    .await?;
    order_espresso(driver, &booth.order_url).await?;
    by::heading(driver, "Sorry, we couldn't make it in time").await?;
    axe::check(driver, "timed out making").await?;
    by::press_button(driver, "Done").await?;

    // Cancelled by the bar, with its reason.
    set_limits(
        &admin,
        LimitsPatch {
            barista_timeout_s: Some(900),
            ready_expiry_s: Some(2),
            ..LimitsPatch::default()
        },
    )
    .await?;
    order_espresso(driver, &booth.order_url).await?;
    let order = queued_order(&admin).await?;
    admin
        .cancel_order(&ShopId::main(), &order.id, Some("We ran out of beans"))
        .await?;
    by::heading(driver, "The bar cancelled your order").await?;
    by::text(driver, "We ran out of beans").await?;
    axe::check(driver, "cancelled by the bar").await?;
    browser
        .screenshot("customer-cancelled-by-bar-390x844")
        .await?;
    by::press_button(driver, "Done").await?;

    // Ready, and nobody came for it.
    order_espresso(driver, &booth.order_url).await?;
    let order = queued_order(&admin).await?;
    admin.claim(&ShopId::main(), &order.id).await?;
    admin.complete(&ShopId::main(), &order.id).await?;
    by::heading(driver, "Your drink was not picked up").await?;
    axe::check(driver, "not picked up").await?;
    browser.screenshot("customer-not-picked-up-390x844").await?;

    browser.close().await?;
    server.stop().await
}

/// The page's `<html lang>`.
async fn page_language(driver: &fantoccini::Client) -> anyhow::Result<String> {
    let lang = driver
        .execute("return document.documentElement.lang;", vec![])
        .await?;
    Ok(lang.as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn the_whole_flow_in_portuguese() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let admin = server.open_shop().await?;
    let barista = server
        .sign_in("barista@espresso.test", &[Role::Barista])
        .await?;
    let booth = admin.booth_code(&ShopId::main()).await?;
    // A phone set to Brazilian Portuguese.
    let browser = Browser::start_in_language(PHONE.0, PHONE.1, "pt-BR").await?;
    let driver = &browser.driver;

    // Given the phone opened the booth's QR link, the app speaks Portuguese by itself,
    driver.goto(&booth.order_url).await?;
    by::heading(driver, "Entre para pedir").await?;
    assert_eq!(page_language(driver).await?, "pt");
    by::text(driver, "Sua bebida está a um passo").await?;
    browser.screenshot("customer-pt-1-sign-in-390x844").await?;
    axe::check(driver, "sign-in (pt)").await?;

    // signs in by the Portuguese labels,
    let email = "bia@example.com";
    let seen = server.mails_to(email).len();
    by::type_into(driver, "E-mail", email).await?;
    by::press_button(driver, "Enviar código").await?;
    let code = server.code_after(email, seen).await?;
    // The mail is in Portuguese too (the app sends its language with the request).
    let mailed = server.mails_to(email).pop().context("the code's mail")?;
    let mailed = std::fs::read_to_string(mailed)?;
    assert!(
        mailed.contains(&format!("Subject: Seu código Espresso: {code}")),
        "{mailed}"
    );
    by::text(driver, "Enviamos um código de 6 dígitos para").await?;
    by::text(driver, "Enviar um novo código em 0:").await?;
    axe::check(driver, "code sent (pt)").await?;
    by::type_into(driver, "Código do e-mail", &code).await?;
    by::heading(driver, "Como podemos chamar você?").await?;
    axe::check(driver, "name (pt)").await?;
    by::press_button(driver, "Pular").await?;

    // and orders from the menu: the time left, what is missing, the order button.
    by::heading(driver, "Escolha sua bebida").await?;
    by::text(driver, "para escolher").await?;
    by::press_button(driver, "Flat White").await?;
    by::text(driver, "Falta escolher: Milk").await?;
    assert!(
        !by::button(driver, "Pedir agora")
            .await?
            .is_enabled()
            .await?,
        "ordering without milk must not be possible"
    );
    by::press_button(driver, "Oat").await?;
    by::text(driver, "Flat White · Oat milk").await?;
    browser.screenshot("customer-pt-2-menu-390x844").await?;
    axe::check(driver, "menu (pt)").await?;
    by::press_button(driver, "Pedir agora").await?;

    // The order's status follows the bar, in Portuguese.
    by::heading(driver, "Você está na fila").await?;
    by::status(driver, "Seu pedido #1 está na fila").await?;
    by::press_button(driver, "Cancelar pedido").await?;
    by::heading(driver, "Cancelar seu pedido?").await?;
    by::press_button(driver, "Manter meu pedido").await?;
    browser.screenshot("customer-pt-3-queued-390x844").await?;
    axe::check(driver, "queued (pt)").await?;
    let order = order_numbered(&barista, 1).await?;
    barista.claim(&ShopId::main(), &order.id).await?;
    by::heading(driver, "Sua bebida está sendo preparada").await?;
    barista.complete(&ShopId::main(), &order.id).await?;
    by::heading(driver, "Pronto! Retire no balcão").await?;
    by::status(driver, "Seu pedido #1 está pronto").await?;
    browser.screenshot("customer-pt-4-ready-390x844").await?;
    axe::check(driver, "ready (pt)").await?;

    // Handed over: the end screen, the receipt with its times in the 24-hour clock.
    barista.collect(&ShopId::main(), &order.id).await?;
    by::heading(driver, "Aproveite seu café!").await?;
    axe::check(driver, "collected (pt)").await?;
    by::press_button(driver, "Ver o recibo").await?;
    by::heading(driver, "Recibo").await?;
    by::text(driver, "Leu o código").await?;
    by::text(driver, "Entregue").await?;
    let journey = wait_for_text(driver, "[data-testid=journey]", "Pronta para retirar").await?;
    assert!(
        !journey.contains("AM") && !journey.contains("PM"),
        "times in the 24-hour clock: {journey}"
    );
    browser.screenshot("customer-pt-5-receipt-390x844").await?;
    axe::check(driver, "receipt (pt)").await?;
    by::press_button(driver, "Meus pedidos").await?;
    by::heading(driver, "Meus pedidos").await?;
    by::text(driver, "1 pedido").await?;
    by::text(driver, "Retirado").await?;
    axe::check(driver, "my orders (pt)").await?;

    // Scanning again the same day: the daily limit, said from the server's problem code.
    driver.goto(&booth.order_url).await?;
    by::heading(driver, "Você já pediu todas as bebidas de hoje").await?;
    by::text(driver, "Você pode pedir de novo em").await?;
    browser
        .screenshot("customer-pt-6-daily-limit-390x844")
        .await?;
    axe::check(driver, "daily limit (pt)").await?;
    by::press_button(driver, "OK").await?;
    by::heading(driver, "Meus pedidos").await?;

    // She switches to English: the page follows at once, and a reload remembers it.
    by::press_button(driver, "English").await?;
    by::heading(driver, "Scan the code on the big screen").await?;
    assert_eq!(page_language(driver).await?, "en");
    driver.refresh().await?;
    by::heading(driver, "Scan the code on the big screen").await?;
    // The switch is under "My orders" (and on the sign-in screen).
    by::press_button(driver, "My orders").await?;
    by::press_button(driver, "Português").await?;
    by::heading(driver, "Escaneie o código na tela grande").await?;
    assert_eq!(page_language(driver).await?, "pt");

    browser.close().await?;
    server.stop().await
}
