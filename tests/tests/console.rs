//! The owner's console in headless Chromium against the real server, driven as an owner would —
//! by role, label and visible text: set up an event shop, its menu and limits, its staff and its
//! booth code without curl, and see each change where customers and the booth see it.

use std::time::Duration;

use anyhow::Context;
use espresso_core::protocol::{ErrorCode, Role, ShopId};
use espresso_tests::{
    Browser, STEP_DEADLINE, TestServer, axe, by, set_viewport, sign_in_on_page, wait_for,
};
use fantoccini::Client as WebDriver;

const LAPTOP: (u32, u32) = (1280, 800);
const PHONE: (u32, u32) = (390, 844);
const OWNER: &str = "owner@espresso.test";

/// The barista app at `shop` with the owner (an admin) signed in, the console open.
async fn console(server: &TestServer, shop: &str, size: (u32, u32)) -> anyhow::Result<Browser> {
    let browser = Browser::start(size.0, size.1).await?;
    let driver = &browser.driver;
    driver
        .goto(&format!("{}/barista?shop={shop}", server.url()))
        .await?;
    sign_in_on_page(driver, server, OWNER).await?;
    by::press_button(driver, "Console").await?;
    by::tab(driver, "Shop").await?;
    Ok(browser)
}

/// The owner's roles as the server has them.
async fn api_admin_roles(server: &TestServer) -> anyhow::Result<Vec<Role>> {
    let store = server.store()?;
    let user = store
        .user_by_email(OWNER)
        .await?
        .context("the owner has an account")?;
    Ok(user.roles)
}

