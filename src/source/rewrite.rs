//! Rewriting a data file without some rows (a subject's erasure), atomically and in its own
//! format. CSV is filtered record by record, so every other row keeps its exact bytes;
//! Parquet, NDJSON and Arrow are read and written again with every other row's values
//! unchanged. The row count after must be the count before minus the rows removed, read back
//! from the new file, or nothing is replaced.

use std::collections::BTreeSet;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::{Format, Source};
use crate::source::ScanError;

/// Why a rewrite failed, in words (the file is named by [`without_rows`]).
struct Failed(String);

impl From<std::io::Error> for Failed {
    fn from(e: std::io::Error) -> Self {
        Failed(e.to_string())
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Failed + '_ {
    move |e| Failed(format!("{}: {e}", path.display()))
}

/// Copies a CSV file without the given data records (1-based), byte for byte otherwise.
/// Returns (records before, records after).
fn rewrite_csv(
    src: &Source,
    drop: &BTreeSet<u64>,
    out: &mut std::fs::File,
) -> Result<(u64, u64), Failed> {
    let header = super::csv_header(src).map_err(|e| Failed(e.to_string()))?;
    let mut copy = BufReader::new(std::fs::File::open(&src.path).map_err(io(&src.path))?);
    let mut w = std::io::BufWriter::new(out);
    // The header (and a byte-order mark) as it is.
    let mut head = vec![0u8; header.data_start as usize];
    copy.read_exact(&mut head).map_err(io(&src.path))?;
    w.write_all(&head).map_err(io(&src.path))?;
    let mut file = std::fs::File::open(&src.path).map_err(io(&src.path))?;
    file.seek(SeekFrom::Start(header.data_start))
        .map_err(io(&src.path))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(header.dialect.delimiter)
        .quote(header.dialect.quote)
        .from_reader(BufReader::new(file));
    let mut record = csv::ByteRecord::new();
    let (mut before, mut after) = (0u64, 0u64);
    let mut at = 0u64;
    loop {
        let more = rdr
            .read_byte_record(&mut record)
            .map_err(|e| Failed(format!("{}: {e}", src.path.display())))?;
        let end = rdr.position().byte();
        // Bytes up to the end of this record (blank lines before it included).
        let mut chunk = vec![0u8; (end - at) as usize];
        copy.read_exact(&mut chunk).map_err(io(&src.path))?;
        at = end;
        if !more {
            w.write_all(&chunk).map_err(io(&src.path))?;
            break;
        }
        before += 1;
        if drop.contains(&before) {
            continue;
        }
        after += 1;
        w.write_all(&chunk).map_err(io(&src.path))?;
    }
    // Anything after the last record (a trailing blank line).
    let mut rest = Vec::new();
    copy.read_to_end(&mut rest).map_err(io(&src.path))?;
    w.write_all(&rest).map_err(io(&src.path))?;
    w.flush().map_err(io(&src.path))?;
    Ok((before, after))
}

/// Rewrites Parquet, NDJSON or Arrow without the given rows (1-based, file order).
fn rewrite_frame(
    src: &Source,
    drop: &BTreeSet<u64>,
    out: &mut std::fs::File,
) -> Result<(u64, u64), Failed> {
    use datafusion::arrow::array::BooleanArray;
    use datafusion::arrow::compute::filter_record_batch;
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
    use futures::StreamExt;
    let format = super::write::Output::of(&src.path).map_err(Failed)?;
    let runtime = super::runtime().map_err(|e| Failed(e.to_string()))?;
    let ctx = super::frame::ordered_session();
    runtime.block_on(async {
        let df = super::frame::read_text_frame(&ctx, src)
            .await
            .map_err(|e| Failed(e.to_string()))?;
        let stream = df
            .execute_stream()
            .await
            .map_err(|e| Failed(super::frame::df_error(src, e).to_string()))?;
        let schema = stream.schema();
        // The rows read, counted as they pass: "before" is what was read, not inferred.
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let drop = drop.clone();
        let counter = seen.clone();
        let filtered = stream.map(move |b| {
            let b = b?;
            let row0 = counter.fetch_add(b.num_rows() as u64, std::sync::atomic::Ordering::SeqCst);
            let keep: BooleanArray = (0..b.num_rows())
                .map(|r| Some(!drop.contains(&(row0 + r as u64 + 1))))
                .collect();
            Ok(filter_record_batch(&b, &keep)?)
        });
        let adapted = Box::pin(RecordBatchStreamAdapter::new(schema, filtered));
        let after = super::write::write_stream(adapted, format, out)
            .await
            .map_err(|e| match e {
                super::write::WriteError::Query(e) => {
                    Failed(format!("{}: {e}", src.path.display()))
                }
                super::write::WriteError::Write(m) => {
                    Failed(format!("{}: {m}", src.path.display()))
                }
            })?;
        Ok::<_, Failed>((seen.load(std::sync::atomic::Ordering::SeqCst), after))
    })
}

/// The rows of a file just written (read back from its start): the check that the rewrite
/// holds what it claims, whatever the writer said.
fn rows_written(src: &Source, file: &std::fs::File) -> Result<u64, Failed> {
    let bad = |e: &dyn std::fmt::Display| {
        Failed(format!(
            "{}: the rewritten file cannot be read back: {e}",
            src.path.display()
        ))
    };
    let mut f = file.try_clone().map_err(|e| bad(&e))?;
    f.seek(SeekFrom::Start(0)).map_err(|e| bad(&e))?;
    match src.format {
        Format::Csv => {
            let header = super::csv_header(src).map_err(|e| bad(&e))?;
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(header.headerless.is_none())
                .flexible(true)
                .delimiter(header.dialect.delimiter)
                .quote(header.dialect.quote)
                .from_reader(BufReader::new(f));
            let mut record = csv::ByteRecord::new();
            let mut n = 0u64;
            while rdr.read_byte_record(&mut record).map_err(|e| bad(&e))? {
                n += 1;
            }
            Ok(n)
        }
        Format::Parquet => {
            use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
            let b = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| bad(&e))?;
            let declared = b.metadata().file_metadata().num_rows().max(0) as u64;
            let mut n = 0u64;
            for batch in b.build().map_err(|e| bad(&e))? {
                n += batch.map_err(|e| bad(&e))?.num_rows() as u64;
            }
            if n != declared {
                return Err(bad(&format!("it declares {declared} rows and holds {n}")));
            }
            Ok(n)
        }
        Format::Arrow => {
            let r = datafusion::arrow::ipc::reader::FileReader::try_new(BufReader::new(f), None)
                .map_err(|e| bad(&e))?;
            let mut n = 0u64;
            for batch in r {
                n += batch.map_err(|e| bad(&e))?.num_rows() as u64;
            }
            Ok(n)
        }
        Format::NdJson => {
            let mut n = 0u64;
            for line in std::io::BufRead::split(BufReader::new(f), b'\n') {
                let line = line.map_err(|e| bad(&e))?;
                if !line.iter().all(u8::is_ascii_whitespace) {
                    n += 1;
                }
            }
            Ok(n)
        }
    }
}

