//! The data-access layer: finding data files, sampling them as Arrow record batches, digesting
//! them, and the process's one async runtime. Every stage reads data through here (issue 16
//! moves the rest in: DataFusion streaming, row lookup and rewriting, then object stores and
//! databases behind one location trait).
//!
//! Full scans go through DataFusion (CSV with an all-text schema so identifiers keep their
//! leading zeros, Parquet, NDJSON, Arrow IPC) and stream batches partition by partition.
//! Samples are drawn across the whole file, never only from its head: CSV and NDJSON files
//! larger than [`SMALL_FILE`] are read in evenly spaced byte-range chunks, Parquet by evenly
//! spaced row windows (a row selection), Arrow IPC by evenly spaced record batches.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use self::dialect::Dialect;

pub mod dataset;
pub mod db;
pub mod dialect;
pub mod digests;
mod error;
pub mod frame;
pub mod location;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "objects")]
pub mod objects;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod rewrite;
pub mod roots;
pub mod rows;
pub mod select;
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub mod server;
pub mod sqlite;
pub mod stream;
pub mod write;

pub use error::ScanError;
pub use roots::DataRoots;

/// Files up to this size are sampled by reading them whole (and counting every row).
pub const SMALL_FILE: u64 = 16 * 1024 * 1024;
/// Number of evenly spaced chunks a large file is sampled from.
pub const CHUNKS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
    NdJson,
    Arrow,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::NdJson => "ndjson",
            Format::Arrow => "arrow",
        }
    }

    /// The format of a file, by its extension.
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" | "tsv" | "tab" | "psv" => Format::Csv,
            "parquet" | "pq" => Format::Parquet,
            "json" | "jsonl" | "ndjson" => Format::NdJson,
            "arrow" | "ipc" | "feather" | "arrows" => Format::Arrow,
            _ => return None,
        })
    }
}

/// One data file to scan.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub format: Format,
    pub size: u64,
}

impl Source {
    /// One data file named by its path: local, of a known format (by its extension), with its
    /// size. A missing file is an error naming it.
    pub fn open(path: &Path) -> Result<Source, ScanError> {
        require_local(path)?;
        let format = format_of(path)?;
        Ok(Source {
            path: path.to_path_buf(),
            format,
            size: metadata(path)?.len(),
        })
    }
}

fn format_of(path: &Path) -> Result<Format, ScanError> {
    Format::of(path).ok_or_else(|| ScanError::UnknownFormat(path.to_path_buf()))
}

fn metadata(path: &Path) -> Result<std::fs::Metadata, ScanError> {
    std::fs::metadata(path).map_err(|e| ScanError::Open {
        path: path.to_path_buf(),
        source: e,
    })
}

/// A path given for data must be a local one for now: a database or object store URL is
/// refused by name (its password masked) rather than looked for as a file.
pub fn require_local(path: &Path) -> Result<(), ScanError> {
    match location::Location::parse(&path.to_string_lossy())? {
        location::Location::File(_) => Ok(()),
        other => Err(ScanError::Unsupported {
            location: other.to_string(),
            what: other.kind(),
        }),
    }
}

/// Expands the paths the user named into data files. A missing path, or a directory that
/// holds no data file, is an error naming it.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Source>, ScanError> {
    let mut out = Vec::new();
    for path in paths {
        require_local(path)?;
        let meta = metadata(path)?;
        if meta.is_dir() {
            let before = out.len();
            walk(path, &mut out)?;
            if out.len() == before {
                return Err(ScanError::NoData(path.clone()));
            }
        } else {
            // The path was checked and its metadata read: no second look.
            out.push(Source {
                path: path.clone(),
                format: format_of(path)?,
                size: meta.len(),
            });
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<Source>) -> Result<(), ScanError> {
    let files = crate::fsio::walk_files(dir, true, |p| Format::of(p).is_some())
        .map_err(|e| read_error(dir, e))?;
    for p in files {
        let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        if let Some(format) = Format::of(&p) {
            out.push(Source {
                path: p,
                format,
                size,
            });
        }
    }
    Ok(())
}

/// How a sample was drawn, and what reading it revealed.
#[derive(Debug, Clone, Default)]
pub struct ReadInfo {
    pub rows_total: Option<u64>,
    pub sampling: String,
    pub warnings: Vec<String>,
}

pub(crate) fn read_error(path: &Path, message: impl std::fmt::Display) -> ScanError {
    ScanError::Read {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

fn open(path: &Path) -> Result<File, ScanError> {
    File::open(path).map_err(|e| ScanError::Open {
        path: path.to_path_buf(),
        source: e,
    })
}

/// What a scan of a CSV file's quote bytes found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotes {
    /// The file holds at least one quote byte (so a value may span lines).
    pub any: bool,
}

/// Scans every quote byte of a CSV file: a quote that is opened and never closed swallows the
/// rest of the file into one field, which is an input error naming the line where it opened.
/// (A doubled quote inside a quoted field toggles twice, so parity is all that matters.)
pub fn check_quotes(source: &Source, start: u64) -> Result<Quotes, ScanError> {
    let path = &source.path;
    let mut file = open(path)?;
    file.seek(SeekFrom::Start(start))
        .map_err(|e| read_error(path, e))?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut offset, mut open_at, mut inside, mut any) = (start, 0u64, false, false);
    loop {
        let n = file.read(&mut buf).map_err(|e| read_error(path, e))?;
        if n == 0 {
            break;
        }
        for i in memchr::memchr_iter(b'"', &buf[..n]) {
            any = true;
            inside = !inside;
            if inside {
                open_at = offset + i as u64;
            }
        }
        offset += n as u64;
    }
    if inside {
        let line = line_of(source, open_at)?;
        return Err(read_error(
            path,
            format!(
                "line {line}: a quoted field opens here and is never closed (a missing \" swallows the rest of the file)"
            ),
        ));
    }
    Ok(Quotes { any })
}

/// The 1-based line number of a byte offset.
pub(crate) fn line_of(source: &Source, offset: u64) -> Result<u64, ScanError> {
    let mut reader = BufReader::new(open(&source.path)?).take(offset);
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 1u64;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| read_error(&source.path, e))?;
        if n == 0 {
            return Ok(lines);
        }
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
    }
}

