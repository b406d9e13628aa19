//! Scan: reads datasets and tags the columns that hold personal data.
//!
//! Takes data files (CSV/TSV, Parquet, NDJSON, Arrow IPC, or folders of them) and a compiled
//! [`RuleSet`]; reads a sample drawn across each file, or every row (`--full`, through
//! DataFusion, both cores); hands an [`ArtifactScan`] per file (the scan JSON of DESIGN.md) to
//! the CLI, to `ledger/` (scan records) and later to `policy/` and `propagate/`.

pub mod context;
pub mod full;
pub mod matcher;
pub mod record;
pub mod verdict;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use crate::ledger::{Basis, Checksum, ColumnTag, Evidence};
use crate::rules::RuleSet;
use crate::source;
pub use crate::source::{Format, ScanError, Source};
pub use record::record_scans;

/// How many rows to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// About this many rows, drawn across the whole file.
    Sample(usize),
    /// Every row, streamed.
    Full,
}

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct Request {
    pub paths: Vec<PathBuf>,
    pub mode: Mode,
    pub rules: Arc<RuleSet>,
    /// Artifact paths are shown relative to this folder when they lie inside it.
    pub root: PathBuf,
    /// Keep up to three masked examples of matched values per tag.
    pub show_examples: bool,
    /// Hash each file (sha256). Without it `ArtifactScan::digest` is empty: a sample of a
    /// large file reads far less than hashing it does.
    pub digest: bool,
    /// `--table` globs: the tables of a database to read (all when empty).
    pub tables: Vec<String>,
    /// Where the bytes and rows read so far are reported (see [`crate::progress`]).
    pub progress: crate::progress::Meter,
}

/// The scan of one column (DESIGN.md `scan --format json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnScan {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
    pub tags: Vec<ColumnTag>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
}

/// What the ledger keeps of a column's scan: its tags, without the masked examples.
impl From<&ColumnScan> for crate::ledger::ColumnTags {
    fn from(c: &ColumnScan) -> crate::ledger::ColumnTags {
        crate::ledger::ColumnTags {
            name: c.name.clone(),
            data_type: c.data_type.clone(),
            tags: c.tags.clone(),
        }
    }
}

/// A column's recorded tags as a scan's column (no examples: the ledger has none).
impl From<&crate::ledger::ColumnTags> for ColumnScan {
    fn from(c: &crate::ledger::ColumnTags) -> ColumnScan {
        ColumnScan {
            name: c.name.clone(),
            data_type: c.data_type.clone(),
            tags: c.tags.clone(),
            examples: Vec::new(),
        }
    }
}

/// The scan of one artifact version (DESIGN.md `scan --format json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactScan {
    pub artifact: String,
    pub digest: String,
    pub format: String,
    /// File size in bytes.
    pub size: u64,
    pub rows_scanned: u64,
    pub rows_total: Option<u64>,
    /// How the rows were drawn: "all 120 rows", "16 evenly spaced chunks ...", "every row".
    pub sampling: String,
    /// The rule pack the columns were judged by ([`crate::rules::RuleSet::digest`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_pack: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub columns: Vec<ColumnScan>,
    /// What the table is about ([`context::judge`]); not part of the scan JSON.
    #[serde(skip)]
    pub table_kind: Option<crate::rules::TableKind>,
    /// Per column, its distinct values hashed, for person keys by reference.
    #[serde(skip)]
    pub keys: Vec<matcher::KeySet>,
    /// A database table's declared foreign keys, for person keys by reference.
    #[serde(skip)]
    pub foreign_keys: Vec<DeclaredKey>,
}

/// A foreign key the catalog declares: `column` refers to column `to` of the table named
/// `artifact` (as the scan names it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredKey {
    pub column: String,
    pub artifact: String,
    pub to: String,
}

impl ArtifactScan {
    pub fn tagged_columns(&self) -> impl Iterator<Item = &ColumnScan> {
        self.columns.iter().filter(|c| !c.tags.is_empty())
    }
}

/// What a scan of many files produced: the scans of the files that could be read, and an
/// error for each that could not.
#[derive(Debug)]
pub struct Scanned {
    pub scans: Vec<ArtifactScan>,
    pub failed: Vec<ScanError>,
}

impl Scanned {
    /// The scans, or the error(s) when any file failed.
    pub fn into_result(mut self) -> Result<Vec<ArtifactScan>, ScanError> {
        match self.failure() {
            Some(e) => Err(e),
            None => Ok(self.scans),
        }
    }

