-- revision: 0a0a0a0a0a0a
-- revises: 20f04b9598da
-- message: concurrent index; CRLF and a BOM
-- transaction: none

-- migrate:upgrade postgres
CREATE INDEX CONCURRENTLY user_login ON "user" (login_count);

-- migrate:upgrade
CREATE INDEX user_login ON "user" (login_count);

-- migrate:downgrade
DROP INDEX user_login;