/// The CSV header: dialect and column names (BOM stripped, blanks and duplicates named).
#[derive(Debug, Clone)]
pub struct CsvHeader {
    pub dialect: Dialect,
    pub names: Vec<String>,
    /// Byte offset of the first data record.
    pub data_start: u64,
    /// Set when the first row held data, not names, with why (see [`first_row_is_data`]):
    /// the columns are named `column_1`, ... and every row is data.
    pub headerless: Option<String>,
}

impl CsvHeader {
    /// Lines before the first data record (the header line, if any).
    pub fn lines_before(&self) -> u64 {
        u64::from(self.headerless.is_none())
    }

    /// The warning a scan of a headerless file carries (it names the shape, never the value).
    pub fn warning(&self) -> Option<String> {
        self.headerless.as_ref().map(|why| {
            format!(
                "the first row holds data ({why}), not column names: read without a header, \
                 as column_1 .. column_{}",
                self.names.len()
            )
        })
    }
}

/// The shape of a value that a column name never has: an e-mail address, a date, a phone
/// number, an IBAN, a card number (Luhn), a number (but a year, which pivoted reports use as
/// names). `true` with it for the shapes that identify a person on their own.
fn data_shape(value: &str) -> Option<(&'static str, bool)> {
    use std::sync::LazyLock;
    static SHAPES: LazyLock<Vec<(&'static str, regex::Regex)>> = LazyLock::new(|| {
        [
            (
                "an e-mail address",
                r"^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)*\.[^\s@.]{2,}$",
            ),
            (
                "a date",
                r"^(?:[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[T ][0-9:.]+Z?)?|[0-9]{1,2}[./-][0-9]{1,2}[./-](?:[0-9]{2}|[0-9]{4}))$",
            ),
            ("a phone number", r"^(?:\+|00)[1-9][0-9 ()./-]{6,20}[0-9]$"),
            ("an IBAN", r"^[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}$"),
            ("a number", r"^[+-]?(?:[0-9]+(?:[.,][0-9]+)?|[.,][0-9]+)$"),
        ]
        .into_iter()
        .map(|(what, re)| (what, regex::Regex::new(re).expect("a valid pattern")))
        .collect()
    });
    let v = value.trim();
    if v.is_empty() || v.len() > 254 {
        return None;
    }
    let digits: String = v.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if (13..=19).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && crate::rules::validators::Validator::PaymentCard.check(&digits)
    {
        return Some(("a card number", true));
    }
    let shape = SHAPES
        .iter()
        .find(|(_, re)| re.is_match(v))
        .map(|(what, _)| *what)?;
    let year = v.len() == 4 && v.parse::<u32>().is_ok_and(|y| (1900..=2100).contains(&y));
    let strong = matches!(shape, "an e-mail address" | "a phone number" | "an IBAN");
    (!(shape == "a number" && year)).then_some((shape, strong))
}

/// Whether the first CSV record is data rather than column names, and why: one of its fields
/// is an e-mail address, a phone number, an IBAN or a card number, or has another value shape
/// ([`data_shape`]: a date, a number) that the same column of the second record shares (or the
/// file has one record). A pivoted report's header (`name,2024-01-01,2024-02-01` over numbers)
/// is still a header.
pub fn first_row_is_data(first: &[&str], second: Option<&[&str]>) -> Option<String> {
    let why = |i: usize, shape: &str| format!("column {} holds {shape}", i + 1);
    let shapes: Vec<Option<(&str, bool)>> = first.iter().map(|v| data_shape(v)).collect();
    if let Some((i, (shape, _))) = shapes
        .iter()
        .enumerate()
        .find_map(|(i, s)| s.filter(|s| s.1).map(|s| (i, s)))
    {
        return Some(why(i, shape));
    }
    shapes.iter().enumerate().find_map(|(i, s)| {
        let (shape, _) = (*s)?;
        let next = second.map(|r| r.get(i).copied().unwrap_or(""));
        match next {
            None => Some(why(i, shape)),
            Some(n) if n.trim().is_empty() || data_shape(n).map(|s| s.0) == Some(shape) => {
                Some(why(i, shape))
            }
            Some(_) => None,
        }
    })
}

