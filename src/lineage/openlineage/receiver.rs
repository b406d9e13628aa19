//! The OpenLineage HTTP receiver of `piitrail serve`: `POST /api/v1/lineage` with a RunEvent
//! (or an array of them) as JSON, as the OpenLineage clients' HTTP transport sends it.
//!
//! - 201 with a JSON summary once the event is in the ledger (appended under its lock);
//!   400 with `{"error": ...}` for a bad event (nothing recorded); 401 without the bearer
//!   token of `--token-file`; 404 and 405 for other paths and methods; 413 for a body over
//!   the limit (checked on `Content-Length` before reading, and while reading, before and
//!   after gzip decompression: `Content-Encoding: gzip`, as the client's `compression`
//!   option sends it, is read; any other encoding is 415).
//! - The HTTP layer is hyper 1.x on tokio. Connections are served concurrently, at most
//!   `max_connections` at a time (the rest wait in the listen backlog). A client has
//!   `read_timeout` to send its request head and again to send its body (else 408); an idle
//!   kept-alive connection is closed after the same time. 401, 413 and 415 are decided from
//!   the head alone: the body is never read and the connection is closed after the answer.
//!   A body is read frame by frame up to the limit; nothing is allocated from a declared
//!   length.
//! - Events are recorded one at a time by one recording thread (the ledger's lock also holds
//!   against other processes), so a slow client never holds the ledger.
//! - On SIGINT or SIGTERM the receiver stops accepting, lets every request in hand finish
//!   (each bounded by the timeouts), and returns. An event answered with 201 is in the
//!   ledger; one that was not answered was not accepted.
//! - One log line per request on stderr: what was recorded, or why not.

use std::convert::Infallible;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Incoming};
use hyper::header::{AUTHORIZATION, CONNECTION, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use super::ingest;
use crate::ledger::Ledger;
use crate::rules::RuleSet;

pub const PATH: &str = "/api/v1/lineage";

/// How the receiver runs.
#[derive(Clone)]
pub struct Config {
    pub addr: String,
    /// The bearer token a request must carry, if any.
    pub token: Option<String>,
    /// The largest body accepted, in bytes.
    pub max_body: usize,
    /// Connections served at once.
    pub max_connections: usize,
    /// How long a client may take to send a request head, and again its body.
    pub read_timeout: Duration,
    /// Refuse (400) an event with a facet that breaks its schema instead of dropping the facet.
    pub strict: bool,
    pub root: PathBuf,
    /// The project's data roots: the only places an event's files are hashed.
    pub roots: crate::source::DataRoots,
    pub rules: Arc<RuleSet>,
}

/// Where the receiver's log lines go (one per request).
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// An answer: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
    /// The log line.
    pub log: String,
}

fn answer(status: u16, body: serde_json::Value, log: String) -> Answer {
    Answer { status, body, log }
}

fn refuse(status: u16, reason: impl Into<String>) -> Answer {
    let reason = reason.into();
    answer(
        status,
        json!({ "error": reason }),
        format!("rejected ({status}): {reason}"),
    )
}

/// Whether `header` (an Authorization value) carries `token`, compared in constant time.
fn authorised(header: Option<&str>, token: &str) -> bool {
    let Some(given) = header.and_then(|h| {
        h.strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
    }) else {
        return false;
    };
    use subtle::ConstantTimeEq;
    bool::from(given.trim().as_bytes().ct_eq(token.as_bytes()))
}

/// Whether every address `addr` names is a loopback address (`127.0.0.1:5000`, `[::1]:0`,
/// `localhost:5000`). An address that does not resolve is not loopback.
pub fn is_loopback(addr: &str) -> bool {
    use std::net::ToSocketAddrs;
    match addr.to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<std::net::SocketAddr> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())
        }
        Err(_) => false,
    }
}

