//! Wire types of API.md, version 1. Field names are snake_case on the wire; every type here
//! is used by the server to answer and by the clients to read, so the two can never disagree.

mod health;

pub use health::{Health, HealthStatus};

/// The API version this crate speaks; also reported by `/healthz`.
pub const API_VERSION: u32 = 1;
