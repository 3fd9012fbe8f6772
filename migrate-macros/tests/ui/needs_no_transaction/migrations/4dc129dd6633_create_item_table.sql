-- revision: 4dc129dd6633
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