/// Handles one request whose body has been read: checks and records the event(s).
pub fn handle_body(body: &[u8], ledger: &Ledger, config: &Config) -> Answer {
    let Ok(text) = std::str::from_utf8(body) else {
        return refuse(400, "the body is not UTF-8");
    };
    let events = match ingest::parse(text, "request", config.strict) {
        Ok(e) => e,
        Err(e) => return refuse(400, e.to_string()),
    };
    match ingest::record(ledger, &events, &config.root, &config.roots, &config.rules) {
        Ok(summary) => {
            let log = summary
                .runs
                .iter()
                .map(|r| {
                    format!(
                        "{} {} run {} ({}): {} in, {} out, {} column edges{}",
                        r.status,
                        r.state,
                        r.run_id,
                        r.job,
                        r.inputs,
                        r.outputs,
                        r.column_edges,
                        if r.failed { ", not propagated" } else { "" }
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            let log = if summary.warnings.is_empty() {
                log
            } else {
                format!("{log}; {}", summary.warnings.join("; "))
            };
            answer(201, json!(summary), log)
        }
        Err(e) if e.is_input() => refuse(400, e.to_string()),
        Err(e) => answer(
            500,
            json!({"error": e.to_string()}),
            format!("failed (500): {e}"),
        ),
    }
}

/// An event body to record, and where its answer goes.
struct Job {
    body: Vec<u8>,
    reply: oneshot::Sender<Answer>,
}

/// What every connection's handler shares.
struct Shared {
    config: Config,
    jobs: mpsc::Sender<Job>,
    log: Log,
}

/// Serves until SIGINT or SIGTERM. `ready` is called with the bound address (the port is
/// chosen by the system when the address asks for port 0).
pub fn serve(
    config: Config,
    ledger: Ledger,
    ready: impl FnOnce(&str),
    log: Log,
) -> Result<(), String> {
    let runtime =
        crate::source::runtime().map_err(|e| format!("cannot start the receiver: {e}"))?;
    let (jobs, mut queue) = mpsc::channel::<Job>(config.max_connections.max(1));
    let recorder = {
        let config = config.clone();
        std::thread::Builder::new()
            .name("piitrail-recorder".into())
            .spawn(move || {
                while let Some(job) = queue.blocking_recv() {
                    let answer =
                        crate::boundary::catch(|| handle_body(&job.body, &ledger, &config))
                            .unwrap_or_else(|panic| {
                                answer(
                                    500,
                                    json!({"error": "internal error while recording"}),
                                    format!("failed (500): {panic}"),
                                )
                            });
                    // A client that went away is not answered; the event stays recorded.
                    let _ = job.reply.send(answer);
                }
            })
            .map_err(|e| format!("cannot start the recorder: {e}"))?
    };
    let shared = Arc::new(Shared { config, jobs, log });
    let served = runtime.block_on(accept_until_stopped(Arc::clone(&shared), ready));
    // Every connection has ended (or was aborted at the grace period): dropping the last
    // sender lets the recorder finish the event in hand and stop.
    drop(shared);
    recorder
        .join()
        .map_err(|_| "the recorder stopped unexpectedly".to_string())?;
    served
}

async fn accept_until_stopped(shared: Arc<Shared>, ready: impl FnOnce(&str)) -> Result<(), String> {
    use tokio::signal::unix::{SignalKind, signal};
    let addr = &shared.config.addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let cannot = |e: std::io::Error| format!("cannot handle signals: {e}");
    let mut term = signal(SignalKind::terminate()).map_err(cannot)?;
    let mut int = signal(SignalKind::interrupt()).map_err(cannot)?;
    let bound = listener
        .local_addr()
        .map_or_else(|_| addr.clone(), |a| a.to_string());
    ready(&bound);
    let slots = Arc::new(tokio::sync::Semaphore::new(
        shared.config.max_connections.max(1),
    ));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let stop = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    };
    tokio::pin!(stop);
    // The connections' tasks: those still open after the grace period are aborted, so that
    // none outlives `serve` on the process's runtime (nor holds the recorder's queue open).
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // Reap the connections that have ended: the set holds only open ones.
        while connections.try_join_next().is_some() {}
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut stop => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors and the like: pause instead of spinning.
                    (shared.log)(&format!("could not accept a connection: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let handler = Arc::clone(&shared);
        let service = hyper::service::service_fn(move |request| {
            let shared = Arc::clone(&handler);
            async move { Ok::<_, Infallible>(respond(request, &shared).await) }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(shared.config.read_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            // A connection's errors (a client that hung up, a head too slow) end only it.
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    // Each request in hand is bounded by the read timeouts and one recording.
    let grace = shared.config.read_timeout * 3 + Duration::from_secs(30);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        (shared.log)("gave up waiting for connections still open after the grace period");
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Answers one request and logs it.
async fn respond(request: Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let (a, close) = check_and_record(request, shared).await;
    (shared.log)(&format!("{method} {path} {}: {}", a.status, a.log));
    let body = serde_json::to_vec(&a.body).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        "application/json".parse().expect("a valid value"),
    );
    if close {
        headers.insert(CONNECTION, "close".parse().expect("a valid value"));
    }
    response
}

/// The answer, and whether the connection must close after it (the body was not read).
async fn check_and_record(request: Request<Incoming>, shared: &Shared) -> (Answer, bool) {
    let config = &shared.config;
    let path = request.uri().path();
    if path != PATH {
        let a = refuse(
            404,
            format!("no such endpoint {path}: events go to POST {PATH}"),
        );
        return (a, true);
    }
    if request.method() != Method::POST {
        let a = refuse(
            405,
            format!("{} is not allowed: POST events to {PATH}", request.method()),
        );
        return (a, true);
    }
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &hyper::header::HeaderValue| v.to_str().ok())
    };
    if let Some(token) = &config.token
        && !authorised(header(AUTHORIZATION), token)
    {
        return (refuse(401, "missing or wrong bearer token"), true);
    }
    let gzip = match header(CONTENT_ENCODING)
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("identity") => false,
        Some("gzip") => true,
        Some(other) => {
            let a = refuse(
                415,
                format!("Content-Encoding {other} is not supported (send identity or gzip)"),
            );
            return (a, true);
        }
    };
    let too_large = || {
        refuse(
            413,
            format!("the body is larger than {} bytes", config.max_body),
        )
    };
    // The declared length decides before any byte of the body is read.
    if request.body().size_hint().lower() > config.max_body as u64 {
        return (too_large(), true);
    }
    let deadline = tokio::time::Instant::now() + config.read_timeout;
    let mut body = request.into_body();
    let mut sent = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => {
                let a = refuse(
                    408,
                    format!(
                        "the body did not arrive within {} s",
                        config.read_timeout.as_secs_f64()
                    ),
                );
                return (a, true);
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return (refuse(400, format!("could not read the body: {e}")), true);
            }
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    if sent.len() + data.len() > config.max_body {
                        return (too_large(), true);
                    }
                    sent.extend_from_slice(&data);
                }
            }
        }
    }
    // The limit holds for the body as sent and, when compressed, as decompressed.
    let body = if gzip {
        let mut body = Vec::new();
        let limit = config.max_body as u64 + 1;
        if let Err(e) = flate2::read::GzDecoder::new(&sent[..])
            .take(limit)
            .read_to_end(&mut body)
        {
            return (
                refuse(400, format!("the body is not valid gzip: {e}")),
                false,
            );
        }
        if body.len() > config.max_body {
            return (too_large(), false);
        }
        body
    } else {
        sent
    };
    let (reply, answered) = oneshot::channel();
    if shared.jobs.send(Job { body, reply }).await.is_err() {
        return (refuse(503, "the receiver is stopping"), true);
    }
    match answered.await {
        Ok(a) => (a, false),
        Err(_) => (refuse(503, "the receiver is stopping"), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        assert!(authorised(Some("Bearer s3cret"), "s3cret"));
        assert!(!authorised(Some("Bearer s3cre"), "s3cret"));
        assert!(!authorised(Some("Basic s3cret"), "s3cret"));
        assert!(!authorised(None, "s3cret"));
        assert!(!authorised(Some("Bearer s3cret-and-more"), "s3cret"));
    }

    #[test]
    fn loopback_addresses() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("[::1]:0"));
        assert!(!is_loopback("0.0.0.0:5000"));
        assert!(!is_loopback("not-an-address"));
    }
}
