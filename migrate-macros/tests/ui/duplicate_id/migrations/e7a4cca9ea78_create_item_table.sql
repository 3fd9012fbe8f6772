-- revision: e7a4cca9ea78
-- revises:
-- message: create item table
-- created: 2026-03-01T09:00:00Z

-- migrate:upgrade
CREATE TABLE item (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL
);

-- migrate:downgrade
DROP TABLE item;