pub fn csv_header(source: &Source) -> Result<CsvHeader, ScanError> {
    let mut file = open(&source.path)?;
    let mut head = vec![0u8; 64 * 1024];
    let n = read_up_to(&mut file, &mut head).map_err(|e| read_error(&source.path, e))?;
    let whole_file = n < head.len();
    head.truncate(n);
    if head.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ScanError::Empty(source.path.clone()));
    }
    let hint = match source.path.extension().and_then(|e| e.to_str()) {
        Some("tsv" | "tab") => Some(b'\t'),
        Some("psv") => Some(b'|'),
        _ => None,
    };
    let dialect = dialect::sniff(&head, hint);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(dialect.delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(&head[dialect.bom..]);
    let mut record = csv::ByteRecord::new();
    let ok = rdr
        .read_byte_record(&mut record)
        .map_err(|e| read_error(&source.path, format!("line 1: {e}")))?;
    if !ok {
        return Err(ScanError::Empty(source.path.clone()));
    }
    let data_start = dialect.bom as u64 + record.position().map_or(0, |_| rdr.position().byte());
    let mut raw: Vec<String> = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        let name = std::str::from_utf8(field).map_err(|_| {
            read_error(
                &source.path,
                format!("line 1, column {}: header is not valid UTF-8", i + 1),
            )
        })?;
        raw.push(name.trim().to_string());
    }
    // The second record, when it is whole within the head read (a cut one reads as absent).
    let mut next = csv::ByteRecord::new();
    let second: Option<Vec<String>> = match rdr.read_byte_record(&mut next) {
        Ok(true) if whole_file || (rdr.position().byte() as usize) < head.len() - dialect.bom => {
            Some(
                next.iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect(),
            )
        }
        _ => None,
    };
    let first: Vec<&str> = raw.iter().map(String::as_str).collect();
    let second: Option<Vec<&str>> = second
        .as_ref()
        .map(|r| r.iter().map(String::as_str).collect());
    if let Some(why) = first_row_is_data(&first, second.as_deref()) {
        let width = raw.len().max(second.as_ref().map_or(0, Vec::len));
        let data_start = dialect.bom as u64;
        return Ok(CsvHeader {
            dialect,
            names: (1..=width).map(|i| format!("column_{i}")).collect(),
            data_start,
            headerless: Some(why),
        });
    }
    let names = unique_names(raw);
    Ok(CsvHeader {
        dialect,
        names,
        data_start,
        headerless: None,
    })
}

/// Column names made unique, in linear time: a blank name becomes `column_N` (N its 1-based
/// position), and a repeated one `name#2`, `name#3`, ... (skipping any such name already taken).
pub fn unique_names(raw: Vec<String>) -> Vec<String> {
    use std::collections::{HashMap, HashSet};
    let mut taken: HashSet<String> = HashSet::with_capacity(raw.len());
    // The next suffix to try for each repeated name, so 4,000 copies of `a` cost 4,000 steps.
    let mut next: HashMap<String, usize> = HashMap::new();
    let mut names = Vec::with_capacity(raw.len());
    for (i, name) in raw.into_iter().enumerate() {
        let name = if name.is_empty() {
            format!("column_{}", i + 1)
        } else {
            name
        };
        let name = if taken.contains(&name) {
            let k = next.entry(name.clone()).or_insert(2);
            loop {
                let candidate = format!("{name}#{k}");
                *k += 1;
                if !taken.contains(&candidate) {
                    break candidate;
                }
            }
        } else {
            name
        };
        taken.insert(name.clone());
        names.push(name);
    }
    names
}

/// Records read to choose the column types of a CSV file for SQL (`piitrail run`).
pub const TYPE_SAMPLE_ROWS: usize = 10_000;

/// Column types for running SQL over a CSV file, from its first [`TYPE_SAMPLE_ROWS`] records:
/// `Int64`, `Float64`, `Boolean` and `Date32` where every non-empty value has that form,
/// text otherwise. Unlike generic inference, a number with a leading zero (a postcode, a
/// customer number) stays text, so no digit is lost.
pub fn csv_sql_schema(source: &Source, header: &CsvHeader) -> Result<Schema, ScanError> {
    #[derive(Clone, Copy)]
    struct Seen {
        int: bool,
        float: bool,
        boolean: bool,
        date: bool,
        any: bool,
    }
    let mut seen = vec![
        Seen {
            int: true,
            float: true,
            boolean: true,
            date: true,
            any: false,
        };
        header.names.len()
    ];
    let mut rdr = data_records(source, header)?;
    let mut record = csv::ByteRecord::new();
    for _ in 0..TYPE_SAMPLE_ROWS {
        match rdr.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(read_error(&source.path, e)),
        }
        for (s, v) in seen.iter_mut().zip(record.iter()) {
            if v.is_empty() {
                continue;
            }
            s.any = true;
            s.int &= fits(v, &DataType::Int64);
            s.float &= fits(v, &DataType::Float64);
            s.boolean &= fits(v, &DataType::Boolean);
            s.date &= fits(v, &DataType::Date32);
        }
    }
    let fields: Vec<Field> = header
        .names
        .iter()
        .zip(&seen)
        .map(|(name, s)| {
            let t = match s {
                Seen { any: false, .. } => DataType::Utf8,
                Seen { int: true, .. } => DataType::Int64,
                Seen { float: true, .. } => DataType::Float64,
                Seen { boolean: true, .. } => DataType::Boolean,
                Seen { date: true, .. } => DataType::Date32,
                _ => DataType::Utf8,
            };
            Field::new(name, t, true)
        })
        .collect();
    Ok(Schema::new(fields))
}

