use migrate_runtime::embed::Migrations;

static MIGRATIONS: Migrations = migrate_macros::embed_migrations!("tests/ui/id_mismatch/migrations");

fn main() {}