    /// The error for the files that failed, if any: [`ScanError::Files`] (or the one error).
    pub fn failure(&mut self) -> Option<ScanError> {
        match self.failed.len() {
            0 => None,
            1 => Some(self.failed.remove(0)),
            _ => Some(ScanError::Files(std::mem::take(&mut self.failed))),
        }
    }
}

/// Shows a path relative to `root` when it lies inside it.
pub fn display_path(path: &Path, root: &Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let canonical_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    // A path that does not exist (an MLMD URI elsewhere) is compared as written, too.
    match abs
        .strip_prefix(&canonical_root)
        .or_else(|_| abs.strip_prefix(root))
    {
        Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
        Err(_) => path.to_string_lossy().to_string(),
    }
}

/// A digest shortened for people: `sha256:` and its first 12 hex digits.
pub fn short_digest(digest: &str) -> &str {
    // `get` so that a malformed digest from a bad import prints whole instead of panicking.
    digest.get(..19).unwrap_or(digest)
}

/// Runs `read` while another thread hashes the file (when the request asks for digests).
pub(crate) fn with_digest<T>(
    req: &Request,
    src: &Source,
    read: impl FnOnce() -> Result<T, ScanError>,
) -> Result<(T, Option<String>), ScanError> {
    let (digest, read) = std::thread::scope(|s| {
        let digest = crate::boundary::spawn_scoped(s, || {
            req.digest
                .then(|| source::digests::digest_counted(&src.path, &req.root, &req.progress))
                .transpose()
        })
        .map_err(ScanError::Internal)?;
        let read = read();
        let digest = digest
            .join()
            .unwrap_or_else(|_| Err(ScanError::Internal("digest thread panicked".into())));
        Ok::<_, ScanError>((digest, read))
    })?;
    Ok((read?, digest?))
}

/// Scans every file the request names, in order.
pub fn scan(req: &Request) -> Result<Vec<ArtifactScan>, ScanError> {
    scan_with(req, |_, _, _| {})
}

/// [`scan`], telling `progress` before each file: (files done, files in all, next file).
pub fn scan_with(
    req: &Request,
    progress: impl FnMut(usize, usize, &Path),
) -> Result<Vec<ArtifactScan>, ScanError> {
    scan_all(req, progress)?.into_result()
}

/// Scans every file the request names, in order, going on past a file that cannot be read:
/// each such file gets its error in [`Scanned::failed`]. Only a path that cannot be found or
/// walked stops everything (`Err`).
pub fn scan_all(
    req: &Request,
    mut progress: impl FnMut(usize, usize, &Path),
) -> Result<Scanned, ScanError> {
    // Every path is resolved (files found, databases opened and their tables listed) before
    // anything is scanned: a path that cannot be found stops everything.
    let mut targets = Vec::new();
    let mut globs = source::select::TableGlobs::new(&req.tables)?;
    let mut databases = Vec::new();
    #[cfg(feature = "objects")]
    let mut copies: Vec<tempfile::TempDir> = Vec::new();
    for path in &req.paths {
        match source::location::Location::parse(&path.to_string_lossy())? {
            source::location::Location::Database(db) => {
                let mut db = source::db::Db::open(&db)?;
                // Named from the project root, as files are: `sqlite:data/shop.db.customers`.
                if let Some(file) = db.file() {
                    let named = display_path(file, &req.root);
                    db.location_mut().database = named;
                }
                let db = std::rc::Rc::new(db);
                databases.push(source::location::mask(&path.to_string_lossy()));
                for table in db.tables()? {
                    if globs.selects(db.schema_of(&table), &table.name) {
                        targets.push(Target::Table(db.clone(), table));
                    }
                }
            }
            #[cfg(feature = "objects")]
            source::location::Location::Object { store, url } => {
                // Fetched into a private folder that lives until every target is scanned.
                let dir = tempfile::tempdir().map_err(|e| ScanError::Read {
                    path: PathBuf::from(&url),
                    message: format!("a temporary folder for its objects: {e}"),
                })?;
                for fetched in source::objects::fetch(store, &url, dir.path())? {
                    targets.push(Target::Object(fetched));
                }
                copies.push(dir);
            }
            _ => targets.extend(
                source::discover(std::slice::from_ref(path))?
                    .into_iter()
                    .map(Target::File),
            ),
        }
    }
    globs.check(&databases)?;
    let mut scanned = Scanned {
        scans: Vec::with_capacity(targets.len()),
        failed: Vec::new(),
    };
    for (i, target) in targets.iter().enumerate() {
        let result = match target {
            Target::File(src) => {
                progress(i, targets.len(), &src.path);
                let name = display_path(&src.path, &req.root);
                req.progress.begin(name, Some(src.size));
                scan_one(req, src)
            }
            Target::Table(db, table) => {
                progress(i, targets.len(), Path::new(&db.artifact(table)));
                req.progress.begin(db.artifact(table), None);
                scan_table(req, db, table)
            }
            #[cfg(feature = "objects")]
            Target::Object(fetched) => {
                progress(i, targets.len(), Path::new(&fetched.url));
                req.progress.begin(&fetched.url, Some(fetched.source.size));
                scan_object(req, fetched)
            }
        };
        match result {
            Ok(s) => scanned.scans.push(s),
            Err(e) => scanned.failed.push(e),
        }
    }
    progress(targets.len(), targets.len(), Path::new(""));
    context::references(&req.rules, &mut scanned.scans);
    Ok(scanned)
}

