//! The data-access layer (issue 16): only `src/source/` opens data files, reads or writes
//! their formats, opens databases and builds the async runtime. A ratchet: the modules that
//! still do it themselves are listed here, each with what is left, and the list only shrinks.

use std::path::Path;

/// What opening or decoding data looks like in code.
const DATA_ACCESS: &[&str] = &[
    "File::open",
    "Source::open",
    "ParquetRecordBatchReaderBuilder",
    "read_text_frame",
    "Connection::open",
    "Runtime::new",
    "runtime::Builder",
    // Writing a data format (calling the data layer's `write_stream` is using it).
    "csv::WriterBuilder",
    "LineDelimitedWriter",
    "ArrowWriter",
    "writer::FileWriter",
    "ipc::reader::FileReader",
];

/// Modules outside `src/source/` allowed to, and why.
const NOT_YET: &[(&str, &str)] = &[
    // The ledger and the atomic-write helper open their own files, which are not data.
    ("src/ledger/chain.rs", "the ledger file"),
    ("src/fsio.rs", "a folder, to sync it"),
    // An ML Metadata store is lineage to import, not data to audit.
    ("src/lineage/mlmd.rs", "the MLMD store"),
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn only_the_data_layer_opens_data() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut offenders = Vec::new();
    let mut used = vec![false; NOT_YET.len()];
    for f in &files {
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel.starts_with("src/source/") {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or(&text);
        let hits: Vec<&str> = DATA_ACCESS
            .iter()
            .copied()
            .filter(|p| code.contains(p))
            .collect();
        if hits.is_empty() {
            continue;
        }
        match NOT_YET.iter().position(|(m, _)| *m == rel) {
            Some(i) => used[i] = true,
            None => offenders.push(format!("{rel}: {hits:?}")),
        }
    }
    assert!(
        offenders.is_empty(),
        "data is opened outside src/source/: {offenders:?}"
    );
    for ((m, why), used) in NOT_YET.iter().zip(used) {
        assert!(
            used,
            "{m} ({why}) no longer opens data itself: take it off NOT_YET"
        );
    }
}
