//! The hash chain: computing record hashes, appending under an exclusive lock, verifying.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::LedgerError;
use super::canonical::{self, hash_of, is_hash_of, record_hash};
use super::record::{Body, Record};

/// `prev` of the first record.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// The ledger file of a project.
#[derive(Debug, Clone)]
pub struct Ledger {
    pub path: PathBuf,
    /// Where whole reads (verify, the typed records, the graph) report the bytes read and the
    /// records handed on (see [`crate::progress`]).
    pub progress: crate::progress::Meter,
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

/// A place in the ledger that a signed report or erasure certificate vouches for: the number
/// of records it covered and the hash of the last of them (`ledger` in both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    pub head: String,
    pub records: u64,
}

impl Verification {
    /// The place in the ledger this verification reached: its records and their head.
    pub fn pin(&self) -> Pin {
        Pin {
            head: self.head.clone(),
            records: self.records,
        }
    }
}

/// What [`Ledger::check_pin`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinState {
    /// The pinned record is there, with its hash, and the chain up to it holds.
    Held,
    /// The ledger ends before the pinned record.
    Cut { records: u64 },
    /// The pinned record's place holds a record with another hash.
    Rewritten { head: String },
    /// The chain breaks before the pinned record.
    Broken { line: u64, problem: String },
}

