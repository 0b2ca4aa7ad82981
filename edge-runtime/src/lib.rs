//! edge-runtime: the in-store daemon. The binary (`main.rs`) is only the CLI; everything it
//! runs lives in these modules, each owning its own state.

pub mod app;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod demo;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod models;
pub mod shutdown;
pub mod stock;
pub mod store;
pub mod sync;
pub mod torture;
pub mod watchdog;
