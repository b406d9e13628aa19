//! The lineage graph: artifact versions (by digest) joined by executions, built from the
//! ledger, walked upstream or downstream from one artifact. Cycles (possible through bad
//! imports) are detected and reported; a walk never loops.
//!
//! A million records name about half a million digests and paths: each is stored once, end
//! to end in one buffer ([`Interner`]), and everything else refers to it by its place, so the
//! graph of a million-record ledger holds about a tenth of the ledger's size.

use std::hash::BuildHasher;
use std::ops::Range;

use foldhash::HashMap;

use serde::{Deserialize, Serialize};

use crate::ledger::{ArtifactRef, Body, ColumnEdge, ExecutionRecord, ImportedRun, Ledger};
use crate::ledger::{ExecutionKind, LedgerError, Record, Role};

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
    /// Where the list of `k` lies in `items` (empty for a key without one).
    fn range(&self, k: u32) -> Range<usize> {
        match (self.start.get(k as usize), self.start.get(k as usize + 1)) {
            (Some(&a), Some(&b)) => a as usize..b as usize,
            _ => 0..0,
        }
    }

    fn get(&self, k: u32) -> &[u32] {
        &self.items[self.range(k)]
    }

    /// Ends the list being filled (the items pushed since the last end).
    fn close(&mut self) {
        self.start.push(place(self.items.len()));
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

/// A count or place as the graph's lists hold it. Four billion digests, paths or edges are
/// far beyond what one machine's memory holds as a graph, so this is an invariant.
fn place(n: usize) -> u32 {
    u32::try_from(n).expect("the lineage graph holds fewer than 2^32 digests, paths and edges")
}

/// Strings stored once, end to end in one buffer, each known by its place: no allocation and
/// no map key per string. Found again through a table of places hashed by their text.
#[derive(Default)]
struct Interner {
    text: String,
    /// Where each string ends in `text`; it starts where the one before it ends.
    ends: Vec<usize>,
    table: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Interner({} strings)", self.ends.len())
    }
}

fn nth<'a>(text: &'a str, ends: &[usize], i: u32) -> &'a str {
    let i = i as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &text[start..ends[i]]
}

impl Interner {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: u32) -> &str {
        nth(&self.text, &self.ends, i)
    }

    fn find(&self, s: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(s);
        self.table.find(hash, |&i| self.get(i) == s).copied()
    }

    /// The place of `s`, stored if it is new.
    fn intern(&mut self, s: &str) -> u32 {
        let hash = self.hasher.hash_one(s);
        if let Some(&i) = self.table.find(hash, |&i| self.get(i) == s) {
            return i;
        }
        let i = place(self.ends.len());
        self.text.push_str(s);
        self.ends.push(self.text.len());
        let Interner {
            text,
            ends,
            table,
            hasher,
        } = self;
        table.insert_unique(hash, i, |&j| hasher.hash_one(nth(text, ends, j)));
        i
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

/// A node's path when no artifact record named its digest: the digest names it.
const NAMELESS: u32 = u32::MAX;

/// A node, at the place of its digest.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The path of the latest artifact record of the digest (a place in `paths`), or
    /// [`NAMELESS`].
    path: u32,
    kind: Role,
    /// In the graph: named by an artifact record, or read or written by a live execution (a
    /// digest only a superseded record of an imported run named is not).
    present: bool,
}

/// What the graph keeps of an execution; its inputs and outputs are the graph's edges
/// ([`Graph::inputs_of`], [`Graph::outputs_of`]).
#[derive(Debug, Clone)]
pub struct Execution {
    pub id: String,
    pub kind: ExecutionKind,
    pub run: Option<Box<ImportedRun>>,
    pub columns: Vec<ColumnEdge>,
}

impl Execution {
    fn of(x: &ExecutionRecord) -> Execution {
        Execution {
            id: x.id.clone(),
            kind: x.kind,
            run: x.run.clone(),
            columns: x.columns.clone(),
        }
    }

    /// What the graph keeps of a record, and its inputs and outputs.
    fn split(x: ExecutionRecord) -> (Execution, Vec<ArtifactRef>, Vec<ArtifactRef>) {
        let ExecutionRecord {
            id,
            kind,
            inputs,
            outputs,
            columns,
            run,
            ..
        } = x;
        let kept = Execution {
            id,
            kind,
            run,
            columns,
        };
        (kept, inputs, outputs)
    }
}

