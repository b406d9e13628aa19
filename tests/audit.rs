//! keygen, audit, verify: signed reports, tampering, golden files of the demo's report, and no
//! raw personal data anywhere. The independent verifiers (openssl, securesystemslib, headless
//! Chromium) run under `--features interop` (`./scripts/test` installs them).

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Project, Run};

/// The demo project in `shop/`: scanned, three SQL steps, a model, a signed report.
fn demo() -> Project {
    let p = Project::new();
    p.run(&["demo", "--out", "shop"]).expect(0);
    p
}

fn in_shop(p: &Project, args: &[&str]) -> Run {
    let mut all = vec!["--project", "shop"];
    all.extend_from_slice(args);
    p.run(&all)
}

const ENVELOPE: &str = "shop/report/report.dsse.json";

fn verify(p: &Project, artifacts: bool) -> Run {
    let mut args = vec![
        "verify",
        "report/report.dsse.json",
        "--key",
        "keys/piitrail.pub",
    ];
    if artifacts {
        args.push("--artifacts");
    }
    let out = assert_cmd::Command::cargo_bin("piitrail")
        .unwrap()
        .current_dir(p.path("shop"))
        .args(&args)
        .output()
        .unwrap();
    Run(out)
}

fn envelope(p: &Project) -> serde_json::Value {
    serde_json::from_str(&p.read(ENVELOPE)).unwrap()
}

