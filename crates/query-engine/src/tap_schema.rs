//! TAP_SCHEMA (TAP 1.1 §4): the five metadata tables, generated from the
//! catalog so that they can never disagree with it (or with `/tap/tables`,
//! which reads the same catalog). TAP_SCHEMA describes itself too (§4: "the
//! TAP_SCHEMA tables themselves should be described").

use adql_syntax::name_as_written;
use catalog_model::{AdqlType, ColumnInfo, ColumnMeta, TableInfo};
use datafusion::arrow::array::{ArrayRef, Int32Array, StringArray};
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use std::sync::Arc;

/// The schema name, as TAP 1.1 spells it.
pub const TAP_SCHEMA: &str = "TAP_SCHEMA";

/// A column of a TAP_SCHEMA table: name, type, description.
type Spec = (&'static str, AdqlType, &'static str);

const V: AdqlType = AdqlType::Varchar;
const I: AdqlType = AdqlType::Integer;

const SCHEMAS: &[Spec] = &[
    (
        "schema_name",
        V,
        "schema name, for reference to TAP_SCHEMA.tables",
    ),
    ("utype", V, "lists the utypes of schemas in the tableset"),
    ("description", V, "brief description of the schema"),
    (
        "schema_index",
        I,
        "recommended sort order when listing schemas",
    ),
];
const TABLES: &[Spec] = &[
    ("schema_name", V, "the schema this table belongs to"),
    ("table_name", V, "the fully qualified table name"),
    ("table_type", V, "one of: table, view"),
    ("utype", V, "lists the utype of tables in the tableset"),
    ("description", V, "brief description of the table"),
    (
        "table_index",
        I,
        "recommended sort order when listing tables",
    ),
];
const COLUMNS: &[Spec] = &[
    ("table_name", V, "the table this column belongs to"),
    ("column_name", V, "the column name"),
    ("utype", V, "lists the utypes of columns in the tableset"),
    ("ucd", V, "the UCD of column if any"),
    ("unit", V, "the unit in VO standard format"),
    ("description", V, "brief description of column"),
    ("datatype", V, "the VOTable datatype of the column"),
    ("arraysize", V, "the VOTable arraysize of the column"),
    ("xtype", V, "the VOTable xtype of the column"),
    ("size", I, "deprecated: the length of fixed-length strings"),
    ("principal", I, "a principal column; 1 means true, 0 false"),
    ("indexed", I, "an indexed column; 1 means true, 0 false"),
    ("std", I, "a standard column; 1 means true, 0 false"),
    (
        "column_index",
        I,
        "recommended sort order when listing columns",
    ),
];
const KEYS: &[Spec] = &[
    ("key_id", V, "unique key identifier"),
    ("from_table", V, "fully qualified table name"),
    ("target_table", V, "fully qualified table name"),
    ("utype", V, "lists the utype of keys in the tableset"),
    ("description", V, "description of this key"),
];
const KEY_COLUMNS: &[Spec] = &[
    ("key_id", V, "key identifier from TAP_SCHEMA.keys"),
    ("from_column", V, "key column name in the from_table"),
    ("target_column", V, "key column name in the target_table"),
];

const TAP_TABLES: &[(&str, &str, &[Spec])] = &[
    (
        "schemas",
        "description of the schemas in this tableset",
        SCHEMAS,
    ),
    (
        "tables",
        "description of the tables in this tableset",
        TABLES,
    ),
    (
        "columns",
        "description of the columns in this tableset",
        COLUMNS,
    ),
    (
        "keys",
        "description of the foreign keys in this tableset",
        KEYS,
    ),
    (
        "key_columns",
        "description of the foreign key columns in this tableset",
        KEY_COLUMNS,
    ),
];

/// A foreign key between two TAP_SCHEMA tables, on one column.
#[derive(Debug, Clone, Copy)]
pub struct ForeignKey {
    /// TAP_SCHEMA.keys.key_id
    pub key_id: &'static str,
    /// The table holding the key (within TAP_SCHEMA).
    pub from_table: &'static str,
    /// The table it points to (within TAP_SCHEMA).
    pub target_table: &'static str,
    /// The key column in `from_table`.
    pub from_column: &'static str,
    /// The column it matches in `target_table`.
    pub target_column: &'static str,
}