/// A block of the ledger as the graph reads it, made on the thread that parsed it: its paths
/// and digests end to end in one buffer. The thread building the graph then frees one buffer
/// per block, not two strings per reference: freeing strings another thread allocated
/// contends for that thread's arena, and made the whole read a third slower.
struct GraphBlock {
    text: String,
    /// Where each path and digest lies in `text`, in the order the items use them.
    spans: Vec<(usize, usize)>,
    items: Vec<GraphItem>,
}

enum GraphItem {
    /// Its path and its digest are the next two spans.
    Artifact { role: Role, aliases: Vec<String> },
    /// The path and digest of each of its inputs, then of its outputs, come next.
    Execution {
        kept: Execution,
        inputs: usize,
        outputs: usize,
    },
}

impl GraphBlock {
    fn of(lines: Vec<GraphLine>) -> GraphBlock {
        let mut text = String::with_capacity(lines.len() * 160);
        let mut spans = Vec::with_capacity(lines.len() * 2);
        let mut items = Vec::with_capacity(lines.len());
        let mut put = |s: &str| {
            let at = text.len();
            text.push_str(s);
            spans.push((at, text.len()));
        };
        for line in lines {
            if let Some(a) = line.artifact {
                put(&a.path);
                put(&a.digest);
                items.push(GraphItem::Artifact {
                    role: a.role,
                    aliases: a.aliases,
                });
            }
            if let Some(x) = line.execution {
                let (kept, inputs, outputs) = Execution::split(x);
                for (path, digest) in inputs.iter().chain(&outputs).map(ArtifactRef::pair) {
                    put(path);
                    put(digest);
                }
                items.push(GraphItem::Execution {
                    kept,
                    inputs: inputs.len(),
                    outputs: outputs.len(),
                });
            }
        }
        GraphBlock { text, spans, items }
    }
}

/// The whole graph. Digests and paths are interned: nodes, executions and the indexes in
/// both directions refer to each other by place, so building and walking hash each digest
/// once, and each is stored once.
#[derive(Debug, Default)]
pub struct Graph {
    /// Every digest met: a node's id is its digest's place.
    digests: Interner,
    paths: Interner,
    /// Per digest: its node.
    slots: Vec<Slot>,
    present: usize,
    pub executions: Vec<Execution>,
    /// Per execution: its input and output nodes, and beside each the path its record named
    /// it by.
    exec_inputs: Lists,
    exec_outputs: Lists,
    input_paths: Vec<u32>,
    output_paths: Vec<u32>,
    /// Per node: the executions that wrote it, and those that read it.
    written_by: Lists,
    read_by: Lists,
    /// Per path: its versions, in ledger order.
    by_path: Lists,
    /// Other names of artifacts (symlinks, local paths), to the path they are recorded under.
    aliases: HashMap<String, String>,
}

/// The graph while its records are read. Executions wait for the end, where a later record
/// of an imported run supersedes an earlier one; their digests and paths are interned as
/// they come, so nothing of them is kept as a string.
#[derive(Default)]
struct Builder {
    g: Graph,
    executions: Vec<Execution>,
    /// The inputs, then the outputs, of every execution: (digest, path) places.
    refs: Vec<(u32, u32)>,
    /// Per execution: where its inputs and its outputs start in `refs`.
    spans: Vec<(u32, u32)>,
    /// (path, node) of every artifact record that names another version than the path's last.
    versions: Vec<(u32, u32)>,
    /// Per path: the node of its last artifact record.
    last_version: Vec<u32>,
}

impl Builder {
    fn digest(&mut self, digest: &str) -> u32 {
        let d = self.g.digests.intern(digest);
        if d as usize == self.g.slots.len() {
            self.g.slots.push(Slot {
                path: NAMELESS,
                kind: Role::Dataset,
                present: false,
            });
        }
        d
    }

    fn artifact(&mut self, path: &str, digest: &str, role: Role, aliases: Vec<String>) {
        for alias in aliases {
            self.g.aliases.insert(alias, path.to_string());
        }
        let p = self.g.paths.intern(path);
        let d = self.digest(digest);
        self.g.slots[d as usize] = Slot {
            path: p,
            kind: role,
            present: true,
        };
        // Paths are interned by executions too: not every path has had a version.
        if p as usize >= self.last_version.len() {
            self.last_version.resize(p as usize + 1, NAMELESS);
        }
        if std::mem::replace(&mut self.last_version[p as usize], d) != d {
            self.versions.push((p, d));
        }
    }

