//! The lineage graph: artifact versions (by digest) joined by executions, built from the
//! ledger, walked upstream or downstream from one artifact. Cycles (possible through bad
//! imports) are detected and reported; a walk never loops.

use foldhash::HashMap;

use serde::{Deserialize, Serialize};

use crate::ledger::{Body, ColumnEdge, ExecutionRecord, Ledger, LedgerError, Record};
use crate::ledger::{ExecutionKind, Role};

/// A version of an artifact known to the ledger.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Node {
    pub path: String,
    pub digest: String,
    pub kind: Role,
}

/// Lists of ids per key, stored flat (`items[start[k]..start[k + 1]]`): two allocations for
/// the whole graph instead of one per node.
#[derive(Debug)]
struct Lists {
    start: Vec<u32>,
    items: Vec<u32>,
}

impl Default for Lists {
    fn default() -> Self {
        Lists {
            start: vec![0],
            items: Vec::new(),
        }
    }
}

impl Lists {
    fn get(&self, k: u32) -> &[u32] {
        match (self.start.get(k as usize), self.start.get(k as usize + 1)) {
            (Some(&a), Some(&b)) => &self.items[a as usize..b as usize],
            _ => &[],
        }
    }

    /// Groups `(key, item)` pairs by key, keeping their order within a key.
    fn from_pairs(keys: usize, pairs: &[(u32, u32)]) -> Lists {
        let mut start = vec![0u32; keys + 1];
        for &(k, _) in pairs {
            start[k as usize + 1] += 1;
        }
        for k in 0..keys {
            start[k + 1] += start[k];
        }
        let mut fill = start.clone();
        let mut items = vec![0u32; pairs.len()];
        for &(k, v) in pairs {
            items[fill[k as usize] as usize] = v;
            fill[k as usize] += 1;
        }
        Lists { start, items }
    }
}

/// What the graph reads of a ledger line; everything else is skipped unallocated.
#[derive(Deserialize)]
struct GraphLine {
    artifact: Option<GraphArtifact>,
    execution: Option<ExecutionRecord>,
}

#[derive(Deserialize)]
struct GraphArtifact {
    path: String,
    digest: String,
    role: Role,
    #[serde(default)]
    aliases: Vec<String>,
}

/// The whole graph. Digests are interned: nodes, executions and the indexes in both
/// directions refer to each other by position, so building and walking hash each digest once.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: Vec<Node>,
    ids: HashMap<String, u32>,
    pub executions: Vec<ExecutionRecord>,
    /// Per execution: its input and output nodes.
    exec_inputs: Lists,
    exec_outputs: Lists,
    /// Per node: the executions that wrote it, and those that read it (built by `finish`
    /// from the (node, execution) pairs gathered while reading).
    written_by: Lists,
    read_by: Lists,
    pending_writes: Vec<(u32, u32)>,
    pending_reads: Vec<(u32, u32)>,
    by_path: HashMap<String, Vec<u32>>,
    /// Other names of artifacts (symlinks, local paths), to the path they are recorded under.
    aliases: HashMap<String, String>,
}

impl Graph {
    /// Builds the graph, taking the records (no copies of executions are made).
    pub fn build(records: impl IntoIterator<Item = Record>) -> Graph {
        let mut g = Graph::default();
        let mut executions = Vec::new();
        for r in records {
            match r.body {
                Body::Artifact(a) => g.add_artifact(a.path, &a.digest, a.role, a.aliases),
                Body::Execution(x) => executions.push(x),
                Body::Scan(_) => {}
            }
        }
        g.finish(executions)
    }

    /// Reads the graph from the ledger, parsing only what it needs.
    /// The graph of records already in memory: artifacts and executions are copied, scans
    /// (the largest records, which the graph does not need) are skipped.
    pub fn of_records(records: &[Record]) -> Graph {
        Graph::build(
            records
                .iter()
                .filter(|r| !matches!(r.body, Body::Scan(_)))
                .cloned(),
        )
    }

