//! The real server driven only through espresso-core's `Client` and `LiveStream`: the calls
//! every app makes, typed refusals, retries that never order twice, token refresh, and a live
//! stream that survives a server restart with every event exactly once.
//!
//! Sign-in goes through the real one-time-code flow: the server's `dir:` mailer writes each
//! message to a folder and the test reads the code from it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use espresso_core::protocol::{DrinkChoice, ErrorCode, EventType, OrderState, Role, Scope, ShopId};
use espresso_core::session::FileStore;
use espresso_core::{
    Client, ClientError, LiveConfig, LiveEnd, LiveStatus, LiveStream, LiveUpdate, LiveUpdates,
};
use espresso_robot::mailbox;
use espresso_server::Server;
use espresso_server::config::ServeConfig;
use espresso_tests::wait_for;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const SHOP: &str = "main";
/// Longest a test waits for something the server does in the background.
const PATIENCE: Duration = Duration::from_secs(20);

/// A real server with its database and mail folder in a temporary directory.
struct Cafe {
    server: Option<Server>,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Cafe {
    async fn open() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let config = Self::config(dir.path(), SocketAddr::from(([127, 0, 0, 1], 0)));
        let server = Server::start(config).await?;
        Ok(Self {
            addr: server.local_addr(),
            server: Some(server),
            dir,
        })
    }

