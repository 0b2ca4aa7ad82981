//! The local HTTP server: liveness, readiness and metrics (the kiosk joins it later).

use crate::metrics::Metrics;
use crate::shutdown::ShutdownListener;
use crate::watchdog::Heartbeats;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// What must be loaded before the daemon reports ready, and what is still missing.
#[derive(Debug, Default)]
pub struct Readiness {
    parts: Mutex<BTreeMap<&'static str, Option<String>>>,
}

impl Readiness {
    /// Declares a part that is not ready yet, with the reason.
    pub fn pending(&self, part: &'static str, why: &str) {
        if let Ok(mut parts) = self.parts.lock() {
            parts.insert(part, Some(why.to_string()));
        }
    }

    /// Marks a part ready.
    pub fn ready(&self, part: &'static str) {
        if let Ok(mut parts) = self.parts.lock() {
            parts.insert(part, None);
        }
    }

    /// `Ok` with the ready parts, or `Err` with each missing part and why.
    pub fn check(&self) -> Result<Vec<&'static str>, Vec<String>> {
        let parts = match self.parts.lock() {
            Ok(p) => p,
            Err(_) => return Err(vec!["readiness lock poisoned".into()]),
        };
        let missing: Vec<String> = parts
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|why| format!("{k}: {why}")))
            .collect();
        if missing.is_empty() && !parts.is_empty() {
            Ok(parts.keys().copied().collect())
        } else if parts.is_empty() {
            Err(vec!["starting".into()])
        } else {
            Err(missing)
        }
    }
}

/// Everything the handlers read.
#[derive(Clone)]
pub struct HttpState {
    /// Metrics to render.
    pub metrics: Arc<Metrics>,
    /// Stage heartbeats, rendered as ages.
    pub heartbeats: Heartbeats,
    /// Readiness of the loaded parts.
    pub readiness: Arc<Readiness>,
}

/// The router with every endpoint.
pub fn router(
    state: HttpState,
    max_body_bytes: usize,
    stock: crate::stock::service::StockHandle,
) -> Router {
    let stock_routes = Router::new()
        .route("/api/stock", get(stock_view))
        .with_state(stock);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
        .merge(stock_routes)
        .layer(DefaultBodyLimit::max(max_body_bytes))
}

/// The live stock: per slot, per product, and the recent events, as JSON.
async fn stock_view(State(stock): State<crate::stock::service::StockHandle>) -> impl IntoResponse {
    let body = serde_json::to_string(&stock.view()).unwrap_or_else(|_| "{}".into());
    ([(header::CONTENT_TYPE, "application/json")], body)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<HttpState>) -> impl IntoResponse {
    match state.readiness.check() {
        Ok(parts) => {
            state.metrics.ready.set(1);
            (StatusCode::OK, format!("ready: {}\n", parts.join(", ")))
        }
        Err(missing) => {
            state.metrics.ready.set(0);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {}\n", missing.join("; ")),
            )
        }
    }
}

async fn metrics(State(state): State<HttpState>) -> impl IntoResponse {
    state
        .metrics
        .ready
        .set(i64::from(state.readiness.check().is_ok()));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(&state.heartbeats),
    )
}

/// Serves `router` on `listener` until shutdown.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    mut shutdown: ShutdownListener,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await
}
