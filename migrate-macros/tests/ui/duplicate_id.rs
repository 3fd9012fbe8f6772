use migrate_runtime::embed::Migrations;

static MIGRATIONS: Migrations = migrate_macros::embed_migrations!("tests/ui/duplicate_id/migrations");

fn main() {}
