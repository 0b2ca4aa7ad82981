//! Config changes from headquarters (`cmd/config`): a subset of keys that is safe to change
//! remotely. Identity, broker address, credentials, paths and the HTTP bind are not in it: a
//! wrong value there would cut the device off from the people who could fix it.
//!
//! The config file in `/etc` stays read-only to the daemon; accepted changes are kept in
//! `<state_dir>/config-override.json` and applied on top of the file at every start. A change
//! is validated together with the file's values (the same checks as `check-config`) and
//! refused as a whole on any problem. `logging.level` takes effect at once; the others at the
//! next start, and the acknowledgement says which.

use super::{Config, LogLevel};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The keys headquarters may change.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigPatch {
    /// `[logging]`.
    #[serde(default)]
    pub logging: Option<LoggingPatch>,
    /// `[mqtt]`, timing and window only.
    #[serde(default)]
    pub mqtt: Option<MqttPatch>,
    /// `[outbox]`.
    #[serde(default)]
    pub outbox: Option<OutboxPatch>,
    /// `[lifecycle]`.
    #[serde(default)]
    pub lifecycle: Option<LifecyclePatch>,
}

/// `[logging]` keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingPatch {
    /// Log level (applied at once).
    pub level: Option<LogLevel>,
}

/// `[mqtt]` keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttPatch {
    /// Keep-alive seconds.
    pub keep_alive_secs: Option<u64>,
    /// In-flight window.
    pub inflight: Option<u16>,
    /// First reconnect delay.
    pub reconnect_min_ms: Option<u64>,
    /// Largest reconnect delay.
    pub reconnect_max_secs: Option<u64>,
    /// Seconds between health messages.
    pub health_interval_secs: Option<u64>,
}

/// `[outbox]` keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxPatch {
    /// Outbox bound in MiB.
    pub max_mb: Option<u64>,
}

/// `[lifecycle]` keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecyclePatch {
    /// Watchdog staleness bound.
    pub heartbeat_stale_secs: Option<u64>,
}

impl ConfigPatch {
    /// Parses a patch; unknown sections and keys are errors that name what is allowed.
    pub fn from_json(value: Value) -> Result<ConfigPatch, String> {
        serde_json::from_value(value).map_err(|e| format!("not a config change: {e}"))
    }

    /// Writes the patch's values into `config`; returns the keys it set.
    pub fn apply_to(&self, config: &mut Config) -> Vec<&'static str> {
        let mut set = Vec::new();
        let mut put = |name: &'static str, present: bool| {
            if present {
                set.push(name)
            }
        };
        if let Some(l) = &self.logging {
            if let Some(v) = l.level {
                config.logging.level = v;
            }
            put("logging.level", l.level.is_some());
        }
        if let Some(m) = &self.mqtt {
            let c = &mut config.mqtt;
            for (name, src, dst) in [
                (
                    "mqtt.keep_alive_secs",
                    m.keep_alive_secs,
                    &mut c.keep_alive_secs,
                ),
                (
                    "mqtt.reconnect_min_ms",
                    m.reconnect_min_ms,
                    &mut c.reconnect_min_ms,
                ),
                (
                    "mqtt.reconnect_max_secs",
                    m.reconnect_max_secs,
                    &mut c.reconnect_max_secs,
                ),
                (
                    "mqtt.health_interval_secs",
                    m.health_interval_secs,
                    &mut c.health_interval_secs,
                ),
            ] {
                if let Some(v) = src {
                    *dst = v;
                }
                put(name, src.is_some());
            }
            if let Some(v) = m.inflight {
                c.inflight = v;
            }
            put("mqtt.inflight", m.inflight.is_some());
        }
        if let Some(o) = &self.outbox {
            if let Some(v) = o.max_mb {
                config.outbox.max_mb = v;
            }
            put("outbox.max_mb", o.max_mb.is_some());
        }
        if let Some(l) = &self.lifecycle {
            if let Some(v) = l.heartbeat_stale_secs {
                config.lifecycle.heartbeat_stale_secs = v;
            }
            put(
                "lifecycle.heartbeat_stale_secs",
                l.heartbeat_stale_secs.is_some(),
            );
        }
        set
    }
}

/// Where accepted changes are kept.
pub fn stored_path(state_dir: &Path) -> PathBuf {
    state_dir.join("config-override.json")
}

