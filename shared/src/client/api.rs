//! Every route of API.md as a typed method of [`Client`], in the order API.md lists them.
//! Each method only builds the request and reads the answer; the server decides.

use reqwest::Method;

use super::transport::{Auth, Call};
use super::{Client, ClientError, StaffAction};
use crate::protocol::{
    BoothCode, CancelOrder, DemoState, DrinkChoice, Health, Invitation, LinkSignIn, LinkTo, Me,
    MePatch, MenuItem, MenuItemPatch, NewShop, OptionAvailability, Order, OrderDetail, OrderList,
    OrderState, OtpChallenge, OtpRequest, OtpVerify, PassRequest, PushKey, PushSubscription,
    PushUnsubscribe, Role, RolesUpdate, ScanPass, Session, Shop, ShopPatch, ShopSummary,
    StaffMember, StartOrder, Stats, StatsReport, User,
};
use crate::protocol::{OrderId, ShopId};

impl Client {
    /// `GET /healthz`: is the server up, and which version is it. Not retried: it is the
    /// question "is it up right now".
    pub async fn health(&self) -> Result<Health, ClientError> {
        let call = Call::new(Method::GET, self.url("healthz")?, Auth::Anonymous);
        let once = self.clone().with_retry(super::RetryPolicy::never());
        once.exchange(call).await?.json()
    }

    // --- Auth -----------------------------------------------------------------------------

    /// `POST /auth/otp`: email a one-time code to `email`. The answer is the same whether or
    /// not the email is known. Refused with `rate_limited` when asked too often.
    pub async fn request_code(&self, email: &str) -> Result<OtpChallenge, ClientError> {
        self.request_code_linked(email, None).await
    }

    /// [`Self::request_code`], the mail also linking to `link_to` (the app and shop asking),
    /// where the link signs in (see [`espresso_protocol::parse_otp_link`]).
    pub async fn request_code_linked(
        &self,
        email: &str,
        link_to: Option<LinkTo>,
    ) -> Result<OtpChallenge, ClientError> {
        self.request_code_in(email, link_to, None).await
    }

    /// [`Self::request_code_linked`], the mail written in `lang` (the app's language: `pt`
    /// for Portuguese, else English).
    pub async fn request_code_in(
        &self,
        email: &str,
        link_to: Option<LinkTo>,
        lang: Option<String>,
    ) -> Result<OtpChallenge, ClientError> {
        let call = Call::new(Method::POST, self.api(&["auth", "otp"])?, Auth::Anonymous)
            .json(&OtpRequest::new(email, link_to).in_language(lang))?;
        self.exchange(call).await?.json()
    }

    /// `POST /auth/otp/verify`: sign in with the code from the email. The session is kept (and
    /// saved to the store) and also returned. Refused with `code_incorrect` (see the problem's
    /// `attempts_left`), `code_expired` or `code_locked`.
    pub async fn verify_code(
        &self,
        challenge_id: &str,
        code: &str,
    ) -> Result<Session, ClientError> {
        let call = Call::new(
            Method::POST,
            self.api(&["auth", "otp", "verify"])?,
            Auth::Anonymous,
        )
        .json(&OtpVerify {
            challenge_id: challenge_id.to_owned(),
            code: code.trim().to_owned(),
        })?;
        let session: Session = self.exchange(call).await?.json()?;
        self.set_session(Some(session.clone()));
        Ok(session)
    }

    /// `POST /auth/link`: sign in with the token of an invitation's link (its `signin`
    /// parameter). The session is kept (and saved to the store) and also returned, as
    /// [`Client::verify_code`]'s. Refused with `code_expired` (used, or over 24 hours old) or
    /// `code_invalid`.
    pub async fn sign_in_with_link(&self, token: &str) -> Result<Session, ClientError> {
        let call = Call::new(Method::POST, self.api(&["auth", "link"])?, Auth::Anonymous).json(
            &LinkSignIn {
                token: token.trim().to_owned(),
            },
        )?;
        let session: Session = self.exchange(call).await?.json()?;
        self.set_session(Some(session.clone()));
        Ok(session)
    }

    /// `POST /auth/refresh`: trade the refresh token for a new pair now. Calls do this by
    /// themselves when the access token has expired; an app rarely needs it. A refusal ends the
    /// session ([`ClientError::SignedOut`]).
    pub async fn refresh(&self) -> Result<Session, ClientError> {
        let _turn = self.auth.refreshing.lock().await;
        let refresh_token = self.session().ok_or(ClientError::SignedOut)?.refresh_token;
        self.refresh_with(refresh_token).await
    }

