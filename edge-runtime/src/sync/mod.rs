//! Headquarters sync: the durable outbox, the MQTT link that drains it, and the payload
//! envelope every outbound message carries (`schema`, `store`, `device`, `seq`, `ts`).

pub mod backoff;
pub mod commands;
pub mod health;
pub mod link;
pub mod outbox;
mod policy;

pub use outbox::{Enqueued, Entry, Outbox, OutboxError, OutboxSettings, Outgoing};

use crate::config::Config;
use crate::metrics::BUILD;
use serde_json::{Map, Value};
use std::time::Duration;

/// The link settings for `config`, or `None` when no broker is configured.
pub fn link_settings(config: &Config) -> Result<Option<link::LinkSettings>, String> {
    let m = &config.mqtt;
    if m.host.is_empty() {
        return Ok(None);
    }
    let password = match &m.password_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read mqtt.password_file {}: {e}", path.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
        ),
        None => None,
    };
    let credentials = match (&m.username, password) {
        (Some(user), password) => Some((user.clone(), password.unwrap_or_default())),
        (None, Some(_)) => return Err("mqtt.password_file needs mqtt.username".into()),
        (None, None) => None,
    };
    let tls = m.ca_file.as_ref().map(|ca| link::TlsFiles {
        ca: ca.clone(),
        client: m.client_cert.clone().zip(m.client_key.clone()),
    });
    let info = serde_json::json!({
        "schema": "info@1",
        "store": config.identity.store_id,
        "device": config.identity.device_id,
        "version": BUILD.version,
        "revision": BUILD.revision,
        "target": BUILD.target,
        "store_backend": config.store.backend.name(),
        "ts": crate::clock::rfc3339(std::time::SystemTime::now()),
    });
    Ok(Some(link::LinkSettings {
        host: m.host.clone(),
        port: m.port,
        client_id: format!(
            "edge-{}-{}",
            config.identity.store_id, config.identity.device_id
        ),
        keep_alive: Duration::from_secs(m.keep_alive_secs),
        max_packet_bytes: m.max_packet_bytes,
        max_command_bytes: m.max_command_bytes,
        inflight: m.inflight,
        credentials,
        tls,
        reconnect_min: Duration::from_millis(m.reconnect_min_ms),
        reconnect_max: Duration::from_secs(m.reconnect_max_secs),
        info: serde_json::to_vec(&info).unwrap_or_default(),
    }))
}

/// Outbox settings for `config`.
pub fn outbox_settings(config: &Config) -> OutboxSettings {
    OutboxSettings {
        store_id: config.identity.store_id.clone(),
        device_id: config.identity.device_id.clone(),
        max_bytes: config.outbox.max_mb.saturating_mul(1024 * 1024),
        disk_reserve_bytes: config.outbox.disk_reserve_mb.saturating_mul(1024 * 1024),
    }
}

/// Priority class of an outbound message; a full outbox drops the lowest class first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Periodic health: dropped first.
    Health = 0,
    /// Stock state snapshots: superseded by the next one, dropped second.
    State = 1,
    /// Events, forecasts and command acks: dropped last.
    Critical = 2,
}

impl Class {
    /// Every class, lowest priority first.
    pub const ALL: [Class; 3] = [Class::Health, Class::State, Class::Critical];

    /// The store log holding this class's queue.
    pub fn log(self) -> &'static str {
        match self {
            Class::Health => "outbox.health",
            Class::State => "outbox.state",
            Class::Critical => "outbox.critical",
        }
    }

    /// Name for metrics and health payloads.
    pub fn name(self) -> &'static str {
        match self {
            Class::Health => "health",
            Class::State => "state",
            Class::Critical => "critical",
        }
    }
}

/// Adds the envelope fields to a payload.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// Store id.
    pub store_id: String,
    /// Device id.
    pub device_id: String,
}

impl Envelope {
    /// The JSON bytes of `body` with `schema`, `store`, `device`, `seq` and `ts` set.
    pub fn wrap(&self, schema: &str, seq: u64, body: Map<String, Value>) -> Vec<u8> {
        let mut obj = body;
        obj.insert("schema".into(), Value::from(schema));
        obj.insert("store".into(), Value::from(self.store_id.as_str()));
        obj.insert("device".into(), Value::from(self.device_id.as_str()));
        obj.insert("seq".into(), Value::from(seq));
        obj.insert(
            "ts".into(),
            Value::from(crate::clock::rfc3339(std::time::SystemTime::now())),
        );
        serde_json::to_vec(&Value::Object(obj)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
