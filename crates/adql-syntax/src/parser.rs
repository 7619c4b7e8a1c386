//! Recursive-descent parser for ADQL 2.1 queries (the grammar of ADQL 2.1
//! Appendix A, with the optional features of §4 and CASE, NULLIF, bitwise
//! operators and hexadecimal literals).
//!
//! The parser stops at the first error and reports it with a position, what
//! was expected and a hint. Where the intent is unambiguous it accepts common
//! mistakes and records a [`Warning`] instead: `LIMIT n` (read as `TOP n`), a
//! reserved word used as a name, Unicode look-alike punctuation.

mod expr;

use crate::ast::*;
use crate::error::{Positioner, SyntaxError, Warning};
use crate::keywords::{is_reserved, is_structural};
use crate::lexer::{Lexer, Tok, Token};
use crate::span::Span;

/// Longest query text accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 1 << 20;
/// Deepest nesting of subqueries, parentheses and prefix operators accepted.
pub const MAX_DEPTH: usize = 100;
/// Most binary operators (AND, OR, +, …) accepted in one query.
pub const MAX_OPERATORS: usize = 1000;

/// A successfully parsed query and what was forgiven on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The query.
    pub query: Query,
    /// Repairs and reinterpretations the user should know about.
    pub warnings: Vec<Warning>,
}

/// Parses one ADQL query (an optional trailing `;` is allowed).
pub fn parse(text: &str) -> Result<Parsed, SyntaxError> {
    let at = Positioner { text };
    if text.len() > MAX_QUERY_BYTES {
        return Err(at.error(
            Span::new(0, 0),
            format!("a query of at most {MAX_QUERY_BYTES} bytes"),
            Some(format!(
                "this query is {} bytes; upload large lists as a table instead",
                text.len()
            )),
        ));
    }
    let (tokens, warnings) = Lexer::new(text).tokenize()?;
    let mut p = Parser {
        tokens,
        pos: 0,
        at,
        warnings,
        depth: 0,
        operators: 0,
    };
    if p.peek().tok == Tok::Eof {
        return Err(p.error_here("a query starting with SELECT", None));
    }
    let query = p.query()?;
    if p.eat(&Tok::Semicolon) && p.peek().tok != Tok::Eof {
        return Err(p.error_here(
            "end of query",
            Some("only one query can be sent at a time".into()),
        ));
    }
    p.expect_end()?;
    let mut warnings = p.warnings;
    warnings.sort_by_key(|w| w.span.start);
    Ok(Parsed { query, warnings })
}

/// Parses a single value expression (used for tests and tools).
pub fn parse_expression(text: &str) -> Result<Expr, SyntaxError> {
    let at = Positioner { text };
    let (tokens, warnings) = Lexer::new(text).tokenize()?;
    let mut p = Parser {
        tokens,
        pos: 0,
        at,
        warnings,
        depth: 0,
        operators: 0,
    };
    let e = p.expr()?;
    p.expect_end()?;
    Ok(e)
}

pub(crate) struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    at: Positioner<'a>,
    warnings: Vec<Warning>,
    depth: usize,
    operators: usize,
}