    fn config(dir: &Path, addr: SocketAddr) -> ServeConfig {
        ServeConfig {
            addr,
            mailer: format!("dir:{}", dir.join("mail").display()),
            ..ServeConfig::for_tests(
                format!("sqlite://{}", dir.join("espresso.db").display()),
                "/nonexistent",
            )
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn server(&self) -> &Server {
        self.server.as_ref().expect("the server is running")
    }

    fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(server) = self.server.take() {
            tokio::time::timeout(PATIENCE, server.stop())
                .await
                .context("the server did not stop in time")??;
        }
        Ok(())
    }

    /// Start again on the same address and database, as after a crash or an upgrade.
    async fn start_again(&mut self) -> anyhow::Result<()> {
        let config = Self::config(self.dir.path(), self.addr);
        let server = wait_for("the address to be free again", PATIENCE, || {
            let config = config.clone();
            async move { Ok(Server::start(config).await.ok()) }
        })
        .await?;
        self.server = Some(server);
        Ok(())
    }

    async fn grant(&self, email: &str, role: Role) -> anyhow::Result<()> {
        self.server().store().grant(email, role, Utc::now()).await?;
        Ok(())
    }

    /// Make every access token (and, with `refresh_too`, every refresh token) expired.
    async fn expire_tokens(&self, refresh_too: bool) -> anyhow::Result<()> {
        self.server()
            .store()
            .expire_every_token(refresh_too)
            .await?;
        Ok(())
    }

    /// A client for `base` (this server, or a proxy in front of it) signed in as `email`.
    async fn sign_in_via(&self, base: &str, email: &str) -> anyhow::Result<Client> {
        let client = Client::new(base)?;
        self.sign_in_client(&client, email).await?;
        Ok(client)
    }

    async fn sign_in(&self, email: &str) -> anyhow::Result<Client> {
        self.sign_in_via(&self.url(), email).await
    }

    async fn sign_in_as(&self, email: &str, role: Role) -> anyhow::Result<Client> {
        self.grant(email, role).await?;
        self.sign_in(email).await
    }

    /// The one-time-code flow: ask for a code, read it from the newest mail, verify it.
    async fn sign_in_client(&self, client: &Client, email: &str) -> anyhow::Result<()> {
        let before = mailbox::mails_to(&self.mail_dir(), email).len();
        let challenge = client.request_code(email).await?;
        let code = mailbox::wait_for_code(&self.mail_dir(), email, before, PATIENCE).await?;
        let session = client.verify_code(&challenge.challenge_id, &code).await?;
        assert_eq!(session.user.email, email);
        assert!(client.is_signed_in());
        Ok(())
    }
}

fn espresso() -> DrinkChoice {
    DrinkChoice {
        item_id: "espresso".into(),
        options: Default::default(),
    }
}

fn flat_white_with_oat() -> DrinkChoice {
    DrinkChoice {
        item_id: "flat_white".into(),
        options: [("milk".to_owned(), "Oat".to_owned())].into(),
    }
}

fn refused(result: Result<impl std::fmt::Debug, ClientError>) -> ErrorCode {
    match result {
        Err(error) => error
            .code()
            .cloned()
            .unwrap_or_else(|| panic!("not a refusal: {error}")),
        Ok(value) => panic!("expected a refusal, got {value:?}"),
    }
}

/// The next update, or fail after `PATIENCE`.
async fn next_update(updates: &mut LiveUpdates) -> anyhow::Result<LiveUpdate> {
    match tokio::time::timeout(PATIENCE, updates.next()).await {
        Ok(Some(update)) => Ok(update),
        Ok(None) => bail!("the live stream ended"),
        Err(_) => bail!("no live update within {PATIENCE:?}"),
    }
}

/// Read updates until `Connected`; returns its `head` and `scope`.
async fn connected(updates: &mut LiveUpdates) -> anyhow::Result<(u64, Scope)> {
    loop {
        if let LiveUpdate::Status(LiveStatus::Connected { head, scope }) =
            next_update(updates).await?
        {
            return Ok((head, scope));
        }
    }
}

/// The shop's newest `seq`, as a fresh connection's `welcome` says.
async fn head_of(client: &Client) -> anyhow::Result<u64> {
    let (stream, mut updates) = LiveStream::connect(client, &ShopId::from(SHOP));
    let (head, _) = connected(&mut updates).await?;
    stream.close();
    Ok(head)
}

#[tokio::test]
async fn a_whole_order_is_driven_through_the_client_with_typed_refusals() -> anyhow::Result<()> {
    let cafe = Cafe::open().await?;
    let barista = cafe.sign_in_as("bea@example.com", Role::Barista).await?;
    let display = cafe.sign_in_as("kiosk@example.com", Role::Display).await?;
    let customer = cafe.sign_in("ann@example.com").await?;

    let me = customer.set_display_name(Some("Ann")).await?;
    assert_eq!(me.display_name.as_deref(), Some("Ann"));
    assert_eq!(customer.me().await?.email, "ann@example.com");

    let shop = customer.shop(&ShopId::from(SHOP)).await?;
    assert!(!shop.open, "a new server's shop starts closed");
    assert!(shop.menu.iter().any(|item| item.id == "flat_white"));

    let code = display.booth_code(&ShopId::from(SHOP)).await?;
    assert_eq!(
        refused(
            customer
                .start_order(&ShopId::from(SHOP), &code.code, None)
                .await
        ),
        ErrorCode::ShopClosed
    );
    assert_eq!(
        refused(customer.set_shop_open(&ShopId::from(SHOP), true).await),
        ErrorCode::Forbidden
    );
    assert!(barista.set_shop_open(&ShopId::from(SHOP), true).await?.open);

    let code = display.booth_code(&ShopId::from(SHOP)).await?;
    let order = customer
        .start_order(&ShopId::from(SHOP), &code.code, None)
        .await?;
    assert_eq!(order.state, OrderState::AwaitingDrink);
    assert_eq!(order.customer.display_name.as_deref(), Some("Ann"));
    assert_eq!(
        refused(
            customer
                .start_order(&ShopId::from(SHOP), &code.code, None)
                .await
        ),
        ErrorCode::OpenOrderExists
    );
    assert_eq!(
        refused(
            customer
                .start_order(&ShopId::from(SHOP), "NOT-A-CODE", None)
                .await
        ),
        ErrorCode::CodeInvalid
    );

    let order = customer
        .choose_drink(&ShopId::from(SHOP), &order.id, &flat_white_with_oat())
        .await?;
    assert_eq!(order.state, OrderState::Queued);
    assert_eq!(order.number, Some(1));
    assert_eq!(
        order.drink.as_ref().map(|d| d.name.as_str()),
        Some("Flat White")
    );

    assert_eq!(
        refused(customer.claim(&ShopId::from(SHOP), &order.id).await),
        ErrorCode::Forbidden
    );
    let queue = barista
        .orders(&ShopId::from(SHOP), &[OrderState::Queued], Some(10))
        .await?;
    assert_eq!(queue.iter().map(|o| &o.id).collect::<Vec<_>>(), [&order.id]);
    assert_eq!(
        display.orders(&ShopId::from(SHOP), &[], None).await?.len(),
        1
    );

    let order = barista.claim(&ShopId::from(SHOP), &order.id).await?;
    assert_eq!(order.state, OrderState::InProgress);
    let error = barista
        .claim(&ShopId::from(SHOP), &order.id)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error.code(),
            Some(ErrorCode::AlreadyClaimed | ErrorCode::InvalidTransition)
        ),
        "{error}"
    );
    assert_eq!(
        refused(
            customer
                .cancel_order(&ShopId::from(SHOP), &order.id, Some("too slow"))
                .await
        ),
        ErrorCode::InvalidTransition,
        "a customer cannot cancel what is being made"
    );
    let order = barista.unclaim(&ShopId::from(SHOP), &order.id).await?;
    assert_eq!(order.state, OrderState::Queued);
    barista.claim(&ShopId::from(SHOP), &order.id).await?;
    assert_eq!(
        barista
            .complete(&ShopId::from(SHOP), &order.id)
            .await?
            .state,
        OrderState::Ready
    );
    let collected = barista.collect(&ShopId::from(SHOP), &order.id).await?;
    assert_eq!(collected.state, OrderState::Collected);
    let error = barista
        .collect(&ShopId::from(SHOP), &order.id)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(&ErrorCode::InvalidTransition));
    assert_eq!(
        error.problem().and_then(|p| p.state),
        Some(OrderState::Collected),
        "the refusal says which state the order is in"
    );

    let detail = customer.order(&ShopId::from(SHOP), &order.id).await?;
    let journey: Vec<_> = detail.journey.iter().map(|step| step.kind).collect();
    assert_eq!(journey.first(), Some(&EventType::OrderCreated));
    assert_eq!(journey.last(), Some(&EventType::OrderCollected));
    let mine = customer.my_orders().await?;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].state, OrderState::Collected);
    assert_eq!(customer.stats(&ShopId::from(SHOP)).await?.served_today, 1);

    // The barista 86's the espresso; a second customer cannot order it.
    let shop = barista
        .set_item_available(&ShopId::from(SHOP), "espresso", false)
        .await?;
    assert!(!shop.item("espresso").map(|i| i.available).unwrap_or(true));
    let bob = cafe.sign_in("bob@example.com").await?;
    let code = display.booth_code(&ShopId::from(SHOP)).await?;
    assert_eq!(
        refused(
            bob.start_order(&ShopId::from(SHOP), &code.code, Some(espresso()))
                .await
        ),
        ErrorCode::ItemUnavailable
    );

    customer.sign_out().await?;
    assert!(!customer.is_signed_in());
    assert!(matches!(customer.me().await, Err(ClientError::SignedOut)));
    Ok(())
}

