//! Entities of the shared tables this crate owns. They are schema-qualified
//! (`shared.`), which works on Postgres directly and on SQLite through the ATTACH.

pub mod hostname;
pub mod tenant;
