-- revision: d41f8b6e0c27
-- revises: 9c3e7a2f5b18
-- message: add item price

-- migrate:upgrade
ALTER TABLE item ADD COLUMN price INTEGER;
CRATE INDEX item_price ON item (price);

-- migrate:downgrade
DROP INDEX item_price;
ALTER TABLE item DROP COLUMN price;
