//! The mutation fuzzer shared by `tests/fuzz.rs` (a fixed number of cases in the default suite)
//! and `benches/fuzz.rs` (as many as fit in a chosen time).
//!
//! Each case takes a seed input of one kind, mutates it (bit flips, byte runs replaced, cut,
//! repeated or spliced, tokens a parser treats specially inserted), and hands it to the real
//! parser in-process: the scanner for CSV, TSV, Parquet, NDJSON and Arrow IPC (sample and full
//! scans), the ledger's verification, `piitrail.toml`, a rule file, OpenLineage parse and record,
//! an MLMD store ingest, and a DSSE envelope's verification. A case passes when the parser
//! returns (no panic escapes), with a result or an input error (never an internal error), and
//! no message it produced (errors, warnings) holds a raw personal value of the seeds.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common::Rng;
use piitrail::ledger::Ledger;
use piitrail::rules::RuleSet;

/// The kinds of input fuzzed, in the order cases cycle through them.
pub const KINDS: [&str; 11] = [
    "csv",
    "tsv",
    "parquet",
    "ndjson",
    "arrow",
    "ledger",
    "piitrail.toml",
    "rules",
    "openlineage",
    "mlmd",
    "dsse",
];

/// Personal values in the seeds: none may appear whole in any message. Column names are held
/// to the identifiers (the first five): a header cell that is only a person's name (a header
/// cut and spliced into a data row by a mutation) cannot be told from a column name.
pub const PERSONAL: [&str; 6] = [
    "ann.lee@example.com",
    "bob.ray@example.org",
    "+49 170 5550101",
    "DE89370400440532013000",
    "4111111111111111",
    "Annelise Leclerc",
];

/// What one case came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Read (with or without findings).
    Ok,
    /// Refused as bad input, with a message.
    InputError,
}

/// A case that failed: what kind, what went wrong, and the input (for a reproduction file).
#[derive(Debug)]
pub struct Failure {
    pub kind: &'static str,
    pub case: u64,
    pub what: String,
    pub input: Vec<u8>,
}

/// Counts per kind.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub cases: BTreeMap<&'static str, (u64, u64)>,
    pub panics: u64,
    pub internal: u64,
    pub leaks: u64,
}

impl Tally {
    pub fn total(&self) -> u64 {
        self.cases.values().map(|(ok, err)| ok + err).sum()
    }

    pub fn table(&self) -> String {
        let mut out = String::from("kind            cases      ok   input-error\n");
        for (kind, (ok, err)) in &self.cases {
            out += &format!("{kind:<14} {:>6} {ok:>7} {err:>13}\n", ok + err);
        }
        out += &format!(
            "all            {:>6}   panics {}  internal errors {}  leaks {}\n",
            self.total(),
            self.panics,
            self.internal,
            self.leaks
        );
        out
    }
}

pub struct Harness {
    dir: tempfile::TempDir,
    rules: Arc<RuleSet>,
    seeds: BTreeMap<&'static str, Vec<u8>>,
    key: ed25519_dalek::SigningKey,
    public: ed25519_dalek::VerifyingKey,
    roots: piitrail::policy::DataRoots,
    pub tally: Tally,
}

const CSV: &str = "email,full_name,phone,iban,card,signup\n\
ann.lee@example.com,Annelise Leclerc,+49 170 5550101,DE89370400440532013000,4111111111111111,2024-03-07\n\
bob.ray@example.org,Bob Ray,+33 6 12 34 56 78,FR1420041010050500013M02606,5500005555555559,2023-11-21\n\
\"quoted, with comma\",\"Line\nbreak\",0170 5550102,,,\n";

fn ndjson() -> String {
    let mut out = String::new();
    for line in CSV.lines().skip(1).take(2) {
        let f: Vec<&str> = line.split(',').collect();
        out += &serde_json::json!({
            "email": f[0], "name": f[1], "phone": f[2], "iban": f[3], "card": f[4],
            "age": 41, "vip": true, "tags": ["a", "b"], "address": {"city": "Lyon"}
        })
        .to_string();
        out.push('\n');
    }
    out
}

