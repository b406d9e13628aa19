//! Releases: the install script the GitHub Action runs (`scripts/install-piitrail`: a release
//! archive and its checksum from a web server on 127.0.0.1; a checksum that does not match
//! installs nothing; no archive for the machine builds from source instead), and the release
//! configuration kept in step (cargo-dist's targets, the script's, `cargo binstall`'s).

mod common;

use std::path::Path;

/// The targets cargo-dist builds (`dist-workspace.toml`).
fn dist_targets() -> Vec<String> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("dist-workspace.toml"))
            .expect("dist-workspace.toml");
    let config: toml::Value = toml::from_str(&text).expect("dist-workspace.toml is TOML");
    config["dist"]["targets"]
        .as_array()
        .expect("[dist] targets")
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

/// Every target a release has is one the install script names and `cargo binstall` can
/// unpack (Windows' zip), and the release workflow is cargo-dist's for this configuration
/// (`dist plan` checks that in CI).
#[test]
fn the_release_targets_are_the_install_scripts_and_binstalls() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let targets = dist_targets();
    for want in [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ] {
        assert!(targets.iter().any(|t| t == want), "{want} in {targets:?}");
    }
    let script = std::fs::read_to_string(root.join("scripts/install-piitrail")).unwrap();
    for t in &targets {
        assert!(
            script.contains(&format!("target={t} ")),
            "the script names {t}"
        );
    }
    let cargo: toml::Value =
        toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
    let binstall = &cargo["package"]["metadata"]["binstall"];
    assert_eq!(binstall["pkg-fmt"].as_str(), Some("txz"));
    assert!(
        binstall["pkg-url"]
            .as_str()
            .unwrap()
            .contains("{ target }{ archive-suffix }")
    );
    assert_eq!(
        binstall["bin-dir"].as_str(),
        Some("{ name }-{ target }/{ bin }{ binary-ext }"),
        "tarballs hold a folder named as the archive"
    );
    for t in targets.iter().filter(|t| t.contains("windows")) {
        let over = &binstall["overrides"][t];
        assert_eq!(over["pkg-fmt"].as_str(), Some("zip"), "{t}");
        assert_eq!(
            over["bin-dir"].as_str(),
            Some("{ bin }{ binary-ext }"),
            "flat zips"
        );
    }
    let workflow = std::fs::read_to_string(root.join(".github/workflows/release.yml")).unwrap();
    assert!(
        workflow.contains("dist"),
        "the release workflow is cargo-dist's"
    );
}

#[cfg(feature = "interop")]
mod install {
    use std::path::Path;
    use std::process::Command;

    use crate::common::servers::web_server;

    const TARGET: &str = "x86_64-unknown-linux-gnu";

    /// Runs the install script into `bin` against the releases at `url`.
    fn install(url: &str, target: &str, bin: &Path, fallback: &str) -> std::process::Output {
        Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-piitrail"))
            .arg(bin)
            .env("PIITRAIL_RELEASES", url)
            .env("PIITRAIL_VERSION", "9.8.7")
            .env("PIITRAIL_TARGET", target)
            .env("PIITRAIL_FALLBACK", fallback)
            .output()
            .expect("bash runs the script")
    }

    fn sha256_hex(bytes: &[u8]) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(bytes))
    }

    #[test]
    fn the_action_installs_a_checked_release_archive_and_builds_only_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let (stage, releases) = (dir.path().join("stage"), dir.path().join("releases/v9.8.7"));
        let inner = stage.join(format!("piitrail-{TARGET}"));
        std::fs::create_dir_all(&inner).unwrap();
        std::fs::create_dir_all(&releases).unwrap();
        // A stand-in binary: what is tested is the download, the check and the unpacking.
        std::fs::write(inner.join("piitrail"), "#!/bin/sh\necho 'piitrail 9.8.7'\n").unwrap();
        let archive = releases.join(format!("piitrail-{TARGET}.tar.xz"));
        let packed = Command::new("tar")
            .arg("-cJf")
            .arg(&archive)
            .arg("-C")
            .arg(&stage)
            .arg(format!("piitrail-{TARGET}"))
            .status()
            .unwrap();
        assert!(packed.success());
        let sum = sha256_hex(&std::fs::read(&archive).unwrap());
        let sums = releases.join(format!("piitrail-{TARGET}.tar.xz.sha256"));
        std::fs::write(&sums, format!("{sum} *piitrail-{TARGET}.tar.xz\n")).unwrap();
        let web = web_server(&dir.path().join("releases"));
        let url = web.endpoint();
        let marker = dir.path().join("built-from-source");
        let fallback = format!("touch '{}'", marker.display());

        let bin = dir.path().join("bin");
        let out = install(&url, TARGET, &bin, &fallback);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ran = Command::new(bin.join("piitrail")).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&ran.stdout), "piitrail 9.8.7\n");
        assert!(!marker.exists(), "a release archive is never rebuilt");

        // A checksum that does not match: an error, nothing installed, no build either.
        std::fs::write(&sums, format!("{} *x\n", "0".repeat(64))).unwrap();
        let other = dir.path().join("other");
        let out = install(&url, TARGET, &other, &fallback);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("checksum mismatch"), "{err}");
        assert!(!other.join("piitrail").exists() && !marker.exists());

        // No archive for this machine: built from source.
        let out = install(&url, "riscv64gc-unknown-linux-gnu", &other, &fallback);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(err.contains("no release archive"), "{err}");
        assert!(marker.exists(), "the fallback ran");
    }
}
