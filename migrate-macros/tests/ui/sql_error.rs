use migrate_runtime::embed::Migrations;

static MIGRATIONS: Migrations =
    migrate_macros::embed_migrations!("tests/ui/sql_error/migrations", verify = "sqlite");

fn main() {}