#[tokio::test]
async fn an_admin_sets_roles_and_the_menu_through_the_client() -> anyhow::Result<()> {
    let cafe = Cafe::open().await?;
    let admin = cafe.sign_in_as("boss@example.com", Role::Admin).await?;
    let user = admin
        .set_roles("kiosk2@example.com", &[Role::Display])
        .await?;
    assert!(user.roles.contains(&Role::Display));

    let mut menu = admin.shop(&ShopId::from(SHOP)).await?.menu;
    menu.retain(|item| item.id != "double_espresso");
    let shop = admin.put_menu(&ShopId::from(SHOP), &menu).await?;
    assert!(shop.item("double_espresso").is_none());

    let customer = cafe.sign_in("cid@example.com").await?;
    assert_eq!(
        refused(customer.set_roles("cid@example.com", &[Role::Admin]).await),
        ErrorCode::Forbidden
    );
    assert_eq!(refused(customer.staff().await), ErrorCode::Forbidden);

    // The staff list, by email; the last admin cannot step down.
    let staff = admin.staff().await?;
    let emails: Vec<_> = staff.iter().map(|m| m.email.as_str()).collect();
    assert_eq!(emails, ["boss@example.com", "kiosk2@example.com"]);
    assert!(staff[1].can_act_as(Role::Display));
    assert_eq!(
        refused(admin.set_roles("boss@example.com", &[Role::Barista]).await),
        ErrorCode::LastAdmin
    );
    assert!(admin.me().await?.can_act_as(Role::Admin));

    // The orders export: a header row (no orders yet); for admins only.
    let csv = admin.orders_csv(&ShopId::from(SHOP), None, None).await?;
    assert!(csv.starts_with("id,number,customer,"), "{csv}");
    assert_eq!(csv.lines().count(), 1, "{csv}");
    assert_eq!(
        refused(customer.orders_csv(&ShopId::from(SHOP), None, None).await),
        ErrorCode::Forbidden
    );
    assert_eq!(
        refused(
            admin
                .orders_csv(&ShopId::from(SHOP), Some("2026-11-29"), Some("2026-11-01"))
                .await
        ),
        ErrorCode::ValidationFailed
    );

    // The numbers of a range of days, and their CSV: for admins only.
    let report = admin.stats_report(&ShopId::from(SHOP), None, None).await?;
    assert_eq!((report.days.len(), report.total.orders), (1, 0));
    assert_eq!(report.time_zone, "UTC");
    let days = admin.days_csv(&ShopId::from(SHOP), None, None).await?;
    assert!(days.starts_with("date,orders,served,"), "{days}");
    assert_eq!(days.lines().count(), 2, "{days}");
    assert_eq!(
        refused(customer.stats_report(&ShopId::from(SHOP), None, None).await),
        ErrorCode::Forbidden
    );
    assert_eq!(
        refused(
            admin
                .days_csv(&ShopId::from(SHOP), Some("2026-11-29"), Some("2026-11-01"))
                .await
        ),
        ErrorCode::ValidationFailed
    );

    // An invitation: the roles at once, a mail whose link signs in through the client once.
    let invitation = espresso_core::protocol::Invitation {
        email: "dee@example.com".into(),
        roles: vec![Role::Barista],
        shop: SHOP.into(),
        lang: None,
    };
    assert!(
        admin
            .invite(&invitation)
            .await?
            .roles
            .contains(&Role::Barista)
    );
    assert_eq!(
        refused(customer.invite(&invitation).await),
        ErrorCode::Forbidden
    );
    let mail_dir = cafe.dir.path().join("mail");
    let mail = wait_for("the invitation", PATIENCE, || {
        let found = espresso_core::protocol::maildir::mails_to(&mail_dir, "dee@example.com")
            .first()
            .and_then(|path| std::fs::read_to_string(path).ok());
        async move { Ok(found) }
    })
    .await?;
    let token = mail
        .split_once("&signin=")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .context("a link in the invitation")?
        .to_owned();
    let dee = Client::new(&cafe.url())?;
    let session = dee.sign_in_with_link(&token).await?;
    assert_eq!(session.user.email, "dee@example.com");
    assert!(dee.is_signed_in());
    assert!(dee.me().await?.can_act_as(Role::Barista));
    let again = Client::new(&cafe.url())?;
    assert_eq!(
        refused(again.sign_in_with_link(&token).await),
        ErrorCode::CodeExpired
    );

    // The robot switch: off, on, off; for admins only.
    assert!(!admin.demo(&ShopId::from(SHOP)).await?.running);
    assert!(admin.set_demo(&ShopId::from(SHOP), true).await?.running);
    assert!(admin.demo(&ShopId::from(SHOP)).await?.running);
    assert_eq!(
        refused(customer.set_demo(&ShopId::from(SHOP), true).await),
        ErrorCode::Forbidden
    );
    assert!(!admin.set_demo(&ShopId::from(SHOP), false).await?.running);

    // The shop list: for staff; an archived shop only when asked for.
    assert_eq!(refused(customer.shops(false).await), ErrorCode::Forbidden);
    let shops = admin.shops(false).await?;
    assert_eq!(shops.len(), 1);
    assert_eq!((shops[0].id.as_str(), shops[0].archived), (SHOP, false));
    let archive = espresso_core::protocol::ShopPatch {
        archived: Some(true),
        ..Default::default()
    };
    assert!(
        admin
            .patch_shop(&ShopId::from(SHOP), &archive)
            .await?
            .archived
    );
    assert!(admin.shops(false).await?.is_empty());
    assert!(admin.shops(true).await?[0].archived);
    Ok(())
}

