//! The wire types: a RunEvent and its facets as far as piitrail reads them.

use super::*;

/// A RunEvent, as far as piitrail reads it. Unknown keys and facets are ignored; known ones
/// must have the spec's types.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunEvent {
    pub event_time: String,
    #[serde(default)]
    pub event_type: Option<String>,
    pub run: Run,
    pub job: Job,
    #[serde(default)]
    pub inputs: Vec<Dataset>,
    #[serde(default)]
    pub outputs: Vec<Dataset>,
    pub producer: String,
    #[serde(rename = "schemaURL")]
    pub schema_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub run_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Job {
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub facets: JobFacets,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct JobFacets {
    pub sql: Option<SqlFacet>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SqlFacet {
    #[serde(default)]
    pub query: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Dataset {
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub facets: DatasetFacets,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetFacets {
    pub schema: Option<SchemaFacet>,
    pub column_lineage: Option<ColumnLineageFacet>,
    pub symlinks: Option<SymlinksFacet>,
    pub tags: Option<TagsFacet>,
    pub version: Option<VersionFacet>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SchemaFacet {
    #[serde(default)]
    pub fields: Vec<SchemaFieldFacet>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SchemaFieldFacet {
    pub name: String,
    #[serde(default, rename = "type")]
    pub data_type: Option<String>,
    /// Nested fields (structs), named `parent.child`.
    #[serde(default)]
    pub fields: Vec<SchemaFieldFacet>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ColumnLineageFacet {
    #[serde(default)]
    pub fields: BTreeMap<String, FieldLineage>,
    #[serde(default)]
    pub dataset: Vec<InputField>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldLineage {
    #[serde(default)]
    pub input_fields: Vec<InputField>,
    #[serde(default)]
    pub transformation_description: Option<String>,
    #[serde(default)]
    pub transformation_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InputField {
    pub namespace: String,
    pub name: String,
    pub field: String,
    #[serde(default)]
    pub transformations: Vec<Transformation>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Transformation {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub subtype: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub masking: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SymlinksFacet {
    #[serde(default)]
    pub identifiers: Vec<Symlink>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Symlink {
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TagsFacet {
    #[serde(default)]
    pub tags: Vec<TagEntry>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TagEntry {
    pub key: String,
    pub value: String,
    #[serde(default)]
    pub field: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionFacet {
    pub dataset_version: String,
}

/// A RunEvent and where it was read from (`FILE:LINE`, `FILE[INDEX]`, `request`).
#[derive(Debug, Clone)]
pub struct Event {
    pub origin: String,
    pub event: RunEvent,
    /// Facets dropped because they broke their schema, each naming the origin.
    pub warnings: Vec<String>,
}