    /// `POST /auth/logout`: end the session on the server, then forget it here. It is
    /// forgotten here even if the server could not be told (the error is still returned).
    pub async fn sign_out(&self) -> Result<(), ClientError> {
        if !self.is_signed_in() {
            return Ok(());
        }
        let call = Call::new(Method::POST, self.api(&["auth", "logout"])?, Auth::Required);
        let told = self.exchange(call).await.and_then(|answer| answer.empty());
        self.set_session(None);
        match told {
            // Already ended on the server: that is what was wanted.
            Err(ClientError::SignedOut) => Ok(()),
            other => other,
        }
    }

    /// `GET /push/key`: the server's Web Push (VAPID) public key, for `pushManager.subscribe`.
    pub async fn push_key(&self) -> Result<PushKey, ClientError> {
        let call = Call::new(Method::GET, self.api(&["push", "key"])?, Auth::Anonymous);
        self.exchange(call).await?.json()
    }

    /// `POST /push/subscriptions`: push the signed-in customer's order news (ready, cancelled,
    /// timed out) to this browser subscription.
    pub async fn push_subscribe(&self, subscription: &PushSubscription) -> Result<(), ClientError> {
        let url = self.api(&["push", "subscriptions"])?;
        let call = Call::new(Method::POST, url, Auth::Required).json(subscription)?;
        self.exchange(call).await?.empty()
    }

    /// `DELETE /push/subscriptions`: stop pushing to this endpoint.
    pub async fn push_unsubscribe(&self, endpoint: &str) -> Result<(), ClientError> {
        let url = self.api(&["push", "subscriptions"])?;
        let body = PushUnsubscribe {
            endpoint: endpoint.to_owned(),
        };
        let call = Call::new(Method::DELETE, url, Auth::Required).json(&body)?;
        self.exchange(call).await?.empty()
    }

    /// `GET /me`: who is signed in, with roles and display name.
    pub async fn me(&self) -> Result<Me, ClientError> {
        let call = Call::new(Method::GET, self.api(&["me"])?, Auth::Required);
        self.exchange(call).await?.json()
    }

    /// `PATCH /me`: set the name called out at pickup (≤ 32 characters), or clear it with `None`.
    pub async fn set_display_name(&self, name: Option<&str>) -> Result<Me, ClientError> {
        let patch = MePatch {
            display_name: Some(name.map(str::to_owned)),
        };
        let call = Call::new(Method::PATCH, self.api(&["me"])?, Auth::Required).json(&patch)?;
        self.exchange(call).await?.json()
    }

    /// `PUT /users/{email}/roles` (admin): replace the user's roles.
    pub async fn set_roles(&self, email: &str, roles: &[Role]) -> Result<User, ClientError> {
        let url = self.api(&["users", email, "roles"])?;
        let call = Call::new(Method::PUT, url, Auth::Required).json(&RolesUpdate {
            roles: roles.to_vec(),
        })?;
        self.exchange(call).await?.json()
    }

    /// `GET /staff` (admin): everyone holding a role beyond `customer`, by email.
    pub async fn staff(&self) -> Result<Vec<StaffMember>, ClientError> {
        let call = Call::new(Method::GET, self.api(&["staff"])?, Auth::Required);
        self.exchange(call).await?.json()
    }

    /// `POST /staff/invitations` (admin): give `invitation.email` those roles and mail them a
    /// link that signs them in to the shop's app.
    pub async fn invite(&self, invitation: &Invitation) -> Result<User, ClientError> {
        let url = self.api(&["staff", "invitations"])?;
        let call = Call::new(Method::POST, url, Auth::Required).json(invitation)?;
        self.exchange(call).await?.json()
    }

    // --- Shop -----------------------------------------------------------------------------

    /// `GET /shops` (staff): every shop by name, archived ones only if `include_archived`.
    pub async fn shops(&self, include_archived: bool) -> Result<Vec<ShopSummary>, ClientError> {
        let mut url = self.api(&["shops"])?;
        if include_archived {
            url.query_pairs_mut().append_pair("archived", "true");
        }
        self.exchange(Call::new(Method::GET, url, Auth::Required))
            .await?
            .json()
    }

