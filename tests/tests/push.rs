//! Web Push in the browser: a customer who ordered taps "Tell me when it's ready", the barista
//! makes the drink, and the news arrives as a notification from the service worker.
//!
//! Headless Chromium here has no push service (its `pushManager.subscribe` needs Google's FCM),
//! so that one leg is stood in for, everything else is real:
//! - the page's `PushManager.prototype.subscribe` is replaced (DevTools
//!   `Page.addScriptToEvaluateOnNewDocument`) by one that makes a real P-256 key pair and auth
//!   secret with WebCrypto and returns a subscription to the test's own push service
//!   ([`espresso_tests::push_service`], axum on 127.0.0.1:0; the server runs with
//!   `push_to_loopback_http`); the private key stays on `window` for the test;
//! - the server pushes to that service; the test decrypts the message (RFC 8291) with the
//!   page's keys, as the browser's push service client would;
//! - the decrypted message is delivered to the page's service worker as the push service would
//!   (DevTools `ServiceWorker.deliverPushMessage`), and the notification it shows is read back
//!   (`registration.getNotifications()`).
//!
//! What this does not cover (docs/OPERATIONS.md): the real push services (FCM, Mozilla
//! autopush, Apple) and the browser's own subscribe/receive/decrypt code.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use espresso_core::protocol::{OrderState, PushMessage, Role, ShopId};
use espresso_tests::push_service::{PushService, Subscriber};
use espresso_tests::{
    Browser, ChromiumCommand, STEP_DEADLINE, TestServer, by, free_port, order_numbered, wait_for,
};
use fantoccini::Client as WebDriver;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const PHONE: (u32, u32) = (390, 844);

/// How long a delivered push may go without a notification before it is delivered again.
const REDELIVER_AFTER: Duration = Duration::from_secs(3);

/// The stand-in for the browser's push service, run in the page before the app: `subscribe`
/// makes real keys with WebCrypto and answers a subscription to `endpoint`; what it made (the
/// private key as a JWK, the auth secret, the options it was called with) is kept on
/// `window.__pushStandIn` for the test.
fn stand_in_for_the_push_service(endpoint: &str) -> String {
    let endpoint = Value::from(endpoint);
    format!(
        r#"(() => {{
  if (typeof PushManager === 'undefined') return;
  const endpoint = {endpoint};
  const b64u = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  let current = null;
  PushManager.prototype.getSubscription = async function () {{ return current; }};
  PushManager.prototype.subscribe = async function (options) {{
    const pair = await crypto.subtle.generateKey(
      {{ name: 'ECDH', namedCurve: 'P-256' }}, true, ['deriveBits']);
    const p256dh = await crypto.subtle.exportKey('raw', pair.publicKey);
    const auth = crypto.getRandomValues(new Uint8Array(16)).buffer;
    window.__pushStandIn = {{
      jwk: await crypto.subtle.exportKey('jwk', pair.privateKey),
      auth: b64u(auth),
      userVisibleOnly: Boolean(options && options.userVisibleOnly),
      applicationServerKey: options && typeof options.applicationServerKey === 'string'
        ? options.applicationServerKey
        : b64u(options.applicationServerKey),
    }};
    const keys = {{ p256dh, auth }};
    current = {{
      endpoint,
      expirationTime: null,
      options,
      getKey: (name) => keys[name] || null,
      toJSON: () => ({{ endpoint, expirationTime: null,
                        keys: {{ p256dh: b64u(p256dh), auth: b64u(auth) }} }}),
      unsubscribe: async () => {{ current = null; return true; }},
    }};
    return current;
  }};
}})();"#
    )
}

