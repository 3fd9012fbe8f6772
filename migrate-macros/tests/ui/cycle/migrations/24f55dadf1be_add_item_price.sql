-- revision: 24f55dadf1be
-- revises: b64105f840b7
-- message: add item price
-- created: 2026-03-02T09:00:00Z

-- migrate:upgrade
ALTER TABLE item ADD COLUMN price INTEGER;

-- migrate:downgrade
ALTER TABLE item DROP COLUMN price;
