//! Declared steps: a transformation that ran elsewhere (model training, an export, a script),
//! recorded by `piitrail record` with the column lineage its author states.
//!
//! `--column OUT=IN[:CLASS]`: OUT is `column` or `PATH:column` of an output, IN the same for an
//! input, CLASS one of `direct` (default), `pseudonymised`, `generalised`, `aggregated`,
//! `influenced`. With a single input (or output) the bare column name refers to it.

use std::path::PathBuf;

use super::{LineageError, Version, append_execution};
use crate::ledger::{
    Class, Code, ColumnEdge, ColumnRef, ExecutionKind, ExecutionRecord, Ledger, Role,
};

/// What kind of step ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Training,
    Transform,
    Export,
}

impl StepKind {
    pub fn kind(self) -> ExecutionKind {
        match self {
            StepKind::Training => ExecutionKind::Training,
            StepKind::Transform => ExecutionKind::Transform,
            StepKind::Export => ExecutionKind::Export,
        }
    }
}

/// A declared step, as the user described it.
#[derive(Debug, Clone)]
pub struct Request {
    pub kind: StepKind,
    pub inputs: Vec<PathBuf>,
    pub outputs: Vec<PathBuf>,
    pub columns: Vec<String>,
    pub code: Option<PathBuf>,
    pub root: PathBuf,
}

/// Parses one `--column` spec against the step's inputs and outputs (display paths).
pub fn parse_column(
    spec: &str,
    inputs: &[String],
    outputs: &[String],
) -> Result<ColumnEdge, LineageError> {
    let bad = |message: String| LineageError::BadColumn {
        spec: spec.to_string(),
        message,
    };
    let (out, rest) = spec
        .split_once('=')
        .ok_or_else(|| bad("expected OUT=IN[:CLASS]".into()))?;
    let (input, class) = rest
        .rsplit_once(':')
        .and_then(|(i, c)| Some((i, c.parse::<Class>().ok()?)))
        .unwrap_or((rest, Class::Direct));
    let side = |text: &str, paths: &[String], role: &str| -> Result<ColumnRef, LineageError> {
        if let Some((path, column)) = text.rsplit_once(':') {
            let path = path.trim_start_matches("./");
            if !paths.iter().any(|p| p == path) {
                return Err(bad(format!(
                    "'{path}' is not one of the {role}s ({})",
                    paths.join(", ")
                )));
            }
            if column.is_empty() {
                return Err(bad(format!("no column named after '{path}:'")));
            }
            return Ok(ColumnRef {
                path: path.to_string(),
                column: column.to_string(),
            });
        }
        match paths {
            [only] if !text.is_empty() => Ok(ColumnRef {
                path: only.clone(),
                column: text.to_string(),
            }),
            [_] => Err(bad(format!("an empty {role} column"))),
            _ => Err(bad(format!(
                "there are {} {role}s: write {role} columns as PATH:column",
                paths.len()
            ))),
        }
    };
    let from = side(input, inputs, "input")?;
    let to = side(out, outputs, "output")?;
    let (edge_type, subtype, masking) = class.openlineage();
    Ok(ColumnEdge {
        from,
        to,
        edge_type,
        subtype,
        masking,
        class,
        description: None,
    })
}

/// Records a declared step: new artifact versions for its inputs and outputs where their
/// content changed, then the execution. Outputs of a training step are models.
pub fn record(ledger: &Ledger, req: &Request) -> Result<ExecutionRecord, LineageError> {
    let out_role = if req.kind == StepKind::Training {
        Role::Model
    } else {
        Role::Dataset
    };
    let inputs = req
        .inputs
        .iter()
        .map(|p| Version::of(p, &req.root, "input", Role::Dataset))
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = req
        .outputs
        .iter()
        .map(|p| Version::of(p, &req.root, "output", out_role))
        .collect::<Result<Vec<_>, _>>()?;
    let in_paths: Vec<String> = inputs.iter().map(|v| v.reference.path.clone()).collect();
    let out_paths: Vec<String> = outputs.iter().map(|v| v.reference.path.clone()).collect();
    let mut columns = req
        .columns
        .iter()
        .map(|c| parse_column(c, &in_paths, &out_paths))
        .collect::<Result<Vec<_>, _>>()?;
    columns.sort();
    let code = match &req.code {
        None => None,
        Some(p) => {
            // A script is named by path and digest in `code`: its role is never recorded.
            let v = Version::of(p, &req.root, "code file", Role::Dataset)?;
            Some(Code::Script {
                path: v.reference.path,
                digest: v.reference.digest,
            })
        }
    };
    let execution = ExecutionRecord {
        id: String::new(),
        kind: req.kind.kind(),
        inputs: inputs.iter().map(|v| v.reference.clone()).collect(),
        outputs: outputs.iter().map(|v| v.reference.clone()).collect(),
        code,
        columns,
        min_group_size: None,
        tables: Vec::new(),
        erasure: None,
        run: None,
    }
    .with_id();
    append_execution(
        ledger,
        inputs.into_iter().chain(outputs).collect(),
        &execution,
    )?;
    Ok(execution)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one() -> (Vec<String>, Vec<String>) {
        (vec!["data/in.csv".into()], vec!["data/out.csv".into()])
    }

    #[test]
    fn bare_columns_refer_to_the_only_input_and_output() {
        let (i, o) = one();
        let e = parse_column("email_hash=email:pseudonymised", &i, &o).unwrap();
        assert_eq!(
            (e.from.path.as_str(), e.from.column.as_str()),
            ("data/in.csv", "email")
        );
        assert_eq!(
            (e.to.path.as_str(), e.to.column.as_str()),
            ("data/out.csv", "email_hash")
        );
        assert_eq!(
            (e.class, e.edge_type, e.masking),
            (Class::Pseudonymised, crate::ledger::EdgeType::Direct, true)
        );
        assert_eq!(parse_column("a=b", &i, &o).unwrap().class, Class::Direct);
    }

    #[test]
    fn several_inputs_need_paths() {
        let i = vec!["a.csv".to_string(), "b.csv".to_string()];
        let o = vec!["m.bin".to_string()];
        assert!(
            parse_column("x=col", &i, &o)
                .unwrap_err()
                .to_string()
                .contains("PATH:column")
        );
        let e = parse_column("x=b.csv:col:aggregated", &i, &o).unwrap();
        assert_eq!(
            (e.from.path.as_str(), e.subtype),
            ("b.csv", crate::ledger::Subtype::Aggregation)
        );
        assert!(
            parse_column("x=c.csv:col", &i, &o)
                .unwrap_err()
                .to_string()
                .contains("not one of the inputs")
        );
        assert!(parse_column("nonsense", &i, &o).is_err());
    }
}
