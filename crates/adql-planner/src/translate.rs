//! Translation of a parsed ADQL query into the SQL that DataFusion runs.
//!
//! Every name in the output is resolved against the catalog and written
//! delimited with its catalog case; every literal is re-serialised; nothing
//! of the user's text is copied through. Alongside the SQL comes the metadata
//! of each result column (type, unit, UCD, xtype) for the writers.

use crate::error::{Error, Result, SemanticError};
use crate::key_index::KeyIndex;
use crate::scope::{Col, Lookup, Merged, Relation, Resolved, Scope, ident_eq, quote, suggest};
use crate::sky_index::TranslateOptions;
use adql_syntax::*;
use catalog_model::{AccessPolicy, AdqlType, Catalog, ColumnInfo, ColumnMeta, TableInfo};
use std::fmt::Write;

/// The outcome of translation.
#[derive(Debug, Clone)]
pub struct Translation {
    /// SQL for DataFusion, all names delimited.
    pub sql: String,
    /// One entry per result column, in order: its unique name within the
    /// result, type, and the unit, UCD, utype and description carried over
    /// from the source column.
    pub columns: Vec<ColumnInfo>,
    /// What the user should know: forgiven syntax, ignored coordinate systems.
    pub warnings: Vec<Warning>,
    /// The parsed query.
    pub query: Query,
}

/// Parses and translates `text`, with every rewrite.
pub fn translate(
    text: &str,
    catalog: &dyn Catalog,
    policy: &dyn AccessPolicy,
) -> Result<Translation> {
    translate_with(text, catalog, policy, TranslateOptions::default())
}

/// Parses and translates `text` with the rewrites `options` allow.
pub fn translate_with(
    text: &str,
    catalog: &dyn Catalog,
    policy: &dyn AccessPolicy,
    options: TranslateOptions,
) -> Result<Translation> {
    let parsed = parse(text)?;
    let mut t = Translator {
        text,
        catalog,
        policy,
        ctes: Vec::new(),
        warnings: parsed.warnings,
        scopes: Vec::new(),
        options,
        in_filter: false,
        beneath_or: false,
    };
    let (sql, columns) = t.query(&parsed.query)?;
    Ok(Translation {
        sql,
        columns,
        warnings: t.warnings,
        query: parsed.query,
    })
}

/// A named query from WITH.
#[derive(Debug, Clone)]
struct CteDef {
    name: Ident,
    columns: Vec<Col>,
    /// Built on a table of unknown columns (no catalog).
    open: bool,
}

pub(crate) struct Translator<'a> {
    pub(crate) text: &'a str,
    pub(crate) catalog: &'a dyn Catalog,
    policy: &'a dyn AccessPolicy,
    ctes: Vec<CteDef>,
    pub(crate) warnings: Vec<Warning>,
    /// Enclosing scopes, innermost last (correlated subqueries see them all).
    pub(crate) scopes: Vec<Scope>,
    pub(crate) options: TranslateOptions,
    /// The expression being translated decides, through AND and OR only,
    /// whether a WHERE or ON keeps a row (`sky_index.rs`).
    pub(crate) in_filter: bool,
    /// Translating beneath an OR of a filter (`key_index.rs` adds nothing
    /// there).
    pub(crate) beneath_or: bool,
}

