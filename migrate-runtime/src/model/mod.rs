//! The values everything else passes around: a revision and its sections,
//! where it came from, its checksum, and the errors that name both.

/// Which way a run, a plan or a section goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Upgrade,
    Downgrade,
}

pub(crate) mod checksum;
pub(crate) mod error;
pub(crate) mod location;
pub(crate) mod revision;

pub use checksum::sql_checksum;
pub use error::{
    ApplyError, ChainError, ChainErrors, DatabaseError, IdError, LabelError, PackageCycle, TargetError,
};
pub use location::Location;
pub use revision::{
    validate_id, validate_label, Dependency, Dialect, Language, LintAllow, Revision, Section, TransactionMode,
};
