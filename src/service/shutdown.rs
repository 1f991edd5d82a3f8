//! The one shutdown signal every task of the service watches.
//!
//! [`Shutdown`] is cheap to clone; async tasks `await` [`Shutdown::triggered`]
//! inside `select!`, threads poll [`Shutdown::is_triggered`] between records.
//! [`Shutdown::trigger_on_signals`] wires SIGTERM and SIGINT to it.

use std::sync::Arc;

use tokio::sync::watch;

/// A cloneable "please stop" flag, observable from threads and tasks.
#[derive(Debug, Clone)]
pub struct Shutdown {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A signal that has not fired yet.
    pub fn new() -> Self {
        let (tx, _rx) = watch::channel(false);
        Shutdown { tx: Arc::new(tx) }
    }

    /// Asks every task holding a clone to stop gracefully. Idempotent.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// Whether [`Shutdown::trigger`] was called.
    pub fn is_triggered(&self) -> bool {
        *self.tx.borrow()
    }

    /// Completes once the signal has fired (immediately if it already has).
    pub async fn triggered(&self) {
        let mut rx = self.tx.subscribe();
        // `wait_for` only fails when the sender is gone, and we hold it.
        let _ = rx.wait_for(|fired| *fired).await;
    }

    /// Spawns a task that triggers this signal on SIGTERM or SIGINT
    /// (Ctrl-C). Must be called inside a tokio runtime.
    ///
    /// # Errors
    /// When the signal handlers cannot be installed.
    pub fn trigger_on_signals(&self) -> std::io::Result<()> {
        #[cfg(unix)]
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let this = self.clone();
        tokio::spawn(async move {
            #[cfg(unix)]
            let term = term.recv();
            #[cfg(not(unix))]
            let term = std::future::pending::<Option<()>>();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received; shutting down"),
                _ = term => tracing::info!("SIGTERM received; shutting down"),
                () = this.triggered() => {}
            }
            this.trigger();
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clones_see_the_trigger() {
        let a = Shutdown::new();
        let b = a.clone();
        assert!(!b.is_triggered());
        let waiter = tokio::spawn(async move { b.triggered().await });
        a.trigger();
        waiter.await.unwrap();
        assert!(a.is_triggered());
        // Already fired: returns at once.
        a.triggered().await;
    }
}