impl<'a> Translator<'a> {
    pub(crate) fn error(
        &self,
        span: Span,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Error {
        let (line, column) = span.line_col(self.text);
        Error::Semantic(SemanticError {
            span,
            line,
            column,
            found: span.slice(self.text).to_string(),
            message: message.into(),
            hint,
        })
    }

    /// Records a warning once: the fast paths translate some arguments twice.
    pub(crate) fn warn(&mut self, span: Span, message: impl Into<String>) {
        let (line, column) = span.line_col(self.text);
        let w = Warning {
            span,
            line,
            column,
            message: message.into(),
        };
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }

    /// A whole query: WITH, body, ORDER BY, OFFSET.
    pub(crate) fn query(&mut self, q: &Query) -> Result<(String, Vec<ColumnInfo>)> {
        let cte_mark = self.ctes.len();
        let mut sql = String::new();
        if !q.with.is_empty() {
            sql.push_str("WITH ");
            for (i, cte) in q.with.iter().enumerate() {
                if self.ctes[cte_mark..]
                    .iter()
                    .any(|c| ident_eq(&c.name, &cte.name))
                {
                    return Err(self.error(
                        cte.name.span,
                        format!("WITH defines '{}' twice", cte.name.name),
                        None,
                    ));
                }
                let (body, cols) = self.query(&cte.query)?;
                if i > 0 {
                    sql.push_str(", ");
                }
                let _ = write!(sql, "{} AS ({body})", quote(&cte.name.name));
                let (columns, open) = known_columns(cols);
                self.ctes.push(CteDef {
                    name: cte.name.clone(),
                    columns,
                    open,
                });
            }
            sql.push(' ');
        }
        let result = match &q.body {
            SetExpr::Select(s) => self.select(s, &q.order_by, q.offset),
            body => {
                let (body_sql, cols) = self.set_expr(body)?;
                let mut s = body_sql;
                self.order_by_output(&mut s, &q.order_by, &cols)?;
                if let Some(n) = q.offset {
                    let _ = write!(s, " OFFSET {n}");
                }
                Ok((s, cols))
            }
        };
        self.ctes.truncate(cte_mark);
        let (body, cols) = result?;
        sql.push_str(&body);
        Ok((sql, cols))
    }

    /// A set-operation operand or tree.
    fn set_expr(&mut self, e: &SetExpr) -> Result<(String, Vec<ColumnInfo>)> {
        match e {
            SetExpr::Select(s) => {
                let (sql, cols) = self.select(s, &[], None)?;
                Ok((format!("({sql})"), cols))
            }
            SetExpr::Query(q) => {
                let (sql, cols) = self.query(q)?;
                Ok((format!("({sql})"), cols))
            }
            SetExpr::SetOp {
                op,
                all,
                left,
                right,
            } => {
                let (l, lcols) = self.set_expr(left)?;
                let (r, rcols) = self.set_expr(right)?;
                let word = op.keyword();
                // `*` over a table of unknown columns (no catalog) counts as one.
                let unknown_width = |cols: &[ColumnInfo]| cols.iter().any(|c| c.name == "*");
                if lcols.len() != rcols.len() && !unknown_width(&lcols) && !unknown_width(&rcols) {
                    return Err(self.error(
                        set_span(right),
                        format!(
                            "{word} needs the same number of columns on both sides, not {} and {}",
                            lcols.len(),
                            rcols.len()
                        ),
                        None,
                    ));
                }
                Ok((
                    format!("{l} {word}{} {r}", if *all { " ALL" } else { "" }),
                    lcols,
                ))
            }
        }
    }

    /// ORDER BY over the output of a set operation: output names or positions.
    fn order_by_output(
        &mut self,
        sql: &mut String,
        order: &[OrderBy],
        cols: &[ColumnInfo],
    ) -> Result<()> {
        if order.is_empty() {
            return Ok(());
        }
        let mut terms = Vec::new();
        for o in order {
            let key = match &o.expr.unnested().kind {
                ExprKind::Number {
                    text,
                    kind: NumberKind::Integer,
                } => {
                    self.position(text, o.expr.span, cols.len())?;
                    text.clone()
                }
                ExprKind::Column(parts) if parts.len() == 1 => {
                    match cols.iter().find(|c| parts[0].matches(&c.name)) {
                        Some(c) => quote(&c.name),
                        None => {
                            return Err(self.error(
                                o.expr.span,
                                format!("no result column '{}' to sort by", parts[0].name),
                                Some("after UNION, EXCEPT or INTERSECT sort by a result column's name or number".into()),
                            ));
                        }
                    }
                }
                _ => {
                    return Err(self.error(
                        o.expr.span,
                        "the result of a set operation can only be sorted by column name or number",
                        None,
                    ));
                }
            };
            terms.push(format!(
                "{key}{}",
                if o.descending { " DESC" } else { " ASC" }
            ));
        }
        let _ = write!(sql, " ORDER BY {}", terms.join(", "));
        Ok(())
    }

    fn position(&self, text: &str, span: Span, n: usize) -> Result<usize> {
        match text.parse::<usize>() {
            Ok(i) if (1..=n).contains(&i) => Ok(i),
            _ => Err(self.error(
                span,
                format!("ORDER BY {text} is not a column number of this result"),
                Some(format!("the result has columns 1 to {n}")),
            )),
        }
    }

    /// One SELECT with the ORDER BY and OFFSET of its query, if any.
    fn select(
        &mut self,
        s: &Select,
        order: &[OrderBy],
        offset: Option<u64>,
    ) -> Result<(String, Vec<ColumnInfo>)> {
        let mut scope = Scope::default();
        let mut from_sql = Vec::new();
        let mut item_relations = Vec::new();
        for t in &s.from {
            let start = scope.relations.len();
            from_sql.push(self.table_ref(t, &mut scope)?);
            item_relations.push(start..scope.relations.len());
        }
        let crossmatch_eq = match &s.selection {
            Some(w) => self.comma_crossmatch(w, &s.from, &scope, &item_relations, &mut from_sql),
            None => None,
        };
        self.scopes.push(scope);
        let result = self.select_in_scope(s, order, offset, from_sql, crossmatch_eq);
        self.scopes.pop();
        result
    }

    fn select_in_scope(
        &mut self,
        s: &Select,
        order: &[OrderBy],
        offset: Option<u64>,
        from_sql: Vec<String>,
        crossmatch_eq: Option<String>,
    ) -> Result<(String, Vec<ColumnInfo>)> {
        let mut items: Vec<(String, ColumnInfo)> = Vec::new();
        for item in &s.items {
            match item {
                SelectItem::Wildcard(span) => {
                    let cols = self.star(None, *span)?;
                    items.extend(cols);
                }
                SelectItem::QualifiedWildcard(q, span) => {
                    let cols = self.star(Some(q), *span)?;
                    items.extend(cols);
                }
                SelectItem::Expr { expr, alias } => {
                    let t = self.expr(expr)?;
                    let name = match alias {
                        Some(a) => a.name.clone(),
                        None => t.name.clone().unwrap_or_else(|| "expr".into()),
                    };
                    items.push((
                        t.sql,
                        ColumnInfo {
                            name,
                            ty: t.ty,
                            meta: t.meta,
                        },
                    ));
                }
            }
        }
        make_names_unique(&mut items);

        let mut sql = String::from("SELECT ");
        if s.distinct {
            sql.push_str("DISTINCT ");
        }
        let list: Vec<String> = items
            .iter()
            .map(|(e, c)| {
                if c.name == "*" {
                    e.clone()
                } else {
                    format!("{e} AS {}", quote(&c.name))
                }
            })
            .collect();
        sql.push_str(&list.join(", "));
        let _ = write!(sql, " FROM {}", from_sql.join(", "));
        if let Some(w) = &s.selection {
            let c = self.filter(w, "WHERE")?;
            match &crossmatch_eq {
                Some(eq) => write!(sql, " WHERE ({eq} AND {c})"),
                None => write!(sql, " WHERE {c}"),
            }
            .ok();
        }
        if !s.group_by.is_empty() {
            let mut keys = Vec::new();
            for g in &s.group_by {
                keys.push(self.group_key(g, &s.items, &items)?);
            }
            let _ = write!(sql, " GROUP BY {}", keys.join(", "));
        }
        if let Some(h) = &s.having {
            let c = self.condition(h, "HAVING")?;
            let _ = write!(sql, " HAVING {c}");
        }
        if !order.is_empty() {
            let mut terms = Vec::new();
            for o in order {
                let key = self.order_key(&o.expr, &items)?;
                terms.push(format!(
                    "{key}{}",
                    if o.descending { " DESC" } else { " ASC" }
                ));
            }
            let _ = write!(sql, " ORDER BY {}", terms.join(", "));
        }
        // ADQL 2.1 §4.8.1: OFFSET drops rows first, then TOP limits what is left.
        if let Some(n) = s.top {
            let _ = write!(sql, " LIMIT {n}");
        }
        if let Some(n) = offset {
            let _ = write!(sql, " OFFSET {n}");
        }
        Ok((sql, items.into_iter().map(|(_, c)| c).collect()))
    }

    /// The condition of a WHERE or ON: one whose AND/OR tree may carry
    /// sky-index ranges. (Not HAVING: after grouping, the index column of
    /// a grouped position is not among the columns it may name.)
    fn filter(&mut self, e: &Expr, clause: &str) -> Result<String> {
        self.in_filter = true;
        let outer = std::mem::replace(&mut self.beneath_or, false);
        let condition = self.condition(e, clause);
        self.beneath_or = outer;
        condition
    }

    /// A search condition: must be a predicate, not a bare value.
    pub(crate) fn condition(&mut self, e: &Expr, clause: &str) -> Result<String> {
        let t = self.expr(e)?;
        if t.ty != AdqlType::Boolean && t.ty != AdqlType::Unknown {
            let hint = if is_geometry_predicate(e) {
                Some(
                    "compare the result of CONTAINS or INTERSECTS with 1: CONTAINS(...) = 1"
                        .to_string(),
                )
            } else {
                Some("write a comparison such as x = 1".to_string())
            };
            return Err(self.error(
                e.span,
                format!(
                    "{clause} needs a condition, but this is {}",
                    t.ty.describe()
                ),
                hint,
            ));
        }
        Ok(t.sql)
    }

    /// GROUP BY term: an expression over FROM columns, or a select-list alias.
    fn group_key(
        &mut self,
        g: &Expr,
        ast_items: &[SelectItem],
        items: &[(String, ColumnInfo)],
    ) -> Result<String> {
        if let ExprKind::Column(parts) = &g.unnested().kind
            && parts.len() == 1
            && self.resolves_in_from(&parts[..])
        {
            return Ok(self.expr(g)?.sql);
        }
        if let ExprKind::Column(parts) = &g.unnested().kind
            && parts.len() == 1
        {
            for (i, item) in ast_items.iter().enumerate() {
                if let SelectItem::Expr { alias: Some(a), .. } = item
                    && ident_eq(a, &parts[0])
                {
                    return Ok(items[i].0.clone());
                }
            }
        }
        Ok(self.expr(g)?.sql)
    }

    fn resolves_in_from(&self, parts: &[Ident]) -> bool {
        self.scopes
            .last()
            .is_some_and(|s| matches!(s.lookup(parts), Lookup::Found(_)))
    }

    /// ORDER BY term of a single SELECT: a column number, an output name, or an expression.
    fn order_key(&mut self, e: &Expr, items: &[(String, ColumnInfo)]) -> Result<String> {
        match &e.unnested().kind {
            ExprKind::Number {
                text,
                kind: NumberKind::Integer,
            } => {
                let i = self.position(text, e.span, items.len())?;
                return Ok(i.to_string());
            }
            ExprKind::Column(parts) if parts.len() == 1 => {
                let hits: Vec<&(String, ColumnInfo)> = items
                    .iter()
                    .filter(|(_, c)| parts[0].matches(&c.name))
                    .collect();
                // An output name wins unless it only repeats a FROM column of the same name.
                if hits.len() == 1 && !self.resolves_in_from(parts) {
                    return Ok(quote(&hits[0].1.name));
                }
            }
            _ => {}
        }
        let t = self.expr(e)?;
        if t.ty.is_geometry() {
            return Err(self.error(
                e.span,
                "geometries cannot be sorted",
                Some("sort by DISTANCE(...) or a coordinate".into()),
            ));
        }
        Ok(t.sql)
    }

    /// `*` or `q.*`: the visible columns, USING-merged ones once.
    fn star(
        &mut self,
        qualifier: Option<&QualifiedName>,
        span: Span,
    ) -> Result<Vec<(String, ColumnInfo)>> {
        let scope = self.scopes.last().cloned().unwrap_or_default();
        let unknown = || ColumnInfo {
            name: "*".into(),
            ty: AdqlType::Unknown,
            meta: ColumnMeta::default(),
        };
        // Without a catalog the engine expands `*` (and merges USING columns) itself.
        if qualifier.is_none() && scope.relations.iter().any(|r| r.open) {
            return Ok(vec![("*".into(), unknown())]);
        }
        let mut out = Vec::new();
        if qualifier.is_none() {
            for m in &scope.merged {
                out.push((m.sql.clone(), col_to_out(&m.col)));
            }
        }
        let mut matched = false;
        for (ri, r) in scope.relations.iter().enumerate() {
            if let Some(q) = qualifier
                && !r.answers_to(q)
            {
                continue;
            }
            matched = true;
            if r.open {
                out.push((
                    format!("{}.*", r.sql_alias),
                    ColumnInfo {
                        name: "*".into(),
                        ty: AdqlType::Unknown,
                        meta: ColumnMeta::default(),
                    },
                ));
                continue;
            }
            for (ci, c) in r.columns.iter().enumerate() {
                if qualifier.is_none() && scope.merged.iter().any(|m| m.hides.contains(&(ri, ci))) {
                    continue;
                }
                out.push((r.column_sql(&c.name), col_to_out(c)));
            }
        }
        if !matched {
            let q = qualifier
                .map(|q| {
                    q.iter()
                        .map(|i| i.name.as_str())
                        .collect::<Vec<_>>()
                        .join(".")
                })
                .unwrap_or_default();
            return Err(self.error(
                span,
                format!("no table '{q}' in FROM"),
                Some(format!("tables in FROM: {}", scope.relation_names())),
            ));
        }
        Ok(out)
    }

    /// A FROM item: adds its relations to `scope` and returns its SQL.
    fn table_ref(&mut self, t: &TableRef, scope: &mut Scope) -> Result<String> {
        match t {
            TableRef::Table { name, alias, span } => {
                let rel = self.resolve_table(name, alias.clone(), *span, scope)?;
                let sql = rel.1;
                scope.relations.push(rel.0);
                Ok(sql)
            }
            TableRef::Derived { query, alias, .. } => {
                // A derived table sees no sibling FROM items (no LATERAL in ADQL).
                let (sql, cols) = self.query(query)?;
                let sql_alias = self.unique_alias(&alias.name, scope);
                let (columns, open) = known_columns(cols);
                scope.relations.push(Relation {
                    alias: Some(alias.clone()),
                    schema: None,
                    table: alias.name.clone(),
                    sql_alias: sql_alias.clone(),
                    columns,
                    open,
                    sky_index: None,
                    rows: None,
                    key_index: None,
                });
                Ok(format!("({sql}) AS {sql_alias}"))
            }
            TableRef::Nested(inner) => Ok(format!("({})", self.table_ref(inner, scope)?)),
            TableRef::Join(j) => self.join(j, scope),
        }
    }

    fn join(&mut self, j: &Join, scope: &mut Scope) -> Result<String> {
        let left_start = scope.relations.len();
        let left = self.table_ref(&j.left, scope)?;
        let right_start = scope.relations.len();
        let right = self.table_ref(&j.right, scope)?;
        let kind = match j.kind {
            JoinKind::Inner { .. } => "JOIN",
            JoinKind::Left { .. } => "LEFT JOIN",
            JoinKind::Right { .. } => "RIGHT JOIN",
            JoinKind::Full { .. } => "FULL JOIN",
            JoinKind::Cross => return Ok(format!("{left} CROSS JOIN {right}")),
        };
        if !j.natural && j.constraint == JoinConstraint::None {
            // A join written without ON or USING (ADQL 2.1 BNF `<qualified_join>`)
            // has an always-true condition: INNER pairs every row with every row,
            // as CROSS JOIN; an OUTER join does so too and, as OUTER says, keeps
            // the rows of its outer side when the other side has none. (PostgreSQL
            // refuses the syntax; SQLite and MySQL's CROSS-style joins read it so.)
            return Ok(match j.kind {
                JoinKind::Inner { .. } => format!("{left} CROSS JOIN {right}"),
                _ => format!("{left} {kind} {right} ON TRUE"),
            });
        }
        // Without a catalog the columns are unknown: leave USING and NATURAL to the engine.
        if scope.relations[left_start..].iter().any(|r| r.open) {
            return Ok(match &j.constraint {
                JoinConstraint::Using(cols) => {
                    let cols: Vec<String> = cols.iter().map(|c| quote(&c.name)).collect();
                    format!("{left} {kind} {right} USING ({})", cols.join(", "))
                }
                JoinConstraint::None => format!("{left} NATURAL {kind} {right}"),
                JoinConstraint::On(cond) => {
                    self.scopes.push(scope.clone());
                    let c = self.filter(cond, "ON");
                    self.scopes.pop();
                    format!("{left} {kind} {right} ON {}", c?)
                }
            });
        }
        let using: Vec<Ident> = match &j.constraint {
            JoinConstraint::On(cond) => {
                // A side is expanded by a crossmatch only if it is one
                // relation, and never the side an outer join preserves
                // (its unmatched rows would be repeated).
                let may_expand = match j.kind {
                    JoinKind::Inner { .. } => (is_single(&j.left), is_single(&j.right)),
                    JoinKind::Left { .. } => (false, is_single(&j.right)),
                    JoinKind::Right { .. } => (is_single(&j.left), false),
                    _ => (false, false),
                };
                let crossmatch = self.find_crossmatch(
                    cond,
                    scope,
                    left_start..right_start,
                    right_start..scope.relations.len(),
                    may_expand,
                );
                self.scopes.push(scope.clone());
                let c = self.filter(cond, "ON");
                self.scopes.pop();
                let mut c = c?;
                let (mut left, mut right) = (left, right);
                if let Some(x) = crossmatch {
                    let rel = &scope.relations[x.expanded];
                    let side = if x.expanded < right_start {
                        &mut left
                    } else {
                        &mut right
                    };
                    *side = x.wrap(rel, side);
                    c = format!("({} AND {c})", x.equality(&scope.relations));
                }
                return Ok(format!("{left} {kind} {right} ON {c}"));
            }
            JoinConstraint::Using(cols) => cols.clone(),
            JoinConstraint::None => {
                // NATURAL: the columns both sides have.
                let names = |rels: &[Relation]| -> Vec<String> {
                    rels.iter()
                        .flat_map(|r| r.columns.iter().map(|c| c.name.clone()))
                        .collect()
                };
                let l = names(&scope.relations[left_start..right_start]);
                let r = names(&scope.relations[right_start..]);
                l.into_iter()
                    .filter(|n| r.iter().any(|m| m == n))
                    .map(|n| Ident {
                        name: n,
                        quoted: true,
                        span: j.span,
                    })
                    .collect()
            }
        };
        if using.is_empty() {
            return Ok(format!("{left} CROSS JOIN {right}"));
        }
        let mut conditions = Vec::new();
        for col in &using {
            let find = |from: usize, to: usize| -> Vec<(usize, usize)> {
                (from..to)
                    .flat_map(|ri| {
                        scope.relations[ri]
                            .columns
                            .iter()
                            .enumerate()
                            .filter(|(_, c)| col.matches(&c.name))
                            .map(move |(ci, _)| (ri, ci))
                    })
                    .collect()
            };
            let l = find(left_start, right_start);
            let r = find(right_start, scope.relations.len());
            let (&[lh], &[rh]) = (l.as_slice(), r.as_slice()) else {
                let side = if l.len() != 1 { "left" } else { "right" };
                let n = if l.len() != 1 { l.len() } else { r.len() };
                return Err(self.error(
                    col.span,
                    format!(
                        "USING column '{}' must appear exactly once on the {side} side of the join, not {n} times",
                        col.name
                    ),
                    None,
                ));
            };
            let lsql = format!(
                "{}.{}",
                scope.relations[lh.0].sql_alias,
                quote(&scope.relations[lh.0].columns[lh.1].name)
            );
            let rsql = format!(
                "{}.{}",
                scope.relations[rh.0].sql_alias,
                quote(&scope.relations[rh.0].columns[rh.1].name)
            );
            conditions.push(format!("{lsql} = {rsql}"));
            let merged_sql = match j.kind {
                JoinKind::Right { .. } => rsql.clone(),
                JoinKind::Full { .. } => format!("COALESCE({lsql}, {rsql})"),
                _ => lsql.clone(),
            };
            let c = scope.relations[lh.0].columns[lh.1].clone();
            scope
                .merged
                .retain(|m| !m.name.eq_ignore_ascii_case(&c.name));
            scope.merged.push(Merged {
                name: c.name.clone(),
                sql: merged_sql,
                col: c,
                hides: vec![lh, rh],
            });
        }
        Ok(format!(
            "{left} {kind} {right} ON {}",
            conditions.join(" AND ")
        ))
    }

    /// A crossmatch in the WHERE of a comma join (`FROM a, b WHERE
    /// CONTAINS(...) = 1`) between two FROM items, each one relation: the
    /// expanded item's SQL is wrapped, and the cell equality returned for
    /// the WHERE.
    fn comma_crossmatch(
        &mut self,
        selection: &Expr,
        from: &[TableRef],
        scope: &Scope,
        items: &[std::ops::Range<usize>],
        from_sql: &mut [String],
    ) -> Option<String> {
        for i in 0..from.len() {
            for k in i + 1..from.len() {
                let may_expand = (is_single(&from[i]), is_single(&from[k]));
                let Some(x) = self.find_crossmatch(
                    selection,
                    scope,
                    items[i].clone(),
                    items[k].clone(),
                    may_expand,
                ) else {
                    continue;
                };
                let item = if items[i].contains(&x.expanded) { i } else { k };
                from_sql[item] = x.wrap(&scope.relations[x.expanded], &from_sql[item]);
                return Some(x.equality(&scope.relations));
            }
        }
        None
    }

    fn unique_alias(&self, base: &str, scope: &Scope) -> String {
        let taken = |a: &str| scope.relations.iter().any(|r| r.sql_alias == a);
        let mut candidate = quote(base);
        let mut n = 2;
        while taken(&candidate) {
            candidate = quote(&format!("{base}_{n}"));
            n += 1;
        }
        candidate
    }

    /// Finds a table (a CTE first, then the catalog) and checks the caller may read it.
    fn resolve_table(
        &mut self,
        name: &QualifiedName,
        alias: Option<Ident>,
        span: Span,
        scope: &Scope,
    ) -> Result<(Relation, String)> {
        let table_ident = &name[name.len() - 1];
        if name.len() == 1
            && let Some(cte) = self
                .ctes
                .iter()
                .rev()
                .find(|c| ident_eq(&c.name, table_ident))
        {
            let exposed = alias
                .as_ref()
                .map_or(cte.name.name.clone(), |a| a.name.clone());
            let sql_alias = self.unique_alias(&exposed, scope);
            let rel = Relation {
                alias: alias.clone().or_else(|| Some(cte.name.clone())),
                schema: None,
                table: cte.name.name.clone(),
                sql_alias: sql_alias.clone(),
                columns: cte.columns.clone(),
                open: cte.open,
                sky_index: None,
                rows: None,
                key_index: None,
            };
            return Ok((rel, format!("{} AS {sql_alias}", quote(&cte.name.name))));
        }
        let schema_ident = (name.len() >= 2).then(|| &name[name.len() - 2]);
        let tables = self.catalog.tables();
        let candidates: Vec<&TableInfo> = tables
            .iter()
            .copied()
            .filter(|t| table_ident.matches(&t.name))
            .filter(|t| schema_ident.is_none_or(|s| s.matches(&t.schema)))
            .filter(|t| self.policy.may_read(t))
            .collect();
        let info = match candidates.as_slice() {
            [one] => (*one).clone(),
            [] if !self.catalog.is_complete() => {
                let mut t = TableInfo {
                    schema: String::new(),
                    name: table_ident.name.clone(),
                    description: None,
                    columns: Vec::new(),
                    position: None,
                    layout: Default::default(),
                };
                if let Some(s) = schema_ident {
                    t.schema = s.name.clone();
                }
                let exposed = alias.as_ref().map_or(t.name.clone(), |a| a.name.clone());
                let sql_alias = self.unique_alias(&exposed, scope);
                let table_sql = match schema_ident {
                    Some(s) => format!("{}.{}", quote(&s.name), quote(&t.name)),
                    None => quote(&t.name),
                };
                let rel = Relation {
                    alias,
                    schema: schema_ident.map(|s| s.name.clone()),
                    table: t.name,
                    sql_alias: sql_alias.clone(),
                    columns: Vec::new(),
                    open: true,
                    sky_index: None,
                    rows: None,
                    key_index: None,
                };
                return Ok((rel, format!("{table_sql} AS {sql_alias}")));
            }
            [] => {
                let written = name
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(".");
                let visible: Vec<String> = tables
                    .iter()
                    .filter(|t| self.policy.may_read(t))
                    .map(|t| t.qualified_name())
                    .collect();
                let short: Vec<&str> = tables
                    .iter()
                    .filter(|t| self.policy.may_read(t))
                    .map(|t| t.name.as_str())
                    .collect();
                let hint = suggest(&written, visible.iter().map(String::as_str))
                    .or_else(|| {
                        suggest(&table_ident.name, short.iter().copied()).and_then(|s| {
                            visible
                                .iter()
                                .find(|v| v.ends_with(&format!(".{s}")))
                                .cloned()
                        })
                    })
                    .map(|s| format!("did you mean '{s}'?"))
                    .or_else(|| {
                        let case_hit = tables
                            .iter()
                            .find(|t| t.name.eq_ignore_ascii_case(&table_ident.name));
                        case_hit.filter(|_| table_ident.quoted).map(|t| {
                            format!(
                                "delimited names are case-sensitive: the table is \"{}\"",
                                t.name
                            )
                        })
                    })
                    .or_else(|| {
                        (!visible.is_empty() && visible.len() <= 12)
                            .then(|| format!("tables: {}", visible.join(", ")))
                    });
                return Err(self.error(span, format!("no table '{written}'"), hint));
            }
            many => {
                let names: Vec<String> = many.iter().map(|t| t.qualified_name()).collect();
                return Err(self.error(
                    span,
                    format!(
                        "table '{}' is ambiguous: {}",
                        table_ident.name,
                        names.join(", ")
                    ),
                    Some("qualify it with its schema".into()),
                ));
            }
        };
        let exposed = alias.as_ref().map_or(info.name.clone(), |a| a.name.clone());
        let sql_alias = self.unique_alias(&exposed, scope);
        let sql = format!(
            "{}.{} AS {sql_alias}",
            quote(&info.schema),
            quote(&info.name)
        );
        let rel = Relation {
            alias,
            schema: Some(info.schema.clone()),
            table: info.name.clone(),
            sql_alias,
            columns: info
                .columns
                .iter()
                .map(|c| Col {
                    name: c.name.clone(),
                    ty: c.ty,
                    meta: c.meta.clone(),
                })
                .collect(),
            open: false,
            sky_index: info.position.clone().filter(|_| info.layout.sky_index),
            rows: info.layout.rows,
            key_index: info.layout.key_index.as_ref().map(|column| KeyIndex {
                column: column.clone(),
                table_sql: format!(
                    "{}.{}",
                    quote(&info.schema),
                    quote(&catalog_model::key_index_table(&info.name))
                ),
            }),
        };
        Ok((rel, sql))
    }

    /// Resolves a column reference through the scopes, innermost first.
    pub(crate) fn column(&mut self, parts: &[Ident], span: Span) -> Result<Resolved> {
        for scope in self.scopes.iter().rev() {
            match scope.lookup(parts) {
                Lookup::Found(r) => return Ok(r),
                Lookup::Ambiguous(c) => {
                    let what = if parts.len() == 1 { "column" } else { "table" };
                    return Err(self.error(
                        span,
                        format!(
                            "{what} '{}' is ambiguous: {}",
                            parts
                                .iter()
                                .map(|p| p.name.as_str())
                                .collect::<Vec<_>>()
                                .join("."),
                            c.join(", ")
                        ),
                        Some("qualify it with its table name or alias".into()),
                    ));
                }
                Lookup::NoRelation | Lookup::NotFound => continue,
            }
        }
        let name = &parts[parts.len() - 1];
        let scope = self.scopes.last().cloned().unwrap_or_default();
        if parts.len() > 1 {
            let qualifier = &parts[..parts.len() - 1];
            let q = qualifier
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(".");
            if let Some(rel) = self
                .scopes
                .iter()
                .rev()
                .flat_map(|s| s.relations.iter())
                .find(|r| r.answers_to(qualifier))
            {
                let names: Vec<&str> = rel.columns.iter().map(|c| c.name.as_str()).collect();
                let hint = suggest(&name.name, names.iter().copied())
                    .map(|s| format!("did you mean '{s}'?"));
                return Err(self.error(
                    span,
                    format!("no column '{}' in {}", name.name, rel.display()),
                    hint,
                ));
            }
            let hint = if let Some(r) = scope.relations.iter().find(|r| {
                r.alias.is_some() && qualifier.len() == 1 && qualifier[0].matches(&r.table)
            }) {
                Some(format!(
                    "the table is called '{}' in this query",
                    r.display()
                ))
            } else {
                Some(format!("tables in FROM: {}", scope.relation_names()))
            };
            return Err(self.error(span, format!("no table '{q}' in FROM"), hint));
        }
        let names = scope.column_names();
        let case_hint = names
            .iter()
            .find(|n| name.quoted && n.eq_ignore_ascii_case(&name.name))
            .map(|n| format!("delimited names are case-sensitive: the column is \"{n}\""));
        let hint = case_hint.or_else(|| {
            suggest(&name.name, names.iter().map(String::as_str))
                .map(|s| format!("did you mean '{s}'?"))
        });
        let tables = scope.relation_names();
        Err(self.error(span, format!("no column '{}' in {tables}", name.name), hint))
    }
}

fn set_span(e: &SetExpr) -> Span {
    match e {
        SetExpr::Select(s) => s.span,
        SetExpr::Query(q) => q.span,
        SetExpr::SetOp { right, .. } => set_span(right),
    }
}

/// A FROM item that is one relation (a table or a derived table).
fn is_single(t: &TableRef) -> bool {
    match t {
        TableRef::Table { .. } | TableRef::Derived { .. } => true,
        TableRef::Nested(inner) => is_single(inner),
        TableRef::Join(_) => false,
    }
}

fn is_geometry_predicate(e: &Expr) -> bool {
    matches!(&e.unnested().kind, ExprKind::Function { name, .. } if name.name == "CONTAINS" || name.name == "INTERSECTS")
}

fn col_to_out(c: &Col) -> ColumnInfo {
    ColumnInfo {
        name: c.name.clone(),
        ty: c.ty,
        meta: c.meta.clone(),
    }
}

/// The columns a subquery is known to have; `open` if it selected `*` from a
/// table of unknown columns (no catalog), so that any name may be referenced.
fn known_columns(cols: Vec<ColumnInfo>) -> (Vec<Col>, bool) {
    let open = cols.iter().any(|c| c.name == "*");
    let known = cols
        .into_iter()
        .filter(|c| c.name != "*")
        .map(out_to_col)
        .collect();
    (known, open)
}

fn out_to_col(c: ColumnInfo) -> Col {
    Col {
        name: c.name,
        ty: c.ty,
        meta: c.meta,
    }
}

/// Result column names must be unique: later duplicates get `_2`, `_3`, ….
fn make_names_unique(items: &mut [(String, ColumnInfo)]) {
    let mut seen: Vec<String> = Vec::new();
    for (_, c) in items.iter_mut() {
        if c.name == "*" {
            continue;
        }
        let base = c.name.clone();
        let mut n = 2;
        while seen.iter().any(|s| s.eq_ignore_ascii_case(&c.name)) {
            c.name = format!("{base}_{n}");
            n += 1;
        }
        seen.push(c.name.clone());
    }
}
