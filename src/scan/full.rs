//! Full scans: every row, streamed, matched on worker threads so that decoding and matching
//! use both cores. A CSV file without a quote byte is read line by line, one range of lines per
//! core, its fields matched in place; CSV with quotes, NDJSON and Arrow IPC go through
//! DataFusion partition by partition; Parquet row group by row group with DataFusion's parquet
//! crate. Memory stays bounded by the blocks and batches in flight.

use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use futures::StreamExt;

use super::matcher::{self, Holds, Matcher, Stopping};
use super::{Read, Request, ScanError};
use crate::source::frame::{df_error, session, text_partitions};
use crate::source::{self, Format, Source};

pub(crate) fn scan_full(req: &Request, src: &Source) -> Result<(Matcher, Read), ScanError> {
    if matches!(src.format, Format::Parquet | Format::NdJson | Format::Arrow) && src.size == 0 {
        return Err(ScanError::Empty(src.path.clone()));
    }
    if src.format == Format::Parquet {
        return scan_parquet_full(req, src);
    }
    if src.format == Format::Csv {
        let header = source::csv_header(src)?;
        // A quote byte anywhere sends the file to DataFusion's CSV reader.
        if header.dialect.quote == b'"' {
            if let Some((matcher, mut read, digest)) = scan_csv_lines(req, src, &header, BLOCK)? {
                read.digest = digest;
                read.warnings.extend(header.warning());
                return Ok((matcher, read));
            }
            // What the line reader counted before the quote is read again.
            req.progress.restart();
        }
        let ((matcher, mut read), digest) =
            super::with_digest(req, src, || scan_frame_full(req, src))?;
        read.digest = digest;
        read.warnings.extend(header.warning());
        return Ok((matcher, read));
    }
    scan_frame_full(req, src)
}

/// Whether [`scan_full`] hashes the file itself ([`Read::digest`]): CSV files are read once
/// for both.
pub(crate) fn hashes_itself(req: &Request, src: &Source) -> bool {
    req.mode == super::Mode::Full && src.format == Format::Csv
}

/// Full scans through DataFusion's readers (CSV with quotes, NDJSON, Arrow IPC): partitions
/// streamed on the async runtime, matched on worker threads.
fn scan_frame_full(req: &Request, src: &Source) -> Result<(Matcher, Read), ScanError> {
    let runtime = source::runtime()?;
    let ctx = session();
    let (streams, schema) = runtime.block_on(text_partitions(&ctx, src))?;
    let fields: Vec<(String, DataType)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch, ScanError>>(8);
    let _guard = runtime.enter();
    let mut tasks = Vec::new();
    for mut stream in streams {
        let tx = tx.clone();
        let src = src.clone();
        tasks.push(runtime.spawn(async move {
            while let Some(batch) = stream.next().await {
                let item = batch.map_err(|e| df_error(&src, e));
                let stop = item.is_err();
                if tx.send(item).await.is_err() || stop {
                    break;
                }
            }
        }));
    }
    drop(tx);
    let consumed = consume(req, &fields, rx);
    // A decoder that panicked ended its partition's stream early, which the workers cannot
    // tell from the end of the data: every partition must have finished, or the scan fails.
    for task in tasks {
        if let Err(e) = runtime.block_on(task) {
            let why = if e.is_panic() {
                crate::boundary::describe(e.into_panic().as_ref())
            } else {
                e.to_string()
            };
            return Err(ScanError::damaged(&src.path, why));
        }
    }
    let (matcher, rows) = consumed?;
    if src.format == Format::Arrow
        && let Some(declared) = source::arrow_declared_rows(src)?
    {
        source::check_row_count(src, rows, declared)?;
    }
    Ok((matcher, Read::every_row(rows)))
}