fn batch() -> datafusion::arrow::array::RecordBatch {
    use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray};
    let col = |i: usize| -> ArrayRef {
        Arc::new(StringArray::from(
            CSV.lines()
                .skip(1)
                .take(2)
                .map(|l| l.split(',').nth(i).unwrap_or("").to_string())
                .collect::<Vec<_>>(),
        ))
    };
    datafusion::arrow::array::RecordBatch::try_from_iter([
        ("email", col(0)),
        ("full_name", col(1)),
        ("phone", col(2)),
        ("iban", col(3)),
        ("age", Arc::new(Int64Array::from(vec![41, 35])) as ArrayRef),
    ])
    .expect("a valid batch")
}

fn parquet() -> Vec<u8> {
    let b = batch();
    let mut out = Vec::new();
    let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(&mut out, b.schema(), None)
        .expect("a parquet writer");
    w.write(&b).expect("written");
    w.close().expect("closed");
    out
}

fn arrow_ipc() -> Vec<u8> {
    let b = batch();
    let mut out = Vec::new();
    let mut w = datafusion::arrow::ipc::writer::FileWriter::try_new(&mut out, &b.schema())
        .expect("an IPC writer");
    w.write(&b).expect("written");
    w.finish().expect("finished");
    drop(w);
    out
}

fn mlmd_store(path: &Path) -> Vec<u8> {
    let db = rusqlite::Connection::open(path).expect("a store");
    let schema = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mlmd-schema.sql"),
    )
    .expect("the MLMD schema");
    db.execute_batch(&schema.replace("CREATE TABLE sqlite_sequence(name,seq);", ""))
        .expect("the schema");
    db.execute_batch(
        "INSERT INTO MLMDEnv VALUES (10);
         INSERT INTO Type (name, type_kind) VALUES ('Examples', 1), ('Trainer', 0), ('pipeline', 2);
         INSERT INTO Artifact (type_id, uri, state) VALUES (1, 'data/people.csv', 2), (1, 'models/m', 2);
         INSERT INTO Execution (type_id, last_known_state) VALUES (2, 3);
         INSERT INTO ExecutionProperty (execution_id, name, is_custom_property, string_value)
           VALUES (1, 'owner', 1, 'ann.lee@example.com');
         INSERT INTO Context (type_id, name) VALUES (3, 'shop');
         INSERT INTO Association (context_id, execution_id) VALUES (1, 1);
         INSERT INTO Event (artifact_id, execution_id, type) VALUES (1, 1, 3), (2, 1, 4);",
    )
    .expect("the pipeline");
    drop(db);
    std::fs::read(path).expect("the store")
}