    pub fn load(ledger: &Ledger) -> Result<Graph, LedgerError> {
        let mut g = Graph::default();
        let mut executions = Vec::new();
        ledger.for_each_as(|block: Vec<GraphLine>| {
            for line in block {
                if let Some(a) = line.artifact {
                    g.add_artifact(a.path, &a.digest, a.role, a.aliases);
                }
                if let Some(x) = line.execution {
                    executions.push(x);
                }
            }
        })?;
        Ok(g.finish(executions))
    }

    fn add_artifact(&mut self, path: String, digest: &str, role: Role, aliases: Vec<String>) {
        for alias in aliases {
            self.aliases.insert(alias, path.clone());
        }
        let id = match self.ids.get(digest) {
            Some(&id) => {
                let node = &mut self.nodes[id as usize];
                node.path.clone_from(&path);
                node.kind = role;
                id
            }
            None => self.new_node(digest, path.clone(), role),
        };
        match self.by_path.get_mut(&path) {
            Some(v) if v.last() == Some(&id) => {}
            Some(v) => v.push(id),
            None => {
                self.by_path.insert(path, vec![id]);
            }
        }
    }

    fn add_execution(&mut self, x: ExecutionRecord) {
        let xi = self.executions.len() as u32;
        for a in &x.inputs {
            let i = self.intern(&a.digest);
            self.exec_inputs.items.push(i);
            self.pending_reads.push((i, xi));
        }
        self.exec_inputs
            .start
            .push(self.exec_inputs.items.len() as u32);
        for a in &x.outputs {
            let o = self.intern(&a.digest);
            self.exec_outputs.items.push(o);
            self.pending_writes.push((o, xi));
        }
        self.exec_outputs
            .start
            .push(self.exec_outputs.items.len() as u32);
        self.executions.push(x);
    }

    /// Adds the executions (a later record of an imported run superseding an earlier one) and
    /// builds the per-node indexes.
    fn finish(mut self, executions: Vec<ExecutionRecord>) -> Graph {
        for x in crate::ledger::live_executions(executions) {
            self.add_execution(x);
        }
        self.written_by = Lists::from_pairs(self.nodes.len(), &self.pending_writes);
        self.read_by = Lists::from_pairs(self.nodes.len(), &self.pending_reads);
        self.pending_writes = Vec::new();
        self.pending_reads = Vec::new();
        self
    }

    /// The node of a digest, created (named by its digest) when no artifact record named it yet.
    fn intern(&mut self, digest: &str) -> u32 {
        match self.ids.get(digest) {
            Some(&id) => id,
            None => self.new_node(digest, digest.to_string(), Role::Dataset),
        }
    }

    fn new_node(&mut self, digest: &str, path: String, kind: Role) -> u32 {
        let id = self.nodes.len() as u32;
        self.ids.insert(digest.to_string(), id);
        self.nodes.push(Node {
            path,
            digest: digest.to_string(),
            kind,
        });
        id
    }

    /// Number of artifact versions.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The version with this digest.
    pub fn node(&self, digest: &str) -> Option<&Node> {
        self.ids.get(digest).map(|&i| &self.nodes[i as usize])
    }

