-- revision: 20f04b9598da
-- revises: cf0f5b45967a
-- message: update to flask-diamond 0.2.0
-- created: 2015-03-21T17:37:47Z

-- migrate:upgrade
ALTER TABLE "user" ADD COLUMN current_login_at TIMESTAMP;
ALTER TABLE "user" ADD COLUMN current_login_ip VARCHAR(255);
ALTER TABLE "user" ADD COLUMN last_login_at TIMESTAMP;
ALTER TABLE "user" ADD COLUMN last_login_ip VARCHAR(255);
ALTER TABLE "user" ADD COLUMN login_count INTEGER;

-- migrate:downgrade
ALTER TABLE "user" DROP COLUMN login_count;
ALTER TABLE "user" DROP COLUMN last_login_ip;
ALTER TABLE "user" DROP COLUMN last_login_at;
ALTER TABLE "user" DROP COLUMN current_login_ip;
ALTER TABLE "user" DROP COLUMN current_login_at;
