-- Scan passes (OPERATIONS.md "Extensions to API.md"): a booth code checked before sign-in holds
-- one of its orders for the device that scanned it. Only the SHA-256 of the pass is kept.
CREATE TABLE scan_passes (
    hash       TEXT PRIMARY KEY,
    shop       TEXT NOT NULL,
    code       TEXT NOT NULL,
    issued_ms  INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    -- The order it started; NULL while unused.
    order_id   TEXT
);
CREATE INDEX scan_passes_by_expiry ON scan_passes (expires_ms);
