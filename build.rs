//! Embeds every `rules/*.toml` file into the binary. `include_str!` makes cargo rebuild when a
//! file changes; `rerun-if-changed` on the folder picks up files that are added or removed.
use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=rules");
    let mut files: Vec<_> = fs::read_dir("rules")
        .expect("rules/ exists in the crate")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out = String::from(
        "/// Built-in rule files: (file name, contents).\npub const BUILTIN_FILES: &[(&str, &str)] = &[\n",
    );
    for p in files {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        // Relative to the crate being compiled, not this checkout's absolute path: a target
        // folder shared by two checkouts must not read the other's (perhaps deleted) files.
        out.push_str(&format!(
            "    ({name:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/rules/\", {name:?}))),\n"
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("builtin_rules.rs");
    fs::write(dest, out).unwrap();
}
