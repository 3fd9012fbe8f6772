//! SQL as text: one lexer that splits sections into statements, and the
//! lint that reads statements through it.

pub mod lint;
pub mod pragmas;
pub mod split;