/// Matches batches from the channel on one worker thread per core and merges the counts.
fn consume(
    req: &Request,
    fields: &[(String, DataType)],
    rx: tokio::sync::mpsc::Receiver<Result<RecordBatch, ScanError>>,
) -> Result<(Matcher, u64), ScanError> {
    let rx = Arc::new(Mutex::new(rx));
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let results: Vec<Result<(Matcher, u64), ScanError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let rx = rx.clone();
                // A clone per worker: each regex then keeps its own cache, with no contention.
                let rules = std::sync::Arc::new((*req.rules).clone());
                crate::boundary::spawn_scoped(s, move || {
                    let mut m = Matcher::new(rules, fields, Stopping::FULL, req.show_examples);
                    let mut rows = 0u64;
                    loop {
                        let next = rx
                            .lock()
                            .expect("no worker panics while holding the lock")
                            .blocking_recv();
                        match next {
                            None => break,
                            Some(Err(e)) => return Err(e),
                            Some(Ok(batch)) => {
                                rows += batch.num_rows() as u64;
                                req.progress.add(0, batch.num_rows() as u64);
                                m.feed(&batch);
                            }
                        }
                    }
                    Ok((m, rows))
                })
            })
            .collect();
        joined(handles)
    });
    let mut total: Option<(Matcher, u64)> = None;
    for r in results {
        let (m, rows) = r?;
        match &mut total {
            None => total = Some((m, rows)),
            Some((acc, n)) => {
                acc.merge(&m);
                *n += rows;
            }
        }
    }
    total.ok_or_else(|| ScanError::Internal("no scan worker ran".into()))
}

/// The results of scan workers; a worker that could not start or panicked is an internal
/// error.
fn joined<T>(
    handles: Vec<Result<std::thread::ScopedJoinHandle<'_, Result<T, ScanError>>, String>>,
) -> Vec<Result<T, ScanError>> {
    handles
        .into_iter()
        .map(|h| {
            h.map_err(ScanError::Internal)?
                .join()
                .unwrap_or_else(|_| Err(ScanError::Internal("a scan worker panicked".into())))
        })
        .collect()
}

/// Parquet full scans read row groups with DataFusion's parquet crate, one reader per core,
/// page by page: memory stays near a page per column instead of a whole row group's column
/// chunks per partition (which DataFusion's async reader fetches at once).
fn scan_parquet_full(req: &Request, src: &Source) -> Result<(Matcher, Read), ScanError> {
    let file = source::stream::ParquetRowGroups::open(src)?;
    req.progress.total_rows(file.declared_rows);
    let file = &file;
    let groups = file.groups;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let producers = cores.min(groups).max(1);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch, ScanError>>(8);
    let (matcher, rows) = std::thread::scope(|s| {
        // A producer that cannot start would leave its row groups unread: the scan fails.
        let mut unstarted = None;
        for k in 0..producers {
            let tx = tx.clone();
            let started = crate::boundary::spawn_scoped(s, move || {
                let produce = || -> Result<(), ScanError> {
                    let mine: Vec<usize> = (k..groups).step_by(producers).collect();
                    for batch in file.read(mine, 8192)? {
                        if tx.blocking_send(batch).is_err() {
                            break;
                        }
                    }
                    Ok(())
                };
                if let Err(e) = produce() {
                    let _ = tx.blocking_send(Err(e));
                }
            });
            if let Err(e) = started {
                unstarted = Some(ScanError::Internal(e));
                break;
            }
        }
        drop(tx);
        let consumed = consume(req, &file.fields, rx);
        match unstarted {
            Some(e) => Err(e),
            None => consumed,
        }
    })?;
    source::check_row_count(src, rows, file.declared_rows)?;
    Ok((matcher, Read::every_row(rows)))
}

/// The blocks a CSV file is read in by [`scan_csv_lines`].
const BLOCK: usize = 512 << 10;

