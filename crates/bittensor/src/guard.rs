//! Bounded connections for the nodes' HTTP servers (the validator's API and external API, both
//! exporters). A [`Guarded`] connection holds one of its listener's connection permits while it
//! lives and fails with `TimedOut` once nothing has been read or written for the idle timeout,
//! or once it has lived its whole lifetime: a client that connects and says nothing, or
//! trickles a byte every few seconds (slowloris), cannot hold a slot for long.
//! [`GuardedListener`] hands such connections to `axum::serve`, waiting for a free permit
//! before accepting (further clients wait in the OS backlog).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// Limits of a guarded server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections at once.
    pub max_connections: usize,
    /// A connection is closed after this long without a byte either way.
    pub idle: Duration,
    /// A connection is closed after this long whatever it does (`None`: no limit).
    pub lifetime: Option<Duration>,
}

impl ConnectionLimits {
    /// For servers of short requests (exporters, the dashboard API): 256 connections, closed
    /// after 10 s of silence (the axon's header timeout) or 60 s in all. Prometheus and the
    /// dashboard reconnect when a kept-alive connection was closed.
    pub const SHORT_REQUESTS: Self = Self {
        max_connections: 256,
        idle: Duration::from_secs(10),
        lifetime: Some(Duration::from_secs(60)),
    };
}

/// An IO stream with idle and lifetime deadlines and a connection permit.
pub struct Guarded<S> {
    inner: S,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    end_of_life: Option<Pin<Box<Sleep>>>,
    _permit: OwnedSemaphorePermit,
}

impl<S> Guarded<S> {
    /// Wraps `inner`, closing it after `idle` without traffic; it holds `permit` while alive.
    pub fn new(inner: S, idle: Duration, permit: OwnedSemaphorePermit) -> Self {
        Self {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            end_of_life: None,
            _permit: permit,
        }
    }

    /// Also closes the connection `lifetime` after it was opened.
    pub fn with_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.end_of_life = lifetime.map(|l| Box::pin(tokio::time::sleep(l)));
        self
    }

    fn touch(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.idle);
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready() || self.too_old(cx)
    }

    /// Checked before every read and write: a peer that always has a byte ready is never idle,
    /// but it still gets old.
    fn too_old(&mut self, cx: &mut Context<'_>) -> bool {
        self.end_of_life
            .as_mut()
            .is_some_and(|d| d.as_mut().poll(cx).is_ready())
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection idle or open too long")
}

/// A TCP listener for `axum::serve` whose connections are [`Guarded`] by [`ConnectionLimits`].
#[derive(Debug)]
pub struct GuardedListener {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    limits: ConnectionLimits,
}

impl GuardedListener {
    /// Guards the connections `listener` accepts.
    pub fn new(listener: TcpListener, limits: ConnectionLimits) -> Self {
        Self {
            listener,
            slots: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            limits,
        }
    }
}

impl axum::serve::Listener for GuardedListener {
    type Io = Guarded<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // The semaphore is never closed; were it, no connection could be served anyway.
            let Ok(permit) = self.slots.clone().acquire_owned().await else {
                std::future::pending::<()>().await;
                continue;
            };
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    let io = Guarded::new(stream, self.limits.idle, permit)
                        .with_lifetime(self.limits.lifetime);
                    return (io, peer);
                }
                Err(e) => {
                    // Out of file descriptors or a connection reset before accept: wait a
                    // moment rather than spin.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.too_old(cx) {
            return Poll::Ready(Err(timed_out()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.touch();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.too_old(cx) {
            return Poll::Ready(Err(timed_out()));
        }
        match Pin::new(&mut self.inner).poll_write(cx, data) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.touch();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            // A peer that stops reading is as idle as one that stops writing.
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn a_silent_peer_times_out_and_frees_its_permit() {
        let slots = Arc::new(Semaphore::new(1));
        let (client, server) = tokio::io::duplex(64);
        let permit = slots.clone().try_acquire_owned().unwrap();
        let mut guarded = Guarded::new(server, Duration::from_secs(5), permit);
        assert!(
            slots.clone().try_acquire_owned().is_err(),
            "the slot is held"
        );
        let mut client = client;
        // Traffic keeps it alive.
        for _ in 0..3 {
            tokio::time::advance(Duration::from_secs(4)).await;
            client.write_all(b"x").await.unwrap();
            let mut b = [0u8; 1];
            guarded.read_exact(&mut b).await.unwrap();
        }
        // Silence past the idle timeout ends it.
        let mut b = [0u8; 1];
        let err = guarded.read_exact(&mut b).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        drop(guarded);
        assert!(slots.try_acquire_owned().is_ok(), "the slot is free again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickling_peer_is_closed_at_the_end_of_its_lifetime() {
        let slots = Arc::new(Semaphore::new(1));
        let (mut client, server) = tokio::io::duplex(64);
        let permit = slots.clone().try_acquire_owned().unwrap();
        let mut guarded = Guarded::new(server, Duration::from_secs(10), permit)
            .with_lifetime(Some(Duration::from_secs(60)));
        let mut b = [0u8; 1];
        let mut bytes = 0;
        let err = loop {
            tokio::time::advance(Duration::from_secs(9)).await;
            client.write_all(b"x").await.unwrap();
            match guarded.read_exact(&mut b).await {
                Ok(_) => bytes += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(bytes, 6, "a byte every 9 s is served until 60 s");
    }

    #[tokio::test]
    async fn the_listener_caps_open_connections_and_closes_silent_ones() {
        use axum::Router;
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let limits = ConnectionLimits {
            max_connections: 2,
            idle: Duration::from_millis(300),
            lifetime: None,
        };
        let app = Router::new().route("/", axum::routing::get(|| async { "ok" }));
        let server =
            tokio::spawn(async move { axum::serve(GuardedListener::new(tcp, limits), app).await });
        let get = move || async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut out = Vec::new();
            tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
                .await
                .map(|_| String::from_utf8_lossy(&out).into_owned())
        };
        // Two silent connections take both slots: a request waits...
        let silent: Vec<TcpStream> = vec![
            TcpStream::connect(addr).await.unwrap(),
            TcpStream::connect(addr).await.unwrap(),
        ];
        tokio::time::sleep(Duration::from_millis(50)).await;
        let waiting = tokio::spawn(get());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiting.is_finished(), "both slots are held");
        // ...until the silent ones are closed for idleness, and then it is served.
        let answer = waiting
            .await
            .unwrap()
            .expect("served after the idle timeout");
        assert!(answer.ends_with("ok"), "{answer}");
        drop(silent);
        server.abort();
    }
}
