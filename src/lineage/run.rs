//! SQL run by piitrail: register the inputs as tables, plan the query, derive its exact column
//! lineage from the unoptimised plan ([`super::sql`]), execute it with DataFusion, stream the
//! result into the output file atomically, and (when asked) record the execution.
//!
//! Planning and lineage come before anything is written: a query DataFusion cannot plan
//! leaves no file and no record behind. The inputs are opened by the data layer
//! ([`frame::file_table`]); CSV inputs are read with [`source::csv_sql_schema`] types, so a
//! postcode or customer number with a leading zero stays text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;

use super::{LineageError, Version, append_execution, sql};
use crate::ledger::{Code, ExecutionRecord, Ledger, SchemaField};
use crate::ledger::{ExecutionKind, Role};
use crate::source;
use crate::source::frame::{self, CsvInput};
use crate::source::write::Output;

/// One SQL step.
#[derive(Debug, Clone)]
pub struct Request {
    /// The query text.
    pub sql: String,
    /// Table name and file of each input.
    pub inputs: Vec<(String, PathBuf)>,
    pub output: PathBuf,
    /// Project folder: paths are recorded relative to it.
    pub root: PathBuf,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Ran {
    pub execution: ExecutionRecord,
    pub rows: u64,
    /// The output's columns.
    pub schema: Vec<SchemaField>,
    /// Whether the execution went into the ledger.
    pub recorded: bool,
}

/// A valid table name: a letter or `_`, then letters, digits or `_` (SQL folds it to lower case).
fn check_table_name(name: &str) -> Result<String, LineageError> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(LineageError::Usage(format!(
            "--input {name}=...: a table name is a letter or '_' followed by letters, digits or '_'"
        )));
    }
    Ok(name.to_ascii_lowercase())
}

fn schema_fields(schema: &Schema) -> Vec<SchemaField> {
    schema
        .fields()
        .iter()
        .map(|f| SchemaField {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
        })
        .collect()
}

fn sql_error(e: impl std::fmt::Display) -> LineageError {
    let msg = e.to_string();
    LineageError::Sql(
        msg.trim_start_matches("Error during planning: ")
            .trim_start_matches("SQL error: ")
            .to_string(),
    )
}

/// An error while the query runs. Arrow's CSV errors quote the value and the whole row they
/// failed on, without naming the file: for a value that does not fit its column's type, the
/// CSV inputs are searched for it and the error names file, line, column and the masked
/// value; any other message loses its row data, as no raw value may reach the terminal.
fn execution_error(e: impl std::fmt::Display, csv_inputs: &[CsvInput]) -> LineageError {
    let mut msg = e.to_string();
    if msg.contains("while parsing value") {
        for input in csv_inputs {
            if let Ok(Some((line, column, value, expected))) = input.type_violation() {
                return LineageError::Io {
                    path: input.path().to_path_buf(),
                    message: format!(
                        "line {line}, column '{column}': value '{value}' is not {expected}; \
                         the column's type was chosen from the first {} rows \
                         (CAST it in the query, or fix the value)",
                        source::TYPE_SAMPLE_ROWS
                    ),
                };
            }
        }
    }
    if let Some(i) = msg.find(" Row data:") {
        msg.truncate(i);
    }
    LineageError::Sql(format!(
        "running the query: {}",
        crate::sensitive::sanitise(&msg)
    ))
}

