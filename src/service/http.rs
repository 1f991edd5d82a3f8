//! The HTTP endpoints operators and orchestrators poll.
//!
//! - `/metrics`: Prometheus text format, rendered from the process-wide
//!   recorder (see [`super::metrics`]).
//! - `/healthz`: 200 while the process runs (liveness).
//! - `/readyz`: 200 while the consumer has a partition assignment, a
//!   broker answers, and every input topic exists; else 503 with one reason
//!   per line (`no broker`, `no assignment`, `input topic missing: raw.x`).
//!   The broker and the topics are probed every second by the health
//!   thread (see `service::health`), so an outage shows within a few
//!   seconds even while outputs are queued.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::metrics;
use super::shutdown::Shutdown;

/// What `/readyz` reports; updated by the consumer and health threads.
#[derive(Debug, Default)]
pub struct Readiness {
    assigned: AtomicBool,
    broker: AtomicBool,
    /// Configured input topics the broker does not know.
    missing: Mutex<Vec<String>>,
}

impl Readiness {
    /// Ready means: partitions assigned, a broker answers, no input topic missing.
    pub fn is_ready(&self) -> bool {
        self.reasons().is_empty()
    }

    /// Why the service is not ready (empty when it is).
    pub fn reasons(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.broker.load(Ordering::Acquire) {
            out.push("no broker".to_owned());
        }
        if !self.assigned.load(Ordering::Acquire) {
            out.push("no assignment".to_owned());
        }
        let missing = self.missing.lock().unwrap_or_else(PoisonError::into_inner);
        out.extend(missing.iter().map(|t| format!("input topic missing: {t}")));
        out
    }

    pub(crate) fn set_assigned(&self, assigned: bool) {
        self.assigned.store(assigned, Ordering::Release);
        metrics::set_ready(self.is_ready());
    }

    pub(crate) fn set_producer_connected(&self) {
        self.set_broker(true);
    }

    pub(crate) fn set_broker(&self, up: bool) {
        self.broker.store(up, Ordering::Release);
        metrics::set_ready(self.is_ready());
    }

    pub(crate) fn set_missing(&self, topics: Vec<String>) {
        *self.missing.lock().unwrap_or_else(PoisonError::into_inner) = topics;
        metrics::set_ready(self.is_ready());
    }
}

#[derive(Clone)]
struct AppState {
    prometheus: PrometheusHandle,
    readiness: Arc<Readiness>,
}

/// Binds `addr` (port 0 picks a free port) and serves the endpoints until
/// `stop` fires. Returns the bound address and the server task.
///
/// # Errors
/// When the address cannot be bound.
pub async fn serve(
    addr: SocketAddr,
    prometheus: PrometheusHandle,
    readiness: Arc<Readiness>,
    stop: Shutdown,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(render_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(AppState { prometheus, readiness });
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.triggered().await });
        if let Err(error) = server.await {
            tracing::error!(%error, "HTTP server failed");
        }
    });
    tracing::info!(address = %bound, "serving /metrics, /healthz and /readyz");
    Ok((bound, task))
}

async fn render_metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.prometheus.render(),
    )
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let reasons = state.readiness.reasons();
    if reasons.is_empty() {
        (StatusCode::OK, "ready\n".to_owned())
    } else {
        let body: String = reasons.iter().map(|r| format!("not ready: {r}\n")).collect();
        (StatusCode::SERVICE_UNAVAILABLE, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn readyz_flips_and_healthz_is_always_ok() {
        let readiness = Arc::new(Readiness::default());
        let stop = Shutdown::new();
        let handle = metrics::prometheus_handle().unwrap();
        let (addr, task) =
            serve("127.0.0.1:0".parse().unwrap(), handle, readiness.clone(), stop.clone())
                .await
                .unwrap();
        assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 503"));
        readiness.set_assigned(true);
        let body = get(addr, "/readyz").await;
        assert!(body.starts_with("HTTP/1.1 503") && body.ends_with("not ready: no broker\n"));
        readiness.set_producer_connected();
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 200"));
        readiness.set_missing(vec!["raw.x".into()]);
        let body = get(addr, "/readyz").await;
        assert!(body.starts_with("HTTP/1.1 503"));
        assert!(body.ends_with("not ready: input topic missing: raw.x\n"), "{body}");
        readiness.set_missing(Vec::new());
        readiness.set_broker(false);
        assert!(get(addr, "/readyz").await.ends_with("not ready: no broker\n"));
        readiness.set_broker(true);
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 200"));
        assert!(get(addr, "/metrics").await.contains("logveil_ready 1"));
        stop.trigger();
        task.await.unwrap();
    }
}
