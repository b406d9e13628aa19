//! Keys, DSSE envelopes and in-toto Statements.
//!
//! - Keys are ed25519: the private key as PKCS#8 PEM (mode 0600, never printed), the public
//!   key as SPKI PEM. The keyid is the sha256 (hex) of the canonical JSON
//!   `{"keytype":"ed25519","keyval":{"public":"<64 hex>"},"scheme":"ed25519"}`, as
//!   securesystemslib and in-toto compute it.
//! - An envelope is DSSE: `payloadType`, the payload in standard base64, and signatures that
//!   are pure Ed25519 over the PAE bytes `DSSEv1 <len(type)> <type> <len(body)> <body>`.
//! - The payload is an in-toto Statement v1 whose subjects are the reported artifacts.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://piitrail.dev/audit-report/v1";
pub const ERASURE_PREDICATE_TYPE: &str = "https://piitrail.dev/erasure-certificate/v1";
pub const PRIVATE_KEY_FILE: &str = "piitrail.key";
pub const PUBLIC_KEY_FILE: &str = "piitrail.pub";

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("{0} already exists; piitrail never overwrites a key (move it away first)")]
    Exists(PathBuf),
    #[error("{path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Envelope { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot draw random bytes for a key: {0}")]
    Random(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SignError + '_ {
    move |source| SignError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What `keygen` made.
#[derive(Debug, Clone)]
pub struct KeyPair {
    pub private_path: PathBuf,
    pub public_path: PathBuf,
    pub public_hex: String,
    pub keyid: String,
}

/// The keyid of a public key (securesystemslib's: sha256 of its canonical key JSON).
pub fn keyid(public: &VerifyingKey) -> String {
    let key = serde_json::json!({
        "keytype": "ed25519",
        "keyval": {"public": hex::encode(public.as_bytes())},
        "scheme": "ed25519",
    });
    hex::encode(Sha256::digest(crate::ledger::canonical_json(&key)))
}

/// Makes a key pair in `dir`: `piitrail.key` (PKCS#8 PEM, mode 0600) and `piitrail.pub`
/// (SPKI PEM). Refuses to overwrite either.
pub fn keygen(dir: &Path) -> Result<KeyPair, SignError> {
    let private_path = dir.join(PRIVATE_KEY_FILE);
    let public_path = dir.join(PUBLIC_KEY_FILE);
    for p in [&private_path, &public_path] {
        if p.exists() {
            return Err(SignError::Exists(p.clone()));
        }
    }
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut()).map_err(|e| SignError::Random(e.to_string()))?;
    let signing = SigningKey::from_bytes(&seed);
    let private_pem = signing
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| SignError::Key {
            path: private_path.clone(),
            message: format!("cannot encode the key: {e}"),
        })?;
    let public = signing.verifying_key();
    let public_pem = public
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| SignError::Key {
            path: public_path.clone(),
            message: format!("cannot encode the key: {e}"),
        })?;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    // The temporary file is created 0600 and keeps its mode when renamed into place; the
    // rename does not replace a file that appeared meanwhile.
    write_new(&private_path, private_pem.as_bytes(), 0o600)?;
    write_new(&public_path, public_pem.as_bytes(), 0o644)?;
    Ok(KeyPair {
        private_path,
        public_path,
        public_hex: hex::encode(public.as_bytes()),
        keyid: keyid(&public),
    })
}

/// Writes a new file atomically with `mode`, failing if it exists.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), SignError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
            .map_err(io(path))?;
    }
    tmp.write_all(bytes).map_err(io(path))?;
    tmp.as_file().sync_all().map_err(io(path))?;
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            SignError::Exists(path.to_path_buf())
        } else {
            SignError::Io {
                path: path.to_path_buf(),
                source: e.error,
            }
        }
    })?;
    Ok(())
}

/// Reads a private key (PKCS#8 PEM). A key readable by others is refused, as ssh does.
pub fn load_signing_key(path: &Path) -> Result<SigningKey, SignError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(io(path))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(SignError::Key {
                path: path.to_path_buf(),
                message: format!(
                    "the private key is readable by others (mode {:o}); run `chmod 600 {}`",
                    mode & 0o777,
                    path.display()
                ),
            });
        }
    }
    let pem = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(io(path))?);
    SigningKey::from_pkcs8_pem(&pem).map_err(|_| SignError::Key {
        path: path.to_path_buf(),
        // The parser's message could quote the file; say only what was expected.
        message: "not an ed25519 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)".into(),
    })
}

