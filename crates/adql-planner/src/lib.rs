//! From ADQL text to a DataFusion query: name resolution against a
//! [`Catalog`], type checks, the permission hook ([`AccessPolicy`]) and
//! translation into SQL that DataFusion plans and runs.
//!
//! The flow: [`adql_syntax::parse`] → [`translate`] (scopes, types, function
//! mapping, geometry fast paths) → [`Translation`] (SQL + result column
//! metadata + warnings) → [`Engine`] (DataFusion session with the
//! `sky-functions` UDFs).
//!
//! **Invariant:** nothing the user typed reaches DataFusion verbatim. Every
//! identifier in the SQL is the catalog's own name, delimited; every literal is
//! re-serialised from its parsed value; every operator is parenthesised.
//!
//! Semantics follow PostgreSQL (what GAVO DaCHS answers): integer division
//! truncates, NULL propagates, strings compare byte-wise, trigonometry takes
//! radians, geometry takes degrees, and float-to-integer casts round.
//!
//! ```
//! use adql_planner::{AllowAll, StaticCatalog, translate};
//! let t = translate("SELECT TOP 1 a - b - c FROM s.t", &StaticCatalog::open_world(), &AllowAll).unwrap();
//! assert_eq!(t.sql, r#"SELECT (("t"."a" - "t"."b") - "t"."c") AS "expr" FROM "s"."t" AS "t" LIMIT 1"#);
//! ```

mod catalog;
mod engine;
mod error;
mod expr;
mod functions;
mod scope;
pub mod tap_schema;
mod translate;
pub mod units;

pub use catalog::{
    AccessPolicy, AdqlType, AllowAll, Catalog, ColumnInfo, ColumnMeta, StaticCatalog, TableInfo,
};
pub use engine::{Engine, with_metadata};
pub use error::{Error, Result, SemanticError};
pub use functions::USER_DEFINED_FUNCTIONS;
pub use translate::{OutputColumn, Translation, translate};
