//! The booth code every simulated customer "scans": what the display account reads with
//! `GET …/code`, kept fresh by its `code.rotated` / `code.redeemed` events, and fetched again
//! when the code ran out of time or a start was refused because of it.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;
use espresso_core::protocol::{BoothCode, ShopId};
use espresso_core::{Client, ClientError};

use crate::stats::Histogram;

/// Longest wait for a used-up code to be replaced before asking the server again.
const EXHAUSTED_RECHECK: Duration = Duration::from_secs(5);

/// The booth code as the display shows it.
#[derive(Debug)]
pub struct CodeBoard {
    display: Client,
    shop: ShopId,
    code: Mutex<Option<BoothCode>>,
    /// One fetch at a time: a hundred customers refused at once ask once.
    fetching: tokio::sync::Mutex<()>,
    changed: tokio::sync::Notify,
    /// How long each `GET …/code` took.
    latencies: Mutex<Histogram>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Is `code` still good to scan now?
fn usable(code: &BoothCode) -> bool {
    code.remaining > 0 && code.expires_at > Utc::now()
}

impl CodeBoard {
    pub fn new(display: Client, shop: &ShopId) -> Self {
        Self {
            display,
            shop: shop.clone(),
            code: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            changed: tokio::sync::Notify::new(),
            latencies: Mutex::new(Histogram::new()),
        }
    }

    /// The code a customer scans now: the one on the board, or a fresh one from the server.
    /// A used-up code is waited out (the server replaces it when its time is up).
    pub async fn current(&self) -> Result<String, ClientError> {
        loop {
            let known = lock(&self.code).clone();
            match known {
                Some(code) if usable(&code) => return Ok(code.code),
                Some(code) if code.remaining == 0 && code.expires_at > Utc::now() => {
                    let until_rotation = (code.expires_at - Utc::now())
                        .to_std()
                        .unwrap_or_default()
                        .min(EXHAUSTED_RECHECK);
                    let _ = tokio::time::timeout(until_rotation, self.changed.notified()).await;
                    if lock(&self.code).as_ref() == Some(&code) {
                        self.fetch(Some(&code.code)).await?;
                    }
                }
                stale => {
                    self.fetch(stale.as_ref().map(|c| c.code.as_str())).await?;
                }
            }
        }
    }

    /// A start with `code` was refused (`code_expired`, `code_exhausted`, `code_invalid`):
    /// forget it, so the next [`CodeBoard::current`] asks the server.
    pub fn refused(&self, code: &str) {
        let mut known = lock(&self.code);
        if known.as_ref().is_some_and(|known| known.code == code) {
            *known = None;
        }
    }

    /// A `code.rotated` or `code.redeemed` event, or a fetched code: the newer one wins.
    pub fn show(&self, code: BoothCode) {
        let mut known = lock(&self.code);
        let newer = known.as_ref().is_none_or(|known| {
            code.issued_at > known.issued_at
                || (code.code == known.code && code.remaining <= known.remaining)
        });
        if newer {
            *known = Some(code);
            drop(known);
            self.changed.notify_waiters();
        }
    }

    /// How long the `GET …/code` calls took.
    pub fn latencies(&self) -> Histogram {
        lock(&self.latencies).clone()
    }

    /// Ask the server, unless another task already replaced `stale` meanwhile.
    async fn fetch(&self, stale: Option<&str>) -> Result<(), ClientError> {
        let _turn = self.fetching.lock().await;
        let replaced = lock(&self.code)
            .as_ref()
            .is_some_and(|known| Some(known.code.as_str()) != stale && usable(known));
        if replaced {
            return Ok(());
        }
        let asked = Instant::now();
        let code = self.display.booth_code(&self.shop).await;
        lock(&self.latencies).record(asked.elapsed());
        let code = code?;
        // What the server says now is the truth, even if it is the same code as before.
        *lock(&self.code) = Some(code);
        self.changed.notify_waiters();
        Ok(())
    }
}