/// The first value of a CSV file that does not have the type [`csv_sql_schema`] chose for its
/// column (the types come from the first rows; a later row may disagree):
/// `(line, column, masked value, type)`.
pub fn csv_type_violation(
    source: &Source,
    header: &CsvHeader,
    schema: &Schema,
) -> Result<Option<(u64, String, String, DataType)>, ScanError> {
    let mut rdr = data_records(source, header)?;
    let mut record = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) => return Err(read_error(&source.path, e)),
        }
        for (field, v) in schema.fields().iter().zip(record.iter()) {
            if !v.is_empty() && !fits(v, field.data_type()) {
                // The reader started after the header line.
                let line = record.position().map_or(0, |p| p.line()) + header.lines_before();
                let value = crate::sensitive::mask(&String::from_utf8_lossy(v));
                return Ok(Some((
                    line,
                    field.name().clone(),
                    value,
                    field.data_type().clone(),
                )));
            }
        }
    }
}

/// The data records of a CSV file (after its header), read with its dialect.
fn data_records(
    source: &Source,
    header: &CsvHeader,
) -> Result<csv::Reader<BufReader<File>>, ScanError> {
    let mut file = open(&source.path)?;
    file.seek(SeekFrom::Start(header.data_start))
        .map_err(|e| read_error(&source.path, e))?;
    Ok(csv::ReaderBuilder::new()
        .delimiter(header.dialect.delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(BufReader::new(file)))
}

/// Whether a non-empty CSV value has the form of `t` ([`csv_sql_schema`]'s types; text fits
/// any value).
fn fits(v: &[u8], t: &DataType) -> bool {
    match t {
        DataType::Int64 => is_int(v),
        DataType::Float64 => is_int(v) || is_decimal(v),
        DataType::Boolean => v.eq_ignore_ascii_case(b"true") || v.eq_ignore_ascii_case(b"false"),
        DataType::Date32 => is_iso_date(v),
        _ => true,
    }
}

/// `0`, or an optional minus and digits without a leading zero, that fits an i64.
fn is_int(v: &[u8]) -> bool {
    let digits = v.strip_prefix(b"-").unwrap_or(v);
    !digits.is_empty()
        && digits.len() <= 18
        && digits.iter().all(u8::is_ascii_digit)
        && (digits[0] != b'0' || digits.len() == 1)
}

/// An optional minus, an integer part without a leading zero (or a single 0), a point, digits.
fn is_decimal(v: &[u8]) -> bool {
    let Some(dot) = v.iter().position(|&b| b == b'.') else {
        return false;
    };
    let (int, frac) = (&v[..dot], &v[dot + 1..]);
    is_int(int) && !frac.is_empty() && frac.len() <= 15 && frac.iter().all(u8::is_ascii_digit)
}

/// `YYYY-MM-DD` with a month and day that exist.
fn is_iso_date(v: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(v) else {
        return false;
    };
    s.len() == 10 && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Text columns, built row by row from a CSV sample.
struct TextColumns {
    builders: Vec<StringBuilder>,
    rows: usize,
}

impl TextColumns {
    fn new(n: usize) -> Self {
        TextColumns {
            builders: (0..n).map(|_| StringBuilder::new()).collect(),
            rows: 0,
        }
    }

    fn finish(
        mut self,
        schema: &SchemaRef,
    ) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
        let cols: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        RecordBatch::try_new(schema.clone(), cols)
    }
}

/// Where a record is: a line number when the file was read from its start, a byte offset in
/// a sampled chunk of a large file (where line numbers are unknown).
#[derive(Debug, Clone, Copy)]
enum Place {
    Line(u64),
    Byte(u64),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Line(n) => write!(f, "line {n}"),
            Place::Byte(n) => write!(f, "byte {n}"),
        }
    }
}

/// Ragged rows seen while sampling: count and the first few line numbers.
#[derive(Default)]
struct Ragged {
    count: u64,
    places: Vec<Place>,
}

impl Ragged {
    fn note(&mut self, at: Place) {
        self.count += 1;
        if self.places.len() < 5 {
            self.places.push(at);
        }
    }

    fn warning(&self, expected: usize) -> Option<String> {
        (self.count > 0).then(|| {
            let places: Vec<String> = self.places.iter().map(Place::to_string).collect();
            ragged_warning(self.count, expected, &places)
        })
    }
}

