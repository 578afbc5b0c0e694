//! The booth display in headless Chromium against the real server: the QR code on screen is the
//! server's current order URL (decoded from the page's SVG, as a phone would read it) and follows
//! rotations and redemptions live; orders move Preparing → Ready → gone; a closed shop shows the
//! closed sign; the board catches up after a server restart; a busy board fits a landscape TV
//! and a portrait screen (screenshots); the staff's settings open with the hidden shortcut, and
//! there an admin replaces the booth code now.

use std::time::Duration;

use anyhow::{Context, bail};
use espresso_core::Client;
use espresso_core::protocol::{
    DrinkChoice, ErrorCode, LimitsPatch, Order, Role, ShopId, ShopPatch,
};
use espresso_tests::{
    Browser, STEP_DEADLINE, TestServer, axe, by, click, fill, set_viewport, sign_in_on_page,
    wait_for, wait_for_element, wait_for_text, wait_until_gone,
};
use fantoccini::Client as WebDriver;
use fantoccini::Locator;
use fantoccini::actions::{InputSource, KeyAction, KeyActions, MouseActions, PointerAction};

const SHOP: &str = "main";
const DISPLAY: &str = "booth@espresso.test";
const ADMIN: &str = "owner@espresso.test";
const BARISTA: &str = "barista@espresso.test";

/// The admin, with `limits` set before the shop opens (a code issued later follows them).
async fn open_shop_with(server: &TestServer, limits: LimitsPatch) -> anyhow::Result<Client> {
    let admin = server.sign_in(ADMIN, &[Role::Admin]).await?;
    admin
        .patch_shop(
            &ShopId::from(SHOP),
            &ShopPatch {
                limits: Some(limits),
                ..Default::default()
            },
        )
        .await?;
    admin.set_shop_open(&ShopId::from(SHOP), true).await?;
    Ok(admin)
}

/// A browser showing the display, signed in with the display role, the board on screen.
async fn open_display(server: &TestServer, width: u32, height: u32) -> anyhow::Result<Browser> {
    open_display_as(server, DISPLAY, Browser::start(width, height).await?).await
}

/// `browser` showing the display, signed in as `email` with the display role.
async fn open_display_as(
    server: &TestServer,
    email: &str,
    browser: Browser,
) -> anyhow::Result<Browser> {
    server.grant(email, &[Role::Display]).await?;
    browser
        .driver
        .goto(&format!("{}/display?shop={SHOP}", server.url()))
        .await?;
    wait_for_element(&browser.driver, "[data-testid=email]").await?;
    axe::check(&browser.driver, "display sign-in").await?;
    sign_in_on_page(&browser.driver, server, email).await?;
    wait_for_element(&browser.driver, "[data-testid=booth]").await?;
    axe::check(&browser.driver, "display board").await?;
    Ok(browser)
}

/// A customer with a first name for the board.
async fn customer(server: &TestServer, email: &str, name: &str) -> anyhow::Result<Client> {
    let client = server.sign_in(email, &[]).await?;
    client.set_display_name(Some(name)).await?;
    Ok(client)
}

fn espresso() -> Option<DrinkChoice> {
    Some(DrinkChoice {
        item_id: "espresso".into(),
        options: Default::default(),
    })
}

/// The code in an order URL (`…/order?shop=main&code=K7Q2M9XA`).
fn code_of(order_url: &str) -> anyhow::Result<String> {
    order_url
        .split_once("code=")
        .map(|(_, code)| code.split('&').next().unwrap_or(code).to_owned())
        .with_context(|| format!("no code in {order_url}"))
}

fn number(order: &Order) -> anyhow::Result<u32> {
    order.number.context("a queued order has a number")
}

/// What the QR code on screen says, read from its SVG as a camera would; `None` while no QR is
/// shown.
async fn shown_url(driver: &WebDriver) -> anyhow::Result<Option<String>> {
    let svg = driver
        .execute(
            "const svg = document.querySelector('[data-testid=qr] svg');\
             return svg ? svg.outerHTML : null;",
            vec![],
        )
        .await?;
    match svg.as_str() {
        Some(svg) => Ok(Some(qr::decode(svg)?)),
        None => Ok(None),
    }
}

