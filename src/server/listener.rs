//! The accept loop of one listener: a cap on open connections (the longest-idle connection makes
//! room for a new one), a back-off when `accept` fails (no spinning on "too many open files"), and
//! one task per connection that closes it when it idles or dawdles, or when the server stops.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tower::ServiceExt;

use super::conn::{ConnIo, ConnState, GuardedBody, TimedBody, Timeouts};
use crate::http::layers::{BodyMeter, LongHeadLine};
use crate::http::ClientAddr;

/// How one listener treats its connections.
#[derive(Debug, Clone, Copy)]
pub struct ListenerSettings {
    pub timeouts: Timeouts,
    /// Open connections at most; at the cap a new connection evicts the longest-idle one, or is
    /// closed at once when every connection has a request in flight.
    pub max_connections: usize,
    /// Take the client address from the last `X-Forwarded-For` entry when there is one.
    pub trust_forwarded_for: bool,
    /// Bytes of the request line, or of one header line (name, `: ` and value), at most: the
    /// request is answered 414 / 431 and the connection stays usable.
    pub max_header_line_bytes: usize,
    /// Bytes of the whole head (hyper's read buffer): past them hyper answers 431 and closes.
    pub max_head_bytes: usize,
}

/// The open connections of a listener.
pub struct Registry {
    /// The listener's name in the metrics (`main`, `jobs`, `metrics`).
    name: &'static str,
    conns: Mutex<HashMap<u64, Arc<ConnState>>>,
    next_id: AtomicU64,
}

impl Registry {
    pub fn new(name: &'static str) -> Registry {
        Registry {
            name,
            conns: Mutex::default(),
            next_id: AtomicU64::new(0),
        }
    }

    fn publish(&self, open: usize) {
        metrics::gauge!("vira_http_open_connections", "listener" => self.name).set(open as f64);
    }

    fn conns(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<ConnState>>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Open connections right now.
    pub fn open(&self) -> usize {
        self.conns().len()
    }

    /// A slot for a new connection, evicting the longest-idle one at the cap; `None` when every
    /// connection is busy.
    fn admit(self: &Arc<Self>, cap: usize) -> Option<Slot> {
        let mut conns = self.conns();
        if conns.len() >= cap {
            let victim = conns
                .iter()
                .filter_map(|(id, state)| state.evictable_since().map(|since| (since, *id)))
                .min()
                .map(|(_, id)| id)?;
            if let Some(state) = conns.remove(&victim) {
                state.evict();
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let state = ConnState::new();
        conns.insert(id, state.clone());
        self.publish(conns.len());
        Some(Slot {
            id,
            state,
            registry: self.clone(),
        })
    }
}

/// A connection's place in the registry, given back when the connection task ends.
struct Slot {
    id: u64,
    state: Arc<ConnState>,
    registry: Arc<Registry>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut conns = self.registry.conns();
        conns.remove(&self.id);
        self.registry.publish(conns.len());
    }
}

/// Serve `router` on `listener` until `stop` turns true, then drain: idle connections close at
/// once, busy ones after their response. Returns when every connection is closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ListenerSettings,
    registry: Arc<Registry>,
    mut stop: watch::Receiver<bool>,
) {
    let tasks = tokio_util::task::TaskTracker::new();
    let mut backoff = Backoff::default();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff.reset();
                accepted
            }
            // The peer gave up before we accepted: nothing to wait for.
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                let pause = backoff.next(&e);
                tokio::select! {
                    _ = tokio::time::sleep(pause) => continue,
                    _ = stop.wait_for(|stop| *stop) => break,
                }
            }
        };
        let Some(slot) = registry.admit(settings.max_connections) else {
            tracing::debug!("connection cap reached and every connection busy: closing a new one");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        tasks.spawn(connection(
            stream,
            peer.ip(),
            slot,
            router.clone(),
            settings,
            stop.clone(),
        ));
    }
    drop(listener);
    tasks.close();
    tasks.wait().await;
}

