//! Wires the daemon together: opens the store, starts every task, owns the one shutdown
//! signal (SIGTERM, SIGINT) and stops everything within the configured timeout, store flushed.

use crate::config::Config;
use crate::http::{self, HttpState, Readiness};
use crate::metrics::{Metrics, BUILD};
use crate::shutdown::{Shutdown, ShutdownListener};
use crate::store::{Store, StoreError};
use crate::sync::link::LinkStatus;
use crate::sync::{self, Outbox};
use crate::watchdog::{self, Heartbeats};
use sd_notify::NotifyState;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// How `run` presents itself.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Print what is served to stdout (the demo does, the service does not).
    pub announce: bool,
    /// When the configured HTTP port is taken, take a free one instead of failing (demo only).
    pub http_any_port: bool,
    /// Run the stock stage on a simulated store (the demo).
    pub simulated_stock: Option<SimulatedStock>,
}

/// The demo's stock stage: a planogram, its catalog and the simulated store behind them.
#[derive(Debug, Clone)]
pub struct SimulatedStock {
    /// Planogram (camera 0 is simulated).
    pub planogram: crate::stock::planogram::Planogram,
    /// Catalog with the products' pack looks.
    pub catalog: crate::catalog::Catalog,
    /// Simulation settings.
    pub simulation: crate::stock::service::Simulation,
}

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The store could not be opened.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The HTTP port could not be bound.
    #[error("cannot listen on {addr}: {source}\n  fix: stop whatever uses that port or set [http] bind = \"127.0.0.1:PORT\" in the config")]
    HttpBind {
        /// The configured address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A task failed while running.
    #[error("{0}")]
    Task(String),
}

