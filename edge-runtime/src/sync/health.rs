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
    stock: &crate::stock::service::StockHandle,
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
    body.insert("stock".into(), stock_summary(&stock.view()));
    body
}

/// The shelf in a few numbers, and every device's state: enough for headquarters to see a
/// blind camera or a dead scale without asking the device.
fn stock_summary(view: &crate::stock::service::StockView) -> Value {
    use crate::stock::tracker::Level;
    let count = |level: Level| view.slots.iter().filter(|s| s.level == level).count();
    json!({
        "frames": view.frames,
        "slots": view.slots.len(),
        "low": count(Level::Low),
        "out": count(Level::Out),
        "faulty_slots": view.slots.iter().filter(|s| !s.faults.is_empty()).count(),
        "waiting": view.waiting,
        "problems": view.problems.len(),
        "devices": view.devices.iter().map(|d| json!({
            "id": d.id,
            "kind": d.kind,
            "state": d.state,
            "last_error": d.last_error,
            "last_reading": d.last_reading,
        })).collect::<Vec<_>>(),
    })
}

/// Enqueues a health message every `interval` until shutdown.
pub async fn run(
    outbox: Outbox,
    link: Arc<LinkStatus>,
    models: crate::models::ModelStatus,
    stock: crate::stock::service::StockHandle,
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
            body: body(&outbox, &link, &models, &stock, started),
        };
        if let Err(e) = outbox.enqueue(vec![msg]).await {
            log::warn!("cannot queue the health message: {e}");
        }
    }
}
