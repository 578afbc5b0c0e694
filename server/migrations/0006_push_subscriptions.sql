-- Web Push: where to push a customer's order news (ready, cancelled, timed out). One row per
-- browser subscription; the endpoint is the push service's URL for it. A few per user (the
-- server keeps the newest); removed when the push service says it is gone.
CREATE TABLE push_subscriptions (
    endpoint TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX push_subscriptions_by_user ON push_subscriptions (user_id, created_at);