/// Runs the daemon until SIGTERM/SIGINT; returns after a graceful stop.
pub async fn run(config: Config, options: RunOptions) -> Result<(), AppError> {
    let shutdown = Shutdown::new();
    let mut signals = tokio::spawn(wait_for_signal());

    // Changes headquarters made (cmd/config) apply on top of the file's values.
    let file_config = config.clone();
    let mut config = config;
    match crate::config::patch::load_overrides(&mut config) {
        Ok(keys) if keys.is_empty() => {}
        Ok(keys) => {
            log::info!(
                "config changes from headquarters in force: {}",
                keys.join(", ")
            );
            if std::env::var_os("RUST_LOG").is_none() {
                log::set_max_level(config.logging.level.filter());
            }
        }
        Err(e) => log::error!(
            "ignoring the config changes stored from headquarters ({}): {e}",
            crate::config::patch::stored_path(&config.paths.state_dir).display()
        ),
    }

    watchdog::notify(&[NotifyState::Status("opening store")]);
    let state_dir = config.paths.state_dir.clone();
    let settings = config.store.clone();
    let opened = tokio::task::spawn_blocking(move || Store::open(&state_dir, &settings))
        .await
        .map_err(|e| AppError::Task(format!("store open task failed: {e}")))??;
    let store = Arc::new(opened.store);

    let mut metrics = Metrics::new(store.kind().name());
    let stock_metrics = crate::stock::service::StockMetrics::register(metrics.registry_mut());
    if let Some(aside) = &opened.quarantined {
        metrics.store_quarantined.inc();
        metrics.set_fault("store_corrupt", true);
        log::error!(
            "started with an EMPTY store: the previous database was damaged and is kept at {}",
            aside.display()
        );
    } else {
        metrics.set_fault("store_corrupt", false);
    }
    let metrics = Arc::new(metrics);
    let readiness = Arc::new(Readiness::default());
    readiness.ready("config");
    readiness.ready("store");
    let heartbeats = Heartbeats::new();

    let outbox = Outbox::open(store.clone(), sync::outbox_settings(&config))
        .map_err(|e| AppError::Task(format!("cannot open the outbox: {e}")))?;
    let link_status = Arc::new(LinkStatus::default());
    let link = sync::link_settings(&config).map_err(AppError::Task)?;

    // Models load in the background: the daemon is ready (health, sync) before they are, and
    // serves with the ones that pass their checks.
    let model_status = crate::models::ModelStatus::default();
    let models = Arc::new(
        crate::models::hub::ModelHub::new(
            crate::models::hub::HubSettings {
                packaged: crate::models::manifest_path(None, Some(&config)),
                state_dir: config.paths.state_dir.clone(),
                keys: config.model_updates.keys.clone(),
                max_bytes: config.model_updates.max_mb << 20,
                slot_batch: 24,
            },
            metrics.clone(),
            model_status.clone(),
        )
        .map_err(AppError::Task)?,
    );
    {
        let models = models.clone();
        // A plain thread, not spawn_blocking: the runtime's shutdown waits for blocking tasks,
        // and a stop during loading (seconds on a slow board) must not wait for it.
        let spawned = std::thread::Builder::new()
            .name("models".into())
            .spawn(move || {
                models.load();
                // Then it ends the probation of updates that served an hour without failing
                // (models the stock stage does not run have no runs to count) and drops
                // abandoned transfers.
                loop {
                    std::thread::sleep(Duration::from_secs(30));
                    models.sweep();
                }
            });
        if let Err(e) = spawned {
            log::error!("cannot start the model loader thread: {e}; running without models");
        }
    }

    let listener = bind_http(config.http.bind, options.http_any_port).await?;
    let http_addr = listener.local_addr().map_err(|source| AppError::HttpBind {
        addr: config.http.bind,
        source,
    })?;

    let mut tasks = JoinSet::new();
    let state = HttpState {
        metrics: metrics.clone(),
        heartbeats: heartbeats.clone(),
        readiness: readiness.clone(),
    };
    let stock_handle = crate::stock::service::StockHandle::default();
    let router = http::router(
        state,
        config.http.max_body_bytes,
        stock_handle.clone(),
        store.clone(),
    );
    let http_shutdown = shutdown.listener();
    tasks.spawn(async move {
        http::serve(listener, router, http_shutdown)
            .await
            .map_err(|e| format!("HTTP server failed: {e}"))
    });
    match link {
        Some(settings) => {
            log::info!(
                "headquarters link: mqtt{}://{}:{} as {}",
                if settings.tls.is_some() { "s" } else { "" },
                settings.host,
                settings.port,
                settings.client_id
            );
            let (commands_tx, commands_rx) = tokio::sync::mpsc::channel(64);
            tasks.spawn(sync::link::run(
                settings,
                outbox.clone(),
                link_status.clone(),
                Some(commands_tx),
                shutdown.listener(),
            ));
            tasks.spawn(sync::commands::run(
                commands_rx,
                outbox.clone(),
                file_config.clone(),
                models.clone(),
                shutdown.listener(),
            ));
            tasks.spawn(sync::health::run(
                outbox.clone(),
                link_status.clone(),
                model_status.clone(),
                stock_handle.clone(),
                Duration::from_secs(config.mqtt.health_interval_secs),
                shutdown.listener(),
            ));
        }
        None => log::info!("no headquarters broker configured ([mqtt] host): running local-only"),
    }
    tasks.spawn(supervise(
        store.clone(),
        outbox.clone(),
        link_status.clone(),
        metrics.clone(),
        heartbeats.register("supervisor"),
        shutdown.listener(),
    ));
    if let Some(interval) = sd_notify::watchdog_enabled() {
        let stale = Duration::from_secs(config.lifecycle.heartbeat_stale_secs);
        tasks.spawn(watchdog::feed(
            heartbeats.clone(),
            interval,
            stale,
            shutdown.listener(),
        ));
    }

    let stock_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stock_context = |slots| crate::stock::service::StockContext {
        slots,
        models: models.clone(),
        outbox: outbox.clone(),
        store: store.clone(),
        handle: stock_handle.clone(),
        heartbeat: heartbeats.register("stock"),
        stop: stock_stop.clone(),
        snapshot_secs: 10.0,
        metrics: stock_metrics.clone(),
    };
    let mut stock_thread = None;
    if let Some(sim) = options.simulated_stock.clone() {
        let camera = sim
            .planogram
            .cameras
            .first()
            .map(|c| (c.id.clone(), c.width, c.height));
        match camera {
            Some(camera) => {
                let ctx = stock_context(sim.planogram.slots(Some(&sim.catalog)));
                let shelf = crate::stock::service::SimulatedShelf {
                    catalog: sim.catalog,
                    camera,
                    simulation: sim.simulation,
                };
                match crate::stock::service::spawn_simulated(ctx, shelf) {
                    Ok(handle) => stock_thread = Some(handle),
                    Err(e) => log::error!("cannot start the stock thread: {e}"),
                }
            }
            None => log::error!("the planogram has no camera; no stock stage"),
        }
    } else if let Some((wiring, eans)) = live_stock(&config, &metrics) {
        let ctx = stock_context(wiring.slots.clone());
        match crate::stock::live::spawn_live(ctx, wiring, eans) {
            Ok(handle) => stock_thread = Some(handle),
            Err(e) => log::error!("cannot start the stock thread: {e}"),
        }
    }

    let status = format!(
        "running: http {http_addr}, store {} at {}",
        store.kind().name(),
        store.path().display()
    );
    watchdog::notify(&[NotifyState::Ready, NotifyState::Status(&status)]);
    log::info!(
        "edge-runtime {} ({}) ready for store {} device {}: {status}",
        BUILD.version,
        BUILD.revision,
        config.identity.store_id,
        config.identity.device_id
    );
    if options.announce {
        // A closed stdout (`demo | head`) must not take the daemon down: ignore write errors.
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "edge-runtime demo is running (Ctrl-C stops it)");
        let _ = writeln!(out, "  health:   http://{http_addr}/healthz");
        let _ = writeln!(out, "  ready:    http://{http_addr}/readyz");
        let _ = writeln!(out, "  metrics:  http://{http_addr}/metrics");
        let _ = writeln!(
            out,
            "  store:    {} at {}",
            store.kind().name(),
            store.path().display()
        );
        let _ = out.flush();
    }

    // Run until a signal arrives or a task ends on its own (which is a failure).
    let mut failure = None;
    tokio::select! {
        signal = &mut signals => {
            log::info!("{}: stopping", signal.unwrap_or_else(|_| "signal listener ended".into()));
        }
        Some(ended) = tasks.join_next() => {
            let why = match ended {
                Ok(Ok(())) => "a task ended unexpectedly".to_string(),
                Ok(Err(e)) => e,
                Err(e) => format!("a task panicked: {e}"),
            };
            log::error!("{why}; stopping");
            failure = Some(why);
        }
    }
    watchdog::notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    shutdown.trigger();
    stock_stop.store(true, std::sync::atomic::Ordering::Relaxed);

    let timeout = Duration::from_secs(config.lifecycle.shutdown_timeout_secs);
    let drained = tokio::time::timeout(timeout, async {
        while let Some(ended) = tasks.join_next().await {
            match ended {
                Ok(Ok(())) => {}
                Ok(Err(e)) => log::warn!("while stopping: {e}"),
                Err(e) => log::warn!("task failed while stopping: {e}"),
            }
        }
    })
    .await;
    if drained.is_err() {
        log::warn!(
            "tasks still running after {}s; abandoning them",
            timeout.as_secs()
        );
        tasks.abort_all();
    }
    // The stock thread finishes its frame and saves its estimates before the store closes.
    if let Some(thread) = stock_thread {
        let deadline = std::time::Instant::now() + timeout;
        while !thread.is_finished() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if !thread.is_finished() {
            log::warn!(
                "the stock thread did not stop within {}s",
                timeout.as_secs()
            );
        }
    }
    // Pending acknowledgements are written before the store closes.
    outbox.sync().await;
    drop(outbox);
    let closing = store.clone();
    match tokio::task::spawn_blocking(move || closing.close()).await {
        Ok(Ok(())) => log::info!("store flushed and closed"),
        Ok(Err(e)) => log::error!("store close failed: {e}"),
        Err(e) => log::error!("store close task failed: {e}"),
    }
    signals.abort();
    match failure {
        Some(why) => Err(AppError::Task(why)),
        None => Ok(()),
    }
}

