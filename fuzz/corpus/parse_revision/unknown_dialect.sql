-- revision: 020355fec938
-- revises:
-- message: create item table
-- created: 2026-03-01T09:00:00Z

-- migrate:upgrade
CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT);

-- migrate:upgrade mysql
CREATE TABLE item (id INTEGER AUTO_INCREMENT PRIMARY KEY, name TEXT);

-- migrate:downgrade
DROP TABLE item;
