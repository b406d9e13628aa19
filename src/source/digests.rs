//! The digest cache: a file hashed once is not hashed again while it is unchanged, as git's
//! index does it. `.piitrail/digests.json` keeps, per file (by canonical path), its size,
//! modification and change times (nanoseconds), inode and device as they were when it was
//! hashed, and the digest. A file whose stat differs in any of them is hashed again: a change
//! that keeps the size and puts the modification time back still moves the change time (which
//! no program can set) and a file replaced by another has another inode.
//!
//! A file changed in the same clock tick as the stat that was kept would look unchanged (a
//! "racily clean" entry): only files whose last change is [`SETTLED`] older than the moment
//! their hashing began are kept. Entries are kept only on Unix, where the change time and the
//! inode exist; elsewhere every file is hashed.
//!
//! The cache serves whatever hashes a file of a project that has a `.piitrail/` folder: `scan`,
//! `gate`, `run`, `record`, `ingest`, and the steps a subject request re-runs; `--no-cache`
//! ([`bypass`]) hashes everything. `verify --artifacts` never asks it: it is the proof that the
//! files are what the ledger says, and the cache is only as trustworthy as the folder it lies in.
//! A cache that cannot be read is started afresh; one that cannot be written is reported and left.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::source::ScanError;

/// How long before its hashing began a file must have last changed for its stat to be kept.
pub const SETTLED: Duration = Duration::from_secs(2);

/// The most files a cache keeps: past it, the entries hashed longest ago leave first.
const MOST: usize = 100_000;

/// A file as `stat` saw it: what must all be the same for its digest to be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
    pub dev: u64,
}

impl Stamp {
    /// The stamp of a file's metadata; `None` where the platform has no change time or inode.
    #[cfg(unix)]
    pub fn of(meta: &std::fs::Metadata) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        // Nanoseconds since 1970 fit in an i64 until 2262.
        let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
        Some(Stamp {
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
            ino: meta.ino(),
            dev: meta.dev(),
        })
    }

    #[cfg(not(unix))]
    pub fn of(_meta: &std::fs::Metadata) -> Option<Stamp> {
        None
    }

    /// Whether the file last changed at least [`SETTLED`] before `started`.
    fn settled_before(&self, started: SystemTime) -> bool {
        let Ok(since) = started.duration_since(SystemTime::UNIX_EPOCH) else {
            return false;
        };
        let limit = i64::try_from(since.saturating_sub(SETTLED).as_nanos()).unwrap_or(i64::MAX);
        self.mtime_ns < limit && self.ctime_ns < limit
    }
}

/// One file's kept digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    #[serde(flatten)]
    stamp: Stamp,
    digest: String,
    /// When its hashing began (Unix nanoseconds): which entries leave first.
    hashed_ns: i64,
}

/// `.piitrail/digests.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    version: u32,
    files: BTreeMap<String, Entry>,
}

/// One project's cache: what its file held when it was opened, and what this process learnt.
#[derive(Debug)]
pub struct Cache {
    path: PathBuf,
    known: BTreeMap<String, Entry>,
    learnt: Mutex<BTreeMap<String, Entry>>,
}

static BYPASS: AtomicBool = AtomicBool::new(false);

/// Every file is hashed, none is looked up or kept (`--no-cache`), for the rest of the process.
pub fn bypass() {
    BYPASS.store(true, Ordering::Relaxed);
}

/// The caches opened by this process, by project folder.
fn caches() -> &'static Mutex<BTreeMap<PathBuf, Arc<Cache>>> {
    static CACHES: OnceLock<Mutex<BTreeMap<PathBuf, Arc<Cache>>>> = OnceLock::new();
    CACHES.get_or_init(Default::default)
}

impl Cache {
    /// The cache of the project at `root`, opened once per process: `None` when it is bypassed
    /// or the project has no `.piitrail/` folder (a folder scanned outside any project gets no
    /// file written into it).
    pub fn of(root: &Path) -> Option<Arc<Cache>> {
        if BYPASS.load(Ordering::Relaxed) {
            return None;
        }
        let dir = root.join(".piitrail");
        if !dir.is_dir() {
            return None;
        }
        let key = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        let mut all = caches().lock().unwrap_or_else(|e| e.into_inner());
        let cache = all.entry(key).or_insert_with(|| {
            let path = dir.join("digests.json");
            Arc::new(Cache {
                known: read(&path).files,
                path,
                learnt: Mutex::default(),
            })
        });
        Some(cache.clone())
    }

