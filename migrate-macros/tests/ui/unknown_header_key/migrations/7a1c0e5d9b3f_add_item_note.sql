-- revision: 7a1c0e5d9b3f
-- revises: f02046f1692c
-- message: add item note
-- reviewed-by: Grace Hopper

-- migrate:upgrade
ALTER TABLE item ADD COLUMN note TEXT;

-- migrate:downgrade
ALTER TABLE item DROP COLUMN note;