#[tokio::test]
async fn a_barista_marks_oat_milk_out_and_a_customer_sees_it_live_and_cannot_order_it()
-> anyhow::Result<()> {
    let cafe = Cafe::open().await?;
    let barista = cafe.sign_in_as("bea@example.com", Role::Barista).await?;
    let display = cafe.sign_in_as("kiosk@example.com", Role::Display).await?;
    let customer = cafe.sign_in("ann@example.com").await?;
    barista.set_shop_open(&ShopId::from(SHOP), true).await?;
    let (stream, mut updates) = LiveStream::connect(&customer, &ShopId::from(SHOP));
    connected(&mut updates).await?;

    assert_eq!(
        refused(
            customer
                .set_option_available(&ShopId::from(SHOP), "flat_white", "milk", "Oat", false)
                .await
        ),
        ErrorCode::Forbidden
    );
    let shop = barista
        .set_option_available(&ShopId::from(SHOP), "flat_white", "milk", "Oat", false)
        .await?;
    let milk = shop.item("flat_white").and_then(|i| i.modifier("milk"));
    assert!(milk.is_some_and(|m| !m.is_available("Oat") && m.is_available("Regular")));
    // The customer's menu hears it (`shop.updated`, the whole shop).
    loop {
        if let LiveUpdate::Event { event, .. } = next_update(&mut updates).await?
            && event.kind == EventType::ShopUpdated
        {
            assert_eq!(event.shop_state.as_ref(), Some(&shop));
            break;
        }
    }
    stream.close();

    let code = display.booth_code(&ShopId::from(SHOP)).await?;
    let refusal = customer
        .start_order(&ShopId::from(SHOP), &code.code, Some(flat_white_with_oat()))
        .await
        .unwrap_err();
    assert_eq!(refusal.code(), Some(&ErrorCode::ItemUnavailable));
    assert!(refusal.to_string().contains("Oat is out"), "{refusal}");
    assert_eq!(
        refused(
            barista
                .set_option_available(&ShopId::from(SHOP), "flat_white", "milk", "Soy", false)
                .await
        ),
        ErrorCode::ValidationFailed
    );
    barista
        .set_option_available(&ShopId::from(SHOP), "flat_white", "milk", "Oat", true)
        .await?;
    let order = customer
        .start_order(&ShopId::from(SHOP), &code.code, Some(flat_white_with_oat()))
        .await?;
    assert_eq!(order.state, OrderState::Queued);
    Ok(())
}

