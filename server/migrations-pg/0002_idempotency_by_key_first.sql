-- As SQLite's 0008: remembered answers filed under the key first. Espresso's clients make keys
-- that start with the time, so a new answer goes beside the last ones in the index instead of
-- at a random place in its caller's corner of it.
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey, ADD PRIMARY KEY (key, scope);
