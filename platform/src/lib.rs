//! relabel: a multi-tenant white-label reseller platform.
//!
//! The library behind the `relabel` binary; tests start the same app through
//! [`app::spawn`].

pub mod api_keys;
pub mod app;
pub mod appearance;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod branding;
pub mod bulk;
pub mod catalog;
pub mod checks;
pub mod cli;
pub mod config;
pub mod contacts;
pub mod coupons;
pub mod customers;
pub mod demo;
pub mod dns;
pub mod domains;
pub mod forwarding;
pub mod hosting;
pub mod hostnames;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod newsletter;
pub mod operators;
pub mod orders;
pub mod outbound;
pub mod payments;
pub mod pricing;
pub mod provisioning;
pub mod ratelimit;
pub mod resellers;
pub mod secrets;
pub mod staff;
pub mod tax;
pub mod telemetry;
pub mod terms;
pub mod tokens;
pub mod validation;

pub use app::{AppState, Running, spawn};
pub use config::Config;

/// Installs rustls' ring provider once per process (no OpenSSL anywhere).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
