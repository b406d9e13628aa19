//! Object stores as a source (issue 16): `scan s3://BUCKET/PREFIX/` lists and scans the objects
//! like a folder's files, each named by its URL with the sha256 of its content, the tags those
//! files get locally. Against a real S3-compatible server: moto's, from the interop venv,
//! started here on 127.0.0.1 and a free port, and stopped after.

#![cfg(feature = "interop")]

mod common;

use common::Project;

/// A moto S3 server on 127.0.0.1 for one test: stopped when dropped.
struct Moto {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> String {
    std::env::var("PIITRAIL_INTEROP_PYTHON").expect(
        "PIITRAIL_INTEROP_PYTHON is not set: run ./scripts/test, which installs moto[server] in its venv",
    )
}

fn moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Owned by `Moto` at once: dropped (killed and waited for) on every path.
    let server = Moto {
        child: std::process::Command::new(python())
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto's server starts (moto[server] in the interop venv)"),
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    // Bounded wait for it to listen.
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(server);
    panic!("moto's S3 server did not listen on 127.0.0.1:{port} within 10 s");
}

/// Puts the project's files under `data/` into bucket `exports`, prefix `shop/`, with boto3.
fn upload(m: &Moto, p: &Project, names: &[&str]) {
    let script = format!(
        "import boto3, sys\n\
         s3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id='test', aws_secret_access_key='test', region_name='us-east-1')\n\
         s3.create_bucket(Bucket='exports')\n\
         for name in sys.argv[1:]:\n    s3.upload_file('data/' + name, 'exports', 'shop/' + name)\n",
        m.endpoint
    );
    let out = std::process::Command::new(python())
        .current_dir(p.dir.path())
        .arg("-c")
        .arg(script)
        .args(names)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn scan_with(m: &Moto, p: &Project, args: &[&str]) -> common::Run {
    let mut cmd = assert_cmd::Command::cargo_bin("piitrail").unwrap();
    cmd.current_dir(p.dir.path())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "not-printed-secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &m.endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .args(args);
    common::Run(cmd.output().unwrap())
}

#[test]
fn objects_under_an_s3_prefix_are_scanned_like_local_files_and_named_by_url() {
    let m = moto();
    let p = Project::new();
    let mut customers = String::from("customer_id,full_name,email,phone,iban\n");
    for i in 0..200 {
        customers.push_str(&format!(
            "{i},Anna Kowalski,user{i}@example.org,+49 30 {:07},DE89370400440532013000\n",
            1_234_000 + i
        ));
    }
    p.write("data/customers.csv", &customers);
    p.write(
        "data/notes.csv",
        "id,note\n1,gift wrap requested\n2,delivered on time\n",
    );
    p.write("data/readme.txt", "not data");
    upload(&m, &p, &["customers.csv", "notes.csv", "readme.txt"]);
    let remote = scan_with(&m, &p, &["scan", "s3://exports/shop/", "--format", "json"]);
    assert_eq!(remote.code(), 0, "{}", remote.stderr());
    assert!(!remote.stderr().contains("not-printed-secret"));
    let remote = remote.json_lines();
    let local = p
        .run(&["scan", "data", "--format", "json"])
        .expect(0)
        .json_lines();
    let names: Vec<&str> = remote
        .iter()
        .map(|s| s["artifact"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "s3://exports/shop/customers.csv",
            "s3://exports/shop/notes.csv"
        ]
    );
    for (r, l) in remote.iter().zip(&local) {
        assert_eq!(
            r["digest"], l["digest"],
            "the sha256 of the content, as the file's"
        );
        assert_eq!(r["columns"], l["columns"], "the tags of the same file");
    }
    // One object by its URL; a prefix with nothing to scan is an error naming it.
    let one = scan_with(
        &m,
        &p,
        &["scan", "s3://exports/shop/notes.csv", "--format", "json"],
    );
    assert_eq!(one.code(), 0, "{}", one.stderr());
    assert_eq!(
        one.json_lines()[0]["artifact"],
        "s3://exports/shop/notes.csv"
    );
    // A recorded scan records each object by its URL and content digest.
    p.run(&["init"]).expect(0);
    let recorded = scan_with(&m, &p, &["scan", "--record", "s3://exports/shop/"]);
    assert_eq!(recorded.code(), 0, "{}", recorded.stderr());
    let ledger = p.read(".piitrail/ledger.jsonl");
    let digest = local[0]["digest"].as_str().unwrap();
    assert!(
        ledger.contains("s3://exports/shop/customers.csv") && ledger.contains(digest),
        "{ledger}"
    );
    p.run(&["ledger", "verify"]).expect(0);
    let none = scan_with(&m, &p, &["scan", "s3://exports/elsewhere/"]);
    assert_eq!(none.code(), 2, "{}", none.stderr());
    assert!(
        none.stderr().contains("s3://exports/elsewhere/"),
        "{}",
        none.stderr()
    );
}
