//! The periodic health message: what headquarters needs to see that a store is well, including
//! what the outbox had to drop since the last one.

use super::link::LinkStatus;
use super::{Class, Outbox, Outgoing};
use crate::shutdown::ShutdownListener;
use serde_json::{json, Map, Value};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The health message body from current figures.
pub fn body(
    outbox: &Outbox,
    link: &LinkStatus,
    models: &crate::models::ModelStatus,
    started: Instant,
) -> Map<String, Value> {
    let stats = outbox.stats();
    let mut queues = Map::new();
    for class in Class::ALL {
        let s = stats[class as usize];
        queues.insert(
            class.name().into(),
            json!({ "queued": s.queued, "bytes": s.bytes, "dropped": s.dropped }),
        );
    }
    let mut body = Map::new();
    body.insert("uptime_s".into(), json!(started.elapsed().as_secs()));
    body.insert(
        "rss_bytes".into(),
        json!(crate::metrics::resident_bytes().unwrap_or(0)),
    );
    body.insert("outbox".into(), Value::Object(queues));
    body.insert(
        "link".into(),
        json!({
            "connects": link.connects.load(Relaxed),
            "failures": link.failures.load(Relaxed),
            "acked": link.acked.load(Relaxed),
        }),
    );
    body.insert("models".into(), models.json());
    body
}

/// Enqueues a health message every `interval` until shutdown.
pub async fn run(
    outbox: Outbox,
    link: Arc<LinkStatus>,
    models: crate::models::ModelStatus,
    interval: Duration,
    mut shutdown: ShutdownListener,
) -> Result<(), String> {
    let started = Instant::now();
    let mut tick = tokio::time::interval(interval);
    loop {
        tokio::select! {
            _ = shutdown.wait() => return Ok(()),
            _ = tick.tick() => {}
        }
        let msg = Outgoing {
            class: Class::Health,
            topic: "health".into(),
            qos: 0,
            schema: "health@1",
            body: body(&outbox, &link, &models, started),
        };
        if let Err(e) = outbox.enqueue(vec![msg]).await {
            log::warn!("cannot queue the health message: {e}");
        }
    }
}
