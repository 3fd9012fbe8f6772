CREATE FUNCTION f() RETURNS trigger AS $$
BEGIN
  NEW.x := 1; -- a; comment
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
SELECT $tag$ ; $$ ; $tag$, $1;