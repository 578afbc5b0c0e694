//! The order robot: simulated customers, baristas and booth screens driving a real Espresso
//! server through espresso-core's native [`Client`](espresso_core::Client) and
//! [`LiveStream`](espresso_core::LiveStream), as the apps do. It is the booth demo (a board
//! that looks alive) and the benchmark harness (`cargo xtask bench` reads its JSON summary).
//!
//! - [`run`] one run from a [`Config`] to a [`Summary`] (its [`Summary::table`] and
//!   [`Summary::to_json`]); [`Stop`] ends it early, the shop restored.
//! - [`mailbox`]: sign-in codes read from the server's `dir:` mail folder (the e2e tests use it
//!   too). There is no backdoor: every simulated person signs in with an emailed code.
//!
//! It never decides what the server decides: a refusal is counted by its code, not worked
//! around (except a booth code that rotated, which a person would scan again).

pub mod burst;
pub mod cli;
mod codes;
pub mod config;
pub mod fanout;
pub mod mailbox;
pub mod pace;
pub mod parse;
mod robot;
pub mod rss;
mod signin;
pub mod stats;
pub mod summary;
mod ui;

pub use config::{Config, EMAIL_DOMAIN, Pace, Progress, Stop};
pub use robot::run;
pub use summary::Summary;
