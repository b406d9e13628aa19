//! The shape of the code: the top-level modules of `src/` depend on each other without a
//! circle, so each can be read, tested and changed from the bottom up (the ledger's vocabulary
//! and the data-access layer at the bottom, the stages above them, the command line on top).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The top-level modules each module's files name as `crate::x`, outside comments and unit tests.
fn dependencies(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut modules = BTreeSet::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name != "main"
            && name != "lib"
            && (path.is_dir() || name.len() + 3 == path.file_name().unwrap().len())
        {
            modules.insert(name);
        }
    }
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for module in &modules {
        let mut files = Vec::new();
        let file = src.join(format!("{module}.rs"));
        if file.is_file() {
            files.push(file);
        }
        let dir = src.join(module);
        if dir.is_dir() {
            let mut todo = vec![dir];
            while let Some(d) = todo.pop() {
                for entry in std::fs::read_dir(d).unwrap() {
                    let path = entry.unwrap().path();
                    if path.is_dir() {
                        todo.push(path);
                    } else if path.extension().is_some_and(|e| e == "rs") {
                        files.push(path);
                    }
                }
            }
        }
        let mine = deps.entry(module.clone()).or_default();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (at, _) in line.match_indices("crate::") {
                    let name: String = line[at + "crate::".len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if modules.contains(&name) && &name != module {
                        mine.insert(name);
                    }
                }
            }
        }
    }
    deps
}

#[test]
fn no_import_circle_between_the_modules() {
    let deps = dependencies(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(deps.len() > 10, "{deps:?}");
    for start in deps.keys() {
        // Every path from `start`, followed: none returns to it.
        let mut todo: Vec<(String, Vec<String>)> = deps[start]
            .iter()
            .map(|d| (d.clone(), vec![start.clone(), d.clone()]))
            .collect();
        let mut seen = BTreeSet::new();
        while let Some((next, path)) = todo.pop() {
            assert_ne!(&next, start, "an import circle: {}", path.join(" -> "));
            if seen.insert(next.clone()) {
                for d in &deps[&next] {
                    let mut longer = path.clone();
                    longer.push(d.clone());
                    todo.push((d.clone(), longer));
                }
            }
        }
    }
    // The typed core and the data-access layer are at the bottom.
    for stage in [
        "scan",
        "lineage",
        "propagate",
        "policy",
        "subject",
        "report",
        "cli",
    ] {
        assert!(!deps["ledger"].contains(stage), "ledger uses {stage}");
        assert!(!deps["source"].contains(stage), "source uses {stage}");
    }
}
