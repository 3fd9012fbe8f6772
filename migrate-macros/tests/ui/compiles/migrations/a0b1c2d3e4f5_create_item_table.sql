-- revision: a0b1c2d3e4f5
-- message: create item table

-- migrate:upgrade
CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL);

-- migrate:downgrade
DROP TABLE item;
