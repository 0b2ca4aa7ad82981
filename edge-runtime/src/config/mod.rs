//! The daemon's configuration: one TOML file, every section strict about unknown keys.
//!
//! Loading (`load`) collects every problem in the file at once, each with its line and column,
//! so that an installer fixes the file in one pass instead of one error per restart.

mod devices;
mod diagnostics;
pub(crate) mod document;
pub mod patch;

pub use devices::{
    CameraConfig, CameraFormat, CameraSource, Parity, ScaleConfig, ScaleProtocolName, ScannerConfig,
};
pub use diagnostics::ConfigError;
pub use document::Problem;

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where `run` looks for its config when neither `--config` nor the environment names one.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/edge-runtime/config.toml";

/// Environment variable that overrides the default config path (`--config` still wins).
pub const CONFIG_ENV: &str = "EDGE_RUNTIME_CONFIG";

/// The commented default config printed by `print-config --default`.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Who this device is; part of every MQTT topic and payload.
    pub identity: Identity,
    /// Where state and the files headquarters replaces live.
    pub paths: Paths,
    /// Log verbosity.
    pub logging: Logging,
    /// The local HTTP server (health, metrics, later the kiosk).
    pub http: Http,
    /// The embedded database.
    pub store: StoreSettings,
    /// Connection to headquarters.
    pub mqtt: Mqtt,
    /// The durable queue of messages for headquarters.
    pub outbox: OutboxConfig,
    /// Shutdown and watchdog timing.
    pub lifecycle: Lifecycle,
    /// Signed model updates from headquarters.
    pub model_updates: ModelUpdates,
    /// Shelf cameras (`[[cameras]]`), matched to the planogram's cameras by id.
    pub cameras: Vec<CameraConfig>,
    /// Shelf scales and load-cell boards (`[[scales]]`), matched to the planogram's `scale`.
    pub scales: Vec<ScaleConfig>,
    /// Barcode scanners (`[[scanners]]`).
    pub scanners: Vec<ScannerConfig>,
}

/// Store and device identifiers.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Identity {
    /// The shop, as headquarters names it.
    pub store_id: String,
    /// This device inside the shop.
    pub device_id: String,
}

/// Files and directories.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Paths {
    /// Writable directory for the store, outbox and models (systemd `StateDirectory`).
    pub state_dir: PathBuf,
    /// Planogram file (cameras, slots, SKU per slot); replaced by headquarters.
    pub planogram: Option<PathBuf>,
    /// Catalog file (SKU, names, prices, locations); replaced by headquarters.
    pub catalog: Option<PathBuf>,
    /// Model manifest (`models/manifest.toml`); unset: the packaged models
    /// (`/usr/share/edge-runtime/models/manifest.toml`).
    pub models: Option<PathBuf>,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            state_dir: PathBuf::from("/var/lib/edge-runtime"),
            planogram: None,
            catalog: None,
            models: None,
        }
    }
}

/// Log verbosity; `RUST_LOG` overrides it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Logging {
    /// Least severe level written to stderr.
    pub level: LogLevel,
}

impl Default for Logging {
    fn default() -> Self {
        Logging {
            level: LogLevel::Info,
        }
    }
}

/// A log level name as written in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Only errors.
    Error,
    /// Errors and warnings.
    Warn,
    /// The normal operating level.
    Info,
    /// Troubleshooting.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// The matching `log` filter.
    pub fn filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
}

/// Local HTTP server.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Http {
    /// Address and port to listen on; loopback unless the kiosk is another machine.
    pub bind: SocketAddr,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

impl Default for Http {
    fn default() -> Self {
        Http {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 64 * 1024,
        }
    }
}

/// Which embedded database backs the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackendKind {
    /// redb: the default (see docs/decisions/0001-store.md).
    Redb,
    /// sled 0.34.7.
    Sled,
}

impl StoreBackendKind {
    /// The name used in config, logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            StoreBackendKind::Redb => "redb",
            StoreBackendKind::Sled => "sled",
        }
    }
}

/// Embedded database settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// Backend engine.
    pub backend: StoreBackendKind,
    /// Page cache in MiB; keep it small on 1 GiB boards.
    pub cache_mb: u64,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            backend: StoreBackendKind::Redb,
            cache_mb: 32,
        }
    }
}