/// Rewrites one file without `rows` (1-based, file order), atomically, in its own format;
/// checks the counts (and reads the new file back) before it replaces the old one. Returns
/// (rows before, rows after).
pub fn without_rows(path: &Path, rows: &[u64]) -> Result<(u64, u64), ScanError> {
    inner(path, rows).map_err(|Failed(message)| ScanError::Read {
        path: path.to_path_buf(),
        message,
    })
}

fn inner(path: &Path, rows: &[u64]) -> Result<(u64, u64), Failed> {
    let src = Source::open(path).map_err(|e| match e {
        ScanError::UnknownFormat(_) => Failed("not a format piitrail can rewrite".to_string()),
        e => Failed(e.to_string()),
    })?;
    let drop: BTreeSet<u64> = rows.iter().copied().collect();
    let permissions = std::fs::metadata(path).map(|m| m.permissions()).ok();
    // A symbolic link (the plan checked its target lies inside the data roots) is never
    // replaced by a file: the file it leads to is rewritten, so every later read through the
    // link, the verification search first, reads what was written.
    let target =
        std::fs::canonicalize(path).map_err(|e| Failed(format!("{}: {e}", path.display())))?;
    crate::fsio::write_atomic_with(&target, |file| {
        // The new file keeps the old one's mode.
        if let Some(p) = permissions {
            file.set_permissions(p)?;
        }
        let (before, after) = match src.format {
            Format::Csv => rewrite_csv(&src, &drop, file)?,
            _ => rewrite_frame(&src, &drop, file)?,
        };
        let written = rows_written(&src, file)?;
        if written != after {
            return Err(Failed(format!(
                "{}: {after} rows were written but the new file holds {written}; the file was left as it was",
                path.display()
            )));
        }
        if after + drop.len() as u64 != before {
            return Err(Failed(format!(
                "{}: {before} rows before, {after} after, {} to remove: the counts do not add up, the file was left as it was",
                path.display(),
                drop.len()
            )));
        }
        Ok((before, after))
    })
}
