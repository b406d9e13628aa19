//! The ledger's vocabulary as types: how a column reaches another (class, OpenLineage type and
//! subtype), what an artifact is, what kind of step ran and in what state its run ended, and
//! why a column was tagged. Every other module matches on these, never on their strings.
//!
//! The names are written by serde from the variants (`rename_all`), and read back the same
//! way, so the JSON of a ledger is byte for byte what it was when these were strings
//! (`tests/ledger_model.rs` re-serialises a committed ledger and compares bytes). `Display`
//! and `FromStr` come from the same variants through strum, and a test holds the two to the
//! same names. Where a producer may send a value outside the set (an OpenLineage subtype, an
//! MLMD state), an `Other` variant keeps it as it came; the propagation class has no such
//! variant: an unknown class is an error, never a silent `direct`.
//!
//! Order is by name (as the strings sorted), so that sets of edges keep the order they had.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::rules::GdprClass;

/// Names in one place: a variant's name as serde writes it and strum displays it.
macro_rules! by_name {
    ($t:ty) => {
        impl PartialOrd for $t {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $t {
            fn cmp(&self, other: &Self) -> Ordering {
                self.as_str().cmp(other.as_str())
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

/// An open vocabulary (a known name, or any other kept as written) in JSON: its name as a
/// string both ways, parsed by strum, whose `default` variant takes any other name. Parsed where
/// the string stands; serde's untagged fallback would copy every value into a buffer first.
macro_rules! by_str {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$t, D::Error> {
                struct Name;
                impl serde::de::Visitor<'_> for Name {
                    type Value = $t;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a string")
                    }
                    // Parsed where it stands, borrowed or not: a known name allocates nothing.
                    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<$t, E> {
                        name.parse().map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(Name)
            }
        }
    };
}

/// A closed vocabulary: a unit enum whose names serde writes and reads and strum shows and
/// parses, by one case rule, with `as_str`, `Display` and order by name.
macro_rules! closed {
    ($case:literal; $(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident,)+ }) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            Serialize,
            Deserialize,
            strum::IntoStaticStr,
            strum::EnumString,
            strum::VariantArray,
        )]
        #[serde(rename_all = $case)]
        #[strum(serialize_all = $case)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub fn as_str(&self) -> &'static str {
                self.into()
            }
        }
        by_name!($name);
    };
}

closed! {
    "lowercase";
    /// How an input column's personal data reaches an output column (DESIGN.md, propagation).
    pub enum Class {
        /// The values themselves, copied or lightly transformed.
        Direct,
        /// Replaced by a token or hash that still singles the person out.
        Pseudonymised,
        /// Coarsened (a year from a date, a region from a postcode).
        Generalised,
        /// Folded into a statistic over a group of rows.
        Aggregated,
        /// Decided which rows or values come out (a filter, a join key) without being copied.
        Influenced,
    }
}

impl Class {
    /// The OpenLineage type, subtype and masking flag a declared edge of this class gets.
    pub fn openlineage(self) -> (EdgeType, Subtype, bool) {
        match self {
            Class::Direct | Class::Generalised => {
                (EdgeType::Direct, Subtype::Transformation, false)
            }
            Class::Pseudonymised => (EdgeType::Direct, Subtype::Transformation, true),
            Class::Aggregated => (EdgeType::Direct, Subtype::Aggregation, false),
            Class::Influenced => (EdgeType::Indirect, Subtype::Filter, false),
        }
    }
}

closed! {
    "UPPERCASE";
    /// OpenLineage column lineage type.
    pub enum EdgeType {
        /// The output value is computed from the input value.
        Direct,
        /// The input decides which rows or values come out.
        Indirect,
    }
}

/// OpenLineage column lineage subtype; a producer's own subtype is kept as it came, and an
/// INDIRECT edge that merges several kinds has none (`Other("")`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Subtype {
    Identity,
    Transformation,
    Aggregation,
    Join,
    GroupBy,
    Filter,
    Sort,
    Window,
    Conditional,
    #[strum(default)]
    Other(String),
}

impl Subtype {
    pub fn as_str(&self) -> &str {
        match self {
            Subtype::Other(s) => s,
            known => known.into(),
        }
    }
}
by_name!(Subtype);
by_str!(Subtype);

closed! {
    "lowercase";
    /// What an artifact is.
    pub enum Role {
        /// A file, table or object that holds rows.
        Dataset,
        /// A model trained on datasets: it holds what it was trained on.
        Model,
    }
}

closed! {
    "lowercase";
    /// What kind of step an execution was.
    pub enum ExecutionKind {
        /// SQL piitrail ran itself (`piitrail run`): column lineage from the logical plan.
        Sql,
        /// A declared training step: the outputs are models trained on the inputs.
        Training,
        /// A declared transformation.
        Transform,
        /// A declared export.
        Export,
        /// A run imported from OpenLineage events.
        Openlineage,
        /// An execution imported from a TFX ML Metadata store.
        Mlmd,
        /// A subject erasure (`subject erase`): the rows of one person removed.
        Erasure,
    }
}

impl ExecutionKind {
    /// The kinds piitrail records itself (not imported), which it exports as OpenLineage.
    pub fn is_own(self) -> bool {
        matches!(
            self,
            ExecutionKind::Sql
                | ExecutionKind::Training
                | ExecutionKind::Transform
                | ExecutionKind::Export
        )
    }
}

