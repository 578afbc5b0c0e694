-- Remembered answers are found by (scope, key). Filed under the caller first, each new answer
-- went to a random page of the index (the caller's corner of it): about a quarter of all the
-- pages a busy shop's commits wrote. Espresso's clients make keys that start with the time, so
-- filed under the key first, new answers go beside the last ones, in the same few pages. A key
-- is still one per caller and route: the pair is the primary key, in the other order.
CREATE TABLE idempotency_keys_key_first (
    scope         TEXT NOT NULL,          -- the caller (user id or client address) and route
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL,
    body          TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    shop          TEXT,
    seq           INTEGER,
    PRIMARY KEY (key, scope)
) WITHOUT ROWID;
INSERT INTO idempotency_keys_key_first
    (scope, key, request_hash, status, body, created_ms, shop, seq)
SELECT scope, key, request_hash, status, body, created_ms, shop, seq FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_key_first RENAME TO idempotency_keys;
CREATE INDEX idempotency_by_age ON idempotency_keys (created_ms);
