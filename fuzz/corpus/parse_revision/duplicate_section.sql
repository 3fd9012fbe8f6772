-- revision: a617a5aae00d
-- revises:
-- message: create item table
-- created: 2026-03-01T09:00:00Z

-- migrate:upgrade
CREATE TABLE item (id INTEGER PRIMARY KEY);

-- migrate:upgrade
CREATE INDEX item_id ON item (id);

-- migrate:downgrade
DROP TABLE item;