/// What a scan reads: a data file, or a table of a database.
enum Target {
    File(Source),
    Table(std::rc::Rc<source::db::Db>, source::db::Table),
    /// An object of a store, fetched into a local copy.
    #[cfg(feature = "objects")]
    Object(source::objects::Fetched),
}

/// An object, scanned from its local copy and named by its URL, its digest the sha256 of its
/// content as fetched. Errors name the URL, never the copy.
#[cfg(feature = "objects")]
fn scan_object(
    req: &Request,
    fetched: &source::objects::Fetched,
) -> Result<ArtifactScan, ScanError> {
    let copy = fetched.source.path.display().to_string();
    match scan_one(req, &fetched.source) {
        Ok(mut scan) => {
            scan.artifact = fetched.url.clone();
            scan.digest = fetched.digest.clone();
            Ok(scan)
        }
        Err(e) => Err(ScanError::Read {
            path: PathBuf::from(&fetched.url),
            message: e.to_string().replace(&copy, &fetched.url),
        }),
    }
}

fn scan_one(req: &Request, src: &Source) -> Result<ArtifactScan, ScanError> {
    // The file boundary: a decoder that panics on a damaged file makes this file's error.
    let read = crate::boundary::catch(|| {
        if full::hashes_itself(req, src) {
            read_source(req, src).map(|read| (read, None))
        } else {
            with_digest(req, src, || read_source(req, src))
        }
    })
    .map_err(|panic| ScanError::damaged(&src.path, panic))?;
    let ((matcher, mut info), digest) = read?;
    let digest = match (digest, info.digest.take()) {
        (Some(d), _) | (None, Some(d)) => d,
        (None, None) if req.digest => {
            return Err(ScanError::Internal(format!(
                "{} was read without its digest",
                src.path.display()
            )));
        }
        (None, None) => String::new(),
    };
    let artifact = display_path(&src.path, &req.root);
    let table = context::table_name(&artifact).to_string();
    Ok(judged(
        req,
        &matcher,
        info,
        Judged {
            artifact,
            table,
            digest,
            format: src.format.as_str().to_string(),
            size: src.size,
            foreign_keys: Vec::new(),
        },
    ))
}

/// A table of a database, read through the data layer: sampled by the database or streamed
/// whole, its version a digest of its rows ([`source::db`]).
fn scan_table(
    req: &Request,
    db: &source::db::Db,
    table: &source::db::Table,
) -> Result<ArtifactScan, ScanError> {
    let fields = db.fields(table);
    let (stop, rows) = match req.mode {
        Mode::Full => (matcher::Stopping::FULL, source::db::Rows::Full),
        Mode::Sample(n) => (matcher::Stopping::SAMPLE, source::db::Rows::Sample(n)),
    };
    let mut matcher = matcher::Matcher::new(req.rules.clone(), &fields, stop, req.show_examples);
    // The declared SQL type is what a reader of the report knows the column by.
    for (state, (_, declared)) in matcher.columns.iter_mut().zip(&table.columns) {
        if !declared.is_empty() {
            state.data_type = declared.clone();
        }
    }
    let (info, rows, digest) = db.read(table, rows, &mut |batch| {
        matcher.feed(batch);
        req.progress.add(0, batch.num_rows() as u64);
        Ok(())
    })?;
    // A sample's version covers only what it read; the table's version (what a recorded
    // scan names, as a file's digest covers all its bytes) needs every row, read once more.
    let digest = if req.digest && digest.starts_with(source::db::SAMPLE_VERSION) {
        db.version(table)?
    } else {
        digest
    };
    let read = Read {
        rows,
        rows_total: info.rows_total,
        sampling: info.sampling,
        warnings: info.warnings,
        digest: None,
    };
    Ok(judged(
        req,
        &matcher,
        read,
        Judged {
            artifact: db.artifact(table),
            table: table.name.clone(),
            digest,
            format: db.format().into(),
            size: 0,
            foreign_keys: table
                .foreign_keys
                .iter()
                .map(|fk| DeclaredKey {
                    column: fk.column.clone(),
                    artifact: db.referenced(fk),
                    to: fk.to.clone(),
                })
                .collect(),
        },
    ))
}

