//! What the client needs from the platform, one function each, chosen by target: sleeping,
//! spawning a background task, racing a future against a deadline and random bytes.
//!
//! Native builds use tokio (the runtime reqwest already runs on); wasm32 uses the browser's
//! `setTimeout` and the JS event loop. Nothing else in the client is target-specific except the
//! live stream's socket.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::{Either, select};

/// Wait `duration` without blocking the thread.
pub(crate) async fn sleep(duration: Duration) {
    #[cfg(not(target_arch = "wasm32"))]
    tokio::time::sleep(duration).await;
    #[cfg(target_arch = "wasm32")]
    web::sleep(duration).await;
}

/// Run `future` in the background on the current runtime: the tokio runtime of the calling
/// thread natively (an error, not a panic, outside of one), the page's event loop in the browser.
#[cfg(not(target_arch = "wasm32"))]
#[cfg_attr(
    not(any(
        all(feature = "native", not(target_arch = "wasm32")),
        all(feature = "web", target_arch = "wasm32")
    )),
    allow(dead_code, reason = "used by the live stream only")
)]
pub(crate) fn spawn<F>(future: F) -> Result<(), String>
where
    F: Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| "start it from within a tokio runtime".to_owned())?;
    runtime.spawn(future);
    Ok(())
}

#[cfg(target_arch = "wasm32")]
#[cfg_attr(
    not(any(
        all(feature = "native", not(target_arch = "wasm32")),
        all(feature = "web", target_arch = "wasm32")
    )),
    allow(dead_code, reason = "used by the live stream only")
)]
pub(crate) fn spawn<F>(future: F) -> Result<(), String>
where
    F: Future<Output = ()> + 'static,
{
    wasm_bindgen_futures::spawn_local(future);
    Ok(())
}

/// `future`'s output, or `None` if `limit` passed first.
#[cfg_attr(
    not(any(
        all(feature = "native", not(target_arch = "wasm32")),
        all(feature = "web", target_arch = "wasm32")
    )),
    allow(dead_code, reason = "used by the live stream only")
)]
pub(crate) async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    let future = std::pin::pin!(future);
    let timer = std::pin::pin!(sleep(limit));
    match select(future, timer).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(((), _)) => None,
    }
}

/// `N` random bytes from the OS (natively) or `crypto.getRandomValues` (browser). Should that
/// ever fail, the bytes still differ from call to call (a counter and the clock): an
/// idempotency key must never repeat, even if it is then less unpredictable.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if getrandom::fill(&mut bytes).is_err() {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = (now_ms() as u64).wrapping_mul(1_000_000);
        let seed = count.to_le_bytes().into_iter().chain(nanos.to_le_bytes());
        for (byte, seeded) in bytes.iter_mut().zip(seed.cycle()) {
            *byte = seeded;
        }
    }
    bytes
}

/// A random number in `[0, 1)`, for jitter.
pub(crate) fn random_unit() -> f64 {
    let bits = u64::from_le_bytes(random_bytes::<8>()) >> 11;
    bits as f64 / (1u64 << 53) as f64
}

/// `N` random bytes as `2N` lowercase hex characters.
pub(crate) fn random_hex<const N: usize>() -> String {
    random_bytes::<N>()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A fresh `Idempotency-Key`: 32 lowercase hex characters, the clock's milliseconds (12) then
/// 80 random bits (20). Keys made later sort later, so the server files each new one beside the
/// last ones (the same few pages of its index) instead of at a random place.
pub(crate) fn idempotency_key() -> String {
    idempotency_key_at(now_ms())
}

/// The clock in milliseconds since the Unix epoch. In the browser that is `Date.now()`: the
/// standard library (and so chrono, without its `wasmbind`) has no clock on wasm32 and panics.
pub(crate) fn now_ms() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        chrono::Utc::now().timestamp_millis()
    }
}

fn idempotency_key_at(ms: i64) -> String {
    let ms = u64::try_from(ms).unwrap_or(0) & 0xffff_ffff_ffff;
    format!("{ms:012x}{}", random_hex::<10>())
}

#[cfg(target_arch = "wasm32")]
mod web {
    use std::time::Duration;

    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        /// The global `setTimeout` (a window's or a worker's).
        #[wasm_bindgen(js_name = setTimeout)]
        fn set_timeout(handler: &js_sys::Function, timeout_ms: i32) -> JsValue;
    }

    pub(super) async fn sleep(duration: Duration) {
        let ms = i32::try_from(duration.as_millis()).unwrap_or(i32::MAX);
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            set_timeout(&resolve, ms);
        });
        // A timer's promise never rejects.
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_made_later_sort_later() {
        let now = 1_795_000_000_000;
        for later in [now + 1, now + 16, now + 1_000, now + 86_400_000] {
            let (first, second) = (idempotency_key_at(now), idempotency_key_at(later));
            assert!(first < second, "{first} then {second}");
        }
        let made = idempotency_key();
        let ms = i64::from_str_radix(&made[..12], 16).unwrap();
        assert!((ms - chrono::Utc::now().timestamp_millis()).abs() < 60_000);
    }

    #[test]
    fn idempotency_keys_are_32_hex_characters_and_do_not_repeat() {
        let keys: std::collections::HashSet<_> = (0..1000).map(|_| idempotency_key()).collect();
        assert_eq!(keys.len(), 1000);
        for key in &keys {
            assert_eq!(key.len(), 32);
            assert!(
                key.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
        }
    }

    #[test]
    fn random_units_stay_in_zero_to_one() {
        for _ in 0..1000 {
            let unit = random_unit();
            assert!((0.0..1.0).contains(&unit), "{unit}");
        }
    }

    #[tokio::test]
    async fn a_timeout_gives_the_output_or_none() {
        assert_eq!(timeout(Duration::from_secs(5), async { 7 }).await, Some(7));
        let never = std::future::pending::<()>();
        assert_eq!(timeout(Duration::from_millis(10), never).await, None);
    }
}