/// The keys the page's subscription was made with, once it subscribed: the decrypting side,
/// and the application server key it was given.
async fn page_subscriber(driver: &WebDriver) -> anyhow::Result<(Subscriber, String)> {
    let made = wait_for("the page to subscribe", STEP_DEADLINE, || async {
        let made = driver
            .execute("return window.__pushStandIn || null;", vec![])
            .await?;
        Ok((!made.is_null()).then_some(made))
    })
    .await?;
    assert_eq!(made["userVisibleOnly"], true, "{made}");
    let decode = |value: &Value, what: &str| {
        URL_SAFE_NO_PAD
            .decode(value.as_str().unwrap_or_default())
            .with_context(|| format!("{what} in {made}"))
    };
    let secret = decode(&made["jwk"]["d"], "the private key")?;
    let auth = decode(&made["auth"], "the auth secret")?;
    let subscriber = Subscriber::from_keys(&secret, &auth).map_err(anyhow::Error::msg)?;
    let server_key = made["applicationServerKey"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok((subscriber, server_key))
}

/// A DevTools protocol socket of its own on the page (chromedriver's `goog/cdp/execute` gives
/// no events, and the service worker's registration id comes as one).
struct DevTools {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
    events: Vec<Value>,
}

impl DevTools {
    /// The page target of the browser listening on `port` (`--remote-debugging-port`).
    async fn attach(port: u16) -> anyhow::Result<Self> {
        let targets: Vec<Value> = reqwest::get(format!("http://127.0.0.1:{port}/json/list"))
            .await?
            .json()
            .await?;
        let page = targets
            .iter()
            .find(|t| t["type"] == "page")
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .with_context(|| format!("no page among the DevTools targets {targets:?}"))?;
        let (socket, _) = tokio_tungstenite::connect_async(page).await?;
        Ok(Self {
            socket,
            next_id: 1,
            events: Vec::new(),
        })
    }

    /// The next message on the socket within the step deadline.
    async fn receive(&mut self) -> anyhow::Result<Value> {
        loop {
            let message = tokio::time::timeout(STEP_DEADLINE, self.socket.next())
                .await
                .context("nothing from DevTools within the step deadline")?
                .context("the DevTools socket closed")??;
            if let Message::Text(text) = message {
                return Ok(serde_json::from_str(text.as_str())?);
            }
        }
    }

    /// Send one command and wait for its answer, keeping the events that come meanwhile.
    async fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let command = json!({ "id": id, "method": method, "params": params });
        self.socket.send(Message::text(command.to_string())).await?;
        loop {
            let message = self.receive().await?;
            if message["id"] == id {
                if let Some(error) = message.get("error") {
                    bail!("{method}: {error}");
                }
                return Ok(message["result"].clone());
            }
            self.events.push(message);
        }
    }

    /// The first event `method` (seen already or coming) whose params `fits`.
    async fn event(
        &mut self,
        method: &str,
        fits: impl Fn(&Value) -> Option<Value>,
    ) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + STEP_DEADLINE;
        let mut seen = std::mem::take(&mut self.events).into_iter();
        loop {
            let message = match seen.next() {
                Some(message) => message,
                None => {
                    if tokio::time::Instant::now() > deadline {
                        bail!("no {method} event that fits within the step deadline");
                    }
                    self.receive().await?
                }
            };
            if message["method"] == method
                && let Some(found) = fits(&message["params"])
            {
                return Ok(found);
            }
        }
    }
}

