//! The local HTTP server: liveness, readiness and metrics (the kiosk joins it later).

use crate::metrics::Metrics;
use crate::shutdown::ShutdownListener;
use crate::watchdog::Heartbeats;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
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
    store: Arc<crate::store::Store>,
) -> Router {
    let sales_routes = Router::new()
        .route("/api/sales", get(sales_view))
        .with_state(SalesState {
            store,
            stock: stock.clone(),
        });
    let stock_routes = Router::new()
        .route("/api/stock", get(stock_view))
        .with_state(stock);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
        .merge(stock_routes)
        .merge(sales_routes)
        .layer(DefaultBodyLimit::max(max_body_bytes))
}

/// The live stock: per slot, per product, and the recent events, as JSON.
async fn stock_view(State(stock): State<crate::stock::service::StockHandle>) -> impl IntoResponse {
    let body = serde_json::to_string(&stock.view()).unwrap_or_else(|_| "{}".into());
    ([(header::CONTENT_TYPE, "application/json")], body)
}

#[derive(Clone)]
struct SalesState {
    store: Arc<crate::store::Store>,
    stock: crate::stock::service::StockHandle,
}

/// A day's sales per product (`?day=YYYY-MM-DD`; by default the stock stage's current day,
/// which is simulated time in the demo).
async fn sales_view(
    State(state): State<SalesState>,
    RawQuery(query): RawQuery,
) -> axum::response::Response {
    let mut day = None;
    for pair in query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        match pair.split_once('=') {
            Some(("day", v)) => day = Some(v.to_string()),
            _ => {
                return (
                    StatusCode::BAD_REQUEST,
                    format!("unknown query parameter {pair:?}; the only one is day=YYYY-MM-DD\n"),
                )
                    .into_response()
            }
        }
    }
    let day = match day {
        Some(d) if crate::stock::sales::valid_day(&d) => d,
        Some(d) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("day {d:?} is not a date; expected YYYY-MM-DD\n"),
            )
                .into_response()
        }
        None => match state.stock.view().clock {
            Some(clock) => clock.get(..10).unwrap_or_default().to_string(),
            None => crate::stock::sales::day_of(std::time::SystemTime::now()),
        },
    };
    let store = state.store.clone();
    let lookup = {
        let day = day.clone();
        tokio::task::spawn_blocking(move || crate::stock::sales::on_day(&store, &day)).await
    };
    match lookup {
        Ok(Ok(skus)) => {
            let units: u64 = skus.iter().map(|s| s.units).sum();
            let body = serde_json::json!({ "day": day, "units": units, "skus": skus });
            (
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("cannot read the sales: {e}\n"),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("sales lookup failed: {e}\n"),
        )
            .into_response(),
    }
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
