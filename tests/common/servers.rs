//! Throwaway servers for the interop tests: each started on 127.0.0.1 and a free port for one
//! test, waited for (bounded), and killed when dropped. What a server is started from comes
//! from `./scripts/test`, which installs it; a missing one fails the test, naming what to run.

/// A server process listening on 127.0.0.1: killed and waited for when dropped.
pub struct Server {
    child: std::process::Child,
    pub port: u16,
}

impl Server {
    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on now, and never handed out before in this test process: tests run
/// in parallel, and two servers given the same port would answer each other's clients.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..100 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
    panic!("no free port on 127.0.0.1 that this test process has not used");
}

/// Starts `cmd` (which must listen on 127.0.0.1:`port`) and waits at most 20 s for it to listen.
pub fn start(what: &str, cmd: &mut std::process::Command, port: u16) -> Server {
    // Owned by `Server` at once: dropped (killed and waited for) on every path.
    let server = Server {
        child: cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{what} does not start ({e}): run ./scripts/test, which installs it")
            }),
        port,
    };
    let mut server = server;
    // Started once it answers on two polls in a row, alive: one answer alone has been seen
    // to come before the server took requests.
    let mut answered = false;
    for _ in 0..400 {
        // A server that exited (its port taken after all) is not the one that answers.
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("{what} exited ({status}) before it listened on 127.0.0.1:{port}");
        }
        let now = listens(port);
        if now && answered {
            return server;
        }
        answered = now;
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(server);
    panic!("{what} did not listen on 127.0.0.1:{port} within 20 s");
}

/// Whether something listens on 127.0.0.1:`port`. A connection whose two ends are the same
/// address is not an answer: with nobody listening on a port of the ephemeral range (where
/// free ports come from), a connect may pick that very port as its own end and connect to
/// itself (TCP simultaneous open), and the server would be taken for started before it
/// listened (an objects test then met "connection refused").
fn listens(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port))
        .is_ok_and(|s| s.local_addr().ok() != s.peer_addr().ok())
}

/// Python's `http.server` serving the folder `dir` on 127.0.0.1.
pub fn web_server(dir: &std::path::Path) -> Server {
    let port = free_port();
    start(
        "Python's http.server",
        std::process::Command::new(python()).args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
            dir.to_str().unwrap(),
        ]),
        port,
    )
}

/// Runs the interop venv's Python with `args` in `dir`; its standard output. A failure fails
/// the test with Python's standard error.
pub fn python_stdout(dir: &std::path::Path, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new(python())
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The interop venv's Python (`./scripts/test` sets it).
pub fn python() -> String {
    std::env::var("PIITRAIL_INTEROP_PYTHON").expect(
        "PIITRAIL_INTEROP_PYTHON is not set: run ./scripts/test, which installs the interop venv",
    )
}
