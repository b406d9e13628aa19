//! The OpenLineage HTTP receiver of `piitrail serve`: `POST /api/v1/lineage` with a RunEvent
//! (or an array of them) as JSON, as the OpenLineage clients' HTTP transport sends it.
//!
//! - 201 with a JSON summary once the event is in the ledger (appended under its lock);
//!   400 with `{"error": ...}` for a bad event (nothing recorded); 401 without the bearer
//!   token of `--token-file`; 404 and 405 for other paths and methods; 413 for a body over
//!   the limit (checked on `Content-Length` before reading, and while reading, before and
//!   after gzip decompression: `Content-Encoding: gzip`, as the client's `compression`
//!   option sends it, is read; any other encoding is 415).
//! - Requests are handled one at a time, each to the end: on SIGINT or SIGTERM the receiver
//!   stops accepting, answers the request in hand, and returns. An event answered with 201
//!   is in the ledger; one that was not answered was not accepted.
//! - One log line per request on stderr: what was recorded, or why not.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use super::ingest;
use crate::ledger::Ledger;
use crate::rules::RuleSet;

pub const PATH: &str = "/api/v1/lineage";

/// How the receiver runs.
pub struct Config {
    pub addr: String,
    /// The bearer token a request must carry, if any.
    pub token: Option<String>,
    /// The largest body accepted, in bytes.
    pub max_body: usize,
    pub root: PathBuf,
    pub rules: Arc<RuleSet>,
}

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
    let events = match ingest::parse(text, "request") {
        Ok(e) => e,
        Err(e) => return refuse(400, e.to_string()),
    };
    match ingest::record(ledger, &events, &config.root, &config.rules) {
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

/// Serves until SIGINT or SIGTERM. `ready` is called with the bound address (the port is
/// chosen by the system when the address asks for port 0).
pub fn serve(
    config: &Config,
    ledger: &Ledger,
    ready: impl FnOnce(&str),
    log: &mut dyn FnMut(&str),
) -> Result<(), String> {
    let server = tiny_http::Server::http(&config.addr)
        .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
    let server = Arc::new(server);
    let stop = Arc::new(AtomicBool::new(false));
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ])
    .map_err(|e| format!("cannot handle signals: {e}"))?;
    let handle = signals.handle();
    {
        let server = Arc::clone(&server);
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            if signals.forever().next().is_some() {
                stop.store(true, Ordering::SeqCst);
                server.unblock();
            }
        });
    }
    let addr = server
        .server_addr()
        .to_ip()
        .map_or_else(|| config.addr.clone(), |a| a.to_string());
    ready(&addr);
    for mut request in server.incoming_requests() {
        let a = respond_to(&mut request, ledger, config);
        log(&format!(
            "{} {} {}: {}",
            request.method(),
            request.url(),
            a.status,
            a.log
        ));
        let body = serde_json::to_string(&a.body).unwrap_or_default();
        let response = tiny_http::Response::from_string(body)
            .with_status_code(a.status)
            .with_header(
                "Content-Type: application/json"
                    .parse::<tiny_http::Header>()
                    .expect("a valid header"),
            );
        if let Err(e) = request.respond(response) {
            log(&format!("could not answer: {e}"));
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    handle.close();
    Ok(())
}

fn respond_to(request: &mut tiny_http::Request, ledger: &Ledger, config: &Config) -> Answer {
    let path = request.url().split('?').next().unwrap_or("");
    if path != PATH {
        return refuse(
            404,
            format!("no such endpoint {path}: events go to POST {PATH}"),
        );
    }
    if *request.method() != tiny_http::Method::Post {
        return refuse(
            405,
            format!("{} is not allowed: POST events to {PATH}", request.method()),
        );
    }
    if let Some(token) = &config.token {
        let header = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Authorization"))
            .map(|h| h.value.as_str().to_string());
        if !authorised(header.as_deref(), token) {
            return refuse(401, "missing or wrong bearer token");
        }
    }
    let encoding = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Content-Encoding"))
        .map(|h| h.value.as_str().trim().to_ascii_lowercase());
    let gzip = match encoding.as_deref() {
        None | Some("identity") => false,
        Some("gzip") => true,
        Some(other) => {
            return refuse(
                415,
                format!("Content-Encoding {other} is not supported (send identity or gzip)"),
            );
        }
    };
    // The limit holds for the body as sent and, when compressed, as decompressed.
    let limit = config.max_body as u64 + 1;
    let too_large = || {
        refuse(
            413,
            format!("the body is larger than {} bytes", config.max_body),
        )
    };
    if request.body_length().is_some_and(|n| n > config.max_body) {
        return too_large();
    }
    let mut sent = Vec::new();
    if let Err(e) = request.as_reader().take(limit).read_to_end(&mut sent) {
        return refuse(400, format!("could not read the body: {e}"));
    }
    if sent.len() > config.max_body {
        return too_large();
    }
    let body = if gzip {
        let mut body = Vec::new();
        if let Err(e) = flate2::read::GzDecoder::new(&sent[..])
            .take(limit)
            .read_to_end(&mut body)
        {
            return refuse(400, format!("the body is not valid gzip: {e}"));
        }
        if body.len() > config.max_body {
            return too_large();
        }
        body
    } else {
        sent
    };
    handle_body(&body, ledger, config)
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