/// The foreign keys among the TAP_SCHEMA tables (TAP 1.1 §4), which
/// TAP_SCHEMA.keys lists and `/tap/tables` shows; user tables have none.
pub const FOREIGN_KEYS: &[ForeignKey] = &[
    fk(
        "tables_schema",
        "tables",
        "schemas",
        "schema_name",
        "schema_name",
    ),
    fk(
        "columns_table",
        "columns",
        "tables",
        "table_name",
        "table_name",
    ),
    fk("keys_from", "keys", "tables", "from_table", "table_name"),
    fk(
        "keys_target",
        "keys",
        "tables",
        "target_table",
        "table_name",
    ),
    fk("key_columns_key", "key_columns", "keys", "key_id", "key_id"),
];

const fn fk(
    key_id: &'static str,
    from_table: &'static str,
    target_table: &'static str,
    from_column: &'static str,
    target_column: &'static str,
) -> ForeignKey {
    ForeignKey {
        key_id,
        from_table,
        target_table,
        from_column,
        target_column,
    }
}

/// The TAP_SCHEMA tables' own descriptions, for the catalog.
pub fn tap_schema_infos() -> Vec<TableInfo> {
    TAP_TABLES
        .iter()
        .map(|(name, description, specs)| TableInfo {
            schema: TAP_SCHEMA.to_string(),
            name: name.to_string(),
            description: Some(description.to_string()),
            columns: specs
                .iter()
                .map(|(n, ty, d)| ColumnInfo {
                    name: n.to_string(),
                    ty: *ty,
                    meta: ColumnMeta {
                        description: Some(d.to_string()),
                        principal: Some(true),
                        ..Default::default()
                    },
                })
                .collect(),
            position: None,
            layout: Default::default(),
        })
        .collect()
}

/// A text cell: `None` is NULL.
type Cell = Option<String>;

