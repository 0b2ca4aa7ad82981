//! Headquarters sync: the durable outbox, the MQTT link that drains it, and the payload
//! envelope every outbound message carries (`schema`, `store`, `device`, `seq`, `ts`).

pub mod backoff;
pub mod link;
pub mod outbox;
mod policy;

pub use outbox::{Enqueued, Entry, Outbox, OutboxError, OutboxSettings, Outgoing};

use serde_json::{Map, Value};

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
