-- revision: 1b1b1b1b1b1b
-- revises: 0a0a0a0a0a0a
-- depends-on: accounts:72bb946d57f2
-- branch: audit
-- message: trigger body; enum value
-- created: 2026-11-22T20:00:00Z

-- migrate:upgrade sqlite
CREATE TRIGGER audit AFTER INSERT ON "user" BEGIN
  INSERT INTO log VALUES (NEW.id, CASE WHEN NEW.active THEN 'a;b' ELSE 'c' END);
END;

-- migrate:upgrade postgres
ALTER TYPE mood ADD VALUE 'meh';
UPDATE person SET mood = 'meh';
CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN NEW.x := 1; RETURN NEW; END; $body$ LANGUAGE plpgsql;

-- migrate:downgrade
DROP TRIGGER audit;
