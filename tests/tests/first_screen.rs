//! The first screen comes with the page: a phone on a slow network shows the sign-in screen (its
//! heading, the email field, the "Send me a code" button) from the page's own HTML, before the
//! app's script and wasm arrive; what the person typed or pressed meanwhile survives the app
//! taking over. Headless Chromium with the app's wasm blocked through the DevTools protocol
//! (`Network.setBlockedURLs`), then let through and started as `boot.js` starts it.

use espresso_tests::{Browser, ChromiumCommand, STEP_DEADLINE, TestServer, axe, by, wait_for};
use fantoccini::Client as WebDriver;
use serde_json::json;

const PHONE: (u32, u32) = (390, 844);
const TABLET: (u32, u32) = (1280, 800);
const BOOTH: (u32, u32) = (1920, 1080);

/// The apps' wasm (both builds): blocked, the page has only its own HTML.
const WASM: [&str; 2] = ["*app-customer_bg.wasm*", "*app-staff_bg.wasm*"];

/// Block (or, with `[]`, let through again) requests whose URL matches `patterns`.
async fn block(driver: &WebDriver, patterns: &[&str]) -> anyhow::Result<()> {
    driver
        .issue_cmd(ChromiumCommand::cdp("Network.enable", json!({})))
        .await?;
    driver
        .issue_cmd(ChromiumCommand::cdp(
            "Network.setBlockedURLs",
            json!({ "urls": patterns }),
        ))
        .await?;
    Ok(())
}

/// The app has not started (boot.js failed on the blocked wasm).
async fn app_not_started(driver: &WebDriver) -> anyhow::Result<bool> {
    // Only the app draws the banner area (offline, new version), on every screen.
    let banners = driver
        .execute(
            "return document.querySelectorAll('[role=status][aria-live]').length;",
            vec![],
        )
        .await?;
    Ok(banners.as_u64() == Some(0))
}

/// Start the app as boot.js does, now that its wasm may come (the first try failed on it).
async fn start_app(driver: &WebDriver, build: &str) -> anyhow::Result<()> {
    driver
        .execute_async(
            &format!(
                "const done = arguments[arguments.length - 1];
                 import('/app-{build}.js')
                   .then((m) => m.default({{ module_or_path: '/app-{build}_bg.wasm' }}))
                   .then(() => done(null), (e) => done(String(e)));"
            ),
            vec![],
        )
        .await?;
    Ok(())
}

/// The shape of the screen a person sees: each element's tag, role-bearing attributes, classes
/// and own text, depth-first (comments, scripts and the pre-render's marker left out). The
/// pre-rendered screen and the app's own must read the same.
async fn shape(driver: &WebDriver) -> anyhow::Result<String> {
    let shape = driver
        .execute(
            r#"const keep = ['class', 'id', 'role', 'type', 'name', 'autocomplete', 'inputmode',
                             'required', 'placeholder', 'lang', 'tabindex', 'aria-labelledby',
                             'aria-live', 'aria-hidden', 'aria-busy', 'viewBox', 'd'];
               const walk = (node) => {
                 if (node.nodeType === Node.TEXT_NODE) {
                   const text = node.textContent.trim();
                   return text ? JSON.stringify(text) : '';
                 }
                 if (node.nodeType !== Node.ELEMENT_NODE) return '';
                 const attrs = keep.filter((a) => node.hasAttribute(a))
                   .map((a) => a + '=' + (a === 'class'
                     // the booth screen's idle cursor is a state, not the screen
                     ? node.getAttribute(a).split(/\s+/).filter((c) => c && c !== 'display-idle').join(' ')
                     : node.getAttribute(a))).join(' ');
                 const inner = [...node.childNodes].map(walk).filter(Boolean).join('');
                 return '<' + node.tagName.toLowerCase() + (attrs ? ' ' + attrs : '') + '>' + inner + '</>';
               };
               const mains = [...document.querySelectorAll('main')]
                 .filter((m) => getComputedStyle(m).display !== 'none');
               return mains.map(walk).join('\n');"#,
            vec![],
        )
        .await?;
    Ok(shape.as_str().unwrap_or_default().to_owned())
}