/// Reads a public key (SPKI PEM).
pub fn load_public_key(path: &Path) -> Result<VerifyingKey, SignError> {
    let pem = std::fs::read_to_string(path).map_err(io(path))?;
    VerifyingKey::from_public_key_pem(&pem).map_err(|e| SignError::Key {
        path: path.to_path_buf(),
        message: format!("not an ed25519 public key in SPKI PEM (-----BEGIN PUBLIC KEY-----): {e}"),
    })
}

/// DSSE's pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    pub keyid: String,
    pub sig: String,
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub payload: String,
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub signatures: Vec<Signature>,
}

/// Signs `payload` (an in-toto Statement) into an envelope.
pub fn sign(payload: &[u8], key: &SigningKey) -> Envelope {
    let sig = key.sign(&pae(PAYLOAD_TYPE, payload));
    Envelope {
        payload: STANDARD.encode(payload),
        payload_type: PAYLOAD_TYPE.into(),
        signatures: vec![Signature {
            keyid: keyid(&key.verifying_key()),
            sig: STANDARD.encode(sig.to_bytes()),
        }],
    }
}

/// Checks an envelope against a public key: a signature with that key's keyid must verify
/// over the PAE bytes. Gives the payload, or the reason it fails.
/// Why a signed envelope does not hold: what `verify` prints after `FAILED:` (exit 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unverified {
    #[error("payloadType is '{0}', not '{PAYLOAD_TYPE}'")]
    PayloadType(String),
    #[error("payload is not standard base64: {0}")]
    PayloadEncoding(String),
    #[error("no signature by this key (keyid {keyid}); the envelope is signed by {signed_by}")]
    NotSignedBy { keyid: String, signed_by: String },
    #[error("signature is not standard base64: {0}")]
    SignatureEncoding(String),
    #[error("signature is not 64 bytes of ed25519")]
    SignatureLength,
    #[error(
        "the signature does not match the payload: it was changed after signing, or signed by another key"
    )]
    Mismatch,
    #[error("the signed payload is not JSON: {0}")]
    PayloadNotJson(String),
    #[error(
        "the payload is not a piitrail audit Statement (_type {kind}, predicateType {predicate})"
    )]
    NotAStatement { kind: String, predicate: String },
    #[error("subject {name} has no valid {digest} digest (64 lower-case hex digits)")]
    SubjectDigest { name: String, digest: &'static str },
}

