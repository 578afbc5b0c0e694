//! The app calls, defined once: every call a screen makes, with its arguments and its answer.
//!
//! The [`calls!`] list below is the only place a call is written. From it follow:
//! - [`Call`] and [`Reply`]: the call and its answer as serde values, which cross the boundary
//!   between the UI (wasm) and the Tauri shell (native) in one command (`call`);
//! - [`Call::run`]: how a call is answered, by the core's [`Client`] for the server's calls and by
//!   the app's [`Host`] (the browser tab, or the shell) for the host's own;
//! - [`Calls`]: the typed methods a UI calls (`backend.request_code(email).await`), for any
//!   [`Transport`] (the browser runs the call itself; the shell's UI sends it to the shell).
//!
//! Adding a call is one line in the list plus its handler: a [`Client`] method for a server call,
//! a [`Host`] method (in the browser's and the shell's host) for a host call. The compiler then
//! asks for nothing else; the web and shell backends differ only in how a [`Call`] travels.

use std::future::Future;

pub use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};

use crate::client::{Client, ClientError, StaffAction};
use crate::protocol::{
    BoothCode, DemoState, DrinkChoice, Health, Invitation, LinkTo, Me, MenuItem, NewShop, Order,
    OrderDetail, OrderId, OrderState, OtpChallenge, PushKey, PushSubscription, Role, ScanPass,
    Shop, ShopId, ShopPatch, ShopSummary, StaffMember, Stats, StatsReport, User,
};

/// Whether this app may show system notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyPermission {
    Granted,
    Denied,
    /// Not decided yet: ask (from a tap; browsers ignore it otherwise).
    Ask,
}

/// The Tauri commands the shell registers, by name (the UI invokes them by these names; the
/// shell's functions carry the same names, and its tests check the list).
pub mod command {
    /// Answers one [`Call`](super::Call) (argument `call`) with its [`Reply`](super::Reply).
    pub const CALL: &str = "call";
    /// Follows a shop live (arguments `shop`, `since`, `on_update`: a channel of live updates);
    /// answers the subscription's id.
    pub const LIVE_SUBSCRIBE: &str = "live_subscribe";
    /// Ends a subscription (argument `id`).
    pub const LIVE_CLOSE: &str = "live_close";
    /// Every command the shell must register.
    pub const ALL: [&str; 3] = [CALL, LIVE_SUBSCRIBE, LIVE_CLOSE];
}

/// What answers the host's own calls: where the app runs (the browser tab, or the Tauri shell).
/// The server's calls go to [`Host::client`].
///
/// `async fn` without a `Send` bound on purpose: the browser's host is not `Send` (wasm, JS
/// values), the shell's is; the shell's one command runs [`Call::run`] on its concrete host, so
/// the compiler sees that future is `Send` there.
#[allow(async_fn_in_trait)]
pub trait Host {
    /// The client for the server's calls (an unusable server URL is its error).
    fn client(&self) -> Result<Client, ClientError>;

    /// The server this app talks to.
    async fn server_url(&self) -> Result<String, ClientError>;

    /// Talk to another server about `shop` (the installed apps' first-run setup): the server
    /// must answer and know the shop first (else its `not_found`); both are kept for the next
    /// start. In a browser the server is the page's own and the shop its `?shop=`: refused.
    async fn set_server(&self, url: String, shop: String) -> Result<(), ClientError>;

    /// Serve another shop of the same server from now on (checked, then kept for the next
    /// start). In a browser the shop is the page's `?shop=`: refused.
    async fn set_shop(&self, shop: String) -> Result<(), ClientError>;

    /// Show a system notification if this app may (it never asks by itself). Where none can be
    /// shown (no permission, no notification service) nothing happens: it never fails the UI.
    async fn notify(&self, title: String, body: String) -> Result<(), ClientError>;

    async fn notification_permission(&self) -> Result<NotifyPermission, ClientError>;

