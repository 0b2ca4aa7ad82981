//! Logging to stderr. Under systemd (`JOURNAL_STREAM` set) each line starts with its syslog
//! priority (`<3>` error ... `<7>` debug) so journald records levels, and carries no timestamp
//! because journald adds its own.

use log::Level;
use std::io::Write;

/// syslog priority of a log level.
pub fn syslog_priority(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

/// Installs the logger; `RUST_LOG` overrides `default_level`. Safe to call more than once.
pub fn init(default_level: log::LevelFilter) {
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let mut builder = env_logger::Builder::new();
    builder.filter_level(default_level);
    // Chatty dependencies stay at warn unless RUST_LOG asks for them.
    for noisy in ["sled", "redb", "hyper", "h2", "tower", "axum", "rumqttc"] {
        builder.filter_module(noisy, log::LevelFilter::Warn);
    }
    // The demo's embedded broker logs routine traffic at error level through tracing spans.
    for silent in ["rumqttd", "tracing"] {
        builder.filter_module(silent, log::LevelFilter::Off);
    }
    if let Ok(spec) = std::env::var("RUST_LOG") {
        builder.parse_filters(&spec);
    }
    if journald {
        builder.format(|buf, record| {
            writeln!(
                buf,
                "<{}>{}: {}",
                syslog_priority(record.level()),
                record.target(),
                record.args()
            )
        });
    } else {
        builder.format(|buf, record| {
            writeln!(
                buf,
                "{} {:5} {}: {}",
                crate::clock::rfc3339(std::time::SystemTime::now()),
                record.level(),
                record.target(),
                record.args()
            )
        });
    }
    let _ = builder.try_init();
}