pub fn verify(env: &Envelope, public: &VerifyingKey) -> Result<Vec<u8>, Unverified> {
    if env.payload_type != PAYLOAD_TYPE {
        return Err(Unverified::PayloadType(env.payload_type.clone()));
    }
    let payload = STANDARD
        .decode(&env.payload)
        .map_err(|e| Unverified::PayloadEncoding(e.to_string()))?;
    let id = keyid(public);
    let Some(s) = env.signatures.iter().find(|s| s.keyid == id) else {
        return Err(Unverified::NotSignedBy {
            keyid: id,
            signed_by: env
                .signatures
                .iter()
                .map(|s| s.keyid.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let sig = STANDARD
        .decode(&s.sig)
        .map_err(|e| Unverified::SignatureEncoding(e.to_string()))?;
    let sig =
        ed25519_dalek::Signature::from_slice(&sig).map_err(|_| Unverified::SignatureLength)?;
    public
        .verify(&pae(&env.payload_type, &payload), &sig)
        .map_err(|_| Unverified::Mismatch)?;
    Ok(payload)
}

/// How an artifact on disk compares with its digest in a signed report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Matches,
    /// The file's sha256 now.
    Changed(String),
    Missing,
    /// Named outside the project's data roots: not opened, so not re-hashed.
    External,
}

/// A signed audit report that checked out.
#[derive(Debug, Clone)]
pub struct Checked {
    pub keyid: String,
    /// The report's time.
    pub time: String,
    /// `report` (an audit report) or `erasure certificate`.
    pub what: &'static str,
    /// Each subject: name, signed sha256 (hex), and, when artifacts were checked, its state.
    pub subjects: Vec<(String, String, Option<Subject>)>,
    /// The place in the ledger it vouches for (`ledger.head` and `ledger.records`), when it
    /// names one.
    pub pin: Option<crate::ledger::Pin>,
    /// The rule packs its tags come from (`rule_packs` of a report).
    pub rule_packs: Vec<String>,
}

impl Checked {
    /// Subjects that changed or are missing.
    pub fn failures(&self) -> usize {
        self.subjects
            .iter()
            .filter(|(_, _, s)| matches!(s, Some(Subject::Changed(_) | Subject::Missing)))
            .count()
    }
}

/// Checks a signed audit report: a valid signature by `public` over a piitrail audit
/// Statement, and, with `root`, every subject re-hashed under it. `Err` is the reason the
/// envelope itself fails.
pub fn check_report(
    env: &Envelope,
    public: &VerifyingKey,
    artifacts: Option<(&Path, &crate::source::DataRoots)>,
) -> Result<Checked, Unverified> {
    let payload = verify(env, public)?;
    let statement: serde_json::Value =
        serde_json::from_slice(&payload).map_err(|e| Unverified::PayloadNotJson(e.to_string()))?;
    if statement["_type"] != STATEMENT_TYPE
        || (statement["predicateType"] != PREDICATE_TYPE
            && statement["predicateType"] != ERASURE_PREDICATE_TYPE)
    {
        return Err(Unverified::NotAStatement {
            kind: statement["_type"].to_string(),
            predicate: statement["predicateType"].to_string(),
        });
    }
    let mut subjects = Vec::new();
    for s in statement["subject"].as_array().into_iter().flatten() {
        let name = s["name"].as_str().unwrap_or("").to_string();
        // A file's sha256, or a database table's version (its rows' digest).
        let (table, want) = match (
            s["digest"]["sha256"].as_str(),
            s["digest"][TABLE_DIGEST].as_str(),
        ) {
            (Some(hex), _) => (false, hex.to_string()),
            (None, Some(hex)) => (true, hex.to_string()),
            (None, None) => (false, String::new()),
        };
        // in-toto's digest is lower-case hex; anything else is not a report piitrail wrote
        // (and must not reach code that slices it).
        if want.len() != 64 || !want.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(Unverified::SubjectDigest {
                name: serde_json::Value::from(name.as_str()).to_string(),
                digest: if table { TABLE_DIGEST } else { "sha256" },
            });
        }
        let state = artifacts.map(|(root, roots)| {
            if table {
                return table_state(root, roots, &name, &want);
            }
            if !roots.contains_name(&name, root) {
                return Subject::External;
            }
            if crate::source::location::is_object(&name) {
                return object_state(root, roots, &name, &want);
            }
            let path = root.join(&name);
            match crate::source::digest_file(&path) {
                Err(_) if !path.is_file() => Subject::Missing,
                Err(e) => Subject::Changed(format!("unreadable: {e}")),
                Ok(got) if got.trim_start_matches("sha256:") == want => Subject::Matches,
                Ok(got) => Subject::Changed(got),
            }
        });
        subjects.push((name, want, state));
    }
    let pin = serde_json::from_value(statement["predicate"]["ledger"].clone()).ok();
    let rule_packs =
        serde_json::from_value(statement["predicate"]["rule_packs"].clone()).unwrap_or_default();
    Ok(Checked {
        pin,
        rule_packs,
        keyid: keyid(public),
        time: statement["predicate"]["time"]
            .as_str()
            .unwrap_or("?")
            .to_string(),
        what: if statement["predicateType"] == ERASURE_PREDICATE_TYPE {
            "erasure certificate"
        } else {
            "report"
        },
        subjects,
    })
}

/// A signed object's sha256 against the object now: fetched again whole (it is the proof).
fn object_state(root: &Path, roots: &crate::source::DataRoots, name: &str, want: &str) -> Subject {
    use crate::source::dataset::Dataset;
    #[cfg(not(feature = "objects"))]
    let _ = want;
    match Dataset::find_inside(root, roots, name) {
        #[cfg(feature = "objects")]
        Ok(Some(Dataset::Object(o))) => {
            let got = o.copy.digest.clone();
            Dataset::let_go(name);
            if got.trim_start_matches("sha256:") == want {
                Subject::Matches
            } else {
                Subject::Changed(got)
            }
        }
        Ok(_) => Subject::Missing,
        Err(e) => Subject::Changed(format!("unreadable: {e}")),
    }
}

/// The in-toto digest name of a database table's version: the sha256 of its rows
/// ([`crate::source::db`]), which is no file's sha256 and is never signed as one.
pub const TABLE_DIGEST: &str = "piitrail-rows-sha256";

/// A signed table's version against the table now: read again whole (it is the proof).
fn table_state(root: &Path, roots: &crate::source::DataRoots, name: &str, want: &str) -> Subject {
    use crate::source::dataset::Dataset;
    if crate::source::db::is_table(name)
        && !name.starts_with("sqlite:")
        && !roots.contains_name(name, root)
    {
        return Subject::External;
    }
    match Dataset::find_inside(root, roots, name) {
        Ok(Some(Dataset::Table { db, table })) => match db.version(&table) {
            Ok(now) if now.strip_prefix(crate::source::db::ROWS_VERSION) == Some(want) => {
                Subject::Matches
            }
            Ok(now) => Subject::Changed(now),
            Err(e) => Subject::Changed(format!("unreadable: {e}")),
        },
        Ok(Some(_)) => Subject::Missing,
        Ok(None) => match Dataset::find(root, name) {
            // Found, but outside the data roots.
            Ok(Some(_)) => Subject::External,
            _ => Subject::Missing,
        },
        Err(e) => Subject::Changed(format!("unreadable: {e}")),
    }
}

/// The in-toto digest set of an artifact's digest: a file's `sha256:` (or bare hex), or a
/// table's `rows-sha256:` under [`TABLE_DIGEST`].
fn digest_set(digest: &str) -> serde_json::Value {
    match digest.strip_prefix(crate::source::db::ROWS_VERSION) {
        Some(hex) => serde_json::json!({ TABLE_DIGEST: hex }),
        None => serde_json::json!({"sha256": digest.trim_start_matches("sha256:")}),
    }
}

/// An in-toto Statement v1 of an audit report over `subjects` (name, sha256 hex, or a
/// table's `rows-sha256:` version).
pub fn statement<'a, P: Serialize + ?Sized>(
    subjects: &[(String, String)],
    predicate: &'a P,
) -> Statement<'a, P> {
    statement_of(PREDICATE_TYPE, subjects, predicate)
}