/// The warning for `count` ragged rows, the first of them at `places` (up to five).
pub(crate) fn ragged_warning(count: u64, expected: usize, places: &[String]) -> String {
    format!(
        "{count} ragged row(s) with a number of fields other than {expected} ({}{}); short rows read with empty trailing fields, extra fields ignored",
        places.join(", "),
        if count > 5 { ", ..." } else { "" }
    )
}

fn push_record(
    cols: &mut TextColumns,
    record: &csv::ByteRecord,
    at: Place,
    path: &Path,
    ragged: &mut Ragged,
) -> Result<(), ScanError> {
    let n = cols.builders.len();
    if record.len() != n {
        ragged.note(at);
    }
    for (i, b) in cols.builders.iter_mut().enumerate() {
        match record.get(i) {
            Some(field) => {
                let s = std::str::from_utf8(field).map_err(|e| {
                    read_error(
                        path,
                        format!(
                            "{at}, field {}: invalid UTF-8 at byte {} of the field",
                            i + 1,
                            e.valid_up_to()
                        ),
                    )
                })?;
                b.append_value(s);
            }
            None => b.append_null(),
        }
    }
    cols.rows += 1;
    Ok(())
}

/// Samples a CSV file: whole (evenly thinned to `limit` rows) when small, else `CHUNKS`
/// byte-range chunks spread over the file.
pub fn sample_csv(
    source: &Source,
    header: &CsvHeader,
    limit: usize,
    sink: &mut dyn FnMut(&RecordBatch) -> Result<(), ScanError>,
) -> Result<ReadInfo, ScanError> {
    let schema: SchemaRef = Arc::new(Schema::new(
        header
            .names
            .iter()
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let path = &source.path;
    let mut ragged = Ragged::default();
    let builder = || {
        let mut b = csv::ReaderBuilder::new();
        b.delimiter(header.dialect.delimiter)
            .has_headers(false)
            .flexible(true);
        b
    };
    if source.size <= SMALL_FILE {
        check_quotes(source, header.data_start)?;
        let mut file = open(path)?;
        file.seek(SeekFrom::Start(header.data_start))
            .map_err(|e| read_error(path, e))?;
        let mut rdr = builder().from_reader(BufReader::new(file));
        let mut all = TextColumns::new(header.names.len());
        let mut record = csv::ByteRecord::new();
        loop {
            match rdr.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = record.position().map_or(0, |p| p.line()) + header.lines_before();
                    if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
                        continue; // blank line
                    }
                    push_record(&mut all, &record, Place::Line(line), path, &mut ragged)?;
                }
                Err(e) => {
                    return Err(read_error(path, csv_error_place(&e, header.lines_before())));
                }
            }
        }
        let total = all.rows;
        let batch = all.finish(&schema).map_err(|e| read_error(path, e))?;
        let (batch, sampling) = thin(batch, limit);
        if batch.num_rows() > 0 {
            sink(&batch)?;
        }
        let mut info = ReadInfo {
            rows_total: Some(total as u64),
            sampling,
            warnings: vec![],
        };
        info.warnings.extend(ragged.warning(header.names.len()));
        return Ok(info);
    }
    let per_chunk = limit.div_ceil(CHUNKS).max(1);
    let span = source.size - header.data_start;
    for k in 0..CHUNKS {
        let offset = header.data_start + span * k as u64 / CHUNKS as u64;
        let mut file = open(path)?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| read_error(path, e))?;
        let mut reader = BufReader::with_capacity(256 * 1024, file);
        let mut start = offset;
        if k > 0 {
            // Resynchronise on a line start; the first record after it may start inside a
            // quoted field, so it is skipped too.
            let mut skipped = Vec::new();
            reader
                .read_until(b'\n', &mut skipped)
                .map_err(|e| read_error(path, e))?;
            start += skipped.len() as u64;
        }
        let mut rdr = builder().from_reader(reader);
        let mut cols = TextColumns::new(header.names.len());
        let mut record = csv::ByteRecord::new();
        let mut first = k > 0;
        // The byte offset in the file where a record starts.
        let at_byte = |r: &csv::ByteRecord| start + r.position().map_or(0, |p| p.byte());
        while cols.rows < per_chunk {
            match rdr.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    if std::mem::take(&mut first) {
                        continue;
                    }
                    if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
                        continue;
                    }
                    push_record(
                        &mut cols,
                        &record,
                        Place::Byte(at_byte(&record)),
                        path,
                        &mut ragged,
                    )?;
                }
                Err(e) => {
                    return Err(read_error(
                        path,
                        format!("near byte {offset}: {}", csv_error_place(&e, 0)),
                    ));
                }
            }
        }
        let batch = cols.finish(&schema).map_err(|e| read_error(path, e))?;
        if batch.num_rows() > 0 {
            sink(&batch)?;
        }
    }
    let mut info = ReadInfo {
        rows_total: None,
        sampling: format!(
            "{CHUNKS} evenly spaced chunks of up to {per_chunk} rows across the file ({} bytes)",
            source.size
        ),
        warnings: vec![],
    };
    info.warnings.extend(ragged.warning(header.names.len()));
    Ok(info)
}