/// CSV full scans of a file without a single quote byte: no value can hold a delimiter or a
/// newline, so each line is a record and its fields are the text between delimiters.
///
/// This thread reads the file once, in 4 MB blocks cut at line ends, hashes it as it goes (the
/// artifact's digest, when asked for) and hands the blocks to one worker per core. A worker
/// checks its block is UTF-8, finds the fields in one `memchr2` pass and feeds them to its
/// matcher in place (no Arrow arrays, no copies), then gives the block back to be filled again:
/// memory stays at a few blocks, and nothing is allocated per block. Blank lines are skipped
/// and `\r\n` endings read as `\n`; a row with another number of fields is ragged: short rows
/// read with missing trailing fields, extra fields ignored, and a warning names the first lines,
/// as sampling does. A quote byte anywhere stops everything (`Ok(None)`): the file is then
/// read the general way. Returns the digest with the counts.
fn scan_csv_lines(
    req: &Request,
    src: &Source,
    header: &source::CsvHeader,
    block: usize,
) -> Result<Option<(Matcher, Read, Option<String>)>, ScanError> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;
    let fields: Vec<(String, DataType)> = header
        .names
        .iter()
        .map(|n| (n.clone(), DataType::Utf8))
        .collect();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let columns = header.names.len();
    // The file is hashed as it is read unless the digest cache knows it as it is.
    let cache = req
        .digest
        .then(|| source::digests::Cache::of(&req.root))
        .flatten();
    let known = cache
        .as_ref()
        .map(|c| source::digests::lookup(c, &src.path));
    let hash = req.digest && !matches!(known, Some(Ok(_)));
    // Set by a worker that meets a quote byte, or fails: the reader stops.
    let quoted = AtomicBool::new(false);
    let failed = AtomicBool::new(false);
    // Blocks of whole lines, `buf[..len]`, starting at file offset `base`.
    struct Block {
        buf: Vec<u8>,
        len: usize,
        base: u64,
    }
    // Blocks small enough for a core's cache, and enough of them queued (about 4 MB) that
    // the workers do not wait on the reader's turns; every block more is memory the kernel
    // zeroes once.
    let queued = (cores * 2).max((4 << 20) / block.max(1)).min(64);
    let (full_tx, full_rx) = mpsc::sync_channel::<Block>(queued);
    // Owned by the workers only: when every worker has stopped, the reader's sends fail.
    let full_rx = Arc::new(Mutex::new(full_rx));
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    let work = |full: Arc<Mutex<mpsc::Receiver<Block>>>,
                free: mpsc::Sender<Vec<u8>>|
     -> Result<Lines, ScanError> {
        let rules = Arc::new((*req.rules).clone());
        let mut part = Lines {
            matcher: Matcher::new(rules, &fields, Stopping::FULL, req.show_examples),
            rows: 0,
            ragged: 0,
            ragged_at: Vec::new(),
            cols: vec![Vec::new(); columns],
            holds: vec![Holds::ANY; columns],
        };
        loop {
            let next = full
                .lock()
                .expect("no worker panics while holding the lock")
                .recv();
            let Ok(block) = next else {
                return Ok(part);
            };
            if !quoted.load(Ordering::Relaxed) {
                let rows = part.rows;
                match part.feed(src, header, &block.buf[..block.len], block.base) {
                    Ok(true) => req.progress.add(block.len as u64, part.rows - rows),
                    Ok(false) => quoted.store(true, Ordering::Relaxed),
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
            // The reader may have finished: then the block is not needed.
            let _ = free.send(block.buf);
        }
    };
    let read = |full: mpsc::SyncSender<Block>,
                free: mpsc::Receiver<Vec<u8>>|
     -> Result<Option<String>, ScanError> {
        let mut lines = source::stream::LineBlocks::open(src, header.data_start, block, hash)?;
        let mut blocks = 0;
        loop {
            if quoted.load(Ordering::Relaxed) || failed.load(Ordering::Relaxed) {
                return Ok(None);
            }
            let mut buf = match free.try_recv() {
                Ok(b) => b,
                Err(_) if blocks < queued + cores + 2 => {
                    blocks += 1;
                    vec![0u8; block]
                }
                Err(_) => match free.recv() {
                    Ok(b) => b,
                    Err(_) => return Ok(None), // every worker has stopped
                },
            };
            let Some((len, base)) = lines.next_into(&mut buf)? else {
                return Ok(lines.digest());
            };
            if full.send(Block { buf, len, base }).is_err() {
                return Ok(None); // every worker has stopped
            }
        }
    };
    let (parts, digest) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..cores)
            .map(|_| {
                let (full, free) = (full_rx.clone(), free_tx.clone());
                crate::boundary::spawn_scoped(s, move || work(full, free))
            })
            .collect();
        drop((full_rx, free_tx));
        let digest = read(full_tx, free_rx);
        (joined(handles), digest)
    });
    let mut total: Option<Lines> = None;
    for p in parts {
        let p = p?;
        match &mut total {
            None => total = Some(p),
            Some(t) => {
                t.matcher.merge(&p.matcher);
                t.rows += p.rows;
                t.ragged += p.ragged;
                t.ragged_at.extend(p.ragged_at);
            }
        }
    }
    let mut digest = digest?;
    if quoted.load(Ordering::Relaxed) {
        return Ok(None);
    }
    match (known, &cache) {
        (Some(Ok(cached)), _) => digest = Some(cached),
        (Some(Err(pending)), Some(cache)) => {
            if let Some(d) = &digest {
                pending.keep(cache, d);
            }
        }
        _ => {}
    }
    let mut total = total.ok_or_else(|| ScanError::Internal("no scan worker ran".into()))?;
    let mut read = Read::every_row(total.rows);
    if total.ragged > 0 {
        // Each worker kept its first lines; the file's first are among them.
        total.ragged_at.sort_unstable();
        let lines = total.ragged_at[..total.ragged_at.len().min(5)]
            .iter()
            .map(|&at| source::line_of(src, at).map(|l| format!("line {l}")))
            .collect::<Result<Vec<_>, _>>()?;
        read.warnings
            .push(source::ragged_warning(total.ragged, columns, &lines));
    }
    Ok(Some((total.matcher, read, digest)))
}

