-- A shop's orders of one business day (in the shop's time zone): the daily limit per customer,
-- the orders not collected today, the orders export by date range.
CREATE INDEX orders_by_day ON orders (shop, business_day, state);