/// Later values win, section by section.
fn merge(base: &mut Map<String, Value>, newer: Map<String, Value>) {
    for (key, value) in newer {
        match (base.get_mut(&key), value) {
            (Some(Value::Object(old)), Value::Object(new)) => merge(old, new),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn stored(state_dir: &Path) -> Result<Map<String, Value>, String> {
    match std::fs::read(stored_path(state_dir)) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err("the stored config changes are not a JSON object".into()),
            Err(e) => Err(format!("the stored config changes do not parse: {e}")),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(format!("cannot read the stored config changes: {e}")),
    }
}

fn checked(config: &Config, patch: &ConfigPatch) -> Result<(Config, Vec<&'static str>), String> {
    let mut changed = config.clone();
    let keys = patch.apply_to(&mut changed);
    let problems: Vec<String> = changed.check().into_iter().map(|(_, m)| m).collect();
    if problems.is_empty() {
        Ok((changed, keys))
    } else {
        Err(problems.join("; "))
    }
}

/// Applies headquarters' change: validated with `base` (the config file as loaded, before any
/// stored change), merged with the changes stored before, written atomically. Returns what
/// was done, for the acknowledgement.
pub fn apply_command(state_dir: &Path, base: &Config, body: Value) -> Result<String, String> {
    let Value::Object(new) = body else {
        return Err("the body must be an object of config sections, e.g. {\"logging\": {\"level\": \"debug\"}}".into());
    };
    if new.is_empty() {
        return Err("the change is empty".into());
    }
    let patch = ConfigPatch::from_json(Value::Object(new.clone()))?;
    let mut all = stored(state_dir).unwrap_or_default();
    merge(&mut all, new);
    let merged = ConfigPatch::from_json(Value::Object(all.clone()))?;
    let (changed, _) = checked(base, &merged)?;
    let bytes = serde_json::to_vec_pretty(&Value::Object(all))
        .map_err(|e| format!("cannot encode the change: {e}"))?;
    crate::catalog::write_atomically(&stored_path(state_dir), &bytes)
        .map_err(|e| format!("cannot store the change: {e}"))?;
    let keys = patch.apply_to(&mut base.clone());
    let (now, later): (Vec<&str>, Vec<&str>) = keys.iter().partition(|k| **k == "logging.level");
    if !now.is_empty() && std::env::var_os("RUST_LOG").is_none() {
        log::set_max_level(changed.logging.level.filter());
    }
    let mut parts = Vec::new();
    if !now.is_empty() {
        parts.push(format!("applied now: {}", now.join(", ")));
    }
    if !later.is_empty() {
        parts.push(format!(
            "stored, applied at the next start: {}",
            later.join(", ")
        ));
    }
    Ok(parts.join("; "))
}

/// Applies the stored changes to the config file's values at start. A stored change that no
/// longer fits the file (e.g. the file was edited) is ignored as a whole, with the reason.
pub fn load_overrides(config: &mut Config) -> Result<Vec<&'static str>, String> {
    let map = stored(&config.paths.state_dir)?;
    if map.is_empty() {
        return Ok(Vec::new());
    }
    let patch = ConfigPatch::from_json(Value::Object(map))?;
    let (changed, keys) = checked(config, &patch)?;
    *config = changed;
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base(dir: &Path) -> Config {
        let mut c = Config::demo(dir);
        c.outbox.max_mb = 64;
        c
    }

    #[test]
    fn changes_are_validated_merged_stored_and_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let config = base(dir.path());
        let ack = apply_command(dir.path(), &config, json!({"outbox": {"max_mb": 128}})).unwrap();
        assert!(ack.contains("next start: outbox.max_mb"), "{ack}");
        let ack = apply_command(
            dir.path(),
            &config,
            json!({"logging": {"level": "debug"}, "mqtt": {"health_interval_secs": 30}}),
        )
        .unwrap();
        assert!(ack.contains("applied now: logging.level"), "{ack}");
        let mut loaded = config.clone();
        let keys = load_overrides(&mut loaded).unwrap();
        assert_eq!(loaded.outbox.max_mb, 128, "the earlier change is kept");
        assert_eq!(loaded.mqtt.health_interval_secs, 30);
        assert_eq!(loaded.logging.level, LogLevel::Debug);
        assert_eq!(keys.len(), 3);
        log::set_max_level(log::LevelFilter::Info);
    }

    #[test]
    fn bad_changes_are_refused_and_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let config = base(dir.path());
        apply_command(dir.path(), &config, json!({"outbox": {"max_mb": 100}})).unwrap();
        let before = std::fs::read(stored_path(dir.path())).unwrap();
        for (body, words) in [
            (
                json!({"mqtt": {"host": "evil.example"}}),
                "unknown field `host`",
            ),
            (
                json!({"identity": {"device_id": "x"}}),
                "unknown field `identity`",
            ),
            (json!({"outbox": {"max_mb": "lots"}}), "invalid type"),
            (json!({"logging": {"level": "chatty"}}), "unknown variant"),
            (json!({"mqtt": {"inflight": 0}}), "inflight"),
            (json!({}), "empty"),
            (json!([1, 2]), "must be an object"),
        ] {
            let err = apply_command(dir.path(), &config, body.clone()).unwrap_err();
            assert!(err.contains(words), "{body}: {err}");
        }
        assert_eq!(std::fs::read(stored_path(dir.path())).unwrap(), before);
        let mut loaded = config.clone();
        load_overrides(&mut loaded).unwrap();
        assert_eq!(loaded.outbox.max_mb, 100);
    }

    #[test]
    fn a_damaged_stored_change_is_reported_not_applied() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = base(dir.path());
        std::fs::write(stored_path(dir.path()), b"{not json").unwrap();
        assert!(load_overrides(&mut config).is_err());
        assert_eq!(config, base(dir.path()));
    }
}
