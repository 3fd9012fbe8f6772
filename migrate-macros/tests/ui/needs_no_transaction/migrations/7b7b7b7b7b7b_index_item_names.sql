-- revision: 7b7b7b7b7b7b
-- revises: 4dc129dd6633
-- message: index item names
-- created: 2026-03-01T09:05:00Z

-- migrate:upgrade
CREATE INDEX CONCURRENTLY item_name ON item (name);

-- migrate:downgrade
DROP INDEX CONCURRENTLY item_name;
