-- revision: 3d30b4a33ec4
-- revises: 1d5cabea8e68
-- message: add item price
-- created: 2026-03-02T09:00:00Z

-- migrate:upgrade
ALTER TABLE item ADD COLUMN price INTEGER;

-- migrate:downgrade
ALTER TABLE item DROP COLUMN price;
