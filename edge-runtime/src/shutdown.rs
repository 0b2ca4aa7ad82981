//! One shutdown signal for every task: the app triggers it once, each task holds a listener
//! and finishes its current unit of work when it fires.

use tokio::sync::watch;

/// The sending side, owned by the app.
#[derive(Debug)]
pub struct Shutdown {
    tx: watch::Sender<bool>,
}

/// A task's copy of the shutdown signal.
#[derive(Debug, Clone)]
pub struct ShutdownListener {
    rx: watch::Receiver<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A signal that has not fired.
    pub fn new() -> Self {
        let (tx, _) = watch::channel(false);
        Shutdown { tx }
    }

    /// A listener for a task.
    pub fn listener(&self) -> ShutdownListener {
        ShutdownListener {
            rx: self.tx.subscribe(),
        }
    }

    /// Fires the signal; every listener's `wait` returns.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }
}

impl ShutdownListener {
    /// Whether shutdown has been requested.
    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once shutdown has been requested (at once if it already was).
    pub async fn wait(&mut self) {
        // An error means the sender is gone, which also means "stop".
        let _ = self.rx.wait_for(|stop| *stop).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_listener_sees_the_signal() {
        let shutdown = Shutdown::new();
        let mut a = shutdown.listener();
        let mut b = shutdown.listener();
        assert!(!a.is_triggered());
        let task = tokio::spawn(async move { b.wait().await });
        shutdown.trigger();
        a.wait().await;
        task.await.unwrap();
        let mut late = shutdown.listener();
        late.wait().await;
        assert!(late.is_triggered());
    }
}
