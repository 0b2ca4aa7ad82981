//! Prometheus metrics for `/metrics`: build info, uptime, memory, store and fault state.
//! Other modules register their own metrics in `registry_mut` before the app starts serving.

use crate::watchdog::Heartbeats;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

/// Labels of a per-stage metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    /// Pipeline stage name.
    pub stage: String,
}

/// Labels of an outbox class.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClassLabels {
    /// Priority class name.
    pub class: String,
}

/// Labels of a fault.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FaultLabels {
    /// What is wrong, e.g. `store_corrupt`.
    pub fault: String,
}

/// Labels of a model.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    /// Model name from the manifest.
    pub model: String,
    /// Its version.
    pub version: String,
}

/// Version facts shown in `edge_build_info` and `edge-runtime version`.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    /// Crate version.
    pub version: &'static str,
    /// Git revision the binary was built from.
    pub revision: &'static str,
    /// Target triple.
    pub target: &'static str,
}

/// This binary's build facts.
pub const BUILD: BuildInfo = BuildInfo {
    version: env!("CARGO_PKG_VERSION"),
    revision: env!("EDGE_RUNTIME_GIT_REVISION"),
    target: env!("EDGE_RUNTIME_TARGET"),
};

/// The core metrics every daemon exports.
pub struct Metrics {
    registry: Registry,
    started: Instant,
    uptime: Gauge<f64, AtomicU64>,
    resident: Gauge,
    store_disk: Gauge,
    /// Databases moved aside because they could not be opened.
    pub store_quarantined: Counter,
    /// Active faults (1 = active).
    pub faults: Family<FaultLabels, Gauge>,
    heartbeat_age: Family<StageLabels, Gauge<f64, AtomicU64>>,
    /// 1 when /readyz reports ready.
    pub ready: Gauge,
    /// Messages waiting in the outbox per class.
    pub outbox_queued: Family<ClassLabels, Gauge>,
    /// Bytes waiting in the outbox per class.
    pub outbox_bytes: Family<ClassLabels, Gauge>,
    /// Messages dropped by the full policy per class (persisted across restarts).
    pub outbox_dropped: Family<ClassLabels, Gauge>,
    /// 1 while connected to the headquarters broker.
    pub mqtt_connected: Gauge,
    /// Successful broker connections since start.
    pub mqtt_connects: Gauge,
    /// Failed or lost broker connections since start.
    pub mqtt_failures: Gauge,
    /// Messages acknowledged by the broker since start.
    pub mqtt_acked: Gauge,
    /// 1 when a model passed its checks and serves, 0 when it failed to load.
    pub model_ready: Family<ModelLabels, Gauge>,
}

impl Metrics {
    /// Registers the core metrics; `store_backend` goes into the build info.
    pub fn new(store_backend: &str) -> Self {
        let mut registry = Registry::with_prefix("edge");
        registry.register(
            "build",
            "Version, git revision, target and store backend of this binary",
            Info::new(vec![
                ("version", BUILD.version.to_string()),
                ("revision", BUILD.revision.to_string()),
                ("target", BUILD.target.to_string()),
                ("store_backend", store_backend.to_string()),
            ]),
        );
        let m = Metrics {
            registry,
            started: Instant::now(),
            uptime: Gauge::default(),
            resident: Gauge::default(),
            store_disk: Gauge::default(),
            store_quarantined: Counter::default(),
            faults: Family::default(),
            heartbeat_age: Family::default(),
            ready: Gauge::default(),
            outbox_queued: Family::default(),
            outbox_bytes: Family::default(),
            outbox_dropped: Family::default(),
            mqtt_connected: Gauge::default(),
            mqtt_connects: Gauge::default(),
            mqtt_failures: Gauge::default(),
            mqtt_acked: Gauge::default(),
            model_ready: Family::default(),
        };
        let mut m = m;
        let r = &mut m.registry;
        r.register(
            "uptime_seconds",
            "Seconds since the daemon started",
            m.uptime.clone(),
        );
        r.register(
            "process_resident_memory_bytes",
            "Resident set size of the daemon",
            m.resident.clone(),
        );
        r.register(
            "store_disk_bytes",
            "Bytes the store occupies on disk",
            m.store_disk.clone(),
        );
        r.register(
            "store_quarantined",
            "Damaged databases moved aside at startup",
            m.store_quarantined.clone(),
        );
        r.register("fault", "Active faults (1 = active)", m.faults.clone());
        r.register(
            "heartbeat_age_seconds",
            "Seconds since each pipeline stage last made progress",
            m.heartbeat_age.clone(),
        );
        r.register("ready", "1 when the daemon reports ready", m.ready.clone());
        r.register(
            "outbox_queued_messages",
            "Messages waiting for headquarters",
            m.outbox_queued.clone(),
        );
        r.register(
            "outbox_queued_bytes",
            "Bytes waiting for headquarters",
            m.outbox_bytes.clone(),
        );
        r.register(
            "outbox_dropped_messages",
            "Messages dropped because the outbox was full (persisted)",
            m.outbox_dropped.clone(),
        );
        r.register(
            "mqtt_connected",
            "1 while connected to headquarters",
            m.mqtt_connected.clone(),
        );
        r.register(
            "mqtt_connects",
            "Broker connections since start",
            m.mqtt_connects.clone(),
        );
        r.register(
            "mqtt_failures",
            "Failed or lost broker connections since start",
            m.mqtt_failures.clone(),
        );
        r.register(
            "mqtt_acked_messages",
            "Messages acknowledged by the broker since start",
            m.mqtt_acked.clone(),
        );
        r.register(
            "model_ready",
            "1 when the model passed its hash and test-vector checks and serves",
            m.model_ready.clone(),
        );
        m
    }

