//! The model at the bottom of Corvus: what a column and a table are, as
//! every layer sees them. ADQL's column types ([`AdqlType`]) with their
//! VOTable and Arrow forms, column metadata ([`ColumnMeta`]: unit, UCD,
//! utype, description), tables ([`TableInfo`], with their main position),
//! the Arrow field-metadata keys that carry the metadata through query
//! results ([`keys`]), and the [`Catalog`] and [`AccessPolicy`] traits the
//! planner looks names and permissions up through.
//!
//! **Invariant:** depends on Arrow's schema types only. It knows no ADQL
//! text, no DataFusion, no SQLite, no file format and no HTTP, so every
//! crate may depend on it without compiling any of those.
#![deny(missing_docs)]

mod catalog;
mod table;
mod types;

pub use catalog::{AccessPolicy, AllowAll, Catalog, StaticCatalog};
pub use table::{
    ColumnInfo, ColumnMeta, KEY_INDEX_FOLDER, Layout, Position, SKY_INDEX_COLUMN, SKY_INDEX_ORDER,
    TableInfo, is_key_index_table, key_index_table, keys, with_metadata,
};
pub use types::{AdqlType, geometry_type};
