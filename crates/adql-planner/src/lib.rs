//! From ADQL text to a DataFusion query: name resolution against a
//! [`catalog_model::Catalog`], type checks, the permission hook
//! ([`catalog_model::AccessPolicy`]) and
//! translation into SQL that DataFusion plans and runs.
//!
//! The flow: [`adql_syntax::parse`] → [`translate`] (scopes, types, function
//! mapping, geometry fast paths) → [`Translation`] (SQL + result column
//! metadata + warnings), which `query-engine` executes.
//!
//! **Boundary:** translates; never executes. Tables, columns and the
//! permission hook come from `catalog-model`; it knows no DataFusion
//! session, no data directory and no HTTP.
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
//! use adql_planner::translate;
//! use catalog_model::{AllowAll, StaticCatalog};
//! let t = translate("SELECT TOP 1 a - b - c FROM s.t", &StaticCatalog::open_world(), &AllowAll).unwrap();
//! assert_eq!(t.sql, r#"SELECT (("t"."a" - "t"."b") - "t"."c") AS "expr" FROM "s"."t" AS "t" LIMIT 1"#);
//! ```

mod error;
mod expr;
mod functions;
mod key_index;
mod scope;
mod sky_index;
mod translate;
pub mod units;

pub use error::{Error, Result, SemanticError};
pub use functions::USER_DEFINED_FUNCTIONS;
pub use sky_index::TranslateOptions;
pub use translate::{Translation, translate, translate_with};
