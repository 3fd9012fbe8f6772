-- revision: 3d3d3d3d3d3d
-- revises: 1b1b1b1b1b1b

-- migrate:upgrade sqlite
CREATE VIEW short_note AS SELECT id FROM note;

-- migrate:upgrade
CREATE VIEW short_note AS SELECT id, left(body, 10) FROM note;

-- migrate:downgrade
