-- revision: 5e8d2c4b1a90
-- message: create invoice table
-- depends-on: :72bb946d57f2, accounts:eb4c-1a7d

-- migrate:upgrade
CREATE TABLE invoice (id INTEGER PRIMARY KEY);

-- migrate:downgrade
DROP TABLE invoice;
