//! Exact column lineage from DataFusion's logical plan.
//!
//! The plan is walked unoptimised (as the SQL planner built it, before any rewrite could blur
//! provenance), bottom-up: every node says, for each of its output columns, which input columns
//! its values come from (DIRECT, with the transformation applied so far) and which input
//! columns decided which rows or values it holds (INDIRECT: JOIN, GROUP_BY, FILTER, SORT,
//! WINDOW, CONDITIONAL). Composing steps keeps the strongest: a hash of a truncated value is
//! generalised, a count of hashed values is aggregated. The function table is
//! [`super::functions`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::logical_expr::expr::{
    AggregateFunction, InSubquery, SetComparison, WindowFunction, WindowFunctionDefinition,
};
use datafusion::logical_expr::utils::grouping_set_to_exprlist;
use datafusion::logical_expr::{Distinct, Expr, ExprSchemable, LogicalPlan, Operator};

use super::LineageError;
use super::functions::{self, Effect};
/// The subtypes of INDIRECT flows: JOIN, GROUP_BY, FILTER, SORT, WINDOW, CONDITIONAL.
use crate::ledger::Subtype as Indirect;
use crate::ledger::{self, ColumnEdge, ColumnRef, EdgeType};

/// Our propagation class of a direct flow, from the rawest to the most transformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Flow {
    Direct,
    Pseudonymised,
    Generalised,
    Aggregated,
}

/// OpenLineage subtypes of DIRECT flows, from the least to the most transforming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Identity,
    Transformation,
    Aggregation,
}

impl Flow {
    fn class(self) -> ledger::Class {
        match self {
            Flow::Direct => ledger::Class::Direct,
            Flow::Pseudonymised => ledger::Class::Pseudonymised,
            Flow::Generalised => ledger::Class::Generalised,
            Flow::Aggregated => ledger::Class::Aggregated,
        }
    }
}

impl Step {
    fn subtype(self) -> ledger::Subtype {
        match self {
            Step::Identity => ledger::Subtype::Identity,
            Step::Transformation => ledger::Subtype::Transformation,
            Step::Aggregation => ledger::Subtype::Aggregation,
        }
    }
}

/// How values flow directly. Ordered so that the minimum is the rawest flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Direct {
    class: Flow,
    subtype: Step,
    masking: bool,
}

impl Direct {
    const IDENTITY: Direct = Direct::step(Flow::Direct, Step::Identity, false);
    const TRANSFORM: Direct = Direct::step(Flow::Direct, Step::Transformation, false);
    const MASK: Direct = Direct::step(Flow::Pseudonymised, Step::Transformation, true);
    const GENERALISE: Direct = Direct::step(Flow::Generalised, Step::Transformation, false);
    const AGGREGATE: Direct = Direct::step(Flow::Aggregated, Step::Aggregation, false);
    const COLLECT: Direct = Direct::step(Flow::Direct, Step::Aggregation, false);

    const fn step(class: Flow, subtype: Step, masking: bool) -> Direct {
        Direct {
            class,
            subtype,
            masking,
        }
    }

    /// This flow followed by `step`.
    fn then(self, step: Direct) -> Direct {
        Direct {
            class: self.class.max(step.class),
            subtype: self.subtype.max(step.subtype),
            masking: self.masking || step.masking,
        }
    }
}

/// How one source column reaches an output column.
#[derive(Debug, Clone, Default, PartialEq)]
struct Link {
    direct: Option<Direct>,
    indirect: BTreeSet<Indirect>,
}

/// The lineage of one column: per source column, how it reaches this one.
#[derive(Debug, Clone, Default, PartialEq)]
struct Deps(BTreeMap<ColumnRef, Link>);

impl Deps {
    fn source(path: &str, column: &str) -> Deps {
        let mut d = Deps::default();
        d.0.insert(
            ColumnRef {
                path: path.to_string(),
                column: column.to_string(),
            },
            Link {
                direct: Some(Direct::IDENTITY),
                indirect: BTreeSet::new(),
            },
        );
        d
    }

