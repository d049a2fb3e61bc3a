//! Native host for Kubewarden waPC policies: runs a module the way kwctl does, serves the
//! `kubewarden` host capabilities with real Sigstore verification against a real registry,
//! and carries an offline signing lab for end-to-end tests.

pub mod capabilities;
pub mod distribution;
pub mod executor;
pub mod host;
pub mod lab;
pub mod metadata_check;
pub mod record;
pub mod response;
pub mod runtime;
pub mod services;
