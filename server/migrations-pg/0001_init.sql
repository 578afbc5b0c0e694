-- Espresso's schema on PostgreSQL: the same tables as the SQLite one (server/migrations, all
-- its versions folded into one), so the SQL of the two backends stays alike. Times are BIGINT
-- milliseconds since the Unix epoch (UTC); every integer is BIGINT (what the server binds and
-- reads); JSON bodies are TEXT (the server never queries inside them).

CREATE TABLE shops (
    id          TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    updated_ms  BIGINT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    display_name  TEXT,
    created_ms    BIGINT NOT NULL
);

CREATE TABLE user_roles (
    user_id  TEXT NOT NULL REFERENCES users(id),
    role     TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE otp_challenges (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    code_hash     TEXT NOT NULL,
    created_ms    BIGINT NOT NULL,
    expires_ms    BIGINT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    consumed_ms   BIGINT
);
CREATE INDEX otp_challenges_by_email ON otp_challenges (email, created_ms);

CREATE TABLE rate_hits (
    bucket  TEXT NOT NULL,
    at_ms   BIGINT NOT NULL
);
CREATE INDEX rate_hits_by_bucket ON rate_hits (bucket, at_ms);

CREATE TABLE token_families (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    created_ms   BIGINT NOT NULL,
    revoked_ms   BIGINT
);

CREATE TABLE tokens (
    token_hash   TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    family_id    TEXT NOT NULL REFERENCES token_families(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    expires_ms   BIGINT NOT NULL,
    used_ms      BIGINT
);
CREATE INDEX tokens_by_family ON tokens (family_id);

CREATE TABLE orders (
    id            TEXT PRIMARY KEY,
    shop          TEXT NOT NULL REFERENCES shops(id),
    customer_id   TEXT NOT NULL REFERENCES users(id),
    state         TEXT NOT NULL,
    number        BIGINT,
    business_day  TEXT NOT NULL,
    created_ms    BIGINT NOT NULL,
    item_id       TEXT,
    placed_ms     BIGINT,
    ready_ms      BIGINT,
    body          TEXT NOT NULL
);
CREATE INDEX orders_by_shop_state ON orders (shop, state);
CREATE INDEX orders_by_ready ON orders (shop, ready_ms);
CREATE INDEX orders_by_item_ready ON orders (shop, item_id, ready_ms);
CREATE INDEX orders_by_customer ON orders (customer_id, created_ms);
CREATE INDEX orders_by_day ON orders (shop, business_day, state);

CREATE TABLE order_numbers (
    shop          TEXT NOT NULL,
    business_day  TEXT NOT NULL,
    last_number   BIGINT NOT NULL,
    PRIMARY KEY (shop, business_day)
);

-- The event log: gap-free seq per shop, assigned in the command's transaction while the shop's
-- head row is locked (`shop_heads` is the per-shop serialisation point of every server).
CREATE TABLE events (
    shop         TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    type         TEXT NOT NULL,
    at_ms        BIGINT NOT NULL,
    order_id     TEXT,
    customer_id  TEXT,
    body         TEXT NOT NULL,
    PRIMARY KEY (shop, seq)
);
CREATE INDEX events_by_order ON events (order_id, seq);

CREATE TABLE shop_heads (
    shop  TEXT PRIMARY KEY,
    seq   BIGINT NOT NULL
);

CREATE TABLE deadlines (
    order_id  TEXT PRIMARY KEY REFERENCES orders(id),
    shop      TEXT NOT NULL,
    stage     TEXT NOT NULL,
    due_ms    BIGINT NOT NULL,
    -- A server firing it holds it until then (others skip it; a server that died loses it).
    claimed_until_ms BIGINT
);
CREATE INDEX deadlines_by_due ON deadlines (due_ms);

CREATE TABLE booth_codes (
    shop        TEXT NOT NULL REFERENCES shops(id),
    code        TEXT NOT NULL,
    issued_ms   BIGINT NOT NULL,
    expires_ms  BIGINT NOT NULL,
    remaining   BIGINT NOT NULL,
    PRIMARY KEY (shop, code)
);
CREATE INDEX booth_codes_by_issue ON booth_codes (shop, issued_ms);

CREATE TABLE idempotency_keys (
    scope         TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        BIGINT NOT NULL,
    body          TEXT NOT NULL,
    created_ms    BIGINT NOT NULL,
    shop          TEXT,
    seq           BIGINT,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_by_age ON idempotency_keys (created_ms);

CREATE TABLE served_counts (
    shop          TEXT NOT NULL,
    business_day  TEXT NOT NULL,
    item_id       TEXT NOT NULL,
    served        BIGINT NOT NULL,
    PRIMARY KEY (shop, business_day, item_id)
);

CREATE TABLE scan_passes (
    hash       TEXT PRIMARY KEY,
    shop       TEXT NOT NULL,
    code       TEXT NOT NULL,
    issued_ms  BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    order_id   TEXT
);
CREATE INDEX scan_passes_by_expiry ON scan_passes (expires_ms);

CREATE TABLE push_subscriptions (
    endpoint   TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    p256dh     TEXT NOT NULL,
    auth       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX push_subscriptions_by_user ON push_subscriptions (user_id, created_at);

-- Periodic work that must run once across every server (housekeeping): who runs it next, when.
CREATE TABLE periodic_runs (
    name     TEXT PRIMARY KEY,
    next_ms  BIGINT NOT NULL
);

-- Keys every server must share (the sign-in codes' HMAC key, the Web Push VAPID key) when no
-- secret file is given: made by the first server to start, read by the others.
CREATE TABLE server_keys (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