    /// The kept digest of the file at `path` (canonical) if its stat is still `now`.
    fn get(&self, path: &str, now: &Stamp) -> Option<String> {
        let learnt = self.learnt.lock().unwrap_or_else(|e| e.into_inner());
        learnt
            .get(path)
            .or_else(|| self.known.get(path))
            .filter(|e| e.stamp == *now)
            .map(|e| e.digest.clone())
    }

    fn put(&self, path: String, stamp: Stamp, digest: &str, started: SystemTime) {
        let hashed_ns = started
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let entry = Entry {
            stamp,
            digest: digest.to_string(),
            hashed_ns,
        };
        let mut learnt = self.learnt.lock().unwrap_or_else(|e| e.into_inner());
        learnt.insert(path, entry);
    }

    /// Writes what this process learnt into the cache file (atomically, over what is there now:
    /// another process's entries stay). Nothing is written when nothing was learnt.
    fn save(&self) -> std::io::Result<()> {
        let learnt = std::mem::take(&mut *self.learnt.lock().unwrap_or_else(|e| e.into_inner()));
        if learnt.is_empty() {
            return Ok(());
        }
        let mut stored = read(&self.path);
        stored.version = 1;
        stored.files.extend(learnt);
        if stored.files.len() > MOST {
            let mut by_age: Vec<(i64, String)> = stored
                .files
                .iter()
                .map(|(k, e)| (e.hashed_ns, k.clone()))
                .collect();
            by_age.sort();
            for (_, k) in by_age.iter().take(stored.files.len() - MOST) {
                stored.files.remove(k);
            }
        }
        let bytes = serde_json::to_vec(&stored).map_err(std::io::Error::other)?;
        crate::fsio::write_atomic(&self.path, &bytes)
    }
}

/// The cache file as stored; empty when it is missing or cannot be read as one (it is only a
/// cache: every file it would have known is hashed again, and it is rewritten).
fn read(path: &Path) -> Stored {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Stored>(&b).ok())
        .filter(|s| s.version == 1)
        .unwrap_or_default()
}

/// Writes every cache this process opened; the files that could not be written, with why.
pub fn save_all() -> Vec<(PathBuf, std::io::Error)> {
    let all = caches().lock().unwrap_or_else(|e| e.into_inner());
    all.values()
        .filter_map(|c| c.save().err().map(|e| (c.path.clone(), e)))
        .collect()
}

/// The digest of the file at `path` (`sha256:...`), from the cache of the project at `root`
/// when the file is as it was when it was last hashed, else hashed (and kept when it has
/// settled and did not change while it was read).
pub fn digest(path: &Path, root: &Path) -> Result<String, ScanError> {
    let Some(cache) = Cache::of(root) else {
        return super::digest_file(path);
    };
    cached(&cache, path, || super::digest_file(path))
}

/// [`digest`], reporting the bytes it hashes to `meter`.
pub fn digest_counted(
    path: &Path,
    root: &Path,
    meter: &crate::progress::Meter,
) -> Result<String, ScanError> {
    let hash = || super::digest_file_with(path, &mut |n| meter.add(n, 0));
    match Cache::of(root) {
        Some(cache) => cached(&cache, path, hash),
        None => hash(),
    }
}

/// A file hashed by `hash` (which must read the whole file at `path`), looked up in and kept
/// by `cache` as [`digest`] does: for callers that hash a file while reading it for another
/// purpose (a full scan), and ask the cache first.
pub fn cached(
    cache: &Cache,
    path: &Path,
    hash: impl FnOnce() -> Result<String, ScanError>,
) -> Result<String, ScanError> {
    let Some((key, before)) = look(path) else {
        return hash();
    };
    if let Some(digest) = cache.get(&key, &before) {
        return Ok(digest);
    }
    let started = SystemTime::now();
    let digest = hash()?;
    keep(cache, key, before, started, &digest);
    Ok(digest)
}