fn csv_error_place(e: &csv::Error, line_offset: u64) -> String {
    match e.position() {
        Some(p) => format!("line {}: {}", p.line() + line_offset, e),
        None => e.to_string(),
    }
}

/// Keeps `limit` evenly spaced rows of a batch (all of them if it is small enough).
fn thin(batch: RecordBatch, limit: usize) -> (RecordBatch, String) {
    let n = batch.num_rows();
    if n <= limit {
        return (batch, format!("all {n} rows"));
    }
    let idx: Vec<u32> = (0..limit)
        .map(|i| (i as u64 * n as u64 / limit as u64) as u32)
        .collect();
    let indices = datafusion::arrow::array::UInt32Array::from(idx);
    let cols: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| datafusion::arrow::compute::take(c, &indices, None).expect("indices are in range"))
        .collect();
    let thinned = RecordBatch::try_new(batch.schema(), cols).expect("same schema");
    (thinned, format!("{limit} evenly spaced rows of {n}"))
}

/// Samples a Parquet file by evenly spaced windows of rows (a row selection), read with the
/// parquet crate that DataFusion itself uses.
pub fn sample_parquet(
    source: &Source,
    limit: usize,
    sink: &mut dyn FnMut(&RecordBatch) -> Result<(), ScanError>,
) -> Result<ReadInfo, ScanError> {
    use datafusion::parquet::arrow::arrow_reader::{
        ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
    };
    let path = &source.path;
    if source.size == 0 {
        return Err(ScanError::Empty(path.clone()));
    }
    let file = open(path)?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| read_error(path, e))?;
    let total = builder.metadata().file_metadata().num_rows().max(0) as usize;
    let mut selected = total as u64;
    let (builder, sampling) = if total <= limit {
        (builder, format!("all {total} rows"))
    } else {
        let per = limit.div_ceil(CHUNKS).max(1);
        let mut selected_rows = 0u64;
        let mut selectors = Vec::new();
        let mut pos = 0usize;
        for k in 0..CHUNKS {
            let start = (total as u64 * k as u64 / CHUNKS as u64) as usize;
            let start = start.max(pos);
            let take = per.min(total - start);
            if start > pos {
                selectors.push(RowSelector::skip(start - pos));
            }
            selectors.push(RowSelector::select(take));
            pos = start + take;
            selected_rows += take as u64;
        }
        if pos < total {
            selectors.push(RowSelector::skip(total - pos));
        }
        selected = selected_rows;
        (
            builder.with_row_selection(RowSelection::from(selectors)),
            format!("{CHUNKS} evenly spaced windows of {per} rows across {total} rows"),
        )
    };
    let schema = builder.schema().clone();
    let reader = builder
        .with_batch_size(8192)
        .build()
        .map_err(|e| read_error(path, e))?;
    let mut sent = false;
    let mut read = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| read_error(path, e))?;
        read += batch.num_rows() as u64;
        sink(&batch)?;
        sent = true;
    }
    check_row_count(source, read, selected)?;
    if !sent {
        // No rows: the columns are still there, judged by their names.
        sink(&RecordBatch::new_empty(schema))?;
    }
    Ok(ReadInfo {
        rows_total: Some(total as u64),
        sampling,
        warnings: vec![],
    })
}

/// Samples an NDJSON file: whole when small, else evenly spaced chunks of lines.
pub fn sample_ndjson(
    source: &Source,
    limit: usize,
    sink: &mut dyn FnMut(&RecordBatch) -> Result<(), ScanError>,
) -> Result<ReadInfo, ScanError> {
    use datafusion::arrow::json::ReaderBuilder;
    use datafusion::arrow::json::reader::infer_json_schema;
    let path = &source.path;
    if source.size == 0 {
        return Err(ScanError::Empty(path.clone()));
    }
    let head = BufReader::new(open(path)?);
    let (schema, _) = infer_json_schema(head, Some(1000)).map_err(|e| read_error(path, e))?;
    if schema.fields().is_empty() {
        return Err(ScanError::Empty(path.clone()));
    }
    let schema = Arc::new(schema);
    // `origin` says where `bytes` came from: the whole file, or a chunk at a byte offset.
    let decode = |bytes: &[u8],
                  origin: Option<u64>,
                  sink: &mut dyn FnMut(&RecordBatch) -> Result<(), ScanError>| {
        let reader = ReaderBuilder::new(schema.clone())
            .with_batch_size(8192)
            .build(std::io::Cursor::new(bytes))
            .map_err(|e| read_error(path, e))?;
        let mut rows = 0u64;
        for batch in reader {
            let batch = batch.map_err(|e| {
                let place = match origin {
                    None => format!("in lines {}..{}", rows + 1, rows + 8192),
                    Some(at) => format!("in the sampled lines from byte {at}"),
                };
                read_error(path, format!("{place}: {e}"))
            })?;
            rows += batch.num_rows() as u64;
            sink(&batch)?;
        }
        Ok::<u64, ScanError>(rows)
    };
    if source.size <= SMALL_FILE {
        let mut bytes = Vec::new();
        open(path)?
            .read_to_end(&mut bytes)
            .map_err(|e| read_error(path, e))?;
        let mut batches = Vec::new();
        let total = decode(&bytes, None, &mut |b| {
            batches.push(b.clone());
            Ok(())
        })?;
        let all = datafusion::arrow::compute::concat_batches(&schema, &batches)
            .map_err(|e| read_error(path, e))?;
        let (batch, sampling) = thin(all, limit);
        sink(&batch)?; // even with no rows: the batch carries the columns
        return Ok(ReadInfo {
            rows_total: Some(total),
            sampling,
            warnings: vec![],
        });
    }
    let per = limit.div_ceil(CHUNKS).max(1);
    for k in 0..CHUNKS {
        let offset = source.size * k as u64 / CHUNKS as u64;
        let mut file = open(path)?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| read_error(path, e))?;
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        if k > 0 {
            reader
                .read_until(b'\n', &mut line)
                .map_err(|e| read_error(path, e))?;
        }
        let mut chunk = Vec::new();
        for _ in 0..per {
            line.clear();
            if reader
                .read_until(b'\n', &mut line)
                .map_err(|e| read_error(path, e))?
                == 0
            {
                break;
            }
            chunk.extend_from_slice(&line);
        }
        decode(&chunk, Some(offset), sink)?;
    }
    Ok(ReadInfo {
        rows_total: None,
        sampling: format!(
            "{CHUNKS} evenly spaced chunks of up to {per} lines across the file ({} bytes)",
            source.size
        ),
        warnings: vec![],
    })
}

