-- A command's remembered answer may point at the event that carries it (the order or the shop
-- after the command) instead of holding a copy: `body` is then empty and (`shop`, `seq`) name
-- that event. Keeps each key's row small: a command writes its answer once, in its event.
ALTER TABLE idempotency_keys ADD COLUMN shop TEXT;
ALTER TABLE idempotency_keys ADD COLUMN seq INTEGER;
