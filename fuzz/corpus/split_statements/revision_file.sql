-- revision: cf0f5b45967a
-- revises:
-- message: create user and role tables
-- created: 2015-02-07T22:54:24Z

-- migrate:upgrade
CREATE TABLE role (
    id INTEGER PRIMARY KEY,
    name VARCHAR(80) UNIQUE,
    description VARCHAR(255)
);

CREATE TABLE "user" (
    id INTEGER PRIMARY KEY,
    email VARCHAR(255) NOT NULL UNIQUE,
    password VARCHAR(255),
    active BOOLEAN,
    confirmed_at TIMESTAMP
);

CREATE TABLE roles_users (
    user_id INTEGER REFERENCES "user" (id),
    role_id INTEGER REFERENCES role (id)
);

-- migrate:downgrade
DROP TABLE roles_users;
DROP TABLE "user";
DROP TABLE role;