    /// Adds `other`: where both flow directly from one source, the rawest flow is kept.
    fn merge(&mut self, other: &Deps) {
        for (src, link) in &other.0 {
            let mine = self.0.entry(src.clone()).or_default();
            mine.direct = match (mine.direct, link.direct) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            mine.indirect.extend(link.indirect.iter().cloned());
        }
    }

    /// The direct flows followed by `step`; indirect ones are unchanged.
    fn then(mut self, step: Direct) -> Deps {
        for link in self.0.values_mut() {
            link.direct = link.direct.map(|d| d.then(step));
        }
        self
    }

    /// These columns used to decide rows or values (a filter, a join key, ...): their direct
    /// sources become influences of kind `kind`; what already only influenced them keeps its
    /// own kind.
    fn influence(&self, kind: Indirect) -> Deps {
        Deps(
            self.0
                .iter()
                .map(|(src, link)| {
                    let mut indirect = link.indirect.clone();
                    if link.direct.is_some() {
                        indirect.insert(kind.clone());
                    }
                    (
                        src.clone(),
                        Link {
                            direct: None,
                            indirect,
                        },
                    )
                })
                .collect(),
        )
    }
}

fn union<'d>(all: impl IntoIterator<Item = &'d Deps>) -> Deps {
    let mut u = Deps::default();
    for d in all {
        u.merge(d);
    }
    u
}

/// Adds `extra` to every column.
fn merge_all(cols: &mut [Deps], extra: &Deps) {
    if !extra.0.is_empty() {
        cols.iter_mut().for_each(|c| c.merge(extra));
    }
}

/// The columns an expression can see: its input's, and those of enclosing queries (for
/// correlated subqueries).
struct Scope<'s> {
    schema: &'s DFSchema,
    cols: &'s [Deps],
    outer: Option<&'s Scope<'s>>,
}

