//! A push service the tests run themselves (axum on 127.0.0.1:0) and the subscriber's side of
//! RFC 8291: the server's Web Push goes to this service (the server started with
//! `push_to_loopback_http`), which hands each message to the test, and the test decrypts it
//! with the subscription's private key and auth secret, as the browser would.
//!
//! Shared by the server's push suite (`server/tests/push.rs`, which includes this file as a
//! module) and the browser's (`tests/tests/push.rs`, through this crate), so one copy of the
//! decryption checks both.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::{PublicKey, SecretKey};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;

/// One request the push service received.
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A push service on loopback: every `POST /push/{id}` is handed to the test and answered with
/// `status` (201 unless the test changes it, e.g. to 410 for a gone subscription).
pub struct PushService {
    /// `http://127.0.0.1:<port>`; subscription endpoints are `{url}/push/{id}`.
    pub url: String,
    pub status: Arc<AtomicU16>,
    received: mpsc::UnboundedReceiver<Received>,
}

impl PushService {
    pub async fn start() -> std::io::Result<Self> {
        let (tx, received) = mpsc::unbounded_channel();
        let status = Arc::new(AtomicU16::new(201));
        let answer = Arc::clone(&status);
        let app = axum::Router::new().route(
            "/push/{id}",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let tx = tx.clone();
                let answer = Arc::clone(&answer);
                async move {
                    let _ = tx.send(Received { headers, body });
                    StatusCode::from_u16(answer.load(Ordering::SeqCst))
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            url,
            status,
            received,
        })
    }

    /// The next message pushed to any endpoint of this service, waiting up to `deadline`.
    pub async fn next_within(&mut self, deadline: Duration) -> Result<Received, String> {
        tokio::time::timeout(deadline, self.received.recv())
            .await
            .map_err(|_| format!("no push within {deadline:?}"))?
            .ok_or_else(|| "the push service stopped".to_owned())
    }
}

/// The browser's side of a subscription: its P-256 key pair and 16-byte auth secret.
pub struct Subscriber {
    secret: SecretKey,
    auth: [u8; 16],
}

impl Subscriber {
    /// A subscriber with fresh keys.
    pub fn new() -> Self {
        let mut auth = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut auth);
        loop {
            let mut bytes = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            if let Ok(secret) = SecretKey::from_slice(&bytes) {
                return Self { secret, auth };
            }
        }
    }

    /// The keys a browser made: the private scalar (32 bytes, e.g. a JWK's `d`) and the auth
    /// secret (16 bytes).
    pub fn from_keys(secret: &[u8], auth: &[u8]) -> Result<Self, String> {
        Ok(Self {
            secret: SecretKey::from_slice(secret).map_err(|e| format!("private key: {e}"))?,
            auth: auth
                .try_into()
                .map_err(|_| format!("an auth secret of {} bytes, not 16", auth.len()))?,
        })
    }

    /// The public key as the subscription gives it (`p256dh`): an uncompressed point.
    pub fn public(&self) -> Vec<u8> {
        self.secret
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    /// The subscription as `POST /push/subscriptions` takes it.
    pub fn subscription(&self, endpoint: &str) -> Value {
        json!({
            "endpoint": endpoint,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(self.public()),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            }
        })
    }

    /// RFC 8291 §3.4 / RFC 8188, as a browser decrypts: header, ECDH with the sender's key,
    /// the two HKDFs, AES-128-GCM, then the padding delimiter. An error says what did not fit
    /// (another subscriber's keys fail at the AES-GCM tag).
    pub fn decrypt(&self, body: &[u8]) -> Result<Vec<u8>, String> {
        let header = |range: std::ops::Range<usize>| {
            body.get(range)
                .ok_or_else(|| format!("a body of {} bytes is too short", body.len()))
        };
        let salt = header(0..16)?;
        let record_size = u32::from_be_bytes(
            header(16..20)?
                .try_into()
                .map_err(|_| "record size".to_owned())?,
        );
        let id_len = usize::from(header(20..21)?[0]);
        let key_id = header(21..21 + id_len)?;
        let sender = PublicKey::from_sec1_bytes(key_id).map_err(|e| format!("sender key: {e}"))?;
        let sealed = &body[21 + id_len..];
        if sealed.len() > record_size as usize {
            return Err(format!(
                "more than one record ({} > {record_size})",
                sealed.len()
            ));
        }
        let shared =
            p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), sender.as_affine());
        let mut info = b"WebPush: info\0".to_vec();
        info.extend_from_slice(&self.public());
        info.extend_from_slice(key_id);
        let mut ikm = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&self.auth), shared.raw_secret_bytes())
            .expand(&info, &mut ikm)
            .map_err(|e| e.to_string())?;
        let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
        let mut cek = [0u8; 16];
        prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
            .map_err(|e| e.to_string())?;
        let mut nonce = [0u8; 12];
        prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
            .map_err(|e| e.to_string())?;
        let mut plain = Aes128Gcm::new_from_slice(&cek)
            .map_err(|e| e.to_string())?
            .decrypt(Nonce::from_slice(&nonce), sealed)
            .map_err(|_| "the payload does not decrypt with these keys".to_owned())?;
        // Strip the padding, then the last record's delimiter (2).
        while plain.last() == Some(&0) {
            plain.pop();
        }
        match plain.pop() {
            Some(2) => Ok(plain),
            other => Err(format!("the last record's delimiter is {other:?}, not 2")),
        }
    }
}

impl Default for Subscriber {
    fn default() -> Self {
        Self::new()
    }
}