/// The notifications the page's service worker shows, as `{title, body, tag, url}`.
async fn notifications(driver: &WebDriver) -> anyhow::Result<Vec<Value>> {
    let shown = driver
        .execute_async(
            "const done = arguments[arguments.length - 1];
             navigator.serviceWorker.ready
               .then((registration) => registration.getNotifications())
               .then((list) => done(list.map((n) => ({
                 title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url }))),
                     (e) => done({ error: String(e) }));",
            vec![],
        )
        .await?;
    if let Some(error) = shown.get("error") {
        bail!("getNotifications: {error}");
    }
    Ok(serde_json::from_value(shown)?)
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn a_customer_who_asked_is_told_by_a_push_notification_that_the_order_is_ready()
-> anyhow::Result<()> {
    let server = TestServer::start_with(|config| config.push_to_loopback_http = true).await?;
    let mut push_service = PushService::start().await?;
    let admin = server.open_shop().await?;
    let barista = server
        .sign_in("barista@espresso.test", &[Role::Barista])
        .await?;
    let booth = admin.booth_code(&ShopId::main()).await?;

    // A phone whose browser lets the shop notify (as after the person said yes to the
    // browser's prompt) and whose push service is the test's.
    let devtools_port = free_port()?;
    let browser = Browser::start_with(
        PHONE.0,
        PHONE.1,
        &[&format!("--remote-debugging-port={devtools_port}")],
    )
    .await?;
    let driver = &browser.driver;
    driver
        .issue_cmd(ChromiumCommand::cdp(
            "Browser.grantPermissions",
            json!({ "permissions": ["notifications"], "origin": server.url() }),
        ))
        .await?;
    let endpoint = format!("{}/push/phone", push_service.url);
    driver
        .issue_cmd(ChromiumCommand::cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": stand_in_for_the_push_service(&endpoint) }),
        ))
        .await?;

    // Ana scans the booth's code, signs in, skips the name and orders an espresso,
    driver.goto(&booth.order_url).await?;
    by::heading(driver, "Sign in to order").await?;
    let email = "ana@example.com";
    let seen = server.mails_to(email).len();
    by::type_into(driver, "Email", email).await?;
    by::press_button(driver, "Send me a code").await?;
    let code = server.code_after(email, seen).await?;
    by::type_into(driver, "Code from the email", &code).await?;
    by::heading(driver, "What should we call you?").await?;
    by::press_button(driver, "Skip").await?;
    by::heading(driver, "Choose your drink").await?;
    by::press_button(driver, "Espresso").await?;
    by::press_button(driver, "Order now").await?;
    by::status(driver, "Your order #1 is in the queue").await?;

    // then asks to be told when it is ready: the page subscribes with the server's key and
    // says so.
    by::press_button(driver, "Tell me when it's ready").await?;
    by::text(driver, "even with your phone locked").await?;
    browser.screenshot("push-1-asked-390x844").await?;
    let (phone, server_key) = page_subscriber(driver).await?;
    assert_eq!(
        server_key,
        admin.push_key().await?.public_key,
        "subscribed with the server's VAPID key"
    );

    // When the barista makes it and marks it ready,
    let order = order_numbered(&barista, 1).await?;
    barista.claim(&ShopId::main(), &order.id).await?;
    barista.complete(&ShopId::main(), &order.id).await?;

    // then the push service gets the news, which only the page's keys decrypt: order #1 is
    // ready.
    let push = push_service
        .next_within(STEP_DEADLINE)
        .await
        .map_err(anyhow::Error::msg)?;
    assert_eq!(push.headers["content-encoding"], "aes128gcm");
    let payload = phone.decrypt(&push.body).map_err(anyhow::Error::msg)?;
    let message: PushMessage = serde_json::from_slice(&payload)?;
    assert_eq!(message.number, Some(1));
    assert_eq!(message.state, OrderState::Ready);
    assert_eq!(message.order_id, order.id);
    assert_eq!(message.title, "Your order #1 is ready");

    // Handed to the phone's service worker as the push service would, it shows the
    // notification: the order's number and "ready", and the order's page to open.
    let mut devtools = DevTools::attach(devtools_port).await?;
    devtools.call("ServiceWorker.enable", json!({})).await?;
    let scope = format!("{}/", server.url());
    let registration = devtools
        .event("ServiceWorker.workerRegistrationUpdated", |params| {
            params["registrations"]
                .as_array()?
                .iter()
                .find(|r| r["scopeURL"] == scope.as_str() && r["isDeleted"] == false)
                .map(|r| r["registrationId"].clone())
        })
        .await?;
    // A push service holds a message until the browser takes it; headless Chromium under load
    // has been seen to drop the first delivery to a worker (no event, no notification), so the
    // message is delivered again every few seconds until the notification shows, within the
    // step deadline. It carries the same tag: a second delivery replaces, never adds.
    let data = String::from_utf8(payload)?;
    let deadline = Instant::now() + STEP_DEADLINE;
    let mut deliveries = 0;
    let mut last_delivery = Instant::now();
    let shown = loop {
        if deliveries == 0 || last_delivery.elapsed() > REDELIVER_AFTER {
            devtools
                .call(
                    "ServiceWorker.deliverPushMessage",
                    json!({
                        "origin": server.url(),
                        "registrationId": registration,
                        "data": data,
                    }),
                )
                .await?;
            deliveries += 1;
            last_delivery = Instant::now();
        }
        let shown = notifications(driver).await?;
        if !shown.is_empty() {
            break shown;
        }
        if Instant::now() > deadline {
            bail!(
                "no notification from the service worker within {STEP_DEADLINE:?} \
                 ({deliveries} deliveries of the push)"
            );
        }
        // The poll interval of `wait_for`.
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(shown.len(), 1, "{shown:?}");
    let notification = &shown[0];
    assert_eq!(notification["title"], "Your order #1 is ready", "{shown:?}");
    let body = notification["body"].as_str().unwrap_or_default();
    assert!(!body.is_empty(), "{shown:?}");
    let url = notification["url"].as_str().unwrap_or_default();
    assert!(
        url.starts_with(&server.url()) && url.ends_with("/order?shop=main"),
        "a tap opens the order: {shown:?}"
    );
    // The page itself follows too (it is open).
    by::status(driver, "Your order #1 is ready").await?;
    browser.screenshot("push-2-ready-390x844").await?;

    drop(devtools);
    browser.close().await?;
    server.stop().await
}