/// MQTT connection to headquarters. An empty `host` means "no headquarters link".
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mqtt {
    /// Broker host name or address; empty disables the link.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// Keep-alive interval in seconds.
    pub keep_alive_secs: u64,
    /// Largest MQTT packet sent or accepted, in bytes.
    pub max_packet_bytes: usize,
    /// User name for password authentication.
    pub username: Option<String>,
    /// File holding the password (kept out of the config file).
    pub password_file: Option<PathBuf>,
    /// CA certificate (PEM) that signs the broker's certificate; enables TLS.
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS.
    pub client_cert: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS.
    pub client_key: Option<PathBuf>,
    /// Messages published but not yet acknowledged by the broker, at most.
    pub inflight: u16,
    /// First reconnect delay in milliseconds; doubles (with jitter) up to `reconnect_max_secs`.
    pub reconnect_min_ms: u64,
    /// Largest reconnect delay in seconds.
    pub reconnect_max_secs: u64,
    /// Seconds between health messages.
    pub health_interval_secs: u64,
    /// Largest command (catalog, planogram, ...) accepted from headquarters, in bytes.
    pub max_command_bytes: usize,
}

/// Outbox limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// Bound on queued bytes in MiB; when full, health goes first, then stock state, and
    /// events and forecasts last.
    pub max_mb: u64,
    /// Free space (MiB) kept on the state directory's filesystem: below it the outbox stops
    /// growing and makes room by the full policy instead, so that deleting acknowledged
    /// messages and reopening the store always have space. 0 turns the reserve off.
    pub disk_reserve_mb: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            max_mb: 64,
            disk_reserve_mb: 16,
        }
    }
}

impl Default for Mqtt {
    fn default() -> Self {
        Mqtt {
            host: String::new(),
            port: 1883,
            keep_alive_secs: 30,
            max_packet_bytes: 256 * 1024,
            username: None,
            password_file: None,
            ca_file: None,
            client_cert: None,
            client_key: None,
            inflight: 128,
            reconnect_min_ms: 500,
            reconnect_max_secs: 60,
            health_interval_secs: 60,
            max_command_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Shutdown and watchdog timing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lifecycle {
    /// Seconds allowed for a graceful stop before tasks are abandoned.
    pub shutdown_timeout_secs: u64,
    /// A pipeline heartbeat older than this stops the systemd watchdog from being fed.
    pub heartbeat_stale_secs: u64,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            shutdown_timeout_secs: 5,
            heartbeat_stale_secs: 30,
        }
    }
}

/// Signed model updates from headquarters (`cmd/model`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelUpdates {
    /// Headquarters' ed25519 public keys (32 bytes, base64) whose signed releases install;
    /// empty: model updates are refused.
    pub keys: Vec<String>,
    /// Largest release (all its files) accepted, in MiB.
    pub max_mb: u64,
}

impl Default for ModelUpdates {
    fn default() -> Self {
        ModelUpdates {
            keys: Vec::new(),
            max_mb: 64,
        }
    }
}

