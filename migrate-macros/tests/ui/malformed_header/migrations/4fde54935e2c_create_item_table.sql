-- revision: 4fde54935e2c
-- revises:
-- message create item table
-- created: 2026-03-01T09:00:00Z

-- migrate:upgrade
CREATE TABLE item (id INTEGER PRIMARY KEY);

-- migrate:downgrade
DROP TABLE item;
