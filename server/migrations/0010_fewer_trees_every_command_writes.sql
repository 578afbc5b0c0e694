-- Two B-trees every command wrote and almost nothing read. At booth pace a commit carries one
-- command and writes each page it touched to the WAL: these were 2 of its 11 pages, and at full
-- load 5 of 45 pages a commit.
-- - `idempotency_by_age` served only the prune, every 10 minutes: it now walks the table on a
--   read connection and deletes what it found by key.
-- - `shop_heads` repeated the newest event's `seq`: events are never deleted, so the head is
--   `MAX(seq)` of the shop's events, read through the events' own key.
DROP INDEX idempotency_by_age;
DROP TABLE shop_heads;