/// Wait until the QR on screen is the server's current code (and not `other`); returns it.
async fn wait_for_qr_of_server(
    driver: &WebDriver,
    admin: &Client,
    other: Option<&str>,
) -> anyhow::Result<String> {
    wait_for(
        "the QR code on screen to be the server's current code",
        STEP_DEADLINE,
        || async {
            let shown = shown_url(driver).await?;
            let current = admin.booth_code(&ShopId::from(SHOP)).await?.order_url;
            Ok(shown
                .filter(|shown| *shown == current && Some(shown.as_str()) != other)
                .map(|_| current))
        },
    )
    .await
}

/// The CSS selector of order `number`'s tile in `column` ("preparing" or "ready").
fn tile(column: &str, number: u32) -> String {
    format!("[data-testid={column}] [data-number='{number}']")
}

/// Press a key on the page (as a keyboard would, not a synthetic event).
async fn press(driver: &WebDriver, key: char) -> anyhow::Result<()> {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    driver.perform_actions(keys).await?;
    Ok(())
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn the_qr_code_is_the_servers_and_rotates_live() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let admin = open_shop_with(
        &server,
        LimitsPatch {
            code_rotation_s: Some(4),
            ..Default::default()
        },
    )
    .await?;
    let browser = open_display(&server, 1920, 1080).await?;
    let driver = &browser.driver;

    let first = wait_for_qr_of_server(driver, &admin, None).await?;
    assert!(
        first.starts_with(&format!("{}/order?shop={SHOP}&code=", server.url())),
        "{first}"
    );
    wait_for_text(
        driver,
        "[data-testid=drinks-left]",
        "10 drinks left on this code",
    )
    .await?;
    wait_for_text(driver, "[data-testid=next-code]", "New code in 0:0").await?;

    // The server rotates the code on its own; the screen follows without a reload.
    let marker: serde_json::Value = driver
        .execute("window.__sameDocument = true; return true;", vec![])
        .await?;
    assert_eq!(marker, serde_json::Value::Bool(true));
    let second = wait_for_qr_of_server(driver, &admin, Some(&first)).await?;
    assert_ne!(first, second);
    let third = wait_for_qr_of_server(driver, &admin, Some(&second)).await?;
    assert_ne!(second, third);
    let same_document = driver
        .execute("return window.__sameDocument === true;", vec![])
        .await?;
    assert_eq!(
        same_document,
        serde_json::Value::Bool(true),
        "the page reloaded"
    );

    browser.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn an_admin_replaces_the_code_from_the_settings_and_the_old_one_stops_at_once()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let admin = open_shop_with(&server, LimitsPatch::default()).await?;
    // The owner at the booth, on an account of their own (ADMIN's code was just mailed).
    let owner = "owner-at-the-booth@espresso.test";
    server.grant(owner, &[Role::Admin]).await?;
    let browser = Browser::start(1920, 1080).await?;
    let driver = &browser.driver;
    driver
        .goto(&format!("{}/display?shop={SHOP}", server.url()))
        .await?;
    sign_in_on_page(driver, &server, owner).await?;
    wait_for_element(driver, "[data-testid=booth]").await?;
    let first = wait_for_qr_of_server(driver, &admin, None).await?;

    // From the hidden settings, a new code now; the screen follows without a reload.
    press(driver, 's').await?;
    click(driver, "[data-testid=settings-rotate-code]").await?;
    wait_for_text(
        driver,
        "[data-testid=settings-rotate-result]",
        "A new code is on the screen",
    )
    .await?;
    press(driver, 's').await?;
    wait_until_gone(driver, "[data-testid=settings]").await?;
    let second = wait_for_qr_of_server(driver, &admin, Some(&first)).await?;
    assert_ne!(first, second);

    // Whoever photographed the old code cannot order with it; the new one works.
    let ann = customer(&server, "ann@example.com", "Ann").await?;
    let refused = ann
        .start_order(&ShopId::from(SHOP), &code_of(&first)?, espresso())
        .await
        .err()
        .context("the old code must be refused")?;
    assert_eq!(refused.code(), Some(&ErrorCode::CodeExpired), "{refused}");
    ann.start_order(&ShopId::from(SHOP), &code_of(&second)?, espresso())
        .await?;

    browser.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn redemptions_count_down_orders_cross_the_board_and_closing_shows_the_sign()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let admin = open_shop_with(
        &server,
        LimitsPatch {
            drinks_per_code: Some(2),
            ready_display_s: Some(5),
            ..Default::default()
        },
    )
    .await?;
    let barista = server.sign_in(BARISTA, &[Role::Barista]).await?;
    let ada = customer(&server, "ada@espresso.test", "Ada").await?;
    let ben = customer(&server, "ben@espresso.test", "Ben").await?;
    let browser = open_display(&server, 1920, 1080).await?;
    let driver = &browser.driver;

    wait_for_text(
        driver,
        "[data-testid=drinks-left]",
        "2 drinks left on this code",
    )
    .await?;
    let url = wait_for_qr_of_server(driver, &admin, None).await?;
    let code = code_of(&url)?;

    // A scan lowers the count live, and the order shows as preparing, with its first name.
    let first = ada
        .start_order(&ShopId::from(SHOP), &code, espresso())
        .await?;
    let first_number = number(&first)?;
    wait_for_text(
        driver,
        "[data-testid=drinks-left]",
        "1 drink left on this code",
    )
    .await?;
    let preparing = wait_for_text(driver, &tile("preparing", first_number), "Ada").await?;
    assert!(preparing.contains(&first_number.to_string()), "{preparing}");

    // The last drink of the code: the QR gives way to "We are making drinks!".
    let second = ben
        .start_order(&ShopId::from(SHOP), &code, espresso())
        .await?;
    let second_number = number(&second)?;
    let used_up = wait_for_text(
        driver,
        "[data-testid=code-used-up]",
        "We are making drinks!",
    )
    .await?;
    assert!(
        used_up.contains("New code in 4:") || used_up.contains("New code in 5:00"),
        "{used_up}"
    );
    assert!(
        shown_url(driver).await?.is_none(),
        "a used-up code is not shown"
    );
    wait_for_element(driver, &tile("preparing", second_number)).await?;
    set_viewport(driver, 1920, 1080).await?;
    browser.screenshot("display-used-up-1920x1080").await?;
    axe::check(driver, "display-used-up-1920x1080").await?;
    set_viewport(driver, 1080, 1920).await?;
    browser.screenshot("display-used-up-1080x1920").await?;
    axe::check(driver, "display-used-up-1080x1920").await?;
    set_viewport(driver, 1920, 1080).await?;

    // Made: Preparing → Ready (the newest leads, highlighted), then off the board after
    // `ready_display_s`, though nobody collected it.
    // Being made and still in the queue read apart: the claimed order's tile says so.
    barista.claim(&ShopId::from(SHOP), &first.id).await?;
    let making = wait_for_text(driver, &tile("preparing", first_number), "Being made").await?;
    assert!(making.contains("Ada"), "{making}");
    let queued = wait_for_element(driver, &tile("preparing", second_number)).await?;
    let queued = queued.text().await?;
    assert!(
        !queued.contains("Being made"),
        "a queued order reads as being made: {queued}"
    );
    set_viewport(driver, 1920, 1080).await?;
    browser.screenshot("display-making-1920x1080").await?;
    axe::check(driver, "display-making-1920x1080").await?;
    barista.complete(&ShopId::from(SHOP), &first.id).await?;
    let ready = wait_for_text(driver, &tile("ready", first_number), "Ada").await?;
    assert!(ready.contains(&first_number.to_string()), "{ready}");
    wait_until_gone(driver, &tile("preparing", first_number)).await?;
    let hero = wait_for_element(driver, "[data-testid=ready] .tile-hero").await?;
    assert_eq!(
        hero.attr("data-number").await?,
        Some(first_number.to_string())
    );
    wait_until_gone(driver, &tile("ready", first_number)).await?;
    wait_for_element(driver, &tile("preparing", second_number)).await?;

    // Closing the shop: the closed sign instead of the QR; the board goes on.
    admin.set_shop_open(&ShopId::from(SHOP), false).await?;
    let closed = wait_for_text(driver, "[data-testid=closed]", "not taking orders").await?;
    assert!(closed.to_lowercase().starts_with("closed"), "{closed}");
    assert!(shown_url(driver).await?.is_none());
    wait_for_element(driver, &tile("preparing", second_number)).await?;
    browser.screenshot("display-closed-1920x1080").await?;
    axe::check(driver, "display-closed-1920x1080").await?;
    set_viewport(driver, 1080, 1920).await?;
    browser.screenshot("display-closed-1080x1920").await?;
    axe::check(driver, "display-closed-1080x1920").await?;
    set_viewport(driver, 1920, 1080).await?;

    // Open again: a QR code, the server's.
    admin.set_shop_open(&ShopId::from(SHOP), true).await?;
    wait_until_gone(driver, "[data-testid=closed]").await?;
    wait_for_element(driver, "[data-testid=qr-panel]").await?;

    browser.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn the_board_catches_up_after_a_server_restart() -> anyhow::Result<()> {
    let mut server = TestServer::start().await?;
    let admin = open_shop_with(&server, LimitsPatch::default()).await?;
    let barista = server.sign_in(BARISTA, &[Role::Barista]).await?;
    let ada = customer(&server, "ada@espresso.test", "Ada").await?;
    let ben = customer(&server, "ben@espresso.test", "Ben").await?;
    let browser = open_display(&server, 1920, 1080).await?;
    let driver = &browser.driver;

    let url = wait_for_qr_of_server(driver, &admin, None).await?;
    let first = ada
        .start_order(&ShopId::from(SHOP), &code_of(&url)?, espresso())
        .await?;
    let first_number = number(&first)?;
    wait_for_element(driver, &tile("preparing", first_number)).await?;
    // Live: no indicator.
    wait_until_gone(driver, "[data-testid=offline]").await?;

    server.stop_for_now().await?;
    let offline = wait_for_text(driver, "[data-testid=offline]", "").await?;
    assert!(
        offline.contains("Reconnecting") || offline.contains("Connecting"),
        "{offline}"
    );
    // What the screen had stays on it meanwhile.
    wait_for_element(driver, &tile("preparing", first_number)).await?;
    browser.screenshot("display-reconnecting-1920x1080").await?;
    axe::check(driver, "display-reconnecting-1920x1080").await?;

    server.start_again().await?;
    // Changes made right after the restart, before the screen is back: caught up.
    barista.claim(&ShopId::from(SHOP), &first.id).await?;
    barista.complete(&ShopId::from(SHOP), &first.id).await?;
    let code = admin.booth_code(&ShopId::from(SHOP)).await?.code;
    let second = ben
        .start_order(&ShopId::from(SHOP), &code, espresso())
        .await?;
    let second_number = number(&second)?;

    wait_for(
        "the indicator to go once the screen is live again",
        Duration::from_secs(40),
        || async {
            Ok(driver
                .find_all(Locator::Css("[data-testid=offline]"))
                .await?
                .is_empty()
                .then_some(()))
        },
    )
    .await?;
    wait_for_text(driver, &tile("ready", first_number), "Ada").await?;
    wait_until_gone(driver, &tile("preparing", first_number)).await?;
    wait_for_text(driver, &tile("preparing", second_number), "Ben").await?;
    wait_for_qr_of_server(driver, &admin, None).await?;

    browser.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn a_busy_board_fits_a_tv_and_a_portrait_screen_and_settings_stay_hidden()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let admin = open_shop_with(
        &server,
        LimitsPatch {
            drinks_per_code: Some(40),
            max_queue: Some(40),
            ..Default::default()
        },
    )
    .await?;
    let barista = server.sign_in(BARISTA, &[Role::Barista]).await?;
    let code = admin.booth_code(&ShopId::from(SHOP)).await?.code;
    const NAMES: [&str; 18] = [
        "Ada",
        "Ben",
        "Chloé",
        "Dev",
        "Emil",
        "Fatima",
        "Grace",
        "Hiro",
        "Ines",
        "Jonas",
        "Kemi",
        "Lars",
        "Maximiliana",
        "Noor",
        "Otto",
        "Priya",
        "Quinn",
        "Rosa",
    ];
    let mut orders = Vec::new();
    for (i, name) in NAMES.iter().enumerate() {
        let client = customer(&server, &format!("guest{i}@espresso.test"), name).await?;
        // Some guests set no name: the board shows the number alone.
        if i % 5 == 4 {
            client.set_display_name(None).await?;
        }
        orders.push(
            client
                .start_order(&ShopId::from(SHOP), &code, espresso())
                .await?,
        );
    }
    // Nine made (ready, the last one newest), two being made, seven waiting.
    for order in &orders[..11] {
        barista.claim(&ShopId::from(SHOP), &order.id).await?;
    }
    for order in &orders[..9] {
        barista.complete(&ShopId::from(SHOP), &order.id).await?;
    }
    let newest_ready = number(&orders[8])?;
    let newest_preparing = number(&orders[17])?;

    let browser = open_display(&server, 1920, 1080).await?;
    let driver = &browser.driver;
    set_viewport(driver, 1920, 1080).await?;
    let hero = wait_for_element(driver, "[data-testid=ready] .tile-hero").await?;
    assert_eq!(
        hero.attr("data-number").await?,
        Some(newest_ready.to_string())
    );
    // Most recent first; what does not fit is counted.
    let more_ready = wait_for_text(driver, "[data-testid=more-ready]", "more").await?;
    assert_eq!(more_ready, "+3 more");
    let more_preparing = wait_for_text(driver, "[data-testid=more-preparing]", "more").await?;
    assert_eq!(more_preparing, "+2 more");
    let first_preparing = wait_for_element(driver, "[data-testid=preparing] [data-testid=order]")
        .await?
        .attr("data-number")
        .await?;
    assert_eq!(first_preparing, Some(newest_preparing.to_string()));
    wait_for_qr_of_server(driver, &admin, None).await?;
    // Let the one-time pulse settle before the picture.
    wait_for_no_animation(driver).await?;
    assert_fits(driver, 0.119).await?;
    browser.screenshot("display-busy-1920x1080").await?;
    axe::check(driver, "display-busy-1920x1080").await?;

    set_viewport(driver, 1080, 1920).await?;
    wait_for_qr_of_server(driver, &admin, None).await?;
    assert_fits(driver, 0.05).await?;
    browser.screenshot("display-busy-1080x1920").await?;
    axe::check(driver, "display-busy-1080x1920").await?;
    set_viewport(driver, 1920, 1080).await?;

    // The settings: nothing of them on screen until the shortcut.
    assert!(
        driver
            .find_all(Locator::Css("[data-testid=settings]"))
            .await?
            .is_empty()
    );
    press(driver, 's').await?;
    let gesture = wait_for_text(driver, "[data-testid=settings-gesture]", "S key").await?;
    // Opened, the dialog has the focus (its title).
    by::focus_on(driver, "Display settings").await?;
    assert!(gesture.contains("three times"), "{gesture}");
    let shown_server = wait_for_text(driver, "[data-testid=settings-server]", "http").await?;
    assert_eq!(shown_server, server.url());
    let shop_field = wait_for_element(driver, "[data-testid=settings-shop]").await?;
    assert_eq!(shop_field.prop("value").await?, Some(SHOP.to_owned()));
    let chime = wait_for_element(driver, "[data-testid=settings-chime]").await?;
    assert_eq!(chime.attr("aria-pressed").await?, Some("true".into()));
    click(driver, "[data-testid=settings-chime]").await?;
    wait_for_text(driver, "[data-testid=settings-chime]", "Chime off").await?;
    // Replacing the booth code is for an admin: the display's own account is not offered it.
    assert!(
        driver
            .find_all(Locator::Css("[data-testid=settings-rotate-code]"))
            .await?
            .is_empty()
    );
    browser.screenshot("display-settings-1920x1080").await?;
    axe::check(driver, "display-settings-1920x1080").await?;
    press(driver, 's').await?;
    wait_until_gone(driver, "[data-testid=settings]").await?;

    // No cursor once the mouse rests; it comes back when the mouse moves.
    wait_for_element(driver, ".display.display-idle").await?;
    let nudge = MouseActions::new("mouse".into()).then(PointerAction::MoveTo {
        duration: None,
        x: 900.0,
        y: 500.0,
    });
    driver.perform_actions(nudge).await?;
    wait_until_gone(driver, ".display.display-idle").await?;

    // Three taps in the corner open it too; the chime choice was kept.
    for _ in 0..3 {
        click(driver, "[data-testid=settings-hotspot]").await?;
    }
    wait_for_text(driver, "[data-testid=settings-chime]", "Chime off").await?;

    // Another shop: the page reloads with `?shop=`; this one does not exist, and says so.
    fill(driver, "[data-testid=settings-shop]", "nope").await?;
    click(driver, "[data-testid=settings-switch-shop]").await?;
    wait_for_text(driver, "[data-testid=shop-not-found]", "“nope”").await?;
    axe::check(driver, "display, no such shop").await?;
    let address = driver.current_url().await?;
    assert_eq!(address.query(), Some("shop=nope"), "{address}");

    // Sign out: the staff sign-in form again.
    press(driver, 's').await?;
    click(driver, "[data-testid=sign-out]").await?;
    wait_for_element(driver, "[data-testid=email]").await?;
    wait_until_gone(driver, "[data-testid=booth]").await?;
    browser.screenshot("display-sign-in-1920x1080").await?;
    axe::check(driver, "display-sign-in-1920x1080").await?;

    browser.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn a_screen_set_for_less_motion_shows_a_ready_order_without_the_pulse() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let admin = open_shop_with(&server, LimitsPatch::default()).await?;
    let barista = server.sign_in(BARISTA, &[Role::Barista]).await?;
    let ada = customer(&server, "ada@espresso.test", "Ada").await?;
    // Given two booth screens: one as most are, one on a system set for less motion,
    let moving = open_display(&server, 1280, 800).await?;
    let calm = Browser::start_with(1280, 800, &["--force-prefers-reduced-motion"]).await?;
    let calm = open_display_as(&server, "calm@espresso.test", calm).await?;

    // when an order is made,
    let code = code_of(&admin.booth_code(&ShopId::from(SHOP)).await?.order_url)?;
    let order = ada
        .start_order(&ShopId::from(SHOP), &code, espresso())
        .await?;
    barista.claim(&ShopId::from(SHOP), &order.id).await?;
    barista.complete(&ShopId::from(SHOP), &order.id).await?;

    // then both show it ready, and only the first makes it pulse.
    let running = "return document.getAnimations()\
                   .filter(a => a.playState === 'running').length;";
    for (screen, pulses) in [(&moving, true), (&calm, false)] {
        wait_for_text(&screen.driver, &tile("ready", number(&order)?), "Ada").await?;
        let moves = screen.driver.execute(running, vec![]).await?.as_u64();
        assert_eq!(
            moves.is_some_and(|n| n > 0),
            pulses,
            "running animations as the order shows ready: {moves:?}"
        );
    }
    moving.close().await?;
    calm.close().await?;
    server.stop().await
}

/// Wait until no CSS animation runs (the newest ready order pulses once).
async fn wait_for_no_animation(driver: &WebDriver) -> anyhow::Result<()> {
    wait_for("the pulse to end", STEP_DEADLINE, || async {
        let running = driver
            .execute(
                "return document.getAnimations().filter(a => a.animationName === 'display-fresh' \
                 && a.playState === 'running').length;",
                vec![],
            )
            .await?;
        Ok((running.as_u64() == Some(0)).then_some(()))
    })
    .await
}

/// No scrollbars, every tile inside the window and inside its column, order numbers at least
/// `min_vh` of the window's height.
async fn assert_fits(driver: &WebDriver, min_vh: f64) -> anyhow::Result<()> {
    let report = driver
        .execute(
            r#"
            const doc = document.documentElement;
            const out = [];
            if (doc.scrollHeight > innerHeight || doc.scrollWidth > innerWidth) {
              out.push(`page scrolls: ${doc.scrollWidth}x${doc.scrollHeight} in ${innerWidth}x${innerHeight}`);
            }
            for (const list of document.querySelectorAll('.tiles')) {
              const box = list.getBoundingClientRect();
              for (const tile of list.children) {
                const r = tile.getBoundingClientRect();
                if (r.bottom > box.bottom + 1 || r.right > box.right + 1 || r.bottom > innerHeight) {
                  out.push(`tile ${tile.textContent} overflows its column`);
                }
                const n = tile.querySelector('.tile-number');
                if (n) {
                  const nr = n.getBoundingClientRect();
                  if (nr.right > r.right + 1 || nr.bottom > r.bottom + 1 || n.scrollWidth > n.clientWidth + 1) {
                    out.push(`number ${n.textContent} is cut`);
                  }
                  const size = parseFloat(getComputedStyle(n).fontSize);
                  if (size < MIN * innerHeight) out.push(`number ${n.textContent} is ${size}px`);
                }
              }
            }
            const qr = document.querySelector('[data-testid=qr]');
            if (!qr) out.push('no QR');
            else {
              const r = qr.getBoundingClientRect();
              if (r.bottom > innerHeight || r.right > innerWidth) out.push('QR off screen');
              if (r.width < 0.25 * Math.min(innerWidth, innerHeight)) out.push(`QR is ${r.width}px`);
            }
            return out;
            "#
            .replace("MIN", &min_vh.to_string())
            .as_str(),
            vec![],
        )
        .await?;
    let problems: Vec<String> = serde_json::from_value(report)?;
    if !problems.is_empty() {
        bail!("the board does not fit: {problems:#?}");
    }
    Ok(())
}

/// Reading the QR code back from the SVG the page shows: its path of dark modules is rasterised
/// and decoded with rqrr, as a phone camera would decode the screen.
mod qr {
    use anyhow::{Context, bail};

    /// Pixels per module for the decoder.
    const SCALE: usize = 4;

    pub fn decode(svg: &str) -> anyhow::Result<String> {
        let (size, dark) = rasterise(svg)?;
        let px = size * SCALE;
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(px, px, |x, y| {
            if dark[(y / SCALE) * size + x / SCALE] {
                0
            } else {
                255
            }
        });
        let grids = img.detect_grids();
        let [grid] = grids.as_slice() else {
            bail!("expected one QR code in the SVG, found {}", grids.len());
        };
        let (_, text) = grid.decode().context("the QR code does not decode")?;
        Ok(text)
    }

    /// The value of attribute `name` in the first `tag` element of `svg`.
    fn attr<'a>(svg: &'a str, tag: &str, name: &str) -> anyhow::Result<&'a str> {
        let start = svg
            .find(tag)
            .with_context(|| format!("no {tag} in the SVG"))?;
        let end = start + svg[start..].find('>').context("unclosed tag")?;
        let element = &svg[start..end];
        let key = format!(" {name}=\"");
        let at = element
            .find(&key)
            .with_context(|| format!("{tag} has no {name}"))?
            + key.len();
        let len = element[at..].find('"').context("unclosed attribute")?;
        Ok(&element[at..at + len])
    }

    /// The modules of the SVG: its square viewBox and the dark path (axis-aligned sub-paths of
    /// M/m, H/h, V/v, Z/z), filled with the non-zero rule, sampled at each module's centre.
    fn rasterise(svg: &str) -> anyhow::Result<(usize, Vec<bool>)> {
        let view_box: Vec<usize> = attr(svg, "<svg", "viewBox")?
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        let [0, 0, size, height] = view_box[..] else {
            bail!("unexpected viewBox {view_box:?}");
        };
        if size != height {
            bail!("the viewBox is not square");
        }
        let d = attr(svg, "<path", "d")?;
        let mut edges: Vec<(i64, i64, i64)> = Vec::new();
        let (mut cx, mut cy, mut sx, mut sy) = (0i64, 0i64, 0i64, 0i64);
        let tokens = tokenize(d)?;
        let mut tokens = tokens.into_iter();
        while let Some(token) = tokens.next() {
            let Token::Cmd(cmd) = token else {
                bail!("path data must start with a command");
            };
            let mut num = || match tokens.next() {
                Some(Token::Num(n)) => Ok(n),
                other => bail!("expected a number after {cmd}, got {other:?}"),
            };
            let (nx, ny) = match cmd {
                'M' => (num()?, num()?),
                'm' => (cx + num()?, cy + num()?),
                'H' => (num()?, cy),
                'h' => (cx + num()?, cy),
                'V' => (cx, num()?),
                'v' => (cx, cy + num()?),
                'Z' | 'z' => (sx, sy),
                other => bail!("unexpected path command {other}"),
            };
            match cmd {
                'M' | 'm' => (sx, sy) = (nx, ny),
                _ if nx == cx && ny != cy => edges.push((cx, cy, ny)),
                _ if ny != cy => bail!("a diagonal edge"),
                _ => {}
            }
            (cx, cy) = (nx, ny);
        }
        let mut dark = vec![false; size * size];
        for y in 0..size {
            for x in 0..size {
                let (px, py) = (2 * x as i64 + 1, 2 * y as i64 + 1);
                let winding: i64 = edges
                    .iter()
                    .filter(|&&(ex, y0, y1)| {
                        2 * ex > px && 2 * y0.min(y1) < py && py < 2 * y0.max(y1)
                    })
                    .map(|&(_, y0, y1)| (y1 - y0).signum())
                    .sum();
                dark[y * size + x] = winding != 0;
            }
        }
        Ok((size, dark))
    }

    #[derive(Debug)]
    enum Token {
        Cmd(char),
        Num(i64),
    }

    fn tokenize(d: &str) -> anyhow::Result<Vec<Token>> {
        let mut out = Vec::new();
        let mut chars = d.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_alphabetic() {
                out.push(Token::Cmd(c));
                chars.next();
            } else if c == '-' || c.is_ascii_digit() {
                let mut n = String::from(c);
                chars.next();
                while let Some(&digit) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    n.push(digit);
                    chars.next();
                }
                out.push(Token::Num(n.parse()?));
            } else if c == ' ' || c == ',' {
                chars.next();
            } else {
                bail!("unexpected {c:?} in the path data");
            }
        }
        Ok(out)
    }
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn a_booth_abroad_shows_its_headings_in_both_languages() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let admin = open_shop_with(&server, LimitsPatch::default()).await?;
    server.grant(DISPLAY, &[Role::Display]).await?;
    let browser = Browser::start(1920, 1080).await?;
    let driver = &browser.driver;

    // Given a booth screen whose address asks for Portuguese, then English (an event abroad),
    driver
        .goto(&format!("{}/display?shop={SHOP}&lang=pt+en", server.url()))
        .await?;
    // its sign-in is in Portuguese,
    by::heading(driver, "Tela do balcão").await?;
    let lang = driver
        .execute("return document.documentElement.lang;", vec![])
        .await?;
    assert_eq!(lang.as_str(), Some("pt"));
    sign_in_on_page(driver, &server, DISPLAY).await?;

    // and the board says its headings in both, Portuguese first.
    by::heading(driver, "Em preparo Preparing").await?;
    by::heading(driver, "Pronto Ready").await?;
    by::heading(driver, "Escaneie para pedir Scan to order").await?;
    by::text(driver, "Retire no balcão").await?;
    let ada = customer(&server, "ada@espresso.test", "Ada").await?;
    let code = code_of(&wait_for_qr_of_server(driver, &admin, None).await?)?;
    let order = ada
        .start_order(&ShopId::from(SHOP), &code, espresso())
        .await?;
    by::labelled(driver, &format!("Pedido {} para Ada", number(&order)?)).await?;
    browser
        .screenshot("display-both-languages-1920x1080")
        .await?;
    axe::check(driver, "board in both languages").await?;

    // A phone-sized portrait screen keeps them on the board too.
    set_viewport(driver, 1080, 1920).await?;
    by::heading(driver, "Em preparo Preparing").await?;
    browser
        .screenshot("display-both-languages-1080x1920")
        .await?;

    browser.close().await?;
    server.stop().await
}
