//! `Display` for the AST: prints ADQL that parses back to the same tree.
//!
//! Parentheses the user wrote are kept ([`ExprKind::Nested`]); the printer
//! adds the ones precedence needs in trees built by code, so a rewritten tree
//! never changes meaning when printed.

use crate::ast::*;
use std::fmt::{self, Display, Formatter, Write};

impl Display for Ident {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.quoted {
            write_quoted_ident(f, &self.name)
        } else {
            f.write_str(&self.name)
        }
    }
}

/// Writes `name` as a delimited identifier, doubling inner quotes.
pub fn write_quoted_ident(f: &mut impl Write, name: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in name.chars() {
        if c == '"' {
            f.write_str("\"\"")?;
        } else {
            f.write_char(c)?;
        }
    }
    f.write_char('"')
}

/// A name as it must be written in a query: as is when it is a regular
/// identifier, delimited when it is a reserved word or has other characters
/// (TAP 1.1 §4.3: TAP_SCHEMA.columns.column_name holds `"size"`, quotes and all).
pub fn name_as_written(name: &str) -> String {
    let mut chars = name.chars();
    let regular = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if regular && !crate::keywords::is_reserved(name) {
        return name.to_string();
    }
    let mut out = String::new();
    let _ = write_quoted_ident(&mut out, name);
    out
}

/// Writes `s` as an ADQL string literal, doubling inner quotes.
pub fn write_string_literal(f: &mut impl Write, s: &str) -> fmt::Result {
    f.write_char('\'')?;
    for c in s.chars() {
        if c == '\'' {
            f.write_str("''")?;
        } else {
            f.write_char(c)?;
        }
    }
    f.write_char('\'')
}

fn write_name(f: &mut Formatter<'_>, name: &[Ident]) -> fmt::Result {
    for (i, part) in name.iter().enumerate() {
        if i > 0 {
            f.write_char('.')?;
        }
        write!(f, "{part}")?;
    }
    Ok(())
}

fn comma_list<T: Display>(f: &mut Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if !self.with.is_empty() {
            f.write_str("WITH ")?;
            for (i, cte) in self.with.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{} AS ({})", cte.name, cte.query)?;
            }
            f.write_char(' ')?;
        }
        write!(f, "{}", self.body)?;
        if !self.order_by.is_empty() {
            f.write_str(" ORDER BY ")?;
            comma_list(f, &self.order_by)?;
        }
        if let Some(n) = self.offset {
            write!(f, " OFFSET {n}")?;
        }
        Ok(())
    }
}

impl Display for OrderBy {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)?;
        match (self.descending, self.explicit_direction) {
            (true, _) => f.write_str(" DESC"),
            (false, true) => f.write_str(" ASC"),
            (false, false) => Ok(()),
        }
    }
}

impl Display for SetExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SetExpr::Select(s) => write!(f, "{s}"),
            SetExpr::Query(q) => write!(f, "({q})"),
            SetExpr::SetOp {
                op,
                all,
                left,
                right,
            } => {
                let word = op.keyword();
                // INTERSECT binds tighter than UNION/EXCEPT; all are left-associative.
                let loose = |e: &SetExpr| {
                    matches!(
                        e,
                        SetExpr::SetOp {
                            op: SetOp::Union | SetOp::Except,
                            ..
                        }
                    )
                };
                let needs_parens = |e: &SetExpr, is_right: bool| match e {
                    SetExpr::SetOp { .. } => *op == SetOp::Intersect || (is_right && loose(e)),
                    _ => false,
                };
                if needs_parens(left, false) {
                    write!(f, "({left})")?;
                } else {
                    write!(f, "{left}")?;
                }
                write!(f, " {word}{} ", if *all { " ALL" } else { "" })?;
                if needs_parens(right, true) {
                    write!(f, "({right})")
                } else {
                    write!(f, "{right}")
                }
            }
        }
    }
}

