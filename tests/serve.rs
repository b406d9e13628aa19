//! `piitrail serve`: the OpenLineage HTTP receiver, run as a real process and spoken to over
//! TCP: events recorded, bad requests refused with a reason while it keeps serving, the
//! bearer token, the size limit, gzip, and a graceful stop that loses no accepted event.
//! With `--features interop`, the real openlineage-python client sends the events.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Project;
use serde_json::Value;

const TOKEN: &str = "s3cret-token-for-tests";

struct Server {
    child: Child,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(p: &Project, extra: &[&str]) -> Server {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_piitrail"))
            .current_dir(p.dir.path())
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let line = line.unwrap();
                    if let Some(rest) = line.strip_prefix("listening on http://") {
                        let addr = rest.split('/').next().unwrap().to_string();
                        let _ = tx.send(addr);
                    }
                    log.lock().unwrap().push(line);
                }
            });
        }
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("serve prints the address it listens on");
        Server { child, addr, log }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s
    }

    /// One request; the status and the body of the answer.
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let mut s = self.connect();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head += &format!("{k}: {v}\r\n");
        }
        head += "\r\n";
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        read_answer(&mut s)
    }

    fn post(&self, body: &[u8]) -> (u16, String) {
        let auth = format!("Bearer {TOKEN}");
        self.request("POST", "/api/v1/lineage", &[("Authorization", &auth)], body)
    }

    /// SIGTERM, then the exit code (within 20 s).
    fn stop(self) -> (i32, Vec<String>) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.stop_after_signal()
    }

    /// Waits for a server that was already signalled to exit.
    fn stop_after_signal(mut self) -> (i32, Vec<String>) {
        let start = Instant::now();
        let code = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s.code().unwrap_or(-1);
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "serve did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader thread ends with the process's stderr.
        std::thread::sleep(Duration::from_millis(100));
        let log = self.log.lock().unwrap().clone();
        (code, log)
    }
}

fn read_answer(s: &mut TcpStream) -> (u16, String) {
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |b| b.1).to_string();
    (status, body)
}

fn project() -> Project {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    private(&p.write("token", format!("{TOKEN}\n")));
    p
}