/// What one worker of [`scan_csv_lines`] counted, and its field offsets (reused per block).
struct Lines {
    matcher: Matcher,
    rows: u64,
    ragged: u64,
    /// File offsets of its first ragged rows.
    ragged_at: Vec<u64>,
    cols: Vec<Vec<matcher::Field>>,
    /// Per column, what its fields in the block hold (an `@` seen while splitting).
    holds: Vec<Holds>,
}

impl Lines {
    /// Splits a block of whole lines (starting at file offset `base`) into fields and feeds
    /// them to the matcher; false when the block holds a quote byte (nothing is counted).
    fn feed(
        &mut self,
        src: &Source,
        header: &source::CsvHeader,
        block: &[u8],
        base: u64,
    ) -> Result<bool, ScanError> {
        if memchr::memchr(b'"', block).is_some() {
            return Ok(false);
        }
        let text = std::str::from_utf8(block).map_err(|e| {
            let at = base + e.valid_up_to() as u64;
            match source::line_of(src, at) {
                Ok(line) => source::read_error(
                    &src.path,
                    format!("line {line}: invalid UTF-8 (byte {at} of the file)"),
                ),
                Err(e) => e,
            }
        })?;
        let columns = self.cols.len();
        for c in &mut self.cols {
            c.clear();
        }
        // The splitter stops at every `@` too and marks the field's column: a column without
        // one in the block is not asked the rules that need one (see `Holds`). A delimiter
        // `@` leaves nothing to learn.
        let screen = header.dialect.delimiter != b'@';
        self.holds.fill(Holds { at: !screen });
        // One pass over the block for both separators: a field ends at a delimiter or at a
        // line end, and a line end ends the record.
        let bytes = text.as_bytes();
        let mut field = 0usize; // start of the current field
        let mut line = 0usize; // start of the current line
        let mut col = 0usize; // fields of this record so far
        let mut extra = false;
        let seps = memchr::memchr3_iter(b'\n', header.dialect.delimiter, b'@', bytes)
            .chain((!bytes.ends_with(b"\n") && !bytes.is_empty()).then_some(bytes.len()));
        for at in seps {
            if screen && bytes.get(at) == Some(&b'@') {
                if let Some(h) = self.holds.get_mut(col) {
                    h.at = true;
                }
                continue;
            }
            let newline = at == bytes.len() || bytes[at] == b'\n';
            if newline {
                // A blank line (or one holding only `\r`) is no record.
                let raw = &text[line..at];
                if col == 0 && (raw.is_empty() || raw == "\r") {
                    field = at + 1;
                    line = at + 1;
                    continue;
                }
            }
            let end = if newline && at > field && bytes[at - 1] == b'\r' {
                at - 1
            } else {
                at
            };
            if col < columns {
                self.cols[col].push(matcher::Field::new(field, end));
            } else {
                extra = true;
            }
            col += 1;
            field = at + 1;
            if newline {
                self.rows += 1;
                if col != columns || extra {
                    for c in self.cols.iter_mut().skip(col.min(columns)) {
                        c.push(matcher::Field::MISSING);
                    }
                    self.ragged += 1;
                    if self.ragged_at.len() < 5 {
                        self.ragged_at.push(base + line as u64);
                    }
                }
                col = 0;
                extra = false;
                line = at + 1;
            }
        }
        self.matcher.feed_fields(text, &self.cols, &self.holds);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Mode;

    /// Writes `text` as `name` in `dir`, and a full scan of it with the built-in rules.
    fn csv_full(dir: &std::path::Path, name: &str, text: &str, digest: bool) -> (Source, Request) {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let src = Source {
            path: path.clone(),
            format: Format::Csv,
            size: text.len() as u64,
        };
        let rules = crate::rules::load(&crate::rules::Sources {
            builtin: true,
            extra: vec![],
        })
        .unwrap();
        let req = Request {
            paths: vec![path],
            mode: Mode::Full,
            rules: Arc::new(rules),
            root: dir.to_path_buf(),
            show_examples: false,
            digest,
            tables: Vec::new(),
            progress: Default::default(),
        };
        (src, req)
    }

    /// Full scans report the bytes and rows they have read as they go: every data byte and
    /// every row by the line reader, every row by DataFusion's reader (a quoted file).
    #[test]
    fn full_scans_report_the_bytes_and_rows_they_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("id,mail\n");
        for i in 0..50_000u64 {
            text.push_str(&format!("{i},u{i}@example.com\n"));
        }
        let (src, req) = csv_full(dir.path(), "plain.csv", &text, false);
        let header = source::csv_header(&src).unwrap();
        scan_csv_lines(&req, &src, &header, 1024)
            .unwrap()
            .expect("no quotes");
        let r = req.progress.reading();
        assert_eq!((r.bytes, r.rows), (text.len() as u64 - 8, 50_000));
        // The quote comes after more than a block of lines: what the line reader counted of
        // them before it gave the file up is not counted twice.
        assert!(text.len() > BLOCK);
        let quoted = format!("{text}\"50000\",x@example.com\n");
        let (src, req) = csv_full(dir.path(), "quoted.csv", &quoted, false);
        scan_full(&req, &src).unwrap();
        assert_eq!(req.progress.reading().rows, 50_001);
    }