/// One app's first screen from the page alone, then the same screen drawn by the app.
struct App {
    path: &'static str,
    build: &'static str,
    size: (u32, u32),
    name: &'static str,
}

const CUSTOMER: App = App {
    path: "/order?shop=main",
    build: "customer",
    size: PHONE,
    name: "customer",
};

async fn first_screen_without_the_app(
    server: &TestServer,
    app: &App,
    lang: &str,
    heading: &str,
    label: &str,
    button: &str,
) -> anyhow::Result<()> {
    let browser = Browser::start(app.size.0, app.size.1).await?;
    let driver = &browser.driver;
    block(driver, &WASM).await?;
    driver
        .goto(&format!("{}{}&lang={lang}", server.url(), app.path))
        .await?;
    // Given the app cannot start (its wasm does not come),
    // then the page shows the sign-in screen: heading, email field, button.
    by::heading(driver, heading).await?;
    by::field(driver, label).await?;
    by::button(driver, button).await?;
    assert!(app_not_started(driver).await?, "the app started after all");
    let (w, h) = app.size;
    browser
        .screenshot(&format!("first-screen-{}-{lang}-page-{w}x{h}", app.name))
        .await?;
    axe::check(
        driver,
        &format!("the {} page's first screen ({lang})", app.name),
    )
    .await?;
    let before = shape(driver).await?;
    assert!(
        before.contains(heading) && before.contains(button),
        "{before}"
    );

    // When the app arrives, it draws the same screen (no jump).
    block(driver, &[]).await?;
    start_app(driver, app.build).await?;
    wait_for("the app's banner area", STEP_DEADLINE, || async {
        Ok((!app_not_started(driver).await?).then_some(()))
    })
    .await?;
    by::heading(driver, heading).await?;
    let after = shape(driver).await?;
    browser
        .screenshot(&format!("first-screen-{}-{lang}-app-{w}x{h}", app.name))
        .await?;
    assert_eq!(
        before, after,
        "the pre-rendered screen and the app's differ"
    );
    browser.close().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn the_customers_sign_in_screen_comes_with_the_page_in_both_languages() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    first_screen_without_the_app(
        &server,
        &CUSTOMER,
        "en",
        "Sign in to order",
        "Email",
        "Send me a code",
    )
    .await?;
    first_screen_without_the_app(
        &server,
        &CUSTOMER,
        "pt",
        "Entre para pedir",
        "E-mail",
        "Enviar código",
    )
    .await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn the_staff_screens_come_with_the_page() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let barista = App {
        path: "/barista?shop=main",
        build: "staff",
        size: TABLET,
        name: "barista",
    };
    first_screen_without_the_app(
        &server,
        &barista,
        "en",
        "Barista sign-in",
        "Email",
        "Send me a code",
    )
    .await?;
    let display = App {
        path: "/display?shop=main",
        build: "staff",
        size: BOOTH,
        name: "display",
    };
    first_screen_without_the_app(
        &server,
        &display,
        "pt",
        "Tela do balcão",
        "E-mail",
        "Enviar código",
    )
    .await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn what_a_person_typed_and_pressed_before_the_app_came_is_kept() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let browser = Browser::start(PHONE.0, PHONE.1).await?;
    let driver = &browser.driver;
    block(driver, &WASM).await?;
    driver
        .goto(&format!("{}/order?shop=main&lang=en", server.url()))
        .await?;

    // Given a person typed her email on the page before the app came,
    by::type_into(driver, "Email", "early@example.com").await?;
    // when the app arrives,
    block(driver, &[]).await?;
    start_app(driver, "customer").await?;
    wait_for("the app", STEP_DEADLINE, || async {
        Ok((!app_not_started(driver).await?).then_some(()))
    })
    .await?;
    // then the field still holds it, and she carries on typing where she was.
    let field = by::field(driver, "Email").await?;
    assert_eq!(
        field.prop("value").await?.as_deref(),
        Some("early@example.com")
    );
    by::focus_on(driver, "Email").await?;
    by::keys(driver, ".br").await?;
    assert_eq!(
        field.prop("value").await?.as_deref(),
        Some("early@example.com.br")
    );
    browser.close().await?;

    // Given another person pressed "Send me a code" before the app came,
    let browser = Browser::start(PHONE.0, PHONE.1).await?;
    let driver = &browser.driver;
    block(driver, &WASM).await?;
    driver
        .goto(&format!("{}/order?shop=main&lang=en", server.url()))
        .await?;
    by::type_into(driver, "Email", "quick@example.com").await?;
    by::press_button(driver, "Send me a code").await?;
    // the button says it is on it (the page itself cannot send),
    let sending = by::button(driver, "Sending…").await?;
    assert!(
        !sending.is_enabled().await?,
        "pressed twice would send twice"
    );
    browser
        .screenshot("first-screen-customer-pressed-before-the-app-390x844")
        .await?;
    // and when the app arrives, the code is sent: the mail comes and the code field shows.
    block(driver, &[]).await?;
    start_app(driver, "customer").await?;
    server.code_after("quick@example.com", 0).await?;
    by::field(driver, "Code from the email").await?;
    by::text(driver, "quick@example.com").await?;
    browser.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn a_signed_in_phone_or_a_booth_link_never_flashes_the_sign_in() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let browser = Browser::start(PHONE.0, PHONE.1).await?;
    let driver = &browser.driver;
    block(driver, &WASM).await?;
    // The page of a booth's QR link shows "Loading…", not the sign-in form (the app checks the
    // code first).
    driver
        .goto(&format!(
            "{}/order?shop=main&code=ABC123&lang=en",
            server.url()
        ))
        .await?;
    by::text(driver, "Loading…").await?;
    assert!(
        !by::field_shown(driver, "Email").await?,
        "a booth link showed the sign-in"
    );
    // A phone signed in already (its session kept in this browser) neither.
    driver
        .execute(
            "localStorage.setItem('espresso.session.customer', '{}');",
            vec![],
        )
        .await?;
    driver
        .goto(&format!("{}/order?shop=main&lang=en", server.url()))
        .await?;
    by::text(driver, "Loading…").await?;
    assert!(
        !by::field_shown(driver, "Email").await?,
        "a signed-in phone showed the sign-in"
    );
    browser.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn the_language_switch_works_before_the_app_came_and_the_app_keeps_the_choice()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let browser = Browser::start(PHONE.0, PHONE.1).await?;
    let driver = &browser.driver;
    block(driver, &WASM).await?;
    driver
        .goto(&format!("{}/order?shop=main", server.url()))
        .await?;
    // Given an English page whose app has not come, with an email typed,
    by::heading(driver, "Sign in to order").await?;
    by::type_into(driver, "Email", "ana@example.com").await?;
    // when the person switches to Portuguese,
    by::press_button(driver, "Português").await?;
    // then the page speaks it at once, the email still there,
    by::heading(driver, "Entre para pedir").await?;
    let field = by::field(driver, "E-mail").await?;
    assert_eq!(
        field.prop("value").await?.as_deref(),
        Some("ana@example.com")
    );
    by::button(driver, "Enviar código").await?;
    axe::check(
        driver,
        "the customer page's first screen, switched to Portuguese",
    )
    .await?;
    // and the app, when it comes, keeps the choice.
    block(driver, &[]).await?;
    start_app(driver, "customer").await?;
    wait_for("the app", STEP_DEADLINE, || async {
        Ok((!app_not_started(driver).await?).then_some(()))
    })
    .await?;
    by::heading(driver, "Entre para pedir").await?;
    let field = by::field(driver, "E-mail").await?;
    assert_eq!(
        field.prop("value").await?.as_deref(),
        Some("ana@example.com")
    );
    browser.close().await?;
    server.stop().await
}
