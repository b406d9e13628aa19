//! The lineage graph: artifact versions (by digest) joined by executions, built from the
//! ledger, walked upstream or downstream from one artifact. Cycles (possible through bad
//! imports) are detected and reported; a walk never loops.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::ledger::{Body, ColumnEdge, ExecutionRecord, Record};

/// A version of an artifact known to the ledger.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Node {
    pub path: String,
    pub digest: String,
    /// `dataset` or `model`.
    pub kind: String,
}

/// The whole graph, with indexes for both directions.
#[derive(Debug, Default)]
pub struct Graph {
    pub nodes: HashMap<String, Node>,
    pub executions: Vec<ExecutionRecord>,
    by_output: HashMap<String, Vec<usize>>,
    by_input: HashMap<String, Vec<usize>>,
    by_path: HashMap<String, Vec<String>>,
}

impl Graph {
    /// Builds the graph, taking the records (no copies of executions are made).
    pub fn build(records: impl IntoIterator<Item = Record>) -> Graph {
        let mut g = Graph::default();
        for r in records {
            match r.body {
                Body::Artifact(a) => {
                    g.by_path
                        .entry(a.path.clone())
                        .or_default()
                        .push(a.digest.clone());
                    g.nodes.insert(
                        a.digest.clone(),
                        Node {
                            path: a.path,
                            digest: a.digest,
                            kind: a.role,
                        },
                    );
                }
                Body::Execution(x) => {
                    let i = g.executions.len();
                    for a in &x.outputs {
                        g.by_output.entry(a.digest.clone()).or_default().push(i);
                    }
                    for a in &x.inputs {
                        g.by_input.entry(a.digest.clone()).or_default().push(i);
                    }
                    g.executions.push(x);
                }
                Body::Scan(_) => {}
            }
        }
        g
    }