fn write_envelope(p: &Project, v: &serde_json::Value) {
    std::fs::write(p.path(ENVELOPE), serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

#[test]
fn keygen_writes_a_private_pkcs8_key_0600_and_a_spki_public_key() {
    let p = Project::new();
    let out = p.run(&["keygen", "--out", "keys"]).expect(0).stdout();
    let private = p.read("keys/piitrail.key");
    let public = p.read("keys/piitrail.pub");
    assert!(private.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
    // The private key is never printed.
    let body = private.lines().nth(1).unwrap();
    assert!(!out.contains(body), "keygen printed the private key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(p.path("keys/piitrail.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Public hex and keyid: the keyid is sha256 of the canonical securesystemslib key JSON.
    let hex_line = out.lines().find(|l| l.starts_with("public hex")).unwrap();
    let public_hex = hex_line.split_whitespace().last().unwrap();
    assert_eq!(public_hex.len(), 64);
    let keyid = out.lines().find(|l| l.starts_with("keyid")).unwrap();
    let canonical = format!(
        r#"{{"keytype":"ed25519","keyval":{{"public":"{public_hex}"}},"scheme":"ed25519"}}"#
    );
    use sha2::Digest;
    let want = hex::encode(sha2::Sha256::digest(canonical.as_bytes()));
    assert!(keyid.ends_with(&want), "{keyid} vs {want}");
    // Never overwritten.
    let again = p.run(&["keygen", "--out", "keys"]).expect(2);
    assert!(again.stderr().contains("already exists"));
    assert_eq!(p.read("keys/piitrail.key"), private);
}

/// `verify --artifacts` is the proof and never takes a digest from the cache: a data file
/// changed in place (same size, modification time put back) with the report's digest planted
/// in a cache entry that matches its stat (which `scan` then believes) is still found changed.
#[cfg(unix)]
#[test]
fn verify_hashes_every_artifact_whatever_the_digest_cache_says() {
    use std::os::unix::fs::MetadataExt;
    let p = demo();
    let orders = p.path("shop/data/orders.csv");
    let scanned = |extra: &[&str]| {
        let mut args = vec!["scan", "shop/data/orders.csv", "--format", "json"];
        args.extend_from_slice(extra);
        in_shop(&p, &args).expect(0).json_lines()[0]["digest"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let signed = scanned(&["--no-cache"]);
    let mut bytes = std::fs::read(&orders).unwrap();
    let at = bytes.iter().rposition(u8::is_ascii_digit).unwrap();
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    common::rewrite_keeping_mtime(&orders, &bytes);
    let m = std::fs::metadata(&orders).unwrap();
    let key = std::fs::canonicalize(&orders).unwrap();
    let cache = serde_json::json!({
        "version": 1,
        "files": { key.to_str().unwrap(): {
            "size": m.size(),
            "mtime_ns": m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            "ctime_ns": m.ctime() * 1_000_000_000 + m.ctime_nsec(),
            "ino": m.ino(),
            "dev": m.dev(),
            "digest": signed,
            "hashed_ns": 0,
        }},
    });
    p.write("shop/.piitrail/digests.json", cache.to_string());
    assert_eq!(scanned(&[]), signed, "scan takes the planted digest");
    assert_ne!(scanned(&["--no-cache"]), signed);
    let out = verify(&p, true).expect(1).stdout();
    assert!(out.contains("CHANGED  data/orders.csv"), "{out}");
}

#[test]
fn a_signed_report_verifies_and_every_kind_of_tampering_fails() {
    let p = demo();
    let ok = verify(&p, true).expect(0).stdout();
    assert!(ok.contains("signature valid"), "{ok}");
    assert!(ok.contains("all 7 artifacts match"), "{ok}");
    let original = envelope(&p);

    // One byte of the payload.
    let mut payload = STANDARD
        .decode(original["payload"].as_str().unwrap())
        .unwrap();
    let at = payload.len() / 2;
    payload[at] ^= 0x01;
    let mut v = original.clone();
    v["payload"] = STANDARD.encode(&payload).into();
    write_envelope(&p, &v);
    let out = verify(&p, false).expect(1).stdout();
    assert!(out.contains("does not match"), "{out}");

    // One byte of the signature.
    let mut sig = STANDARD
        .decode(original["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    sig[0] ^= 0x80;
    let mut v = original.clone();
    v["signatures"][0]["sig"] = STANDARD.encode(&sig).into();
    write_envelope(&p, &v);
    verify(&p, false).expect(1);

    // Another key.
    write_envelope(&p, &original);
    p.run(&["keygen", "--out", "other"]).expect(0);
    let out = p
        .run(&["verify", ENVELOPE, "--key", "other/piitrail.pub"])
        .expect(1)
        .stdout();
    assert!(out.contains("no signature by this key"), "{out}");

    // An artifact changed, then one missing: only --artifacts notices.
    let orders = p.path("shop/data/orders.csv");
    let mut bytes = std::fs::read(&orders).unwrap();
    bytes.push(b'\n');
    std::fs::write(&orders, &bytes).unwrap();
    verify(&p, false).expect(0);
    let out = verify(&p, true).expect(1).stdout();
    assert!(out.contains("CHANGED  data/orders.csv"), "{out}");
    std::fs::remove_file(p.path("shop/models/churn.json")).unwrap();
    let out = verify(&p, true).expect(1).stdout();
    assert!(out.contains("MISSING  models/churn.json"), "{out}");

    // Not an envelope at all: a clear error, exit 2.
    std::fs::write(p.path(ENVELOPE), "{not json").unwrap();
    let bad = verify(&p, false).expect(2);
    assert!(
        bad.stderr().contains("not a DSSE envelope"),
        "{}",
        bad.stderr()
    );
}

/// The signed report pins the ledger (record count and head hash): `verify --ledger` and
/// `ledger verify --anchors` pass while the ledger grows, and fail once it is cut, tampered
/// with before the pinned record, or replaced by another valid chain.
#[test]
fn a_signed_report_pins_the_ledger_and_a_cut_or_rewritten_ledger_fails() {
    let p = demo();
    let pinned = |p: &Project| {
        in_shop(
            p,
            &[
                "verify",
                "shop/report/report.dsse.json",
                "--key",
                "shop/keys/piitrail.pub",
                "--ledger",
            ],
        )
    };
    let anchors = |p: &Project| {
        in_shop(
            p,
            &[
                "ledger",
                "verify",
                "--anchors",
                "shop/report",
                "--key",
                "shop/keys/piitrail.pub",
            ],
        )
    };
    let ledger = p.path("shop/.piitrail/ledger.jsonl");
    let signed = std::fs::read_to_string(&ledger).unwrap();
    let n = signed.lines().count();
    let report: serde_json::Value =
        serde_json::from_str(&p.read("shop/report/report.json")).unwrap();
    assert_eq!(report["ledger"]["records"], n as u64);
    let ok = pinned(&p).expect(0).stdout();
    assert!(
        ok.contains(&format!("ledger ok: record {n} has the signed hash")),
        "{ok}"
    );
    // The ledger grows: the signed record is still there.
    p.write(
        "shop/data/extra.csv",
        "customer_id,email\n1,a@example.org\n",
    );
    in_shop(&p, &["scan", "--record", "shop/data/extra.csv"]).expect(0);
    let grown = std::fs::read_to_string(&ledger).unwrap();
    assert!(grown.lines().count() > n);
    pinned(&p).expect(0);
    let ok = anchors(&p).expect(0).stdout();
    assert!(ok.contains("report.dsse.json: ledger ok"), "{ok}");
    // Cut before the signed record.
    let cut: String = signed
        .lines()
        .take(n - 1)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&ledger, &cut).unwrap();
    let out = pinned(&p).expect(1).stdout();
    assert!(out.contains("the ledger was cut"), "{out}");
    in_shop(&p, &["ledger", "verify"]).expect(0); // an intact, shorter chain
    let out = anchors(&p).expect(1).stdout();
    assert!(out.contains("the ledger was cut"), "{out}");
    // One record before it changed.
    let tampered: String = signed
        .lines()
        .enumerate()
        .map(|(i, l)| match i {
            1 => format!("{}\n", l.replacen("\"time\":\"20", "\"time\":\"19", 1)),
            _ => format!("{l}\n"),
        })
        .collect();
    assert_ne!(tampered, signed);
    std::fs::write(&ledger, &tampered).unwrap();
    let out = pinned(&p).expect(1).stdout();
    assert!(
        out.contains("chain breaks before the signed record, at line 2"),
        "{out}"
    );
    // Another valid chain of the same length (the demo made again: other times, other hashes).
    p.run(&["demo", "--out", "again"]).expect(0);
    let other = p.read("again/.piitrail/ledger.jsonl");
    assert_eq!(other.lines().count(), n);
    std::fs::write(&ledger, &other).unwrap();
    in_shop(&p, &["ledger", "verify"]).expect(0);
    let out = pinned(&p).expect(1).stdout();
    assert!(out.contains("the ledger was rewritten"), "{out}");
    // Restored: it holds again.
    std::fs::write(&ledger, &signed).unwrap();
    pinned(&p).expect(0);
    // --anchors needs the key the anchors are signed with.
    in_shop(&p, &["ledger", "verify", "--anchors", "shop/report"]).expect(2);
}

#[test]
fn without_a_key_the_report_says_it_is_unsigned_and_drops_a_stale_signature() {
    let p = demo();
    assert!(p.path(ENVELOPE).is_file());
    let out = in_shop(&p, &["audit", "--out", "shop/report"])
        .expect(1)
        .stdout();
    assert!(out.contains("UNSIGNED"), "{out}");
    assert!(
        !p.path(ENVELOPE).exists(),
        "a stale signature was left beside a new report"
    );
    let html = p.read("shop/report/report.html");
    assert!(html.contains("Unsigned report"));
    let md = p.read("shop/report/report.md");
    assert!(md.contains("**Unsigned report**"));
}

#[test]
fn the_statement_lists_every_artifact_with_its_digest() {
    let p = demo();
    let v = envelope(&p);
    assert_eq!(v["payloadType"], "application/vnd.in-toto+json");
    let statement: serde_json::Value =
        serde_json::from_slice(&STANDARD.decode(v["payload"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        statement["predicateType"],
        "https://piitrail.dev/audit-report/v1"
    );
    let report: serde_json::Value =
        serde_json::from_str(&p.read("shop/report/report.json")).unwrap();
    assert_eq!(statement["predicate"], report);
    let subjects = statement["subject"].as_array().unwrap();
    assert_eq!(
        subjects.len(),
        report["artifacts"].as_array().unwrap().len()
    );
    for s in subjects {
        let name = s["name"].as_str().unwrap();
        let bytes = std::fs::read(p.path(&format!("shop/{name}"))).unwrap();
        use sha2::Digest;
        assert_eq!(
            s["digest"]["sha256"].as_str().unwrap(),
            hex::encode(sha2::Sha256::digest(&bytes)),
            "{name}"
        );
    }
}

/// report.json and report.md of the demo, with times, digests and key ids masked.
#[test]
fn golden_reports_of_the_demo() {
    let p = demo();
    let redact = |s: &str| {
        let s = regex::Regex::new(r"sha256:[0-9a-f]{64}")
            .unwrap()
            .replace_all(s, "sha256:[digest]");
        let s = regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
            .unwrap()
            .replace_all(&s, "[time]");
        s.into_owned()
    };
    let json = p.read("shop/report/report.json");
    insta::assert_snapshot!("demo_report_json", redact(&json));
    let md = p.read("shop/report/report.md");
    insta::assert_snapshot!("demo_report_md", redact(&md));
}

/// Every raw value of personal data in the example shop, none of which may appear in any
/// output of the demo: stdout, stderr, the ledger, and every report file (the signed payload
/// decoded).
#[test]
fn no_raw_personal_data_in_any_output_of_the_demo() {
    let p = Project::new();
    let run = p.run(&["demo", "--out", "shop"]).expect(0);
    let mut haystack = format!("{}{}", run.stdout(), run.stderr());
    for f in [
        "shop/.piitrail/ledger.jsonl",
        "shop/report/report.json",
        "shop/report/report.html",
        "shop/report/report.md",
    ] {
        haystack.push_str(&p.read(f));
    }
    let env: serde_json::Value = serde_json::from_str(&p.read(ENVELOPE)).unwrap();
    haystack.push_str(
        &String::from_utf8(STANDARD.decode(env["payload"].as_str().unwrap()).unwrap()).unwrap(),
    );
    // Digests are hex: a run of digits in one is not a leak.
    let haystack = regex::Regex::new(r"[0-9a-f]{64}")
        .unwrap()
        .replace_all(&haystack, "")
        .into_owned();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop/data");
    let mut values = Vec::new();
    let mut rdr = csv::Reader::from_path(root.join("customers.csv")).unwrap();
    let headers = rdr.headers().unwrap().clone();
    for row in rdr.records() {
        let row = row.unwrap();
        for (h, v) in headers.iter().zip(row.iter()) {
            if ["email", "phone", "date_of_birth", "iban", "postcode"].contains(&h) {
                values.push(v.to_string());
            }
        }
        values.push(format!("{} {}", &row[1], &row[2]));
    }
    let mut rdr = csv::Reader::from_path(root.join("tickets.csv")).unwrap();
    for row in rdr.records() {
        values.push(row.unwrap()[3].to_string());
    }
    assert!(values.len() >= 200, "{}", values.len());
    for v in &values {
        assert!(
            !haystack.contains(v.as_str()),
            "the demo's output holds a raw value"
        );
    }
}

#[cfg(feature = "interop")]
mod interop {
    use super::*;

    fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "DSSEv1 {} {payload_type} {} ",
            payload_type.len(),
            payload.len()
        )
        .into_bytes();
        out.extend_from_slice(payload);
        out
    }

    /// `openssl pkeyutl -verify -rawin` over the PAE bytes with the SPKI PEM key.
    fn openssl_verifies(p: &Project) -> bool {
        let v = envelope(p);
        let payload = STANDARD.decode(v["payload"].as_str().unwrap()).unwrap();
        let sig = STANDARD
            .decode(v["signatures"][0]["sig"].as_str().unwrap())
            .unwrap();
        std::fs::write(
            p.path("pae.bin"),
            pae(v["payloadType"].as_str().unwrap(), &payload),
        )
        .unwrap();
        std::fs::write(p.path("sig.bin"), sig).unwrap();
        let out = std::process::Command::new("openssl")
            .current_dir(p.dir.path())
            .args([
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "shop/keys/piitrail.pub",
                "-rawin",
                "-in",
                "pae.bin",
                "-sigfile",
                "sig.bin",
            ])
            .output()
            .expect("openssl is installed by ./scripts/test");
        String::from_utf8_lossy(&out.stdout).contains("Signature Verified Successfully")
            && out.status.success()
    }

    /// securesystemslib's `Envelope.verify`, with the keyid it computes itself.
    fn securesystemslib_verifies(p: &Project) -> bool {
        let python = std::env::var("PIITRAIL_INTEROP_PYTHON")
            .expect("PIITRAIL_INTEROP_PYTHON: ./scripts/test makes a venv with securesystemslib");
        let keyid = envelope(p)["signatures"][0]["keyid"]
            .as_str()
            .unwrap()
            .to_string();
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/verify_dsse.py");
        let out = std::process::Command::new(python)
            .arg(script)
            .arg(p.path(ENVELOPE))
            .arg(p.path("shop/keys/piitrail.pub"))
            .arg(keyid)
            .output()
            .unwrap();
        out.status.success()
    }

    #[test]
    fn openssl_and_securesystemslib_verify_the_envelope_and_reject_tampering() {
        let p = demo();
        assert!(openssl_verifies(&p), "openssl rejected a good signature");
        assert!(
            securesystemslib_verifies(&p),
            "securesystemslib rejected a good signature"
        );
        let original = envelope(&p);
        let mut payload = STANDARD
            .decode(original["payload"].as_str().unwrap())
            .unwrap();
        let last = payload.len() - 2;
        payload[last] ^= 0x01;
        let mut v = original.clone();
        v["payload"] = STANDARD.encode(&payload).into();
        write_envelope(&p, &v);
        assert!(!openssl_verifies(&p), "openssl accepted a changed payload");
        assert!(
            !securesystemslib_verifies(&p),
            "securesystemslib accepted a changed payload"
        );
        verify(&p, false).expect(1);
        let mut sig = STANDARD
            .decode(original["signatures"][0]["sig"].as_str().unwrap())
            .unwrap();
        sig[10] ^= 0x01;
        let mut v = original.clone();
        v["signatures"][0]["sig"] = STANDARD.encode(&sig).into();
        write_envelope(&p, &v);
        assert!(!openssl_verifies(&p));
        assert!(!securesystemslib_verifies(&p));
        verify(&p, false).expect(1);
    }

    /// Headless Chromium on a page of the project, with `what` (`--dump-dom`, `--print-to-pdf=F`,
    /// `--screenshot=F`); a fresh profile, and none of its background connections.
    fn chromium(p: &Project, what: &[&str], page: &std::path::Path) -> std::process::Output {
        let chromium =
            std::env::var("PIITRAIL_CHROMIUM").unwrap_or_else(|_| "chromium".to_string());
        let out = std::process::Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .arg(format!("--user-data-dir={}", p.path("chromium").display()))
            .args(what)
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("chromium is installed by ./scripts/test");
        assert!(out.status.success(), "chromium failed");
        out
    }

    /// What a DPO files, as Chromium renders it: the record of processing, the findings and what
    /// changed since the last audit are in the DOM; the report prints (a PDF of a few pages);
    /// and a screenshot of the demo's report is left in target/tmp for people to look at.
    #[test]
    fn the_dpo_report_renders_prints_and_is_screenshot_in_chromium() {
        let p = demo();
        // A second audit after a new dataset with personal data: `changes` to show.
        let mut csv = String::from("lead_id,email\n");
        for i in 0..30 {
            csv.push_str(&format!("{i},lead{i}@example.org\n"));
        }
        p.write("shop/data/leads.csv", &csv);
        in_shop(&p, &["scan", "--record", "shop/data/leads.csv"]).expect(0);
        in_shop(&p, &["audit", "--out", "shop/report"]).expect(1);
        let page = p.path("shop/report/report.html");
        let dom =
            String::from_utf8_lossy(&chromium(&p, &["--dump-dom"], &page).stdout).into_owned();
        for needle in [
            "Record of processing (GDPR Art. 30)",
            "Order fulfilment, invoicing and customer service",
            "US (standard_contractual_clauses)",
            "message: no Art. 9(2) condition",
            "data/leads.csv</code> <em>no declaration</em>",
            "What changed since",
            "special-category-without-condition",
            "forbidden-flow/no-health-in-models",
        ] {
            assert!(dom.contains(needle), "the rendered report lacks {needle}");
        }
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
        let pdf = p.path("report.pdf");
        chromium(
            &p,
            &[
                &format!("--print-to-pdf={}", pdf.display()),
                "--no-pdf-header-footer",
            ],
            &page,
        );
        let bytes = std::fs::read(&pdf).unwrap();
        assert!(bytes.starts_with(b"%PDF-"), "a PDF");
        let pages = regex::bytes::Regex::new(r"/Type\s*/Page[^s]")
            .unwrap()
            .find_iter(&bytes)
            .count();
        assert!((1..=40).contains(&pages), "{pages} pages");
        let shot = dir.join("demo-report.png");
        chromium(
            &p,
            &[
                &format!("--screenshot={}", shot.display()),
                "--window-size=1280,2000",
                "--hide-scrollbars",
            ],
            &page,
        );
        let png = std::fs::read(&shot).unwrap();
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000,
            "a screenshot"
        );
        eprintln!("screenshot of the demo report: {}", shot.display());
    }

    #[test]
    fn the_html_report_renders_in_headless_chromium_with_its_lineage_picture() {
        let p = demo();
        let page = p.path("shop/report/report.html");
        let out = chromium(&p, &["--dump-dom"], &page);
        let dom = String::from_utf8_lossy(&out.stdout);
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(dom.contains("<svg id=\"lineage\""), "no lineage picture");
        assert!(
            dom.matches("class=\"flow\"").count() >= 4,
            "too few flows drawn"
        );
        assert!(dom.contains("Personal data audit: example-shop"));
        // Console errors of the page (not Chromium's own D-Bus noise) would show as CONSOLE.
        assert!(
            !log.contains("CONSOLE") && !log.contains("Uncaught"),
            "the page logged errors:\n{log}"
        );
        // Self-contained: nothing is fetched from the network.
        let html = std::fs::read_to_string(&page).unwrap();
        for fetch in ["http://", "https://", "<script", "<link"] {
            let outside_text = html
                .replace("http://www.w3.org/2000/svg", "")
                .replace("https://piitrail.dev/", "");
            assert!(
                !outside_text.contains(fetch),
                "report.html refers to {fetch}"
            );
        }
    }

    /// `export fides` writes manifests the real `fideslang` validates, with categories of its
    /// default taxonomy.
    #[test]
    fn fideslang_validates_the_exported_manifests() {
        let p = demo();
        in_shop(&p, &["export", "fides", "--out", "fides"]).expect(0);
        let python = std::env::var("PIITRAIL_INTEROP_PYTHON")
            .expect("PIITRAIL_INTEROP_PYTHON: ./scripts/test makes a venv with fideslang");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = std::process::Command::new(python)
            .arg(root.join("tests/interop/fides_check.py"))
            .arg(p.path("fides"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "fideslang refused a manifest: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok 3 manifests"));
    }

    #[test]
    fn report_json_follows_its_published_schema() {
        let p = demo();
        let python = std::env::var("PIITRAIL_INTEROP_PYTHON")
            .expect("PIITRAIL_INTEROP_PYTHON: ./scripts/test makes a venv with jsonschema");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let check = |doc: &std::path::Path| {
            std::process::Command::new(&python)
                .arg(root.join("tests/interop/validate_schema.py"))
                .arg(root.join("reports/report.schema.json"))
                .arg(doc)
                .output()
                .unwrap()
        };
        let out = check(&p.path("shop/report/report.json"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        // The schema is strict enough to fail a report with an unknown status.
        let bad = p.read("shop/report/report.json").replacen(
            "\"status\": \"direct\"",
            "\"status\": \"copied\"",
            1,
        );
        p.write("bad.json", bad);
        assert!(!check(&p.path("bad.json")).status.success());
    }
}

/// Propagation end to end through the binary: an unknown function keeps a tag `direct`, a
/// scanned derived dataset is compared with what lineage says, and the findings name both
/// directions of a disagreement.
#[test]
fn audit_propagates_through_unknown_functions_and_reports_disagreements() {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    let mut csv = String::from("customer_id,email,notes\n");
    for i in 0..60 {
        csv.push_str(&format!("C{i:04},person{i}@example.com,likes tea\n"));
    }
    p.write("data/customers.csv", &csv);
    p.run(&["scan", "--record", "data/customers.csv"]).expect(0);
    // reverse() is in no table: the safe default is direct.
    p.run(&[
        "run",
        "--sql",
        "SELECT reverse(email) AS backwards, email AS contact, customer_id FROM c",
        "--input",
        "c=data/customers.csv",
        "--output",
        "out/copy.csv",
    ])
    .expect(0);
    // A declared export that leaves its columns undeclared, and a file scanned after it that
    // holds emails nobody declared a source for.
    p.write("out/export.csv", &csv);
    p.run(&[
        "record",
        "--kind",
        "export",
        "--input",
        "data/customers.csv",
        "--output",
        "out/export.csv",
        "--column",
        "customer_id=customer_id",
    ])
    .expect(0);
    p.run(&["scan", "--record", "out/copy.csv", "out/export.csv"])
        .expect(0);
    p.run(&["audit", "--out", "report"]).expect(1);
    let r: serde_json::Value = serde_json::from_str(&p.read("report/report.json")).unwrap();
    let artifact = |path: &str| common::artifact_of(&r, path);
    let copy = artifact("out/copy.csv");
    let column = common::tags_of;
    let backwards = column(&copy, "backwards");
    let email = backwards
        .iter()
        .find(|t| t["category"] == "user.contact.email")
        .expect("the email tag reaches reverse(email)");
    assert_eq!(email["status"], "direct");
    assert_eq!(email["origin"], "inherited");
    assert_eq!(
        email["via"],
        serde_json::json!([{"path": "data/customers.csv", "column": "email"}])
    );
    let codes: Vec<(String, String, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["artifact"].as_str().unwrap().to_string(),
                f["column"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    // Lineage says `backwards` holds an email; the scanner cannot see one in reversed text.
    assert!(
        codes.contains(&(
            "inherited-not-detected".into(),
            "out/copy.csv".into(),
            "backwards".into()
        )),
        "{codes:?}"
    );
    // The export holds emails its recorded lineage does not bring.
    assert!(
        codes.contains(&(
            "detected-not-inherited".into(),
            "out/export.csv".into(),
            "email".into()
        )),
        "{codes:?}"
    );
    // The plain copy agrees with the scan: no lineage finding about it (it is undeclared, as
    // every personal column of this project: the gate's `undeclared-pii`).
    assert!(
        !codes
            .iter()
            .any(|(code, a, c)| a == "out/copy.csv" && c == "contact" && code != "undeclared-pii"),
        "{codes:?}"
    );
}

#[test]
fn a_scanned_derived_column_shows_both_detected_and_inherited_tags() {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    let mut csv = String::from("customer_id,email\n");
    for i in 0..60 {
        csv.push_str(&format!("C{i:04},person{i}@example.com\n"));
    }
    p.write("data/customers.csv", &csv);
    p.run(&["scan", "--record", "data/customers.csv"]).expect(0);
    p.run(&[
        "run",
        "--sql",
        "SELECT email FROM c",
        "--input",
        "c=data/customers.csv",
        "--output",
        "out/emails.csv",
    ])
    .expect(0);
    p.run(&["scan", "--record", "out/emails.csv"]).expect(0);
    p.run(&["audit", "--out", "report"]).expect(1);
    let r: serde_json::Value = serde_json::from_str(&p.read("report/report.json")).unwrap();
    let emails = r["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == "out/emails.csv")
        .unwrap();
    let origins: Vec<&str> = emails["columns"][0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["category"] == "user.contact.email")
        .map(|t| t["origin"].as_str().unwrap())
        .collect();
    assert_eq!(origins, ["detected", "inherited"]);
}

/// A second audit lists what changed since the first: a new personal column, a new dataset
/// and the categories reaching it. A previous report that no longer matches its signature is
/// refused, and nothing is written.
/// A step with 25 outputs and no column lineage: 25 notes. The summary lists the first 20 and
/// counts the rest; the report keeps all 25.
#[test]
fn the_summary_lists_a_few_findings_of_each_kind_and_counts_the_rest() {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    p.write("data/in.csv", "id,amount\n1,2\n");
    let mut args = vec![
        "record".to_string(),
        "--kind".into(),
        "transform".into(),
        "--input".into(),
        "data/in.csv".into(),
    ];
    for i in 0..25 {
        let out = format!("out/o{i:02}.csv");
        p.write(&out, format!("id,amount\n{i},2\n"));
        args.extend(["--output".to_string(), out]);
    }
    p.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .expect(0);
    let out = p.run(&["audit", "--out", "report"]).expect(0).stdout();
    assert!(
        out.contains("findings: 0 errors, 0 warnings, 25 notes"),
        "{out}"
    );
    let listed: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  info: no-column-lineage out/o"))
        .collect();
    assert_eq!(listed.len(), 20, "{out}");
    assert!(listed[0].contains("out/o00.csv") && listed[19].contains("out/o19.csv"));
    assert!(
        out.contains("\n  … and 5 more notes (report.md lists every finding)\n"),
        "{out}"
    );
    let json = p.read("report/report.json");
    assert_eq!(json.matches("\"code\": \"no-column-lineage\"").count(), 25);
    assert_eq!(
        p.read("report/report.md")
            .matches("no-column-lineage")
            .count(),
        25
    );
}

/// The "Where personal data flows" section of an HTML report, for failure messages.
fn flows_section(html: &str) -> &str {
    let at = html.find("Where personal data flows").unwrap_or(0);
    &html[at..html.len().min(at + 600)]
}

/// Past 400 artifacts the picture draws only those that hold personal data, and the flows
/// between them; past 400 of those, none.
#[test]
fn a_large_project_draws_only_the_artifacts_that_hold_personal_data() {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    p.write("data/customers.csv", common::shop_customers(30, false));
    p.run(&["scan", "--record", "data/customers.csv"]).expect(0);
    let step = |input: &str, outputs: &[String]| {
        let mut args = vec!["record", "--kind", "transform", "--input", input];
        for o in outputs {
            // Each its own content: equal files are one version, with one set of tags.
            p.write(o, format!("id,amount\n{o},2\n"));
            args.extend(["--output", o.as_str()]);
        }
        p.run(&args).expect(0);
    };
    step("data/customers.csv", &["out/copy.csv".to_string()]);
    // 401 outputs of a table without personal data: 404 artifacts, 2 with personal data.
    p.write("data/plain.csv", "id,amount\n1,2\n");
    // The audit's page, which says `says` of its picture (undeclared personal data: exit 1).
    let page = |says: &str| {
        p.run(&["audit", "--out", "report"]).expect(1);
        let html = p.read("report/report.html");
        assert!(html.contains(says), "{}", flows_section(&html));
        html
    };
    let plain: Vec<String> = (0..401).map(|i| format!("out/plain{i:03}.csv")).collect();
    step("data/plain.csv", &plain);
    let html = page("The 2 artifacts that hold personal data, of 404.");
    assert_eq!(html.matches("<g class=\"artifact\">").count(), 2);
    assert_eq!(html.matches("<path class=\"flow\"").count(), 1);
    // The same step from the customers: 403 artifacts with personal data are not drawn.
    let tagged: Vec<String> = (0..401).map(|i| format!("out/tagged{i:03}.csv")).collect();
    step("data/customers.csv", &tagged);
    let html = page("403 of the 805 artifacts hold personal data: too many to draw.");
    assert!(!html.contains("<svg id=\"lineage\""));
}

#[test]
fn a_second_audit_lists_what_changed_since_the_first() {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    p.run(&["keygen", "--out", "keys"]).expect(0);
    let mut first = String::from("customer_id,email,city\n");
    let mut second = String::from("customer_id,email,city,phone\n");
    for i in 0..50 {
        first.push_str(&format!("{i},user{i}@example.org,Berlin\n"));
        second.push_str(&format!(
            "{i},user{i}@example.org,Berlin,+49 30 {:07}\n",
            1_234_567 + i * 7
        ));
    }
    p.write("data/customers.csv", &first);
    p.run(&["scan", "--record", "data/customers.csv"]).expect(0);
    let audit = |p: &Project| p.run(&["audit", "--out", "report", "--key", "keys/piitrail.key"]);
    audit(&p).expect(1);
    let report = |p: &Project| -> serde_json::Value {
        serde_json::from_str(&p.read("report/report.json")).unwrap()
    };
    let before = report(&p);
    assert!(
        before.get("changes").is_none(),
        "a first audit has nothing to compare with"
    );

    p.write("data/customers.csv", &second);
    p.write(
        "data/leads.csv",
        first.replace("@example.org", "@leads.example"),
    );
    p.run(&["scan", "--record", "data/customers.csv", "data/leads.csv"])
        .expect(0);
    let out = audit(&p).expect(1).stdout();
    let now = report(&p);
    let c = &now["changes"];
    assert_eq!(c["since"]["time"], before["time"]);
    assert_eq!(c["since"]["ledger_records"], before["ledger"]["records"]);
    assert_eq!(c["since"]["signed"], true);
    // The new column of a known dataset, and the personal columns of the new one.
    let added = c["added_columns"].as_array().unwrap();
    let phone = serde_json::json!({
        "artifact": "data/customers.csv",
        "column": "phone",
        "category": "user.contact.phone_number"
    });
    assert!(added.contains(&phone), "{added:?}");
    assert!(
        added
            .iter()
            .all(|a| *a == phone || a["artifact"] == "data/leads.csv"),
        "{added:?}"
    );
    assert!(
        out.contains(&format!("{} personal column(s) added", added.len())),
        "{out}"
    );
    assert_eq!(c["removed_columns"], serde_json::json!([]));
    assert_eq!(c["new_artifacts"], serde_json::json!(["data/leads.csv"]));
    // Findings compare by code, severity, artifact and column: new ones are in this report
    // only, resolved ones in the previous only, and one that stands is neither.
    let key = |f: &serde_json::Value| {
        [&f["code"], &f["severity"], &f["artifact"], &f["column"]].map(|v| v.clone())
    };
    let keys = |r: &serde_json::Value| -> Vec<_> {
        r["findings"].as_array().unwrap().iter().map(key).collect()
    };
    let (then, found) = (keys(&before), keys(&now));
    assert!(then.iter().any(|k| found.contains(k)), "a finding stands");
    let new = c["new_findings"].as_array().unwrap();
    assert!(!new.is_empty(), "the new dataset brings findings");
    for f in new {
        assert!(found.contains(&key(f)) && !then.contains(&key(f)), "{f}");
    }
    for f in c["resolved_findings"].as_array().unwrap() {
        assert!(then.contains(&key(f)) && !found.contains(&key(f)), "{f}");
    }
    let flows = c["new_flows"].as_array().unwrap();
    assert!(
        flows.contains(
            &serde_json::json!({"category": "user.contact.email", "artifact": "data/leads.csv"})
        ),
        "{flows:?}"
    );
    let html = p.read("report/report.html");
    assert!(
        html.contains("What changed since"),
        "the HTML shows the changes"
    );
    assert!(
        html.find("What changed since") < html.find("<h2>Summary</h2>"),
        "first"
    );
    assert!(
        p.read("report/report.md")
            .contains("personal column added: `data/customers.csv` phone")
    );

    // A previous report changed after it was signed: refused, nothing written.
    let mut forged = report(&p);
    forged["time"] = "2020-01-01T00:00:00Z".into();
    std::fs::write(
        p.path("report/report.json"),
        serde_json::to_vec(&forged).unwrap(),
    )
    .unwrap();
    let run = audit(&p).expect(2);
    assert!(run.stderr().contains("does not verify"), "{}", run.stderr());
    assert_eq!(report(&p), forged, "nothing was written");
    // Put back as signed; then the phone column goes away again.
    std::fs::write(
        p.path("report/report.json"),
        serde_json::to_vec(&now).unwrap(),
    )
    .unwrap();
    p.write("data/customers.csv", &first);
    p.run(&["scan", "--record", "data/customers.csv"]).expect(0);
    audit(&p).expect(1);
    let third = report(&p);
    assert_eq!(
        third["changes"]["removed_columns"],
        serde_json::json!([phone])
    );
    assert_eq!(third["changes"]["added_columns"], serde_json::json!([]));
    assert_eq!(third["changes"]["new_artifacts"], serde_json::json!([]));
    // Named explicitly, an unsigned copy elsewhere is compared and said to be unsigned.
    std::fs::create_dir_all(p.path("old")).unwrap();
    std::fs::write(
        p.path("old/report.json"),
        serde_json::to_vec(&before).unwrap(),
    )
    .unwrap();
    p.run(&["audit", "--out", "again", "--since", "old/report.json"])
        .expect(1);
    let again: serde_json::Value = serde_json::from_str(&p.read("again/report.json")).unwrap();
    assert_eq!(again["changes"]["since"]["signed"], false);
    // Against the first report: the new dataset's columns (the phone column came and went).
    let leads: Vec<&serde_json::Value> = added.iter().filter(|a| **a != phone).collect();
    assert_eq!(again["changes"]["added_columns"], serde_json::json!(leads));
}

/// Tags carry the rule pack that judged them: the scans record it, the report lists the packs
/// of the scans in force, and `verify` says whether they are this binary's built-in rules.
#[test]
fn the_report_names_the_rule_packs_its_tags_come_from() {
    let p = demo();
    let report: serde_json::Value =
        serde_json::from_str(&p.read("shop/report/report.json")).unwrap();
    let packs = report["rule_packs"].as_array().unwrap();
    assert_eq!(packs.len(), 1, "{packs:?}");
    let builtin = packs[0].as_str().unwrap().to_string();
    assert!(
        builtin.starts_with("sha256:") && builtin.len() == 71,
        "{builtin}"
    );
    let ledger = p.read("shop/.piitrail/ledger.jsonl");
    assert!(ledger.contains(&format!("\"rule_pack\":\"{builtin}\"")));
    let out = verify(&p, false).expect(0).stdout();
    assert!(
        out.contains(&format!(
            "rule pack {builtin}: this binary's built-in rules"
        )),
        "{out}"
    );

    // A file scanned with rules of the project's own: another pack, and verify says so.
    let rule = "[[rule]]\nid = \"loyalty-card\"\ncategory = \"user.unique_id\"\ngdpr_class = \"personal\"\nwhat = \"x\"\nwhy = \"y\"\nsince = \"0.1.0\"\nvalue = 'LC-\\d{8}'\naccepts = [\"LC-12345678\"]\nrejects = [\"LC-1\"]\n";
    p.write("shop/myrules/loyalty.toml", rule);
    let mut cards = String::from("card\n");
    for i in 0..40 {
        cards.push_str(&format!("LC-{:08}\n", 10_000_000 + i));
    }
    p.write("shop/data/cards.csv", cards);
    in_shop(
        &p,
        &[
            "scan",
            "--record",
            "shop/data/cards.csv",
            "--rules",
            "shop/myrules",
        ],
    )
    .expect(0);
    // The demo keeps no private key: a new one signs the second report.
    p.run(&["keygen", "--out", "k2"]).expect(0);
    in_shop(
        &p,
        &["audit", "--out", "shop/report", "--key", "k2/piitrail.key"],
    )
    .expect(1);
    let report: serde_json::Value =
        serde_json::from_str(&p.read("shop/report/report.json")).unwrap();
    let packs: Vec<&str> = report["rule_packs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(packs.len(), 2, "{packs:?}");
    assert!(packs.contains(&builtin.as_str()));
    let other = packs.iter().find(|p| **p != builtin).unwrap();
    let out = p
        .run(&["verify", ENVELOPE, "--key", "k2/piitrail.pub"])
        .expect(0)
        .stdout();
    assert!(
        out.contains(&format!(
            "rule pack {other}: NOT this binary's built-in rules"
        )),
        "{out}"
    );
}

/// The (code, artifact, column) of every error a gate or an audit reports.
fn errors(
    json: &serde_json::Value,
    list: &str,
    code: &str,
    level: &str,
) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = json[list]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f[level] == "error" && f.get("suppressed").is_none())
        .map(|f| {
            (
                f[code].as_str().unwrap().to_string(),
                f["artifact"].as_str().unwrap().to_string(),
                f["column"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// One finding registry and one policy: every error `gate` finds on a project's datasets is an
/// error of the audit of that project, with the same code, on the demo and on a project with
/// undeclared, special-category and forbidden-flow data and a severity override.
#[test]
fn every_gate_error_is_an_audit_error() {
    let check = |p: &Project, project: &str, data: &str, report: &str| {
        let gate = p
            .run(&["--project", project, "gate", data, "--format", "json"])
            .expect(1)
            .stdout();
        let gate: serde_json::Value = serde_json::from_str(&gate).unwrap();
        p.run(&["--project", project, "audit", "--out", report])
            .expect(1);
        let audit: serde_json::Value =
            serde_json::from_str(&p.read(&format!("{report}/report.json"))).unwrap();
        let gate_errors = errors(&gate, "violations", "rule", "level");
        let audit_errors = errors(&audit, "findings", "code", "severity");
        assert!(!gate_errors.is_empty());
        for e in &gate_errors {
            assert!(
                audit_errors.contains(e),
                "the audit lacks the gate's {e:?}: {audit_errors:?}"
            );
        }
        (gate_errors, audit_errors, audit)
    };
    let p = demo();
    let (gate, _, _) = check(&p, "shop", "shop/data", "shop/again");
    assert_eq!(gate.len(), 3, "{gate:?}");

    let p = Project::new();
    p.run(&["init"]).expect(0);
    let mut csv = String::from("customer_id,email,diagnosis,city\n");
    for i in 0..60 {
        csv.push_str(&format!(
            "{i},user{i}@example.org,{} since 2019,{}\n",
            ["diabetes type 2", "asthma", "hypertension"][i % 3],
            ["Berlin", "Paris", "Madrid"][i % 3]
        ));
    }
    p.write("data/patients.csv", &csv);
    let toml = p.read("piitrail.toml").replacen(
        "[policy]\n",
        "[policy]\nseverity.declared-column-missing = \"error\"\nseverity.special-category-without-condition = \"note\"\n",
        1,
    ) + "\n[[dataset]]\npath = \"data/patients.csv\"\npurpose = \"care\"\nlegal_basis = \"contract\"\ncolumns.customer_id = \"user.unique_id\"\ncolumns.fax = \"user.contact.fax_number\"\n";
    p.write("piitrail.toml", toml);
    p.run(&["scan", "--record", "data/patients.csv"]).expect(0);
    let (gate, audit, report) = check(&p, ".", "data", "report");
    let codes: Vec<&str> = gate.iter().map(|e| e.0.as_str()).collect();
    for code in ["undeclared-pii", "declared-column-missing"] {
        assert!(codes.contains(&code), "{code} in {gate:?}");
    }
    // The overrides hold in both: a warning made an error, an error made a note.
    assert!(
        audit.iter().any(|e| e.0 == "declared-column-missing"),
        "{audit:?}"
    );
    assert!(
        !codes.contains(&"special-category-without-condition"),
        "{gate:?}"
    );
    let special: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "special-category-without-condition")
        .collect();
    assert!(
        !special.is_empty() && special.iter().all(|f| f["severity"] == "info"),
        "{special:?}"
    );
}

/// The record of processing (Art. 30) in report.json, the HTML and Markdown reports and
/// ropa.csv: every declared dataset with what its declaration says, what was detected but not
/// declared, Art. 9 conditions, where the data goes; a dataset holding personal data without a
/// declaration gets an entry of its own; a bad transfer is refused with its place.
#[test]
fn the_record_of_processing_lists_every_declared_dataset_and_what_was_not_declared() {
    let p = demo();
    let r: serde_json::Value = serde_json::from_str(&p.read("shop/report/report.json")).unwrap();
    let ropa = r["record_of_processing"].as_array().unwrap();
    let entry = |d: &str| {
        ropa.iter()
            .find(|e| e["dataset"] == d)
            .unwrap_or_else(|| panic!("{d}"))
    };
    for d in ["data/customers.csv", "data/orders.csv", "data/tickets.csv"] {
        let e = entry(d);
        assert_eq!(e["declared"], true);
        assert_eq!(e["legal_basis"], "contract");
        assert!(e["purpose"].as_str().is_some_and(|p| !p.is_empty()));
        assert!(e["retention"].is_string() && !e["subjects"].as_array().unwrap().is_empty());
        assert_eq!(e["artifacts"], serde_json::json!([d]));
    }
    let customers = entry("data/customers.csv");
    assert_eq!(customers["transfers"][0]["country"], "US");
    assert_eq!(customers["recipients"].as_array().unwrap().len(), 2);
    assert!(
        customers["undeclared"].as_array().unwrap().is_empty(),
        "{customers}"
    );
    let tickets = entry("data/tickets.csv");
    assert_eq!(
        tickets["undeclared"],
        serde_json::json!([{"artifact": "data/tickets.csv", "column": "message", "category": "user.health_and_medical"}])
    );
    assert_eq!(
        tickets["art9"],
        serde_json::json!([{"column": "message", "category": "user.health_and_medical", "condition": null}])
    );
    assert!(
        tickets["reaches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["path"] == "models/churn.json")
    );
    // ropa.csv: a row per dataset and category, the same facts.
    let csv = p.read("shop/report/ropa.csv");
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("dataset,declared,purpose,legal_basis"));
    let categories: usize = ropa
        .iter()
        .map(|e| e["categories"].as_array().unwrap().len().max(1))
        .sum();
    assert_eq!(rows.len() - 1, categories);
    assert!(rows.iter().any(
        |l| l.starts_with("data/tickets.csv,yes,Customer service,contract")
            && l.contains("user.health_and_medical,special,message,no,yes,message: none declared")
    ));
    for (file, needle) in [
        ("report.html", "Record of processing (GDPR Art. 30)"),
        ("report.md", "### Record of processing (GDPR Art. 30)"),
    ] {
        let text = p.read(&format!("shop/report/{file}"));
        assert!(
            text.contains(needle) && text.contains("standard_contractual_clauses"),
            "{file}"
        );
    }

    let p = Project::new();
    p.run(&["init"]).expect(0);
    let mut csv = String::from("customer_id,email\n");
    for i in 0..40 {
        csv.push_str(&format!("{i},user{i}@example.org\n"));
    }
    p.write("data/declared.csv", &csv);
    // Other rows: two files of the same bytes are one artifact version.
    p.write(
        "exports/loose.csv",
        csv.replace("example.org", "example.net"),
    );
    let decl = "\n[[dataset]]\npath = \"data/*.csv\"\npurpose = \"accounts\"\nlegal_basis = \"contract\"\ncolumns.customer_id = \"user.unique_id\"\ncolumns.email = \"user.contact.email\"\n";
    p.write("piitrail.toml", p.read("piitrail.toml") + decl);
    p.run(&["scan", "--record", "data/declared.csv", "exports/loose.csv"])
        .expect(0);
    p.run(&["audit", "--out", "report"]).expect(1);
    let r: serde_json::Value = serde_json::from_str(&p.read("report/report.json")).unwrap();
    let ropa = r["record_of_processing"].as_array().unwrap();
    assert_eq!(ropa.len(), 2, "{ropa:?}");
    assert_eq!(ropa[0]["dataset"], "data/*.csv");
    assert_eq!(
        ropa[0]["artifacts"],
        serde_json::json!(["data/declared.csv"])
    );
    assert_eq!(ropa[1]["dataset"], "exports/loose.csv");
    assert_eq!(ropa[1]["declared"], false);
    assert_eq!(ropa[1]["purpose"], serde_json::Value::Null);
    assert_eq!(
        ropa[1]["undeclared"].as_array().unwrap().len(),
        2,
        "{}",
        ropa[1]
    );

    let bad = p.read("piitrail.toml").replace(
        "purpose = \"accounts\"",
        "purpose = \"accounts\"\ntransfers = [{ country = \"USA\", safeguard = \"handshake\" }]",
    );
    p.write("piitrail.toml", bad);
    let err = p.run(&["audit", "--out", "report2"]).expect(2).stderr();
    assert!(
        err.contains("transfers[0].country") && err.contains("'USA' is not an ISO 3166-1 alpha-2"),
        "{err}"
    );
    assert!(err.contains("transfers[0].safeguard"), "{err}");
    assert!(!p.path("report2/report.json").exists(), "nothing written");
}

/// Each tag carries the evidence of its detection, along lineage unchanged: the scan's ledger
/// record, the version it read, its rule pack and mode, and its counts.
#[test]
fn every_tag_carries_the_evidence_of_its_detection() {
    let p = demo();
    let r: serde_json::Value = serde_json::from_str(&p.read("shop/report/report.json")).unwrap();
    let ledger: Vec<serde_json::Value> = p
        .read("shop/.piitrail/ledger.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let artifact = |path: &str| common::artifact_of(&r, path);
    let customers = artifact("data/customers.csv");
    let clean = artifact("out/customers_clean.parquet");
    let column = |a: &serde_json::Value, c: &str| common::tags_of(a, c)[0].clone();
    let detected = column(&customers, "email");
    let handed_on = column(&clean, "email_hash");
    assert_eq!(handed_on["status"], "pseudonymised");
    assert_eq!(handed_on["via"][0]["column"], "email");
    // The inherited tag's evidence is its detection's.
    assert_eq!(handed_on["evidence"], detected["evidence"]);
    let e = &detected["evidence"];
    assert_eq!(e["digest"], customers["digest"]);
    assert_eq!(e["sampling"], "all 40 rows");
    assert_eq!(e["non_null"], 40);
    assert_eq!(e["basis"], "values");
    assert!(
        r["rule_packs"]
            .as_array()
            .unwrap()
            .contains(&e["rule_pack"])
    );
    // The record named is the ledger's scan of that version.
    let record = ledger
        .iter()
        .find(|x| x["hash"] == e["record"])
        .expect("the evidence names a ledger record");
    assert_eq!(record["kind"], "scan");
    assert_eq!(record["scan"]["artifact"], "data/customers.csv");
    assert_eq!(record["scan"]["digest"], customers["digest"]);
    let scanned = record["scan"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "email")
        .unwrap()["tags"][0]["evidence"]
        .clone();
    assert_eq!(e["matched"], scanned["matched"]);
    assert!(e["matched"].as_u64().unwrap() >= 36, "{e}");
}

/// `export fides`: one manifest per declared or detected dataset, each field with the
/// categories declared and detected in it, and no raw value.
#[test]
fn export_fides_writes_a_manifest_per_dataset_with_its_fields_categories() {
    let p = demo();
    let out = in_shop(&p, &["export", "fides", "--out", "fides"])
        .expect(0)
        .stdout();
    assert_eq!(
        out.lines().filter(|l| l.starts_with("wrote ")).count(),
        3,
        "{out}"
    );
    let tickets = p.read("fides/example-shop_data_tickets_csv.yml");
    for needle in [
        "- fides_key: \"example-shop_data_tickets_csv\"",
        "  name: \"data/tickets.csv\"",
        "  description: \"Customer service (legal basis: contract)\"",
        "  - name: \"tickets\"",
        "    - name: \"message\"\n      data_categories:\n      - \"user.contact.email\"\n      - \"user.health_and_medical\"",
    ] {
        assert!(tickets.contains(needle), "{needle}:\n{tickets}");
    }
    let customers = p.read("fides/example-shop_data_customers_csv.yml");
    assert!(
        customers.contains(
            "    - name: \"iban\"\n      data_categories:\n      - \"user.financial.bank_account\""
        ),
        "{customers}"
    );
    assert!(!customers.contains("@example"), "no raw values");
}

/// `init --from-fides` seeds the record of processing from fideslang manifests: the demo's own
/// export round-trips into declarations the gate accepts; a database manifest without a legal
/// basis gives a commented entry to complete; a manifest that is not YAML is refused, nothing
/// written.
#[test]
fn init_from_fides_seeds_the_record_of_processing() {
    let p = demo();
    in_shop(&p, &["export", "fides", "--out", "fides"]).expect(0);
    let manifests = [
        "fides/example-shop_data_customers_csv.yml",
        "fides/example-shop_data_tickets_csv.yml",
    ];
    let mut args = vec!["--project", "seeded", "init", "--from-fides"];
    args.extend(manifests);
    std::fs::create_dir_all(p.path("seeded/data")).unwrap();
    p.run(&args).expect(0);
    let toml = p.read("seeded/piitrail.toml");
    assert!(toml.contains("[[dataset]]\npath = \"data/customers.csv\"\npurpose = \"Order fulfilment, invoicing and customer service\"\nlegal_basis = \"contract\""), "{toml}");
    assert!(
        toml.contains("columns.iban = [\"user.financial.bank_account\"]"),
        "{toml}"
    );
    for file in ["customers.csv", "tickets.csv"] {
        std::fs::copy(
            p.path(&format!("shop/data/{file}")),
            p.path(&format!("seeded/data/{file}")),
        )
        .unwrap();
    }
    // Every personal column is declared by the seeded record; the health data in the tickets
    // still lacks its Art. 9(2) condition, which Fides does not hold.
    let gate = p
        .run(&[
            "--project",
            "seeded",
            "gate",
            "seeded/data",
            "--format",
            "json",
        ])
        .expect(1)
        .stdout();
    let gate: serde_json::Value = serde_json::from_str(&gate).unwrap();
    let rules: Vec<&str> = gate["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["special-category-without-condition"], "{gate}");

    p.write(
        "db.yml",
        "dataset:\n  - fides_key: postgres_example\n    name: Postgres Example\n    collections:\n      - name: customer\n        fields:\n          - name: email\n            data_categories: [user.contact.email]\n          - name: address\n            fields:\n              - name: city\n                data_categories: [user.contact.address.city]\n          - name: id\n            data_categories: [system.operations]\n",
    );
    std::fs::create_dir_all(p.path("db")).unwrap();
    std::fs::create_dir_all(p.path("bad")).unwrap();
    p.run(&["--project", "db", "init", "--from-fides", "db.yml"])
        .expect(0);
    let toml = p.read("db/piitrail.toml");
    for needle in [
        "# Fides records no legal basis for a dataset: set legal_basis, then uncomment.",
        "# path = \"customer\"",
        "# columns.\"address.city\" = [\"user.contact.address.city\"]",
        "left out: system.operations.",
    ] {
        assert!(toml.contains(needle), "{needle}:\n{toml}");
    }
    // What was written loads (an audit of the empty project reads it).
    p.run(&["--project", "db", "audit", "--out", "db/report"])
        .expect(0);

    p.write("bad.yml", "dataset: [ {fides_key: x, collections: [ ]\n");
    let err = p
        .run(&["--project", "bad", "init", "--from-fides", "bad.yml"])
        .expect(2)
        .stderr();
    assert!(err.contains("bad.yml"), "{err}");
    assert!(!p.path("bad/piitrail.toml").exists(), "nothing written");
}