/// A full read must end with every row the file declares: a reader that stopped early (a
/// damaged page, a decoder that gave up) is an error naming the file, never a short scan.
pub(crate) fn check_row_count(source: &Source, read: u64, declared: u64) -> Result<(), ScanError> {
    if read == declared {
        return Ok(());
    }
    Err(read_error(
        &source.path,
        format!(
            "the file declares {declared} rows but {read} could be read: it is damaged or truncated"
        ),
    ))
}

/// The rows an Arrow IPC file declares: the sum of the lengths in the headers of the record
/// batches its footer lists (only those few bytes are read). `None` for the IPC stream format,
/// which has no footer.
pub(crate) fn arrow_declared_rows(source: &Source) -> Result<Option<u64>, ScanError> {
    use datafusion::arrow::ipc;
    let path = &source.path;
    let bad = |what: &str| read_error(path, format!("damaged Arrow IPC file: {what}"));
    let mut file = open(path)?;
    let mut magic = [0u8; 6];
    let leading = read_up_to(&mut file, &mut magic).map_err(|e| read_error(path, e))? == 6
        && &magic == b"ARROW1";
    let size = source.size;
    if size < 6 + 10 {
        return if leading {
            Err(bad("too short for a footer"))
        } else {
            Ok(None)
        };
    }
    let mut tail = [0u8; 10];
    file.seek(SeekFrom::Start(size - 10))
        .and_then(|_| file.read_exact(&mut tail))
        .map_err(|e| read_error(path, e))?;
    // The reader trusts the footer whatever the file starts with (the long fuzz run's find:
    // a damaged leading magic let a block of 2^49 bytes through), so any file with a footer
    // magic is checked; one with neither magic is left to the reader, which refuses it.
    if !leading && &tail[4..] != b"ARROW1" {
        return Ok(None);
    }
    let footer_len = ipc::reader::read_footer_length(tail).map_err(|e| bad(&e.to_string()))? as u64;
    if footer_len + 10 > size {
        return Err(bad("the footer is longer than the file"));
    }
    let mut footer = vec![0u8; footer_len as usize];
    file.seek(SeekFrom::Start(size - 10 - footer_len))
        .and_then(|_| file.read_exact(&mut footer))
        .map_err(|e| read_error(path, e))?;
    let footer = ipc::root_as_footer(&footer).map_err(|e| bad(&format!("footer: {e}")))?;
    // The reader allocates each block's declared body before reading it: a block that claims
    // more than the file holds would abort the process, so every block is checked first.
    let within = |b: &ipc::Block| {
        let (offset, meta, body) = (b.offset(), b.metaDataLength(), b.bodyLength());
        offset >= 0
            && meta >= 8
            && body >= 0
            && (offset as u64)
                .checked_add(meta as u64)
                .and_then(|end| end.checked_add(body as u64))
                .is_some_and(|end| end <= size)
    };
    for (i, block) in footer.dictionaries().iter().flatten().enumerate() {
        if !within(block) {
            return Err(bad(&format!("dictionary batch {i} lies outside the file")));
        }
    }
    let mut rows = 0u64;
    for (i, block) in footer.recordBatches().iter().flatten().enumerate() {
        let (offset, meta) = (block.offset(), block.metaDataLength());
        if !within(block) {
            return Err(bad(&format!("record batch {i} lies outside the file")));
        }
        let mut header = vec![0u8; meta as usize];
        file.seek(SeekFrom::Start(offset as u64))
            .and_then(|_| file.read_exact(&mut header))
            .map_err(|e| read_error(path, e))?;
        // An encapsulated message: an optional continuation marker, its length, the flatbuffer.
        let fb = if header[..4] == [0xff; 4] {
            &header[8..]
        } else {
            &header[4..]
        };
        let length = ipc::root_as_message(fb)
            .ok()
            .and_then(|m| m.header_as_record_batch())
            .map(|b| b.length())
            .filter(|n| *n >= 0)
            .ok_or_else(|| bad(&format!("record batch {i} has no readable header")))?;
        rows += length as u64;
    }
    Ok(Some(rows))
}