#[tokio::test]
async fn a_menu_far_larger_than_one_socket_read_reaches_the_display_whole() -> anyhow::Result<()> {
    let cafe = Cafe::open().await?;
    let admin = cafe.sign_in_as("boss@example.com", Role::Admin).await?;
    let display = cafe.sign_in_as("kiosk@example.com", Role::Display).await?;
    let (stream, mut updates) = LiveStream::connect(&display, &ShopId::from(SHOP));
    connected(&mut updates).await?;

    // A conference bar's long menu: every drink with its milks and syrups.
    let mut menu = admin.shop(&ShopId::from(SHOP)).await?.menu;
    let template = menu.first().context("the default menu has drinks")?.clone();
    for n in 0..120 {
        let mut item = template.clone();
        item.id = format!("seasonal_{n}");
        item.name = format!("Seasonal special number {n}, with a long name");
        item.modifiers = vec![espresso_core::protocol::Modifier {
            id: "syrup".into(),
            name: "Syrup".into(),
            options: [
                "Vanilla",
                "Caramel",
                "Hazelnut",
                "Gingerbread",
                "Maple",
                "None",
            ]
            .map(String::from)
            .to_vec(),
            required: false,
            unavailable: Vec::new(),
        }];
        menu.push(item);
    }
    let shop = admin.put_menu(&ShopId::from(SHOP), &menu).await?;
    // The client reads its socket 8 KiB at a time: this frame takes several reads.
    let size = serde_json::to_string(&shop)?.len();
    assert!(size > 24 * 1024, "the menu is only {size} bytes");

    // A stream that cannot take the frame reconnects over and over: a deadline on the whole.
    let mut seen = Vec::new();
    let heard = tokio::time::timeout(PATIENCE, async {
        loop {
            match next_update(&mut updates).await? {
                LiveUpdate::Event { event, .. } if event.kind == EventType::ShopUpdated => {
                    return anyhow::Ok(event);
                }
                other => seen.push(format!("{other:?}")),
            }
        }
    })
    .await;
    let event = match heard {
        Ok(event) => event?,
        Err(_) => bail!("no shop.updated within {PATIENCE:?}; the stream said {seen:?}"),
    };
    assert_eq!(event.shop_state.as_ref(), Some(&shop));
    stream.close();
    Ok(())
}

