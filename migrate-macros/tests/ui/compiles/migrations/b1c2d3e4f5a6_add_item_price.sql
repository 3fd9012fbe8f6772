-- revision: b1c2d3e4f5a6
-- revises: a0b1c2d3e4f5
-- depends-on: billing:e76c27bc0083
-- message: add item price (one head)

-- migrate:upgrade
ALTER TABLE item ADD COLUMN price INTEGER;

-- migrate:downgrade
ALTER TABLE item DROP COLUMN price;