/// Token files must be readable by their owner only (`serve` refuses others, as ssh does).
fn private(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The Airflow START and COMPLETE events of the fixtures.
fn airflow() -> (String, String) {
    let text =
        std::fs::read_to_string(common::fixture("openlineage-events/airflow.jsonl")).unwrap();
    let mut lines = text.lines().map(str::to_string);
    (lines.next().unwrap(), lines.next().unwrap())
}

fn ledger_text(p: &Project) -> String {
    p.read(".piitrail/ledger.jsonl")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn events_are_recorded_and_bad_requests_refused_while_it_keeps_serving() {
    let p = project();
    let server = Server::start(&p, &["--token-file", "token", "--max-body", "100000"]);
    let (start, complete) = airflow();

    // No token, a wrong token: 401, nothing recorded.
    let (code, body) = server.request("POST", "/api/v1/lineage", &[], start.as_bytes());
    assert_eq!(code, 401, "{body}");
    let (code, _) = server.request(
        "POST",
        "/api/v1/lineage",
        &[("Authorization", "Bearer wrong")],
        start.as_bytes(),
    );
    assert_eq!(code, 401);
    let empty = ledger_text(&p);

    // Bad events: 400 with the reason.
    for (bad, reason) in [
        ("{\"eventType\": ".to_string(), "not JSON"),
        (start.replace("\"runId\"", "\"id\""), "missing `run.runId`"),
        (
            start.replace("\"shop_dag.aggregate_orders\"", "7"),
            "invalid type",
        ),
        ("[]".to_string(), "no events"),
    ] {
        let (code, body) = server.post(bad.as_bytes());
        assert_eq!(code, 400, "{body}");
        let answer: Value = serde_json::from_str(&body).unwrap();
        assert!(answer["error"].as_str().unwrap().contains(reason), "{body}");
    }
    // Wrong place, wrong method, wrong encoding, too large.
    assert_eq!(server.request("POST", "/api/v2/lineage", &[], b"{}").0, 404);
    assert_eq!(server.request("GET", "/api/v1/lineage", &[], b"").0, 405);
    let auth = format!("Bearer {TOKEN}");
    let (code, body) = server.request(
        "POST",
        "/api/v1/lineage",
        &[("Authorization", &auth), ("Content-Encoding", "br")],
        start.as_bytes(),
    );
    assert_eq!(code, 415, "{body}");
    let huge = format!("[{}]", vec![start.as_str(); 200].join(","));
    assert!(huge.len() > 100_000);
    let (code, body) = server.post(huge.as_bytes());
    assert_eq!(code, 413, "{body}");
    // Within the limit compressed, over it decompressed.
    let (code, _) = server.request(
        "POST",
        "/api/v1/lineage",
        &[("Authorization", &auth), ("Content-Encoding", "gzip")],
        &gzip(huge.as_bytes()),
    );
    assert_eq!(code, 413);
    assert_eq!(
        ledger_text(&p),
        empty,
        "a refused request wrote to the ledger"
    );

    // Good events, the second gzip-compressed: 201, recorded, merged into one run.
    let (code, body) = server.post(start.as_bytes());
    assert_eq!(code, 201, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["runs"][0]["status"], "recorded");
    let (code, body) = server.request(
        "POST",
        "/api/v1/lineage",
        &[("Authorization", &auth), ("Content-Encoding", "gzip")],
        &gzip(complete.as_bytes()),
    );
    assert_eq!(code, 201, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (&answer["runs"][0]["status"], &answer["runs"][0]["state"]),
        (&Value::from("updated"), &Value::from("COMPLETE"))
    );
    // The same event again is accepted and changes nothing.
    let before = ledger_text(&p);
    assert_eq!(server.post(complete.as_bytes()).0, 201);
    assert_eq!(ledger_text(&p), before);

    let (code, log) = server.stop();
    assert_eq!(code, 0, "{log:#?}");
    let requests = log
        .iter()
        .filter(|l| l.contains(" POST ") || l.contains(" GET "))
        .count();
    assert_eq!(requests, 14, "one log line per request: {log:#?}");
    assert!(log.iter().any(|l| l.contains("rejected (401)")), "{log:#?}");
    assert!(log.last().unwrap().contains("stopped"), "{log:#?}");
    assert!(!log.join("\n").contains(TOKEN), "the token reached the log");

    p.run(&["ledger", "verify"]).expect(0);
    let walk: Value = serde_json::from_str(
        &p.run(&[
            "lineage",
            "bigquery/proj.analytics.orders_by_country",
            "--format",
            "json",
        ])
        .expect(0)
        .stdout(),
    )
    .unwrap();
    assert_eq!(walk["executions"].as_array().unwrap().len(), 1);
    assert_eq!(walk["executions"][0]["run"]["state"], "COMPLETE");
}

#[test]
fn a_stop_during_a_request_finishes_it_first() {
    let p = project();
    let server = Server::start(&p, &[]);
    let (_, complete) = airflow();
    let body = complete.as_bytes();
    let mut s = server.connect();
    write!(
        s,
        "POST /api/v1/lineage HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.addr,
        body.len()
    )
    .unwrap();
    let half = body.len() / 2;
    s.write_all(&body[..half]).unwrap();
    s.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = server.child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    s.write_all(&body[half..]).unwrap();
    let (code, answer) = read_answer(&mut s);
    assert_eq!(code, 201, "{answer}");
    let (exit, log) = server.stop_after_signal();
    assert_eq!(exit, 0, "{log:#?}");
    assert!(ledger_text(&p).contains("0193a1b2-0000-7000-8000-00000000b001"));
    p.run(&["ledger", "verify"]).expect(0);
}

/// Sends a request head (and `body`, the start of what it declares) and leaves the
/// connection open.
fn send_head(server: &Server, declared: &str, headers: &str, body: &[u8]) -> TcpStream {
    let mut s = server.connect();
    write!(
        s,
        "POST /api/v1/lineage HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n{headers}\r\n",
        server.addr
    )
    .unwrap();
    s.write_all(body).unwrap();
    s.flush().unwrap();
    s
}

#[test]
fn a_huge_declared_length_is_refused_from_the_head_and_the_receiver_lives_on() {
    // Before: the HTTP library drained the unread body into a buffer of the declared size
    // and the process aborted, with or without a token.
    let p = project();
    let open = Server::start(&p, &[]);
    let mut s = send_head(&open, "999999999999", "", b"");
    let (code, body) = read_answer(&mut s);
    assert_eq!(code, 413, "{body}");
    let (start, _) = airflow();
    assert_eq!(open.post(start.as_bytes()).0, 201, "it still serves");
    let (exit, log) = open.stop();
    assert_eq!(exit, 0, "{log:#?}");

    // With a token, a client without it is told 401 from the head, whatever it declares.
    let guarded = Server::start(&p, &["--token-file", "token"]);
    let mut s = send_head(&guarded, "999999999999", "", b"");
    assert_eq!(read_answer(&mut s).0, 401);
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    let mut s = send_head(&guarded, "999999999999", &auth, b"");
    assert_eq!(read_answer(&mut s).0, 413);
    assert_eq!(guarded.post(start.as_bytes()).0, 201);
    let (exit, log) = guarded.stop();
    assert_eq!(exit, 0, "{log:#?}");
    p.run(&["ledger", "verify"]).expect(0);
}

#[test]
fn a_stalled_client_does_not_block_the_others_and_is_timed_out() {
    // Before: requests were served one at a time without timeouts, so a client that declared
    // 60,000 bytes and sent 5 held every other client until it hung up.
    let p = project();
    let server = Server::start(&p, &["--read-timeout", "3"]);
    let mut stalled = send_head(&server, "60000", "", b"[{\"ev");
    // A client that sends nothing at all after connecting, and one that stops mid-head.
    let silent = server.connect();
    let mut half = server.connect();
    write!(half, "POST /api/v1/lineage HTTP/1.1\r\nHost: x\r\n").unwrap();
    let (start, complete) = airflow();
    for event in [&start, &complete] {
        let (code, body) = server.post(event.as_bytes());
        assert_eq!(code, 201, "served while others stall: {body}");
    }
    // The stalled client is answered 408 once its time is up, and the connection is closed.
    let (code, body) = read_answer(&mut stalled);
    assert_eq!(code, 408, "{body}");
    // The silent and half-head clients are disconnected (hyper closes them without an answer).
    for mut s in [silent, half] {
        let mut rest = Vec::new();
        let read = s.read_to_end(&mut rest);
        assert!(
            read.is_ok(),
            "closed by the server, not by the test's timeout: {read:?}"
        );
    }
    let (exit, log) = server.stop();
    assert_eq!(exit, 0, "{log:#?}");
    assert!(log.iter().any(|l| l.contains("rejected (408)")), "{log:#?}");
    p.run(&["ledger", "verify"]).expect(0);
}

#[test]
fn a_broken_facet_is_dropped_with_a_warning_or_refused_with_strict() {
    let p = project();
    let (start, _) = airflow();
    let mut event: Value = serde_json::from_str(&start).unwrap();
    event["job"]["facets"]["ownership"] = serde_json::json!({"owners": [{"type": "MAINTAINER"}]});
    let body = event.to_string();
    let lenient = Server::start(&p, &[]);
    let (code, answer) = lenient.post(body.as_bytes());
    assert_eq!(code, 201, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert!(
        answer["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("request: job facet `ownership`"),
        "{answer}"
    );
    let (exit, log) = lenient.stop();
    assert_eq!(exit, 0);
    assert!(
        log.iter().any(|l| l.contains("facet `ownership`")),
        "{log:#?}"
    );

    let strict = Server::start(&p, &["--strict"]);
    let before = ledger_text(&p);
    let (code, answer) = strict.post(body.as_bytes());
    assert_eq!(code, 400, "{answer}");
    assert!(answer.contains("--strict"), "{answer}");
    assert_eq!(ledger_text(&p), before);
    assert_eq!(strict.stop().0, 0);
}

#[test]
fn bad_settings_are_refused_before_listening() {
    let p = project();
    private(&p.write("empty-token", "\n"));
    let run = p.run(&["serve", "--token-file", "empty-token"]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("empty"), "{}", run.stderr());
    let run = p.run(&["serve", "--addr", "not-an-address"]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("not-an-address"), "{}", run.stderr());
    let elsewhere = Project::new();
    let run = elsewhere.run(&["serve"]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("piitrail init"), "{}", run.stderr());
}

#[cfg(feature = "interop")]
mod interop {
    use super::*;

    /// Events sent by openlineage-python's own HttpTransport (api_key auth, gzip on the second
    /// client), built with its own event and facet classes.
    const CLIENT: &str = r#"
import sys, uuid, datetime
from openlineage.client import OpenLineageClient
from openlineage.client.transport.http import HttpConfig, HttpTransport
from openlineage.client.event_v2 import RunEvent, RunState, Run, Job, InputDataset, OutputDataset
from openlineage.client.facet_v2 import schema_dataset, column_lineage_dataset, sql_job

url, token = sys.argv[1], sys.argv[2]
def client(compression=None):
    cfg = {"url": url, "auth": {"type": "api_key", "apiKey": token}}
    if compression:
        cfg["compression"] = compression
    return OpenLineageClient(transport=HttpTransport(HttpConfig.from_dict(cfg)))

run_id = str(uuid.uuid4())
now = lambda: datetime.datetime.now(datetime.timezone.utc).isoformat()
producer = "https://github.com/OpenLineage/OpenLineage/tree/main/client/python"
job = Job(namespace="python-client", name="hash_emails",
          facets={"sql": sql_job.SQLJobFacet(query="select sha2(email) as email_hash from users")})
src = InputDataset(namespace="postgres://db:5432", name="app.public.users", facets={
    "schema": schema_dataset.SchemaDatasetFacet(fields=[
        schema_dataset.SchemaDatasetFacetFields(name="email", type="text")])})
lineage = column_lineage_dataset.ColumnLineageDatasetFacet(fields={
    "email_hash": column_lineage_dataset.Fields(inputFields=[
        column_lineage_dataset.InputField(namespace="postgres://db:5432", name="app.public.users",
            field="email", transformations=[column_lineage_dataset.Transformation(
                type="DIRECT", subtype="TRANSFORMATION", description="sha2", masking=True)])],
        transformationType="", transformationDescription="")})
out = OutputDataset(namespace="s3://warehouse", name="users_hashed", facets={"columnLineage": lineage})
client().emit(RunEvent(eventType=RunState.START, eventTime=now(), run=Run(runId=run_id), job=job,
                       producer=producer, inputs=[src], outputs=[]))
client("gzip").emit(RunEvent(eventType=RunState.COMPLETE, eventTime=now(), run=Run(runId=run_id),
                             job=job, producer=producer, inputs=[src], outputs=[out]))
print(run_id)
"#;

    #[test]
    fn the_openlineage_python_client_posts_to_serve() {
        let p = project();
        let server = Server::start(&p, &["--token-file", "token"]);
        p.write("client.py", CLIENT);
        let url = format!("http://{}", server.addr);
        let out = common::servers::python_stdout(p.dir.path(), &["client.py", &url, TOKEN]);
        let run_id = String::from_utf8(out).unwrap().trim().to_string();
        let (code, log) = server.stop();
        assert_eq!(code, 0);
        assert_eq!(
            log.iter()
                .filter(|l| l.contains("POST /api/v1/lineage 201"))
                .count(),
            2,
            "{log:#?}"
        );
        let walk: Value = serde_json::from_str(
            &p.run(&[
                "lineage",
                "s3://warehouse/users_hashed",
                "--columns",
                "--format",
                "json",
            ])
            .expect(0)
            .stdout(),
        )
        .unwrap();
        let x = &walk["executions"][0];
        assert_eq!(walk["executions"].as_array().unwrap().len(), 1);
        assert_eq!(
            (&x["run"]["id"], &x["run"]["state"]),
            (&Value::from(run_id), &Value::from("COMPLETE"))
        );
        let e = &walk["columns"][0];
        assert_eq!(
            (
                &e["from"]["path"],
                &e["from"]["column"],
                &e["to"]["column"],
                &e["class"]
            ),
            (
                &Value::from("postgres://db:5432/app.public.users"),
                &Value::from("email"),
                &Value::from("email_hash"),
                &Value::from("pseudonymised")
            )
        );
    }
}