#[tokio::test]
async fn an_admin_replaces_the_booth_code_and_the_display_sees_the_new_one_live()
-> anyhow::Result<()> {
    let cafe = Cafe::open().await?;
    let admin = cafe.sign_in_as("boss@example.com", Role::Admin).await?;
    let display = cafe.sign_in_as("screen@example.com", Role::Display).await?;
    let old = display.booth_code(&ShopId::from(SHOP)).await?;
    let (stream, mut updates) = LiveStream::connect(&display, &ShopId::from(SHOP));
    connected(&mut updates).await?;

    assert_eq!(
        refused(display.rotate_booth_code(&ShopId::from(SHOP)).await),
        ErrorCode::Forbidden
    );
    let new = admin.rotate_booth_code(&ShopId::from(SHOP)).await?;
    assert_ne!(new.code, old.code);
    // The booth screen hears `code.rotated` with the new code, and reads it as the current one.
    loop {
        if let LiveUpdate::Event { event, .. } = next_update(&mut updates).await?
            && event.kind == EventType::CodeRotated
        {
            assert_eq!(event.code.as_ref(), Some(&new));
            break;
        }
    }
    assert_eq!(display.booth_code(&ShopId::from(SHOP)).await?, new);
    stream.close();
    Ok(())
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_and_the_call_goes_through() -> anyhow::Result<()>
{
    let cafe = Cafe::open().await?;
    let customer = cafe.sign_in("dee@example.com").await?;
    let first = customer.session().context("signed in")?;

    cafe.expire_tokens(false).await?;
    let me = customer.me().await?;
    assert_eq!(me.email, "dee@example.com");
    let second = customer.session().context("still signed in")?;
    assert_ne!(second.access_token, first.access_token);
    assert_ne!(second.refresh_token, first.refresh_token, "rotated");

    // Several tasks meeting the expired token at once refresh it once (a second refresh with
    // the same refresh token would end the session as `token_reused`).
    cafe.expire_tokens(false).await?;
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let client = customer.clone();
            tokio::spawn(async move { client.my_orders().await })
        })
        .collect();
    for call in calls {
        call.await??;
    }
    assert!(customer.is_signed_in());
    Ok(())
}

#[tokio::test]
async fn a_refused_refresh_signs_the_client_out() -> anyhow::Result<()> {
    let cafe = Cafe::open().await?;
    let customer = cafe.sign_in("eve@example.com").await?;
    cafe.expire_tokens(true).await?;
    assert!(matches!(customer.me().await, Err(ClientError::SignedOut)));
    assert!(!customer.is_signed_in());
    assert!(matches!(
        customer.refresh().await,
        Err(ClientError::SignedOut)
    ));
    Ok(())
}

#[tokio::test]
async fn a_session_saved_to_a_file_signs_in_the_next_client() -> anyhow::Result<()> {
    let cafe = Cafe::open().await?;
    let file = cafe.dir.path().join("app/session.json");
    let first = Client::with_store(&cafe.url(), Arc::new(FileStore::new(&file)))?;
    cafe.sign_in_client(&first, "fay@example.com").await?;
    assert!(file.is_file());

    let restarted = Client::with_store(&cafe.url(), Arc::new(FileStore::new(&file)))?;
    assert!(restarted.is_signed_in());
    assert_eq!(restarted.me().await?.email, "fay@example.com");
    // A refresh is saved too: a third start uses the rotated tokens.
    restarted.refresh().await?;
    let third = Client::with_store(&cafe.url(), Arc::new(FileStore::new(&file)))?;
    assert_eq!(third.session(), restarted.session());
    assert_eq!(third.me().await?.email, "fay@example.com");

    third.sign_out().await?;
    assert!(!file.exists(), "signing out forgets the saved session");
    Ok(())
}

#[tokio::test]
async fn a_start_order_retried_after_a_lost_answer_orders_once() -> anyhow::Result<()> {
    let cafe = Cafe::open().await?;
    let proxy = Proxy::start(cafe.addr).await?;
    let barista = cafe.sign_in_as("gus@example.com", Role::Barista).await?;
    barista.set_shop_open(&ShopId::from(SHOP), true).await?;
    let customer = cafe.sign_in_via(&proxy.url(), "hal@example.com").await?;
    let code = barista.booth_code(&ShopId::from(SHOP)).await?;

    proxy.lose_next_answer();
    let order = customer
        .start_order(&ShopId::from(SHOP), &code.code, Some(espresso()))
        .await?;
    assert_eq!(
        proxy.answers_lost(),
        1,
        "the first answer never reached the client"
    );
    assert_eq!(order.state, OrderState::Queued);

    let queue = barista.orders(&ShopId::from(SHOP), &[], None).await?;
    assert_eq!(queue.len(), 1, "one order, not two: {queue:?}");
    assert_eq!(queue[0].id, order.id, "the retry got the first answer back");
    assert_eq!(
        refused(
            customer
                .start_order(&ShopId::from(SHOP), &code.code, Some(espresso()))
                .await
        ),
        ErrorCode::OpenOrderExists,
        "a new call (a new key) is a new order"
    );
    Ok(())
}

