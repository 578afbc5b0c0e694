-- Remembered answers are found by (scope, key), and keys are random: each command's answer lands
-- on a page of its own in that index. As a rowid table, it also wrote the row itself to a second
-- b-tree (about a twelfth of all the pages a busy shop's commits wrote). Stored in its primary
-- key instead (WITHOUT ROWID), an answer is one b-tree write plus its age entry.
CREATE TABLE idempotency_keys_by_key (
    scope         TEXT NOT NULL,          -- the caller (user id or client address) and route
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL,
    body          TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    shop          TEXT,
    seq           INTEGER,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
INSERT INTO idempotency_keys_by_key
    (scope, key, request_hash, status, body, created_ms, shop, seq)
SELECT scope, key, request_hash, status, body, created_ms, shop, seq FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_by_key RENAME TO idempotency_keys;
CREATE INDEX idempotency_by_age ON idempotency_keys (created_ms);
