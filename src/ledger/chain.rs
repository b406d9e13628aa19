//! The hash chain: computing record hashes, appending under an exclusive lock, verifying.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::LedgerError;
use super::canonical;
use super::record::{Body, Record};

/// `prev` of the first record.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// sha256 over the canonical JSON of a record without its `hash` field.
pub fn record_hash(record: &Value) -> String {
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(canonical::to_vec_without(record, "hash")))
    )
}

/// The ledger file of a project.
#[derive(Debug, Clone)]
pub struct Ledger {
    pub path: PathBuf,
}

/// What verification found.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    /// Records read before the first problem (all of them when intact).
    pub records: u64,
    /// Hash of the last good record.
    pub head: String,
    /// The first problem: line number and what is wrong.
    pub problem: Option<(u64, String)>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> LedgerError + '_ {
    move |source| LedgerError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Ledger {
    /// The ledger of the project at `root`; an error if `piitrail init` has not made it.
    pub fn open(root: &Path) -> Result<Ledger, LedgerError> {
        let path = root.join(".piitrail").join("ledger.jsonl");
        if !path.is_file() {
            return Err(LedgerError::NotInitialised(root.to_path_buf()));
        }
        Ok(Ledger { path })
    }

    /// Appends records under an exclusive lock: the chain continues from the last line on
    /// disk, so concurrent writers never interleave or fork it. `make` sees the records
    /// already in the ledger (read under the lock) and returns the bodies to append.
    pub fn append_with(
        &self,
        make: impl FnOnce(&[Record]) -> Result<Vec<Body>, LedgerError>,
    ) -> Result<Vec<Record>, LedgerError> {
        let mut file = self.open_locked()?;
        // The same checks as `append` (no torn line, the last record's hash holds) first.
        self.last_record(&mut file)?;
        let existing = self.read_all(&mut file)?;
        let bodies = make(&existing)?;
        self.write_locked(&mut file, existing.last(), bodies)
    }

    /// Appends records without reading the whole ledger (only its last line).
    pub fn append(&self, bodies: Vec<Body>) -> Result<Vec<Record>, LedgerError> {
        let mut file = self.open_locked()?;
        let last = self.last_record(&mut file)?;
        self.write_locked(&mut file, last.as_ref(), bodies)
    }

    /// Opens the ledger for appending and takes the exclusive lock (released when the file
    /// is dropped).
    fn open_locked(&self) -> Result<File, LedgerError> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(io(&self.path))?;
        file.lock().map_err(io(&self.path))?;
        Ok(file)
    }

    fn write_locked(
        &self,
        file: &mut File,
        last: Option<&Record>,
        bodies: Vec<Body>,
    ) -> Result<Vec<Record>, LedgerError> {
        let (mut seq, mut prev) = match last {
            Some(r) => (r.seq, r.hash.clone()),
            None => (0, GENESIS.to_string()),
        };
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut out = Vec::new();
        let mut records = Vec::with_capacity(bodies.len());
        for body in bodies {
            seq += 1;
            let mut record = Record {
                seq,
                time: time.clone(),
                body,
                prev: prev.clone(),
                hash: String::new(),
            };
            let value =
                serde_json::to_value(&record).map_err(|e| LedgerError::Internal(e.to_string()))?;
            record.hash = record_hash(&value);
            prev = record.hash.clone();
            serde_json::to_writer(&mut out, &record)
                .map_err(|e| LedgerError::Internal(e.to_string()))?;
            out.push(b'\n');
            records.push(record);
        }
        // One write of whole lines, then fsync, all under the lock.
        file.write_all(&out).map_err(io(&self.path))?;
        file.sync_data().map_err(io(&self.path))?;
        Ok(records)
    }

    /// The last complete record, checking that the file does not end in a torn line and that
    /// the last record's own hash holds (appending to a tampered record would bless it).
    fn last_record(&self, file: &mut File) -> Result<Option<Record>, LedgerError> {
        let len = file.seek(SeekFrom::End(0)).map_err(io(&self.path))?;
        if len == 0 {
            return Ok(None);
        }
        let mut window = 64 * 1024u64;
        loop {
            let start = len.saturating_sub(window);
            file.seek(SeekFrom::Start(start)).map_err(io(&self.path))?;
            let mut buf = Vec::with_capacity((len - start) as usize);
            Read::by_ref(file)
                .take(len - start)
                .read_to_end(&mut buf)
                .map_err(io(&self.path))?;
            if buf.last() != Some(&b'\n') {
                return Err(self.torn()?);
            }
            let body = &buf[..buf.len() - 1];
            match memchr::memrchr(b'\n', body) {
                Some(i) => return self.parse_checked(&body[i + 1..], None).map(Some),
                None if start == 0 => return self.parse_checked(body, Some(1)).map(Some),
                None => window *= 4,
            }
        }
    }

    fn parse_checked(&self, line: &[u8], line_no: Option<u64>) -> Result<Record, LedgerError> {
        let line_no = match line_no {
            Some(n) => n,
            None => self.count_lines()?,
        };
        let value: Value = serde_json::from_slice(line).map_err(|e| LedgerError::Broken {
            path: self.path.clone(),
            line: line_no,
            message: format!("not valid JSON: {e}"),
        })?;
        check_hash(&value).map_err(|message| LedgerError::Broken {
            path: self.path.clone(),
            line: line_no,
            message,
        })?;
        serde_json::from_value(value).map_err(|e| LedgerError::Broken {
            path: self.path.clone(),
            line: line_no,
            message: format!("not a piitrail record: {e}"),
        })
    }

    fn count_lines(&self) -> Result<u64, LedgerError> {
        let mut f = File::open(&self.path).map_err(io(&self.path))?;
        let mut buf = vec![0u8; 1 << 20];
        let mut n = 0u64;
        loop {
            let k = f.read(&mut buf).map_err(io(&self.path))?;
            if k == 0 {
                return Ok(n);
            }
            n += memchr::memchr_iter(b'\n', &buf[..k]).count() as u64;
        }
    }

    fn torn(&self) -> Result<LedgerError, LedgerError> {
        Ok(LedgerError::Torn {
            path: self.path.clone(),
            line: self.count_lines()? + 1,
        })
    }

    fn read_all(&self, file: &mut File) -> Result<Vec<Record>, LedgerError> {
        file.seek(SeekFrom::Start(0)).map_err(io(&self.path))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut out = Vec::new();
        let mut line = Vec::new();
        let mut n = 0u64;
        loop {
            line.clear();
            let k = reader
                .read_until(b'\n', &mut line)
                .map_err(io(&self.path))?;
            if k == 0 {
                return Ok(out);
            }
            n += 1;
            if line.last() != Some(&b'\n') {
                return Err(LedgerError::Torn {
                    path: self.path.clone(),
                    line: n,
                });
            }
            let record: Record = serde_json::from_slice(&line[..line.len() - 1]).map_err(|e| {
                LedgerError::Broken {
                    path: self.path.clone(),
                    line: n,
                    message: format!("not a piitrail record: {e}"),
                }
            })?;
            out.push(record);
        }
    }

    /// Reads every record (no hash checks: `verify` does those).
    pub fn load(&self) -> Result<Vec<Record>, LedgerError> {
        let mut file = File::open(&self.path).map_err(io(&self.path))?;
        self.read_all(&mut file)
    }

    /// Recomputes the whole chain and names the first bad line.
    pub fn verify(&self) -> Result<Verification, LedgerError> {
        let file = File::open(&self.path).map_err(io(&self.path))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut line = Vec::new();
        let mut v = Verification {
            records: 0,
            head: GENESIS.to_string(),
            problem: None,
        };
        let mut n = 0u64;
        loop {
            line.clear();
            if reader
                .read_until(b'\n', &mut line)
                .map_err(io(&self.path))?
                == 0
            {
                return Ok(v);
            }
            n += 1;
            let fail = |message: String| Verification {
                problem: Some((n, message)),
                ..v.clone()
            };
            if line.last() != Some(&b'\n') {
                return Ok(fail("incomplete last line: a write was interrupted; `piitrail ledger recover` moves it aside".into()));
            }
            let value: Value = match serde_json::from_slice(&line[..line.len() - 1]) {
                Ok(value) => value,
                Err(e) => return Ok(fail(format!("not valid JSON: {e}"))),
            };
            if let Err(message) = check_hash(&value) {
                return Ok(fail(message));
            }
            let seq = value.get("seq").and_then(Value::as_u64);
            if seq != Some(v.records + 1) {
                return Ok(fail(format!(
                    "sequence number {} where {} was expected",
                    seq.map_or("missing".into(), |s| s.to_string()),
                    v.records + 1
                )));
            }
            let prev = value.get("prev").and_then(Value::as_str).unwrap_or("");
            if prev != v.head {
                return Ok(fail(format!(
                    "prev is {prev} but the previous record's hash is {}: the chain is broken",
                    v.head
                )));
            }
            // Typed from the bytes again: cheaper than a deep copy of the parsed value.
            if let Err(e) = serde_json::from_slice::<Record>(&line[..line.len() - 1]) {
                return Ok(fail(format!("not a piitrail record: {e}")));
            }
            v.records += 1;
            v.head = value["hash"]
                .as_str()
                .expect("checked by check_hash")
                .to_string();
        }
    }

    /// Moves a torn last line (an interrupted write) into a side file and truncates the ledger
    /// to its last complete line. Returns the side file and the number of bytes moved, or
    /// `None` when the ledger ends cleanly. Nothing is dropped: the bytes are kept.
    pub fn recover(&self) -> Result<Option<(PathBuf, u64)>, LedgerError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)
            .map_err(io(&self.path))?;
        file.lock().map_err(io(&self.path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io(&self.path))?;
        if bytes.is_empty() || bytes.last() == Some(&b'\n') {
            return Ok(None);
        }
        let keep = memchr::memrchr(b'\n', &bytes).map_or(0, |i| i + 1);
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let side = self
            .path
            .with_file_name(format!("ledger.torn-{stamp}.jsonl"));
        crate::fsio::write_atomic(&side, &bytes[keep..]).map_err(io(&side))?;
        file.set_len(keep as u64).map_err(io(&self.path))?;
        file.sync_all().map_err(io(&self.path))?;
        Ok(Some((side, (bytes.len() - keep) as u64)))
    }
}

/// Checks that a record's `hash` is the hash of the rest of it.
fn check_hash(value: &Value) -> Result<(), String> {
    let Some(stated) = value.get("hash").and_then(Value::as_str) else {
        return Err("no hash field".into());
    };
    let actual = record_hash(value);
    if actual != stated {
        return Err(format!(
            "hash mismatch: the record was changed after it was written (stated {stated}, computed {actual})"
        ));
    }
    Ok(())
}