/// The planogram in force, its catalog and how the configured devices serve it; `None` (and
/// the reason logged) when there is no stock tracking. A bad planogram raises the
/// `planogram_invalid` fault; the daemon runs on without a stock stage.
fn live_stock(
    config: &Config,
    metrics: &Metrics,
) -> Option<(
    crate::stock::live::Wiring,
    std::collections::HashMap<String, String>,
)> {
    use crate::stock::{live, planogram::Planogram, update};
    let state_dir = &config.paths.state_dir;
    metrics.set_fault("planogram_invalid", false);
    metrics.set_fault("stock_devices_missing", false);
    let Some(path) = update::effective_path(state_dir, config.paths.planogram.as_deref()) else {
        log::info!("no planogram (paths.planogram): stock tracking is off");
        return None;
    };
    let catalog = stock_catalog(config);
    let planogram = match Planogram::load(&path, catalog.as_ref()) {
        Ok(p) => p,
        Err(e) => {
            metrics.set_fault("planogram_invalid", true);
            log::error!(
                "planogram {} is not usable; stock tracking is off until it is fixed \
                 (check it with `edge-runtime planogram check`):\n{e}",
                path.display()
            );
            return None;
        }
    };
    let slots = planogram.slots(catalog.as_ref());
    log::info!(
        "planogram {} from {}: {} cameras, {} slots",
        planogram.version,
        path.display(),
        planogram.cameras.len(),
        slots.len()
    );
    let wiring = live::wire(
        &planogram,
        slots,
        &config.cameras,
        &config.scales,
        &config.scanners,
    );
    for problem in &wiring.problems {
        log::error!("stock: {problem}");
    }
    for note in &wiring.notes {
        log::warn!("stock: {note}");
    }
    metrics.set_fault("stock_devices_missing", !wiring.problems.is_empty());
    let eans = catalog.as_ref().map(live::ean_index).unwrap_or_default();
    if !config.scanners.is_empty() && eans.is_empty() {
        log::warn!("stock: no catalog with barcodes (attributes.ean): scans are not counted");
    }
    Some((wiring, eans))
}

