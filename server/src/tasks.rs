//! Background work of a running server: firing due deadlines and rotating booth codes.
//!
//! Deadlines are rows (see the store); this loop only finds the due ones and sends the
//! workflow an `Expire`, which does nothing for an order that has moved on. So a deadline that
//! fell due while the server was down fires on start, and one fired twice changes nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use espresso_protocol::{ErrorCode, OrderId};
use tokio::task::JoinHandle;

use crate::store::{DueDeadline, SharedStore, Store};
use crate::workflow::Command;

/// Longest the deadline loop sleeps before looking again (a deadline fires at most this late).
const DEADLINE_POLL: Duration = Duration::from_millis(250);
/// How often open shops' booth codes are checked for rotation.
const CODE_POLL: Duration = Duration::from_millis(500);
/// How often old idempotency keys and expired tokens are swept.
const HOUSEKEEPING: Duration = Duration::from_secs(600);

/// Forget what no request can need any more: idempotency keys past their 24 h, tokens a day
/// past their expiry (and sessions left with none), scan passes a day past theirs.
pub async fn housekeeping(store: &Store) {
    let now = Utc::now();
    match store.prune_idempotency(now).await {
        Ok(n) if n > 0 => tracing::info!(keys = n, "old idempotency keys forgotten"),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot prune idempotency keys"),
    }
    match store.prune_tokens(now - chrono::Duration::days(1)).await {
        Ok(n) if n > 0 => tracing::info!(tokens = n, "expired tokens forgotten"),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot prune tokens"),
    }
    match store
        .prune_scan_passes(now - chrono::Duration::days(1))
        .await
    {
        Ok(n) if n > 0 => tracing::info!(passes = n, "old scan passes forgotten"),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot prune scan passes"),
    }
}

/// What the deadline loop has done since the process started (`/metrics`).
pub static DEADLINES: DeadlineCounts = DeadlineCounts {
    fired: AtomicU64::new(0),
    dropped: AtomicU64::new(0),
    retried: AtomicU64::new(0),
};

pub struct DeadlineCounts {
    /// Deadlines that reached their order (whether or not it had moved on).
    pub fired: AtomicU64,
    /// Deadlines that can never fire (their order refuses them for good): removed.
    pub dropped: AtomicU64,
    /// Attempts that failed for a reason that may pass (the database): kept, tried again later.
    pub retried: AtomicU64,
}

/// First wait before a deadline that failed for a passing reason is tried again; it doubles up
/// to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Fires due deadlines; remembers which failed for a passing reason and when to try them again.
#[derive(Default)]
pub struct DeadlineRunner {
    backoff: HashMap<OrderId, (Duration, Instant)>,
}

impl DeadlineRunner {
    /// Fire every due deadline now, oldest first. Returns how many were attempted.
    pub async fn fire_due(&mut self, store: &Store) -> usize {
        let now = Utc::now();
        let due = match store.due_deadlines(now, 200).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "cannot read due deadlines");
                return 0;
            }
        };
        let mut attempted = 0;
        for DueDeadline {
            shop,
            order_id,
            stage,
            due_at,
        } in due
        {
            if self
                .backoff
                .get(&order_id)
                .is_some_and(|(_, next)| *next > Instant::now())
            {
                continue;
            }
            attempted += 1;
            match store
                .order_command(&shop, &order_id, Command::Expire { stage }, now, None)
                .await
            {
                Ok(answer) => {
                    self.backoff.remove(&order_id);
                    DEADLINES.fired.fetch_add(1, Ordering::Relaxed);
                    let state = answer.done().map(|order| order.state);
                    tracing::info!(%shop, %order_id, ?stage, %due_at, ?state, "deadline fired");
                }
                Err(error) if error.code() == ErrorCode::Internal => {
                    // The database failed: the row stays, and is tried again later.
                    DEADLINES.retried.fetch_add(1, Ordering::Relaxed);
                    let wait = self
                        .backoff
                        .get(&order_id)
                        .map_or(RETRY_FIRST, |(wait, _)| (*wait * 2).min(RETRY_MAX));
                    tracing::warn!(
                        %shop,
                        %order_id,
                        ?wait,
                        "deadline could not fire; will try again"
                    );
                    self.backoff.insert(order_id, (wait, Instant::now() + wait));
                }
                Err(error) => {
                    // The order refuses it for good (it is gone): drop the row.
                    self.backoff.remove(&order_id);
                    DEADLINES.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        %shop,
                        %order_id,
                        code = %error.code(),
                        "deadline can never fire; dropped"
                    );
                    if let Err(error) = store.drop_deadline(&order_id).await {
                        tracing::warn!(%error, %order_id, "cannot drop deadline");
                    }
                }
            }
        }
        attempted
    }
}