impl Display for Select {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT ")?;
        if self.distinct {
            f.write_str("DISTINCT ")?;
        } else if self.explicit_all {
            f.write_str("ALL ")?;
        }
        if let Some(n) = self.top {
            write!(f, "TOP {n} ")?;
        }
        comma_list(f, &self.items)?;
        f.write_str(" FROM ")?;
        comma_list(f, &self.from)?;
        if let Some(w) = &self.selection {
            write!(f, " WHERE {w}")?;
        }
        if !self.group_by.is_empty() {
            f.write_str(" GROUP BY ")?;
            comma_list(f, &self.group_by)?;
        }
        if let Some(h) = &self.having {
            write!(f, " HAVING {h}")?;
        }
        Ok(())
    }
}

impl Display for SelectItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SelectItem::Wildcard(_) => f.write_char('*'),
            SelectItem::QualifiedWildcard(name, _) => {
                write_name(f, name)?;
                f.write_str(".*")
            }
            SelectItem::Expr { expr, alias } => {
                write!(f, "{expr}")?;
                if let Some(a) = alias {
                    write!(f, " AS {a}")?;
                }
                Ok(())
            }
        }
    }
}

impl Display for TableRef {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            TableRef::Table { name, alias, .. } => {
                write_name(f, name)?;
                if let Some(a) = alias {
                    write!(f, " AS {a}")?;
                }
                Ok(())
            }
            TableRef::Derived { query, alias, .. } => write!(f, "({query}) AS {alias}"),
            TableRef::Nested(inner) => write!(f, "({inner})"),
            TableRef::Join(j) => {
                write!(f, "{}", j.left)?;
                if j.natural {
                    f.write_str(" NATURAL")?;
                }
                let kind = match j.kind {
                    JoinKind::Inner { explicit: true } => " INNER JOIN ",
                    JoinKind::Inner { explicit: false } => " JOIN ",
                    JoinKind::Left { outer: true } => " LEFT OUTER JOIN ",
                    JoinKind::Left { outer: false } => " LEFT JOIN ",
                    JoinKind::Right { outer: true } => " RIGHT OUTER JOIN ",
                    JoinKind::Right { outer: false } => " RIGHT JOIN ",
                    JoinKind::Full { outer: true } => " FULL OUTER JOIN ",
                    JoinKind::Full { outer: false } => " FULL JOIN ",
                    JoinKind::Cross => " CROSS JOIN ",
                };
                f.write_str(kind)?;
                // A join on the right of a join must be parenthesised to keep its grouping.
                if matches!(j.right, TableRef::Join(_)) {
                    write!(f, "({})", j.right)?;
                } else {
                    write!(f, "{}", j.right)?;
                }
                match &j.constraint {
                    JoinConstraint::On(e) => write!(f, " ON {e}"),
                    JoinConstraint::Using(cols) => {
                        f.write_str(" USING (")?;
                        comma_list(f, cols)?;
                        f.write_char(')')
                    }
                    JoinConstraint::None => Ok(()),
                }
            }
        }
    }
}

impl Display for CastType {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            CastType::SmallInt => f.write_str("SMALLINT"),
            CastType::Integer => f.write_str("INTEGER"),
            CastType::BigInt => f.write_str("BIGINT"),
            CastType::Real => f.write_str("REAL"),
            CastType::Double => f.write_str("DOUBLE PRECISION"),
            CastType::Char(None) => f.write_str("CHAR"),
            CastType::Char(Some(n)) => write!(f, "CHAR({n})"),
            CastType::Varchar(None) => f.write_str("VARCHAR"),
            CastType::Varchar(Some(n)) => write!(f, "VARCHAR({n})"),
            CastType::Timestamp => f.write_str("TIMESTAMP"),
            CastType::Point => f.write_str("POINT"),
            CastType::Circle => f.write_str("CIRCLE"),
            CastType::Polygon => f.write_str("POLYGON"),
        }
    }
}

impl Expr {
    /// How tightly this expression binds when printed without parentheses.
    pub fn precedence(&self) -> u8 {
        match &self.kind {
            ExprKind::Binary { op, .. } => op.precedence(),
            ExprKind::Not(_) => NOT_PRECEDENCE,
            ExprKind::IsNull { .. }
            | ExprKind::Between { .. }
            | ExprKind::InList { .. }
            | ExprKind::InSubquery { .. }
            | ExprKind::Like { .. } => PREDICATE_PRECEDENCE,
            ExprKind::Unary { .. } => UNARY_PRECEDENCE,
            _ => u8::MAX,
        }
    }
}