    /// For other modules to add their metrics at startup.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Records the store's size on disk.
    pub fn set_store_disk_bytes(&self, bytes: u64) {
        self.store_disk
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// Copies outbox and link figures into the gauges.
    pub fn set_sync(
        &self,
        outbox: &[crate::sync::outbox::ClassStats; 3],
        link: Option<&crate::sync::link::LinkStatus>,
    ) {
        use std::sync::atomic::Ordering::Relaxed;
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        for class in crate::sync::Class::ALL {
            let labels = ClassLabels {
                class: class.name().to_string(),
            };
            let s = outbox[class as usize];
            self.outbox_queued.get_or_create(&labels).set(n(s.queued));
            self.outbox_bytes.get_or_create(&labels).set(n(s.bytes));
            self.outbox_dropped.get_or_create(&labels).set(n(s.dropped));
        }
        if let Some(link) = link {
            self.mqtt_connected
                .set(i64::from(link.connected.load(Relaxed)));
            self.mqtt_connects.set(n(link.connects.load(Relaxed)));
            self.mqtt_failures.set(n(link.failures.load(Relaxed)));
            self.mqtt_acked.set(n(link.acked.load(Relaxed)));
        }
    }

    /// Raises or clears a fault.
    pub fn set_fault(&self, fault: &str, active: bool) {
        self.faults
            .get_or_create(&FaultLabels {
                fault: fault.to_string(),
            })
            .set(i64::from(active));
    }

    /// Whether a fault is raised (`None`: never set).
    pub fn fault_active(&self, fault: &str) -> Option<bool> {
        let labels = FaultLabels {
            fault: fault.to_string(),
        };
        self.faults.get(&labels).map(|g| g.get() != 0)
    }

    /// Text exposition (OpenMetrics) with scrape-time values refreshed.
    pub fn render(&self, heartbeats: &Heartbeats) -> String {
        self.uptime.set(self.started.elapsed().as_secs_f64());
        if let Some(rss) = resident_bytes() {
            self.resident.set(i64::try_from(rss).unwrap_or(i64::MAX));
        }
        for (stage, age) in heartbeats.ages() {
            self.heartbeat_age
                .get_or_create(&StageLabels {
                    stage: stage.to_string(),
                })
                .set(age.as_secs_f64());
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out = "# encoding failed\n".into();
        }
        out
    }
}

/// Resident set size from /proc/self/statm (Linux), in bytes.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_the_core_series() {
        let m = Metrics::new("redb");
        m.set_fault("store_corrupt", true);
        m.store_quarantined.inc();
        let hbs = Heartbeats::new();
        hbs.register("pipeline");
        let text = m.render(&hbs);
        for needle in [
            "edge_build_info{version=\"",
            "store_backend=\"redb\"",
            "edge_uptime_seconds ",
            "edge_process_resident_memory_bytes ",
            "edge_store_quarantined_total 1",
            "edge_fault{fault=\"store_corrupt\"} 1",
            "edge_heartbeat_age_seconds{stage=\"pipeline\"}",
            "# EOF",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        assert!(resident_bytes().unwrap() > 1_000_000);
    }
}
