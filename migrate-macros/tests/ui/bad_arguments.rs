use migrate_runtime::embed::Migrations;

static NOT_A_PATH: Migrations = migrate_macros::embed_migrations!(migrations);
static UNKNOWN_DIALECT: Migrations = migrate_macros::embed_migrations!(verify = "mysql");
static NO_SUCH_FOLDER: Migrations = migrate_macros::embed_migrations!("tests/ui/no_such_folder");

fn main() {}