    /// An execution and its inputs, then its outputs, as (path, digest); the first `inputs`
    /// are its inputs.
    fn execution<'a>(
        &mut self,
        x: Execution,
        refs: impl Iterator<Item = (&'a str, &'a str)>,
        inputs: usize,
    ) {
        let at = self.refs.len();
        for (path, digest) in refs {
            let d = self.digest(digest);
            let p = self.g.paths.intern(path);
            self.refs.push((d, p));
        }
        self.spans.push((place(at), place(at + inputs)));
        self.executions.push(x);
    }

    /// An execution record taken whole: its kept strings are moved, not copied.
    fn owned_execution(&mut self, x: ExecutionRecord) {
        let (kept, inputs, outputs) = Execution::split(x);
        let refs = inputs.iter().chain(&outputs).map(ArtifactRef::pair);
        self.execution(kept, refs, inputs.len());
    }

    /// Adds the live executions (a later record of an imported run superseding an earlier
    /// one) and builds the indexes.
    fn finish(self) -> Graph {
        let Builder {
            mut g,
            executions,
            refs,
            spans,
            versions,
            last_version: _,
        } = self;
        let mut executions = executions;
        let live = crate::ledger::live(executions.iter().map(|x| x.run.as_deref()));
        let mut reads = Vec::new();
        let mut writes = Vec::new();
        let mut xi = 0u32;
        for (i, &(inputs, outputs)) in spans.iter().enumerate() {
            if !live[i] {
                continue;
            }
            let end = spans.get(i + 1).map_or(refs.len(), |s| s.0 as usize);
            let (inputs, outputs) = (inputs as usize, outputs as usize);
            for &(d, p) in &refs[inputs..outputs] {
                g.slots[d as usize].present = true;
                g.exec_inputs.items.push(d);
                g.input_paths.push(p);
                reads.push((d, xi));
            }
            for &(d, p) in &refs[outputs..end] {
                g.slots[d as usize].present = true;
                g.exec_outputs.items.push(d);
                g.output_paths.push(p);
                writes.push((d, xi));
            }
            g.exec_inputs.close();
            g.exec_outputs.close();
            xi += 1;
        }
        // In place: a second vector of executions would double their memory at the end.
        let mut at = 0;
        executions.retain(|_| {
            at += 1;
            live[at - 1]
        });
        g.executions = executions;
        g.present = g.slots.iter().filter(|s| s.present).count();
        g.written_by = Lists::from_pairs(g.slots.len(), &writes);
        g.read_by = Lists::from_pairs(g.slots.len(), &reads);
        g.by_path = Lists::from_pairs(g.paths.len(), &versions);
        g
    }
}

impl Graph {
    /// Builds the graph from records.
    pub fn build(records: impl IntoIterator<Item = Record>) -> Graph {
        let mut b = Builder::default();
        for r in records {
            match r.body {
                Body::Artifact(a) => b.artifact(&a.path, &a.digest, a.role, a.aliases),
                Body::Execution(x) => b.owned_execution(x),
                Body::Scan(_) => {}
            }
        }
        b.finish()
    }

    /// The graph of records already in memory (nothing of them is copied but the executions'
    /// ids, runs and column edges).
    pub fn of_records(records: &[Record]) -> Graph {
        let mut b = Builder::default();
        for r in records {
            match &r.body {
                Body::Artifact(a) => b.artifact(&a.path, &a.digest, a.role, a.aliases.clone()),
                Body::Execution(x) => {
                    let refs = x.inputs.iter().chain(&x.outputs).map(ArtifactRef::pair);
                    b.execution(Execution::of(x), refs, x.inputs.len());
                }
                Body::Scan(_) => {}
            }
        }
        b.finish()
    }