/// Fire every due deadline now, oldest first (once; see [`DeadlineRunner`]).
pub async fn fire_due_deadlines(store: &Store) -> usize {
    DeadlineRunner::default().fire_due(store).await
}

/// Rotate the booth code of every open shop whose window has ended.
pub async fn rotate_codes(store: &Store) {
    let Ok(ids) = store.shop_ids().await else {
        return;
    };
    let now = Utc::now();
    for id in ids {
        match store.shop(&id).await {
            Ok(shop) if shop.open => {
                if let Err(error) = store.current_code(&id, now).await {
                    tracing::warn!(
                        shop = %id,
                        code = %error.code(),
                        "cannot rotate the booth code"
                    );
                }
            }
            _ => {}
        }
    }
}

/// Start the background loops; abort the handles to stop them.
pub fn spawn(store: SharedStore) -> Vec<JoinHandle<()>> {
    let deadlines = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut runner = DeadlineRunner::default();
            loop {
                runner.fire_due(&*store).await;
                let wait = match store.next_deadline().await {
                    Ok(Some(next)) => (next - Utc::now())
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                        .min(DEADLINE_POLL),
                    _ => DEADLINE_POLL,
                };
                tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
            }
        })
    };
    let sweeper = {
        let store = store.clone();
        tokio::spawn(async move {
            loop {
                // With several servers on one database, one of them does each round.
                match store
                    .claim_periodic("housekeeping", Utc::now(), HOUSEKEEPING)
                    .await
                {
                    Ok(true) => housekeeping(&*store).await,
                    Ok(false) => {}
                    Err(error) => tracing::warn!(%error, "cannot claim housekeeping"),
                }
                tokio::time::sleep(HOUSEKEEPING).await;
            }
        })
    };
    let codes = tokio::spawn(async move {
        loop {
            rotate_codes(&*store).await;
            tokio::time::sleep(CODE_POLL).await;
        }
    });
    vec![deadlines, codes, sweeper]
}

#[cfg(test)]
mod tests {
    use crate::store::prelude::*;
    use chrono::Duration;

    use crate::store::SqliteStore;

    #[tokio::test]
    async fn expired_tokens_and_old_idempotency_keys_are_forgotten_and_nothing_younger() {
        let store = SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap();
        let t0 = chrono::Utc::now();
        let user = store.ensure_user("ana@example.com", t0).await.unwrap();
        crate::auth::open_session(&store, &user, t0).await.unwrap();
        store
            .remember_answer("ana POST /x", "k", "h", 201, "{}", t0)
            .await
            .unwrap();

        // An hour on: the access token (15 min) is gone, the refresh token (30 days) stays.
        assert_eq!(
            store.prune_tokens(t0 + Duration::hours(1)).await.unwrap(),
            1
        );
        assert_eq!(
            store
                .prune_idempotency(t0 + Duration::hours(1))
                .await
                .unwrap(),
            0
        );
        assert!(
            store
                .idempotent_answer("ana POST /x", "k")
                .await
                .unwrap()
                .is_some()
        );

        // A day on the key is past its 24 h; a month on the refresh token and its session go.
        assert_eq!(
            store
                .prune_idempotency(t0 + Duration::hours(26))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store.prune_tokens(t0 + Duration::days(31)).await.unwrap(),
            1
        );
        let families: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM token_families")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(families, 0);

        // A session being opened (its family written, its tokens not yet) survives a sweep.
        let now = t0 + Duration::days(31);
        crate::auth::open_session(&store, &user, now).await.unwrap();
        store.prune_tokens(now).await.unwrap();
    }
}
