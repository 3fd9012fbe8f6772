-- revision: c2d3e4f5a6b7
-- revises: a0b1c2d3e4f5
-- message: add item stock (another head)

-- migrate:upgrade
ALTER TABLE item ADD COLUMN stock INTEGER;

-- migrate:downgrade
ALTER TABLE item DROP COLUMN stock;