    /// The versions an ARTIFACT argument names: a digest, or every version of a path.
    pub fn resolve(&self, artifact: &str) -> Vec<String> {
        if let Some(n) = self.node(artifact) {
            return vec![n.digest.clone()];
        }
        let path = artifact.trim_start_matches("./");
        let path = self.aliases.get(path).map_or(path, String::as_str);
        self.by_path
            .get(path)
            .map(|v| {
                v.iter()
                    .map(|&i| self.nodes[i as usize].digest.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The executions one step away from a node, and the nodes they lead to.
    fn steps(&self, node: u32, dir: Direction) -> (&[u32], &Lists) {
        match dir {
            Direction::Upstream => (self.written_by.get(node), &self.exec_inputs),
            Direction::Downstream => (self.read_by.get(node), &self.exec_outputs),
        }
    }

    fn ids_of(&self, digests: &[String]) -> Vec<u32> {
        digests
            .iter()
            .filter_map(|d| self.ids.get(d).copied())
            .collect()
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
    pub kind: ExecutionKind,
    /// For an imported run: its source, id, job and state (FAIL, ABORT, FAILED and CANCELED
    /// runs hand on no tags).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<Box<crate::ledger::ImportedRun>>,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

const NONE: u32 = u32::MAX;

/// Walks from every version in `roots` in one direction, depth first, each execution and
/// artifact once; a path that comes back to a node still being walked is a cycle.
pub fn walk(g: &Graph, roots: &[String], dir: Direction, with_columns: bool) -> Walk {
    let mut seen_nodes = vec![false; g.nodes.len()];
    let mut seen_exec = vec![false; g.executions.len()];
    let mut execs_in_order: Vec<u32> = Vec::new();
    let mut nodes_in_order: Vec<u32> = Vec::new();
    let mut cycles = Vec::new();
    // Iterative DFS: (node, entering?). The current path from a root, and where each node
    // sits on it (O(1) cycle checks).
    let mut stack: Vec<(u32, bool)> = g
        .ids_of(roots)
        .into_iter()
        .rev()
        .map(|n| (n, true))
        .collect();
    let mut on_path: Vec<u32> = Vec::new();
    let mut on_path_at = vec![NONE; g.nodes.len()];
    while let Some((node, entering)) = stack.pop() {
        if !entering {
            if let Some(d) = on_path.pop() {
                on_path_at[d as usize] = NONE;
            }
            continue;
        }
        if std::mem::replace(&mut seen_nodes[node as usize], true) {
            continue;
        }
        nodes_in_order.push(node);
        on_path_at[node as usize] = on_path.len() as u32;
        on_path.push(node);
        stack.push((node, false));
        let (execs, next_of) = g.steps(node, dir);
        for &xi in execs.iter().rev() {
            if !std::mem::replace(&mut seen_exec[xi as usize], true) {
                execs_in_order.push(xi);
            }
            for &a in next_of.get(xi).iter().rev() {
                let at = on_path_at[a as usize];
                if at != NONE {
                    let mut cycle: Vec<String> = on_path[at as usize..]
                        .iter()
                        .map(|&n| g.nodes[n as usize].digest.clone())
                        .collect();
                    cycle.push(g.nodes[a as usize].digest.clone());
                    cycles.push(cycle);
                    continue;
                }
                stack.push((a, true));
            }
        }
    }
    let mut artifacts: Vec<Node> = nodes_in_order
        .iter()
        .map(|&n| g.nodes[n as usize].clone())
        .collect();
    artifacts.sort_unstable();
    let digests = |ids: &[u32]| -> Vec<String> {
        ids.iter()
            .map(|&n| g.nodes[n as usize].digest.clone())
            .collect()
    };
    let executions: Vec<ExecutionSummary> = execs_in_order
        .iter()
        .map(|&xi| {
            let x = &g.executions[xi as usize];
            ExecutionSummary {
                id: x.id.clone(),
                kind: x.kind,
                run: x.run.clone(),
                inputs: digests(g.exec_inputs.get(xi)),
                outputs: digests(g.exec_outputs.get(xi)),
            }
        })
        .collect();
    let columns = with_columns.then(|| {
        let mut cols: Vec<ColumnEdge> = execs_in_order
            .iter()
            .flat_map(|&xi| g.executions[xi as usize].columns.iter().cloned())
            .collect();
        cols.sort();
        cols.dedup();
        cols
    });
    let first = roots.last().cloned().unwrap_or_default();
    let root_path = g.node(&first).map_or(first.clone(), |n| n.path.clone());
    Walk {
        root: RootRef {
            path: root_path,
            digest: first,
        },
        artifacts,
        executions,
        columns,
        cycles,
    }
}

/// How an imported run is shown beside its execution: its job and state, and a warning for
/// a failed run.
fn run_note(x: &ExecutionRecord) -> String {
    match &x.run {
        None => String::new(),
        Some(r) if r.failed() => {
            format!(" [{} {}: {}, no tags handed on]", r.source, r.job, r.state)
        }
        Some(r) => format!(" [{} {}: {}]", r.source, r.job, r.state),
    }
}

/// An indented tree, one artifact or execution per line; a node met again is marked, not
/// expanded twice, and a cycle is marked where it closes. Iterative, so depth is unbounded.
pub fn to_text(g: &Graph, roots: &[String], dir: Direction) -> String {
    enum Item {
        Node { id: u32, depth: usize },
        Exit(u32),
        Line(String),
    }
    let arrow = match dir {
        Direction::Upstream => "<-",
        Direction::Downstream => "->",
    };
    let mut out = String::new();
    let mut shown = vec![false; g.nodes.len()];
    let mut on_path = vec![false; g.nodes.len()];
    let mut stack: Vec<Item> = g
        .ids_of(roots)
        .into_iter()
        .rev()
        .map(|id| Item::Node { id, depth: 0 })
        .collect();
    while let Some(item) = stack.pop() {
        let (id, depth) = match item {
            Item::Line(line) => {
                out += &line;
                continue;
            }
            Item::Exit(id) => {
                on_path[id as usize] = false;
                continue;
            }
            Item::Node { id, depth } => (id, depth),
        };
        let pad = indent(depth);
        let n = &g.nodes[id as usize];
        let short = crate::scan::short_digest(&n.digest);
        if on_path[id as usize] {
            out += &format!("{pad}{}  {short}  (cycle: leads back to itself)\n", n.path);
            continue;
        }
        let again = std::mem::replace(&mut shown[id as usize], true);
        out += &format!(
            "{pad}{}  {short}  {}{}\n",
            n.path,
            n.kind,
            if again { "  (shown above)" } else { "" }
        );
        if again {
            continue;
        }
        on_path[id as usize] = true;
        stack.push(Item::Exit(id));
        let (execs, next_of) = g.steps(id, dir);
        // Pushed in reverse so that the first execution and its artifacts print first.
        for &xi in execs.iter().rev() {
            let x = &g.executions[xi as usize];
            for &a in next_of.get(xi).iter().rev() {
                stack.push(Item::Node {
                    id: a,
                    depth: depth + 1,
                });
            }
            stack.push(Item::Line(format!(
                "{pad}  {arrow} {} {}{}\n",
                x.kind,
                x.id,
                run_note(x)
            )));
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
        let shape = if a.kind == Role::Model {
            "ellipse"
        } else {
            "box"
        };
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
            // The hex after the digest's mark (`sha256:`, `name:`, `rows-sha256:`).
            d.rsplit(':')
                .next()
                .unwrap_or(d)
                .chars()
                .take(12)
                .collect::<String>()
        )
    };
    let mut s = String::from("flowchart LR\n");
    for a in &w.artifacts {
        let label = a.path.replace('"', "'");
        if a.kind == Role::Model {
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
            role: role.parse().unwrap(),
            schema: vec![],
            previous: None,
            aliases: Vec::new(),
        }))
    }
    fn exec(id: &str, ins: &[&str], outs: &[&str]) -> Record {
        let r = |d: &&str| ArtifactRef {
            path: d.to_string(),
            digest: d.to_string(),
        };
        rec(Body::Execution(ExecutionRecord {
            id: id.into(),
            kind: ExecutionKind::Transform,
            inputs: ins.iter().map(r).collect(),
            outputs: outs.iter().map(r).collect(),
            code: None,
            columns: vec![],
            min_group_size: None,
            tables: Vec::new(),
            erasure: None,
            run: None,
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