#[tokio::test]
async fn a_call_to_a_server_that_is_down_fails_as_network_after_the_retries() -> anyhow::Result<()>
{
    let port = espresso_tests::free_port()?;
    let client = Client::new(&format!("http://127.0.0.1:{port}"))?;
    let started = std::time::Instant::now();
    let error = client.shop(&ShopId::from(SHOP)).await.unwrap_err();
    assert!(matches!(error, ClientError::Network(_)), "{error}");
    assert!(error.is_transient());
    // Three waits of 100, 100–200 and 200–400 ms between the four tries.
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "{:?}",
        started.elapsed()
    );
    Ok(())
}

#[tokio::test]
async fn a_live_stream_survives_a_server_restart_with_every_event_once_in_order()
-> anyhow::Result<()> {
    let mut cafe = Cafe::open().await?;
    // The stream goes through a proxy only so that stopping the server can close its socket as
    // the end of a server process would: `Server::stop` does not (yet) close live connections,
    // which in-process would leave the stream talking to the stopped server's hub forever.
    let proxy = Proxy::start(cafe.addr).await?;
    cafe.grant("ida@example.com", Role::Barista).await?;
    let barista = cafe.sign_in_via(&proxy.url(), "ida@example.com").await?;
    let customer = cafe.sign_in("jon@example.com").await?;
    let config = LiveConfig {
        backoff_max: Duration::from_millis(500),
        ..LiveConfig::default()
    };
    let (stream, mut updates) =
        LiveStream::connect_with(&barista, &ShopId::from(SHOP), None, config);
    let (first_head, scope) = connected(&mut updates).await?;
    assert_eq!(scope, Scope::Staff);

    barista.set_shop_open(&ShopId::from(SHOP), true).await?;
    let code = barista.booth_code(&ShopId::from(SHOP)).await?;
    let order = customer
        .start_order(&ShopId::from(SHOP), &code.code, None)
        .await?;

    cafe.stop().await?;
    proxy.cut_all();
    cafe.start_again().await?;

    // Right after the restart, possibly while the stream is still reconnecting.
    customer
        .choose_drink(&ShopId::from(SHOP), &order.id, &flat_white_with_oat())
        .await?;
    barista.claim(&ShopId::from(SHOP), &order.id).await?;
    barista.complete(&ShopId::from(SHOP), &order.id).await?;
    barista.collect(&ShopId::from(SHOP), &order.id).await?;
    let head = head_of(&barista).await?;
    assert!(head > first_head);

    let mut seqs = Vec::new();
    let mut kinds = Vec::new();
    let mut reconnects = 0;
    let mut welcomes = 1;
    while seqs.last().is_none_or(|last| *last < head) {
        match next_update(&mut updates)
            .await
            .with_context(|| format!("events so far: {seqs:?}"))?
        {
            LiveUpdate::Event { seq, event } => {
                seqs.push(seq);
                if event.order.as_ref().is_some_and(|o| o.id == order.id) {
                    kinds.push(event.kind);
                }
            }
            LiveUpdate::Status(LiveStatus::Reconnecting { .. }) => reconnects += 1,
            LiveUpdate::Status(LiveStatus::Connected { .. }) => welcomes += 1,
            LiveUpdate::Reset { head } => bail!("unexpected reset at {head}"),
            LiveUpdate::Status(LiveStatus::Ended(end)) => bail!("the stream ended: {end:?}"),
        }
    }
    let expected: Vec<u64> = (first_head + 1..=head).collect();
    assert_eq!(seqs, expected, "every event once, in order, no gap");
    assert_eq!(
        kinds,
        [
            EventType::OrderCreated,
            EventType::OrderPlaced,
            EventType::OrderClaimed,
            EventType::OrderCompleted,
            EventType::OrderCollected
        ]
    );
    assert!(reconnects >= 1, "the restart was noticed");
    assert!(welcomes >= 2, "and the stream came back");
    assert_eq!(stream.last_seq(), Some(head));

    stream.close();
    loop {
        match next_update(&mut updates).await? {
            LiveUpdate::Status(LiveStatus::Ended(end)) => {
                assert_eq!(end, LiveEnd::Closed);
                break;
            }
            LiveUpdate::Event { seq, .. } => bail!("event {seq} after the head"),
            _ => {}
        }
    }
    assert!(updates.next().await.is_none(), "nothing after the end");
    Ok(())
}

