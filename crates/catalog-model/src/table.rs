//! Columns and tables with their metadata, and the Arrow field-metadata keys
//! that carry column metadata through query results.

use crate::types::AdqlType;
use arrow_schema::{Field, Schema};
use std::collections::HashMap;

/// The keys under which a column's metadata rides in its Arrow field
/// metadata: where ingest and uploads put what a file says, and where the
/// result writers find it. One spelling, shared by every layer.
pub mod keys {
    /// Unit (VOUnits).
    pub const UNIT: &str = "unit";
    /// Unified Content Descriptor.
    pub const UCD: &str = "ucd";
    /// Data model utype.
    pub const UTYPE: &str = "utype";
    /// DALI xtype (point, circle, polygon, shape, timestamp).
    pub const XTYPE: &str = "xtype";
    /// Free-text description.
    pub const DESCRIPTION: &str = "description";
}

/// Metadata of a column, as TAP_SCHEMA.columns holds it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnMeta {
    /// Unit (VOUnits), e.g. "deg", "mas/yr".
    pub unit: Option<String>,
    /// Unified Content Descriptor, e.g. "pos.eq.ra;meta.main".
    pub ucd: Option<String>,
    /// Data model utype.
    pub utype: Option<String>,
    /// Free-text description.
    pub description: Option<String>,
    /// TAP_SCHEMA `principal`: shown by default (None: not said, taken as yes).
    pub principal: Option<bool>,
}

impl ColumnMeta {
    /// The metadata an Arrow field carries under the [`keys`]; `principal`
    /// is not among them and is left unsaid.
    pub fn from_field(field: &Field) -> ColumnMeta {
        let md = field.metadata();
        let get = |k: &str| md.get(k).filter(|v| !v.is_empty()).cloned();
        ColumnMeta {
            unit: get(keys::UNIT),
            ucd: get(keys::UCD),
            utype: get(keys::UTYPE),
            description: get(keys::DESCRIPTION),
            principal: None,
        }
    }
}

/// A column of a published table, or of a query result.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    /// Name, with its exact case.
    pub name: String,
    /// Type.
    pub ty: AdqlType,
    /// Unit, UCD, utype, description.
    pub meta: ColumnMeta,
}

impl ColumnInfo {
    /// The DALI xtype, for geometry and timestamps.
    pub fn xtype(&self) -> Option<&'static str> {
        self.ty.xtype()
    }
}

/// A table's main position: the columns of right ascension and declination
/// (ICRS, degrees) that cone searches and the sky index use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// Right ascension column.
    pub ra: String,
    /// Declination column.
    pub dec: String,
}

/// A published table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    /// Schema name, exact case.
    pub schema: String,
    /// Table name, exact case.
    pub name: String,
    /// Free-text description (TAP_SCHEMA.tables.description).
    pub description: Option<String>,
    /// Columns in order.
    pub columns: Vec<ColumnInfo>,
    /// The main position, if the table has one.
    pub position: Option<Position>,
    /// What the storage offers the planner beyond the columns.
    pub layout: Layout,
}

/// Name of the hidden column that every table with a main position gets at
/// ingest: the NESTED HEALPix index of the position at [`SKY_INDEX_ORDER`],
/// by which the rows are sorted. It is not a published column (no ADQL name
/// reaches it); the planner adds range predicates on it so that Parquet
/// skips the row groups and pages of other parts of the sky.
pub const SKY_INDEX_COLUMN: &str = "_healpix";
/// HEALPix order of [`SKY_INDEX_COLUMN`] (29, the finest cdshealpix offers).
pub const SKY_INDEX_ORDER: u8 = 29;

