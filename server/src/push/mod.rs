//! Web Push: when one of a customer's orders becomes ready, is cancelled or times out, a short
//! message goes to each of that customer's push subscriptions (a phone in a pocket, the page
//! closed). [`Pusher`] follows the committed events ([`Storage::tail`](crate::store::Storage::tail))
//! on its own task, so the writer never waits for a push service; each message is encrypted for
//! its subscription (RFC 8291) and signed for with the server's VAPID key (RFC 8292), which is
//! created at first start beside the database like the server secret.
//!
//! A push service that says the subscription is gone (404, 410) has it removed; other failures
//! are tried again a little, then given up; all of it is counted in `/metrics`.
//! Subscriptions are `https://` endpoints only, never an address of the café's own network
//! (loopback over plain HTTP only for tests, behind a hidden flag).

pub mod crypto;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use espresso_protocol::{EventType, Order, OrderState, PushMessage, PushSubscription, UserId};
use tokio::sync::Semaphore;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

pub use crypto::Vapid;

use crate::store::{Committed, SharedStore};

/// Most subscriptions one customer keeps (a phone, a tablet, a laptop…); a new one beyond
/// replaces the oldest.
pub const MAX_SUBSCRIPTIONS_PER_USER: usize = 5;
/// Longest endpoint URL taken.
pub const MAX_ENDPOINT_LEN: usize = 1024;
/// Pushes in flight at once.
const CONCURRENCY: usize = 16;
/// Tries per message (the first and the retries), for failures that may pass.
const ATTEMPTS: u32 = 3;
const RETRY_FIRST: Duration = Duration::from_millis(500);
/// How long a push service keeps an undelivered message (seconds): an order's news is stale
/// after an hour.
const TTL_S: u32 = 3600;

/// What the pusher has done since the process started (`/metrics`).
pub static PUSHES: PushCounts = PushCounts {
    sent: AtomicU64::new(0),
    gone: AtomicU64::new(0),
    retried: AtomicU64::new(0),
    failed: AtomicU64::new(0),
};

pub struct PushCounts {
    /// Accepted by the push service (2xx).
    pub sent: AtomicU64,
    /// The push service said the subscription is gone (404/410): removed.
    pub gone: AtomicU64,
    /// Attempts that failed for a reason that may pass, tried again.
    pub retried: AtomicU64,
    /// Given up on (refused, or still failing after the retries).
    pub failed: AtomicU64,
}

/// How the server pushes: its VAPID key, the `sub` of its JWTs, and whether plain-HTTP
/// loopback endpoints are allowed (tests only).
#[derive(Debug, Clone)]
pub struct PushConfig {
    pub vapid: Vapid,
    /// A contact for push services (`mailto:` or `https:`).
    pub subject: String,
    pub allow_loopback_http: bool,
}

impl PushConfig {
    /// A throwaway key (tests, a throwaway database).
    pub fn for_tests() -> Self {
        Self {
            vapid: Vapid::random(),
            subject: "mailto:push@espresso.invalid".into(),
            allow_loopback_http: false,
        }
    }
}

