//! Commands from headquarters (`cmd/{kind}`): validated completely, applied atomically or not
//! at all, and always answered on `cmd/{kind}/ack` with accepted or rejected and the reason.
//!
//! A command arrives as `{"schema": "cmd.{kind}@1", "id": "...", "body": {...}}`. Retained
//! commands are refused, so a stale command is never re-applied after a reconnect.

use super::{Class, Outbox, Outgoing};
use crate::models::hub::ModelHub;
use crate::shutdown::ShutdownListener;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::mpsc;

/// A command as received from the broker.
#[derive(Debug, Clone)]
pub struct Command {
    /// The topic part after `cmd/`.
    pub kind: String,
    /// Whether the broker delivered it as a retained message.
    pub retained: bool,
    /// Raw payload.
    pub payload: Vec<u8>,
}

/// The answer to a command.
#[derive(Debug, Clone, PartialEq)]
pub struct Ack {
    /// Command kind (topic part).
    pub kind: String,
    /// The command's id, when it could be read.
    pub id: Option<String>,
    /// Accepted or rejected.
    pub accepted: bool,
    /// Why (rejections) or what was done (acceptances).
    pub reason: String,
    /// Machine-readable details (a model transfer: what is still needed).
    pub detail: Option<Value>,
}

/// The command kinds this device knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Replace the product catalog.
    Catalog,
    /// Replace the planogram.
    Planogram,
    /// Change a subset of the configuration.
    Config,
    /// Install a new model.
    Model,
}

