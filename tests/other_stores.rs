//! Object stores besides S3 (issue 16), each against a real server started here on 127.0.0.1
//! and a free port: Azure Blob Storage as Azurite serves it (`az://CONTAINER/PREFIX/`, the
//! credentials and endpoint from the environment as `object_store` reads them), and a plain
//! web server (`http://HOST:PORT/PATH`, one object by its URL: listing a web server's folder
//! needs WebDAV, which a static server does not speak). Each object gets the digest and the
//! tags its file gets locally; an erasure replaces an Azure blob conditionally, as it does an
//! S3 object.
//!
//! (Google Cloud Storage is built on the same client but not tested here: the emulator that the
//! reachable registries offer, `gcp-storage-emulator`, answers the XML API `object_store`
//! lists and reads with 501.)

#![cfg(feature = "interop")]

mod common;

use common::servers::{Server, free_port, python_stdout, start, web_server};
use common::{Project, Run};

/// 120 customers with their IBANs; the subject (`user7@example.org`) on line 9.
fn customers() -> String {
    common::shop_customers(120, true)
}

fn shop() -> Project {
    let p = Project::new();
    p.write("data/customers.csv", customers());
    p.write(
        "data/notes.csv",
        "id,note\n1,gift wrap requested\n2,delivered on time\n",
    );
    p.write("data/readme.txt", "not data");
    p
}

/// Azurite's Blob service, from `./scripts/test`'s npm install (`PIITRAIL_AZURITE`), in memory,
/// without telemetry (it would call out of this machine).
fn azurite() -> Server {
    let bin = std::env::var("PIITRAIL_AZURITE").expect(
        "PIITRAIL_AZURITE is not set: run ./scripts/test, which installs Azurite (npm) under target/azurite",
    );
    let port = free_port();
    start(
        "Azurite's Blob service",
        std::process::Command::new(bin).args([
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--silent",
        ]),
        port,
    )
}

/// Azurite's well-known development account (public, in Azure's documentation).
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Runs an azure-storage-blob script (`c` the container client of `exports`, created if need
/// be; `sys` imported) in `dir`; its standard output.
fn blob_script(az: &Server, dir: &std::path::Path, body: &str, args: &[&str]) -> Vec<u8> {
    let script = format!(
        "import sys\n\
         from azure.storage.blob import BlobServiceClient\n\
         svc = BlobServiceClient.from_connection_string('DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};BlobEndpoint={}/devstoreaccount1;')\n\
         c = svc.get_container_client('exports')\n\
         c.exists() or c.create_container()\n\
         {body}",
        az.endpoint()
    );
    let args: Vec<&str> = ["-c", script.as_str()]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    python_stdout(dir, &args)
}

fn run_az(az: &Server, p: &Project, args: &[&str]) -> Run {
    let mut cmd = assert_cmd::Command::cargo_bin("piitrail").unwrap();
    cmd.current_dir(p.dir.path())
        .env("AZURE_STORAGE_USE_EMULATOR", "true")
        .env("AZURITE_BLOB_STORAGE_URL", az.endpoint())
        .args(args);
    Run(cmd.output().unwrap())
}

/// Each scanned object has the digest and columns of the local file of its name.
fn same_as_local(p: &Project, remote: &[serde_json::Value], names: &[&str]) {
    let local = p
        .run(&["scan", "data", "--format", "json"])
        .expect(0)
        .json_lines();
    let got: Vec<&str> = remote
        .iter()
        .map(|s| s["artifact"].as_str().unwrap())
        .collect();
    assert_eq!(got, names);
    for r in remote {
        let name = r["artifact"].as_str().unwrap().rsplit('/').next().unwrap();
        let l = local
            .iter()
            .find(|l| l["artifact"].as_str().unwrap().ends_with(name))
            .unwrap();
        assert_eq!(r["digest"], l["digest"], "the sha256 of the content");
        assert_eq!(r["columns"], l["columns"], "the tags of the same file");
    }
}

#[test]
fn blobs_in_azure_storage_are_scanned_recorded_and_erased_like_s3_objects() {
    let az = azurite();
    let p = shop();
    blob_script(
        &az,
        p.dir.path(),
        "for n in sys.argv[1:]:\n    c.upload_blob('shop/' + n, open('data/' + n, 'rb'), overwrite=True)\n",
        &["customers.csv", "notes.csv", "readme.txt"],
    );
    let scan = run_az(&az, &p, &["scan", "az://exports/shop/", "--format", "json"]);
    assert_eq!(scan.code(), 0, "{}", scan.stderr());
    same_as_local(
        &p,
        &scan.json_lines(),
        &[
            "az://exports/shop/customers.csv",
            "az://exports/shop/notes.csv",
        ],
    );
    // Recorded, found and erased: the blob is replaced with If-Match on the ETag it was read at.
    p.run(&["init"]).expect(0);
    p.add_data_root("az://exports/");
    p.run(&["keygen", "--out", "keys"]).expect(0);
    let recorded = run_az(&az, &p, &["scan", "--record", "az://exports/shop/"]);
    assert_eq!(recorded.code(), 0, "{}", recorded.stderr());
    let erase = run_az(
        &az,
        &p,
        &[
            "subject",
            "erase",
            "--id",
            "email=user7@example.org",
            "--apply",
            "--key",
            "keys/piitrail.key",
        ],
    );
    assert_eq!(erase.code(), 0, "{}{}", erase.stdout(), erase.stderr());
    let now = blob_script(
        &az,
        p.dir.path(),
        "sys.stdout.buffer.write(c.download_blob('shop/customers.csv').readall())\n",
        &[],
    );
    let kept = common::without_subject(&customers());
    assert_eq!(
        String::from_utf8(now).unwrap(),
        kept,
        "only the subject's line goes"
    );
    let cert: serde_json::Value =
        serde_json::from_str(&p.read("piitrail-erasure/certificate.json")).unwrap();
    assert_eq!(
        cert["applied"]["removed"][0]["path"], "az://exports/shop/customers.csv",
        "{cert}"
    );
    // The certificate's digests are the blob's as the store now serves it.
    let verified = run_az(
        &az,
        &p,
        &[
            "verify",
            "piitrail-erasure/certificate.dsse.json",
            "--key",
            "keys/piitrail.pub",
            "--artifacts",
        ],
    );
    assert_eq!(
        verified.code(),
        0,
        "{}{}",
        verified.stdout(),
        verified.stderr()
    );
    let found = run_az(
        &az,
        &p,
        &[
            "subject",
            "find",
            "--id",
            "email=user7@example.org",
            "--fail-if-found",
        ],
    );
    assert_eq!(found.code(), 0, "{}{}", found.stdout(), found.stderr());
}

#[test]
fn a_file_on_a_web_server_is_scanned_by_its_url() {
    let p = shop();
    let web = web_server(&p.path("data"));
    let port = web.port;
    let url = format!("http://127.0.0.1:{port}/customers.csv");
    let scan = p.run(&["scan", &url, "--format", "json"]);
    assert_eq!(scan.code(), 0, "{}", scan.stderr());
    same_as_local(&p, &scan.json_lines(), &[url.as_str()]);
    // A missing file is an error naming its URL.
    let gone = format!("http://127.0.0.1:{port}/nothing.csv");
    let missing = p.run(&["scan", &gone]);
    assert_eq!(missing.code(), 2, "{}", missing.stderr());
    assert!(missing.stderr().contains(&gone), "{}", missing.stderr());
}
