-- Fewer index entries move as an order goes through its day. Each state change moved its entry
-- in `orders_by_day` (shop, day, state), and each order sat in the two wait-time indexes from
-- its start with no ready time, to be moved there once made. The writer's commits spent about a
-- sixth of their pages on these. What reads them:
-- - the last made orders' waits (overall and per drink): those orders only, so those indexes
--   hold made orders only (the queries say `ready_ms IS NOT NULL`);
-- - a range of days (export, report) and each customer's orders today: by shop and day, the
--   state read from the row;
-- - the orders made but not collected on a day (the stats): an index of those orders only.
DROP INDEX orders_by_ready;
CREATE INDEX orders_by_ready ON orders (shop, ready_ms) WHERE ready_ms IS NOT NULL;
DROP INDEX orders_by_item_ready;
CREATE INDEX orders_by_item_ready ON orders (shop, item_id, ready_ms) WHERE ready_ms IS NOT NULL;
DROP INDEX orders_by_day;
CREATE INDEX orders_by_day ON orders (shop, business_day);
CREATE INDEX orders_not_collected ON orders (shop, business_day)
    WHERE state = 'timed_out' AND ready_ms IS NOT NULL;
