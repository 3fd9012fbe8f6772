//! SQL as text: one lexer that splits sections into statements, and the
//! lint that reads statements through it.

pub mod lint;
pub(crate) mod pragmas;
pub(crate) mod split;

pub use pragmas::turns_foreign_keys_off;
pub use split::{split_statements, Statement};