async fn open_tab(driver: &WebDriver, name: &str) -> anyhow::Result<()> {
    by::press(driver, by::tab(driver, name).await?).await?;
    by::heading(driver, name).await?;
    Ok(())
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn an_owner_sets_up_an_event_shop_from_the_console_alone() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.grant(OWNER, &[Role::Admin]).await?;
    // What the test checks with (a barista: the owner is the only admin).
    let api = server
        .sign_in("checker@espresso.test", &[Role::Barista])
        .await?;
    let browser = console(&server, "main", LAPTOP).await?;
    let driver = &browser.driver;
    browser.screenshot("console-1-shop-1280x800").await?;
    axe::check(driver, "console-1-shop-1280x800").await?;

    // A new shop for tomorrow's event: its id follows the name.
    by::type_into(driver, "New shop's name", "Expo Booth").await?;
    let id = by::field(driver, "Its id in links").await?;
    wait_for("the id to follow the name", STEP_DEADLINE, || async {
        Ok((id.prop("value").await?.as_deref() == Some("expo-booth")).then_some(()))
    })
    .await?;
    // Its time zone (the event is in Las Vegas): a wrong one is refused and nothing is made.
    by::type_into(driver, "Its time zone", "America/Las_Vegas").await?;
    by::press_button(driver, "Create the shop").await?;
    by::status(driver, "unknown time zone").await?;
    let refused = api
        .shop(&ShopId::new("expo-booth"))
        .await
        .expect_err("no shop yet");
    assert_eq!(refused.code(), Some(&ErrorCode::NotFound));
    by::type_into(driver, "Its time zone", "America/Los_Angeles").await?;
    by::press_button(driver, "Create the shop").await?;
    by::status(driver, "Expo Booth is ready").await?;
    let created = api.shop(&ShopId::new("expo-booth")).await?;
    assert_eq!(created.name, "Expo Booth");
    assert_eq!(created.time_zone, "America/Los_Angeles");
    assert!(!created.open, "a new shop starts closed");

    // Its console is one link away.
    by::press(driver, by::link(driver, "Set up Expo Booth").await?).await?;
    wait_for("the console of the new shop", STEP_DEADLINE, || async {
        Ok(driver
            .current_url()
            .await?
            .as_str()
            .contains("shop=expo-booth")
            .then_some(()))
    })
    .await?;
    by::tab(driver, "Shop").await?;
    // Its form shows its name and time zone (as soon as the shop is loaded).
    wait_for(
        "the shop's time zone in its form",
        STEP_DEADLINE,
        || async {
            let zone = by::field(driver, "Time zone").await?;
            Ok((zone.prop("value").await?.as_deref() == Some("America/Los_Angeles")).then_some(()))
        },
    )
    .await?;

    // Limits: a wrong value is named and nothing changes; a right one applies at once.
    by::type_into(driver, "Orders in the queue at most", "0").await?;
    by::press_button(driver, "Save the limits").await?;
    by::text(driver, "A whole number: 1 or more.").await?;
    assert_eq!(
        api.shop(&ShopId::new("expo-booth")).await?.limits.max_queue,
        20
    );
    by::type_into(driver, "Orders in the queue at most", "40").await?;
    by::type_into(driver, "Orders per customer per day", "3").await?;
    by::type_into(driver, "Drinks per booth code", "100").await?;
    by::press_button(driver, "Save the limits").await?;
    by::status(driver, "Saved").await?;
    // A ready drink nobody collects leaves the board after 20 minutes.
    by::type_into(
        driver,
        "Ready but not collected: off the board after (minutes)",
        "20",
    )
    .await?;
    by::press_button(driver, "Save the limits").await?;
    wait_for("the ready expiry to be saved", STEP_DEADLINE, || async {
        let limits = api.shop(&ShopId::new("expo-booth")).await?.limits;
        Ok((limits.ready_expiry_s == 1_200).then_some(()))
    })
    .await?;
    by::status(driver, "Saved").await?;
    let limits = api.shop(&ShopId::new("expo-booth")).await?.limits;
    assert_eq!(
        (
            limits.max_queue,
            limits.max_orders_per_day,
            limits.drinks_per_code
        ),
        (40, 3, 100)
    );
    // What the limits let through, in words, follows.
    by::text(driver, "up to 1200 people an hour").await?;
    by::text(driver, "3 times a day").await?;
    browser.screenshot("console-2-limits-1280x800").await?;
    axe::check(driver, "console-2-limits-1280x800").await?;

    // The menu: a new drink with a required option group.
    open_tab(driver, "Menu").await?;
    by::press_button(driver, "Add a drink").await?;
    by::type_into(driver, "Drink name", "Chai Latte").await?;
    by::press_button(driver, "Add an option group").await?;
    by::type_into(driver, "Group name", "Milk").await?;
    by::type_into(driver, "Its options, with commas", "Whole, Oat").await?;
    by::press(driver, by::field(driver, "Must choose").await?).await?;
    browser.screenshot("console-3-menu-editor-1280x800").await?;
    axe::check(driver, "console-3-menu-editor-1280x800").await?;
    by::press_button(driver, "Add to the menu").await?;
    by::status(driver, "Chai Latte is on the menu").await?;
    let shop = api.shop(&ShopId::new("expo-booth")).await?;
    let chai = shop
        .item("chai_latte")
        .expect("the new drink is on the menu");
    let milk = chai.modifier("milk").expect("with its milk group");
    assert!(milk.required);
    assert_eq!(milk.options, ["Whole", "Oat"]);
    assert_eq!(shop.menu.last().map(|i| i.id.as_str()), Some("chai_latte"));

    // A customer at the booth chooses it; when the oat milk runs out, her menu shows it at
    // once, greyed, without a reload.
    api.set_shop_open(&ShopId::new("expo-booth"), true).await?;
    let phone = Browser::start(PHONE.0, PHONE.1).await?;
    let customer_page = &phone.driver;
    customer_page
        .goto(&api.booth_code(&ShopId::new("expo-booth")).await?.order_url)
        .await?;
    sign_in_on_page(customer_page, &server, "ana@example.com").await?;
    by::press_button(customer_page, "Skip").await?;
    by::press_button(customer_page, "Chai Latte").await?;
    let oat = by::button(customer_page, "Oat").await?;
    assert!(oat.is_enabled().await?, "oat milk is there to begin with");
    by::press(driver, by::field(driver, "Oat for Chai Latte").await?).await?;
    wait_for("the customer's Oat to be out", STEP_DEADLINE, || async {
        let oat = by::button(customer_page, "Oat · out").await?;
        Ok((!oat.is_enabled().await?).then_some(()))
    })
    .await?;
    phone.screenshot("console-customer-oat-out-390x844").await?;
    axe::check(&phone.driver, "customer menu, oat milk out").await?;
    let milk = api.shop(&ShopId::new("expo-booth")).await?;
    let milk = milk
        .item("chai_latte")
        .and_then(|i| i.modifier("milk"))
        .cloned();
    assert_eq!(milk.map(|m| m.unavailable), Some(vec!["Oat".to_owned()]));
    by::press_button(customer_page, "Whole").await?;
    by::press_button(customer_page, "Order now").await?;
    by::text(customer_page, "#1").await?;

    // It moves up the menu, and runs out (86) and comes back.
    by::press_button(driver, "Move Chai Latte up").await?;
    by::status(driver, "Chai Latte moved up").await?;
    let order: Vec<String> = api
        .shop(&ShopId::new("expo-booth"))
        .await?
        .menu
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(order[order.len() - 2], "chai_latte");
    by::press_button(driver, "86 Chai Latte").await?;
    by::button(driver, "Bring back Chai Latte").await?;
    let chai = api.shop(&ShopId::new("expo-booth")).await?;
    assert!(!chai.item("chai_latte").is_some_and(|i| i.available));
    browser.screenshot("console-4-menu-1280x800").await?;
    axe::check(driver, "console-4-menu-1280x800").await?;

    // Staff: the owner invites a barista by email; the invitation's link signs Sam in on the
    // tablet (no code to type), and Sam makes the order.
    open_tab(driver, "Staff").await?;
    by::type_into(driver, "Their email", "sam@espresso.test").await?;
    by::press_button(driver, "Invite").await?;
    by::status(driver, "Invitation sent to sam@espresso.test").await?;
    let sam_box = by::field(driver, "Barista: sam@espresso.test").await?;
    assert!(sam_box.is_selected().await?);
    browser.screenshot("console-6-staff-1280x800").await?;
    axe::check(driver, "console-6-staff-1280x800").await?;
    let link = server.mailed_link("sam@espresso.test", "signin=").await?;
    assert!(link.contains("/barista?shop=expo-booth&signin="), "{link}");
    let tablet = Browser::start(LAPTOP.0, LAPTOP.1).await?;
    let bar = &tablet.driver;
    bar.goto(&link).await?;
    by::labelled(bar, "Order 1, Chai Latte").await?;
    assert!(
        !bar.current_url().await?.as_str().contains("signin="),
        "the link leaves the address once used"
    );
    by::press_button(bar, "Make").await?;
    by::press_button(bar, "Done").await?;
    by::heading(customer_page, "Ready! Pick it up at the bar").await?;
    tablet.close().await?;
    phone.close().await?;
    // The link worked once: opened again (a forwarded mail), it says so and offers the code.
    let forwarded = Browser::start(PHONE.0, PHONE.1).await?;
    forwarded.driver.goto(&link).await?;
    by::status(&forwarded.driver, "expired or was used already").await?;
    by::field(&forwarded.driver, "Email").await?;
    axe::check(&forwarded.driver, "sign-in link used already").await?;
    forwarded.close().await?;

    // The last admin cannot take away their own admin role: the list says why, nothing changes.
    by::press(
        driver,
        by::field(driver, "Admin: owner@espresso.test").await?,
    )
    .await?;
    by::status(driver, "last admin").await?;
    let staff = api_admin_roles(&server).await?;
    assert!(staff.contains(&Role::Admin), "the owner is still an admin");
    // Taking a role away works (Sam is no longer a barista).
    by::press(
        driver,
        by::field(driver, "Barista: sam@espresso.test").await?,
    )
    .await?;
    by::status(driver, "sam@espresso.test is no longer a barista").await?;

    // The booth code: replaced now, the old one refused at once.
    let old = api.booth_code(&ShopId::new("expo-booth")).await?.code;
    open_tab(driver, "Shop").await?;
    by::press_button(driver, "New booth code now").await?;
    by::press_button(driver, "Replace the code").await?;
    by::status(driver, "The old one no longer works").await?;
    let new = api.booth_code(&ShopId::new("expo-booth")).await?.code;
    assert_ne!(new, old);
    by::text(driver, &new).await?;
    let customer = server.sign_in("bo@example.com", &[]).await?;
    let refused = customer
        .start_order(&ShopId::new("expo-booth"), &old, None)
        .await
        .expect_err("the replaced code is refused");
    assert_eq!(refused.code(), Some(&ErrorCode::CodeExpired));

    // The numbers, live: Ana's chai is ready, not yet handed over.
    open_tab(driver, "Numbers").await?;
    by::labelled(driver, "Chai Latte: 0 served").await?;
    browser.screenshot("console-5-numbers-1280x800").await?;
    axe::check(driver, "console-5-numbers-1280x800").await?;

    // The day's orders as a spreadsheet: one row per order, matching what happened.
    by::press_button(driver, "Download orders (CSV)").await?;
    by::status(driver, "1 order.").await?;
    let downloads = browser.downloads();
    let csv = wait_for("the CSV in the downloads", STEP_DEADLINE, || async {
        let Ok(entries) = std::fs::read_dir(&downloads) else {
            return Ok(None);
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "csv") {
                return Ok(Some(std::fs::read_to_string(path)?));
            }
        }
        Ok(None)
    })
    .await?;
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 2, "a header and Ana's order: {csv}");
    let header: Vec<&str> = rows[0].split(',').collect();
    let row: Vec<&str> = rows[1].split(',').collect();
    let cell = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .and_then(|i| row.get(i).copied())
            .unwrap_or_default()
    };
    assert_eq!(cell("number"), "1", "{csv}");
    assert_eq!(cell("state"), "ready", "{csv}");
    assert!(csv.contains("Chai Latte"), "{csv}");

    // The numbers of the range, drawn: one order today, the hour it came in.
    by::press_button(driver, "Show the numbers").await?;
    by::labelled(driver, "Chai Latte: 1 ordered, 0 served").await?;
    by::text(driver, "Orders by hour: busiest").await?;
    let report = by::xpath(
        driver,
        "the report's heading",
        "//h4[contains(., 'America/Los_Angeles')]",
    )
    .await?;
    by::show(driver, &report).await?;
    browser.screenshot("console-7-report-1280x800").await?;
    axe::check(driver, "console-7-report-1280x800").await?;
    by::press_button(driver, "Download daily summary (CSV)").await?;
    by::status(driver, "1 day.").await?;

    // The event is over: archived, it leaves the shop list; the picker goes back to the main
    // shop's console.
    open_tab(driver, "Shop").await?;
    by::press_button(driver, "Archive this shop (the event is over)").await?;
    by::press_button(driver, "Archive the shop").await?;
    by::status(driver, "Expo Booth is archived").await?;
    let archived = api.shop(&ShopId::new("expo-booth")).await?;
    assert!(archived.archived && !archived.open, "archived and closed");
    let listed = api.shops(false).await?;
    assert!(listed.iter().all(|s| s.id != "expo-booth"), "{listed:?}");
    by::field(driver, "Shop")
        .await?
        .select_by_value("main")
        .await?;
    wait_for("the main shop's console", STEP_DEADLINE, || async {
        let url = driver.current_url().await?;
        Ok(
            (url.as_str().contains("shop=main") && url.as_str().contains("view=console"))
                .then_some(()),
        )
    })
    .await?;
    by::tab(driver, "Shop").await?;

    browser.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn the_console_fits_a_phone_and_is_only_for_admins() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.grant(OWNER, &[Role::Admin]).await?;
    let browser = console(&server, "main", PHONE).await?;
    let driver = &browser.driver;
    // The robot switch: demo orders on for an unattended booth, and off again.
    by::press_button(driver, "Demo orders").await?;
    by::status(driver, "Demo orders are coming in").await?;
    let admin_api = server
        .sign_in("owner2@espresso.test", &[Role::Admin])
        .await?;
    assert!(
        admin_api.demo(&ShopId::main()).await?.running,
        "the demo runs"
    );
    by::press_button(driver, "Demo orders").await?;
    by::status(driver, "Demo orders stopped").await?;
    assert!(
        !admin_api.demo(&ShopId::main()).await?.running,
        "the demo stopped"
    );
    for (tab, shot) in [
        ("Shop", "console-phone-1-shop-390x844"),
        ("Menu", "console-phone-2-menu-390x844"),
        ("Staff", "console-phone-3-staff-390x844"),
        ("Numbers", "console-phone-4-numbers-390x844"),
    ] {
        open_tab(driver, tab).await?;
        browser.screenshot(shot).await?;
        axe::check(driver, shot).await?;
        nothing_scrolls_sideways(driver, tab).await?;
    }
    browser.close().await?;

    // A barista gets the bar, not the console.
    let barista = Browser::start(LAPTOP.0, LAPTOP.1).await?;
    let driver = &barista.driver;
    server.grant("sam@espresso.test", &[Role::Barista]).await?;
    driver
        .goto(&format!("{}/barista?shop=main&view=console", server.url()))
        .await?;
    sign_in_on_page(driver, &server, "sam@espresso.test").await?;
    by::labelled(driver, "Queue").await?;
    axe::check(driver, "barista queue, asked for the console").await?;
    let console_buttons = driver
        .find_all(fantoccini::Locator::XPath(
            "//button[normalize-space()='Console']",
        ))
        .await?;
    assert!(
        console_buttons.is_empty(),
        "a barista is offered the console"
    );
    barista.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn the_console_in_portuguese() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.grant(OWNER, &[Role::Admin]).await?;
    let api = server
        .sign_in("checker@espresso.test", &[Role::Barista])
        .await?;
    // A laptop set to Brazilian Portuguese: the console speaks it as the bar does.
    let browser = Browser::start_in_language(LAPTOP.0, LAPTOP.1, "pt-BR").await?;
    let driver = &browser.driver;
    driver
        .goto(&format!("{}/barista?shop=main", server.url()))
        .await?;
    by::heading(driver, "Entrada do barista").await?;
    sign_in_on_page(driver, &server, OWNER).await?;
    by::press_button(driver, "Painel").await?;
    by::tab(driver, "Loja").await?;
    by::heading(driver, "Loja").await?;
    by::field(driver, "Nome da loja").await?;
    by::field(driver, "Fuso horário").await?;
    by::text(driver, "pessoas por hora").await?;
    browser.screenshot("console-pt-1-shop-1280x800").await?;
    axe::check(driver, "console-pt-1-shop-1280x800").await?;

    // A wrong limit is named in Portuguese and nothing changes.
    by::type_into(driver, "Pedidos na fila, no máximo", "0").await?;
    by::press_button(driver, "Salvar os limites").await?;
    by::text(driver, "Um número inteiro: 1 ou mais.").await?;
    by::show(driver, &by::heading(driver, "Limites").await?).await?;
    browser.screenshot("console-pt-1-limits-1280x800").await?;
    axe::check(driver, "console-pt-1-limits-1280x800").await?;
    by::status(driver, "Não foi salvo").await?;
    assert_eq!(api.shop(&ShopId::main()).await?.limits.max_queue, 20);
    by::press_button(driver, "Desfazer as mudanças").await?;

    // The menu: the owner adds almond milk to the Flat White.
    open_tab(driver, "Cardápio").await?;
    by::labelled(driver, "Bebidas no cardápio").await?;
    let edit = by::xpath(
        driver,
        "the Flat White's Editar button",
        "//li[@aria-label='Flat White']//button[normalize-space()='Editar']",
    )
    .await?;
    by::press(driver, edit).await?;
    by::heading(driver, "Editar Flat White").await?;
    by::field(driver, "Nome da bebida").await?;
    by::type_into(
        driver,
        "Opções, separadas por vírgulas",
        "Regular, Oat, Almond",
    )
    .await?;
    browser
        .screenshot("console-pt-2-menu-editor-1280x800")
        .await?;
    axe::check(driver, "console-pt-2-menu-editor-1280x800").await?;
    by::press_button(driver, "Salvar a bebida").await?;
    by::status(driver, "Bebida salva: Flat White.").await?;
    let shop = api.shop(&ShopId::main()).await?;
    let milk = shop.item("flat_white").and_then(|i| i.modifier("milk"));
    assert_eq!(
        milk.map(|m| m.options.clone()),
        Some(vec!["Regular".into(), "Oat".into(), "Almond".into()])
    );
    by::button(driver, "Tirar Flat White").await?;
    browser.screenshot("console-pt-3-menu-1280x800").await?;
    axe::check(driver, "console-pt-3-menu-1280x800").await?;

    // Staff: an invitation from a Portuguese console goes out in Portuguese.
    open_tab(driver, "Equipe").await?;
    by::type_into(driver, "E-mail da pessoa", "sam@espresso.test").await?;
    by::press_button(driver, "Convidar").await?;
    by::status(driver, "Convite enviado para sam@espresso.test").await?;
    let sam = by::field(driver, "Barista: sam@espresso.test").await?;
    assert!(sam.is_selected().await?);
    server.mailed_link("sam@espresso.test", "signin=").await?;
    let mail = std::fs::read_to_string(
        server
            .mails_to("sam@espresso.test")
            .first()
            .context("the invitation")?,
    )?;
    assert!(
        mail.contains("Subject: Você faz parte da equipe de Espresso\r\n"),
        "{mail}"
    );
    browser.screenshot("console-pt-4-staff-1280x800").await?;
    axe::check(driver, "console-pt-4-staff-1280x800").await?;

    // The numbers: today's, and a report of the day with its counts in words.
    open_tab(driver, "Números").await?;
    by::labelled(driver, "Flat White: 0 servidos").await?;
    by::press_button(driver, "Mostrar os números").await?;
    by::text(driver, "Pedidos por hora: nenhum neste período.").await?;
    browser.screenshot("console-pt-5-numbers-1280x800").await?;
    axe::check(driver, "console-pt-5-numbers-1280x800").await?;
    // The spreadsheet of the day's orders (none yet), said in Portuguese.
    by::press_button(driver, "Baixar os pedidos (CSV)").await?;
    by::status(driver, "0 pedidos.").await?;
    by::show(driver, &by::heading(driver, "Relatórios").await?).await?;
    browser.screenshot("console-pt-6-report-1280x800").await?;

    // The bar's language switch: the console follows it, and back.
    by::press_button(driver, "English").await?;
    by::tab(driver, "Numbers").await?;
    by::press_button(driver, "Português").await?;
    by::tab(driver, "Números").await?;

    // On a phone, the longer words still fit: the four tabs in one row without scrolling it,
    // and nothing in a tab wider than the phone.
    set_viewport(driver, PHONE.0, PHONE.1).await?;
    let hidden_tabs: serde_json::Value = driver
        .execute(
            r#"const tabs = document.querySelector('[role="tablist"]');
               return tabs.scrollWidth - tabs.clientWidth;"#,
            vec![],
        )
        .await?;
    assert!(
        hidden_tabs.as_f64().is_some_and(|px| px <= 1.0),
        "the tabs scroll sideways on a phone by {hidden_tabs} px"
    );
    for (tab, shot) in [
        ("Loja", "console-pt-phone-1-shop-390x844"),
        ("Cardápio", "console-pt-phone-2-menu-390x844"),
        ("Equipe", "console-pt-phone-3-staff-390x844"),
        ("Números", "console-pt-phone-4-numbers-390x844"),
    ] {
        open_tab(driver, tab).await?;
        browser.screenshot(shot).await?;
        axe::check(driver, shot).await?;
        nothing_scrolls_sideways(driver, tab).await?;
    }

    browser.close().await?;
    server.stop().await
}