/// The state an imported run ended in: an OpenLineage eventType, or an MLMD execution state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "UPPERCASE")]
pub enum RunState {
    // OpenLineage
    Start,
    Running,
    Complete,
    Fail,
    Abort,
    /// Also what an event without an eventType says.
    #[default]
    Other,
    // MLMD (RUNNING and COMPLETE as above)
    New,
    Failed,
    Cached,
    Canceled,
    Unknown,
    /// A state outside both sets, as its producer wrote it.
    #[strum(default)]
    Unlisted(String),
}

impl RunState {
    pub fn as_str(&self) -> &str {
        match self {
            RunState::Unlisted(s) => s,
            known => known.into(),
        }
    }

    /// A failed or aborted run: it stays in lineage, marked, and hands on no tags.
    pub fn failed(&self) -> bool {
        matches!(
            self,
            RunState::Fail | RunState::Abort | RunState::Failed | RunState::Canceled
        )
    }

    /// How far along a run is: a start, then a running or other event, then anything final.
    pub fn rank(&self) -> u8 {
        match self {
            RunState::Start => 0,
            RunState::Running | RunState::Other => 1,
            _ => 2,
        }
    }
}
by_name!(RunState);
by_str!(RunState);

closed! {
    "snake_case";
    /// Why a column was tagged.
    pub enum Basis {
        /// Whole values matched the rule.
        Values,
        /// Matches inside longer free text.
        FreeText,
        /// The name carries the tag: no values to test, or values in a form the rule does not check.
        Name,
        /// Values matched, too rarely for a confident tag.
        LowPrevalence,
        /// The values are keys of a person table (a declared foreign key, or a name and inclusion).
        Reference,
        /// A producer declared the tag (an OpenLineage `tags` facet).
        Declared,
    }
}

closed! {
    "lowercase";
    /// How an identifier column's check digits came out where its shape matched.
    pub enum Checksum {
        /// No value passes.
        Failed,
        /// Some do, too few for the rule.
        Mixed,
    }
}

/// Why a tag was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub name_match: bool,
    pub matched: u64,
    pub non_null: u64,
    pub basis: Basis,
    /// With `basis: "name"` over values: the form the values are in (`coded values: 3
    /// distinct short codes`, `dates in another form`, `years of birth`, `identifier-like
    /// values`, `identifier shape, check digits fail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<Checksum>,
    /// For a rule that holds only in some tables (`context`): what the table was judged to be
    /// and why (`person table: sibling column FirstName (user.name.first)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// With `basis: "reference"`: the key the values point at (`employees.EmployeeID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<String>,
}

/// One category found in one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnTag {
    pub category: String,
    pub gdpr_class: GdprClass,
    pub confidence: f64,
    pub rule: String,
    pub evidence: Evidence,
}

/// The tags of one column as the ledger keeps them: never values, not even masked examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnTags {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
    pub tags: Vec<ColumnTag>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use strum::VariantArray;

    /// serde writes and reads, and `Display`/`FromStr` show and parse, the same name.
    fn same_names<T>(all: &[T])
    where
        T: Serialize + for<'de> Deserialize<'de> + FromStr + std::fmt::Display + PartialEq,
        T: std::fmt::Debug,
        <T as FromStr>::Err: std::fmt::Debug,
    {
        for v in all {
            let json = serde_json::to_value(v).unwrap();
            assert_eq!(json, serde_json::Value::String(v.to_string()), "{v:?}");
            assert_eq!(&T::from_str(&v.to_string()).unwrap(), v);
            assert_eq!(&serde_json::from_value::<T>(json).unwrap(), v);
        }
    }

    #[test]
    fn serde_and_display_name_every_variant_alike() {
        same_names(Class::VARIANTS);
        same_names(EdgeType::VARIANTS);
        same_names(Role::VARIANTS);
        same_names(ExecutionKind::VARIANTS);
        same_names(Basis::VARIANTS);
        same_names(Checksum::VARIANTS);
        same_names(&[
            Subtype::Identity,
            Subtype::GroupBy,
            Subtype::Other("CUSTOM".into()),
            Subtype::Other(String::new()),
        ]);
        same_names(&[
            RunState::Start,
            RunState::Canceled,
            RunState::Unlisted("PAUSED".into()),
        ]);
        assert_eq!(Subtype::GroupBy.to_string(), "GROUP_BY");
        // Columns of text output line up as they did when these were strings.
        assert_eq!(format!("{:<8}|", RunState::Fail), "FAIL    |");
        assert_eq!(format!("{:>6}|", Class::Direct), "direct|");
        assert_eq!(format!("{:<6}|", Role::Model), "model |");
        assert_eq!(Basis::LowPrevalence.to_string(), "low_prevalence");
    }

    /// An unknown class is an error, not a `direct` flow.
    #[test]
    fn an_unknown_class_does_not_read() {
        assert!(serde_json::from_str::<Class>("\"tokenised-somehow\"").is_err());
        assert!(Class::from_str("tokenised-somehow").is_err());
    }

    /// Sets of edges keep the order the strings had.
    #[test]
    fn order_is_by_name() {
        let mut subtypes = [
            Subtype::Transformation,
            Subtype::Other(String::new()),
            Subtype::GroupBy,
            Subtype::Aggregation,
            Subtype::Other("ZZZ".into()),
        ];
        subtypes.sort();
        let names: Vec<&str> = subtypes.iter().map(|s| s.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        let mut classes = Class::VARIANTS.to_vec();
        classes.sort();
        assert_eq!(classes[0], Class::Aggregated);
    }
}
