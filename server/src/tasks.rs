//! Background work of a running server: firing due deadlines and rotating booth codes.
//!
//! Deadlines are rows (see the store); this loop only finds the due ones and sends the
//! workflow an `Expire`, which does nothing for an order that has moved on. So a deadline that
//! fell due while the server was down fires on start, and one fired twice changes nothing.

use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;

use crate::store::{SharedStore, Store};
use crate::workflow::Command;

/// Longest the deadline loop sleeps before looking again (a deadline fires at most this late).
const DEADLINE_POLL: Duration = Duration::from_millis(250);
/// How often open shops' booth codes are checked for rotation.
const CODE_POLL: Duration = Duration::from_millis(500);

/// Fire every due deadline now, oldest first. Returns how many fired or were dropped.
pub async fn fire_due_deadlines(store: &Store) -> usize {
    let now = Utc::now();
    let due = match store.due_deadlines(now, 200).await {
        Ok(due) => due,
        Err(error) => {
            tracing::warn!(%error, "cannot read due deadlines");
            return 0;
        }
    };
    let count = due.len();
    for (shop, order_id, stage, due_at) in due {
        match store
            .order_command(&shop, &order_id, Command::Expire { stage }, now)
            .await
        {
            Ok(order) => {
                tracing::info!(%shop, %order_id, ?stage, %due_at, state = %order.state, "deadline fired")
            }
            Err(error) => {
                // An order that cannot take its deadline would be retried forever: drop the row.
                tracing::warn!(%shop, %order_id, code = %error.code(), "deadline could not fire; dropped");
                if let Err(error) = store.drop_deadline(&order_id).await {
                    tracing::warn!(%error, %order_id, "cannot drop deadline");
                }
            }
        }
    }
    count
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
                    tracing::warn!(shop = %id, code = %error.code(), "cannot rotate the booth code");
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
            loop {
                fire_due_deadlines(&*store).await;
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
    let codes = tokio::spawn(async move {
        loop {
            rotate_codes(&*store).await;
            tokio::time::sleep(CODE_POLL).await;
        }
    });
    vec![deadlines, codes]
}
