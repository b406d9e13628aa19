//! `piitrail.toml`: the project's name and policy. Unknown keys in the sections read here
//! are errors naming the file and the place, so that a typo never silently loosens a policy.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Smallest group an aggregate may publish unless the policy says otherwise.
pub const DEFAULT_MIN_GROUP_SIZE: u64 = 10;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub project: Project,
    #[serde(default)]
    pub policy: Policy,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    #[serde(default = "default_name")]
    pub name: String,
}

impl Default for Project {
    fn default() -> Self {
        Project {
            name: default_name(),
        }
    }
}

fn default_name() -> String {
    "piitrail project".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Smallest group size (k) an aggregate may publish.
    #[serde(default = "default_min_group_size")]
    pub min_group_size: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_group_size: DEFAULT_MIN_GROUP_SIZE,
        }
    }
}

fn default_min_group_size() -> u64 {
    DEFAULT_MIN_GROUP_SIZE
}

impl Config {
    /// Reads `ROOT/piitrail.toml`; a project without one gets the defaults, named after its
    /// folder.
    pub fn load(root: &Path) -> Result<Config, PolicyError> {
        let path = root.join("piitrail.toml");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut c = Config {
                    project: Project::default(),
                    policy: Policy::default(),
                };
                if let Some(name) = root
                    .canonicalize()
                    .ok()
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                {
                    c.project.name = name;
                }
                return Ok(c);
            }
            Err(e) => return Err(PolicyError::Read { path, source: e }),
        };
        toml::from_str(&text).map_err(|e| {
            let place = e
                .span()
                .map(|s| {
                    let before = &text[..s.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                    format!("line {line}, column {col}: ")
                })
                .unwrap_or_default();
            PolicyError::Invalid {
                path: path.clone(),
                message: format!("{place}{}", e.message()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_a_typo_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::load(dir.path()).unwrap();
        assert_eq!(c.policy.min_group_size, 10);
        std::fs::write(
            dir.path().join("piitrail.toml"),
            "[project]\nname = \"shop\"\n\n[policy]\nmin_group_size = 5\n",
        )
        .unwrap();
        let c = Config::load(dir.path()).unwrap();
        assert_eq!(
            (c.project.name.as_str(), c.policy.min_group_size),
            ("shop", 5)
        );
        std::fs::write(
            dir.path().join("piitrail.toml"),
            "[policy]\nmin_group_sise = 5\n",
        )
        .unwrap();
        let e = Config::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("piitrail.toml: line 2, column 1"), "{e}");
        assert!(e.contains("min_group_sise"), "{e}");
    }
}
