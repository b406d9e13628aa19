//! Shared harness: a temporary project folder, files written into it, the real binary run in it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

#[cfg(feature = "interop")]
pub mod moto;
#[cfg(feature = "interop")]
pub mod servers;

/// The shop's customers table: `n` customers, one line each, the subject (`user7@example.org`)
/// on line 9 (row 8); with `iban`, an IBAN column too.
pub fn shop_customers(n: u64, iban: bool) -> String {
    let mut customers = String::from("customer_id,full_name,email,phone");
    customers.push_str(if iban { ",iban\n" } else { "\n" });
    for i in 0..n {
        customers.push_str(&format!(
            "{i},Anna Kowalski,user{i}@example.org,+49 30 {:07}",
            1_234_000 + i
        ));
        customers.push_str(if iban {
            ",DE89370400440532013000\n"
        } else {
            "\n"
        });
    }
    customers
}

/// A customers table without the subject's row (customer 7): what an erasure leaves.
pub fn without_subject(customers: &str) -> String {
    customers
        .lines()
        .filter(|l| !l.starts_with("7,"))
        .map(|l| format!("{l}\n"))
        .collect()
}

pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Project {
        Project {
            dir: tempfile::tempdir().expect("temporary folder"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// The text of a file in the project.
    pub fn read(&self, rel: &str) -> String {
        let p = self.path(rel);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
    }

    /// Runs `piitrail ARGS` inside the project.
    /// Sets `[project] data_roots = [root]` in the piitrail.toml `init` wrote.
    pub fn add_data_root(&self, root: &str) {
        let toml = self.read("piitrail.toml").replacen(
            "[project]\n",
            &format!("[project]\ndata_roots = [\"{root}\"]\n"),
            1,
        );
        assert!(
            toml.contains("data_roots"),
            "piitrail.toml has a [project] table"
        );
        self.write("piitrail.toml", toml);
    }

    pub fn run(&self, args: &[&str]) -> Run {
        run_in(self.dir.path(), args)
    }
}

/// Writes `contents` over `file` and puts its modification time back: a change that its size
/// (when the contents keep it) and its time do not show.
pub fn rewrite_keeping_mtime(file: &Path, contents: impl AsRef<[u8]>) {
    let modified = std::fs::metadata(file).unwrap().modified().unwrap();
    std::fs::write(file, contents).unwrap();
    std::fs::File::options()
        .write(true)
        .open(file)
        .unwrap()
        .set_modified(modified)
        .unwrap();
}

/// Runs `piitrail ARGS` in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::cargo_bin("piitrail")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("piitrail runs");
    Run(out)
}

pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    /// Asserts the exit code, showing both streams when it differs.
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code(),
            code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
    /// Asserts an input error (exit 2) whose message names `place`.
    pub fn expect_error(self, place: &str) -> Run {
        let run = self.expect(2);
        assert!(run.stderr().contains(place), "{}", run.stderr());
        run
    }
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON object per line"))
            .collect()
    }
}

/// The artifact `path` of a report (`{"artifacts": [...]}`).
pub fn artifact_of(report: &serde_json::Value, path: &str) -> serde_json::Value {
    report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == path)
        .unwrap_or_else(|| panic!("no artifact {path} in the report"))
        .clone()
}

/// The tags of the column `name` in a scanned or reported artifact (`{"columns": [...]}`).
pub fn tags_of(artifact: &serde_json::Value, name: &str) -> Vec<serde_json::Value> {
    artifact["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no column {name} in {artifact}"))["tags"]
        .as_array()
        .unwrap()
        .clone()
}

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// A small deterministic generator (xorshift64*), so that test data is the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E3779B97F4A7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545F4914F6CDD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 * 1.0 < p
    }
    pub fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

/// The OpenLineage JSON schemas of schemas/openlineage (the spec's RunEvent and facets, as
/// piitrail embeds them), registered under their `$id`s.
pub fn openlineage_registry() -> jsonschema::Registry<'static> {
    let mut builder = jsonschema::Registry::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/openlineage");
    for entry in std::fs::read_dir(dir).unwrap() {
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        let id = schema["$id"].as_str().unwrap().to_string();
        builder = builder.add(id, schema).unwrap();
    }
    builder.prepare().unwrap()
}
