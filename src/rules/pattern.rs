//! A rule's regex, compiled when first used.
//!
//! Compiling the whole built-in pack takes about 0.18 s (the Unicode letter classes of the
//! name-gated rules, `[\p{L} ...]{1,80}`, are most of it), while a scan usually needs a few of
//! the patterns. So the built-in patterns, which a unit test compiles (`builtin_patterns_compile`),
//! are compiled when a rule first meets a value; rule files given with `--rules` are compiled
//! when loaded, so that a mistake in them is reported before any scan.
//!
//! Clones share the compiled program and each keeps its own search cache: the scanner gives
//! every worker thread its own clone of the rule set, so that workers never wait on each other.

use std::sync::{Arc, OnceLock};

use regex::{Regex, RegexBuilder};

/// The size limit of one compiled pattern (the regex crate's NFA size).
const SIZE_LIMIT: usize = 1 << 22;

#[derive(Debug)]
pub struct Pattern {
    source: Arc<str>,
    shared: Arc<OnceLock<Regex>>,
    local: OnceLock<Regex>,
}

impl Clone for Pattern {
    fn clone(&self) -> Pattern {
        Pattern {
            source: self.source.clone(),
            shared: self.shared.clone(),
            // A fresh cache for the clone: the compiled program is shared.
            local: OnceLock::new(),
        }
    }
}

fn compile(source: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(source).size_limit(SIZE_LIMIT).build()
}

impl Pattern {
    /// Compiles now: for patterns nobody has checked yet.
    pub fn checked(source: &str) -> Result<Pattern, regex::Error> {
        let regex = compile(source)?;
        Ok(Pattern {
            source: source.into(),
            shared: Arc::new(OnceLock::from(regex)),
            local: OnceLock::new(),
        })
    }

    /// Compiles when first used: for the built-in patterns, which the test suite compiles.
    pub fn deferred(source: String) -> Pattern {
        Pattern {
            source: source.into(),
            shared: Arc::new(OnceLock::new()),
            local: OnceLock::new(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn regex(&self) -> &Regex {
        self.local.get_or_init(|| {
            self.shared
                .get_or_init(|| {
                    compile(&self.source)
                        .expect("built-in patterns compile (test builtin_patterns_compile)")
                })
                .clone()
        })
    }

    #[inline]
    pub fn is_match(&self, haystack: &str) -> bool {
        self.regex().is_match(haystack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deferred_pattern_compiles_once_and_clones_share_it() {
        let p = Pattern::deferred("^(?:a+)$".into());
        assert!(p.shared.get().is_none(), "not compiled before use");
        let q = p.clone();
        assert!(q.is_match("aaa"));
        assert!(
            p.shared.get().is_some(),
            "the clone compiled the shared program"
        );
        assert!(p.local.get().is_none(), "each clone keeps its own cache");
        assert!(!p.is_match("ab"));
        assert!(Pattern::checked("(").is_err());
    }
}
