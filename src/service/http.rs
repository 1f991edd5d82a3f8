//! The HTTP endpoints operators and orchestrators poll.
//!
//! - `/metrics`: Prometheus text format, rendered from the process-wide
//!   recorder (see [`super::metrics`]).
//! - `/healthz`: 200 while the process runs (liveness).
//! - `/readyz`: 200 once the consumer has a partition assignment and the
//!   producer has reached a broker, 503 before (readiness).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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

/// What `/readyz` reports; updated by the consumer and producer threads.
#[derive(Debug, Default)]
pub struct Readiness {
    assigned: AtomicBool,
    producer_connected: AtomicBool,
}

impl Readiness {
    /// Ready means both: partitions assigned and the producer reached a broker.
    pub fn is_ready(&self) -> bool {
        self.assigned.load(Ordering::Acquire) && self.producer_connected.load(Ordering::Acquire)
    }

    pub(crate) fn set_assigned(&self, assigned: bool) {
        self.assigned.store(assigned, Ordering::Release);
        metrics::set_ready(self.is_ready());
    }

    pub(crate) fn set_producer_connected(&self) {
        self.producer_connected.store(true, Ordering::Release);
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
    if state.readiness.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: waiting for partitions and a broker\n")
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
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 503"));
        readiness.set_producer_connected();
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 200"));
        assert!(get(addr, "/metrics").await.contains("logveil_ready 1"));
        stop.trigger();
        task.await.unwrap();
    }
}