/// Samples an Arrow IPC file by evenly spaced record batches (its blocks checked against the
/// file's size first).
pub fn sample_arrow(
    source: &Source,
    limit: usize,
    sink: &mut dyn FnMut(&RecordBatch) -> Result<(), ScanError>,
) -> Result<ReadInfo, ScanError> {
    use datafusion::arrow::ipc::reader::FileReader;
    let path = &source.path;
    if source.size == 0 {
        return Err(ScanError::Empty(path.clone()));
    }
    // Checked before the reader sees the file (see arrow_declared_rows).
    let declared = arrow_declared_rows(source)?;
    let mut reader =
        FileReader::try_new(BufReader::new(open(path)?), None).map_err(|e| read_error(path, e))?;
    let n = reader.num_batches();
    let mut rows = 0usize;
    let mut read = 0usize;
    let picks: Vec<usize> = if n <= CHUNKS {
        (0..n).collect()
    } else {
        (0..CHUNKS).map(|k| k * n / CHUNKS).collect()
    };
    let mut batches = Vec::new();
    for &i in &picks {
        reader.set_index(i).map_err(|e| read_error(path, e))?;
        let Some(batch) = reader.next() else { break };
        let batch = batch.map_err(|e| read_error(path, format!("record batch {i}: {e}")))?;
        rows += batch.num_rows();
        read += 1;
        batches.push(batch);
    }
    let schema = reader.schema();
    let all = datafusion::arrow::compute::concat_batches(&schema, &batches)
        .map_err(|e| read_error(path, e))?;
    let (batch, thinned) = thin(all, limit);
    sink(&batch)?; // even with no rows: the batch carries the columns
    let sampling = if read == n {
        thinned
    } else {
        format!("{read} evenly spaced record batches of {n} ({rows} rows), {thinned}")
    };
    if read == n
        && let Some(declared) = declared
    {
        check_row_count(source, rows as u64, declared)?;
    }
    Ok(ReadInfo {
        rows_total: (read == n).then_some(rows as u64),
        sampling,
        warnings: vec![],
    })
}

/// How a digest is written: `sha256:` and the hex of the hash.
pub(crate) fn digest_string(hasher: sha2::Sha256) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// Streams a file through sha256; memory stays bounded whatever its size.
pub fn digest_file(path: &Path) -> Result<String, ScanError> {
    digest_file_with(path, &mut |_| {})
}

/// [`digest_file`], telling `hashed` the bytes of each read as it goes.
pub fn digest_file_with(path: &Path, hashed: &mut dyn FnMut(u64)) -> Result<String, ScanError> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| ScanError::Open {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| ScanError::Read {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        hashed(n as u64);
    }
    Ok(digest_string(hasher))
}

/// The process's one async runtime, started when first asked for: DataFusion's readers and
/// plans, and the OpenLineage receiver, run on it; callers on plain threads `block_on` it.
pub fn runtime() -> Result<&'static tokio::runtime::Runtime, ScanError> {
    static RUNTIME: std::sync::OnceLock<Result<tokio::runtime::Runtime, String>> =
        std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
                .thread_name("piitrail-async")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| ScanError::Internal(format!("cannot start the async runtime: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The data-access layer is the only place that builds an async runtime, digests a data
    /// file or opens one with DataFusion's readers: every other module asks it (`runtime`,
    /// `digest_file`, `frame::read_frame`).
    #[test]
    fn only_the_data_layer_builds_a_runtime_digests_or_reads_files_with_datafusion() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let own = src.join("source");
        let mut checked = 0;
        for entry in walkdir::WalkDir::new(&src) {
            let entry = entry.unwrap();
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "rs") || path.starts_with(&own) {
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap();
            for banned in [
                "runtime::Builder",
                "Runtime::new(",
                "fn digest_file",
                ".read_csv(",
                ".read_parquet(",
                ".read_json(",
                ".read_arrow(",
                "SessionConfig::new()",
            ] {
                assert!(!text.contains(banned), "{} has {banned:?}", path.display());
            }
            checked += 1;
        }
        assert!(checked > 40, "{checked} files checked");
    }

    #[test]
    fn repeated_and_blank_names_become_unique() {
        let raw = ["a", "", "a", "a#2", "a", " "]
            .iter()
            .map(|s| s.trim().to_string())
            .collect();
        assert_eq!(
            unique_names(raw),
            ["a", "column_2", "a#2", "a#2#2", "a#3", "column_6"]
        );
    }

    #[test]
    fn thousands_of_copies_of_one_name_stay_unique() {
        let names = unique_names(vec!["a".to_string(); 20_000]);
        let set: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(set.len(), 20_000);
        assert_eq!(names[19_999], "a#20000");
    }
}