/// The catalog for the stock stage: the one headquarters sent (kept in the state directory),
/// else the config's `paths.catalog` (JSON); `None`, logged, when neither can be read.
fn stock_catalog(config: &Config) -> Option<crate::catalog::Catalog> {
    use crate::catalog;
    match catalog::load(&config.paths.state_dir) {
        Ok(Some(c)) => return Some(c),
        Ok(None) => {}
        Err(e) => log::error!(
            "the catalog headquarters sent ({}) cannot be used: {e}",
            catalog::stored_path(&config.paths.state_dir).display()
        ),
    }
    let path = config.paths.catalog.as_ref()?;
    let loaded = catalog::load_file(path);
    match loaded {
        Ok(c) => Some(c),
        Err(e) => {
            log::error!(
                "catalog {} cannot be used: {e}; the planogram is loaded without it",
                path.display()
            );
            None
        }
    }
}

async fn bind_http(addr: SocketAddr, any_port: bool) -> Result<tokio::net::TcpListener, AppError> {
    match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => Ok(l),
        Err(e) if any_port && e.kind() == std::io::ErrorKind::AddrInUse => {
            let mut free = addr;
            free.set_port(0);
            log::warn!("{addr} is in use; serving on a free port instead");
            tokio::net::TcpListener::bind(free)
                .await
                .map_err(|source| AppError::HttpBind { addr, source })
        }
        Err(source) => Err(AppError::HttpBind { addr, source }),
    }
}

/// Resolves with the name of the first SIGTERM or SIGINT.
async fn wait_for_signal() -> String {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        _ => {
            log::error!("cannot install signal handlers; stop with SIGKILL");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM".into(),
        _ = int.recv() => "SIGINT".into(),
    }
}

/// The supervisor's own unit of work: beat, and keep slow-changing metrics fresh.
async fn supervise(
    store: Arc<Store>,
    outbox: Outbox,
    link: Arc<LinkStatus>,
    metrics: Arc<Metrics>,
    heartbeat: watchdog::Heartbeat,
    mut shutdown: ShutdownListener,
) -> Result<(), String> {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = shutdown.wait() => return Ok(()),
            _ = tick.tick() => {}
        }
        if n % 30 == 0 {
            let s = store.clone();
            match tokio::task::spawn_blocking(move || s.disk_bytes()).await {
                Ok(Ok(bytes)) => metrics.set_store_disk_bytes(bytes),
                Ok(Err(e)) => log::warn!("cannot read store size: {e}"),
                Err(e) => log::warn!("store size task failed: {e}"),
            }
        }
        metrics.set_sync(&outbox.stats(), Some(&link));
        n += 1;
        heartbeat.beat();
    }
}
