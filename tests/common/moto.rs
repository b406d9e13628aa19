//! An S3-compatible server for the interop tests: moto's, from the interop venv, started on
//! 127.0.0.1 and a free port for one test and stopped when dropped.

use super::Project;
use super::servers::{Server, free_port, start};

/// A moto S3 server on 127.0.0.1 for one test: stopped when dropped.
pub struct Moto {
    _server: Server,
    pub endpoint: String,
}

use super::servers::python;

pub fn moto() -> Moto {
    let port = free_port();
    let server = start(
        "moto's S3 server (moto[server] in the interop venv)",
        std::process::Command::new(python()).args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ]),
        port,
    );
    Moto {
        endpoint: server.endpoint(),
        _server: server,
    }
}

/// Runs a boto3 script against `m` (`s3` is the client, `sys` imported) in `dir`, with `args`
/// and `stdin`; its standard output. Fails the test with the script's error.
fn boto3(m: &Moto, dir: &std::path::Path, body: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let script = format!(
        "import boto3, sys\n\
         s3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id='test', aws_secret_access_key='test', region_name='us-east-1')\n\
         {body}",
        m.endpoint
    );
    let mut child = std::process::Command::new(python())
        .current_dir(dir)
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Puts the project's files under `data/` into bucket `exports`, prefix `shop/`, with boto3.
pub fn upload(m: &Moto, p: &Project, names: &[&str]) {
    upload_from(m, p, "data", names)
}

/// Puts the project's files under `dir/` into bucket `exports` (created if need be), prefix
/// `shop/`, with boto3.
pub fn upload_from(m: &Moto, p: &Project, dir: &str, names: &[&str]) {
    let body = format!(
        "try:\n    s3.create_bucket(Bucket='exports')\n\
         except s3.exceptions.BucketAlreadyOwnedByYou:\n    pass\n\
         for name in sys.argv[1:]:\n    s3.upload_file('{dir}/' + name, 'exports', 'shop/' + name)\n"
    );
    boto3(m, p.dir.path(), &body, names, b"");
}

/// Runs the binary in the project with the standard S3 environment pointing at `m`.
pub fn run_s3(m: &Moto, p: &Project, args: &[&str]) -> super::Run {
    let mut cmd = assert_cmd::Command::cargo_bin("piitrail").unwrap();
    cmd.current_dir(p.dir.path())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "not-printed-secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &m.endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .args(args);
    super::Run(cmd.output().unwrap())
}

/// The content of object `key` of bucket `exports`, fetched with boto3.
pub fn download(m: &Moto, key: &str) -> Vec<u8> {
    let body = "sys.stdout.buffer.write(s3.get_object(Bucket='exports', Key=sys.argv[1])['Body'].read())\n";
    boto3(m, &std::env::temp_dir(), body, &[key], b"")
}

/// Writes `content` to object `key` of bucket `exports` with boto3 (another writer).
pub fn put(m: &Moto, key: &str, content: &[u8]) {
    let body = "s3.put_object(Bucket='exports', Key=sys.argv[1], Body=sys.stdin.buffer.read())\n";
    boto3(m, &std::env::temp_dir(), body, &[key], content);
}