/// What names an artifact scan, beside what was found in it.
struct Judged {
    artifact: String,
    /// The table's name, for its context ([`context::judge`]).
    table: String,
    digest: String,
    format: String,
    size: u64,
    foreign_keys: Vec<DeclaredKey>,
}

/// The scan of one artifact from what its matcher counted: tags per column, masked
/// examples, masked value-shaped names and the table's context.
fn judged(req: &Request, matcher: &matcher::Matcher, mut info: Read, id: Judged) -> ArtifactScan {
    let rows_scanned = info.rows;
    let columns: Vec<ColumnScan> = matcher
        .columns
        .iter()
        .map(|col| {
            let tags = verdict::tags(&req.rules, col);
            let examples = if req.show_examples {
                let mut ex: Vec<String> = tags
                    .iter()
                    .filter_map(|t| req.rules.rules.iter().position(|r| r.id == t.rule))
                    .flat_map(|ri| {
                        col.examples
                            .iter()
                            .filter(move |(r, _)| *r == ri)
                            .map(|(_, e)| e.clone())
                    })
                    .collect();
                ex.truncate(3);
                ex
            } else {
                Vec::new()
            };
            ColumnScan {
                name: col.name.clone(),
                data_type: col.data_type.clone(),
                tags,
                examples,
            }
        })
        .collect();
    let (mut columns, masked) = mask_value_names(&req.rules, columns);
    info.warnings.extend(masked);
    let table_kind = context::judge(&req.rules, &id.table, &mut columns);
    let keys = matcher
        .columns
        .iter()
        .map(|c| c.profile.keys.clone())
        .collect();
    ArtifactScan {
        artifact: id.artifact,
        digest: id.digest,
        format: id.format,
        size: id.size,
        rows_scanned,
        rows_total: info.rows_total,
        sampling: info.sampling,
        rule_pack: Some(req.rules.digest.clone()),
        warnings: info.warnings,
        columns,
        table_kind: Some(table_kind),
        keys,
        foreign_keys: id.foreign_keys,
    }
}

/// Column names that are values: a name that a value rule recognises on its own (an e-mail
/// address as a JSON key, a header row that was data under a rule the header check does not
/// know) is personal data, so it is kept masked in the scan, the ledger and every report. The
/// masked names are made unique again; one warning says how many, never which.
fn mask_value_names(
    rules: &RuleSet,
    mut columns: Vec<ColumnScan>,
) -> (Vec<ColumnScan>, Option<String>) {
    let mut masked = 0;
    for c in &mut columns {
        if let Some(rule) = personal_value_rule(rules, &c.name) {
            c.name = format!("{} ({rule})", crate::sensitive::mask(&c.name));
            masked += 1;
        }
    }
    if masked == 0 {
        return (columns, None);
    }
    let names = source::unique_names(columns.iter().map(|c| c.name.clone()).collect());
    for (c, n) in columns.iter_mut().zip(names) {
        c.name = n;
    }
    let warning =
        format!("{masked} column name(s) have the shape of personal data and are stored masked");
    (columns, Some(warning))
}