impl Config {
    /// Reads, parses and validates the file at `path`, reporting every problem at once.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        diagnostics::load_file(path)
    }

    /// Parses and validates config text; `origin` names it in messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        diagnostics::load_text(text, origin)
    }

    /// The built-in config `demo` runs with: valid, with a given state directory.
    pub fn demo(state_dir: &Path) -> Config {
        let mut config = Config::default();
        config.identity.store_id = "demo-store".into();
        config.identity.device_id = "demo-device".into();
        config.paths.state_dir = state_dir.to_path_buf();
        config
    }

    /// Semantic checks after parsing; each problem names its key path.
    pub(crate) fn check(&self) -> Vec<(Vec<document::Step>, String)> {
        let mut problems = Vec::new();
        let mut bad = |path: &[&'static str], msg: String| {
            problems.push((path.iter().map(|k| document::Step::from(*k)).collect(), msg))
        };
        for (key, value) in [
            ("store_id", &self.identity.store_id),
            ("device_id", &self.identity.device_id),
        ] {
            if let Err(why) = check_topic_id(value) {
                bad(&["identity", key], format!("identity.{key} {why}"));
            }
        }
        if self.paths.state_dir.as_os_str().is_empty() {
            bad(
                &["paths", "state_dir"],
                "paths.state_dir must not be empty".into(),
            );
        } else if !self.paths.state_dir.is_absolute() {
            bad(
                &["paths", "state_dir"],
                "paths.state_dir must be an absolute path (systemd starts the daemon in /)".into(),
            );
        }
        for (key, file) in [
            ("planogram", &self.paths.planogram),
            ("catalog", &self.paths.catalog),
            ("models", &self.paths.models),
        ] {
            if let Some(file) = file {
                if !file.is_file() {
                    bad(
                        &["paths", key],
                        format!("paths.{key}: file {} does not exist", file.display()),
                    );
                }
            }
        }
        if self.http.max_body_bytes < 1024 {
            bad(
                &["http", "max_body_bytes"],
                "http.max_body_bytes must be at least 1024".into(),
            );
        }
        let compiled_in = match self.store.backend {
            StoreBackendKind::Redb => cfg!(feature = "store-redb"),
            StoreBackendKind::Sled => cfg!(feature = "store-sled"),
        };
        if !compiled_in {
            bad(
                &["store", "backend"],
                format!(
                    "store.backend {:?} is not compiled into this build (cargo feature store-{})",
                    self.store.backend.name(),
                    self.store.backend.name()
                ),
            );
        }
        if self.store.cache_mb == 0 || self.store.cache_mb > 4096 {
            bad(
                &["store", "cache_mb"],
                "store.cache_mb must be between 1 and 4096".into(),
            );
        }
        if !self.mqtt.host.is_empty() {
            if self.mqtt.port == 0 {
                bad(&["mqtt", "port"], "mqtt.port must not be 0".into());
            }
            if !(5..=3600).contains(&self.mqtt.keep_alive_secs) {
                bad(
                    &["mqtt", "keep_alive_secs"],
                    "mqtt.keep_alive_secs must be between 5 and 3600".into(),
                );
            }
            if !(1024..=256 * 1024 * 1024).contains(&self.mqtt.max_packet_bytes) {
                bad(
                    &["mqtt", "max_packet_bytes"],
                    "mqtt.max_packet_bytes must be between 1024 and 268435456".into(),
                );
            }
        }
        if !(1..=1000).contains(&self.mqtt.inflight) {
            bad(
                &["mqtt", "inflight"],
                "mqtt.inflight must be between 1 and 1000".into(),
            );
        }
        if !(10..=60_000).contains(&self.mqtt.reconnect_min_ms) {
            bad(
                &["mqtt", "reconnect_min_ms"],
                "mqtt.reconnect_min_ms must be between 10 and 60000".into(),
            );
        }
        if !(1..=3600).contains(&self.mqtt.reconnect_max_secs) {
            bad(
                &["mqtt", "reconnect_max_secs"],
                "mqtt.reconnect_max_secs must be between 1 and 3600".into(),
            );
        }
        if !(1..=86_400).contains(&self.mqtt.health_interval_secs) {
            bad(
                &["mqtt", "health_interval_secs"],
                "mqtt.health_interval_secs must be between 1 and 86400".into(),
            );
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.mqtt.max_command_bytes) {
            bad(
                &["mqtt", "max_command_bytes"],
                "mqtt.max_command_bytes must be between 1024 and 67108864".into(),
            );
        }
        if !(1..=65_536).contains(&self.outbox.max_mb) {
            bad(
                &["outbox", "max_mb"],
                "outbox.max_mb must be between 1 and 65536".into(),
            );
        }
        if self.outbox.disk_reserve_mb > 65_536 {
            bad(
                &["outbox", "disk_reserve_mb"],
                "outbox.disk_reserve_mb must be between 0 and 65536".into(),
            );
        }
        for (key, file) in [
            ("password_file", &self.mqtt.password_file),
            ("ca_file", &self.mqtt.ca_file),
            ("client_cert", &self.mqtt.client_cert),
            ("client_key", &self.mqtt.client_key),
        ] {
            if let Some(file) = file {
                if !file.is_file() {
                    bad(
                        &["mqtt", key],
                        format!("mqtt.{key}: file {} does not exist", file.display()),
                    );
                }
            }
        }
        if self.mqtt.client_cert.is_some() != self.mqtt.client_key.is_some() {
            bad(
                &["mqtt", "client_cert"],
                "mqtt.client_cert and mqtt.client_key must be given together".into(),
            );
        }
        if self.mqtt.client_cert.is_some() && self.mqtt.ca_file.is_none() {
            bad(
                &["mqtt", "client_cert"],
                "mutual TLS needs mqtt.ca_file as well".into(),
            );
        }
        if !(1..=60).contains(&self.lifecycle.shutdown_timeout_secs) {
            bad(
                &["lifecycle", "shutdown_timeout_secs"],
                "lifecycle.shutdown_timeout_secs must be between 1 and 60".into(),
            );
        }
        if !(2..=3600).contains(&self.lifecycle.heartbeat_stale_secs) {
            bad(
                &["lifecycle", "heartbeat_stale_secs"],
                "lifecycle.heartbeat_stale_secs must be between 2 and 3600".into(),
            );
        }
        for key in &self.model_updates.keys {
            if let Err(why) = crate::models::release::public_key(key) {
                bad(
                    &["model_updates", "keys"],
                    format!("model_updates.keys: {why} (an ed25519 public key, base64)"),
                );
            }
        }
        if !(1..=1024).contains(&self.model_updates.max_mb) {
            bad(
                &["model_updates", "max_mb"],
                "model_updates.max_mb must be between 1 and 1024".into(),
            );
        }
        problems.extend(devices::check(&self.cameras, &self.scales, &self.scanners));
        problems
    }
}

/// An identifier that goes into MQTT topics: no wildcards or separators, not empty.
fn check_topic_id(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must be set (it names this device to headquarters)".into());
    }
    if value.len() > 64 {
        return Err("must be at most 64 characters".into());
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '.'))
    {
        return Err(format!(
            "may only hold letters, digits, '-', '_' and '.' (found {c:?})"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
