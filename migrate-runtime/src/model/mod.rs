//! The values everything else passes around: a revision and its sections,
//! where it came from, its checksum, and the errors that name both.

pub mod checksum;
pub mod error;
pub mod location;
pub mod revision;
