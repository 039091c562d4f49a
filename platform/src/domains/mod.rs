//! Domains: names and the registry rules they must meet (O5). Availability, the
//! registrar adapter and the lifecycle build on this.

pub mod aftermarket;
pub mod devregistry;
pub mod epp;
pub mod registrar;
pub mod rules;
pub mod search;
pub mod smd;

pub use rules::{DomainName, check_name};