/// The value rule that recognises `text` (a column name, a metadata property) as personal data
/// on its own, if any: rules that need no telling column name and check the value by pattern
/// (e-mail, phone, IBAN, card, ...), or `long-number` for text with nine digits or more.
/// Only text with an `@` or mostly digits is a candidate for the rules, so that words a
/// free-text pattern accepts (`street`, `billing address`) stay as they are.
pub fn personal_value_rule<'a>(rules: &'a RuleSet, text: &str) -> Option<&'a str> {
    // Nine digits or more are a number (an account, a card, a phone glued to a word), never a
    // name's: a date as a pivot header (`2024-01-01`) has eight.
    if text.bytes().filter(u8::is_ascii_digit).count() >= 9 {
        return Some("long-number");
    }
    whole_value_rule(rules, text)
        .or_else(|| {
            // A long name can hold values (a quoted header cell over several lines of data).
            text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '|' | '"' | '\''))
                .filter(|t| t.len() >= 5 && t.len() < text.len())
                .find_map(|t| whole_value_rule(rules, t))
        })
        .or_else(|| {
            // A value glued to a word (`emann.lee@ann.lee@example.com`, the long fuzz run's find):
            // a name with an `@` is searched with the rules' free-text patterns.
            if !text.contains('@') {
                return None;
            }
            rules
                .rules
                .iter()
                .filter(|r| !r.require_name && r.has_find())
                .find(|r| r.found_in(text))
                .map(|r| r.id.as_str())
        })
}

fn whole_value_rule<'a>(rules: &'a RuleSet, name: &str) -> Option<&'a str> {
    let alnum = name.chars().filter(|c| c.is_alphanumeric()).count();
    let digits = name.chars().filter(char::is_ascii_digit).count();
    if !name.contains('@') && (digits == 0 || digits * 2 < alnum) {
        return None;
    }
    rules
        .rules
        .iter()
        .filter(|r| !r.require_name && r.value_regex().is_some())
        .find(|r| r.value_matches(name))
        .map(|r| r.id.as_str())
}

/// What reading a source produced besides the matcher.
pub(crate) struct Read {
    pub rows: u64,
    pub rows_total: Option<u64>,
    pub sampling: String,
    pub warnings: Vec<String>,
    /// The file's digest, when the read computed it on the way ([`full::hashes_itself`]).
    pub digest: Option<String>,
}

impl Read {
    /// What a full scan reports: every row was read.
    fn every_row(rows: u64) -> Read {
        Read {
            rows,
            rows_total: Some(rows),
            sampling: "every row".into(),
            warnings: vec![],
            digest: None,
        }
    }
}

fn read_source(req: &Request, src: &Source) -> Result<(matcher::Matcher, Read), ScanError> {
    match req.mode {
        Mode::Full => full::scan_full(req, src),
        Mode::Sample(limit) => {
            let mut matcher: Option<matcher::Matcher> = None;
            let mut rows = 0u64;
            let rules = req.rules.clone();
            let keep = req.show_examples;
            let mut sink = |batch: &datafusion::arrow::array::RecordBatch| {
                let m = matcher.get_or_insert_with(|| {
                    let fields: Vec<_> = batch
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| (f.name().clone(), f.data_type().clone()))
                        .collect();
                    matcher::Matcher::new(rules.clone(), &fields, matcher::Stopping::SAMPLE, keep)
                });
                rows += batch.num_rows() as u64;
                m.feed(batch);
                Ok(())
            };
            let (info, fields) = match src.format {
                Format::Csv => {
                    let header = source::csv_header(src)?;
                    let mut info = source::sample_csv(src, &header, limit, &mut sink)?;
                    info.warnings.extend(header.warning());
                    let fields: Vec<_> = header
                        .names
                        .iter()
                        .map(|n| (n.clone(), datafusion::arrow::datatypes::DataType::Utf8))
                        .collect();
                    (info, Some(fields))
                }
                Format::Parquet => (source::sample_parquet(src, limit, &mut sink)?, None),
                Format::NdJson => (source::sample_ndjson(src, limit, &mut sink)?, None),
                Format::Arrow => (source::sample_arrow(src, limit, &mut sink)?, None),
            };
            let matcher = match (matcher, fields) {
                (Some(m), _) => m,
                // A header and no rows: still a table, judged by column names alone.
                (None, Some(fields)) => {
                    matcher::Matcher::new(rules, &fields, matcher::Stopping::SAMPLE, keep)
                }
                (None, None) => matcher::Matcher::new(rules, &[], matcher::Stopping::SAMPLE, keep),
            };
            Ok((
                matcher,
                Read {
                    rows,
                    rows_total: info.rows_total,
                    sampling: info.sampling,
                    warnings: info.warnings,
                    digest: None,
                },
            ))
        }
    }
}