/// The digest of the file at `path` if the cache of the project at `root` knows it as the file
/// is now; nothing is hashed.
pub fn known(path: &Path, root: &Path) -> Option<String> {
    let cache = Cache::of(root)?;
    let (key, now) = look(path)?;
    cache.get(&key, &now)
}

/// The cached digest of the file at `path` when it is unchanged, and otherwise what a later
/// [`Pending::keep`] needs: for readers that hash as they read.
pub fn lookup(cache: &Cache, path: &Path) -> Result<String, Pending> {
    let started = SystemTime::now();
    match look(path) {
        Some((key, before)) => match cache.get(&key, &before) {
            Some(digest) => Ok(digest),
            None => Err(Pending(Some((key, before, started)))),
        },
        None => Err(Pending(None)),
    }
}

/// A file looked up and not found: its stat before it was read, to keep its digest after.
#[derive(Debug)]
pub struct Pending(Option<(String, Stamp, SystemTime)>);

impl Pending {
    /// Keeps `digest`, computed by reading the whole file since the lookup, if the file did not
    /// change meanwhile and had settled.
    pub fn keep(self, cache: &Cache, digest: &str) {
        if let Some((key, before, started)) = self.0 {
            keep(cache, key, before, started, digest);
        }
    }
}

/// The canonical path and stamp of a regular file, when the platform gives one.
fn look(path: &Path) -> Option<(String, Stamp)> {
    let canonical = std::fs::canonicalize(path).ok()?;
    let meta = std::fs::metadata(&canonical).ok()?;
    if !meta.is_file() {
        return None;
    }
    let key = canonical.to_str()?.to_string();
    Some((key, Stamp::of(&meta)?))
}

fn keep(cache: &Cache, key: String, before: Stamp, started: SystemTime, digest: &str) {
    let after = std::fs::metadata(&key).ok().and_then(|m| Stamp::of(&m));
    if after == Some(before) && before.settled_before(started) {
        cache.put(key, before, digest, started);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn settled_file(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A file changed in the last [`SETTLED`] is never kept; a settled one is, until its stat
    /// changes in any field; an unreadable cache file is started afresh.
    #[test]
    fn only_settled_unchanged_files_are_reused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache {
            path: dir.path().join("digests.json"),
            known: BTreeMap::new(),
            learnt: Mutex::default(),
        };
        let path = settled_file(dir.path(), "a.csv", "a,b\n1,2\n");
        let real = super::super::digest_file(&path).unwrap();
        let fake = || Ok::<_, ScanError>("sha256:fake".to_string());
        // Fresh: hashed, not kept.
        assert_eq!(cached(&cache, &path, fake).unwrap(), "sha256:fake");
        assert_eq!(cached(&cache, &path, || Ok(real.clone())).unwrap(), real);
        assert!(
            cache.learnt.lock().unwrap().is_empty(),
            "a fresh file is not kept"
        );
        // As if hashing had begun a while after the file last changed: kept, then reused.
        let (key, before) = look(&path).unwrap();
        let later = SystemTime::now() + SETTLED + Duration::from_millis(10);
        keep(&cache, key.clone(), before, later, &real);
        assert_eq!(cached(&cache, &path, fake).unwrap(), real, "reused");
        // Same size, modification time put back: the change time tells.
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::fs::write(&path, "a,b\n3,4\n").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        let now = look(&path).unwrap().1;
        assert_eq!((now.size, now.mtime_ns), (before.size, before.mtime_ns));
        assert_ne!(now.ctime_ns, before.ctime_ns);
        assert_eq!(
            cached(&cache, &path, fake).unwrap(),
            "sha256:fake",
            "hashed"
        );
        // Saved and read back; a damaged file reads as empty.
        keep(&cache, key.clone(), now, later, "sha256:new");
        cache.save().unwrap();
        assert_eq!(read(&cache.path).files[&key].digest, "sha256:new");
        std::fs::write(&cache.path, "{not json").unwrap();
        assert!(read(&cache.path).files.is_empty());
    }
}
