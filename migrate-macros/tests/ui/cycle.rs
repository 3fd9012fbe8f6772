use migrate_runtime::embedded::Migrations;

static MIGRATIONS: Migrations = migrate_macros::embed_migrations!("tests/ui/cycle/migrations");

fn main() {}
