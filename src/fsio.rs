//! The one place where piitrail writes files (a temporary file in the same folder, fsync,
//! then rename, so a reader sees the old file or the new one, never half of one) and walks
//! folders ([`walk_files`]: sorted, symbolic links followed, loops detected).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically, creating missing parent folders.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |f| f.write_all(bytes))
}

/// Writes `path` atomically with `fill`, creating missing parent folders. When `fill` fails,
/// the temporary file is removed and `path` is untouched.
pub fn write_atomic_with<T, E: From<std::io::Error>>(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> Result<T, E>,
) -> Result<T, E> {
    let (dir, mut tmp) = temporary_beside(path)?;
    let value = fill(tmp.as_file_mut())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_folder(dir);
    Ok(value)
}

/// The folder of `path` (created if missing) and a temporary file in it, named
/// `.NAME.piitrail-XXXXXX.tmp`: recognisable, so what a killed process left can be told apart
/// and cleaned up.
fn temporary_beside(path: &Path) -> std::io::Result<(&Path, tempfile::NamedTempFile)> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map_or_else(|| "file".to_string(), |n| n.to_string_lossy().into_owned());
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.piitrail-"))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    Ok((dir, tmp))
}

/// Makes a rename in `dir` durable (best effort).
fn sync_folder(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Files written together: each is written and synced to a temporary file beside its place
/// as soon as it is made, and all are put in place only by [`Staged::commit`]. Nothing is
/// written if any of them cannot be made (the temporary files go when this is dropped), and
/// no file has to be held in memory until the last is made.
#[derive(Default)]
pub struct Staged {
    files: Vec<(tempfile::NamedTempFile, PathBuf)>,
}

/// Why a staged file could not be made: writing it, or what `fill` said.
#[derive(Debug)]
pub enum StageError<E> {
    Io(std::io::Error),
    Fill(E),
}

impl Staged {
    /// Writes the file that will be `path` with `fill`, buffered.
    pub fn stage<E>(
        &mut self,
        path: &Path,
        fill: impl FnOnce(&mut dyn Write) -> Result<(), E>,
    ) -> Result<(), StageError<E>> {
        let (_, mut tmp) = temporary_beside(path).map_err(StageError::Io)?;
        {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
            fill(&mut out).map_err(StageError::Fill)?;
            out.flush().map_err(StageError::Io)?;
        }
        tmp.as_file().sync_all().map_err(StageError::Io)?;
        self.files.push((tmp, path.to_path_buf()));
        Ok(())
    }

    /// Puts every staged file in place, in the order staged: the paths, or the first that
    /// could not be put in place and why.
    pub fn commit(self) -> Result<Vec<PathBuf>, (PathBuf, std::io::Error)> {
        let mut placed = Vec::new();
        for (tmp, path) in self.files {
            tmp.persist(&path).map_err(|e| (path.clone(), e.error))?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                sync_folder(dir);
            }
            placed.push(path);
        }
        Ok(placed)
    }
}

/// Removes the temporary files that a killed [`write_atomic_with`] of `file` left beside it
/// (`.NAME.piitrail-XXXXXX.tmp`). Best effort: one that cannot be removed stays.
pub fn remove_leftovers(file: &Path) {
    let (Some(dir), Some(name)) = (file.parent(), file.file_name()) else {
        return;
    };
    let prefix = format!(".{}.piitrail-", name.to_string_lossy());
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let n = e.file_name().to_string_lossy().to_string();
        if n.starts_with(&prefix) && n.ends_with(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Why a folder could not be walked.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("{}: symbolic link loop: {} leads back to its ancestor {}", .root.display(), .link.display(), .ancestor.display())]
    Loop {
        root: PathBuf,
        link: PathBuf,
        ancestor: PathBuf,
    },
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The files under `dir`, in sorted order, for which `keep` says yes. Symbolic links are
/// followed (a linked data folder is data), and a link that leads back to one of its own
/// ancestors is an error naming it instead of an endless walk. With `skip_hidden`, names
/// starting with `.` (files and folders) are left out. Every scan, gate, ingest and MLMD
/// `input_base` walk goes through here.
pub fn walk_files(
    dir: &Path,
    skip_hidden: bool,
    mut keep: impl FnMut(&Path) -> bool,
) -> Result<Vec<PathBuf>, WalkError> {
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0 || !skip_hidden || !e.file_name().to_string_lossy().starts_with('.')
        });
    for entry in walker {
        let entry = entry.map_err(|e| walk_error(dir, e))?;
        if entry.file_type().is_file() && keep(entry.path()) {
            out.push(entry.into_path());
        }
    }
    Ok(out)
}

fn walk_error(root: &Path, e: walkdir::Error) -> WalkError {
    if let Some(ancestor) = e.loop_ancestor() {
        return WalkError::Loop {
            root: root.to_path_buf(),
            link: e.path().unwrap_or(root).to_path_buf(),
            ancestor: ancestor.to_path_buf(),
        };
    }
    let path = e.path().unwrap_or(root).to_path_buf();
    let source = e
        .into_io_error()
        .unwrap_or_else(|| std::io::Error::other("cannot walk the folder"));
    WalkError::Io { path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Staged files appear only at the commit, all of them; the files they replace stay as
    /// they were until then; a fill that fails leaves no file, temporary or not.
    #[test]
    fn staged_files_appear_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.json"), dir.path().join("b.html"));
        std::fs::write(&a, "old").unwrap();
        let mut staged = Staged::default();
        staged
            .stage(&a, |w| w.write_all(b"new a"))
            .map_err(|_| ())
            .unwrap();
        staged
            .stage(&b, |w| w.write_all(b"new b"))
            .map_err(|_| ())
            .unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "old");
        assert!(!b.exists());
        assert_eq!(staged.commit().unwrap(), [a.clone(), b.clone()]);
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new a");
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "new b");
        assert_eq!(names(dir.path()), ["a.json", "b.html"]);

        let mut staged = Staged::default();
        staged
            .stage(&a, |w| w.write_all(b"newer a"))
            .map_err(|_| ())
            .unwrap();
        let failed = staged.stage(&b, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("the renderer failed"))
        });
        assert!(matches!(failed, Err(StageError::Fill(_))));
        drop(staged);
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new a");
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "new b");
        assert_eq!(
            names(dir.path()),
            ["a.json", "b.html"],
            "no temporary file is left"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_loop_is_an_error_naming_the_link() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/x.csv"), "x\n1\n").unwrap();
        std::os::unix::fs::symlink("..", dir.path().join("a/b/up")).unwrap();
        let err = walk_files(dir.path(), true, |_| true).unwrap_err();
        assert!(matches!(err, WalkError::Loop { .. }), "{err}");
        assert!(err.to_string().contains("a/b/up"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn linked_folders_are_walked_sorted_and_hidden_names_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("real")).unwrap();
        std::fs::create_dir_all(dir.path().join("top/.hidden")).unwrap();
        std::fs::write(dir.path().join("real/b.csv"), "").unwrap();
        std::fs::write(dir.path().join("top/a.csv"), "").unwrap();
        std::fs::write(dir.path().join("top/.hidden/c.csv"), "").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("top/link")).unwrap();
        let files = walk_files(&dir.path().join("top"), true, |_| true).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| {
                p.strip_prefix(dir.path().join("top"))
                    .unwrap()
                    .to_path_buf()
            })
            .collect();
        assert_eq!(names, [PathBuf::from("a.csv"), PathBuf::from("link/b.csv")]);
    }

    #[test]
    fn replaces_content_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/a.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }
}