impl Harness {
    pub fn new() -> Harness {
        piitrail::boundary::install_hook();
        let dir = tempfile::tempdir().expect("a temporary folder");
        let root = dir.path();
        std::fs::create_dir_all(root.join(".piitrail")).unwrap();
        std::fs::write(root.join(".piitrail/ledger.jsonl"), "").unwrap();
        std::fs::write(root.join("piitrail.toml"), piitrail::cli::init::TEMPLATE).unwrap();
        std::fs::create_dir_all(root.join("data")).unwrap();
        std::fs::write(root.join("data/people.csv"), CSV).unwrap();
        let rules = Arc::new(piitrail::rules::builtin().expect("the built-in rules"));
        let roots = piitrail::policy::DataRoots::new(root, &[]);
        let mut seeds = BTreeMap::new();
        seeds.insert("csv", CSV.as_bytes().to_vec());
        seeds.insert("tsv", CSV.replace(',', "\t").into_bytes());
        seeds.insert("parquet", parquet());
        seeds.insert("ndjson", ndjson().into_bytes());
        seeds.insert("arrow", arrow_ipc());
        // A real ledger: the seed CSV's scan and an imported run.
        let ledger = Ledger::open(root).unwrap();
        let scans = piitrail::scan::scan(&scan_request(
            &rules,
            root,
            root.join("data/people.csv"),
            false,
        ))
        .expect("the seed scans");
        piitrail::scan::record_scans(&ledger, &scans).expect("recorded");
        let events = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/openlineage-events/airflow.jsonl"),
        )
        .expect("the Airflow events");
        let parsed = piitrail::lineage::openlineage::ingest::parse(&events, "seed", false).unwrap();
        piitrail::lineage::openlineage::ingest::record(&ledger, &parsed, root, &roots, &rules)
            .unwrap();
        seeds.insert("ledger", std::fs::read(&ledger.path).unwrap());
        std::fs::write(&ledger.path, "").unwrap();
        let mut config = piitrail::cli::init::TEMPLATE.to_string();
        config += "\n[[dataset]]\npath = \"data/*.csv\"\npurpose = \"billing\"\nlegal_basis = \"contract\"\ncategories = [\"user.contact.email\"]\n";
        seeds.insert("piitrail.toml", config.into_bytes());
        seeds.insert(
            "rules",
            std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/contact.toml"))
                .unwrap(),
        );
        // Events naming the seed file, with a tags facet and a column lineage facet.
        let mut event: serde_json::Value =
            serde_json::from_str(events.lines().nth(1).unwrap()).unwrap();
        event["inputs"] = serde_json::json!([{"namespace": "file", "name": root.join("data/people.csv"),
            "facets": {"schema": {"fields": [{"name": "email", "type": "text"}]},
                       "tags": {"tags": [{"key": "pii", "value": "user.contact.email", "field": "email"}]}}}]);
        seeds.insert("openlineage", format!("{events}\n{event}\n").into_bytes());
        seeds.insert("mlmd", mlmd_store(&root.join("seed.sqlite")));
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let public = key.verifying_key();
        let digest = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(CSV.as_bytes()))
        };
        let predicate =
            serde_json::json!({"time": "2026-12-01T00:00:00Z", "summary": {"errors": 0}});
        let statement =
            piitrail::sign::statement(&[("data/people.csv".to_string(), digest)], &predicate);
        let statement = serde_json::to_vec(&statement).unwrap();
        let env = piitrail::sign::sign(&statement, &key);
        seeds.insert("dsse", serde_json::to_vec(&env).unwrap());
        seeds.insert("statement", statement);
        Harness {
            dir,
            rules,
            seeds,
            key,
            public,
            roots,
            tally: Tally::default(),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Runs case number `case` of kind `kind` with the mutations `rng` draws.
    pub fn case(&mut self, kind: &'static str, case: u64, rng: &mut Rng) -> Result<(), Failure> {
        let input = if kind == "dsse" && rng.chance(0.5) {
            // A validly signed envelope over a mutated Statement: past the signature check.
            let statement = mutate(&self.seeds["statement"], rng);
            serde_json::to_vec(&piitrail::sign::sign(&statement, &self.key)).expect("JSON")
        } else {
            mutate(&self.seeds[kind], rng)
        };
        let full = rng.chance(0.15);
        let outcome = piitrail::boundary::catch(|| self.feed(kind, &input, full));
        let fail = |what: String, input: Vec<u8>| Failure {
            kind,
            case,
            what,
            input,
        };
        let (verdict, messages) = match outcome {
            Err(panic) => {
                self.tally.panics += 1;
                return Err(fail(format!("panicked: {panic}"), input));
            }
            Ok(Err(internal)) => {
                self.tally.internal += 1;
                return Err(fail(format!("internal error: {internal}"), input));
            }
            Ok(Ok(v)) => v,
        };
        let entry = self.tally.cases.entry(kind).or_default();
        match verdict {
            Verdict::Ok => entry.0 += 1,
            Verdict::InputError => entry.1 += 1,
        }
        for (m, is_name) in &messages {
            let values = if *is_name {
                &PERSONAL[..5]
            } else {
                &PERSONAL[..]
            };
            if let Some(v) = values.iter().find(|v| m.contains(*v)) {
                self.tally.leaks += 1;
                return Err(fail(format!("the message shows {v:?}: {m}"), input));
            }
        }
        Ok(())
    }

    /// Hands `input` to the parser of `kind`: what it came to and the messages it produced
    /// (each with whether it is a column name). `Err` is an internal error (a piitrail bug).
    fn feed(
        &self,
        kind: &str,
        input: &[u8],
        full: bool,
    ) -> Result<(Verdict, Vec<(String, bool)>), String> {
        self.parse(kind, input, full).map(|(verdict, messages)| {
            let messages = messages
                .into_iter()
                .map(|m| match m.strip_prefix(NAME) {
                    Some(name) => (name.to_string(), true),
                    None => (m, false),
                })
                .collect();
            (verdict, messages)
        })
    }

    fn parse(
        &self,
        kind: &str,
        input: &[u8],
        full: bool,
    ) -> Result<(Verdict, Vec<String>), String> {
        let root = self.dir.path();
        let write = |rel: &str| -> PathBuf {
            let p = root.join(rel);
            std::fs::write(&p, input).expect("a case file");
            p
        };
        let input_error = |message: String| Ok((Verdict::InputError, vec![message]));
        match kind {
            "csv" | "tsv" | "parquet" | "ndjson" | "arrow" => {
                let ext = match kind {
                    "ndjson" => "jsonl",
                    k => k,
                };
                let path = write(&format!("case.{ext}"));
                let req = scan_request(&self.rules, root, path, full);
                match piitrail::scan::scan(&req) {
                    Ok(scans) => {
                        let mut messages: Vec<String> =
                            scans.iter().flat_map(|s| s.warnings.clone()).collect();
                        // Column names reach the ledger and reports.
                        messages.extend(
                            scans.iter().flat_map(|s| {
                                s.columns.iter().map(|c| format!("{NAME}{}", c.name))
                            }),
                        );
                        Ok((Verdict::Ok, messages))
                    }
                    Err(e) if e.is_input() => input_error(e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            }
            "ledger" => {
                let ledger = Ledger::open(root).map_err(|e| e.to_string())?;
                std::fs::write(&ledger.path, input).expect("the case ledger");
                let verified = ledger.verify();
                let loaded = ledger.load();
                std::fs::write(&ledger.path, "").expect("an empty ledger");
                match (verified, loaded) {
                    (Ok(v), Ok(_)) => Ok((Verdict::Ok, vec![format!("{v:?}")])),
                    (Err(e), _) | (_, Err(e)) if e.is_input() => input_error(e.to_string()),
                    (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
                }
            }
            "piitrail.toml" => {
                let text = String::from_utf8_lossy(input);
                match piitrail::policy::Config::parse(
                    &root.join("piitrail.toml"),
                    &text,
                    &self.rules,
                ) {
                    Ok(_) => Ok((Verdict::Ok, vec![])),
                    Err(e) => input_error(e.to_string()),
                }
            }
            "rules" => {
                let dir = root.join("case-rules");
                std::fs::create_dir_all(&dir).expect("a rules folder");
                std::fs::write(dir.join("case.toml"), input).expect("a rule file");
                match piitrail::rules::load(&piitrail::rules::Sources {
                    builtin: false,
                    extra: vec![dir],
                }) {
                    Ok(_) => Ok((Verdict::Ok, vec![])),
                    // Rule files are the author's, not personal data: not checked for leaks.
                    Err(_) => Ok((Verdict::InputError, vec![])),
                }
            }
            "openlineage" => {
                use piitrail::lineage::openlineage::ingest;
                let text = String::from_utf8_lossy(input);
                let events = match ingest::parse(&text, "case.jsonl", false) {
                    Ok(events) => events,
                    Err(e) => return input_error(e.to_string()),
                };
                recorded(root, |ledger| {
                    ingest::record(ledger, &events, root, &self.roots, &self.rules)
                        .map(|s| s.warnings)
                })
            }
            "mlmd" => {
                let store = write("case.sqlite");
                recorded(root, |ledger| {
                    piitrail::lineage::mlmd::ingest(
                        ledger,
                        &store,
                        root,
                        &self.roots,
                        &self.rules,
                        false,
                    )
                    .map(|s| s.warnings)
                })
            }
            "dsse" => {
                let env: piitrail::sign::Envelope = match serde_json::from_slice(input) {
                    Ok(env) => env,
                    Err(e) => return input_error(e.to_string()),
                };
                match piitrail::sign::check_report(&env, &self.public, Some((root, &self.roots))) {
                    Ok(checked) => Ok((Verdict::Ok, vec![format!("{checked:?}")])),
                    Err(e) => input_error(e.to_string()),
                }
            }
            other => Err(format!("no such kind {other}")),
        }
    }
}

/// Records into the project's (empty) ledger with `record`, then empties it again: the
/// verdict, and the warnings with what was written (both checked for leaks).
fn recorded(
    root: &Path,
    record: impl FnOnce(&Ledger) -> Result<Vec<String>, piitrail::lineage::LineageError>,
) -> Result<(Verdict, Vec<String>), String> {
    let ledger = Ledger::open(root).map_err(|e| e.to_string())?;
    let outcome = record(&ledger);
    let written = std::fs::read_to_string(&ledger.path).unwrap_or_default();
    std::fs::write(&ledger.path, "").expect("an empty ledger");
    match outcome {
        Ok(mut messages) => {
            messages.push(written);
            Ok((Verdict::Ok, messages))
        }
        Err(e) if e.is_input() => Ok((Verdict::InputError, vec![e.to_string()])),
        Err(e) => Err(e.to_string()),
    }
}

fn scan_request(
    rules: &Arc<RuleSet>,
    root: &Path,
    path: PathBuf,
    full: bool,
) -> piitrail::scan::Request {
    piitrail::scan::Request {
        paths: vec![path],
        mode: if full {
            piitrail::scan::Mode::Full
        } else {
            piitrail::scan::Mode::Sample(1000)
        },
        rules: Arc::clone(rules),
        root: root.to_path_buf(),
        show_examples: true,
        digest: true,
        tables: Vec::new(),
        progress: Default::default(),
    }
}

/// Marks a message that is a column name.
const NAME: &str = "\u{0}name:";

/// Tokens that parsers treat specially.
const TOKENS: &[&[u8]] = &[
    b",",
    b"\t",
    b"\"",
    b"\n",
    b"\r\n",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b"\\",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"-1",
    b"0",
    b"99999999999999999999",
    b"NaN",
    b"null",
    b"true",
    b"=",
    b"'''",
    b"[[rule]]",
    b"\"\"\"",
    b"@",
    b"PAR1",
    b"ARROW1",
    b"\xc3\x28",
    b"1e999",
    b"\"runId\"",
    b"\"facets\"",
    b"..",
    b"/etc/passwd",
];

/// One to four mutations of `seed`.
pub fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..rng.range(1, 4) {
        let len = out.len() as u64;
        let at = if len == 0 { 0 } else { rng.below(len) as usize };
        match rng.below(8) {
            // Flip a bit.
            0 if !out.is_empty() => out[at] ^= 1 << rng.below(8),
            // Replace a byte with an interesting one.
            1 if !out.is_empty() => {
                out[at] = *rng.pick(&[0u8, 0xff, b'"', b',', b'\n', b'0', 0x7f, 0x80])
            }
            // Insert a token.
            2 => {
                let t = rng.pick(TOKENS);
                out.splice(at..at, t.iter().copied());
            }
            // Delete a run.
            3 if !out.is_empty() => {
                let n = rng.range(1, 64.min(len - at as u64)) as usize;
                out.drain(at..at + n);
            }
            // Cut the end.
            4 => out.truncate(at),
            // Repeat a run.
            5 if !out.is_empty() => {
                let n = rng.range(1, 256.min(len - at as u64)) as usize;
                let run: Vec<u8> = out[at..at + n].to_vec();
                out.splice(at..at, run);
            }
            // Overwrite a run with random bytes.
            6 if !out.is_empty() => {
                let n = rng.range(1, 16.min(len - at as u64)) as usize;
                for b in &mut out[at..at + n] {
                    *b = rng.below(256) as u8;
                }
            }
            // Splice in a piece of the seed from elsewhere.
            _ if !seed.is_empty() => {
                let from = rng.below(seed.len() as u64) as usize;
                let n = rng.range(1, 128.min((seed.len() - from) as u64)) as usize;
                out.splice(at..at, seed[from..from + n].iter().copied());
            }
            _ => {}
        }
    }
    out
}

/// Saves a failure's input under `target/fuzz-failures/` and says where.
pub fn keep(f: &Failure) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{}-{}.bin", f.kind.replace('.', "_"), f.case));
    let _ = std::fs::write(&path, &f.input);
    format!(
        "{} case {}: {} (input kept in {})",
        f.kind,
        f.case,
        f.what,
        path.display()
    )
}