    /// Ask the user (call from a tap); answers what they chose.
    async fn request_notification_permission(&self) -> Result<NotifyPermission, ClientError>;

    /// Close the installed app (the display's hidden settings; the kiosk window refuses other
    /// ways to close). A browser tab cannot close itself: refused.
    async fn quit_app(&self) -> Result<(), ClientError>;
}

/// How a [`Call`] reaches what answers it: run in place (the browser) or sent to the shell.
pub trait Transport {
    fn send(&self, call: Call) -> LocalBoxFuture<'_, Result<Reply, ClientError>>;
}

/// The list: a `host { … }` group and a `server { … }` group. Each entry is
/// `method / Variant (arguments) -> answer`; a host call is answered by the [`Host`] method of
/// the same name, a server call by `= |client| …` (the core's [`Client`]).
///
/// Both groups become one list of `method / Variant (arguments) -> answer = |host| answer`
/// (a host call: `host.method(arguments)`; a server call: its body with `host`'s client), from
/// which `@all` writes every item once.
macro_rules! calls {
    (
        host {$(
            $(#[doc = $hdoc:literal])*
            $hmethod:ident / $hvariant:ident ( $($harg:ident : $hty:ty),* ) -> $hreply:ty;
        )*}
        server {$(
            $(#[doc = $doc:literal])*
            $method:ident / $variant:ident ( $($arg:ident : $ty:ty),* ) -> $reply:ty
                = |$client:ident| $body:expr;
        )*}
        staff {$(
            $(#[doc = $sdoc:literal])*
            $smethod:ident / $svariant:ident ( $($sarg:ident : $sty:ty),* ) -> $sreply:ty
                = |$sclient:ident| $sbody:expr;
        )*}
    ) => {
        calls! { @all host;
            $(
                $(#[doc = $hdoc])*
                $hmethod / $hvariant ( $($harg : $hty),* ) -> $hreply
                    = { host.$hmethod($($harg),*).await };
            )*
            $(
                $(#[doc = $doc])*
                $method / $variant ( $($arg : $ty),* ) -> $reply
                    = { let $client = host.client()?; $body };
            )*
            $(
                $(#[doc = $sdoc])*
                $smethod / $svariant ( $($sarg : $sty),* ) -> $sreply
                    = { staff_answer!(host, $smethod, $sreply, ($($sarg),*), |$sclient| $sbody) };
            )*
        }
    };
    (
        @all $host:ident;
        $(
            $(#[doc = $doc:literal])*
            $method:ident / $variant:ident ( $($arg:ident : $ty:ty),* ) -> $reply:ty
                = $answer:block;
        )*
    ) => {
        /// One app call with its arguments (see the module's documentation). On the wire:
        /// `{"call": "<method>", <argument>: …}`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "call", rename_all = "snake_case", deny_unknown_fields)]
        pub enum Call {
            $($(#[doc = $doc])* $variant { $($arg: $ty),* },)*
        }

        /// A call's answer, tagged with the call's name: `{"<method>": <answer>}`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Reply {
            $($variant($reply),)*
        }

        impl Call {
            /// The call's name as the wire has it (`request_code`).
            pub fn name(&self) -> &'static str {
                match self {
                    $(Call::$variant { .. } => stringify!($method),)*
                }
            }

            /// Answer the call: a host call by `host`, a server call through `host`'s client.
            pub async fn run(self, $host: &impl Host) -> Result<Reply, ClientError> {
                match self {
                    $(Call::$variant { $($arg),* } => Ok(Reply::$variant($answer?)),)*
                }
            }
        }

        impl Reply {
            /// The name of the call this answers.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Reply::$variant(_) => stringify!($method),)*
                }
            }
        }

        /// The typed calls, for anything that carries a [`Call`] to its answer.
        pub trait Calls: Transport {
            $(
                $(#[doc = $doc])*
                fn $method(&self, $($arg: $ty),*)
                    -> impl Future<Output = Result<$reply, ClientError>> {
                    let call = Call::$variant { $($arg),* };
                    async move {
                        match self.send(call).await? {
                            Reply::$variant(answer) => Ok(answer),
                            other => Err(unexpected(stringify!($method), &other)),
                        }
                    }
                }
            )*
        }
    };
}

/// A staff call's answer (the `staff` group): by the client, in every build with a staff screen
/// (the web build of the barista app and the booth screen, with the `staff` feature) and
/// natively (the Tauri shell answers whichever app's calls). The customer's web build never
/// makes one: there it is refused, and the code of its answer (the client's request, the
/// answer's decoding) is left out of the phone's download.
#[cfg(any(feature = "staff", not(target_arch = "wasm32")))]
macro_rules! staff_answer {
    ($host:ident, $method:ident, $reply:ty, ($($arg:ident),*), |$client:ident| $body:expr) => {{
        let $client = $host.client()?;
        $body
    }};
}

#[cfg(not(any(feature = "staff", not(target_arch = "wasm32"))))]
macro_rules! staff_answer {
    ($host:ident, $method:ident, $reply:ty, ($($arg:ident),*), |$client:ident| $body:expr) => {{
        let _ = (&$host, $(&$arg),*);
        Err::<$reply, ClientError>(ClientError::Decode(format!(
            "`{}` is a staff call, which the customer's build does not make",
            stringify!($method)
        )))
    }};
}

impl<T: Transport + ?Sized> Calls for T {}

fn unexpected(method: &str, reply: &Reply) -> ClientError {
    ClientError::Decode(format!(
        "the answer to `{method}` came as the answer to `{}`",
        reply.name()
    ))
}

calls! {
    // Where the app runs: the browser tab or the shell.
    host {
    /// The server this app talks to.
    server_url / ServerUrl () -> String;
    /// Talk to another server about `shop` (checked, then kept; the installed apps only).
    set_server / SetServer (url: String, shop: String) -> ();
    /// Serve another shop of the same server (checked, then kept; the installed apps only).
    set_shop / SetShop (shop: String) -> ();
    /// Show a system notification if this app may; never fails the UI.
    notify / Notify (title: String, body: String) -> ();
    /// Whether this app may show system notifications.
    notification_permission / NotificationPermission () -> NotifyPermission;
    /// Ask the user (call from a tap); answers what they chose.
    request_notification_permission / RequestNotificationPermission () -> NotifyPermission;
    /// Close the installed app (a browser tab cannot close itself: refused).
    quit_app / QuitApp () -> ();
    }
    // The server, through the core's client.
    server {
    /// Is the server up, and which version is it.
    health / Health () -> Health = |client| client.health().await;
    /// The signed-in user from the saved session, if any (no network).
    user / User () -> Option<User> = |client| Ok::<_, ClientError>(client.user());
    /// Mail a one-time code to `email`, with a link back to `link_to` (this app and shop).
    request_code / RequestCode (email: String, link_to: Option<LinkTo>, lang: Option<String>)
        -> OtpChallenge =
        |client| client.request_code_in(&email, link_to, lang).await;
    /// Sign in with the code from the mail; the session is saved.
    verify_code / VerifyCode (challenge_id: String, code: String) -> User =
        |client| client.verify_code(&challenge_id, &code).await.map(|session| session.user);
    /// Sign in with the token of an invitation's link; the session is saved.
    sign_in_with_link / SignInWithLink (token: String) -> User =
        |client| client.sign_in_with_link(&token).await.map(|session| session.user);
    /// Sign out here (the server revokes the session) and forget it.
    sign_out / SignOut () -> () = |client| client.sign_out().await;
    /// The signed-in user's profile.
    me / Me () -> Me = |client| client.me().await;
    /// The first name shown on the board (`None`: none).
    set_display_name / SetDisplayName (name: Option<String>) -> Me =
        |client| client.set_display_name(name.as_deref()).await;
    /// A shop: its menu, whether it is open, its limits.
    shop / Shop (shop: ShopId) -> Shop = |client| client.shop(&shop).await;
    /// The server's Web Push (VAPID) public key.
    push_key / PushKey () -> PushKey = |client| client.push_key().await;
    /// Push the signed-in customer's order news to this browser subscription.
    push_subscribe / PushSubscribe (subscription: PushSubscription) -> () =
        |client| client.push_subscribe(&subscription).await;
    /// Check a scanned booth code before sign-in: a scan pass holding one of its orders.
    scan_pass / ScanPass (shop: ShopId, code: String) -> ScanPass =
        |client| client.scan_pass(&shop, &code).await;
    /// Start an order with a scan pass in place of the booth code.
    start_order_with_pass / StartOrderWithPass (shop: ShopId, pass: String,
        drink: Option<DrinkChoice>) -> Order =
        |client| client.start_order_with_pass(&shop, &pass, drink).await;
    /// Start an order with the booth's code (and the drink, if chosen already).
    start_order / StartOrder (shop: ShopId, code: String, drink: Option<DrinkChoice>) -> Order =
        |client| client.start_order(&shop, &code, drink).await;
    /// Choose the drink of a started order.
    choose_drink / ChooseDrink (shop: ShopId, order_id: OrderId, drink: DrinkChoice) -> Order =
        |client| client.choose_drink(&shop, &order_id, &drink).await;
    /// Cancel an order (the customer's own, or any as staff).
    cancel_order / CancelOrder (shop: ShopId, order_id: OrderId, reason: Option<String>) -> Order =
        |client| client.cancel_order(&shop, &order_id, reason.as_deref()).await;
    /// One order and its journey.
    order / Order (shop: ShopId, order_id: OrderId) -> OrderDetail =
        |client| client.order(&shop, &order_id).await;
    /// The signed-in customer's orders, newest first.
    my_orders / MyOrders () -> Vec<Order> = |client| client.my_orders().await;
    }
    // The staff's calls to the server (the barista app, the booth screen, the owner's console):
    // left out of the customer's web build (see `staff_answer!`).
    staff {
    /// Everyone holding a role beyond customer, by email (admin).
    staff / Staff () -> Vec<StaffMember> = |client| client.staff().await;
    /// Replace a user's roles (admin); `last_admin` if no admin would be left.
    set_roles / SetRoles (email: String, roles: Vec<Role>) -> User =
        |client| client.set_roles(&email, &roles).await;
    /// Every shop by name (staff); archived ones only if `include_archived`.
    shops / Shops (include_archived: bool) -> Vec<ShopSummary> =
        |client| client.shops(include_archived).await;
    /// Give someone staff roles and mail them a link that signs them in (admin).
    invite / Invite (invitation: Invitation) -> User = |client| client.invite(&invitation).await;
    /// Open or close the shop.
    set_shop_open / SetShopOpen (shop: ShopId, open: bool) -> Shop =
        |client| client.set_shop_open(&shop, open).await;
    /// Rename a shop, change its limits (admin), open or close it: fields left out stay.
    patch_shop / PatchShop (shop: ShopId, patch: ShopPatch) -> Shop =
        |client| client.patch_shop(&shop, &patch).await;
    /// Replace the shop's whole menu, in order (admin).
    put_menu / PutMenu (shop: ShopId, menu: Vec<MenuItem>) -> Shop =
        |client| client.put_menu(&shop, &menu).await;
    /// A new shop: a second counter or tomorrow's event (admin).
    create_shop / CreateShop (new_shop: NewShop) -> Shop =
        |client| client.create_shop(&new_shop).await;
    /// 86 a drink (`available: false`) or bring it back.
    set_item_available / SetItemAvailable (shop: ShopId, item_id: String, available: bool) -> Shop =
        |client| client.set_item_available(&shop, &item_id, available).await;
    /// 86 one option of a drink's group (`available: false`, e.g. oat milk) or bring it back.
    set_option_available / SetOptionAvailable (shop: ShopId, item_id: String, modifier_id: String,
        option: String, available: bool) -> Shop =
        |client| client.set_option_available(&shop, &item_id, &modifier_id, &option, available)
            .await;
    /// The shop's numbers today.
    stats / Stats (shop: ShopId) -> Stats = |client| client.stats(&shop).await;
    /// Whether the booth demo (a gentle stream of demo orders) runs at the shop (admin).
    demo / Demo (shop: ShopId) -> DemoState = |client| client.demo(&shop).await;
    /// Start or stop the booth demo at the shop (admin).
    set_demo / SetDemo (shop: ShopId, running: bool) -> DemoState =
        |client| client.set_demo(&shop, running).await;
    /// The booth's current QR code (display, staff).
    booth_code / BoothCode (shop: ShopId) -> BoothCode = |client| client.booth_code(&shop).await;
    /// A new booth code now (admin); the old one stops at once, the booth screen shows the new.
    rotate_booth_code / RotateBoothCode (shop: ShopId) -> BoothCode =
        |client| client.rotate_booth_code(&shop).await;
    /// A barista's move on an order: claim, unclaim, complete, collect.
    order_action / OrderAction (shop: ShopId, order_id: OrderId, action: StaffAction) -> Order =
        |client| client.act(&shop, &order_id, action).await;
    /// The shop's orders in `states` (empty: the ones on the bar).
    orders / Orders (shop: ShopId, states: Vec<OrderState>, limit: Option<u32>) -> Vec<Order> =
        |client| client.orders(&shop, &states, limit).await;
    /// The shop's orders of the business days `from` to `to` (`YYYY-MM-DD`; each defaults to
    /// today at the shop) as CSV with a header row (admin).
    orders_csv / OrdersCsv (shop: ShopId, from: Option<String>, to: Option<String>) -> String =
        |client| client.orders_csv(&shop, from.as_deref(), to.as_deref()).await;
    /// The shop's numbers for the business days `from` to `to` (`YYYY-MM-DD`; each defaults
    /// to today at the shop), in total and per day (admin).
    stats_report / StatsReport (shop: ShopId, from: Option<String>, to: Option<String>)
        -> StatsReport =
        |client| client.stats_report(&shop, from.as_deref(), to.as_deref()).await;
    /// The daily summary of those days as CSV, one row per day with a header row (admin).
    days_csv / DaysCsv (shop: ShopId, from: Option<String>, to: Option<String>) -> String =
        |client| client.days_csv(&shop, from.as_deref(), to.as_deref()).await;
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use serde_json::json;

    use super::*;

    /// A host as a test needs it: a server that refuses connections, a permission, a log of
    /// what it was asked.
    struct TestHost {
        asked: RefCell<Vec<String>>,
    }

    impl Host for TestHost {
        fn client(&self) -> Result<Client, ClientError> {
            // Port 9 (discard) on loopback refuses connections.
            Ok(Client::new("http://127.0.0.1:9")?.with_retry(crate::RetryPolicy::never()))
        }
        async fn server_url(&self) -> Result<String, ClientError> {
            Ok("http://127.0.0.1:9".into())
        }
        async fn set_server(&self, url: String, shop: String) -> Result<(), ClientError> {
            self.asked
                .borrow_mut()
                .push(format!("set_server {url} {shop}"));
            Ok(())
        }
        async fn set_shop(&self, shop: String) -> Result<(), ClientError> {
            Err(ClientError::BadUrl(format!("not {shop} here")))
        }
        async fn notify(&self, title: String, body: String) -> Result<(), ClientError> {
            self.asked
                .borrow_mut()
                .push(format!("notify {title}: {body}"));
            Ok(())
        }
        async fn notification_permission(&self) -> Result<NotifyPermission, ClientError> {
            Ok(NotifyPermission::Ask)
        }
        async fn request_notification_permission(&self) -> Result<NotifyPermission, ClientError> {
            Ok(NotifyPermission::Granted)
        }
        async fn quit_app(&self) -> Result<(), ClientError> {
            Ok(())
        }
    }

    /// The shell's way: the call and its answer cross as JSON, as between the UI and the shell.
    struct OverJson(TestHost);

    impl Transport for OverJson {
        fn send(&self, call: Call) -> LocalBoxFuture<'_, Result<Reply, ClientError>> {
            Box::pin(async move {
                let sent = serde_json::to_string(&call).expect("a call serialises");
                let received: Call = serde_json::from_str(&sent).expect("and reads back");
                let answer = received.run(&self.0).await;
                let sent = serde_json::to_string(&answer).expect("an answer serialises");
                serde_json::from_str::<Result<Reply, ClientError>>(&sent).expect("and reads back")
            })
        }
    }

    fn host() -> TestHost {
        TestHost {
            asked: RefCell::new(Vec::new()),
        }
    }

    #[test]
    fn a_call_is_its_name_and_its_arguments_and_the_answer_is_tagged_with_the_name() {
        let call = Call::RequestCode {
            email: "ann@example.com".into(),
            link_to: None,
            lang: None,
        };
        assert_eq!(call.name(), "request_code");
        assert_eq!(
            serde_json::to_value(&call).unwrap(),
            json!({ "call": "request_code", "email": "ann@example.com", "link_to": null, "lang": null })
        );
        assert_eq!(
            serde_json::from_value::<Call>(
                json!({ "call": "request_code", "email": "ann@example.com" })
            )
            .unwrap(),
            call,
            "an optional argument may be left out"
        );
        assert_eq!(
            serde_json::from_value::<Call>(json!({ "call": "my_orders" })).unwrap(),
            Call::MyOrders {}
        );
        // An argument the call does not take is refused, as is an unknown call.
        assert!(serde_json::from_value::<Call>(json!({ "call": "user", "app": "x" })).is_err());
        assert!(serde_json::from_value::<Call>(json!({ "call": "launch" })).is_err());
        let reply = Reply::NotificationPermission(NotifyPermission::Ask);
        assert_eq!(reply.name(), "notification_permission");
        assert_eq!(
            serde_json::to_value(&reply).unwrap(),
            json!({ "notification_permission": "ask" })
        );
    }

    #[tokio::test]
    async fn typed_calls_keep_their_types_across_the_boundary() {
        let backend = OverJson(host());
        assert_eq!(
            backend.notification_permission().await,
            Ok(NotifyPermission::Ask)
        );
        assert_eq!(
            backend.request_notification_permission().await,
            Ok(NotifyPermission::Granted)
        );
        assert_eq!(
            backend.server_url().await.as_deref(),
            Ok("http://127.0.0.1:9")
        );
        backend
            .set_server("http://cafe:8080".into(), "main".into())
            .await
            .unwrap();
        backend
            .notify("Ready".into(), "Your flat white".into())
            .await
            .unwrap();
        assert_eq!(
            *backend.0.asked.borrow(),
            [
                "set_server http://cafe:8080 main",
                "notify Ready: Your flat white"
            ]
        );
        // The host's refusal and the client's arrive as the same errors.
        assert_eq!(
            backend.set_shop("pop-up".into()).await,
            Err(ClientError::BadUrl("not pop-up here".into()))
        );
        let error = backend.health().await.unwrap_err();
        assert!(error.is_transient(), "{error}");
        // A call that needs no network answers from the saved session.
        assert_eq!(backend.user().await, Ok(None));
    }

    #[tokio::test]
    async fn an_answer_to_another_call_is_a_decode_error_not_a_panic() {
        struct Confused;
        impl Transport for Confused {
            fn send(&self, _call: Call) -> LocalBoxFuture<'_, Result<Reply, ClientError>> {
                Box::pin(async { Ok(Reply::QuitApp(())) })
            }
        }
        let error = Confused.me().await.unwrap_err();
        assert!(matches!(error, ClientError::Decode(_)), "{error}");
        assert!(error.to_string().contains("`me`"), "{error}");
    }
}
