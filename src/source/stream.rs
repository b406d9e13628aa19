//! Whole files read fast, for full scans: a CSV file in blocks of whole lines, hashed as it is
//! read (the artifact's digest comes at no extra pass), and a Parquet file by row groups with
//! the parquet crate's synchronous reader, page by page (DataFusion's async reader fetches a
//! whole row group's column chunks per partition at once). The scanner decides what to do with
//! the blocks and batches and on which threads; this module only reads.

use std::fs::File;
use std::io::Read as _;
use std::path::PathBuf;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};

use crate::scan::ScanError;
use crate::source::{self, Source};

fn open(src: &Source) -> Result<File, ScanError> {
    File::open(&src.path).map_err(|e| ScanError::Open {
        path: src.path.clone(),
        source: e,
    })
}

/// A text file from `start` on, in blocks of whole lines of about `block` bytes (a longer
/// line makes a longer block). Every byte of the file, the ones before `start` too, goes into
/// the digest when one is asked for.
pub struct LineBlocks {
    file: File,
    path: PathBuf,
    block: usize,
    hasher: Option<Sha256>,
    /// A partial line read with the last block, for the next one.
    carry: Vec<u8>,
    /// File offset of the next block's first byte.
    base: u64,
    done: bool,
}

impl LineBlocks {
    pub fn open(
        src: &Source,
        start: u64,
        block: usize,
        digest: bool,
    ) -> Result<LineBlocks, ScanError> {
        let mut file = open(src)?;
        let mut hasher = digest.then(Sha256::new);
        // The bytes before `start` (a header line) only go into the digest.
        let mut head = vec![0u8; start as usize];
        file.read_exact(&mut head)
            .map_err(|e| source::read_error(&src.path, e))?;
        if let Some(h) = &mut hasher {
            h.update(&head);
        }
        Ok(LineBlocks {
            file,
            path: src.path.clone(),
            block,
            hasher,
            carry: Vec::new(),
            base: start,
            done: false,
        })
    }

    /// Fills `buf` (reused: it grows, never shrinks) with the next whole lines; returns how
    /// many bytes of it hold them and the file offset of the first, or `None` at the end. The
    /// last block ends where the file does, with or without a newline.
    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> Result<Option<(usize, u64)>, ScanError> {
        while !self.done {
            let want = self.carry.len() + self.block;
            if buf.len() < want {
                buf.resize(want, 0);
            }
            let start = self.carry.len();
            buf[..start].copy_from_slice(&self.carry);
            let mut len = start;
            while len < buf.len() {
                match self.file.read(&mut buf[len..]) {
                    Ok(0) => break,
                    Ok(n) => len += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(source::read_error(&self.path, e)),
                }
            }
            if let Some(h) = &mut self.hasher {
                h.update(&buf[start..len]);
            }
            self.done = len < buf.len();
            // Whole lines only, unless the file ends here.
            let upto = if self.done {
                len
            } else {
                memchr::memrchr(b'\n', &buf[start..len]).map_or(0, |i| start + i + 1)
            };
            self.carry.clear();
            self.carry.extend_from_slice(&buf[upto..len]);
            if upto > 0 {
                let base = self.base;
                self.base += upto as u64;
                return Ok(Some((upto, base)));
            }
            // No line end yet (a line longer than the block): read on.
        }
        Ok(None)
    }

    /// The file's digest (`sha256:...`) once every block was read, when one was asked for.
    pub fn digest(self) -> Option<String> {
        if !self.done {
            return None;
        }
        self.hasher.map(source::digest_string)
    }
}

/// A Parquet file's row groups, each read page by page by the parquet crate.
pub struct ParquetRowGroups {
    src: Source,
    pub groups: usize,
    /// The row count its footer declares.
    pub declared_rows: u64,
    pub fields: Vec<(String, DataType)>,
}

impl ParquetRowGroups {
    pub fn open(src: &Source) -> Result<ParquetRowGroups, ScanError> {
        let builder = ParquetRecordBatchReaderBuilder::try_new(open(src)?)
            .map_err(|e| source::read_error(&src.path, e))?;
        let meta = builder.metadata();
        Ok(ParquetRowGroups {
            src: src.clone(),
            groups: meta.num_row_groups(),
            declared_rows: meta.file_metadata().num_rows().max(0) as u64,
            fields: builder
                .schema()
                .fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().clone()))
                .collect(),
        })
    }

    /// The batches of the row groups `groups`, in order, through a reader of its own (one per
    /// thread).
    pub fn read(
        &self,
        groups: Vec<usize>,
        batch_size: usize,
    ) -> Result<impl Iterator<Item = Result<RecordBatch, ScanError>> + use<>, ScanError> {
        let path = self.src.path.clone();
        let reader = ParquetRecordBatchReaderBuilder::try_new(open(&self.src)?)
            .and_then(|b| {
                b.with_row_groups(groups)
                    .with_batch_size(batch_size)
                    .build()
            })
            .map_err(|e| source::read_error(&path, e))?;
        Ok(reader.map(move |b| b.map_err(|e| source::read_error(&path, e))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks hold whole lines, in order, with the right offsets, whatever the block size
    /// (lines longer than a block, a last line without a newline); the digest is the file's.
    #[test]
    fn line_blocks_cut_at_line_ends_and_hash_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut text = String::from("a,b\n");
        for i in 0..300 {
            text.push_str(&format!("{i},{}\n", "x".repeat(i % 37)));
        }
        text.push_str("last,line");
        std::fs::write(&path, &text).unwrap();
        let src = Source::open(&path).unwrap();
        let want = {
            let mut h = Sha256::new();
            h.update(text.as_bytes());
            source::digest_string(h)
        };
        for block in [1, 7, 64, 1 << 20] {
            let mut blocks = LineBlocks::open(&src, 4, block, true).unwrap();
            let mut buf = Vec::new();
            let mut read = String::new();
            while let Some((len, base)) = blocks.next_into(&mut buf).unwrap() {
                assert_eq!(base as usize, 4 + read.len(), "block {block}");
                let part = std::str::from_utf8(&buf[..len]).unwrap();
                assert!(
                    part.ends_with('\n') || part.ends_with("last,line"),
                    "{part:?}"
                );
                read.push_str(part);
            }
            assert_eq!(read, text[4..], "block {block}");
            assert_eq!(blocks.digest().as_deref(), Some(want.as_str()));
        }
        let mut blocks = LineBlocks::open(&src, 4, 64, false).unwrap();
        while blocks.next_into(&mut Vec::new()).unwrap().is_some() {}
        assert_eq!(blocks.digest(), None, "no digest asked for");
    }
}