    /// `GET /shops/{shop}`: the shop, open or not, with its menu and limits.
    pub async fn shop(&self, shop: &ShopId) -> Result<Shop, ClientError> {
        let call = Call::new(Method::GET, self.api(&["shops", shop])?, Auth::IfSignedIn);
        self.exchange(call).await?.json()
    }

    /// `POST /shops` (admin): a new shop, closed, with the original's menu.
    pub async fn create_shop(&self, shop: &NewShop) -> Result<Shop, ClientError> {
        let call = Call::new(Method::POST, self.api(&["shops"])?, Auth::Required).json(shop)?;
        self.exchange(call).await?.json()
    }

    /// `PATCH /shops/{shop}`: a barista may change `open`; an admin also `name` and `limits`.
    pub async fn patch_shop(&self, shop: &ShopId, patch: &ShopPatch) -> Result<Shop, ClientError> {
        let call =
            Call::new(Method::PATCH, self.api(&["shops", shop])?, Auth::Required).json(patch)?;
        self.exchange(call).await?.json()
    }

    /// Open or close the shop (barista).
    pub async fn set_shop_open(&self, shop: &ShopId, open: bool) -> Result<Shop, ClientError> {
        let patch = ShopPatch {
            open: Some(open),
            ..ShopPatch::default()
        };
        self.patch_shop(shop, &patch).await
    }

    /// `PUT /shops/{shop}/menu` (admin): replace the whole menu.
    pub async fn put_menu(&self, shop: &ShopId, menu: &[MenuItem]) -> Result<Shop, ClientError> {
        let url = self.api(&["shops", shop, "menu"])?;
        let call = Call::new(Method::PUT, url, Auth::Required).json(&menu)?;
        self.exchange(call).await?.json()
    }

    /// `PATCH /shops/{shop}/menu/{item}` (barista): "86" a drink (`false`) or bring it back.
    pub async fn set_item_available(
        &self,
        shop: &ShopId,
        item_id: &str,
        available: bool,
    ) -> Result<Shop, ClientError> {
        let url = self.api(&["shops", shop, "menu", item_id])?;
        let call =
            Call::new(Method::PATCH, url, Auth::Required).json(&MenuItemPatch { available })?;
        self.exchange(call).await?.json()
    }

    /// `PATCH /shops/{shop}/menu/{item}/modifiers/{modifier}` (barista): "86" one option of a
    /// drink's group (`false`, e.g. oat milk is out) or bring it back.
    pub async fn set_option_available(
        &self,
        shop: &ShopId,
        item_id: &str,
        modifier_id: &str,
        option: &str,
        available: bool,
    ) -> Result<Shop, ClientError> {
        let url = self.api(&["shops", shop, "menu", item_id, "modifiers", modifier_id])?;
        let call = Call::new(Method::PATCH, url, Auth::Required).json(&OptionAvailability {
            option: option.to_owned(),
            available,
        })?;
        self.exchange(call).await?.json()
    }

    /// `GET /shops/{shop}/stats`: queue length, waits, what was served today.
    pub async fn stats(&self, shop: &ShopId) -> Result<Stats, ClientError> {
        let url = self.api(&["shops", shop, "stats"])?;
        self.exchange(Call::new(Method::GET, url, Auth::IfSignedIn))
            .await?
            .json()
    }

    /// `GET /shops/{shop}/demo` (admin): whether the booth demo runs at the shop.
    pub async fn demo(&self, shop: &ShopId) -> Result<DemoState, ClientError> {
        let url = self.api(&["shops", shop, "demo"])?;
        self.exchange(Call::new(Method::GET, url, Auth::Required))
            .await?
            .json()
    }

    /// `PUT /shops/{shop}/demo` (admin): start (`true`) or stop the booth demo's gentle stream
    /// of demo orders at the shop.
    pub async fn set_demo(&self, shop: &ShopId, running: bool) -> Result<DemoState, ClientError> {
        let url = self.api(&["shops", shop, "demo"])?;
        let call = Call::new(Method::PUT, url, Auth::Required).json(&DemoState { running })?;
        self.exchange(call).await?.json()
    }

    /// `GET /shops/{shop}/code` (display, barista): the booth code the QR code shows now.
    pub async fn booth_code(&self, shop: &ShopId) -> Result<BoothCode, ClientError> {
        let url = self.api(&["shops", shop, "code"])?;
        self.exchange(Call::new(Method::GET, url, Auth::Required))
            .await?
            .json()
    }

