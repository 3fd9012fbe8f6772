-- revision: 9c3e7a2f5b18
-- message: create item table

-- migrate:upgrade
CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL);

-- migrate:downgrade
DROP TABLE item;