/// Read the VAPID key from `path`, or create it there (0600, its folder 0700) on first start.
pub fn load_or_create_vapid(path: &std::path::Path) -> anyhow::Result<Vapid> {
    use anyhow::Context as _;
    match std::fs::read_to_string(path) {
        Ok(text) => {
            crate::private::restrict_path(path)
                .with_context(|| format!("cannot restrict {}", path.display()))?;
            let bytes = crypto::unb64(text.trim());
            bytes
                .as_deref()
                .and_then(Vapid::from_secret_bytes)
                .with_context(|| format!("{} is not a VAPID key this server wrote", path.display()))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent()
                && !parent.as_os_str().is_empty()
            {
                crate::private::create_dir(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            let vapid = Vapid::random();
            let text = crypto::b64(&vapid.secret_bytes());
            match crate::private::write_new(path, text.as_bytes()) {
                Ok(()) => Ok(vapid),
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_or_create_vapid(path)
                }
                Err(error) => {
                    Err(error).with_context(|| format!("cannot write {}", path.display()))
                }
            }
        }
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Why a subscription is refused (said in the 422's `detail`).
pub fn check_subscription(
    subscription: &PushSubscription,
    allow_loopback_http: bool,
) -> Result<crypto::Receiver, String> {
    let endpoint = &subscription.endpoint;
    if endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(format!("endpoint: at most {MAX_ENDPOINT_LEN} characters"));
    }
    let url = url::Url::parse(endpoint).map_err(|_| "endpoint: not a URL".to_owned())?;
    check_endpoint(&url, allow_loopback_http)?;
    crypto::Receiver::parse(&subscription.keys.p256dh, &subscription.keys.auth).ok_or_else(|| {
        "keys: p256dh must be a P-256 public key and auth 16 bytes, both base64url".to_owned()
    })
}

/// An endpoint the server may call: `https://` to a name or a public address, never into the
/// local network (SSRF); `http://` to loopback only when allowed (tests).
fn check_endpoint(url: &url::Url, allow_loopback_http: bool) -> Result<(), String> {
    let host = url.host().ok_or_else(|| "endpoint: no host".to_owned())?;
    let ip = match host {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    };
    let loopback = ip.is_some_and(|ip| ip.is_loopback());
    if !url.username().is_empty() || url.password().is_some() {
        return Err("endpoint: no credentials in the URL".into());
    }
    match url.scheme() {
        "http" if allow_loopback_http && loopback => Ok(()),
        "https" => match ip {
            Some(ip) if !is_public(ip) => Err("endpoint: not a public address".into()),
            _ => {
                let name = url.host_str().unwrap_or("").to_ascii_lowercase();
                if name == "localhost" || name.ends_with(".localhost") || name.ends_with(".local") {
                    Err("endpoint: not a public host".into())
                } else {
                    Ok(())
                }
            }
        },
        _ => Err("endpoint: must be https://".into()),
    }
}

/// A global unicast address (not loopback, private, link-local, unique-local, unspecified…).
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => {
            !(ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.is_documentation()
                || ip.is_multicast()
                || ip.octets()[0] == 0
                || (ip.octets()[0] == 100 && (ip.octets()[1] & 0xc0) == 64))
        }
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = ip.segments()[0];
            !(ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// The news an event brings a customer, if any: ready, cancelled, timed out.
pub fn message_for(
    event_kind: EventType,
    order: &Order,
    shop_name: &str,
    public_url: &str,
) -> Option<PushMessage> {
    let number = order.number.map(|n| format!(" #{n}")).unwrap_or_default();
    let (title, body) = match (event_kind, order.state) {
        (EventType::OrderCompleted, OrderState::Ready) => (
            format!("Your order{number} is ready"),
            format!("Pick it up at the bar of {shop_name}."),
        ),
        (EventType::OrderCancelled, _) => (
            format!("Your order{number} was cancelled"),
            format!("{shop_name}: open the app to see why."),
        ),
        (EventType::OrderTimedOut, _) => (
            format!("Your order{number} timed out"),
            format!("{shop_name}: scan the code on the big screen to order again."),
        ),
        _ => return None,
    };
    Some(PushMessage {
        title,
        body,
        order_id: order.id.clone(),
        number: order.number,
        state: order.state,
        shop: order.shop.clone(),
        shop_name: shop_name.to_owned(),
        url: format!(
            "{}/order?shop={}",
            public_url.trim_end_matches('/'),
            order.shop
        ),
        tag: format!("order-{}", order.id),
    })
}

/// Follows the committed events and pushes customers' order news.
pub struct Pusher {
    store: SharedStore,
    config: PushConfig,
    http: reqwest::Client,
    slots: Arc<Semaphore>,
}

impl Pusher {
    /// Start following the store's tail on a task of its own.
    pub fn spawn(store: SharedStore, config: PushConfig) -> anyhow::Result<JoinHandle<()>> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            // A redirect could lead anywhere, the café's network included.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let pusher = Arc::new(Self {
            store,
            config,
            http,
            slots: Arc::new(Semaphore::new(CONCURRENCY)),
        });
        let mut tail = pusher.store.tail();
        Ok(tokio::spawn(async move {
            loop {
                match tail.recv().await {
                    Ok(committed) => pusher.follow(committed),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "push: fell behind the event tail");
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        }))
    }

    /// One committed event: push it to its customer if it is news for them. Never waits.
    fn follow(self: &Arc<Self>, committed: Committed) {
        let event = &committed.event;
        if !matches!(
            event.kind,
            EventType::OrderCompleted | EventType::OrderCancelled | EventType::OrderTimedOut
        ) {
            return;
        }
        let (Some(order), Some(customer)) = (event.order.as_ref(), committed.customer_id.as_ref())
        else {
            return;
        };
        if !self.store.may_have_push_subscriptions(customer) {
            return;
        }
        let (order, customer) = (order.clone(), customer.clone());
        let kind = event.kind;
        let pusher = Arc::clone(self);
        tokio::spawn(async move {
            pusher.notify(kind, &order, &customer).await;
        });
    }

    async fn notify(&self, kind: EventType, order: &Order, customer: &UserId) {
        let subscriptions = match self.store.push_subscriptions_of(customer).await {
            Ok(list) if list.is_empty() => return,
            Ok(list) => list,
            Err(error) => {
                tracing::warn!(%error, "push: cannot read subscriptions");
                return;
            }
        };
        let shop_name = match self.store.shop(&order.shop).await {
            Ok(shop) => shop.name,
            Err(_) => order.shop.to_string(),
        };
        let Some(message) = message_for(kind, order, &shop_name, self.store.public_url()) else {
            return;
        };
        let Ok(payload) = serde_json::to_vec(&message) else {
            return;
        };
        for subscription in subscriptions {
            let Ok(_slot) = self.slots.acquire().await else {
                return;
            };
            self.deliver(customer, &subscription, &payload).await;
        }
    }

    /// Push `payload` to one subscription, trying again a little on failures that may pass.
    async fn deliver(&self, customer: &UserId, subscription: &PushSubscription, payload: &[u8]) {
        let receiver = match check_subscription(subscription, self.config.allow_loopback_http) {
            Ok(receiver) => receiver,
            Err(why) => {
                tracing::warn!(why, "push: a stored subscription is not valid any more");
                PUSHES.failed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let Ok(url) = url::Url::parse(&subscription.endpoint) else {
            return;
        };
        let audience = url.origin().ascii_serialization();
        let mut wait = RETRY_FIRST;
        for attempt in 1..=ATTEMPTS {
            let outcome = self.send_once(&url, &audience, &receiver, payload).await;
            match outcome {
                Outcome::Sent => {
                    PUSHES.sent.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Outcome::Gone => {
                    PUSHES.gone.fetch_add(1, Ordering::Relaxed);
                    if let Err(error) = self
                        .store
                        .remove_push_subscription(Some(customer), &subscription.endpoint)
                        .await
                    {
                        tracing::warn!(%error, "push: cannot remove a gone subscription");
                    }
                    return;
                }
                Outcome::Refused(status) => {
                    tracing::warn!(status, "push: refused");
                    PUSHES.failed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Outcome::Retry(why) if attempt < ATTEMPTS => {
                    tracing::debug!(why, attempt, "push: will try again");
                    PUSHES.retried.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(wait).await;
                    wait *= 4;
                }
                Outcome::Retry(why) => {
                    tracing::warn!(why, "push: given up");
                    PUSHES.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    async fn send_once(
        &self,
        url: &url::Url,
        audience: &str,
        receiver: &crypto::Receiver,
        payload: &[u8],
    ) -> Outcome {
        let body = match crypto::encrypt(receiver, payload) {
            Ok(body) => body,
            Err(why) => {
                tracing::warn!(why, "push: cannot encrypt");
                return Outcome::Refused(0);
            }
        };
        let expires = Utc::now().timestamp() + 12 * 3600;
        let authorization =
            self.config
                .vapid
                .authorization(audience, &self.config.subject, expires);
        let sent = self
            .http
            .post(url.clone())
            .header("Authorization", authorization)
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("TTL", TTL_S.to_string())
            .header("Urgency", "high")
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                match status {
                    200..=299 => Outcome::Sent,
                    404 | 410 => Outcome::Gone,
                    429 | 500..=599 => Outcome::Retry(format!("status {status}")),
                    _ => Outcome::Refused(status),
                }
            }
            Err(error) => Outcome::Retry(error.to_string()),
        }
    }
}

enum Outcome {
    Sent,
    Gone,
    Refused(u16),
    Retry(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription(endpoint: &str) -> PushSubscription {
        let key = crypto::random_secret();
        PushSubscription {
            endpoint: endpoint.into(),
            keys: espresso_protocol::PushKeys {
                p256dh: crypto::b64(&crypto::public_bytes(&key.public_key())),
                auth: crypto::b64(&[7u8; 16]),
            },
        }
    }

    #[test]
    fn endpoints_are_https_to_the_internet_and_never_into_the_local_network() {
        let ok = |e: &str, loopback| check_subscription(&subscription(e), loopback).is_ok();
        assert!(ok("https://fcm.googleapis.com/fcm/send/abc", false));
        assert!(ok(
            "https://updates.push.services.mozilla.com/wpush/v2/x",
            false
        ));
        assert!(!ok("http://fcm.googleapis.com/fcm/send/abc", false));
        for local in [
            "https://127.0.0.1/x",
            "https://10.0.0.5/x",
            "https://192.168.1.1/x",
            "https://172.16.0.1/x",
            "https://169.254.169.254/latest",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[::ffff:10.0.0.1]/x",
            "https://localhost/x",
            "https://printer.local/x",
            "https://0.0.0.0/x",
            "ftp://push.example.com/x",
            "https://user:pw@push.example.com/x",
        ] {
            assert!(!ok(local, false), "{local}");
            assert!(!ok(local, true), "{local}");
        }
        assert!(!ok("http://127.0.0.1:9/x", false));
        assert!(ok("http://127.0.0.1:9/x", true));
        assert!(!ok("http://10.0.0.1:9/x", true));
        let mut bad = subscription("https://push.example.com/x");
        bad.keys.auth = crypto::b64(&[1u8; 15]);
        assert!(check_subscription(&bad, false).is_err());
        bad.keys.auth = crypto::b64(&[1u8; 16]);
        bad.keys.p256dh = crypto::b64(&[4u8; 65]);
        assert!(check_subscription(&bad, false).is_err());
    }

    #[test]
    fn a_vapid_key_is_kept_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db").join("espresso.db.vapid");
        let first = load_or_create_vapid(&path).unwrap();
        let again = load_or_create_vapid(&path).unwrap();
        assert_eq!(first.public_key(), again.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
