use migrate_runtime::embed::Migrations;

static MIGRATIONS: Migrations = migrate_macros::embed_migrations!("tests/ui/missing_upgrade/migrations");

fn main() {}
