//! The two pieces of cryptography Web Push needs, on RustCrypto's P-256: the VAPID key and its
//! signed JWT (RFC 8292, ES256), and the message encryption for one subscription (RFC 8291,
//! `aes128gcm` of RFC 8188: ECDH with the subscription's key, HKDF with its auth secret).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use p256::ecdsa::signature::Signer as _;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::{PublicKey, SecretKey};
use rand::RngCore as _;
use sha2::Sha256;

/// base64url without padding (Web Push's encoding of keys and JWT parts).
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// base64url, with or without padding (browsers send either).
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

/// A new random P-256 secret key (from the OS's random numbers).
pub fn random_secret() -> SecretKey {
    loop {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        // Out of range (about 2^-32 of the time) or zero: draw again.
        if let Ok(key) = SecretKey::from_slice(&bytes) {
            return key;
        }
    }
}

/// A public key as 65 uncompressed bytes (`0x04 || x || y`).
pub fn public_bytes(key: &PublicKey) -> Vec<u8> {
    key.to_encoded_point(false).as_bytes().to_vec()
}

/// The subscription's keys, checked: a point on P-256 and a 16-byte auth secret.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub public: PublicKey,
    pub auth: [u8; 16],
}

impl Receiver {
    /// From the base64url `p256dh` and `auth` a browser gives; `None` if they are not keys.
    pub fn parse(p256dh: &str, auth: &str) -> Option<Self> {
        let public = PublicKey::from_sec1_bytes(&unb64(p256dh)?).ok()?;
        let auth: [u8; 16] = unb64(auth)?.try_into().ok()?;
        Some(Self { public, auth })
    }
}

/// Largest payload one `aes128gcm` record of [`RECORD_SIZE`] holds (the delimiter and tag aside).
pub const MAX_PAYLOAD: usize = 3993;
const RECORD_SIZE: u32 = 4096;

/// `payload` encrypted for `to` (RFC 8291 §3.4): the `aes128gcm` body of the push request.
pub fn encrypt(to: &Receiver, payload: &[u8]) -> Result<Vec<u8>, &'static str> {
    if payload.len() > MAX_PAYLOAD {
        return Err("payload too large for one record");
    }
    let ephemeral = random_secret();
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    encrypt_with(to, payload, &ephemeral, salt)
}

fn encrypt_with(
    to: &Receiver,
    payload: &[u8],
    ephemeral: &SecretKey,
    salt: [u8; 16],
) -> Result<Vec<u8>, &'static str> {
    let as_public = public_bytes(&ephemeral.public_key());
    let ua_public = public_bytes(&to.public);
    let shared = p256::ecdh::diffie_hellman(ephemeral.to_nonzero_scalar(), to.public.as_affine());
    // IKM = HKDF(salt = auth, ikm = ECDH, info = "WebPush: info" 0x00 ua_public as_public)
    let mut key_info = b"WebPush: info\0".to_vec();
    key_info.extend_from_slice(&ua_public);
    key_info.extend_from_slice(&as_public);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&to.auth), shared.raw_secret_bytes())
        .expand(&key_info, &mut ikm)
        .map_err(|_| "hkdf")?;
    let content = Hkdf::<Sha256>::new(Some(&salt), &ikm);
    let mut cek = [0u8; 16];
    content
        .expand(b"Content-Encoding: aes128gcm\0", &mut cek)
        .map_err(|_| "hkdf")?;
    let mut nonce = [0u8; 12];
    content
        .expand(b"Content-Encoding: nonce\0", &mut nonce)
        .map_err(|_| "hkdf")?;
    // One record, the last: the payload then the delimiter 0x02 (no padding).
    let mut plain = payload.to_vec();
    plain.push(2);
    let cipher = Aes128Gcm::new_from_slice(&cek).map_err(|_| "aes key")?;
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), plain.as_slice())
        .map_err(|_| "aes-gcm")?;
    // Header: salt, record size, key id length, key id (the sender's public key).
    let mut body = Vec::with_capacity(16 + 4 + 1 + as_public.len() + sealed.len());
    body.extend_from_slice(&salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(u8::try_from(as_public.len()).map_err(|_| "key id")?);
    body.extend_from_slice(&as_public);
    body.extend_from_slice(&sealed);
    Ok(body)
}

/// The server's VAPID key: it signs a JWT for each push service's origin.
#[derive(Clone)]
pub struct Vapid {
    secret: SecretKey,
}

impl std::fmt::Debug for Vapid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vapid")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

impl Vapid {
    pub fn random() -> Self {
        Self {
            secret: random_secret(),
        }
    }

    pub fn from_secret_bytes(bytes: &[u8]) -> Option<Self> {
        Some(Self {
            secret: SecretKey::from_slice(bytes).ok()?,
        })
    }

    pub fn secret_bytes(&self) -> Vec<u8> {
        self.secret.to_bytes().to_vec()
    }

    /// The `applicationServerKey` browsers subscribe with (base64url, uncompressed point).
    pub fn public_key(&self) -> String {
        b64(&public_bytes(&self.secret.public_key()))
    }

    /// `Authorization: vapid t=JWT, k=KEY` for a push service at `audience` (its origin),
    /// valid until `expires` (seconds since the epoch; at most 24 h ahead).
    pub fn authorization(&self, audience: &str, subject: &str, expires: i64) -> String {
        let header = b64(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({ "aud": audience, "exp": expires, "sub": subject });
        let claims = b64(claims.to_string().as_bytes());
        let signing_input = format!("{header}.{claims}");
        let key = p256::ecdsa::SigningKey::from(&self.secret);
        let signature: p256::ecdsa::Signature = key.sign(signing_input.as_bytes());
        format!(
            "vapid t={signing_input}.{}, k={}",
            b64(&signature.to_bytes()),
            self.public_key()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8291 Appendix A: the example's keys, salt and message give its body, byte for byte.
    #[test]
    fn the_rfc_8291_example_encrypts_to_its_published_body() {
        let ua_private = unb64("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94").unwrap();
        let ua = SecretKey::from_slice(&ua_private).unwrap();
        let as_private = unb64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw").unwrap();
        let ephemeral = SecretKey::from_slice(&as_private).unwrap();
        let auth: [u8; 16] = unb64("BTBZMqHH6r4Tts7J_aSIgg").unwrap().try_into().unwrap();
        let salt: [u8; 16] = unb64("DGv6ra1nlYgDCS1FRnbzlw").unwrap().try_into().unwrap();
        let to = Receiver {
            public: ua.public_key(),
            auth,
        };
        let body = encrypt_with(
            &to,
            b"When I grow up, I want to be a watermelon",
            &ephemeral,
            salt,
        )
        .unwrap();
        assert_eq!(
            b64(&body),
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIg\
             Dll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt\
             2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
        );
    }

    #[test]
    fn a_vapid_jwt_verifies_with_the_public_key() {
        use p256::ecdsa::signature::Verifier as _;
        let vapid = Vapid::random();
        let header = vapid.authorization("https://push.example.net", "mailto:a@b.c", 1);
        let token = header
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split(", k=").next())
            .unwrap();
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let key = PublicKey::from_sec1_bytes(&unb64(&vapid.public_key()).unwrap()).unwrap();
        let signature = p256::ecdsa::Signature::from_slice(&unb64(signature).unwrap()).unwrap();
        p256::ecdsa::VerifyingKey::from(&key)
            .verify(signed.as_bytes(), &signature)
            .unwrap();
        let claims = unb64(signed.split('.').nth(1).unwrap()).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&claims).unwrap();
        assert_eq!(claims["aud"], "https://push.example.net");
    }
}
