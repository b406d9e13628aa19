//! `--table GLOB`: which tables of a database a command reads.
//!
//! A glob is matched against a table's qualified name (`schema.table`) and, where the
//! engine's tables live in one schema (SQLite's `main`), against its bare name too, so that
//! `--table 'cust*'` and `--table 'main.cust*'` both name `customers`. SQLite compares table
//! names without case, and so do these globs for it. A glob that names no table of any
//! database scanned is an error: a narrowed audit that silently read nothing would pass.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::source::ScanError;

/// The globs of `--table`, and which of them named a table so far.
pub struct TableGlobs {
    globs: Vec<String>,
    set: GlobSet,
    used: Vec<bool>,
}

impl TableGlobs {
    /// Compiles the globs; an empty list selects every table.
    pub fn new(globs: &[String]) -> Result<TableGlobs, ScanError> {
        let mut builder = GlobSetBuilder::new();
        for g in globs {
            let glob = GlobBuilder::new(g)
                .case_insensitive(true)
                .literal_separator(false)
                .build()
                .map_err(|e| ScanError::Tables(format!("--table '{g}': {}", e.kind())))?;
            builder.add(glob);
        }
        let set = builder
            .build()
            .map_err(|e| ScanError::Tables(format!("--table: {e}")))?;
        Ok(TableGlobs {
            globs: globs.to_vec(),
            set,
            used: vec![false; globs.len()],
        })
    }

    pub fn is_empty(&self) -> bool {
        self.globs.is_empty()
    }

    /// Is the table `schema.table` selected? Every glob it matches counts as used.
    pub fn selects(&mut self, schema: &str, table: &str) -> bool {
        if self.globs.is_empty() {
            return true;
        }
        let mut hit = false;
        for name in [format!("{schema}.{table}"), table.to_string()] {
            for i in self.set.matches(&name) {
                self.used[i] = true;
                hit = true;
            }
        }
        hit
    }

    /// After every database was listed: a glob that named nothing, or globs with no database
    /// to apply to, are the user's mistake.
    pub fn check(&self, databases: &[String]) -> Result<(), ScanError> {
        if self.globs.is_empty() {
            return Ok(());
        }
        if databases.is_empty() {
            return Err(ScanError::Tables(
                "--table narrows the tables of a database (sqlite:PATH), and no PATH names one"
                    .into(),
            ));
        }
        let unused: Vec<String> = self
            .globs
            .iter()
            .zip(&self.used)
            .filter(|(_, used)| !**used)
            .map(|(g, _)| format!("'{g}'"))
            .collect();
        if unused.is_empty() {
            Ok(())
        } else {
            Err(ScanError::Tables(format!(
                "--table {} matches no table of {}",
                unused.join(", "),
                databases.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn globs(g: &[&str]) -> TableGlobs {
        TableGlobs::new(&g.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn a_glob_names_a_table_bare_or_with_its_schema_in_any_case() {
        let mut g = globs(&["cust*", "MAIN.orders"]);
        assert!(g.selects("main", "customers"));
        assert!(g.selects("main", "Orders"));
        assert!(!g.selects("main", "tickets"));
        assert!(g.check(&["sqlite:shop.db".into()]).is_ok());
        let mut all = globs(&[]);
        assert!(all.selects("main", "anything"));
    }

    #[test]
    fn a_glob_that_names_nothing_is_an_error() {
        let mut g = globs(&["cust*", "invoices"]);
        assert!(g.selects("main", "customers"));
        let e = g.check(&["sqlite:shop.db".into()]).unwrap_err().to_string();
        assert!(
            e.contains("'invoices'") && e.contains("sqlite:shop.db"),
            "{e}"
        );
        assert!(!e.contains("cust*"), "{e}");
        let e = globs(&["x"]).check(&[]).unwrap_err().to_string();
        assert!(e.contains("no PATH names one"), "{e}");
        assert!(TableGlobs::new(&["[".into()]).is_err());
    }
}
