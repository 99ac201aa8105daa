//! A TCP proxy between vira and PostgreSQL that a test can cut and restore.

use std::sync::Arc;

/// A TCP proxy on 127.0.0.1 in front of PostgreSQL. [`TcpProxy::cut`] closes every proxied
/// connection and the listening socket (new connections are refused, as during a server restart);
/// [`TcpProxy::restore`] listens on the same address again.
pub struct TcpProxy {
    addr: std::net::SocketAddr,
    upstream: String,
    accept: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    conns: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl TcpProxy {
    pub async fn start(upstream: String) -> TcpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let proxy = TcpProxy {
            addr: listener.local_addr().unwrap(),
            upstream,
            accept: std::sync::Mutex::new(None),
            conns: Arc::new(std::sync::Mutex::new(Vec::new())),
        };
        proxy.serve(listener);
        proxy
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let upstream = self.upstream.clone();
        let conns = self.conns.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                let upstream = upstream.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                let mut conns = conns.lock().unwrap();
                conns.retain(|c| !c.is_finished());
                conns.push(conn);
            }
        });
        *self.accept.lock().unwrap() = Some(task);
    }

    /// Stop listening and close every proxied connection; returns once all sockets are closed.
    pub async fn cut(&self) {
        let accept = self.accept.lock().unwrap().take();
        if let Some(task) = accept {
            task.abort();
            let _ = task.await;
        }
        let conns = std::mem::take(&mut *self.conns.lock().unwrap());
        for conn in conns {
            conn.abort();
            let _ = conn.await;
        }
    }

    /// Listen again on the same address.
    pub async fn restore(&self) {
        let mut last_error = None;
        for _ in 0..100 {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(listener) => return self.serve(listener),
                Err(e) => last_error = Some(e),
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("re-bind proxy on {}: {last_error:?}", self.addr);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        if let Some(task) = self.accept.lock().unwrap().take() {
            task.abort();
        }
        for conn in self.conns.lock().unwrap().drain(..) {
            conn.abort();
        }
    }
}
