-- Espresso's schema, version 1. Times are INTEGER milliseconds since the Unix epoch (UTC), so
-- they compare and index the same on SQLite and PostgreSQL; JSON bodies are TEXT.

CREATE TABLE shops (
    id          TEXT PRIMARY KEY,
    body        TEXT NOT NULL,            -- the Shop as the API shows it (name, open, menu, limits)
    updated_ms  INTEGER NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,   -- lower-cased
    display_name  TEXT,
    created_ms    INTEGER NOT NULL
);

CREATE TABLE user_roles (
    user_id  TEXT NOT NULL REFERENCES users(id),
    role     TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);

-- One-time sign-in codes. Only a hash of the code is kept.
CREATE TABLE otp_challenges (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    code_hash     TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    expires_ms    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    consumed_ms   INTEGER
);
CREATE INDEX otp_challenges_by_email ON otp_challenges (email, created_ms);

-- Sliding-window rate limits: one row per counted request.
CREATE TABLE rate_hits (
    bucket  TEXT NOT NULL,                -- e.g. "otp:email:a@b.c", "otp:ip:10.0.0.1"
    at_ms   INTEGER NOT NULL
);
CREATE INDEX rate_hits_by_bucket ON rate_hits (bucket, at_ms);

-- Sign-in sessions: a refresh-token family; reuse of a spent refresh token revokes it whole.
CREATE TABLE token_families (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    created_ms   INTEGER NOT NULL,
    revoked_ms   INTEGER
);

CREATE TABLE tokens (
    token_hash   TEXT PRIMARY KEY,        -- SHA-256 of the opaque token
    kind         TEXT NOT NULL,           -- 'access' | 'refresh'
    family_id    TEXT NOT NULL REFERENCES token_families(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    expires_ms   INTEGER NOT NULL,
    used_ms      INTEGER                  -- refresh tokens: when rotated
);
CREATE INDEX tokens_by_family ON tokens (family_id);

CREATE TABLE orders (
    id            TEXT PRIMARY KEY,
    shop          TEXT NOT NULL REFERENCES shops(id),
    customer_id   TEXT NOT NULL REFERENCES users(id),
    state         TEXT NOT NULL,
    number        INTEGER,
    business_day  TEXT NOT NULL,          -- YYYY-MM-DD (UTC) the order was started on
    created_ms    INTEGER NOT NULL,
    item_id       TEXT,                   -- the drink, once chosen
    placed_ms     INTEGER,                -- queued at
    ready_ms      INTEGER,                -- made at (wait time = ready - placed)
    body          TEXT NOT NULL           -- the Order as the API shows it
);
CREATE INDEX orders_by_shop_state ON orders (shop, state);
CREATE INDEX orders_by_ready ON orders (shop, ready_ms);
CREATE INDEX orders_by_item_ready ON orders (shop, item_id, ready_ms);
CREATE INDEX orders_by_customer ON orders (customer_id, created_ms);

-- Per shop and day: the last order number handed out.
CREATE TABLE order_numbers (
    shop          TEXT NOT NULL,
    business_day  TEXT NOT NULL,
    last_number   INTEGER NOT NULL,
    PRIMARY KEY (shop, business_day)
);

-- The event log: gap-free seq per shop, written in the same transaction as the change.
CREATE TABLE events (
    shop         TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    type         TEXT NOT NULL,
    at_ms        INTEGER NOT NULL,
    order_id     TEXT,
    customer_id  TEXT,                    -- whose order it is: what a customer's live stream may see
    body         TEXT NOT NULL,           -- the Event as the API shows it
    PRIMARY KEY (shop, seq)
);
CREATE INDEX events_by_order ON events (order_id, seq);

CREATE TABLE shop_heads (
    shop  TEXT PRIMARY KEY,
    seq   INTEGER NOT NULL
);

-- Durable deadlines: rows, not sleeping tasks. Deleted in the transaction that fires them.
CREATE TABLE deadlines (
    order_id  TEXT PRIMARY KEY REFERENCES orders(id),
    shop      TEXT NOT NULL,
    stage     TEXT NOT NULL,              -- 'customer' | 'barista'
    due_ms    INTEGER NOT NULL
);
CREATE INDEX deadlines_by_due ON deadlines (due_ms);

-- Booth codes: one current per shop, the previous one kept for the grace period.
CREATE TABLE booth_codes (
    shop        TEXT NOT NULL REFERENCES shops(id),
    code        TEXT NOT NULL,
    issued_ms   INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL,
    remaining   INTEGER NOT NULL,
    PRIMARY KEY (shop, code)
);
CREATE INDEX booth_codes_by_issue ON booth_codes (shop, issued_ms);

-- Idempotency-Key: the first answer to a (caller, key), replayed for retries.
CREATE TABLE idempotency_keys (
    scope         TEXT NOT NULL,          -- the caller (user id or client address) and route
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL,
    body          TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_by_age ON idempotency_keys (created_ms);
