-- revision: 0a0a0a0a0a0a
-- message: it's "quoted", with a \ backslash and café
-- created: 2026-03-01T10:00:00Z

-- migrate:upgrade
CREATE TABLE note (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL DEFAULT 'it''s \ "café"'
);

-- migrate:downgrade
DROP TABLE note;
