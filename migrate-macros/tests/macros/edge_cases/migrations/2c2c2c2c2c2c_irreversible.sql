-- revision: 2c2c2c2c2c2c
-- revises: 0a0a0a0a0a0a
-- depends-on: 1b1b1b1b1b1b
-- message: a second head, irreversible
-- created: 2026-03-03T10:00:00Z

-- migrate:upgrade
INSERT INTO note (body) VALUES ('first');