    /// Once the other rules have left a column, only the sparse ones ask its values, and the
    /// e-mail rule only where an `@` was seen in that column's run (by the splitter, or in an
    /// array's bytes): one short address among 80,000 order states, past the point where the
    /// other rules left, is still counted, with blocks of 1 KB (the `@` in one block of
    /// hundreds), of 4 MB, and by DataFusion's reader (block 0 below). Runs of states too
    /// short for any rule are only counted: null-like states among them are not.
    #[test]
    fn one_address_in_a_column_without_at_signs_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("id,state,mail\n");
        let mut present = 0;
        for i in 0..80_000u64 {
            let state = if i == 70_001 {
                "ro@ex.de"
            } else if i % 97 == 0 {
                ["", "NA", " - ", "NULL", " n/a "][i as usize / 97 % 5]
            } else {
                ["open", "shipped", "returned"][i as usize % 3]
            };
            present += (i == 70_001 || i % 97 != 0) as u64;
            text.push_str(&format!("{i},{state},u{i}@example.com\n"));
        }
        let (src, req) = csv_full(dir.path(), "orders.csv", &text, false);
        let rules = req.rules.clone();
        let header = source::csv_header(&src).unwrap();
        let frame = scan_frame_full(&req, &src).unwrap().0;
        for (block, m) in [(1024, None), (BLOCK, None), (0, Some(frame))] {
            let m = m.unwrap_or_else(|| {
                scan_csv_lines(&req, &src, &header, block)
                    .unwrap()
                    .expect("no quotes")
                    .0
            });
            let state = &m.columns[1];
            let counter = |id: &str| {
                state
                    .value
                    .iter()
                    .find(|c| rules.rules[c.rule].id == id)
                    .unwrap_or_else(|| panic!("a counter of {id}"))
            };
            let email = counter("email-address");
            assert_eq!(
                (email.matched, email.examined, state.non_null),
                (1, present, present),
                "blocks of {block}"
            );
            let stayed: Vec<&str> = state
                .value
                .iter()
                .filter(|c| !c.sparse && c.examined == present)
                .map(|c| rules.rules[c.rule].id.as_str())
                .collect();
            assert!(
                stayed.is_empty(),
                "only the sparse rules saw every value, blocks of {block}: {stayed:?}"
            );
        }
    }

    /// The line-by-line CSV reader counts exactly what DataFusion's reader counts, on a file
    /// with blank lines, `\r\n` endings, short rows, empty and null-like fields, non-ASCII text,
    /// a line longer than a block and free text holding identifiers (fewer rows than a rule
    /// needs to be dropped, so both see every value); with blocks of 1 KB (lines cut across
    /// blocks, blocks shared between workers) it counts, warns and hashes as with one block.
    #[test]
    fn the_line_reader_counts_as_datafusion_does() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("id;email;phone;iban;note;city\n");
        for i in 0..15_000u64 {
            let line = match i % 11 {
                0 => String::new(),
                1 => format!("{i};user{i}@example.com\r"),
                5 if i == 5 => format!("{i};a@b.de;;;{};x", "long note ".repeat(500)),
                // One e-mail address in a column of cities: the only `@` of that column, in
                // one block of many (the splitter's screen must not hide it).
                3 if i == 7_780 => format!("{i};u@example.com;;;;rare.one@example.de"),
                2 => format!("{i};;NULL;N/A;;Zürich"),
                _ => format!(
                    "{i};User.{i}@Example.ORG;+49 30 {:07};DE89370400440532013000;call me at +49 30 1234567 or mail a{i}@b.de;Łódź",
                    i * 7919 % 10_000_000
                ),
            };
            text.push_str(&line);
            text.push('\n');
        }
        let (src, req) = csv_full(dir.path(), "people.csv", &text, true);
        let header = source::csv_header(&src).unwrap();
        let (lines, read, digest) = scan_csv_lines(&req, &src, &header, BLOCK)
            .unwrap()
            .expect("no quotes");
        assert_eq!(digest, Some(crate::source::digest_file(&src.path).unwrap()));
        let (small, small_read, small_digest) = scan_csv_lines(&req, &src, &header, 1024)
            .unwrap()
            .expect("no quotes");
        assert_eq!(small.counts(), lines.counts());
        assert_eq!(small_read.rows, read.rows);
        assert_eq!(small_read.warnings, read.warnings);
        assert_eq!(small_digest, digest);
        let (frame, frame_read) = scan_frame_full(&req, &src).unwrap();
        assert_eq!(read.rows, frame_read.rows);
        assert_eq!(read.rows, 15_000 - 15_000 / 11 - 1);
        assert_eq!(lines.counts(), frame.counts());
        assert!(
            read.warnings[0].contains("ragged row(s)")
                && read.warnings[0].contains("line 3, line 14, line 25, line 36, line 47"),
            "{:?}",
            read.warnings
        );
        assert!(
            lines.counts()[1].2.iter().any(|&(m, _)| m > 10_000),
            "the e-mail column matched"
        );
        for m in [&lines, &small, &frame] {
            let city = &m.columns[5];
            let email = city
                .value
                .iter()
                .find(|c| req.rules.rules[c.rule].id == "email-address")
                .expect("a sparse e-mail counter");
            assert_eq!((email.matched, email.examined), (1, city.non_null));
        }
        // A quote byte anywhere: the line reader steps aside.
        std::fs::write(&src.path, format!("{text}1;\"quoted\";x;y;z;w\n")).unwrap();
        let src = Source {
            size: std::fs::metadata(&src.path).unwrap().len(),
            ..src
        };
        assert!(
            scan_csv_lines(&req, &src, &header, BLOCK)
                .unwrap()
                .is_none()
        );
        assert!(scan_csv_lines(&req, &src, &header, 1024).unwrap().is_none());
    }
}
