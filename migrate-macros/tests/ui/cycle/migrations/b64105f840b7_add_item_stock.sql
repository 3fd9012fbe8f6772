-- revision: b64105f840b7
-- revises: 24f55dadf1be
-- message: add item stock
-- created: 2026-03-03T09:00:00Z

-- migrate:upgrade
ALTER TABLE item ADD COLUMN stock INTEGER;

-- migrate:downgrade
ALTER TABLE item DROP COLUMN stock;
