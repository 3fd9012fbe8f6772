use migrate_runtime::embed::Migrations;

static MIGRATIONS: Migrations = migrate_macros::embed_migrations!("tests/ui/bad_depends_on/migrations");

fn main() {}
