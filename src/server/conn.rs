//! One connection's clock and its I/O: what the connection is doing now (idle, reading a request
//! head, busy with a request), so the listener can close connections that idle or dawdle and evict
//! the longest-idle one; a socket wrapper that notices request bytes and gives up on a client that
//! stops reading; and a request body that gives up on a client that stops sending.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

use crate::http::layers::{BodyMeter, BodyTimedOut};

/// The timeouts of every connection of a listener (all `vira serve` options, SECURITY.md).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// A request head must arrive whole within this time of its first byte.
    pub header: Duration,
    /// A connection with no request in flight is closed after this time.
    pub idle: Duration,
    /// The request body must deliver `body_min_bytes` within this much waiting for the client.
    pub body: Duration,
    pub body_min_bytes: u64,
    /// A response that the client does not read for this long is abandoned.
    pub send: Duration,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No request in flight since this instant (a new connection starts here).
    Idle(Instant),
    /// The first bytes of a request head arrived at this instant.
    Head(Instant),
    /// Requests in flight; each counts until its response body is done or dropped.
    Busy(usize),
}

/// What a connection is doing, shared by its socket, its requests and its listener.
pub struct ConnState {
    phase: Mutex<Phase>,
    /// Wakes the connection's watchdog: a head started (an earlier deadline), or eviction.
    wake: Notify,
    evicted: AtomicBool,
}

impl ConnState {
    pub fn new() -> Arc<ConnState> {
        Arc::new(ConnState {
            phase: Mutex::new(Phase::Idle(Instant::now())),
            wake: Notify::new(),
            evicted: AtomicBool::new(false),
        })
    }

    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes arrived: on an idle connection they start a request head.
    fn bytes_read(&self) {
        let mut phase = self.phase();
        if let Phase::Idle(_) = *phase {
            *phase = Phase::Head(Instant::now());
            drop(phase);
            self.wake.notify_one();
        }
    }

    /// A request head was parsed; the connection is busy until the guard is dropped.
    pub fn request_started(self: &Arc<Self>) -> RequestGuard {
        let mut phase = self.phase();
        *phase = match *phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        };
        RequestGuard(self.clone())
    }

    /// When the watchdog must close the connection, if nothing changes before.
    pub fn deadline(&self, timeouts: &Timeouts) -> Option<Instant> {
        match *self.phase() {
            Phase::Idle(since) => Some(since + timeouts.idle),
            Phase::Head(since) => Some(since + timeouts.header),
            Phase::Busy(_) => None,
        }
    }

    /// Since when the connection has had no request in flight (`None` while busy): eviction picks
    /// the smallest.
    pub fn evictable_since(&self) -> Option<Instant> {
        match *self.phase() {
            Phase::Idle(since) | Phase::Head(since) => Some(since),
            Phase::Busy(_) => None,
        }
    }

    /// Ask the connection to close at once (the listener needs its slot).
    pub fn evict(&self) {
        self.evicted.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    pub fn is_evicted(&self) -> bool {
        self.evicted.load(Ordering::Acquire)
    }

    /// Resolves when the watchdog should look again.
    pub async fn woken(&self) {
        self.wake.notified().await
    }
}

/// One request in flight; dropping it (with the response body) makes the connection idle again.
pub struct RequestGuard(Arc<ConnState>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let mut phase = self.0.phase();
        *phase = match *phase {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        };
        if let Phase::Idle(_) = *phase {
            drop(phase);
            // The idle deadline starts now: let the watchdog see it.
            self.0.wake.notify_one();
        }
    }
}

/// The connection's socket: reports arriving bytes to the [`ConnState`] and fails a write that
/// cannot make progress for the send timeout (a client that stopped reading its response).
pub struct ConnIo {
    stream: TcpStream,
    state: Arc<ConnState>,
    send_timeout: Duration,
    send_stall: Option<Pin<Box<Sleep>>>,
}

impl ConnIo {
    pub fn new(stream: TcpStream, state: Arc<ConnState>, send_timeout: Duration) -> ConnIo {
        ConnIo {
            stream,
            state,
            send_timeout,
            send_stall: None,
        }
    }

    /// A write is pending: time out once it has been stuck for the send timeout.
    fn stalled<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let timeout = self.send_timeout;
        let stall = self
            .send_stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match stall.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading the response",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progressed<T>(
        &mut self,
        result: Poll<io::Result<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<T>> {
        match result {
            Poll::Pending => self.stalled(cx),
            ready => {
                self.send_stall = None;
                ready
            }
        }
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.state.bytes_read();
        }
        result
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.progressed(result, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.progressed(result, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.stream).poll_flush(cx);
        self.progressed(result, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The request body with a progress clock: the client may keep the body's reader waiting at most
/// the body timeout for each `body_min_bytes` it delivers. Only time spent waiting for the client
/// counts, so a handler that is slow to read never makes its client time out.
pub struct TimedBody<B> {
    inner: B,
    timeout: Duration,
    min_bytes: u64,
    window_bytes: u64,
    waited: Duration,
    pending_since: Option<Instant>,
    alarm: Option<Pin<Box<Sleep>>>,
    meter: Arc<BodyMeter>,
}

impl<B> TimedBody<B> {
    pub fn new(inner: B, timeouts: &Timeouts, meter: Arc<BodyMeter>) -> TimedBody<B>
    where
        B: HttpBody,
    {
        meter.ended.store(inner.is_end_stream(), Ordering::Release);
        TimedBody {
            inner,
            timeout: timeouts.body,
            min_bytes: timeouts.body_min_bytes,
            window_bytes: 0,
            waited: Duration::ZERO,
            pending_since: None,
            alarm: None,
            meter,
        }
    }
}

impl<B> HttpBody for TimedBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Some(since) = this.pending_since.take() {
            this.waited += since.elapsed();
        }
        if this.waited >= this.timeout {
            this.meter.timed_out.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let n = data.len() as u64;
                    this.meter.bytes.fetch_add(n, Ordering::Relaxed);
                    this.window_bytes += n;
                    if this.window_bytes >= this.min_bytes {
                        this.window_bytes = 0;
                        this.waited = Duration::ZERO;
                    }
                }
                this.alarm = None;
                if this.inner.is_end_stream() {
                    this.meter.ended.store(true, Ordering::Release);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => {
                this.meter.ended.store(true, Ordering::Release);
                Poll::Ready(None)
            }
            Poll::Pending => {
                let now = Instant::now();
                this.pending_since = Some(now);
                let deadline = now + (this.timeout - this.waited);
                let alarm = this
                    .alarm
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                alarm.as_mut().reset(deadline);
                // Registers the wake-up at the deadline; the next poll then reports the timeout.
                if alarm.as_mut().poll(cx).is_ready() {
                    this.meter.timed_out.store(true, Ordering::Release);
                    return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that keeps its request counted as in flight until it is done or dropped.
pub struct GuardedBody<B> {
    inner: B,
    _guard: RequestGuard,
}

impl<B> GuardedBody<B> {
    pub fn new(inner: B, guard: RequestGuard) -> GuardedBody<B> {
        GuardedBody {
            inner,
            _guard: guard,
        }
    }
}

impl<B: HttpBody + Unpin> HttpBody for GuardedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