/// An in-toto Statement v1, written with its keys in the specification's order. The predicate
/// is serialised where it stands: a report of a million steps is not copied into a JSON value
/// first, and the bytes are those of that value.
#[derive(Serialize)]
pub struct Statement<'a, P: ?Sized> {
    #[serde(rename = "_type")]
    kind: &'static str,
    subject: Vec<serde_json::Value>,
    #[serde(rename = "predicateType")]
    predicate_type: &'a str,
    predicate: &'a P,
}

/// An in-toto Statement v1 with this predicate type.
pub fn statement_of<'a, P: Serialize + ?Sized>(
    predicate_type: &'a str,
    subjects: &[(String, String)],
    predicate: &'a P,
) -> Statement<'a, P> {
    Statement {
        kind: STATEMENT_TYPE,
        subject: subjects
            .iter()
            .map(|(name, digest)| serde_json::json!({"name": name, "digest": digest_set(digest)}))
            .collect(),
        predicate_type,
        predicate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // From the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn keygen_sign_verify_and_tamper() {
        let dir = tempfile::tempdir().unwrap();
        let kp = keygen(dir.path()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&kp.private_path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(
            std::fs::read_to_string(&kp.public_path)
                .unwrap()
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        assert!(matches!(keygen(dir.path()), Err(SignError::Exists(_))));
        let key = load_signing_key(&kp.private_path).unwrap();
        let public = load_public_key(&kp.public_path).unwrap();
        assert_eq!(keyid(&public), kp.keyid);
        let env = sign(b"{\"a\":1}", &key);
        assert_eq!(verify(&env, &public).unwrap(), b"{\"a\":1}");
        let mut bad = env.clone();
        bad.payload = STANDARD.encode(b"{\"a\":2}");
        assert_eq!(verify(&bad, &public), Err(Unverified::Mismatch));
        let other = SigningKey::from_bytes(&[7u8; 32]);
        assert!(matches!(
            verify(&env, &other.verifying_key()),
            Err(Unverified::NotSignedBy { .. })
        ));
        let mut kind = env.clone();
        kind.payload_type = "text/plain".into();
        assert_eq!(
            verify(&kind, &public).unwrap_err().to_string(),
            format!("payloadType is 'text/plain', not '{PAYLOAD_TYPE}'")
        );
    }
}
