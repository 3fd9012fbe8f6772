-- revision: 1b1b1b1b1b1b
-- revises: 0a0a0a0a0a0a
-- message: dialect sections, outside a transaction
-- created: 2026-03-02T10:00:00Z
-- branch: search
-- transaction: none

-- migrate:upgrade
CREATE INDEX note_body ON note (body);

-- migrate:upgrade postgres
CREATE INDEX CONCURRENTLY note_body ON note (body);

-- migrate:downgrade
DROP INDEX note_body;