/// Builds the five tables' contents for `tables` (which should include the
/// TAP_SCHEMA tables themselves, see [`tap_schema_infos`]). The order of
/// `tables` becomes `table_index`; schemas are numbered by first appearance.
pub fn tap_schema_batches(
    tables: &[TableInfo],
) -> Result<Vec<(TableInfo, RecordBatch)>, ArrowError> {
    let mut schema_names: Vec<&str> = Vec::new();
    for t in tables {
        if !schema_names.contains(&t.schema.as_str()) {
            schema_names.push(&t.schema);
        }
    }
    // Columns of `schemas`: schema_name, utype, description, schema_index.
    let schemas_batch = vec![
        text(schema_names.iter().map(|s| Some(s.to_string()))),
        text(schema_names.iter().map(|_| None)),
        text(
            schema_names
                .iter()
                .map(|s| (*s == TAP_SCHEMA).then(|| "the TAP metadata tables".to_string())),
        ),
        ints((0..schema_names.len()).map(|i| Some(i as i32))),
    ];

    let tables_batch = vec![
        text(tables.iter().map(|t| Some(t.schema.clone()))),
        text(tables.iter().map(|t| Some(t.qualified_name()))),
        text(tables.iter().map(|_| Some("table".to_string()))),
        text(tables.iter().map(|_| None)),
        text(tables.iter().map(|t| t.description.clone())),
        ints((0..tables.len()).map(|i| Some(i as i32))),
    ];

    let rows: Vec<(&TableInfo, usize, &ColumnInfo)> = tables
        .iter()
        .flat_map(|t| t.columns.iter().enumerate().map(move |(i, c)| (t, i, c)))
        .collect();
    let is_std = |t: &TableInfo| i32::from(t.schema == TAP_SCHEMA);
    let columns_batch = vec![
        text(rows.iter().map(|(t, _, _)| Some(t.qualified_name()))),
        text(rows.iter().map(|(_, _, c)| Some(name_as_written(&c.name)))),
        text(rows.iter().map(|(_, _, c)| c.meta.utype.clone())),
        text(rows.iter().map(|(_, _, c)| c.meta.ucd.clone())),
        text(rows.iter().map(|(_, _, c)| c.meta.unit.clone())),
        text(rows.iter().map(|(_, _, c)| c.meta.description.clone())),
        text(
            rows.iter()
                .map(|(_, _, c)| Some(c.ty.votable().0.to_string())),
        ),
        text(
            rows.iter()
                .map(|(_, _, c)| c.ty.votable().1.map(str::to_string)),
        ),
        text(
            rows.iter()
                .map(|(_, _, c)| c.ty.xtype().map(str::to_string)),
        ),
        ints(rows.iter().map(|_| None)),
        ints(
            rows.iter()
                .map(|(_, _, c)| Some(i32::from(c.meta.principal.unwrap_or(true)))),
        ),
        ints(rows.iter().map(|_| Some(0))),
        ints(rows.iter().map(|(t, _, _)| Some(is_std(t)))),
        ints(rows.iter().map(|(_, i, _)| Some(*i as i32))),
    ];

    let tap = |t: &str| Some(format!("{TAP_SCHEMA}.{t}"));
    let keys_batch = vec![
        text(FOREIGN_KEYS.iter().map(|k| Some(k.key_id.to_string()))),
        text(FOREIGN_KEYS.iter().map(|k| tap(k.from_table))),
        text(FOREIGN_KEYS.iter().map(|k| tap(k.target_table))),
        text(FOREIGN_KEYS.iter().map(|_| None)),
        text(FOREIGN_KEYS.iter().map(|_| None)),
    ];
    let key_columns_batch = vec![
        text(FOREIGN_KEYS.iter().map(|k| Some(k.key_id.to_string()))),
        text(FOREIGN_KEYS.iter().map(|k| Some(k.from_column.to_string()))),
        text(
            FOREIGN_KEYS
                .iter()
                .map(|k| Some(k.target_column.to_string())),
        ),
    ];
    let contents = [
        schemas_batch,
        tables_batch,
        columns_batch,
        keys_batch,
        key_columns_batch,
    ];
    tap_schema_infos()
        .into_iter()
        .zip(contents)
        .map(|(info, arrays)| {
            let fields: Vec<Field> = info
                .columns
                .iter()
                .zip(&arrays)
                .map(|(c, a)| Field::new(&c.name, a.data_type().clone(), true))
                .collect();
            let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?;
            Ok((info, batch))
        })
        .collect()
}

fn text(values: impl Iterator<Item = Cell>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

fn ints(values: impl Iterator<Item = Option<i32>>) -> ArrayRef {
    Arc::new(values.collect::<Int32Array>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tap_schema_describes_itself_and_the_catalog() {
        let mut tables = vec![TableInfo {
            schema: "hip".into(),
            name: "main".into(),
            description: Some("Hipparcos".into()),
            columns: vec![ColumnInfo {
                name: "pos".into(),
                ty: AdqlType::Point,
                meta: ColumnMeta {
                    principal: Some(false),
                    ..Default::default()
                },
            }],
            position: None,
            layout: Default::default(),
        }];
        tables.extend(tap_schema_infos());
        let out = tap_schema_batches(&tables).unwrap();
        let names: Vec<&str> = out.iter().map(|(i, _)| i.name.as_str()).collect();
        assert_eq!(
            names,
            ["schemas", "tables", "columns", "keys", "key_columns"]
        );
        assert_eq!(out[0].1.num_rows(), 2);
        assert_eq!(out[1].1.num_rows(), 6);
        let cols = &out[2].1;
        assert_eq!(cols.num_rows(), 1 + 4 + 6 + 14 + 5 + 3);
        let datatype = cols
            .column(6)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let arraysize = cols
            .column(7)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let principal = cols
            .column(10)
            .as_any()
            .downcast_ref::<Int32Array>()
            .unwrap();
        assert_eq!((datatype.value(0), arraysize.value(0)), ("double", "2"));
        assert_eq!(principal.value(0), 0);
    }
}
