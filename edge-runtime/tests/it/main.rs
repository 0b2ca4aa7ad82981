//! Every edge-runtime integration test in one binary: one (fat-LTO) link instead of one per
//! file. Each module is one concern; `common` starts the real binary, brokers and helpers.

mod common;
#[allow(unused_imports)]
use common::*;
#[path = "common/broker.rs"]
mod broker;
#[path = "common/feeder.rs"]
mod feeder;
#[path = "common/schemas.rs"]
mod schemas;
#[path = "common/tls.rs"]
mod tls;

mod cli;
mod commands;
mod crash;
mod demo;
mod lifecycle;
mod live_stock;
mod model_update;
mod mqtt;
mod mqtt_tls;
mod watchdog;
