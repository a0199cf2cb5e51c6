//! The daemon's accept loop: HTTP/1 over the caller's listener, bounded
//! so that no client can take the probes down.
//!
//! `axum::serve` keeps every connection for as long as its client wants,
//! which let 1,100 idle half-sent requests exhaust the file descriptors
//! and 350 slow-byte bodies stay open for ten minutes. Here:
//!
//! - at most `daemon.max_connections` connections are served at once; the
//!   next is accepted only when one closes (the kernel's backlog holds it
//!   meanwhile), so descriptors stay for the store and the forge;
//! - a connection has `daemon.header_timeout_secs` to send a whole request
//!   head, idle keep-alive time included (hyper's header read timeout,
//!   which starts when the connection waits for a request);
//! - a request has `daemon.request_timeout_secs` to send its body and be
//!   answered, or it is answered 408 and its connection closed.
//!
//! On shutdown no connection is accepted, and open ones finish the request
//! in hand and close.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt as _;

/// How much any one client may hold.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub request_timeout: Duration,
}

impl Bounds {
    pub fn of(daemon: &crate::config::DaemonSection) -> Bounds {
        Bounds {
            max_connections: daemon.max_connections.max(1),
            header_timeout: Duration::from_secs(daemon.header_timeout_secs.max(1)),
            request_timeout: Duration::from_secs(daemon.request_timeout_secs.max(1)),
        }
    }
}

/// Serves `app` on `listener` until `stop` turns true, then lets open
/// connections finish their request.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    bounds: Bounds,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(bounds.max_connections));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // A free slot first, then a connection: a full daemon leaves new
        // ones in the backlog instead of holding descriptors it cannot
        // serve.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("never closed"),
            () = stopped(&mut stop) => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, or a connection reset before it
                    // was accepted: wait a little rather than spin.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let app = app.clone();
        let stop = stop.clone();
        connections.spawn(async move {
            let _slot = slot;
            connection(stream, peer, app, bounds, stop).await;
        });
        // Reap the finished ones so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    bounds: Bounds,
    mut stop: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let app = app.clone();
        async move {
            match tokio::time::timeout(bounds.request_timeout, app.oneshot(request)).await {
                Ok(answer) => answer,
                Err(_) => Ok::<_, Infallible>(too_slow()),
            }
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(bounds.header_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, "connection closed: {e}");
            }
            return;
        }
        () = stopped(&mut stop) => conn.as_mut().graceful_shutdown(),
    }
    // The request in hand finishes, within its own bound.
    let _ = tokio::time::timeout(bounds.request_timeout, conn).await;
}

/// Resolves once shutdown began (holding no borrow of the flag).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// What a request that took too long gets; its connection closes.
fn too_slow() -> Response<axum::body::Body> {
    let mut response = Response::new(axum::body::Body::from(
        "the request took too long to arrive\n",
    ));
    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}
