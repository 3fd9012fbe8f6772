-- revision: e7a4cca9ea78
-- revises:
-- message: create tag table
-- created: 2026-03-02T09:00:00Z

-- migrate:upgrade
CREATE TABLE tag (id INTEGER PRIMARY KEY);

-- migrate:downgrade
DROP TABLE tag;
