-- Drinks handed over, per shop, day (the day the order started, as `orders.business_day`) and
-- drink: kept as each order is collected, so the stats every command publishes read a few rows
-- instead of counting the whole day's orders.
CREATE TABLE served_counts (
    shop          TEXT NOT NULL,
    business_day  TEXT NOT NULL,
    item_id       TEXT NOT NULL,
    served        INTEGER NOT NULL,
    PRIMARY KEY (shop, business_day, item_id)
);

INSERT INTO served_counts (shop, business_day, item_id, served)
SELECT shop, business_day, item_id, COUNT(*)
FROM orders
WHERE state = 'collected' AND item_id IS NOT NULL
GROUP BY shop, business_day, item_id;