impl Kind {
    fn parse(kind: &str) -> Option<Kind> {
        match kind {
            "catalog" => Some(Kind::Catalog),
            "planogram" => Some(Kind::Planogram),
            "config" => Some(Kind::Config),
            "model" => Some(Kind::Model),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    schema: String,
    id: String,
    body: Value,
}

fn reject(kind: &str, id: Option<String>, reason: impl Into<String>) -> Ack {
    Ack {
        kind: kind.to_string(),
        id,
        accepted: false,
        reason: reason.into(),
        detail: None,
    }
}

/// Checks everything that does not need the device's state; `Ok` carries what to apply.
pub fn check(cmd: &Command, max_bytes: usize) -> Result<(Kind, String, Value), Ack> {
    // Read the id first (best effort) so that even a rejection can name the command.
    let parsed: Result<Value, _> = serde_json::from_slice(&cmd.payload);
    let id = parsed
        .as_ref()
        .ok()
        .and_then(|v| v.get("id"))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    if cmd.retained {
        return Err(reject(
            &cmd.kind,
            id,
            "retained commands are refused: publish commands with retain=false",
        ));
    }
    if cmd.payload.len() > max_bytes {
        return Err(reject(
            &cmd.kind,
            id,
            format!(
                "payload of {} bytes exceeds the limit of {max_bytes} bytes",
                cmd.payload.len()
            ),
        ));
    }
    let Some(kind) = Kind::parse(&cmd.kind) else {
        return Err(reject(
            &cmd.kind,
            id,
            format!(
                "unknown command kind {:?}; known kinds: catalog, planogram, config, model",
                cmd.kind
            ),
        ));
    };
    let value = parsed.map_err(|e| reject(&cmd.kind, None, format!("malformed JSON: {e}")))?;
    let envelope: Envelope = serde_json::from_value(value).map_err(|e| {
        reject(
            &cmd.kind,
            id.clone(),
            format!("not a command envelope {{schema, id, body}}: {e}"),
        )
    })?;
    let expected = format!("cmd.{}@1", cmd.kind);
    if envelope.schema != expected {
        return Err(reject(
            &cmd.kind,
            Some(envelope.id),
            format!(
                "unsupported schema {:?}; this device accepts {expected:?}",
                envelope.schema
            ),
        ));
    }
    Ok((kind, envelope.id, envelope.body))
}

/// Applies a checked command; nothing changes on rejection.
fn apply(
    kind: Kind,
    id: String,
    body: Value,
    config: &crate::config::Config,
    models: &ModelHub,
) -> Ack {
    let state_dir = config.paths.state_dir.as_path();
    let kind_name = match kind {
        Kind::Catalog => "catalog",
        Kind::Planogram => "planogram",
        Kind::Config => "config",
        Kind::Model => "model",
    };
    match kind {
        Kind::Catalog => match crate::catalog::apply(state_dir, body) {
            Ok(c) => Ack {
                kind: kind_name.into(),
                id: Some(id),
                accepted: true,
                reason: format!(
                    "catalog {} with {} products stored",
                    c.version,
                    c.products.len()
                ),
                detail: None,
            },
            Err(e) => reject(kind_name, Some(id), e.to_string()),
        },
        Kind::Planogram => match crate::stock::update::apply(state_dir, body) {
            Ok(p) => Ack {
                kind: kind_name.into(),
                id: Some(id),
                accepted: true,
                reason: format!(
                    "planogram {} with {} cameras and {} slots stored; the stock stage uses it from its next start",
                    p.version,
                    p.cameras.len(),
                    p.cameras.iter().map(|c| c.slots.len()).sum::<usize>()
                ),
                detail: None,
            },
            Err(e) => reject(kind_name, Some(id), e),
        },
        Kind::Config => match crate::config::patch::apply_command(state_dir, config, body) {
            Ok(done) => Ack {
                kind: kind_name.into(),
                id: Some(id),
                accepted: true,
                reason: done,
                detail: None,
            },
            Err(e) => reject(kind_name, Some(id), e),
        },
        Kind::Model => match models.command(body) {
            Ok((reason, detail)) => Ack {
                kind: kind_name.into(),
                id: Some(id),
                accepted: true,
                reason,
                detail,
            },
            Err(e) => reject(kind_name, Some(id), e),
        },
    }
}

/// The ack message for the outbox.
pub fn ack_message(ack: &Ack) -> Outgoing {
    let mut body = serde_json::Map::new();
    body.insert("command".into(), json!(ack.kind));
    body.insert("id".into(), json!(ack.id));
    body.insert(
        "status".into(),
        json!(if ack.accepted { "accepted" } else { "rejected" }),
    );
    body.insert("reason".into(), json!(ack.reason));
    if let Some(detail) = &ack.detail {
        body.insert("detail".into(), detail.clone());
    }
    // A kind that cannot be a topic level is answered on the generic ack topic.
    let kind = if ack.kind.is_empty() || ack.kind.contains(['/', '+', '#']) {
        "unknown".to_string()
    } else {
        ack.kind.clone()
    };
    Outgoing {
        class: Class::Critical,
        topic: format!("cmd/{kind}/ack"),
        qos: 1,
        schema: "cmd.ack@1",
        body,
    }
}

/// Handles commands until shutdown: check, apply off the async threads, answer. `config` is
/// the config file as loaded (config changes are validated against it).
pub async fn run(
    mut commands: mpsc::Receiver<Command>,
    outbox: Outbox,
    config: crate::config::Config,
    models: Arc<ModelHub>,
    mut shutdown: ShutdownListener,
) -> Result<(), String> {
    let max_bytes = config.mqtt.max_command_bytes;
    let config = Arc::new(config);
    loop {
        let cmd = tokio::select! {
            _ = shutdown.wait() => return Ok(()),
            cmd = commands.recv() => match cmd {
                Some(c) => c,
                None => return Ok(()),
            },
        };
        let ack = match check(&cmd, max_bytes) {
            Err(ack) => ack,
            Ok((kind, id, body)) => {
                let (config, models) = (config.clone(), models.clone());
                let kind_name = cmd.kind.clone();
                let fallback_id = id.clone();
                tokio::task::spawn_blocking(move || apply(kind, id, body, &config, &models))
                    .await
                    .unwrap_or_else(|e| {
                        reject(&kind_name, Some(fallback_id), format!("apply failed: {e}"))
                    })
            }
        };
        if ack.accepted {
            log::info!("command {} {:?} accepted: {}", ack.kind, ack.id, ack.reason);
        } else {
            log::warn!("command {} {:?} rejected: {}", ack.kind, ack.id, ack.reason);
        }
        if let Err(e) = outbox.enqueue(vec![ack_message(&ack)]).await {
            log::error!("cannot queue the command ack: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(kind: &str, payload: &str, retained: bool) -> Command {
        Command {
            kind: kind.into(),
            retained,
            payload: payload.as_bytes().to_vec(),
        }
    }

    fn rejected(c: Command) -> Ack {
        let ack = check(&c, 1000).expect_err("must be rejected");
        assert!(!ack.accepted);
        ack
    }

    #[test]
    fn bad_commands_are_rejected_with_a_reason() {
        let a = rejected(cmd("catalog", "{not json", false));
        assert!(a.reason.starts_with("malformed JSON"), "{}", a.reason);
        let a = rejected(cmd(
            "firmware",
            r#"{"schema":"cmd.firmware@1","id":"7","body":{}}"#,
            false,
        ));
        assert!(a.reason.contains("unknown command kind"), "{}", a.reason);
        assert_eq!(a.id.as_deref(), Some("7"));
        let a = rejected(cmd(
            "catalog",
            r#"{"schema":"cmd.catalog@2","id":"8","body":{}}"#,
            false,
        ));
        assert!(a.reason.contains("unsupported schema"), "{}", a.reason);
        let a = rejected(cmd(
            "catalog",
            r#"{"schema":"cmd.catalog@1","id":"9","body":{}}"#,
            true,
        ));
        assert!(a.reason.contains("retained"), "{}", a.reason);
        let big = format!(
            r#"{{"schema":"cmd.catalog@1","id":"10","body":"{}"}}"#,
            "x".repeat(2000)
        );
        let a = rejected(cmd("catalog", &big, false));
        assert!(a.reason.contains("exceeds the limit"), "{}", a.reason);
        let a = rejected(cmd(
            "catalog",
            r#"{"schema":"cmd.catalog@1","id":"11","body":{},"extra":1}"#,
            false,
        ));
        assert!(a.reason.contains("unknown field"), "{}", a.reason);
    }

    #[test]
    fn a_good_envelope_passes_the_check() {
        let (kind, id, _) = check(
            &cmd(
                "catalog",
                r#"{"schema":"cmd.catalog@1","id":"c1","body":{}}"#,
                false,
            ),
            1000,
        )
        .unwrap();
        assert_eq!((kind, id.as_str()), (Kind::Catalog, "c1"));
    }

    #[test]
    fn ack_topics_stay_single_level() {
        let ack = reject("a/b", None, "x");
        assert_eq!(ack_message(&ack).topic, "cmd/unknown/ack");
        assert_eq!(
            ack_message(&reject("catalog", None, "x")).topic,
            "cmd/catalog/ack"
        );
    }
}