async fn connection(
    stream: TcpStream,
    peer: IpAddr,
    slot: Slot,
    router: Router,
    settings: ListenerSettings,
    mut stop: watch::Receiver<bool>,
) {
    let timeouts = settings.timeouts;
    let state = slot.state.clone();
    let io = TokioIo::new(ConnIo::new(stream, state.clone(), timeouts.send));
    let service = hyper::service::service_fn({
        let state = state.clone();
        move |request: hyper::Request<Incoming>| {
            let guard = state.request_started();
            let meter = Arc::new(BodyMeter::default());
            let (mut parts, body) = request.into_parts();
            parts.extensions.insert(meter.clone());
            if let Some(violation) = long_head_line(&parts, settings.max_header_line_bytes) {
                parts.extensions.insert(violation);
            }
            let forwarded = settings
                .trust_forwarded_for
                .then(|| forwarded_for(&parts.headers))
                .flatten();
            parts
                .extensions
                .insert(ClientAddr(forwarded.unwrap_or(peer)));
            let meter_of_reply = meter.clone();
            let body = Body::new(TimedBody::new(body, &timeouts, meter));
            let call = router.clone().oneshot(Request::from_parts(parts, body));
            async move {
                let mut response = match call.await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                // A reply made before the request body was read to its end (refused early):
                // hyper closes such a connection after the reply, so the client must be told
                // not to send its next request on it.
                if !meter_of_reply.ended.load(Ordering::Acquire) {
                    response
                        .headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                }
                Ok::<_, Infallible>(response.map(|body| GuardedBody::new(body, guard)))
            }
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .max_buf_size(settings.max_head_bytes.max(8192))
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        // Busy connections have no deadline here: their body and send timeouts guard them, and
        // the end of a request wakes the watchdog.
        let deadline = state
            .deadline(&timeouts)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            _ = tokio::time::sleep_until(deadline) => {
                if state.deadline(&timeouts).is_some_and(|d| d <= Instant::now()) {
                    tracing::debug!("closing a connection that idled or sent its request head too slowly");
                    break;
                }
            }
            _ = state.woken() => {
                if state.is_evicted() {
                    tracing::debug!("closing an idle connection to make room for a new one");
                    break;
                }
            }
            _ = stop.wait_for(|stop| *stop), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    drop(slot);
}

/// Which line of a parsed request head is longer than `limit` bytes, if one is (the request line
/// is counted as `METHOD target HTTP/1.1`, a header as `name: value`).
fn long_head_line(parts: &axum::http::request::Parts, limit: usize) -> Option<LongHeadLine> {
    let target = parts.uri.path_and_query().map_or(1, |p| p.as_str().len());
    if parts.method.as_str().len() + target + " HTTP/1.1".len() + 1 > limit {
        return Some(LongHeadLine::RequestLine);
    }
    parts
        .headers
        .iter()
        .any(|(name, value)| name.as_str().len() + 2 + value.len() > limit)
        .then_some(LongHeadLine::Header)
}

/// The last address of `X-Forwarded-For` (the one the trusted proxy added): of the last header
/// line, since a proxy may append its own line (HAProxy's `option forwardfor` does) after the
/// ones the client wrote. Only the last hop is the proxy's word; everything before it is the
/// client's.
fn forwarded_for(headers: &axum::http::HeaderMap) -> Option<IpAddr> {
    let value = headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()?
        .to_str()
        .ok()?;
    value.rsplit(',').next()?.trim().parse().ok()
}

/// Errors of one connection that `accept` reports; the listener itself is fine.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Pauses after failed accepts (out of file descriptors, memory): 5 ms doubling to 1 s, and a
/// warning at most every 10 s.
#[derive(Default)]
struct Backoff {
    pause: Option<Duration>,
    warned_at: Option<Instant>,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MAX: Duration = Duration::from_secs(1);

    fn next(&mut self, error: &io::Error) -> Duration {
        let pause = self.pause.map_or(Self::FIRST, |p| (p * 2).min(Self::MAX));
        self.pause = Some(pause);
        if self
            .warned_at
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(10))
        {
            tracing::warn!(error = %error, "accept failed; backing off");
            self.warned_at = Some(Instant::now());
        }
        pause
    }

    fn reset(&mut self) {
        self.pause = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    /// Serve `router` through the listener on an ephemeral port; its address.
    async fn serve_on_a_port(router: Router, settings: ListenerSettings) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (_stop, stop) = watch::channel(false);
        tokio::spawn(async move {
            let _keep = _stop;
            serve(
                listener,
                router,
                settings,
                Arc::new(Registry::new("main")),
                stop,
            )
            .await
        });
        addr
    }

    fn settings() -> ListenerSettings {
        let s = Duration::from_secs(5);
        ListenerSettings {
            timeouts: Timeouts {
                header: s,
                idle: s,
                body: s,
                body_min_bytes: 1,
                send: s,
            },
            max_connections: 8,
            trust_forwarded_for: false,
            max_header_line_bytes: 8192,
            max_head_bytes: 32768,
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_json_500_and_the_connection_lives_on() {
        let router = crate::http::layers::with_layers(
            Router::new()
                .route("/boom", get(|| async { panic!("boom") as &str }))
                .route("/fine", get(|| async { "fine" })),
        );
        let addr = serve_on_a_port(router, settings()).await;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        for _ in 0..2 {
            let reply = client
                .get(format!("http://{addr}/boom"))
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), 500);
            assert!(reply.headers().contains_key("x-request-id"));
            let body: serde_json::Value = reply.json().await.unwrap();
            assert_eq!(body["id"], "internal_error");
            let fine = client
                .get(format!("http://{addr}/fine"))
                .send()
                .await
                .unwrap();
            assert_eq!(fine.text().await.unwrap(), "fine");
        }
    }

    #[tokio::test]
    async fn at_the_cap_the_longest_idle_connection_makes_room() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let router = Router::new().route("/", get(|| async { "ok" }));
        let mut settings = settings();
        settings.max_connections = 2;
        let addr = serve_on_a_port(router, settings).await;
        let mut first = TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _second = TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut third = TcpStream::connect(addr).await.unwrap();
        third
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        third.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        // The oldest idle connection was closed to make room.
        let mut buf = [0u8; 1];
        assert_eq!(first.read(&mut buf).await.unwrap(), 0);
    }
}