    /// The versions an ARTIFACT argument names: a digest, or every version of a path.
    pub fn resolve(&self, artifact: &str) -> Vec<String> {
        if artifact.starts_with("sha256:") {
            return self
                .nodes
                .contains_key(artifact)
                .then(|| artifact.to_string())
                .into_iter()
                .collect();
        }
        let path = artifact.trim_start_matches("./");
        let mut v = self.by_path.get(path).cloned().unwrap_or_default();
        v.dedup();
        v
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Upstream,
    Downstream,
}

/// The part of the graph on one side of a root (DESIGN.md `lineage --format json`).
#[derive(Debug, Clone, Serialize)]
pub struct Walk {
    pub root: RootRef,
    pub artifacts: Vec<Node>,
    pub executions: Vec<ExecutionSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<ColumnEdge>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cycles: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RootRef {
    pub path: String,
    pub digest: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExecutionSummary {
    pub id: String,
    pub kind: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

/// Walks from every version in `roots` in one direction, depth first, each execution and
/// artifact once; a path that comes back to a node still being walked is a cycle.
pub fn walk(g: &Graph, roots: &[String], dir: Direction, with_columns: bool) -> Walk {
    let mut seen_nodes: BTreeSet<String> = BTreeSet::new();
    let mut seen_execs: Vec<usize> = Vec::new();
    let mut exec_pos: HashMap<usize, usize> = HashMap::new();
    let mut cycles = Vec::new();
    // Iterative DFS: (digest, depth, entering?)
    let mut stack: Vec<(String, usize, bool)> =
        roots.iter().rev().map(|r| (r.clone(), 0, true)).collect();
    // The current path from a root, and where each digest sits on it (O(1) cycle checks).
    let mut on_path: Vec<String> = Vec::new();
    let mut on_path_at: HashMap<String, usize> = HashMap::new();
    while let Some((node, depth, entering)) = stack.pop() {
        if !entering {
            if let Some(d) = on_path.pop() {
                on_path_at.remove(&d);
            }
            continue;
        }
        if !seen_nodes.insert(node.clone()) {
            continue;
        }
        on_path_at.insert(node.clone(), on_path.len());
        on_path.push(node.clone());
        stack.push((node.clone(), depth, false));
        let execs = match dir {
            Direction::Upstream => g.by_output.get(&node),
            Direction::Downstream => g.by_input.get(&node),
        };
        for &xi in execs.map(Vec::as_slice).unwrap_or(&[]).iter().rev() {
            let x = &g.executions[xi];
            exec_pos.entry(xi).or_insert_with(|| {
                seen_execs.push(xi);
                seen_execs.len() - 1
            });
            let next = match dir {
                Direction::Upstream => &x.inputs,
                Direction::Downstream => &x.outputs,
            };
            for a in next.iter().rev() {
                if let Some(&i) = on_path_at.get(&a.digest) {
                    let mut cycle: Vec<String> = on_path[i..].to_vec();
                    cycle.push(a.digest.clone());
                    cycles.push(cycle);
                    continue;
                }
                stack.push((a.digest.clone(), depth + 1, true));
            }
        }
    }
    let node_of = |d: &String| {
        g.nodes.get(d).cloned().unwrap_or_else(|| Node {
            path: d.clone(),
            digest: d.clone(),
            kind: "dataset".into(),
        })
    };
    let first = roots.last().cloned().unwrap_or_default();
    let mut artifacts: Vec<Node> = seen_nodes.iter().map(node_of).collect();
    artifacts.sort();
    let executions: Vec<ExecutionSummary> = seen_execs
        .iter()
        .map(|&xi| {
            let x = &g.executions[xi];
            ExecutionSummary {
                id: x.id.clone(),
                kind: x.kind.clone(),
                inputs: x.inputs.iter().map(|a| a.digest.clone()).collect(),
                outputs: x.outputs.iter().map(|a| a.digest.clone()).collect(),
            }
        })
        .collect();
    let columns = with_columns.then(|| {
        let mut cols: Vec<ColumnEdge> = seen_execs
            .iter()
            .flat_map(|&xi| g.executions[xi].columns.clone())
            .collect();
        cols.sort();
        cols.dedup();
        cols
    });
    Walk {
        root: RootRef {
            path: node_of(&first).path,
            digest: first,
        },
        artifacts,
        executions,
        columns,
        cycles,
    }
}

/// An indented tree, one artifact or execution per line; a node met again is marked, not
/// expanded twice, and a cycle is marked where it closes. Iterative, so depth is unbounded.
pub fn to_text(g: &Graph, roots: &[String], dir: Direction) -> String {
    enum Item {
        Node { digest: String, depth: usize },
        Exit(String),
        Line(String),
    }
    let arrow = match dir {
        Direction::Upstream => "<-",
        Direction::Downstream => "->",
    };
    let mut out = String::new();
    let mut shown: BTreeSet<String> = BTreeSet::new();
    let mut on_path: BTreeSet<String> = BTreeSet::new();
    let mut stack: Vec<Item> = roots
        .iter()
        .rev()
        .map(|r| Item::Node {
            digest: r.clone(),
            depth: 0,
        })
        .collect();
    while let Some(item) = stack.pop() {
        let (d, depth) = match item {
            Item::Line(line) => {
                out += &line;
                continue;
            }
            Item::Exit(d) => {
                on_path.remove(&d);
                continue;
            }
            Item::Node { digest, depth } => (digest, depth),
        };
        let pad = indent(depth);
        let (p, kind) = g.nodes.get(&d).map_or((d.as_str(), "dataset"), |n| {
            (n.path.as_str(), n.kind.as_str())
        });
        let short = crate::scan::short_digest(&d);
        if on_path.contains(&d) {
            out += &format!("{pad}{p}  {short}  (cycle: leads back to itself)\n");
            continue;
        }
        let again = !shown.insert(d.clone());
        out += &format!(
            "{pad}{p}  {short}  {kind}{}\n",
            if again { "  (shown above)" } else { "" }
        );
        if again {
            continue;
        }
        let execs = match dir {
            Direction::Upstream => g.by_output.get(&d),
            Direction::Downstream => g.by_input.get(&d),
        };
        on_path.insert(d.clone());
        stack.push(Item::Exit(d.clone()));
        // Pushed in reverse so that the first execution and its artifacts print first.
        for &xi in execs.map(Vec::as_slice).unwrap_or(&[]).iter().rev() {
            let x = &g.executions[xi];
            let next = match dir {
                Direction::Upstream => &x.inputs,
                Direction::Downstream => &x.outputs,
            };
            for a in next.iter().rev() {
                stack.push(Item::Node {
                    digest: a.digest.clone(),
                    depth: depth + 1,
                });
            }
            stack.push(Item::Line(format!("{pad}  {arrow} {} {}\n", x.kind, x.id)));
        }
    }
    out
}

/// Indentation for a tree line: four spaces a level up to 16 levels, then the depth as a
/// number, so a 100,000-step chain stays linear in size.
fn indent(depth: usize) -> String {
    if depth <= 16 {
        "    ".repeat(depth)
    } else {
        format!("{}[{depth}] ", "    ".repeat(16))
    }
}

/// Graphviz DOT of a walk: artifacts as boxes (models as ellipses), executions as diamonds.
pub fn to_dot(w: &Walk) -> String {
    let mut s =
        String::from("digraph lineage {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
    for a in &w.artifacts {
        let shape = if a.kind == "model" { "ellipse" } else { "box" };
        s += &format!(
            "  \"{}\" [label=\"{}\\n{}\", shape={shape}];\n",
            a.digest,
            esc(&a.path),
            crate::scan::short_digest(&a.digest)
        );
    }
    for x in &w.executions {
        s += &format!(
            "  \"{}\" [label=\"{} {}\", shape=diamond];\n",
            x.id, x.kind, x.id
        );
        for i in &x.inputs {
            s += &format!("  \"{i}\" -> \"{}\";\n", x.id);
        }
        for o in &x.outputs {
            s += &format!("  \"{}\" -> \"{o}\";\n", x.id);
        }
    }
    if let Some(cols) = &w.columns {
        for c in cols {
            s += &format!(
                "  // column {}:{} -> {}:{} {} {} {}\n",
                c.from.path, c.from.column, c.to.path, c.to.column, c.edge_type, c.subtype, c.class
            );
        }
    }
    s + "}\n"
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Mermaid flowchart of a walk.
pub fn to_mermaid(w: &Walk) -> String {
    let id = |d: &str| {
        format!(
            "n{}",
            &d.trim_start_matches("sha256:")
                .chars()
                .take(12)
                .collect::<String>()
        )
    };
    let mut s = String::from("flowchart LR\n");
    for a in &w.artifacts {
        let label = a.path.replace('"', "'");
        if a.kind == "model" {
            s += &format!("  {}([\"{label}\"])\n", id(&a.digest));
        } else {
            s += &format!("  {}[\"{label}\"]\n", id(&a.digest));
        }
    }
    for x in &w.executions {
        let xid = format!("x{}", x.id.trim_start_matches("x-"));
        s += &format!("  {xid}{{\"{} {}\"}}\n", x.kind, x.id);
        for i in &x.inputs {
            s += &format!("  {} --> {xid}\n", id(i));
        }
        for o in &x.outputs {
            s += &format!("  {xid} --> {}\n", id(o));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{ArtifactRecord, ArtifactRef};

    fn art(path: &str, d: &str, role: &str) -> Record {
        rec(Body::Artifact(ArtifactRecord {
            path: path.into(),
            digest: d.into(),
            size: 0,
            format: "csv".into(),
            role: role.into(),
            schema: vec![],
            previous: None,
        }))
    }
    fn exec(id: &str, ins: &[&str], outs: &[&str]) -> Record {
        let r = |d: &&str| ArtifactRef {
            path: d.to_string(),
            digest: d.to_string(),
        };
        rec(Body::Execution(ExecutionRecord {
            id: id.into(),
            kind: "transform".into(),
            inputs: ins.iter().map(r).collect(),
            outputs: outs.iter().map(r).collect(),
            code: None,
            columns: vec![],
        }))
    }
    fn rec(body: Body) -> Record {
        Record {
            seq: 0,
            time: String::new(),
            body,
            prev: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn upstream_and_downstream_of_a_chain() {
        let g = Graph::build([
            art("a", "sha256:a", "dataset"),
            art("b", "sha256:b", "dataset"),
            art("m", "sha256:m", "model"),
            exec("x1", &["sha256:a"], &["sha256:b"]),
            exec("x2", &["sha256:b"], &["sha256:m"]),
        ]);
        let up = walk(&g, &g.resolve("m"), Direction::Upstream, false);
        let paths: Vec<_> = up.artifacts.iter().map(|a| a.path.as_str()).collect();
        assert_eq!(paths, ["a", "b", "m"]);
        assert_eq!(up.executions.len(), 2);
        let down = walk(&g, &g.resolve("b"), Direction::Downstream, false);
        let paths: Vec<_> = down.artifacts.iter().map(|a| a.path.as_str()).collect();
        assert_eq!(paths, ["b", "m"]);
    }

    #[test]
    fn a_cycle_is_reported_and_the_walk_ends() {
        let g = Graph::build([
            art("a", "sha256:a", "dataset"),
            art("b", "sha256:b", "dataset"),
            exec("x1", &["sha256:a"], &["sha256:b"]),
            exec("x2", &["sha256:b"], &["sha256:a"]),
        ]);
        let w = walk(&g, &g.resolve("a"), Direction::Upstream, false);
        assert_eq!(w.artifacts.len(), 2);
        assert_eq!(w.cycles.len(), 1);
        assert_eq!(w.cycles[0], ["sha256:a", "sha256:b", "sha256:a"]);
    }
}