    /// `POST /shops/{shop}/code/rotate` (admin): a new booth code now; the one it replaces is
    /// refused from now on (`code_expired`), and the booth screen shows the new one (`code.rotated`).
    pub async fn rotate_booth_code(&self, shop: &ShopId) -> Result<BoothCode, ClientError> {
        let url = self.api(&["shops", shop, "code", "rotate"])?;
        self.exchange(Call::new(Method::POST, url, Auth::Required))
            .await?
            .json()
    }

    // --- Orders ---------------------------------------------------------------------------

    /// `POST /shops/{shop}/orders`: start an order with the scanned booth `code`, and the drink
    /// if already chosen (then it is queued at once). Safe to retry: a dropped answer never
    /// orders twice.
    pub async fn start_order(
        &self,
        shop: &ShopId,
        code: &str,
        drink: Option<DrinkChoice>,
    ) -> Result<Order, ClientError> {
        let url = self.api(&["shops", shop, "orders"])?;
        let call = Call::new(Method::POST, url, Auth::Required).json(&StartOrder {
            code: code.trim().to_owned(),
            pass: None,
            drink,
        })?;
        self.exchange(call).await?.json()
    }

    /// `POST /shops/{shop}/passes` (anonymous): check the booth `code` just scanned, before
    /// signing in. A good code answers a scan pass that holds one of its orders for 10 minutes
    /// ([`Self::start_order_with_pass`]); a bad one the refusal a start with it would get
    /// (`code_invalid`, `code_expired`, `code_exhausted` with `retry_after_s`, `shop_closed`).
    pub async fn scan_pass(&self, shop: &ShopId, code: &str) -> Result<ScanPass, ClientError> {
        let url = self.api(&["shops", shop, "passes"])?;
        let call = Call::new(Method::POST, url, Auth::Anonymous).json(&PassRequest {
            code: code.trim().to_owned(),
        })?;
        self.exchange(call).await?.json()
    }

    /// `POST /shops/{shop}/orders {pass}`: start an order with a scan pass in place of the
    /// booth code (it orders even if the code has rotated or run out since; once). Refused with
    /// `pass_expired` when it is past its time or used.
    pub async fn start_order_with_pass(
        &self,
        shop: &ShopId,
        pass: &str,
        drink: Option<DrinkChoice>,
    ) -> Result<Order, ClientError> {
        let url = self.api(&["shops", shop, "orders"])?;
        let call = Call::new(Method::POST, url, Auth::Required).json(&StartOrder {
            code: String::new(),
            pass: Some(pass.trim().to_owned()),
            drink,
        })?;
        self.exchange(call).await?.json()
    }

    /// `PUT …/orders/{id}/drink` (the customer): choose the drink; the order is queued.
    pub async fn choose_drink(
        &self,
        shop: &ShopId,
        order_id: &OrderId,
        drink: &DrinkChoice,
    ) -> Result<Order, ClientError> {
        let url = self.api(&["shops", shop, "orders", order_id, "drink"])?;
        let call = Call::new(Method::PUT, url, Auth::Required).json(drink)?;
        self.exchange(call).await?.json()
    }

    /// `POST …/orders/{id}/cancel`: the customer before it is being made, a barista before it
    /// is ready.
    pub async fn cancel_order(
        &self,
        shop: &ShopId,
        order_id: &OrderId,
        reason: Option<&str>,
    ) -> Result<Order, ClientError> {
        let url = self.api(&["shops", shop, "orders", order_id, "cancel"])?;
        let call = Call::new(Method::POST, url, Auth::Required).json(&CancelOrder {
            reason: reason.map(str::to_owned),
        })?;
        self.exchange(call).await?.json()
    }

    /// `POST …/orders/{id}/claim` (barista): start making it. `already_claimed` if another did.
    pub async fn claim(&self, shop: &ShopId, order_id: &OrderId) -> Result<Order, ClientError> {
        self.order_action(shop, order_id, "claim").await
    }

    /// `POST …/orders/{id}/unclaim` (the claiming barista, admin): back to the queue.
    pub async fn unclaim(&self, shop: &ShopId, order_id: &OrderId) -> Result<Order, ClientError> {
        self.order_action(shop, order_id, "unclaim").await
    }

    /// `POST …/orders/{id}/complete` (barista): made, ready to collect.
    pub async fn complete(&self, shop: &ShopId, order_id: &OrderId) -> Result<Order, ClientError> {
        self.order_action(shop, order_id, "complete").await
    }