/// Writes `e`, parenthesised if it binds looser than `min`.
fn operand(f: &mut Formatter<'_>, e: &Expr, min: u8) -> fmt::Result {
    if e.precedence() < min {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let pred = PREDICATE_PRECEDENCE + 1;
        match &self.kind {
            ExprKind::Null => f.write_str("NULL"),
            ExprKind::Number { text, .. } => f.write_str(text),
            ExprKind::String(s) => write_string_literal(f, s),
            ExprKind::Column(name) => write_name(f, name),
            ExprKind::Unary { op, expr } => {
                f.write_str(match op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Plus => "+",
                    UnaryOp::BitNot => "~",
                })?;
                // `- -x` must not print as the comment `--x`.
                if matches!(expr.kind, ExprKind::Unary { .. }) {
                    f.write_char(' ')?;
                }
                operand(f, expr, UNARY_PRECEDENCE)
            }
            ExprKind::Binary { op, left, right } => {
                let p = op.precedence();
                // Left-associative: the right operand needs parentheses at equal
                // precedence; comparisons do not chain, so neither side may be one.
                let left_min = if op.is_comparison() { p + 1 } else { p };
                operand(f, left, left_min)?;
                write!(f, " {} ", op.symbol())?;
                operand(f, right, p + 1)
            }
            ExprKind::Not(e) => {
                f.write_str("NOT ")?;
                operand(f, e, NOT_PRECEDENCE)
            }
            ExprKind::IsNull { expr, negated } => {
                operand(f, expr, pred)?;
                f.write_str(if *negated { " IS NOT NULL" } else { " IS NULL" })
            }
            ExprKind::Between {
                expr,
                negated,
                low,
                high,
            } => {
                operand(f, expr, pred)?;
                f.write_str(if *negated {
                    " NOT BETWEEN "
                } else {
                    " BETWEEN "
                })?;
                operand(f, low, pred)?;
                f.write_str(" AND ")?;
                operand(f, high, pred)
            }
            ExprKind::InList {
                expr,
                negated,
                list,
            } => {
                operand(f, expr, pred)?;
                f.write_str(if *negated { " NOT IN (" } else { " IN (" })?;
                comma_list(f, list)?;
                f.write_char(')')
            }
            ExprKind::InSubquery {
                expr,
                negated,
                query,
            } => {
                operand(f, expr, pred)?;
                write!(f, "{}({query})", if *negated { " NOT IN " } else { " IN " })
            }
            ExprKind::Exists(q) => write!(f, "EXISTS ({q})"),
            ExprKind::Subquery(q) => write!(f, "({q})"),
            ExprKind::Like {
                expr,
                negated,
                case_insensitive,
                pattern,
                escape,
            } => {
                operand(f, expr, pred)?;
                f.write_str(if *negated { " NOT" } else { "" })?;
                f.write_str(if *case_insensitive {
                    " ILIKE "
                } else {
                    " LIKE "
                })?;
                operand(f, pattern, pred)?;
                if let Some(e) = escape {
                    f.write_str(" ESCAPE ")?;
                    operand(f, e, pred)?;
                }
                Ok(())
            }
            ExprKind::Function {
                name,
                args,
                distinct,
                star,
            } => {
                write!(f, "{name}(")?;
                if *star {
                    f.write_char('*')?;
                }
                if *distinct {
                    f.write_str("DISTINCT ")?;
                }
                comma_list(f, args)?;
                f.write_char(')')
            }
            ExprKind::Cast { expr, target } => write!(f, "CAST({expr} AS {target})"),
            ExprKind::Case {
                operand: op,
                whens,
                otherwise,
            } => {
                f.write_str("CASE")?;
                if let Some(o) = op {
                    write!(f, " {o}")?;
                }
                for (w, t) in whens {
                    write!(f, " WHEN {w} THEN {t}")?;
                }
                if let Some(e) = otherwise {
                    write!(f, " ELSE {e}")?;
                }
                f.write_str(" END")
            }
            ExprKind::Nested(e) => write!(f, "({e})"),
        }
    }
}