/// Nothing wider than the phone: neither the page nor anything in the open tab's panel (a
/// table that scrolls inside its card is as awkward as a page that does). Measured once the tab
/// has settled (its lists load after it opens): a box still too wide after a few seconds is one
/// a person would scroll.
async fn nothing_scrolls_sideways(driver: &WebDriver, tab: &str) -> anyhow::Result<()> {
    let settled = std::time::Instant::now() + Duration::from_secs(5);
    let wide = loop {
        let wide: Vec<String> =
            serde_json::from_value(driver.execute(SIDEWAYS_SCROLLERS, vec![]).await?)?;
        if wide.is_empty() || std::time::Instant::now() > settled {
            break wide;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        wide.is_empty(),
        "the {tab} tab scrolls sideways on a phone: {wide:?}"
    );
    Ok(())
}

/// What a person would have to scroll sideways on this screen: the page itself, and every box
/// of the open tab panel that is wider than the space it has or reaches past the panel's room
/// (form fields scroll their own text, so only their edge counts). Each as its tag and the
/// start of its text.
const SIDEWAYS_SCROLLERS: &str = r#"
    const wide = [];
    if (document.documentElement.scrollWidth > innerWidth) wide.push("the page");
    const panel = document.querySelector('[role="tabpanel"]');
    if (!panel) return ["no tab panel"];
    // The panel's own room: its box less the scroll bar a long tab puts beside it, and less
    // its right padding (a card that runs into the padding touches the scroll bar).
    const room = panel.getBoundingClientRect().left + panel.clientLeft + panel.clientWidth
        - parseFloat(getComputedStyle(panel).paddingRight);
    for (const el of [panel, ...panel.querySelectorAll("*")]) {
        const right = el.getBoundingClientRect().right;
        const beyond = right > innerWidth + 1 || (el !== panel && right > room + 1);
        const field = ["INPUT", "TEXTAREA", "SELECT", "OPTION"].includes(el.tagName);
        const scrolls = !field && el.scrollWidth > el.clientWidth + 1
            && getComputedStyle(el).overflowX !== "visible";
        if (beyond || scrolls) {
            wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + " (" + el.scrollWidth + " in " + el.clientWidth
                + ", right edge " + Math.round(el.getBoundingClientRect().right) + " of " + innerWidth
                + "): " + (el.textContent || "").trim().slice(0, 40));
        }
    }
    return wide;
"#;
