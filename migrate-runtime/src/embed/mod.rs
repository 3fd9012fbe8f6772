//! Chains compiled into the application: the code generator behind
//! `embed_migrations!()`, the same for build scripts (`compile_migrations`,
//! `rerun_if_migrations_changed`, [`Builder`]), and the embedded chain it
//! produces.

mod builder;
pub mod codegen;
pub(crate) mod embedded;

pub use builder::{compile_migrations, rerun_if_migrations_changed, BuildError, Builder, CargoEnv};
pub use codegen::Verify;
pub use embedded::{EmbeddedDependency, EmbeddedRevision, EmbeddedSection, EmbeddedSnapshot, Migrations};
