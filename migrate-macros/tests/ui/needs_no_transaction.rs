use migrate_runtime::embed::Migrations;

static MIGRATIONS: Migrations = migrate_macros::embed_migrations!("tests/ui/needs_no_transaction/migrations");

fn main() {}