    /// Reads the graph from the ledger, parsing only what it needs.
    pub fn load(ledger: &Ledger) -> Result<Graph, LedgerError> {
        let mut b = Builder::default();
        ledger.for_each_block(GraphBlock::of, |block| {
            let GraphBlock { text, spans, items } = block;
            let mut strings = spans.iter().map(|&(a, z)| &text[a..z]);
            for item in items {
                match item {
                    GraphItem::Artifact { role, aliases } => {
                        if let (Some(path), Some(digest)) = (strings.next(), strings.next()) {
                            b.artifact(path, digest, role, aliases);
                        }
                    }
                    GraphItem::Execution {
                        kept,
                        inputs,
                        outputs,
                    } => {
                        let refs = (0..inputs + outputs)
                            .map_while(|_| Some((strings.next()?, strings.next()?)));
                        b.execution(kept, refs, inputs);
                    }
                }
            }
        })?;
        Ok(b.finish())
    }

    /// Number of artifact versions.
    pub fn len(&self) -> usize {
        self.present
    }

    pub fn is_empty(&self) -> bool {
        self.present == 0
    }

    /// The node of a digest in the graph.
    fn id(&self, digest: &str) -> Option<u32> {
        self.digests
            .find(digest)
            .filter(|&d| self.slots[d as usize].present)
    }

    fn digest_of(&self, id: u32) -> &str {
        self.digests.get(id)
    }

    fn path_of(&self, id: u32) -> &str {
        match self.slots[id as usize].path {
            NAMELESS => self.digests.get(id),
            p => self.paths.get(p),
        }
    }

    fn node_at(&self, id: u32) -> Node {
        Node {
            path: self.path_of(id).to_string(),
            digest: self.digest_of(id).to_string(),
            kind: self.slots[id as usize].kind,
        }
    }

    /// The version with this digest.
    pub fn node(&self, digest: &str) -> Option<Node> {
        self.id(digest).map(|id| self.node_at(id))
    }

    /// The path of the version with this digest (its digest when no artifact record named it).
    pub fn path(&self, digest: &str) -> Option<&str> {
        self.id(digest).map(|id| self.path_of(id))
    }

    /// The versions an ARTIFACT argument names: a digest, or every version of a path.
    pub fn resolve(&self, artifact: &str) -> Vec<String> {
        if let Some(id) = self.id(artifact) {
            return vec![self.digest_of(id).to_string()];
        }
        let path = artifact.trim_start_matches("./");
        let path = self.aliases.get(path).map_or(path, String::as_str);
        self.paths.find(path).map_or_else(Vec::new, |p| {
            self.by_path
                .get(p)
                .iter()
                .map(|&id| self.digest_of(id).to_string())
                .collect()
        })
    }

    /// The inputs of execution `xi` as its record named them: (path, digest).
    pub fn inputs_of(&self, xi: usize) -> impl Iterator<Item = (&str, &str)> {
        self.refs(&self.exec_inputs, &self.input_paths, xi)
    }

    /// The outputs of execution `xi` as its record named them: (path, digest).
    pub fn outputs_of(&self, xi: usize) -> impl Iterator<Item = (&str, &str)> {
        self.refs(&self.exec_outputs, &self.output_paths, xi)
    }

    fn refs<'a>(
        &'a self,
        lists: &'a Lists,
        paths: &'a [u32],
        xi: usize,
    ) -> impl Iterator<Item = (&'a str, &'a str)> {
        let range = lists.range(place(xi));
        lists.items[range.clone()]
            .iter()
            .zip(&paths[range])
            .map(|(&d, &p)| (self.paths.get(p), self.digest_of(d)))
    }

    /// The executions one step away from a node, and the nodes they lead to.
    fn steps(&self, node: u32, dir: Direction) -> (&[u32], &Lists) {
        match dir {
            Direction::Upstream => (self.written_by.get(node), &self.exec_inputs),
            Direction::Downstream => (self.read_by.get(node), &self.exec_outputs),
        }
    }

    fn ids_of(&self, digests: &[String]) -> Vec<u32> {
        digests.iter().filter_map(|d| self.id(d)).collect()
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
    Walker::new(g).walk(roots, dir, with_columns)
}

/// [`walk`] again and again over one graph (an audit walks upstream of every artifact): the
/// marks a walk leaves on nodes and executions are cleared after it, one by one, instead of
/// a mark per node of the graph being made anew for each walk. The walks of a million-record
/// audit took minutes and gigabytes of zeroed memory that way.
pub struct Walker<'g> {
    g: &'g Graph,
    seen_nodes: Vec<bool>,
    seen_exec: Vec<bool>,
    /// Where a node sits on the path being walked, or [`NONE`].
    on_path_at: Vec<u32>,
}

