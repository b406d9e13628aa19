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
use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use datafusion::parquet::file::metadata::ParquetMetaData;
use sha2::{Digest, Sha256};

use crate::source::ScanError;
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
    /// The columns, with the types the file gives them.
    pub fields: Vec<(String, DataType)>,
    /// The footer, read once, with the schema batches are read in: text columns whose every
    /// page is dictionary-encoded come as dictionary arrays (their keys, and each distinct
    /// value once), the others as the file gives them.
    meta: ArrowReaderMetadata,
}

impl ParquetRowGroups {
    pub fn open(src: &Source) -> Result<ParquetRowGroups, ScanError> {
        let fail = |e| source::read_error(&src.path, e);
        let file =
            ArrowReaderMetadata::load(&open(src)?, ArrowReaderOptions::new()).map_err(fail)?;
        let parquet = file.metadata().clone();
        let schema = file.schema();
        let keyed = schema.fields().iter().map(|f| {
            let keep = matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8)
                && all_dictionary(&parquet, f.name());
            let f = f.as_ref().clone();
            match keep {
                true => {
                    let of = f.data_type().clone();
                    f.with_data_type(DataType::Dictionary(
                        Box::new(DataType::Int32),
                        Box::new(of),
                    ))
                }
                false => f,
            }
        });
        let keyed = Arc::new(Schema::new_with_metadata(
            keyed.collect::<Vec<_>>(),
            schema.metadata().clone(),
        ));
        let meta = ArrowReaderMetadata::try_new(
            parquet.clone(),
            ArrowReaderOptions::new().with_schema(keyed),
        )
        .map_err(fail)?;
        Ok(ParquetRowGroups {
            src: src.clone(),
            groups: parquet.num_row_groups(),
            declared_rows: parquet.file_metadata().num_rows().max(0) as u64,
            fields: schema
                .fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().clone()))
                .collect(),
            meta,
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
        let reader =
            ParquetRecordBatchReaderBuilder::new_with_metadata(open(&self.src)?, self.meta.clone())
                .with_row_groups(groups)
                .with_batch_size(batch_size)
                .build()
                .map_err(|e| source::read_error(&path, e))?;
        Ok(reader.map(move |b| b.map_err(|e| source::read_error(&path, e))))
    }
}

/// Whether the top-level column `name` is dictionary-encoded on every data page of every row
/// group, as its footer says (the page encoding statistics, as a mask or in full). A column
/// whose writer fell back to plain pages is not: reading it as a dictionary would build one.
fn all_dictionary(meta: &ParquetMetaData, name: &str) -> bool {
    use datafusion::parquet::basic::{Encoding, PageType};
    let columns = meta.file_metadata().schema_descr().columns();
    let Some(at) = columns.iter().position(|c| c.path().parts() == [name]) else {
        return false;
    };
    let keyed = |e: Encoding| matches!(e, Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY);
    meta.row_groups().iter().all(|group| {
        let chunk = group.column(at);
        chunk.dictionary_page_offset().is_some()
            && match (
                chunk.page_encoding_stats_mask(),
                chunk.page_encoding_stats(),
            ) {
                (Some(mask), _) => {
                    mask.is_only(Encoding::PLAIN_DICTIONARY)
                        || mask.is_only(Encoding::RLE_DICTIONARY)
                }
                (None, Some(stats)) => stats.iter().all(|s| {
                    !matches!(s.page_type, PageType::DATA_PAGE | PageType::DATA_PAGE_V2)
                        || keyed(s.encoding)
                }),
                (None, None) => false,
            }
    })
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

    /// A text column dictionary-encoded on every page comes as a dictionary array (the same
    /// values); one whose writer fell back to plain pages (too many distinct values), a number
    /// column and the reported types stay as the file has them.
    #[test]
    fn text_columns_encoded_as_dictionaries_are_read_as_dictionaries() {
        use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray};
        use datafusion::parquet::arrow::ArrowWriter;
        use datafusion::parquet::file::properties::WriterProperties;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let n = 20_000;
        let country: Vec<&str> = (0..n).map(|i| ["DE", "FR", "NL"][i % 3]).collect();
        let unique: Vec<String> = (0..n).map(|i| format!("C{i:07}")).collect();
        let batch = RecordBatch::try_from_iter([
            (
                "country",
                Arc::new(StringArray::from(country.clone())) as ArrayRef,
            ),
            (
                "id",
                Arc::new(StringArray::from(unique.clone())) as ArrayRef,
            ),
            (
                "n",
                Arc::new(Int64Array::from_iter_values(0..n as i64)) as ArrayRef,
            ),
        ])
        .unwrap();
        let props = WriterProperties::builder()
            .set_dictionary_page_size_limit(4096)
            .set_max_row_group_row_count(Some(8_192))
            .build();
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), batch.schema(), Some(props))
            .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let groups = ParquetRowGroups::open(&Source::open(&path).unwrap()).unwrap();
        assert_eq!(groups.groups, 3);
        let types: Vec<&DataType> = groups.fields.iter().map(|(_, t)| t).collect();
        assert_eq!(types, [&DataType::Utf8, &DataType::Utf8, &DataType::Int64]);
        let (mut got_country, mut got_id) = (Vec::new(), Vec::new());
        for batch in groups.read((0..3).collect(), 5_000).unwrap() {
            let batch = batch.unwrap();
            let c = batch.column(0);
            assert!(matches!(c.data_type(), DataType::Dictionary(..)), "{c:?}");
            let c = c.as_any_dictionary();
            let values = c.values().as_string::<i32>();
            got_country.extend(
                c.normalized_keys()
                    .iter()
                    .map(|&k| values.value(k).to_string()),
            );
            assert_eq!(batch.column(1).data_type(), &DataType::Utf8);
            got_id.extend(
                batch
                    .column(1)
                    .as_string::<i32>()
                    .iter()
                    .map(|v| v.unwrap().to_string()),
            );
            assert_eq!(batch.column(2).data_type(), &DataType::Int64);
        }
        assert_eq!(got_country, country);
        assert_eq!(got_id, unique);
    }
}