/// How a table's rows are stored, as far as planning cares. Set by whoever
/// knows the files (the data directory, the engine); left at its default
/// (nothing known) elsewhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// Rows in the table, when known: the planner expands the smaller side
    /// of a crossmatch.
    pub rows: Option<u64>,
    /// The files hold [`SKY_INDEX_COLUMN`] for the main position, and the
    /// rows are sorted by it.
    pub sky_index: bool,
    /// The key column (the catalog's identifier) when the table has a key
    /// index: a table of (key, [`SKY_INDEX_COLUMN`]) sorted by key, published
    /// under [`key_index_table`]. `WHERE key = x` looks the row's sky index
    /// up there, so the catalog is read only where that row is.
    pub key_index: Option<String>,
}

/// The folder, inside a table's folder, of its key index's Parquet file.
/// Parquet readers of the table's folder leave subfolders alone.
pub const KEY_INDEX_FOLDER: &str = "_key_index";

/// The name under which the key index of `schema.table` is registered for
/// execution. It is in no catalog that ADQL sees: only the planner's
/// rewrite of `key = x` names it.
pub fn key_index_table(table: &str) -> String {
    format!("{table}{KEY_INDEX_SUFFIX}")
}

/// What [`key_index_table`] appends to a table's name.
const KEY_INDEX_SUFFIX: &str = "$key_index";

/// Whether `name` is one that [`key_index_table`] gives.
pub fn is_key_index_table(name: &str) -> bool {
    name.ends_with(KEY_INDEX_SUFFIX)
}

impl TableInfo {
    /// Builds table metadata from an Arrow schema, reading the [`keys`] from
    /// each field's metadata where present. The position is left unknown.
    pub fn from_arrow(schema: &str, name: &str, arrow: &Schema) -> TableInfo {
        let columns = arrow
            .fields()
            .iter()
            .map(|f| {
                let xtype = f.metadata().get(keys::XTYPE).map(String::as_str);
                ColumnInfo {
                    name: f.name().clone(),
                    ty: AdqlType::from_arrow(f.data_type(), xtype),
                    meta: ColumnMeta::from_field(f),
                }
            })
            .collect();
        TableInfo {
            schema: schema.to_string(),
            name: name.to_string(),
            description: None,
            columns,
            position: None,
            layout: Layout::default(),
        }
    }

    /// `schema.table`
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// `schema` with each column's unit, UCD, utype, description and xtype put
/// into its field metadata under the [`keys`], where the result writers find
/// them. A schema whose width differs from `columns` comes back unchanged.
pub fn with_metadata(schema: &Schema, columns: &[ColumnInfo]) -> Schema {
    if schema.fields().len() != columns.len() {
        return schema.clone();
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .zip(columns)
        .map(|(f, c)| {
            let mut md: HashMap<String, String> = f.metadata().clone();
            let mut put = |k: &str, v: Option<&str>| {
                if let Some(v) = v {
                    md.insert(k.to_string(), v.to_string());
                }
            };
            put(keys::UNIT, c.meta.unit.as_deref());
            put(keys::UCD, c.meta.ucd.as_deref());
            put(keys::UTYPE, c.meta.utype.as_deref());
            put(keys::DESCRIPTION, c.meta.description.as_deref());
            put(keys::XTYPE, c.xtype());
            f.as_ref().clone().with_metadata(md)
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::DataType;

    #[test]
    fn metadata_survives_a_trip_through_arrow_fields() {
        let column = ColumnInfo {
            name: "ra".into(),
            ty: AdqlType::Double,
            meta: ColumnMeta {
                unit: Some("deg".into()),
                ucd: Some("pos.eq.ra;meta.main".into()),
                utype: None,
                description: Some("Right ascension".into()),
                principal: None,
            },
        };
        let schema = Schema::new(vec![Field::new("ra", DataType::Float64, true)]);
        let stamped = with_metadata(&schema, std::slice::from_ref(&column));
        let back = TableInfo::from_arrow("s", "t", &stamped);
        assert_eq!(back.columns, vec![column]);
        // A width mismatch leaves the schema alone rather than mislabel it.
        assert_eq!(with_metadata(&schema, &[]), schema);
    }
}