    /// `POST …/orders/{id}/collect` (barista): handed over.
    pub async fn collect(&self, shop: &ShopId, order_id: &OrderId) -> Result<Order, ClientError> {
        self.order_action(shop, order_id, "collect").await
    }

    /// One of the barista's moves by value (what a UI button or a shell command carries).
    pub async fn act(
        &self,
        shop: &ShopId,
        order_id: &OrderId,
        action: StaffAction,
    ) -> Result<Order, ClientError> {
        self.order_action(shop, order_id, action.as_str()).await
    }

    async fn order_action(
        &self,
        shop: &ShopId,
        order_id: &OrderId,
        action: &str,
    ) -> Result<Order, ClientError> {
        let url = self.api(&["shops", shop, "orders", order_id, action])?;
        self.exchange(Call::new(Method::POST, url, Auth::Required))
            .await?
            .json()
    }

    /// `GET /shops/{shop}/orders?state=…&limit=…` (barista, display): the shop's orders in
    /// these states by number. No states: the server's default (the ones on the bar).
    pub async fn orders(
        &self,
        shop: &ShopId,
        states: &[OrderState],
        limit: Option<u32>,
    ) -> Result<Vec<Order>, ClientError> {
        let mut url = self.api(&["shops", shop, "orders"])?;
        {
            let mut query = url.query_pairs_mut();
            if !states.is_empty() {
                let names: Vec<_> = states.iter().map(|s| s.as_str()).collect();
                query.append_pair("state", &names.join(","));
            }
            if let Some(limit) = limit {
                query.append_pair("limit", &limit.to_string());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let list: OrderList = self
            .exchange(Call::new(Method::GET, url, Auth::Required))
            .await?
            .json()?;
        Ok(list.orders)
    }

    /// `GET /shops/{shop}/orders/{id}` (owner, staff): the order and its journey.
    pub async fn order(
        &self,
        shop: &ShopId,
        order_id: &OrderId,
    ) -> Result<OrderDetail, ClientError> {
        let url = self.api(&["shops", shop, "orders", order_id])?;
        self.exchange(Call::new(Method::GET, url, Auth::Required))
            .await?
            .json()
    }

    /// `GET /shops/{shop}/orders.csv?from=…&to=…` (admin): one CSV row per order started on
    /// the business days `from` to `to` (`YYYY-MM-DD`, the shop's time zone; each defaults to
    /// today there), with a header row.
    pub async fn orders_csv(
        &self,
        shop: &ShopId,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<String, ClientError> {
        let url = with_range(self.api(&["shops", shop, "orders.csv"])?, from, to);
        self.exchange(Call::new(Method::GET, url, Auth::Required))
            .await?
            .text()
    }

    /// `GET /shops/{shop}/stats/days?from=…&to=…` (admin): the numbers of the business days
    /// `from` to `to` (`YYYY-MM-DD`, the shop's time zone; each defaults to today there), in
    /// total and per day.
    pub async fn stats_report(
        &self,
        shop: &ShopId,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<StatsReport, ClientError> {
        let url = with_range(self.api(&["shops", shop, "stats", "days"])?, from, to);
        self.exchange(Call::new(Method::GET, url, Auth::Required))
            .await?
            .json()
    }

    /// `GET /shops/{shop}/stats/days.csv?from=…&to=…` (admin): the daily summary of those days
    /// as CSV, one row per day, with a header row.
    pub async fn days_csv(
        &self,
        shop: &ShopId,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<String, ClientError> {
        let url = with_range(self.api(&["shops", shop, "stats", "days.csv"])?, from, to);
        self.exchange(Call::new(Method::GET, url, Auth::Required))
            .await?
            .text()
    }

    /// `GET /me/orders`: the signed-in user's orders, newest first.
    pub async fn my_orders(&self) -> Result<Vec<Order>, ClientError> {
        let url = self.api(&["me", "orders"])?;
        let list: OrderList = self
            .exchange(Call::new(Method::GET, url, Auth::Required))
            .await?
            .json()?;
        Ok(list.orders)
    }
}

/// `url` with `?from=…&to=…` for those given (no `?` when neither is).
fn with_range(mut url: url::Url, from: Option<&str>, to: Option<&str>) -> url::Url {
    {
        let mut query = url.query_pairs_mut();
        if let Some(from) = from {
            query.append_pair("from", from);
        }
        if let Some(to) = to {
            query.append_pair("to", to);
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    url
}