impl Scope<'_> {
    fn resolve(&self, c: &Column) -> Result<Deps, LineageError> {
        match self.schema.maybe_index_of_column(c) {
            Some(i) => Ok(self.cols[i].clone()),
            None => Err(internal(format!(
                "column {c} is not in the plan's schema ({})",
                self.schema
                    .columns()
                    .iter()
                    .map(|c| c.flat_name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    fn resolve_outer(&self, c: &Column) -> Result<Deps, LineageError> {
        let mut scope = self.outer;
        while let Some(s) = scope {
            if s.schema.maybe_index_of_column(c).is_some() {
                return s.resolve(c);
            }
            scope = s.outer;
        }
        Err(internal(format!(
            "outer column {c} is in no enclosing query"
        )))
    }
}

fn internal(message: String) -> LineageError {
    LineageError::Internal(format!("column lineage: {message}"))
}

/// What a plan node produces: the lineage of each output column, and the influences that
/// decided which rows exist at all (filters, join keys, group keys, sort keys), which hold for
/// every column, even one computed from nothing but a literal or `count(*)`.
#[derive(Debug, Clone, Default, PartialEq)]
struct Rel {
    cols: Vec<Deps>,
    rows: Deps,
}

impl Rel {
    fn new(cols: Vec<Deps>, rows: Deps) -> Rel {
        Rel { cols, rows }
    }

    /// Every column with the row influences folded in: what a subquery or the final output
    /// hands on.
    fn into_columns(self) -> Vec<Deps> {
        let Rel { mut cols, rows } = self;
        merge_all(&mut cols, &rows);
        cols
    }

    fn scope<'s>(&'s self, schema: &'s DFSchema, outer: Option<&'s Scope<'s>>) -> Scope<'s> {
        Scope {
            schema,
            cols: &self.cols,
            outer,
        }
    }
}

/// Walks one plan; `tables` maps the registered table names to artifact paths.
struct Walker<'t> {
    tables: &'t HashMap<String, String>,
    /// Recursive CTEs: the lineage of their working table so far.
    work: HashMap<String, Rel>,
}

impl Walker<'_> {
    fn plan(&mut self, plan: &LogicalPlan, outer: Option<&Scope>) -> Result<Rel, LineageError> {
        let width = plan.schema().fields().len();
        let rel = match plan {
            LogicalPlan::TableScan(t) => {
                let name = t.table_name.table();
                if let Some(work) = self.work.get(name) {
                    let cols = match &t.projection {
                        Some(p) => p.iter().map(|&i| work.cols[i].clone()).collect(),
                        None => work.cols.clone(),
                    };
                    Rel::new(cols, work.rows.clone())
                } else {
                    let path = self
                        .tables
                        .get(name)
                        .ok_or_else(|| internal(format!("table {name} is not an input")))?;
                    let cols: Vec<Deps> = t
                        .projected_schema
                        .fields()
                        .iter()
                        .map(|f| Deps::source(path, f.name()))
                        .collect();
                    let mut filtered = Deps::default();
                    for f in &t.filters {
                        for c in f.column_refs() {
                            filtered.merge(&Deps::source(path, &c.name));
                        }
                    }
                    Rel::new(cols, filtered.influence(Indirect::Filter))
                }
            }
            LogicalPlan::Projection(p) => {
                let input = self.plan(&p.input, outer)?;
                let scope = input.scope(p.input.schema(), outer);
                let cols = self.exprs(&p.expr, &scope)?;
                Rel::new(cols, input.rows)
            }
            LogicalPlan::Filter(f) => {
                let mut rel = self.plan(&f.input, outer)?;
                let scope = rel.scope(f.input.schema(), outer);
                let cond = self.expr(&f.predicate, &scope)?;
                rel.rows.merge(&cond.influence(Indirect::Filter));
                rel
            }
            LogicalPlan::Window(w) => {
                let mut rel = self.plan(&w.input, outer)?;
                let scope = rel.scope(w.input.schema(), outer);
                let extra = self.exprs(&w.window_expr, &scope)?;
                rel.cols.extend(extra);
                rel
            }
            LogicalPlan::Aggregate(a) => {
                let input = self.plan(&a.input, outer)?;
                let scope = input.scope(a.input.schema(), outer);
                let group_exprs =
                    grouping_set_to_exprlist(&a.group_expr).map_err(|e| internal(e.to_string()))?;
                let mut cols = Vec::with_capacity(width);
                for e in group_exprs {
                    cols.push(self.expr(e, &scope)?);
                }
                let keys = union(&cols).influence(Indirect::GroupBy);
                if matches!(a.group_expr.as_slice(), [Expr::GroupingSet(_)]) {
                    cols.push(Deps::default()); // the internal grouping id
                }
                cols.extend(self.exprs(&a.aggr_expr, &scope)?);
                let mut rows = input.rows;
                rows.merge(&keys);
                Rel::new(cols, rows)
            }
            LogicalPlan::Sort(s) => {
                let mut rel = self.plan(&s.input, outer)?;
                let scope = rel.scope(s.input.schema(), outer);
                let mut keys = Deps::default();
                for k in &s.expr {
                    keys.merge(&self.expr(&k.expr, &scope)?);
                }
                rel.rows.merge(&keys.influence(Indirect::Sort));
                rel
            }
            LogicalPlan::Join(j) => {
                let left = self.plan(&j.left, outer)?;
                let right = self.plan(&j.right, outer)?;
                let both_schema = j
                    .left
                    .schema()
                    .join(j.right.schema())
                    .map_err(|e| internal(e.to_string()))?;
                let both = Rel::new(
                    left.cols.iter().chain(&right.cols).cloned().collect(),
                    Deps::default(),
                );
                let mut cond = Deps::default();
                {
                    let left_scope = left.scope(j.left.schema(), outer);
                    let right_scope = right.scope(j.right.schema(), outer);
                    for (l, r) in &j.on {
                        cond.merge(&self.expr(l, &left_scope)?);
                        cond.merge(&self.expr(r, &right_scope)?);
                    }
                    if let Some(f) = &j.filter {
                        cond.merge(&self.expr(f, &both.scope(&both_schema, outer))?);
                    }
                }
                let cols: Vec<Deps> = j
                    .schema
                    .iter()
                    .map(|(q, f)| {
                        both_schema
                            .index_of_column_by_name(q, f.name())
                            .map(|i| both.cols[i].clone())
                            .unwrap_or_default() // the mark column of a mark join
                    })
                    .collect();
                let mut rows = left.rows;
                rows.merge(&right.rows);
                rows.merge(&cond.influence(Indirect::Join));
                Rel::new(cols, rows)
            }
            LogicalPlan::Union(u) => {
                let mut rel = Rel::new(vec![Deps::default(); width], Deps::default());
                for input in &u.inputs {
                    let branch = self.plan(input, outer)?;
                    for (c, d) in rel.cols.iter_mut().zip(&branch.cols) {
                        c.merge(d);
                    }
                    rel.rows.merge(&branch.rows);
                }
                rel
            }
            LogicalPlan::Distinct(Distinct::All(input)) => {
                let mut rel = self.plan(input, outer)?;
                let keys = union(&rel.cols).influence(Indirect::GroupBy);
                rel.rows.merge(&keys);
                rel
            }
            LogicalPlan::Distinct(Distinct::On(d)) => {
                let input = self.plan(&d.input, outer)?;
                let scope = input.scope(d.input.schema(), outer);
                let mut rows = input.rows.clone();
                for e in &d.on_expr {
                    rows.merge(&self.expr(e, &scope)?.influence(Indirect::GroupBy));
                }
                for k in d.sort_expr.iter().flatten() {
                    rows.merge(&self.expr(&k.expr, &scope)?.influence(Indirect::Sort));
                }
                Rel::new(self.exprs(&d.select_expr, &scope)?, rows)
            }
            LogicalPlan::Unnest(u) => {
                let input = self.plan(&u.input, outer)?;
                let cols = u
                    .dependency_indices
                    .iter()
                    .map(|&i| input.cols[i].clone())
                    .collect();
                Rel::new(cols, input.rows)
            }
            LogicalPlan::RecursiveQuery(r) => {
                let mut rel = self.plan(&r.static_term, outer)?;
                // The working table's lineage grows with each round; it is finite, so this
                // reaches a fixed point (a bound guards against a bug looping forever).
                for _ in 0..64 {
                    self.work.insert(r.name.clone(), rel.clone());
                    let step = self.plan(&r.recursive_term, outer)?;
                    let mut next = rel.clone();
                    for (c, d) in next.cols.iter_mut().zip(&step.cols) {
                        c.merge(d);
                    }
                    next.rows.merge(&step.rows);
                    if next == rel {
                        break;
                    }
                    rel = next;
                }
                self.work.remove(&r.name);
                rel
            }
            LogicalPlan::SubqueryAlias(s) => self.plan(&s.input, outer)?,
            LogicalPlan::Subquery(s) => self.plan(&s.subquery, outer)?,
            LogicalPlan::Limit(l) => self.plan(&l.input, outer)?,
            LogicalPlan::Repartition(r) => self.plan(&r.input, outer)?,
            LogicalPlan::EmptyRelation(_) | LogicalPlan::Values(_) => {
                Rel::new(vec![Deps::default(); width], Deps::default())
            }
            LogicalPlan::Extension(_) => {
                // A node we do not know: every output may come from every input (the safe side).
                let mut all = Deps::default();
                for input in plan.inputs() {
                    for d in self.plan(input, outer)?.into_columns() {
                        all.merge(&d);
                    }
                }
                Rel::new(vec![all.then(Direct::TRANSFORM); width], Deps::default())
            }
            LogicalPlan::Statement(_)
            | LogicalPlan::Explain(_)
            | LogicalPlan::Analyze(_)
            | LogicalPlan::Dml(_)
            | LogicalPlan::Ddl(_)
            | LogicalPlan::Copy(_)
            | LogicalPlan::DescribeTable(_) => {
                return Err(LineageError::NotAQuery(plan.display().to_string()));
            }
        };
        if rel.cols.len() != width {
            return Err(internal(format!(
                "{} gave {} columns for a schema of {width}",
                plan.display(),
                rel.cols.len()
            )));
        }
        Ok(rel)
    }

    fn expr(&mut self, e: &Expr, scope: &Scope) -> Result<Deps, LineageError> {
        Ok(match e {
            Expr::Column(c) => scope.resolve(c)?,
            Expr::OuterReferenceColumn(_, c) => scope.resolve_outer(c)?,
            Expr::Alias(a) => self.expr(&a.expr, scope)?,
            Expr::Literal(..) | Expr::ScalarVariable(..) | Expr::Placeholder(_) => Deps::default(),
            Expr::ScalarFunction(f) => {
                let args = self.exprs(&f.args, scope)?;
                match functions::scalar(f.func.name()) {
                    Effect::PassThrough => union(&args),
                    Effect::NullIf => {
                        let mut d = args.first().cloned().unwrap_or_default();
                        d.merge(
                            &union(&args[1.min(args.len())..]).influence(Indirect::Conditional),
                        );
                        d
                    }
                    Effect::DatePart => {
                        let epoch = matches!(f.args.first(), Some(Expr::Literal(v, _))
                            if literal_str(v).is_some_and(|s| s.eq_ignore_ascii_case("epoch")));
                        let step = if epoch {
                            Direct::TRANSFORM
                        } else {
                            Direct::GENERALISE
                        };
                        union(&args).then(step)
                    }
                    effect => union(&args).then(step_of(effect)),
                }
            }
            Expr::Cast(c) => self.expr(&c.expr, scope)?.then(Direct::TRANSFORM),
            Expr::TryCast(c) => self.expr(&c.expr, scope)?.then(Direct::TRANSFORM),
            Expr::BinaryExpr(b) => {
                let mut d = self.expr(&b.left, scope)?;
                d.merge(&self.expr(&b.right, scope)?);
                let integer_division = b.op == Operator::Divide
                    && e.get_type(scope.schema).is_ok_and(|t| t.is_integer());
                d.then(if integer_division {
                    Direct::GENERALISE
                } else {
                    Direct::TRANSFORM
                })
            }
            Expr::Case(c) => {
                let mut cond = Deps::default();
                if let Some(base) = &c.expr {
                    cond.merge(&self.expr(base, scope)?);
                }
                let mut d = Deps::default();
                for (when, then) in &c.when_then_expr {
                    cond.merge(&self.expr(when, scope)?);
                    d.merge(&self.expr(then, scope)?);
                }
                if let Some(other) = &c.else_expr {
                    d.merge(&self.expr(other, scope)?);
                }
                d.merge(&cond.influence(Indirect::Conditional));
                d
            }
            Expr::AggregateFunction(AggregateFunction { func, params }) => {
                let step = step_of(functions::aggregate(func.name()));
                let mut d = union(&self.exprs(&params.args, scope)?).then(step);
                if let Some(f) = &params.filter {
                    d.merge(&self.expr(f, scope)?.influence(Indirect::Filter));
                }
                for k in &params.order_by {
                    d.merge(&self.expr(&k.expr, scope)?.influence(Indirect::Sort));
                }
                d
            }
            Expr::WindowFunction(w) => {
                let WindowFunction { fun, params } = w.as_ref();
                let effect = match fun {
                    WindowFunctionDefinition::AggregateUDF(f) => functions::aggregate(f.name()),
                    WindowFunctionDefinition::WindowUDF(f) => functions::window(f.name()),
                };
                let step = match effect {
                    // A window function that copies a value copies it from another row.
                    Effect::Copy => Direct::TRANSFORM,
                    other => step_of(other),
                };
                let mut d = union(&self.exprs(&params.args, scope)?).then(step);
                let mut window = union(&self.exprs(&params.partition_by, scope)?);
                for k in &params.order_by {
                    window.merge(&self.expr(&k.expr, scope)?);
                }
                d.merge(&window.influence(Indirect::Window));
                if let Some(f) = &params.filter {
                    d.merge(&self.expr(f, scope)?.influence(Indirect::Filter));
                }
                d
            }
            Expr::ScalarSubquery(s) => {
                let cols = self.plan(&s.subquery, Some(scope))?.into_columns();
                cols.into_iter().next().unwrap_or_default()
            }
            // EXISTS depends only on which rows the subquery finds.
            Expr::Exists(x) => self.plan(&x.subquery.subquery, Some(scope))?.rows,
            // `x IN (subquery)`, `x > ANY (subquery)`: a value computed from x and the values
            // the subquery finds.
            Expr::InSubquery(InSubquery { expr, subquery, .. })
            | Expr::SetComparison(SetComparison { expr, subquery, .. }) => {
                let rel = self.plan(&subquery.subquery, Some(scope))?;
                let mut d = self.expr(expr, scope)?;
                d.merge(&union(&rel.cols));
                let mut d = d.then(Direct::TRANSFORM);
                d.merge(&rel.rows);
                d
            }
            Expr::Unnest(u) => self.expr(&u.expr, scope)?,
            // Everything else (NOT, IS NULL, LIKE, BETWEEN, IN (list), negation, lambdas, ...)
            // computes a new value from its operands.
            other => {
                let mut children = Vec::new();
                other
                    .apply_children(|c| {
                        children.push(c);
                        Ok(TreeNodeRecursion::Continue)
                    })
                    .map_err(|e| internal(e.to_string()))?;
                let mut d = Deps::default();
                for c in children {
                    d.merge(&self.expr(c, scope)?);
                }
                d.then(Direct::TRANSFORM)
            }
        })
    }

    fn exprs(&mut self, es: &[Expr], scope: &Scope) -> Result<Vec<Deps>, LineageError> {
        es.iter().map(|e| self.expr(e, scope)).collect()
    }
}

fn step_of(effect: Effect) -> Direct {
    match effect {
        Effect::PassThrough | Effect::NullIf => Direct::IDENTITY,
        Effect::Mask => Direct::MASK,
        Effect::Generalise | Effect::DatePart => Direct::GENERALISE,
        Effect::Aggregate => Direct::AGGREGATE,
        Effect::Copy => Direct::COLLECT,
        Effect::Transform => Direct::TRANSFORM,
    }
}

fn literal_str(v: &ScalarValue) -> Option<&str> {
    match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Some(s),
        _ => None,
    }
}

/// The column lineage of an unoptimised logical plan whose table scans name the keys of
/// `tables` (table name → artifact path): one edge per (input column, output column, flow),
/// sorted. Output columns are written to `output` under their schema names, which must
/// therefore be unique.
pub fn column_lineage(
    plan: &LogicalPlan,
    tables: &HashMap<String, String>,
    output: &str,
) -> Result<Vec<ColumnEdge>, LineageError> {
    let schema = plan.schema();
    let mut seen = BTreeSet::new();
    for f in schema.fields() {
        if !seen.insert(f.name().as_str()) {
            return Err(LineageError::DuplicateColumn(f.name().clone()));
        }
    }
    let mut walker = Walker {
        tables,
        work: HashMap::new(),
    };
    let cols = walker.plan(plan, None)?.into_columns();
    let mut edges = Vec::new();
    for (field, deps) in schema.fields().iter().zip(cols) {
        let to = ColumnRef {
            path: output.to_string(),
            column: field.name().clone(),
        };
        for (from, link) in deps.0 {
            if let Some(d) = link.direct {
                edges.push(ColumnEdge {
                    from: from.clone(),
                    to: to.clone(),
                    edge_type: EdgeType::Direct,
                    subtype: d.subtype.subtype(),
                    masking: d.masking,
                    class: d.class.class(),
                    description: None,
                });
            }
            for k in link.indirect {
                edges.push(ColumnEdge {
                    from: from.clone(),
                    to: to.clone(),
                    edge_type: EdgeType::Indirect,
                    subtype: k,
                    masking: false,
                    class: ledger::Class::Influenced,
                    description: None,
                });
            }
        }
    }
    edges.sort();
    Ok(edges)
}