impl std::fmt::Display for PinState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PinState::Held => write!(f, "the ledger holds the signed record, its chain intact"),
            PinState::Cut { records } => write!(
                f,
                "the ledger was cut: it has {records} records, fewer than were signed"
            ),
            PinState::Rewritten { head } => write!(
                f,
                "the ledger was rewritten: the signed record's place now has hash {head}"
            ),
            PinState::Broken { line, problem } => write!(
                f,
                "the ledger's chain breaks before the signed record, at line {line}: {problem}"
            ),
        }
    }
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
        Ok(Ledger {
            path,
            progress: Default::default(),
        })
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
        let mut existing = Vec::new();
        self.read_blocks(&mut file, |block| existing.extend(block))?;
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

    /// Reads every line as a `T`, parsing blocks of lines on every core (a million records
    /// is half a gigabyte of JSON), and hands the parsed blocks to `each` in ledger order. The
    /// first error (the lowest line) stops the read.
    fn read_blocks<T: serde::de::DeserializeOwned + Send>(
        &self,
        file: &mut File,
        each: impl FnMut(Vec<T>),
    ) -> Result<(), LedgerError> {
        self.read_blocks_mapped(file, |records| records, each)
    }

    /// [`Ledger::read_blocks`], each parsed block turned into a `U` by `map` on the thread
    /// that parsed it.
    fn read_blocks_mapped<T: serde::de::DeserializeOwned, U: Send>(
        &self,
        file: &mut File,
        map: impl Fn(Vec<T>) -> U + Sync,
        each: impl FnMut(U),
    ) -> Result<(), LedgerError> {
        let parse = |block: &[u8], first| {
            let records = self.parse_block::<T>(block, first)?;
            Ok((records.len() as u64, map(records)))
        };
        self.read_blocks_with(file, parse, each)
    }

    /// [`Ledger::read_blocks`] with another reading of a block (`parse`: its bytes, whole
    /// lines but perhaps a torn last one, and the ledger line it starts at; it answers the
    /// number of records read, for the progress shown, and what it made of them).
    fn read_blocks_with<T: Send>(
        &self,
        file: &mut File,
        parse: impl Fn(&[u8], u64) -> Result<(u64, T), (u64, LedgerError)> + Sync,
        mut each: impl FnMut(T),
    ) -> Result<(), LedgerError> {
        const BLOCK: usize = 4 << 20;
        file.seek(SeekFrom::Start(0)).map_err(io(&self.path))?;
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (block_tx, block_rx) = std::sync::mpsc::sync_channel::<(usize, u64, Vec<u8>)>(workers);
        let block_rx = std::sync::Mutex::new(block_rx);
        type Parsed<T> = (usize, Result<(u64, T), (u64, LedgerError)>);
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<Parsed<T>>(workers * 2);
        let unstarted = |e: String| LedgerError::Internal(format!("reading the ledger: {e}"));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let done_tx = done_tx.clone();
                let block_rx = &block_rx;
                let parse = &parse;
                // A worker that cannot start: the others see the blocks end and stop.
                crate::boundary::spawn_scoped(scope, move || {
                    loop {
                        let next = block_rx.lock().map(|rx| rx.recv());
                        let Ok(Ok((index, first_line, block))) = next else {
                            return;
                        };
                        let parsed = parse(&block, first_line);
                        if done_tx.send((index, parsed)).is_err() {
                            return;
                        }
                    }
                })
                .map_err(unstarted)?;
            }
            // The reader: blocks that end at a line end; the rest carries over to the next.
            let reader_done = done_tx;
            crate::boundary::spawn_scoped(scope, move || {
                let mut carry: Vec<u8> = Vec::new();
                let mut line = 1u64;
                let mut index = 0usize;
                let mut eof = false;
                while !eof {
                    let mut block = std::mem::take(&mut carry);
                    let start = block.len();
                    block.resize(start + BLOCK, 0);
                    let mut filled = start;
                    while filled < block.len() {
                        match file.read(&mut block[filled..]) {
                            Ok(0) => {
                                eof = true;
                                break;
                            }
                            Ok(k) => filled += k,
                            Err(e) => {
                                let _ = reader_done.send((index, Err((0, io(&self.path)(e)))));
                                return;
                            }
                        }
                    }
                    block.truncate(filled);
                    if !eof {
                        match memchr::memrchr(b'\n', &block) {
                            Some(end) => carry = block.split_off(end + 1),
                            None => {
                                carry = block; // a line longer than a block: read on
                                continue;
                            }
                        }
                    }
                    if block.is_empty() {
                        continue;
                    }
                    let lines = memchr::memchr_iter(b'\n', &block).count() as u64;
                    self.progress.add(block.len() as u64, 0);
                    if block_tx.send((index, line, block)).is_err() {
                        return;
                    }
                    index += 1;
                    line += lines;
                }
            })
            .map_err(unstarted)?;
            // Hand blocks on in order; a block that finished early waits for its turn.
            let mut waiting = std::collections::BTreeMap::new();
            let mut next = 0usize;
            let mut first_error: Option<(u64, LedgerError)> = None;
            for (i, parsed) in done_rx {
                match parsed {
                    Ok(records) if first_error.is_none() => {
                        waiting.insert(i, records);
                        while let Some((count, records)) = waiting.remove(&next) {
                            self.progress.add(0, count);
                            each(records);
                            next += 1;
                        }
                    }
                    Ok(_) => {}
                    Err((line, e)) => {
                        if first_error.as_ref().is_none_or(|(l, _)| line < *l) {
                            first_error = Some((line, e));
                        }
                    }
                }
            }
            match first_error {
                Some((_, e)) => Err(e),
                None => Ok(()),
            }
        })
    }

    /// Parses the lines of one block, the first being line `first_line` of the ledger. A last
    /// line without its line end is torn.
    fn parse_block<T: serde::de::DeserializeOwned>(
        &self,
        block: &[u8],
        first_line: u64,
    ) -> Result<Vec<T>, (u64, LedgerError)> {
        let mut out = Vec::with_capacity(block.len() / 400);
        let mut n = first_line;
        let mut rest = block;
        while !rest.is_empty() {
            let Some(end) = memchr::memchr(b'\n', rest) else {
                return Err((
                    n,
                    LedgerError::Torn {
                        path: self.path.clone(),
                        line: n,
                    },
                ));
            };
            let record: T = serde_json::from_slice(&rest[..end]).map_err(|e| {
                (
                    n,
                    LedgerError::Broken {
                        path: self.path.clone(),
                        line: n,
                        message: format!("not a piitrail record: {e}"),
                    },
                )
            })?;
            out.push(record);
            rest = &rest[end + 1..];
            n += 1;
        }
        Ok(out)
    }

    /// Reads every record (no hash checks: `verify` does those).
    pub fn load(&self) -> Result<Vec<Record>, LedgerError> {
        self.load_as()
    }

    /// Reads every line as a `T`: a view of the records that keeps only what a reader needs
    /// (the lineage graph skips times, hashes and scans without allocating them).
    pub fn load_as<T: serde::de::DeserializeOwned + Send>(&self) -> Result<Vec<T>, LedgerError> {
        let mut all = Vec::new();
        self.for_each_as(|block| all.extend(block))?;
        Ok(all)
    }

    /// Hands every line, parsed as a `T`, to `each` in blocks, in ledger order, without
    /// holding them all at once.
    pub fn for_each_as<T: serde::de::DeserializeOwned + Send>(
        &self,
        each: impl FnMut(Vec<T>),
    ) -> Result<(), LedgerError> {
        let mut file = File::open(&self.path).map_err(io(&self.path))?;
        self.read_blocks(&mut file, each)
    }

    /// [`Ledger::for_each_as`], each block turned into a `U` by `map` on the thread that
    /// parsed it. What a reader drops of the records is then freed where it was allocated:
    /// freeing another thread's allocations contends for its arena's lock, on every string.
    pub fn for_each_block<T: serde::de::DeserializeOwned, U: Send>(
        &self,
        map: impl Fn(Vec<T>) -> U + Sync,
        each: impl FnMut(U),
    ) -> Result<(), LedgerError> {
        let mut file = File::open(&self.path).map_err(io(&self.path))?;
        self.read_blocks_mapped(&mut file, map, each)
    }

    /// Recomputes the whole chain and names the first bad line.
    pub fn verify(&self) -> Result<Verification, LedgerError> {
        self.verify_upto(u64::MAX)
    }

    /// Whether the ledger still holds what a signed report or certificate pinned: `pin.records`
    /// records whose chain is intact, the last of them with hash `pin.head`. Records after it
    /// do not matter (the ledger grows); fewer records, another hash there, or a broken chain
    /// before it mean the ledger was cut or rewritten since.
    pub fn check_pin(&self, pin: &Pin) -> Result<PinState, LedgerError> {
        let v = self.verify_upto(pin.records)?;
        Ok(if v.records < pin.records {
            match v.problem {
                Some((line, problem)) => PinState::Broken { line, problem },
                None => PinState::Cut { records: v.records },
            }
        } else if v.head != pin.head {
            PinState::Rewritten { head: v.head }
        } else {
            PinState::Held
        })
    }

    /// [`Ledger::verify`] of the first `limit` records only. Each line is checked on its own
    /// on every core (JSON, its hash recomputed, its type), in blocks; the chain (sequence
    /// numbers and `prev` links) is then followed in ledger order, and the first bad line is
    /// named with what a line-by-line reading would say of it.
    fn verify_upto(&self, limit: u64) -> Result<Verification, LedgerError> {
        let mut file = File::open(&self.path).map_err(io(&self.path))?;
        let mut v = Verification {
            records: 0,
            head: GENESIS.to_string(),
            problem: None,
        };
        let mut n = 0u64;
        let mut over = false;
        let check = |block: &[u8], _first: u64| {
            let mut canonical = canonical::Lines::default();
            let lines = block
                .split_inclusive(|&b| b == b'\n')
                .map(|line| LineCheck::of(line, &mut canonical))
                .collect::<Vec<_>>();
            Ok((lines.len() as u64, lines))
        };
        self.read_blocks_with(&mut file, check, |lines| {
            for line in lines {
                if over || v.records == limit {
                    over = true;
                    return;
                }
                n += 1;
                if let Err(message) = line.follows(&v) {
                    v.problem = Some((n, message));
                    over = true;
                    return;
                }
                let LineCheck::Good { hash, .. } = line else {
                    unreachable!("follows() refuses every other line")
                };
                v.records += 1;
                v.head = hash;
            }
        })?;
        Ok(v)
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

/// What one ledger line says on its own: what [`Ledger::verify_upto`] checks on every core
/// before the chain is followed in order.
enum LineCheck {
    /// Not JSON, or its hash is not the hash of the rest of it: the message.
    Bad(String),
    /// A last line without its line end.
    Torn,
    Good {
        seq: Option<u64>,
        prev: String,
        hash: String,
        /// Why it is not a piitrail record, if it is not.
        untyped: Option<String>,
    },
}

impl LineCheck {
    /// Checks one line, with its line end if it has one.
    fn of(line: &[u8], canonical: &mut canonical::Lines) -> LineCheck {
        let Some(line) = line.strip_suffix(b"\n") else {
            return LineCheck::Torn;
        };
        // Most lines: the canonical bytes straight from the line, and the record typed once.
        if let Some(canonical) = canonical.without(line, "hash")
            && let Ok(record) = serde_json::from_slice::<Record>(line)
        {
            let digest = Sha256::digest(canonical);
            if !is_hash_of(&record.hash, &digest) {
                return LineCheck::Bad(mismatch(&record.hash, &hash_of(canonical)));
            }
            return LineCheck::Good {
                seq: Some(record.seq),
                prev: record.prev,
                hash: record.hash,
                untyped: None,
            };
        }
        let value: Value = match serde_json::from_slice(line) {
            Ok(value) => value,
            Err(e) => return LineCheck::Bad(format!("not valid JSON: {e}")),
        };
        if let Err(message) = check_hash(&value) {
            return LineCheck::Bad(message);
        }
        LineCheck::Good {
            seq: value.get("seq").and_then(Value::as_u64),
            prev: value
                .get("prev")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            hash: value
                .get("hash")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            // Typed from the bytes again: cheaper than a deep copy of the parsed value.
            untyped: serde_json::from_slice::<Record>(line)
                .err()
                .map(|e| format!("not a piitrail record: {e}")),
        }
    }

    /// Whether this line is the next record of a chain verified up to `v`, in the order a
    /// line-by-line reading checks: the line itself, its sequence number, its link, its type.
    fn follows(&self, v: &Verification) -> Result<(), String> {
        match self {
            LineCheck::Torn => Err(
                "incomplete last line: a write was interrupted; `piitrail ledger recover` moves it aside"
                    .into(),
            ),
            LineCheck::Bad(message) => Err(message.clone()),
            LineCheck::Good {
                seq, prev, untyped, ..
            } => {
                if *seq != Some(v.records + 1) {
                    return Err(format!(
                        "sequence number {} where {} was expected",
                        seq.map_or("missing".into(), |s| s.to_string()),
                        v.records + 1
                    ));
                }
                if *prev != v.head {
                    return Err(format!(
                        "prev is {prev} but the previous record's hash is {}: the chain is broken",
                        v.head
                    ));
                }
                match untyped {
                    Some(message) => Err(message.clone()),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Checks that a record's `hash` is the hash of the rest of it.
fn check_hash(value: &Value) -> Result<(), String> {
    let Some(stated) = value.get("hash").and_then(Value::as_str) else {
        return Err("no hash field".into());
    };
    let actual = record_hash(value);
    if actual != stated {
        return Err(mismatch(stated, &actual));
    }
    Ok(())
}

fn mismatch(stated: &str, actual: &str) -> String {
    format!(
        "hash mismatch: the record was changed after it was written (stated {stated}, computed {actual})"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{ArtifactRecord, Body};

    /// An artifact record of about `pad` bytes, told apart by `seq`.
    fn artifact(seq: u64, pad: usize) -> Body {
        Body::Artifact(ArtifactRecord {
            path: format!("data/{}/{seq}.csv", "x".repeat(pad)),
            digest: format!("sha256:{seq:064x}"),
            size: seq,
            format: "csv".into(),
            role: crate::ledger::Role::Dataset,
            schema: vec![],
            previous: None,
            aliases: Vec::new(),
        })
    }

    /// A ledger of `n` records of about 1 KB each (no valid chain: `load` does not check it).
    fn ledger_of(n: u64) -> (tempfile::TempDir, Ledger, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".piitrail")).unwrap();
        let mut bytes = Vec::new();
        for seq in 1..=n {
            let r = Record {
                seq,
                time: "2026-11-26T00:00:00Z".into(),
                body: artifact(seq, 900),
                prev: GENESIS.into(),
                hash: GENESIS.into(),
            };
            serde_json::to_writer(&mut bytes, &r).unwrap();
            bytes.push(b'\n');
        }
        std::fs::write(dir.path().join(".piitrail/ledger.jsonl"), &bytes).unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        (dir, ledger, bytes)
    }

    #[test]
    fn blocks_parsed_in_parallel_come_back_in_ledger_order() {
        let (_dir, ledger, bytes) = ledger_of(15_000);
        assert!(bytes.len() > 3 * (4 << 20), "spans several blocks");
        let seqs: Vec<u64> = ledger.load().unwrap().iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (1..=15_000).collect::<Vec<_>>());
    }

    /// Verify checks lines on every core and follows the chain in order: a valid chain over
    /// several blocks verifies whole, and each kind of damage in a late block is named at its
    /// line with a line-by-line reading's message; the first damage wins over a later one, and
    /// a pin before the damage still holds.
    #[test]
    fn verify_in_parallel_names_the_first_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".piitrail")).unwrap();
        std::fs::write(dir.path().join(".piitrail/ledger.jsonl"), "").unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        let bodies: Vec<Body> = (1..=15_000u64).map(|seq| artifact(seq, 400)).collect();
        let records = ledger.append(bodies).unwrap();
        let path = dir.path().join(".piitrail/ledger.jsonl");
        let good = std::fs::read(&path).unwrap();
        assert!(good.len() > 2 * (4 << 20), "spans several blocks");
        ledger.progress.begin("ledger", Some(good.len() as u64));
        let v = ledger.verify().unwrap();
        assert_eq!((v.records, v.problem.clone()), (15_000, None));
        assert_eq!(v.head, records[14_999].hash);
        let pin = v.pin();
        // Every byte read and every record handed on was reported as it went.
        let read = ledger.progress.reading();
        assert_eq!((read.bytes, read.rows), (good.len() as u64, 15_000));

        let lines: Vec<&[u8]> = good.split_inclusive(|&b| b == b'\n').collect();
        let with = |line: usize, new: &str, tail: &[u8]| {
            let mut bytes: Vec<u8> = Vec::new();
            for (i, l) in lines.iter().enumerate() {
                if i + 1 == line {
                    bytes.extend_from_slice(new.as_bytes());
                } else {
                    bytes.extend_from_slice(l);
                }
            }
            bytes.extend_from_slice(tail);
            std::fs::write(&path, bytes).unwrap();
        };
        let line_12345 = std::str::from_utf8(lines[12_344]).unwrap();
        let cases = [
            ("{not json\n".to_string(), "not valid JSON"),
            (
                line_12345.replace("\"size\":12345", "\"size\":12346"),
                "hash mismatch",
            ),
            (
                lines[12_343].iter().map(|&b| b as char).collect::<String>(),
                "sequence number 12344 where 12345 was expected",
            ),
        ];
        for (new, says) in &cases {
            with(12_345, new, b"{\"seq\":15001");
            let v = ledger.verify().unwrap();
            let (line, message) = v.problem.clone().expect("a problem");
            assert_eq!((line, v.records), (12_345, 12_344), "{message}");
            assert!(message.starts_with(says), "{message}");
            assert_eq!(v.head, records[12_343].hash);
            assert_eq!(
                ledger
                    .check_pin(&Pin {
                        records: 12_000,
                        head: records[11_999].hash.clone()
                    })
                    .unwrap(),
                PinState::Held
            );
        }
        // Only the torn last line.
        with(0, "", b"{\"seq\":15001");
        let v = ledger.verify().unwrap();
        let (line, message) = v.problem.expect("a torn line");
        assert_eq!((line, v.records), (15_001, 15_000));
        assert!(message.starts_with("incomplete last line"), "{message}");
        std::fs::write(&path, &good).unwrap();
        assert_eq!(ledger.check_pin(&pin).unwrap(), PinState::Held);
    }

    /// Each block is mapped on the thread that parsed it, and the mapped blocks come back in
    /// ledger order, every record once.
    #[test]
    fn blocks_mapped_where_parsed_come_back_in_ledger_order() {
        let (_dir, ledger, _) = ledger_of(30_000);
        let main = std::thread::current().id();
        let mut seqs = Vec::new();
        let (mut off_main, mut blocks) = (0, 0);
        ledger
            .for_each_block(
                |block: Vec<Record>| {
                    let seqs: Vec<u64> = block.iter().map(|r| r.seq).collect();
                    (std::thread::current().id() != main, seqs)
                },
                |(elsewhere, block)| {
                    off_main += usize::from(elsewhere);
                    blocks += 1;
                    seqs.extend(block);
                },
            )
            .unwrap();
        assert_eq!(seqs, (1..=30_000).collect::<Vec<u64>>());
        assert!(blocks > 1);
        assert_eq!(
            off_main, blocks,
            "a block mapped on the thread that reads the blocks"
        );
    }

    #[test]
    fn errors_in_a_late_block_name_their_line() {
        let (dir, ledger, mut bytes) = ledger_of(15_000);
        let path = dir.path().join(".piitrail/ledger.jsonl");
        // Line 12,345 broken, then a torn last line: the broken one comes first.
        let start = bytes
            .split(|&b| b == b'\n')
            .take(12_344)
            .map(|l| l.len() + 1)
            .sum::<usize>();
        bytes[start] = b'[';
        bytes.extend_from_slice(b"{\"seq\":15001");
        std::fs::write(&path, &bytes).unwrap();
        match ledger.load() {
            Err(LedgerError::Broken { line, .. }) => assert_eq!(line, 12_345),
            other => panic!("expected a broken line, got {other:?}"),
        }
        bytes[start] = b'{';
        std::fs::write(&path, &bytes).unwrap();
        match ledger.load() {
            Err(LedgerError::Torn { line, .. }) => assert_eq!(line, 15_001),
            other => panic!("expected a torn line, got {other:?}"),
        }
    }
}