impl Parser<'_> {
    // ---- token helpers -------------------------------------------------

    fn peek(&self) -> &Token {
        self.peek_nth(0)
    }

    fn peek_nth(&self, n: usize) -> &Token {
        let i = (self.pos + n).min(self.tokens.len() - 1);
        &self.tokens[i]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn prev_end(&self) -> usize {
        if self.pos == 0 {
            0
        } else {
            self.tokens[self.pos - 1].span.end
        }
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if &self.peek().tok == tok {
            self.next();
            true
        } else {
            false
        }
    }

    fn is_kw_at(&self, n: usize, kw: &str) -> bool {
        matches!(&self.peek_nth(n).tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    fn is_kw(&self, kw: &str) -> bool {
        self.is_kw_at(0, kw)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<Span, SyntaxError> {
        if self.is_kw(kw) {
            Ok(self.next().span)
        } else {
            Err(self.error_here(kw, None))
        }
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> Result<Span, SyntaxError> {
        if &self.peek().tok == tok {
            Ok(self.next().span)
        } else {
            let hint = match (tok, &self.peek().tok) {
                (Tok::RParen, Tok::Eof) => Some("a parenthesis is not closed".to_string()),
                _ => None,
            };
            Err(self.error_here(what, hint))
        }
    }

    fn error_here(&self, expected: &str, hint: Option<String>) -> SyntaxError {
        self.at.error(self.peek().span, expected, hint)
    }

    fn warn(&mut self, span: Span, message: String) {
        let w = self.at.warning(span, message);
        self.warnings.push(w);
    }

    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_here(
                "less deeply nested query",
                Some(format!(
                    "nesting is limited to {MAX_DEPTH} levels of parentheses, subqueries and prefix operators"
                )),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn expect_end(&mut self) -> Result<(), SyntaxError> {
        if self.peek().tok == Tok::Eof {
            return Ok(());
        }
        let hint = match &self.peek().tok {
            Tok::RParen => Some("there is a ')' without a matching '('".to_string()),
            Tok::Semicolon => Some("only one query can be sent at a time".to_string()),
            Tok::Word(w) if w.eq_ignore_ascii_case("LIMIT") => {
                Some("ADQL uses TOP n right after SELECT, not LIMIT".to_string())
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("FETCH") => {
                Some("ADQL uses TOP n right after SELECT, not FETCH FIRST".to_string())
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("WHERE") => {
                Some("WHERE must come before GROUP BY, HAVING and ORDER BY".to_string())
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("TOP") => {
                Some("TOP goes right after SELECT: SELECT TOP 10 ...".to_string())
            }
            _ => None,
        };
        Err(self.error_here("end of query", hint))
    }

    // ---- names ------------------------------------------------------------

    /// An identifier in a position where only a name can stand. A reserved
    /// word that the grammar cannot confuse is accepted with a warning.
    fn ident(&mut self, what: &str) -> Result<Ident, SyntaxError> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Quoted(name) => {
                self.next();
                Ok(Ident {
                    name,
                    quoted: true,
                    span: t.span,
                })
            }
            Tok::Word(w) if !is_structural(&w) => {
                self.next();
                if is_reserved(&w) {
                    self.warn(
                        t.span,
                        format!(
                            "{} is a reserved word, and a reserved word used as a name is outside ADQL 2.1 (§2.1.3); read as a name here, but the portable spelling is \"{}\"",
                            w.to_ascii_uppercase(),
                            w.to_ascii_lowercase()
                        ),
                    );
                }
                Ok(Ident {
                    name: w,
                    quoted: false,
                    span: t.span,
                })
            }
            Tok::Word(w) => Err(self.error_here(
                what,
                Some(format!(
                    "{} is a reserved word; if it is a name, write it in double quotes: \"{}\"",
                    w.to_ascii_uppercase(),
                    w.to_ascii_lowercase()
                )),
            )),
            _ => Err(self.error_here(what, None)),
        }
    }

    /// `ident (. ident)*`, at most `max_parts` parts.
    fn qualified_name(
        &mut self,
        what: &str,
        max_parts: usize,
    ) -> Result<QualifiedName, SyntaxError> {
        let mut parts = vec![self.ident(what)?];
        while self.peek().tok == Tok::Dot && !matches!(self.peek_nth(1).tok, Tok::Star) {
            self.next();
            parts.push(self.ident("a name after '.'")?);
        }
        if parts.len() > max_parts {
            let span = parts[0].span.to(parts[parts.len() - 1].span);
            return Err(self.at.error(
                span,
                format!("a name of at most {max_parts} parts"),
                Some("names are written [catalog.][schema.]table[.column]".into()),
            ));
        }
        Ok(parts)
    }

    /// An optional correlation name: `AS name` or a bare non-reserved name.
    fn opt_alias(&mut self) -> Result<Option<Ident>, SyntaxError> {
        if self.eat_kw("AS") {
            return self.ident("a name after AS").map(Some);
        }
        match &self.peek().tok {
            Tok::Quoted(_) => self.ident("a name").map(Some),
            Tok::Word(w) if !is_reserved(w) && !is_structural(w) => self.ident("a name").map(Some),
            _ => Ok(None),
        }
    }

    fn unsigned_integer(&mut self, what: &str) -> Result<u64, SyntaxError> {
        let t = self.peek().clone();
        if let Tok::Number(text) = &t.tok
            && let Ok(n) = text.parse::<u64>()
        {
            self.next();
            return Ok(n);
        }
        Err(self.error_here(what, Some("write a whole number such as 100".into())))
    }

    // ---- queries ----------------------------------------------------------

    #[recursive::recursive]
    pub(crate) fn query(&mut self) -> Result<Query, SyntaxError> {
        self.enter()?;
        let start = self.peek().span.start;
        let mut with = Vec::new();
        if self.is_kw("WITH") {
            let kw = self.next().span;
            // ADQL 2.1 BNF: only `<query_specification>` takes a `<with_clause>`;
            // a `<subquery>` and a `<with_query>` hold a bare `<query_expression>`.
            if self.depth > 1 {
                self.warn(
                    kw,
                    "WITH inside a subquery is outside ADQL 2.1, which allows WITH only at the start of the whole query; accepted here, but the portable spelling moves this WITH query to the top: WITH name AS (...) SELECT ...".into(),
                );
            }
            loop {
                let name = self.ident("a name for the WITH query")?;
                self.expect_kw("AS")?;
                self.expect(&Tok::LParen, "'(' opening the WITH query")?;
                let query = self.query()?;
                self.expect(&Tok::RParen, "')' closing the WITH query")?;
                with.push(Cte {
                    name,
                    query: Box::new(query),
                });
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        let mut body = self.set_expr()?;
        let mut order_by = Vec::new();
        let mut offset = None;
        let mut limit: Option<(u64, Span)> = None;
        loop {
            if self.is_kw("ORDER") && order_by.is_empty() {
                self.next();
                self.expect_kw("BY")?;
                order_by = self.order_by_list()?;
            } else if self.is_kw("OFFSET") && offset.is_none() {
                self.next();
                offset = Some(self.unsigned_integer("a row count after OFFSET")?);
            } else if self.is_kw("LIMIT") && limit.is_none() {
                let kw = self.next().span;
                let n = self.unsigned_integer("a row count after LIMIT")?;
                limit = Some((n, kw.to(Span::new(kw.start, self.prev_end()))));
            } else {
                break;
            }
        }
        if let Some((n, span)) = limit {
            self.apply_limit(&mut body, n, span)?;
        }
        self.leave();
        Ok(Query {
            with,
            body,
            order_by,
            offset,
            span: Span::new(start, self.prev_end()),
        })
    }

    /// `LIMIT n` is not ADQL; where it can only mean `TOP n`, take it so.
    fn apply_limit(&mut self, body: &mut SetExpr, n: u64, span: Span) -> Result<(), SyntaxError> {
        match body {
            SetExpr::Select(select) if select.top.is_none() => {
                select.top = Some(n);
                select.top_span = span;
                self.warn(
                    span,
                    format!("LIMIT is not ADQL; read as TOP {n}. Write SELECT TOP {n} ... instead"),
                );
                Ok(())
            }
            SetExpr::Select(_) => Err(self.at.error(
                span,
                "end of query",
                Some("the query has both TOP and LIMIT; ADQL uses TOP only".into()),
            )),
            _ => Err(self.at.error(
                span,
                "end of query",
                Some(
                    "ADQL has no LIMIT; wrap the set operation: SELECT TOP n * FROM (...) AS t"
                        .into(),
                ),
            )),
        }
    }

    fn order_by_list(&mut self) -> Result<Vec<OrderBy>, SyntaxError> {
        let mut items = Vec::new();
        loop {
            let expr = self.expr()?;
            let (descending, explicit_direction) = if self.eat_kw("DESC") {
                (true, true)
            } else if self.eat_kw("ASC") {
                (false, true)
            } else {
                (false, false)
            };
            if self.is_kw("NULLS") {
                return Err(self.error_here(
                    "',' or the end of ORDER BY",
                    Some("ADQL has no NULLS FIRST/LAST".into()),
                ));
            }
            items.push(OrderBy {
                expr,
                descending,
                explicit_direction,
            });
            if !self.eat(&Tok::Comma) {
                return Ok(items);
            }
        }
    }

    /// `term { (UNION|EXCEPT) [ALL] term }`; INTERSECT binds tighter (ADQL 2.1 BNF).
    fn set_expr(&mut self) -> Result<SetExpr, SyntaxError> {
        let mut left = self.set_term()?;
        loop {
            let op = if self.is_kw("UNION") {
                SetOp::Union
            } else if self.is_kw("EXCEPT") {
                SetOp::Except
            } else {
                return Ok(left);
            };
            self.next();
            let all = self.eat_kw("ALL");
            if !all {
                self.eat_kw("DISTINCT");
            }
            let right = self.set_term()?;
            left = SetExpr::SetOp {
                op,
                all,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
    }

    fn set_term(&mut self) -> Result<SetExpr, SyntaxError> {
        let mut left = self.set_primary()?;
        while self.eat_kw("INTERSECT") {
            let all = self.eat_kw("ALL");
            if !all {
                self.eat_kw("DISTINCT");
            }
            let right = self.set_primary()?;
            left = SetExpr::SetOp {
                op: SetOp::Intersect,
                all,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok(left)
    }

    fn set_primary(&mut self) -> Result<SetExpr, SyntaxError> {
        if self.peek().tok == Tok::LParen {
            self.next();
            let q = self.query()?;
            self.expect(&Tok::RParen, "')' closing the query")?;
            return Ok(SetExpr::Query(Box::new(q)));
        }
        if !self.is_kw("SELECT") {
            let hint = match &self.peek().tok {
                Tok::Word(w)
                    if ["INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER"]
                        .iter()
                        .any(|k| w.eq_ignore_ascii_case(k)) =>
                {
                    Some("ADQL only reads data: every query is a SELECT".to_string())
                }
                _ => None,
            };
            return Err(self.error_here("SELECT", hint));
        }
        Ok(SetExpr::Select(Box::new(self.select()?)))
    }

    fn select(&mut self) -> Result<Select, SyntaxError> {
        let start = self.expect_kw("SELECT")?.start;
        let mut distinct = false;
        let mut explicit_all = false;
        if self.eat_kw("DISTINCT") {
            distinct = true;
        } else if self.eat_kw("ALL") {
            explicit_all = true;
        }
        let mut top = None;
        let mut top_span = Span::default();
        if self.is_kw("TOP") {
            let kw = self.next().span;
            top = Some(self.unsigned_integer("a row count after TOP")?);
            top_span = kw.to(Span::new(kw.start, self.prev_end()));
            if self.is_kw("DISTINCT") {
                return Err(self.error_here(
                    "the select list",
                    Some("write SELECT DISTINCT TOP n, in that order".into()),
                ));
            }
        }
        let items = self.select_list()?;
        if !self.is_kw("FROM") {
            let hint = match &self.peek().tok {
                Tok::Eof => Some("every ADQL query needs a FROM clause".to_string()),
                Tok::Word(w) if crate::keywords::is_structural(w) => {
                    Some("every ADQL query needs a FROM clause before this".to_string())
                }
                Tok::Word(_) | Tok::Quoted(_) | Tok::Number(_) | Tok::Str(_) => {
                    Some("is a comma missing between two select items?".to_string())
                }
                _ => None,
            };
            return Err(self.error_here("FROM", hint));
        }
        self.next();
        let mut from = vec![self.table_ref()?];
        while self.eat(&Tok::Comma) {
            from.push(self.table_ref()?);
        }
        let selection = if self.eat_kw("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        let mut group_by = Vec::new();
        if self.eat_kw("GROUP") {
            self.expect_kw("BY")?;
            loop {
                group_by.push(self.expr()?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        let having = if self.eat_kw("HAVING") {
            Some(self.expr()?)
        } else {
            None
        };
        Ok(Select {
            distinct,
            explicit_all,
            top,
            top_span,
            items,
            from,
            selection,
            group_by,
            having,
            span: Span::new(start, self.prev_end()),
        })
    }

    fn select_list(&mut self) -> Result<Vec<SelectItem>, SyntaxError> {
        let mut items = Vec::new();
        loop {
            if self.is_kw("FROM") && !items.is_empty() {
                return Err(self.error_here(
                    "a column or expression to select",
                    Some("remove the trailing comma before FROM".into()),
                ));
            }
            items.push(self.select_item()?);
            if !self.eat(&Tok::Comma) {
                return Ok(items);
            }
        }
    }

    fn select_item(&mut self) -> Result<SelectItem, SyntaxError> {
        if self.peek().tok == Tok::Star {
            return Ok(SelectItem::Wildcard(self.next().span));
        }
        if self.is_kw("FROM") {
            return Err(self.error_here(
                "a column or expression to select",
                Some("the select list is empty; write * for all columns".into()),
            ));
        }
        // qualifier.* : a name of up to three parts followed by `.*`.
        let mut n = 0;
        while matches!(self.peek_nth(n).tok, Tok::Word(_) | Tok::Quoted(_))
            && self.peek_nth(n + 1).tok == Tok::Dot
        {
            n += 2;
            if self.peek_nth(n).tok == Tok::Star {
                let start = self.peek().span.start;
                let name = self.qualified_name("a table name", 3)?;
                self.expect(&Tok::Dot, "'.'")?;
                let end = self.next().span.end;
                return Ok(SelectItem::QualifiedWildcard(name, Span::new(start, end)));
            }
        }
        let expr = self.expr()?;
        let alias = self.opt_alias()?;
        Ok(SelectItem::Expr { expr, alias })
    }

    // ---- FROM -------------------------------------------------------------

    fn table_ref(&mut self) -> Result<TableRef, SyntaxError> {
        let mut left = self.table_primary()?;
        loop {
            let start = self.peek().span.start;
            let natural = self.eat_kw("NATURAL");
            let kind = if self.eat_kw("INNER") {
                JoinKind::Inner { explicit: true }
            } else if self.eat_kw("LEFT") {
                JoinKind::Left {
                    outer: self.eat_kw("OUTER"),
                }
            } else if self.eat_kw("RIGHT") {
                JoinKind::Right {
                    outer: self.eat_kw("OUTER"),
                }
            } else if self.eat_kw("FULL") {
                JoinKind::Full {
                    outer: self.eat_kw("OUTER"),
                }
            } else if !natural && self.is_kw("CROSS") {
                self.next();
                JoinKind::Cross
            } else if self.is_kw("JOIN") {
                JoinKind::Inner { explicit: false }
            } else if natural {
                return Err(self.error_here("JOIN after NATURAL", None));
            } else {
                return Ok(left);
            };
            if !self.eat_kw("JOIN") {
                let hint = if self.is_kw("OUTER") {
                    Some("write LEFT, RIGHT or FULL before OUTER JOIN".to_string())
                } else {
                    None
                };
                return Err(self.error_here("JOIN", hint));
            }
            let right = self.table_primary()?;
            let constraint = if natural || kind == JoinKind::Cross {
                if self.is_kw("ON") || self.is_kw("USING") {
                    return Err(self.error_here(
                        "the next join or clause",
                        Some("NATURAL and CROSS joins take no ON or USING".into()),
                    ));
                }
                JoinConstraint::None
            } else if self.eat_kw("ON") {
                JoinConstraint::On(self.expr()?)
            } else if self.eat_kw("USING") {
                self.expect(&Tok::LParen, "'(' after USING")?;
                let mut cols = vec![self.ident("a column name")?];
                while self.eat(&Tok::Comma) {
                    cols.push(self.ident("a column name")?);
                }
                self.expect(&Tok::RParen, "')' closing USING")?;
                JoinConstraint::Using(cols)
            } else {
                // ADQL 2.1 BNF: `<qualified_join> ::= ... JOIN <table_reference>
                // [ <join_specification> ]`, so the condition is optional; with
                // none, every row pairs with every row (see `JoinConstraint::None`).
                let span = Span::new(start.min(table_start(&left)), self.prev_end());
                let portable = match kind {
                    JoinKind::Inner { .. } => "CROSS JOIN",
                    _ => "ON 1 = 1",
                };
                self.warn(
                    span,
                    format!(
                        "a JOIN without ON or USING pairs every row with every row (a cross join); ADQL 2.1 allows it but SQL and PostgreSQL-based services refuse it: write {portable} to be portable"
                    ),
                );
                JoinConstraint::None
            };
            let span = Span::new(start.min(table_start(&left)), self.prev_end());
            left = TableRef::Join(Box::new(Join {
                left,
                right,
                natural,
                kind,
                constraint,
                span,
            }));
        }
    }

    fn table_primary(&mut self) -> Result<TableRef, SyntaxError> {
        let start = self.peek().span.start;
        if self.peek().tok == Tok::LParen {
            if self.is_kw_at(1, "SELECT") || self.is_kw_at(1, "WITH") {
                return self.derived_table(start);
            }
            if self.peek_nth(1).tok == Tok::LParen {
                // `((SELECT …) AS x JOIN …)` or `((SELECT …) UNION …) AS x`: try a
                // derived table first, then a parenthesised join.
                let save = (self.pos, self.warnings.len(), self.depth);
                match self.derived_table(start) {
                    Ok(t) => return Ok(t),
                    Err(_) => {
                        self.pos = save.0;
                        self.warnings.truncate(save.1);
                        self.depth = save.2;
                    }
                }
            }
            self.enter()?;
            self.next();
            let inner = self.table_ref()?;
            self.expect(&Tok::RParen, "')' closing the joined table")?;
            self.leave();
            return Ok(TableRef::Nested(Box::new(inner)));
        }
        let name = self.qualified_name("a table name", 3)?;
        let alias = self.opt_alias()?;
        Ok(TableRef::Table {
            name,
            alias,
            span: Span::new(start, self.prev_end()),
        })
    }

    fn derived_table(&mut self, start: usize) -> Result<TableRef, SyntaxError> {
        self.next();
        let query = self.query()?;
        self.expect(&Tok::RParen, "')' closing the subquery")?;
        let alias = match self.opt_alias()? {
            Some(a) => a,
            None => {
                return Err(self.error_here(
                    "a name for the subquery",
                    Some("a subquery in FROM needs a name: (SELECT ...) AS sub".into()),
                ));
            }
        };
        Ok(TableRef::Derived {
            query: Box::new(query),
            alias,
            span: Span::new(start, self.prev_end()),
        })
    }
}

fn table_start(t: &TableRef) -> usize {
    match t {
        TableRef::Table { span, .. } | TableRef::Derived { span, .. } => span.start,
        TableRef::Join(j) => j.span.start,
        TableRef::Nested(inner) => table_start(inner).saturating_sub(1),
    }
}
