//! Key-index rewrite: `key = constant` on a table with a key index reads
//! the table only where that row is.
//!
//! Rows are stored in sky order, so a catalog identifier's values are
//! scattered over every row group. Ingest writes beside such a table its key
//! index (key, sky index) sorted by key (`catalog_model::Layout::key_index`).
//! In a filter, `t.key = c` (either way round, `c` a number or string
//! literal) becomes
//!
//! ```sql
//! (t._healpix IN (SELECT _healpix FROM "schema"."table$key_index" WHERE key = c)
//!  AND t.key = c)
//! ```
//!
//! The lookup reads one page of the sorted index; DataFusion runs the IN as
//! a semi join whose build side (the row's sky index) becomes a dynamic
//! filter on the table's scan, which then reads one page of it. A row with
//! `key = c` has its sky index in the index, so in a filter (only "true"
//! keeps a row) the result is unchanged. Beneath an OR the IN could not
//! become a join, so nothing is added there.
//!
//! `key IN (list)` is left to the key column's Bloom filters: looked up
//! here, 10 values spread over the sky took 48–53 ms against their 32–36,
//! and 30 values 160 ms against 58 (10^7 rows): the join's dynamic filter
//! of several scattered sky indexes prunes the table's scan less well than
//! the Bloom filters do.

use crate::error::Result;
use crate::scope::{Lookup, quote};
use crate::translate::Translator;
use adql_syntax::*;
use catalog_model::SKY_INDEX_COLUMN;

/// A relation's key index, as the SQL names it.
#[derive(Debug, Clone)]
pub(crate) struct KeyIndex {
    /// The key column.
    pub(crate) column: String,
    /// The index table, quoted and qualified.
    pub(crate) table_sql: String,
}

impl Translator<'_> {
    /// The sky-index lookup to AND with `left op right`, if it compares the
    /// key column of a relation of the current scope with a literal.
    pub(crate) fn key_hint(
        &mut self,
        op: BinaryOp,
        left: &Expr,
        right: &Expr,
    ) -> Result<Option<String>> {
        if !self.options.sky_index || op != BinaryOp::Eq || self.beneath_or {
            return Ok(None);
        }
        let (column, value) = match (is_literal(left), is_literal(right)) {
            (false, true) => (left, right),
            (true, false) => (right, left),
            _ => return Ok(None),
        };
        let ExprKind::Column(parts) = &column.kind else {
            return Ok(None);
        };
        let Some(scope) = self.scopes.last() else {
            return Ok(None);
        };
        let Lookup::Found(resolved) = scope.lookup(parts) else {
            return Ok(None);
        };
        let Some((sky, index_table, key)) = scope.relations.iter().find_map(|rel| {
            let index = rel.key_index.as_ref()?;
            (rel.column_sql(&index.column) == resolved.sql).then(|| {
                (
                    rel.column_sql(SKY_INDEX_COLUMN),
                    index.table_sql.clone(),
                    quote(&index.column),
                )
            })
        }) else {
            return Ok(None);
        };
        let value = self.expr(value)?.sql;
        Ok(Some(format!(
            "({sky} IN (SELECT {} FROM {index_table} WHERE {key} = {value}))",
            quote(SKY_INDEX_COLUMN)
        )))
    }
}

/// A number or string literal, possibly signed.
fn is_literal(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Number { .. } | ExprKind::String(_) => true,
        ExprKind::Unary { expr, .. } | ExprKind::Nested(expr) => is_literal(expr),
        _ => false,
    }
}
