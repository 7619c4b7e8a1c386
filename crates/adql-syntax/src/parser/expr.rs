//! Value expressions and search conditions, by precedence climbing:
//! OR < AND < NOT < comparisons and predicates < `|` < `^` < `&` < `||`
//! < `+ -` < `* /` < unary `- + ~`. Binary operators are left-associative,
//! so `a - b - c` is `(a - b) - c`.

use super::Parser;
use crate::ast::*;
use crate::error::SyntaxError;
use crate::keywords::{ADQL_RESERVED, is_structural};
use crate::lexer::Tok;
use crate::span::Span;

/// Lowest precedence handled by [`Parser::binary`]: the bitwise operators.
const FIRST_ARITHMETIC_PRECEDENCE: u8 = 5;

impl Parser<'_> {
    /// Any value expression or search condition. `#[recursive]` grows the
    /// stack on demand, so the depth limit, not the thread's stack, decides.
    #[recursive::recursive]
    pub(crate) fn expr(&mut self) -> Result<Expr, SyntaxError> {
        self.enter()?;
        let e = self.or();
        self.leave();
        e
    }

    fn or(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.and()?;
        while self.eat_kw("OR") {
            self.count_operator()?;
            let right = self.and()?;
            left = binary(BinaryOp::Or, left, right);
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.not()?;
        while self.eat_kw("AND") {
            self.count_operator()?;
            let right = self.not()?;
            left = binary(BinaryOp::And, left, right);
        }
        Ok(left)
    }

    #[recursive::recursive]
    fn not(&mut self) -> Result<Expr, SyntaxError> {
        if self.is_kw("NOT") {
            let start = self.next().span.start;
            self.enter()?;
            let inner = self.not()?;
            self.leave();
            let span = Span::new(start, inner.span.end);
            return Ok(Expr {
                kind: ExprKind::Not(Box::new(inner)),
                span,
            });
        }
        self.predicate()
    }

    /// A comparison or predicate, or just a value.
    fn predicate(&mut self) -> Result<Expr, SyntaxError> {
        let left = self.binary(FIRST_ARITHMETIC_PRECEDENCE)?;
        let start = left.span.start;
        let op = match self.peek().tok {
            Tok::Eq => Some(BinaryOp::Eq),
            Tok::NotEq => Some(BinaryOp::NotEq),
            Tok::Lt => Some(BinaryOp::Lt),
            Tok::LtEq => Some(BinaryOp::LtEq),
            Tok::Gt => Some(BinaryOp::Gt),
            Tok::GtEq => Some(BinaryOp::GtEq),
            _ => None,
        };
        if let Some(op) = op {
            self.next();
            if self.is_kw("ANY") || self.is_kw("SOME") || self.is_kw("ALL") {
                return Err(self.error_here(
                    "a value",
                    Some("ADQL has no ANY/SOME/ALL comparisons; use IN, NOT IN or EXISTS".into()),
                ));
            }
            let right = self.binary(FIRST_ARITHMETIC_PRECEDENCE)?;
            return Ok(binary(op, left, right));
        }
        if self.eat_kw("IS") {
            let negated = self.eat_kw("NOT");
            if !self.eat_kw("NULL") {
                let hint = if self.is_kw("TRUE") || self.is_kw("FALSE") {
                    Some("ADQL has no boolean values; compare with = 1 or = 0".to_string())
                } else {
                    None
                };
                return Err(self.error_here("NULL after IS", hint));
            }
            let span = Span::new(start, self.prev_end());
            return Ok(Expr {
                kind: ExprKind::IsNull {
                    expr: Box::new(left),
                    negated,
                },
                span,
            });
        }
        let negated = if self.is_kw("NOT")
            && (self.is_kw_at(1, "BETWEEN")
                || self.is_kw_at(1, "IN")
                || self.is_kw_at(1, "LIKE")
                || self.is_kw_at(1, "ILIKE"))
        {
            self.next();
            true
        } else {
            false
        };
        if self.eat_kw("BETWEEN") {
            let low = self.binary(FIRST_ARITHMETIC_PRECEDENCE)?;
            if !self.eat_kw("AND") {
                return Err(self.error_here(
                    "AND",
                    Some("BETWEEN takes two bounds: x BETWEEN low AND high".into()),
                ));
            }
            let high = self.binary(FIRST_ARITHMETIC_PRECEDENCE)?;
            let span = Span::new(start, high.span.end);
            return Ok(Expr {
                kind: ExprKind::Between {
                    expr: Box::new(left),
                    negated,
                    low: Box::new(low),
                    high: Box::new(high),
                },
                span,
            });
        }
        if self.eat_kw("IN") {
            self.expect(&Tok::LParen, "'(' after IN")?;
            let kind = if self.is_kw("SELECT") || self.is_kw("WITH") {
                let query = self.query()?;
                ExprKind::InSubquery {
                    expr: Box::new(left),
                    negated,
                    query: Box::new(query),
                }
            } else {
                if self.peek().tok == Tok::RParen {
                    return Err(self.error_here(
                        "a value",
                        Some("an IN list needs at least one value".into()),
                    ));
                }
                let mut list = vec![self.expr()?];
                while self.eat(&Tok::Comma) {
                    list.push(self.expr()?);
                }
                ExprKind::InList {
                    expr: Box::new(left),
                    negated,
                    list,
                }
            };
            self.expect(&Tok::RParen, "')' closing the IN list")?;
            return Ok(Expr {
                kind,
                span: Span::new(start, self.prev_end()),
            });
        }
        let case_insensitive = self.is_kw("ILIKE");
        if self.eat_kw("LIKE") || self.eat_kw("ILIKE") {
            let pattern = self.binary(FIRST_ARITHMETIC_PRECEDENCE)?;
            let escape = if self.eat_kw("ESCAPE") {
                Some(Box::new(self.binary(FIRST_ARITHMETIC_PRECEDENCE)?))
            } else {
                None
            };
            return Ok(Expr {
                kind: ExprKind::Like {
                    expr: Box::new(left),
                    negated,
                    case_insensitive,
                    pattern: Box::new(pattern),
                    escape,
                },
                span: Span::new(start, self.prev_end()),
            });
        }
        if negated {
            return Err(self.error_here("BETWEEN, IN, LIKE or ILIKE after NOT", None));
        }
        Ok(left)
    }

    /// Binary operators of precedence `min` and tighter.
    fn binary(&mut self, min: u8) -> Result<Expr, SyntaxError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek().tok {
                Tok::Pipe => BinaryOp::BitOr,
                Tok::Caret => BinaryOp::BitXor,
                Tok::Amp => BinaryOp::BitAnd,
                Tok::Concat => BinaryOp::Concat,
                Tok::Plus => BinaryOp::Add,
                Tok::Minus => BinaryOp::Sub,
                Tok::Star => BinaryOp::Mul,
                Tok::Slash => BinaryOp::Div,
                Tok::Percent => BinaryOp::Mod,
                _ => return Ok(left),
            };
            if op.precedence() < min {
                return Ok(left);
            }
            self.next();
            self.count_operator()?;
            let right = self.binary(op.precedence() + 1)?;
            left = binary(op, left, right);
        }
    }

    #[recursive::recursive]
    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        let op = match self.peek().tok {
            Tok::Minus => Some(UnaryOp::Neg),
            Tok::Plus => Some(UnaryOp::Plus),
            Tok::Tilde => Some(UnaryOp::BitNot),
            _ => None,
        };
        let Some(op) = op else {
            return self.primary();
        };
        let start = self.next().span.start;
        self.enter()?;
        let inner = self.unary()?;
        self.leave();
        let span = Span::new(start, inner.span.end);
        Ok(Expr {
            kind: ExprKind::Unary {
                op,
                expr: Box::new(inner),
            },
            span,
        })
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        let t = self.peek().clone();
        let start = t.span.start;
        let kind = match &t.tok {
            Tok::Number(text) => {
                self.next();
                let kind = if text.starts_with("0x") || text.starts_with("0X") {
                    NumberKind::Hex
                } else if text.contains(['e', 'E']) {
                    NumberKind::Approximate
                } else if text.contains('.') {
                    NumberKind::Decimal
                } else {
                    NumberKind::Integer
                };
                ExprKind::Number {
                    text: text.clone(),
                    kind,
                }
            }
            Tok::Str(s) => {
                self.next();
                ExprKind::String(s.clone())
            }
            Tok::LParen => {
                self.next();
                if self.is_kw("SELECT") || self.is_kw("WITH") {
                    let q = self.query()?;
                    self.expect(&Tok::RParen, "')' closing the subquery")?;
                    ExprKind::Subquery(Box::new(q))
                } else {
                    let inner = self.expr()?;
                    self.expect(&Tok::RParen, "')'")?;
                    ExprKind::Nested(Box::new(inner))
                }
            }
            Tok::Word(w) => return self.word_expr(w.clone(), t.span),
            Tok::Quoted(_) => ExprKind::Column(self.qualified_name("a column name", 4)?),
            Tok::Eof => return Err(self.error_here("an expression", None)),
            Tok::Star => {
                return Err(self.error_here(
                    "an expression",
                    Some("* stands alone in a select list, or inside COUNT(*)".into()),
                ));
            }
            _ => return Err(self.error_here("an expression", None)),
        };
        Ok(Expr {
            kind,
            span: Span::new(start, self.prev_end()),
        })
    }

    /// An expression starting with a word: keyword form, function call or column.
    fn word_expr(&mut self, w: String, span: Span) -> Result<Expr, SyntaxError> {
        let start = span.start;
        let upper = w.to_ascii_uppercase();
        let kind = match upper.as_str() {
            "NULL" => {
                self.next();
                ExprKind::Null
            }
            "EXISTS" => {
                self.next();
                self.expect(&Tok::LParen, "'(' after EXISTS")?;
                let q = self.query()?;
                self.expect(&Tok::RParen, "')' closing the subquery")?;
                ExprKind::Exists(Box::new(q))
            }
            "CASE" => {
                let kw = self.next().span;
                // CASE is an SQL reserved word, but no ADQL 2.1 rule produces it.
                self.warn(
                    kw,
                    "CASE is outside ADQL 2.1 (accepted here, as by most TAP services); the portable spellings are COALESCE and NULLIF where they fit, or one query per case joined with UNION".into(),
                );
                self.case()?
            }
            "CAST" if self.peek_nth(1).tok == Tok::LParen => {
                self.next();
                self.cast()?
            }
            "TRUE" | "FALSE" => {
                return Err(self.error_here(
                    "an expression",
                    Some("ADQL has no boolean literals; use 1 and 0".into()),
                ));
            }
            _ if self.peek_nth(1).tok == Tok::LParen => {
                self.next();
                self.function(w, span)?
            }
            _ if is_structural(&w) => {
                let hint = match upper.as_str() {
                    "FROM" => Some("is there a trailing comma before FROM?".to_string()),
                    _ => Some(format!(
                        "{upper} is a reserved word; if it is a column name, write it in double quotes: \"{}\"",
                        w.to_ascii_lowercase()
                    )),
                };
                return Err(self.error_here("an expression", hint));
            }
            _ => ExprKind::Column(self.qualified_name("a column name", 4)?),
        };
        Ok(Expr {
            kind,
            span: Span::new(start, self.prev_end()),
        })
    }

    fn case(&mut self) -> Result<ExprKind, SyntaxError> {
        let operand = if self.is_kw("WHEN") {
            None
        } else {
            Some(Box::new(self.expr()?))
        };
        let mut whens = Vec::new();
        while self.eat_kw("WHEN") {
            let cond = self.expr()?;
            self.expect_kw("THEN")?;
            let value = self.expr()?;
            whens.push((cond, value));
        }
        if whens.is_empty() {
            return Err(self.error_here(
                "WHEN",
                Some("CASE needs at least one WHEN ... THEN ...".into()),
            ));
        }
        let otherwise = if self.eat_kw("ELSE") {
            Some(Box::new(self.expr()?))
        } else {
            None
        };
        if !self.eat_kw("END") {
            return Err(self.error_here("END", Some("every CASE is closed by END".into())));
        }
        Ok(ExprKind::Case {
            operand,
            whens,
            otherwise,
        })
    }

    fn cast(&mut self) -> Result<ExprKind, SyntaxError> {
        self.expect(&Tok::LParen, "'('")?;
        let expr = self.expr()?;
        self.expect_kw("AS")?;
        let t = self.peek().clone();
        let Tok::Word(w) = &t.tok else {
            return Err(self.error_here("a type name", None));
        };
        self.next();
        let upper = w.to_ascii_uppercase();
        let target = match upper.as_str() {
            "SMALLINT" => CastType::SmallInt,
            "INTEGER" | "INT" => CastType::Integer,
            "BIGINT" => CastType::BigInt,
            "REAL" => CastType::Real,
            "DOUBLE" => {
                self.eat_kw("PRECISION");
                CastType::Double
            }
            "CHAR" | "CHARACTER" | "VARCHAR" => {
                let varying = upper == "VARCHAR" || self.eat_kw("VARYING");
                let len = if self.eat(&Tok::LParen) {
                    let n = self.unsigned_integer("a length")?;
                    self.expect(&Tok::RParen, "')'")?;
                    Some(
                        u32::try_from(n)
                            .map_err(|_| self.at.error(t.span, "a length below 2^32", None))?,
                    )
                } else {
                    None
                };
                if varying {
                    CastType::Varchar(len)
                } else {
                    CastType::Char(len)
                }
            }
            "TIMESTAMP" => CastType::Timestamp,
            "POINT" => CastType::Point,
            "CIRCLE" => CastType::Circle,
            "POLYGON" => CastType::Polygon,
            _ => {
                return Err(self.at.error(
                    t.span,
                    "a type: SMALLINT, INTEGER, BIGINT, REAL, DOUBLE PRECISION, CHAR(n), VARCHAR(n), TIMESTAMP, POINT, CIRCLE or POLYGON",
                    None,
                ));
            }
        };
        self.expect(&Tok::RParen, "')' closing CAST")?;
        Ok(ExprKind::Cast {
            expr: Box::new(expr),
            target,
        })
    }

    /// `name ( [DISTINCT|ALL] args | * )`.
    fn function(&mut self, written: String, span: Span) -> Result<ExprKind, SyntaxError> {
        let upper = written.to_ascii_uppercase();
        let builtin = ADQL_RESERVED.contains(&upper.as_str())
            || matches!(
                upper.as_str(),
                "COUNT" | "SUM" | "AVG" | "MIN" | "MAX" | "COALESCE" | "NULLIF" | "LOWER" | "UPPER"
            );
        let name = Ident {
            name: if builtin { upper.clone() } else { written },
            quoted: false,
            span,
        };
        self.expect(&Tok::LParen, "'('")?;
        let is_aggregate = matches!(upper.as_str(), "COUNT" | "SUM" | "AVG" | "MIN" | "MAX");
        if upper == "COUNT" && self.peek().tok == Tok::Star {
            self.next();
            self.expect(&Tok::RParen, "')' after COUNT(*")?;
            return Ok(ExprKind::Function {
                name,
                args: Vec::new(),
                distinct: false,
                star: true,
            });
        }
        let mut distinct = false;
        if is_aggregate {
            if self.eat_kw("DISTINCT") {
                distinct = true;
            } else {
                self.eat_kw("ALL");
            }
        }
        let mut args = Vec::new();
        if self.peek().tok != Tok::RParen {
            loop {
                args.push(self.expr()?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        self.expect(&Tok::RParen, "',' or ')' in the argument list")?;
        Ok(ExprKind::Function {
            name,
            args,
            distinct,
            star: false,
        })
    }
}

impl Parser<'_> {
    /// Counts binary operators: a chain of them builds a tree as deep as it is
    /// long, and every later walk over it recurses that deep.
    fn count_operator(&mut self) -> Result<(), SyntaxError> {
        self.operators += 1;
        if self.operators > super::MAX_OPERATORS {
            return Err(self.error_here(
                "a shorter expression",
                Some(format!(
                    "a query may hold at most {} binary operators; write long lists as IN (...) or upload them as a table",
                    super::MAX_OPERATORS
                )),
            ));
        }
        Ok(())
    }
}

fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    let span = left.span.to(right.span);
    Expr {
        kind: ExprKind::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
        },
        span,
    }
}
