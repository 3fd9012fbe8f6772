//! The values everything else passes around: a revision and its sections,
//! where it came from, its checksum, and the errors that name both.

/// Which way a run, a plan or a section goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Upgrade,
    Downgrade,
}

pub mod checksum;
pub mod error;
pub mod location;
pub mod revision;