impl<'g> Walker<'g> {
    pub fn new(g: &'g Graph) -> Walker<'g> {
        Walker {
            g,
            seen_nodes: vec![false; g.slots.len()],
            seen_exec: vec![false; g.executions.len()],
            on_path_at: vec![NONE; g.slots.len()],
        }
    }

    pub fn walk(&mut self, roots: &[String], dir: Direction, with_columns: bool) -> Walk {
        let g = self.g;
        let Walker {
            seen_nodes,
            seen_exec,
            on_path_at,
            ..
        } = self;
        // Every node entered is left again, and its path mark cleared then.
        walk_marked(
            g,
            roots,
            dir,
            with_columns,
            seen_nodes,
            seen_exec,
            on_path_at,
        )
    }
}

/// [`walk`] with its marks, all clear before and after.
fn walk_marked(
    g: &Graph,
    roots: &[String],
    dir: Direction,
    with_columns: bool,
    seen_nodes: &mut [bool],
    seen_exec: &mut [bool],
    on_path_at: &mut [u32],
) -> Walk {
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
                        .map(|&n| g.digest_of(n).to_string())
                        .collect();
                    cycle.push(g.digest_of(a).to_string());
                    cycles.push(cycle);
                    continue;
                }
                stack.push((a, true));
            }
        }
    }
    for &n in &nodes_in_order {
        seen_nodes[n as usize] = false;
    }
    for &x in &execs_in_order {
        seen_exec[x as usize] = false;
    }
    let mut artifacts: Vec<Node> = nodes_in_order.iter().map(|&n| g.node_at(n)).collect();
    artifacts.sort_unstable();
    let digests =
        |ids: &[u32]| -> Vec<String> { ids.iter().map(|&n| g.digest_of(n).to_string()).collect() };
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
    let root_path = g.path(&first).unwrap_or(&first).to_string();
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
fn run_note(x: &Execution) -> String {
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
    let mut shown = vec![false; g.slots.len()];
    let mut on_path = vec![false; g.slots.len()];
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
        let path = g.path_of(id);
        let short = crate::scan::short_digest(g.digest_of(id));
        if on_path[id as usize] {
            out += &format!("{pad}{path}  {short}  (cycle: leads back to itself)\n");
            continue;
        }
        let again = std::mem::replace(&mut shown[id as usize], true);
        out += &format!(
            "{pad}{path}  {short}  {}{}\n",
            g.slots[id as usize].kind,
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
    fn interned_strings_are_stored_once_and_found_again() {
        let mut i = Interner::default();
        let words = [
            "sha256:a",
            "",
            "data/x.csv",
            "sha256:a",
            "ünï",
            "data/x.csv",
        ];
        let places: Vec<u32> = words.iter().map(|w| i.intern(w)).collect();
        assert_eq!(places, [0, 1, 2, 0, 3, 2]);
        assert_eq!(i.len(), 4);
        assert_eq!(i.text, "sha256:adata/x.csvünï");
        for (w, &p) in words.iter().zip(&places) {
            assert_eq!(i.get(p), *w);
            assert_eq!(i.find(w), Some(p));
        }
        assert_eq!(i.find("data/x"), None);
        // Enough strings that the table grows and rehashes from the buffer.
        let many: Vec<String> = (0..10_000).map(|n| format!("sha256:{n:064x}")).collect();
        let at: Vec<u32> = many.iter().map(|d| i.intern(d)).collect();
        for (d, &p) in many.iter().zip(&at) {
            assert_eq!(i.find(d), Some(p));
            assert_eq!(i.get(p), d);
        }
    }

    fn run(id: &str, digest_in: &str, digest_out: &str) -> Record {
        let mut r = exec(id, &[digest_in], &[digest_out]);
        if let Body::Execution(x) = &mut r.body {
            x.kind = ExecutionKind::Openlineage;
            x.run = Some(Box::new(ImportedRun {
                source: "openlineage".into(),
                id: "run-1".into(),
                job: "ns/job".into(),
                state: crate::ledger::RunState::Complete,
                time: None,
                producer: None,
                properties: Default::default(),
            }));
        }
        r
    }

    /// A later record of an imported run supersedes the earlier: the digests only the earlier
    /// one named are not in the graph, and its execution is not either.
    #[test]
    fn a_superseded_run_leaves_no_node_behind() {
        let g = Graph::build([
            art("a", "sha256:a", "dataset"),
            run("x-early", "sha256:a", "sha256:ghost"),
            art("b", "sha256:b", "dataset"),
            run("x-late", "sha256:a", "sha256:b"),
        ]);
        assert_eq!(g.len(), 2);
        assert_eq!(g.node("sha256:ghost"), None);
        assert!(g.resolve("sha256:ghost").is_empty());
        let ids: Vec<&str> = g.executions.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, ["x-late"]);
        let down = walk(&g, &g.resolve("a"), Direction::Downstream, false);
        let paths: Vec<_> = down.artifacts.iter().map(|a| a.path.as_str()).collect();
        assert_eq!(paths, ["a", "b"]);
    }

    /// The versions of a path in ledger order (a record of the same version again adds none);
    /// a digest no artifact record names is named by itself; an execution's inputs and outputs
    /// keep the paths its record gave.
    #[test]
    fn versions_names_and_recorded_paths() {
        let mut step = exec("x1", &["sha256:v1"], &["sha256:out"]);
        if let Body::Execution(x) = &mut step.body {
            x.inputs[0].path = "data/t.csv".into();
            x.outputs[0].path = "out/o.csv".into();
        }
        let g = Graph::build([
            art("data/t.csv", "sha256:v1", "dataset"),
            art("data/t.csv", "sha256:v1", "dataset"),
            art("data/t.csv", "sha256:v2", "dataset"),
            art("data/u.csv", "sha256:v1", "model"),
            step,
        ]);
        assert_eq!(g.resolve("./data/t.csv"), ["sha256:v1", "sha256:v2"]);
        assert_eq!(g.resolve("data/u.csv"), ["sha256:v1"]);
        // The latest artifact record of a digest names it.
        let v1 = g.node("sha256:v1").unwrap();
        assert_eq!((v1.path.as_str(), v1.kind), ("data/u.csv", Role::Model));
        assert_eq!(g.path("sha256:out"), Some("sha256:out"));
        assert_eq!(g.len(), 3);
        let ins: Vec<_> = g.inputs_of(0).collect();
        let outs: Vec<_> = g.outputs_of(0).collect();
        assert_eq!(ins, [("data/t.csv", "sha256:v1")]);
        assert_eq!(outs, [("out/o.csv", "sha256:out")]);
        assert_eq!(g.inputs_of(1).count(), 0);
    }

    /// One walker walking from every node in turn answers as a fresh walk from each: the
    /// marks of one walk never hide a node from the next.
    #[test]
    fn a_reused_walker_answers_as_fresh_walks() {
        let g = Graph::build([
            art("a", "sha256:a", "dataset"),
            art("b", "sha256:b", "dataset"),
            art("c", "sha256:c", "dataset"),
            art("m", "sha256:m", "model"),
            exec("x1", &["sha256:a"], &["sha256:b"]),
            exec("x2", &["sha256:b", "sha256:c"], &["sha256:m"]),
            exec("x3", &["sha256:m"], &["sha256:a"]),
        ]);
        let mut walker = Walker::new(&g);
        for dir in [Direction::Upstream, Direction::Downstream] {
            for _ in 0..2 {
                for root in ["a", "b", "c", "m"] {
                    let roots = g.resolve(root);
                    let again = walker.walk(&roots, dir, true);
                    let fresh = walk(&g, &roots, dir, true);
                    assert_eq!(again.artifacts, fresh.artifacts, "{root} {dir:?}");
                    assert_eq!(again.cycles, fresh.cycles, "{root} {dir:?}");
                    let ids = |w: &Walk| {
                        w.executions
                            .iter()
                            .map(|x| x.id.clone())
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(ids(&again), ids(&fresh), "{root} {dir:?}");
                    assert!(!fresh.artifacts.is_empty());
                }
            }
        }
        let up = walker.walk(&g.resolve("m"), Direction::Upstream, false);
        assert_eq!(
            up.artifacts.len(),
            4,
            "the cycle through x3 reaches every node"
        );
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