#[tokio::test]
async fn a_live_stream_cut_off_refreshes_its_expired_token_and_resumes() -> anyhow::Result<()> {
    let cafe = Cafe::open().await?;
    let proxy = Proxy::start(cafe.addr).await?;
    cafe.grant("kim@example.com", Role::Barista).await?;
    let barista = cafe.sign_in_via(&proxy.url(), "kim@example.com").await?;
    let staff = cafe.sign_in_as("lea@example.com", Role::Barista).await?;
    let first_token = barista.session().context("signed in")?.access_token;

    let (stream, mut updates) = LiveStream::connect(&barista, &ShopId::from(SHOP));
    let (first_head, _) = connected(&mut updates).await?;

    // The token expires while connected, then the connection drops: the new `hello` is refused
    // (4001), the client refreshes and connects again, and resumes where it was.
    cafe.expire_tokens(false).await?;
    proxy.cut_all();
    staff.set_shop_open(&ShopId::from(SHOP), true).await?;
    staff.set_shop_open(&ShopId::from(SHOP), false).await?;
    let head = head_of(&staff).await?;

    let mut seqs = Vec::new();
    while seqs.last().is_none_or(|last| *last < head) {
        if let LiveUpdate::Event { seq, .. } = next_update(&mut updates).await? {
            seqs.push(seq);
        }
    }
    assert_eq!(seqs, (first_head + 1..=head).collect::<Vec<_>>());
    let token = barista.session().context("still signed in")?.access_token;
    assert_ne!(token, first_token, "the stream refreshed the session");
    assert_eq!(stream.last_seq(), Some(head));
    Ok(())
}

#[tokio::test]
async fn a_live_stream_for_an_unknown_shop_ends() -> anyhow::Result<()> {
    let cafe = Cafe::open().await?;
    let client = Client::new(&cafe.url())?;
    let (_stream, mut updates) = LiveStream::connect(&client, &ShopId::new("no-such-shop"));
    loop {
        if let LiveUpdate::Status(LiveStatus::Ended(end)) = next_update(&mut updates).await? {
            assert_eq!(end, LiveEnd::ShopNotFound);
            return Ok(());
        }
    }
}

/// A TCP proxy in front of the server that can lose an answer (forward the request, let the
/// server answer, then close the client's connection without passing the answer on) and cut
/// every connection, as a flaky network would.
struct Proxy {
    addr: SocketAddr,
    lose_next: Arc<AtomicBool>,
    lost: Arc<AtomicUsize>,
    cut: watch::Sender<u64>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let proxy = Self {
            addr: listener.local_addr()?,
            lose_next: Arc::default(),
            lost: Arc::default(),
            cut: watch::channel(0).0,
        };
        let (lose_next, lost, cut) = (
            proxy.lose_next.clone(),
            proxy.lost.clone(),
            proxy.cut.clone(),
        );
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                tokio::spawn(pipe(
                    client,
                    server,
                    lose_next.clone(),
                    lost.clone(),
                    cut.subscribe(),
                ));
            }
        });
        Ok(proxy)
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lose_next_answer(&self) {
        self.lose_next.store(true, Ordering::SeqCst);
    }

    fn answers_lost(&self) -> usize {
        self.lost.load(Ordering::SeqCst)
    }

    fn cut_all(&self) {
        self.cut.send_modify(|generation| *generation += 1);
    }
}

/// Forward both ways until either side closes, an answer is to be lost, or a cut.
async fn pipe(
    mut client: TcpStream,
    mut server: TcpStream,
    lose_next: Arc<AtomicBool>,
    lost: Arc<AtomicUsize>,
    mut cut: watch::Receiver<u64>,
) {
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let upstream = tokio::io::copy(&mut client_read, &mut server_write);
    let downstream = async {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = match server_read.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => read,
            };
            if lose_next.swap(false, Ordering::SeqCst) {
                // The server has answered (the command is done); the client never hears it.
                lost.fetch_add(1, Ordering::SeqCst);
                return;
            }
            if client_write.write_all(&buffer[..read]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = upstream => {}
        () = downstream => {}
        _ = cut.changed() => {}
    }
}
