//! Two heads embed fine: embedding asks for no single head. The SQL of
//! both branches is applied and reverted on SQLite at compile time, and
//! the cross-package `depends-on` is checked for syntax only.

use migrate_runtime::embed::Migrations;

static MIGRATIONS: Migrations =
    migrate_macros::embed_migrations!("tests/ui/compiles/migrations", verify = "sqlite");

fn main() {
    let graph = MIGRATIONS.graph().unwrap();
    assert_eq!(graph.ids(&graph.heads()), ["b1c2d3e4f5a6", "c2d3e4f5a6b7"]);
}