/// The smallest group an aggregate in the plan summarises (k): for every Aggregate node, the
/// rows of its input counted per group with DataFusion, and the minimum over all of them. A
/// plan without an aggregate has none.
async fn min_group_size(
    ctx: &SessionContext,
    plan: &LogicalPlan,
) -> Result<Option<u64>, LineageError> {
    use datafusion::arrow::array::{Array, Int64Array};
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::functions_aggregate::expr_fn::{count, min};
    use datafusion::logical_expr::{LogicalPlanBuilder, col, lit};

    let mut aggregates = Vec::new();
    plan.apply(|node| {
        if let LogicalPlan::Aggregate(a) = node {
            aggregates.push(a.clone());
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .map_err(|e| LineageError::Internal(e.to_string()))?;
    let mut k: Option<u64> = None;
    for a in aggregates {
        let counted = LogicalPlanBuilder::from(a.input.as_ref().clone())
            .aggregate(
                a.group_expr.clone(),
                vec![count(lit(1)).alias("piitrail_k")],
            )
            .and_then(|b| {
                b.aggregate(
                    Vec::<datafusion::logical_expr::Expr>::new(),
                    vec![min(col("piitrail_k"))],
                )
            })
            .and_then(|b| b.build())
            .map_err(|e| LineageError::Internal(format!("measuring group sizes: {e}")))?;
        let batches = ctx
            .execute_logical_plan(counted)
            .await
            .map_err(sql_error)?
            .collect()
            .await
            .map_err(|e| LineageError::Sql(format!("measuring group sizes: {e}")))?;
        let smallest = batches.iter().find_map(|b| {
            let col = b.column(0).as_any().downcast_ref::<Int64Array>()?;
            (!col.is_empty() && col.is_valid(0)).then(|| col.value(0).max(0) as u64)
        });
        if let Some(s) = smallest {
            k = Some(k.map_or(s, |have| have.min(s)));
        }
    }
    Ok(k)
}

/// Registers one input as a table and returns its schema.
async fn register(
    ctx: &SessionContext,
    name: &str,
    path: &Path,
    csv_inputs: &mut Vec<CsvInput>,
) -> Result<SchemaRef, LineageError> {
    source::require_local(path)?;
    if !path.is_file() {
        return Err(LineageError::Missing {
            role: "input",
            path: path.to_path_buf(),
        });
    }
    let table = frame::file_table(ctx, path).await?;
    ctx.register_table(name, table.provider)
        .map_err(|e| LineageError::Usage(format!("--input {name}: {e}")))?;
    csv_inputs.extend(table.csv);
    Ok(table.schema)
}

/// Writes the result stream into `file` through the data layer; returns the row count.
async fn write_result(
    stream: SendableRecordBatchStream,
    format: Output,
    file: &mut std::fs::File,
    csv_inputs: &[CsvInput],
) -> Result<u64, LineageError> {
    source::write::write_stream(stream, format, file)
        .await
        .map_err(|e| match e {
            source::write::WriteError::Query(e) => execution_error(e, csv_inputs),
            source::write::WriteError::Write(m) => {
                LineageError::Sql(format!("writing the result: {m}"))
            }
        })
}

/// Writing the output fails on the file itself or on the query.
enum WriteError {
    Io(std::io::Error),
    Lineage(LineageError),
}

impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> Self {
        WriteError::Io(e)
    }
}

impl From<LineageError> for WriteError {
    fn from(e: LineageError) -> Self {
        WriteError::Lineage(e)
    }
}

/// Runs one SQL step; records it in `ledger` when one is given.
pub fn run(req: &Request, ledger: Option<&Ledger>) -> Result<Ran, LineageError> {
    let format = Output::of(&req.output).map_err(LineageError::Usage)?;
    if req.sql.trim().is_empty() {
        return Err(LineageError::Usage("--sql: the query is empty".into()));
    }
    let mut names = Vec::new();
    for (name, _) in &req.inputs {
        let name = check_table_name(name)?;
        if names.contains(&name) {
            return Err(LineageError::Usage(format!(
                "--input {name}: two inputs have the same table name"
            )));
        }
        names.push(name);
    }
    // Objects and tables are read into private copies, and the output's place checked,
    // before anything is written.
    let places = remote::Places::of(req)?;
    let mut tables = HashMap::new();
    for (name, (_, path)) in names.iter().zip(&req.inputs) {
        let recorded = match places.name(path) {
            Some(n) => n.to_string(),
            None => crate::scan::display_path(path, &req.root),
        };
        tables.insert(name.clone(), recorded);
    }
    let output_path = crate::scan::display_path(&req.output, &req.root);
    let runtime = source::runtime().map_err(|e| LineageError::Internal(e.to_string()))?;
    let ctx = frame::session();
    let mut csv_inputs = Vec::new();
    let (schemas, plan, columns, min_group_size) = runtime.block_on(async {
        let mut schemas = Vec::new();
        for (name, (_, path)) in names.iter().zip(&req.inputs) {
            let local = places.local(path).unwrap_or(path);
            schemas.push(register(&ctx, name, local, &mut csv_inputs).await?);
        }
        let plan = ctx
            .state()
            .create_logical_plan(&req.sql)
            .await
            .map_err(sql_error)?;
        let columns = sql::column_lineage(&plan, &tables, &output_path)?;
        let k = min_group_size(&ctx, &plan).await?;
        Ok::<_, LineageError>((schemas, plan, columns, k))
    })?;
    let out_schema = Schema::new(plan.schema().fields().iter().cloned().collect::<Vec<_>>());
    // Digest the inputs before the output is written: the output may replace one of them.
    let mut versions = Vec::new();
    for ((_, path), schema) in req.inputs.iter().zip(&schemas) {
        let mut v = match places.version(path) {
            Some(v) => v,
            None => Version::of(path, &req.root, "input", Role::Dataset)?,
        };
        v.schema = schema_fields(schema);
        versions.push(v);
    }
    let write_to = places
        .output
        .as_ref()
        .map_or(req.output.as_path(), |o| o.local.as_path());
    let rows = crate::fsio::write_atomic_with(write_to, |file| {
        runtime.block_on(async {
            let df = ctx.execute_logical_plan(plan).await.map_err(sql_error)?;
            let stream = df
                .execute_stream()
                .await
                .map_err(|e| execution_error(e, &csv_inputs))?;
            Ok::<_, WriteError>(write_result(stream, format, file, &csv_inputs).await?)
        })
    })
    .map_err(|e| match e {
        WriteError::Io(e) => LineageError::Io {
            path: req.output.clone(),
            message: e.to_string(),
        },
        WriteError::Lineage(e) => e,
    })?;
    let mut out = match &places.output {
        Some(o) => o.upload(&req.output)?,
        None => Version::of(&req.output, &req.root, "output", Role::Dataset)?,
    };
    out.schema = schema_fields(&out_schema);
    let execution = ExecutionRecord {
        id: String::new(),
        kind: ExecutionKind::Sql,
        inputs: versions.iter().map(|v| v.reference.clone()).collect(),
        outputs: vec![out.reference.clone()],
        code: Some(Code::Sql(req.sql.trim().to_string())),
        columns,
        min_group_size,
        tables: names.clone(),
        erasure: None,
        run: None,
    }
    .with_id();
    let schema = out.schema.clone();
    versions.push(out);
    let recorded = match ledger {
        Some(l) => {
            append_execution(l, versions, &execution)?;
            true
        }
        None => false,
    };
    Ok(Ran {
        execution,
        rows,
        schema,
        recorded,
    })
}

/// Inputs and an output of a run that are objects of a store (`s3://BUCKET/KEY`, ...): each
/// input fetched into a private copy (its version is the sha256 of its content, named by its
/// URL), the output written into a private file and uploaded when complete
/// ([`crate::source::objects::upload`]).
mod remote {
    use std::path::{Path, PathBuf};

    use super::{LineageError, Request, Version};
    use crate::source::location::Store;

    pub struct Places {
        inputs: Vec<Input>,
        pub output: Option<Output>,
        /// The private folder of the copies, removed when the run ends.
        dir: Option<tempfile::TempDir>,
    }

    /// An input object: its private copy and its version.
    struct Input {
        url: PathBuf,
        local: PathBuf,
        version: Version,
    }

    /// The output, to be uploaded from `local`.
    pub struct Output {
        pub local: PathBuf,
        store: Store,
    }

    impl Places {
        pub fn of(req: &Request) -> Result<Places, LineageError> {
            let mut places = Places {
                inputs: Vec::new(),
                output: None,
                dir: None,
            };
            for (_, path) in &req.inputs {
                let n = places.inputs.len();
                let fetched = match place(path)? {
                    Place::File => continue,
                    Place::Object(store, url) => {
                        let folder = places.dir()?.join(n.to_string());
                        fetch(store, &url, &folder)?
                    }
                    Place::Table(name) => {
                        let local = places.dir()?.join(format!("{n}.arrow"));
                        export(&req.root, &name, &local)?
                    }
                };
                places.inputs.push(Input {
                    url: path.clone(),
                    local: fetched.0,
                    version: fetched.1,
                });
            }
            let output = place(&req.output)?;
            if let Place::Table(name) = &output {
                return Err(LineageError::Usage(format!(
                    "--output {}: run writes files and objects, not database tables",
                    crate::source::location::mask(name)
                )));
            }
            if let Place::Object(store, url) = output {
                let name = url.rsplit('/').next().unwrap_or("output").to_string();
                let local = places.dir()?.join(name);
                places.output = Some(Output { local, store });
            }
            Ok(places)
        }

        fn dir(&mut self) -> Result<&Path, LineageError> {
            if self.dir.is_none() {
                self.dir = Some(tempfile::tempdir().map_err(|e| LineageError::Io {
                    path: std::env::temp_dir(),
                    message: format!("a private folder for the run's objects: {e}"),
                })?);
            }
            Ok(self.dir.as_ref().expect("just made").path())
        }

        /// The private copy of an input that is an object.
        pub fn local(&self, path: &Path) -> Option<&Path> {
            self.input(path).map(|i| i.local.as_path())
        }

        /// The version of an input that is an object: its URL and the sha256 of its content.
        pub fn version(&self, path: &Path) -> Option<Version> {
            self.input(path).map(|i| i.version.clone())
        }

        /// The artifact name of an input that is an object or a table (never a URL's user).
        pub fn name(&self, path: &Path) -> Option<&str> {
            self.input(path).map(|i| i.version.reference.path.as_str())
        }

        fn input(&self, path: &Path) -> Option<&Input> {
            self.inputs.iter().find(|i| i.url == path)
        }
    }

    /// Where an input or the output is.
    enum Place {
        File,
        Object(Store, String),
        /// A database table, by the name given (a URL may hold a user).
        Table(String),
    }

    /// The place `path` names; an error for a store this build cannot reach, or a database
    /// given as the output.
    fn place(path: &Path) -> Result<Place, LineageError> {
        use crate::source::location::Location;
        let text = path.to_string_lossy();
        match Location::parse(&text).map_err(crate::scan::ScanError::from)? {
            Location::File(_) => Ok(Place::File),
            Location::Object { store, url } if cfg!(feature = "objects") => {
                Ok(Place::Object(store, url))
            }
            Location::Database(_) => Ok(Place::Table(text.into_owned())),
            _ => {
                crate::source::require_local(path)?;
                Ok(Place::File)
            }
        }
    }

    /// Reads a database table whole into an Arrow copy at `local`: the copy and the table's
    /// version (`rows-sha256:` of the same read), named as `scan` names the table.
    fn export(root: &Path, name: &str, local: &Path) -> Result<(PathBuf, Version), LineageError> {
        use crate::source::dataset::Dataset;
        let masked = crate::source::location::mask(name);
        let Some(Dataset::Table { db, table }) = Dataset::table_named(root, name)? else {
            return Err(LineageError::Usage(format!(
                "--input {masked}: no such table (a table is named DB.SCHEMA.TABLE in PostgreSQL, DB.TABLE in MySQL, sqlite:PATH.TABLE)"
            )));
        };
        let digest = db.export(&table, local)?;
        let version = Version {
            reference: crate::ledger::ArtifactRef {
                path: db.artifact(&table),
                digest,
            },
            size: 0,
            format: db.format().into(),
            role: crate::ledger::Role::Dataset,
            schema: Vec::new(),
        };
        Ok((local.to_path_buf(), version))
    }

    /// Fetches an input object into `folder`: its copy and version.
    #[cfg(feature = "objects")]
    fn fetch(store: Store, url: &str, folder: &Path) -> Result<(PathBuf, Version), LineageError> {
        std::fs::create_dir(folder).map_err(|e| LineageError::Io {
            path: folder.to_path_buf(),
            message: e.to_string(),
        })?;
        let got = crate::source::objects::fetch(store, url, folder)?;
        match got.into_iter().next() {
            Some(copy) if copy.url == url => Ok((
                copy.source.path,
                Version {
                    reference: crate::ledger::ArtifactRef {
                        path: url.to_string(),
                        digest: copy.digest,
                    },
                    size: copy.source.size,
                    format: copy.source.format.as_str().into(),
                    role: crate::ledger::Role::Dataset,
                    schema: Vec::new(),
                },
            )),
            _ => Err(LineageError::Missing {
                role: "input",
                path: PathBuf::from(url),
            }),
        }
    }

    #[cfg(not(feature = "objects"))]
    fn fetch(_: Store, url: &str, _: &Path) -> Result<(PathBuf, Version), LineageError> {
        Err(LineageError::Internal(format!(
            "{url}: this piitrail was built without the `objects` feature"
        )))
    }

    impl Output {
        /// Uploads the written output to `url`; its version (the sha256 of what was sent).
        pub fn upload(&self, url: &Path) -> Result<Version, LineageError> {
            let name = url.to_string_lossy().into_owned();
            let mut v = Version::of(
                &self.local,
                &self.local,
                "output",
                crate::ledger::Role::Dataset,
            )?;
            #[cfg(feature = "objects")]
            crate::source::objects::upload(self.store, &name, &self.local)?;
            #[cfg(not(feature = "objects"))]
            let _ = self.store;
            v.reference.path = name;
            Ok(v)
        }
    }
}
