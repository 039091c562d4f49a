//! Deadlines for slow clients. Without them a client that opens a connection
//! and sends a request head a byte at a time (or not at all), or keeps an idle
//! keep-alive connection open, holds a connection and its task forever.
//!
//! poem's server exposes no header-read timeout (hyper has one, but poem builds
//! the connection itself), and its idle timeout ends a connection gracefully,
//! which waits for a request that never completes. So the deadlines sit in the
//! connection's IO: a read that waits past its deadline fails, and hyper drops
//! the connection.
//!
//! - The request head (request line and headers) must arrive within
//!   `header_timeout` from its first byte (or from the accept, for the first
//!   request), however steadily it trickles in.
//! - Between requests (after a response was written) a connection may wait for
//!   the next request for `idle_timeout`.
//! - While a request is being handled (its body read, the handler running) no
//!   deadline applies: a slow report is not a slow client.
//!
//! HTTP/2 connections (prior knowledge, behind a proxy) multiplex requests, so
//! heads cannot be told apart in the byte stream; they get the idle deadline
//! after every exchange only.

use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub header: Duration,
    pub idle: Duration,
}

/// An acceptor whose connections carry [`Timeouts`].
pub struct Deadlines<A> {
    pub inner: A,
    pub timeouts: Timeouts,
}

impl<A: Acceptor> Acceptor for Deadlines<A> {
    type Io = Deadline<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let (io, local, remote, scheme) = self.inner.accept().await?;
        Ok((Deadline::new(io, self.timeouts), local, remote, scheme))
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Phase {
    /// Reading a request head; `tail` holds its last bytes to find `\r\n\r\n`.
    Head { tail: u32 },
    /// The head is in: body and handler, no deadline.
    Handling,
    /// A response went out; waiting for the next request.
    Idle,
    /// HTTP/2: idle deadline after each exchange, none in between.
    Http2 { waiting: bool },
}

pub struct Deadline<T> {
    inner: T,
    timeouts: Timeouts,
    phase: Phase,
    fresh: bool,
    timer: Pin<Box<Sleep>>,
}

impl<T> Deadline<T> {
    fn new(inner: T, timeouts: Timeouts) -> Self {
        Self {
            inner,
            timeouts,
            phase: Phase::Head { tail: 0 },
            fresh: true,
            timer: Box::pin(tokio::time::sleep(timeouts.header)),
        }
    }

    fn arm(&mut self, after: Duration) {
        self.timer.as_mut().reset(Instant::now() + after);
    }

    fn on_read(&mut self, bytes: &[u8]) {
        if std::mem::take(&mut self.fresh) && bytes.starts_with(b"PRI * HTTP/2") {
            self.phase = Phase::Http2 { waiting: false };
            return;
        }
        let mut tail = match self.phase {
            Phase::Head { tail } => tail,
            // The first bytes of the next request: its head has its own time.
            Phase::Idle => {
                self.arm(self.timeouts.header);
                0
            }
            Phase::Handling => return,
            Phase::Http2 { .. } => {
                self.phase = Phase::Http2 { waiting: false };
                return;
            }
        };
        for &b in bytes {
            tail = (tail << 8) | u32::from(b);
            if tail == u32::from_be_bytes(*b"\r\n\r\n") {
                self.phase = Phase::Handling;
                return;
            }
        }
        self.phase = Phase::Head { tail };
    }

    /// After a write the connection may sit in a read that was started while
    /// the request was handled (without a deadline); the timer is polled here
    /// so that it wakes the connection when the idle time is up.
    fn on_write(&mut self, cx: &mut Context<'_>) {
        self.advance_on_write();
        if self.waits_on_client() {
            let _ = self.timer.as_mut().poll(cx);
        }
    }

    fn advance_on_write(&mut self) {
        match self.phase {
            Phase::Handling | Phase::Idle => {
                self.phase = Phase::Idle;
                self.arm(self.timeouts.idle);
            }
            Phase::Http2 { .. } => {
                self.phase = Phase::Http2 { waiting: true };
                self.arm(self.timeouts.idle);
            }
            // An interim `100 Continue`; the head's deadline stands.
            Phase::Head { .. } => {}
        }
    }

    fn waits_on_client(&self) -> bool {
        matches!(
            self.phase,
            Phase::Head { .. } | Phase::Idle | Phase::Http2 { waiting: true }
        )
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Deadline<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = &buf.filled()[before..];
                if !read.is_empty() {
                    let read = read.to_vec();
                    this.on_read(&read);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if this.waits_on_client() && this.timer.as_mut().poll(cx).is_ready() => {
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "client too slow: connection closed",
                )))
            }
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Deadline<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.on_write(cx);
        }
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.on_write(cx);
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deadline() -> Deadline<()> {
        Deadline {
            inner: (),
            timeouts: Timeouts {
                header: Duration::from_secs(1),
                idle: Duration::from_secs(2),
            },
            phase: Phase::Head { tail: 0 },
            fresh: true,
            timer: Box::pin(tokio::time::sleep(Duration::from_secs(1))),
        }
    }

    #[tokio::test]
    async fn phases_follow_the_request_cycle() {
        let mut d = deadline();
        d.on_read(b"GET / HTTP/1.1\r\nHost: a\r");
        assert!(d.waits_on_client(), "a head in pieces is still a head");
        d.on_read(b"\n\r");
        d.on_read(b"\n");
        assert_eq!(d.phase, Phase::Handling);
        assert!(!d.waits_on_client());
        d.advance_on_write();
        assert_eq!(d.phase, Phase::Idle);
        d.on_read(b"GET /next HTTP/1.1\r\n");
        assert!(matches!(d.phase, Phase::Head { .. }));

        let mut h2 = deadline();
        h2.on_read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        assert!(!h2.waits_on_client());
        h2.advance_on_write();
        assert!(h2.waits_on_client());
    }
}
