-- revision: ea35ce60afa9
-- revises:
-- message: drop legacy table
-- created: 2026-03-01T09:00:00Z

-- migrate:downgrade
CREATE TABLE legacy (id INTEGER PRIMARY KEY);
