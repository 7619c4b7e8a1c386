//! Expressions: type checks and their SQL. Every binary operation is written
//! fully parenthesised, so the engine's precedence rules never matter.

use crate::error::Result;
use crate::translate::Translator;
use adql_syntax::*;
use catalog_model::{AdqlType, ColumnMeta};

/// A translated expression.
#[derive(Debug, Clone)]
pub(crate) struct Typed {
    pub(crate) sql: String,
    pub(crate) ty: AdqlType,
    pub(crate) meta: ColumnMeta,
    /// The name a result column of this expression gets by default.
    pub(crate) name: Option<String>,
}

impl Typed {
    pub(crate) fn new(sql: String, ty: AdqlType) -> Self {
        Typed {
            sql,
            ty,
            meta: ColumnMeta::default(),
            name: None,
        }
    }

    pub(crate) fn named(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    pub(crate) fn unit(mut self, unit: &str) -> Self {
        self.meta.unit = Some(unit.to_string());
        self
    }
}

/// Serialises a string as a SQL literal (the same quoting as ADQL's).
pub(crate) fn string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    // Writing to a String cannot fail.
    let _ = adql_syntax::write_string_literal(&mut out, s);
    out
}

impl Translator<'_> {
    /// Translates a value expression or condition.
    pub(crate) fn expr(&mut self, e: &Expr) -> Result<Typed> {
        // Only this expression's AND/OR tree is in the filter, if it is.
        let in_filter = std::mem::take(&mut self.in_filter);
        match &e.kind {
            ExprKind::Null => Ok(Typed::new("NULL".into(), AdqlType::Unknown)),
            ExprKind::Number { text, kind } => self.number(text, *kind, e.span),
            ExprKind::String(s) => Ok(Typed::new(string_literal(s), AdqlType::Varchar)),
            ExprKind::Column(parts) => {
                let r = self.column(parts, e.span)?;
                Ok(Typed {
                    sql: r.sql,
                    ty: r.col.ty,
                    meta: r.col.meta,
                    name: Some(r.col.name),
                })
            }
            ExprKind::Nested(inner) => {
                self.in_filter = in_filter;
                let t = self.expr(inner)?;
                Ok(Typed {
                    sql: format!("({})", t.sql),
                    ..t
                })
            }
            ExprKind::Unary { op, expr } => {
                let t = self.expr(expr)?;
                self.require_numeric(&t, expr.span, "a sign")?;
                match op {
                    UnaryOp::Neg => Ok(Typed {
                        sql: format!("(-{})", t.sql),
                        name: None,
                        ..t
                    }),
                    UnaryOp::Plus => Ok(Typed { name: None, ..t }),
                    UnaryOp::BitNot => {
                        self.require_integer(&t, expr.span, "~")?;
                        // Two's complement: ~x = -x - 1, exact for every integer type.
                        Ok(Typed::new(format!("((-{}) - 1)", t.sql), t.ty))
                    }
                }
            }
            ExprKind::Binary { op, left, right } => self.binary(*op, left, right, in_filter),
            ExprKind::Not(inner) => {
                let c = self.condition(inner, "NOT")?;
                Ok(Typed::new(format!("(NOT {c})"), AdqlType::Boolean))
            }
            ExprKind::IsNull { expr, negated } => {
                let t = self.expr(expr)?;
                Ok(Typed::new(
                    format!("({} IS {}NULL)", t.sql, if *negated { "NOT " } else { "" }),
                    AdqlType::Boolean,
                ))
            }
            ExprKind::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let t = self.expr(expr)?;
                let l = self.expr(low)?;
                let h = self.expr(high)?;
                self.comparable(&t, &l, low.span)?;
                self.comparable(&t, &h, high.span)?;
                Ok(Typed::new(
                    format!(
                        "({} {}BETWEEN {} AND {})",
                        t.sql,
                        if *negated { "NOT " } else { "" },
                        l.sql,
                        h.sql
                    ),
                    AdqlType::Boolean,
                ))
            }
            ExprKind::InList {
                expr,
                negated,
                list,
            } => {
                let t = self.expr(expr)?;
                let mut items = Vec::new();
                for x in list {
                    let v = self.expr(x)?;
                    self.comparable(&t, &v, x.span)?;
                    items.push(v.sql);
                }
                Ok(Typed::new(
                    format!(
                        "({} {}IN ({}))",
                        t.sql,
                        if *negated { "NOT " } else { "" },
                        items.join(", ")
                    ),
                    AdqlType::Boolean,
                ))
            }
            ExprKind::InSubquery {
                expr,
                negated,
                query,
            } => {
                let t = self.expr(expr)?;
                let (sql, cols) = self.query(query)?;
                if cols.len() != 1 {
                    return Err(self.error(
                        query.span,
                        format!(
                            "the subquery after IN must return one column, not {}",
                            cols.len()
                        ),
                        None,
                    ));
                }
                Ok(Typed::new(
                    format!(
                        "({} {}IN ({sql}))",
                        t.sql,
                        if *negated { "NOT " } else { "" }
                    ),
                    AdqlType::Boolean,
                ))
            }
            ExprKind::Exists(q) => {
                let (sql, _) = self.query(q)?;
                Ok(Typed::new(format!("(EXISTS ({sql}))"), AdqlType::Boolean))
            }
            ExprKind::Subquery(q) => {
                let (sql, cols) = self.query(q)?;
                if cols.len() != 1 {
                    return Err(self.error(
                        q.span,
                        format!(
                            "a subquery used as a value must return one column, not {}",
                            cols.len()
                        ),
                        None,
                    ));
                }
                let c = &cols[0];
                Ok(Typed {
                    sql: format!("({sql})"),
                    ty: c.ty,
                    meta: c.meta.clone(),
                    name: Some(c.name.clone()),
                })
            }
            ExprKind::Like {
                expr,
                negated,
                case_insensitive,
                pattern,
                escape,
            } => {
                let t = self.expr(expr)?;
                let mut p = self.expr(pattern)?;
                self.require_string(&t, expr.span, "LIKE")?;
                self.require_string(&p, pattern.span, "LIKE")?;
                if let Some(esc) = escape {
                    p.sql = self.escaped_pattern(pattern, &p.sql, esc)?;
                }
                Ok(Typed::new(
                    format!(
                        "({} {}{} {})",
                        t.sql,
                        if *negated { "NOT " } else { "" },
                        if *case_insensitive { "ILIKE" } else { "LIKE" },
                        p.sql
                    ),
                    AdqlType::Boolean,
                ))
            }
            ExprKind::Function {
                name,
                args,
                distinct,
                star,
            } => self.function(name, args, *distinct, *star, e.span),
            ExprKind::Cast { expr, target } => self.cast(expr, *target),
            ExprKind::Case {
                operand,
                whens,
                otherwise,
            } => self.case(operand.as_deref(), whens, otherwise.as_deref()),
        }
    }

    /// A LIKE pattern with `ESCAPE c`, rewritten to the backslash escapes the
    /// engine understands (PostgreSQL's default escape is backslash too).
    fn escaped_pattern(&self, pattern: &Expr, pattern_sql: &str, esc: &Expr) -> Result<String> {
        let ExprKind::String(e) = &esc.unnested().kind else {
            return Err(self.error(
                esc.span,
                "ESCAPE takes a single character in quotes",
                Some("e.g. LIKE 'a!_%' ESCAPE '!'".into()),
            ));
        };
        let mut chars = e.chars();
        let (Some(e), None) = (chars.next(), chars.next()) else {
            return Err(self.error(esc.span, "ESCAPE takes exactly one character", None));
        };
        let ExprKind::String(p) = &pattern.unnested().kind else {
            if e == '\\' {
                return Ok(pattern_sql.to_string());
            }
            return Err(self.error(
                esc.span,
                "an ESCAPE other than backslash needs the pattern as a string literal",
                None,
            ));
        };
        let mut out = String::new();
        let mut it = p.chars();
        while let Some(c) = it.next() {
            if c == e {
                match it.next() {
                    Some(n) => {
                        out.push('\\');
                        out.push(n);
                    }
                    None => {
                        return Err(self.error(
                            pattern.span,
                            format!("the pattern ends with the escape character '{e}'"),
                            Some("an escape character must be followed by %, _ or itself".into()),
                        ));
                    }
                }
            } else if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        Ok(string_literal(&out))
    }

    fn number(&mut self, text: &str, kind: NumberKind, span: Span) -> Result<Typed> {
        match kind {
            NumberKind::Integer => {
                if let Ok(v) = text.parse::<i64>() {
                    let ty = if i32::try_from(v).is_ok() {
                        AdqlType::Integer
                    } else {
                        AdqlType::BigInt
                    };
                    Ok(Typed::new(v.to_string(), ty))
                } else {
                    Err(self.error(span, format!("the integer {text} is too large"), Some("integers must fit in 64 bits; write a decimal point for a floating-point value".into())))
                }
            }
            NumberKind::Hex => match u64::from_str_radix(&text[2..], 16) {
                Ok(v) if v <= i64::MAX as u64 => {
                    let ty = if v <= i32::MAX as u64 {
                        AdqlType::Integer
                    } else {
                        AdqlType::BigInt
                    };
                    Ok(Typed::new(v.to_string(), ty))
                }
                _ => Err(self.error(
                    span,
                    format!(
                        "the hexadecimal literal {text} does not fit in a signed 64-bit integer"
                    ),
                    None,
                )),
            },
            NumberKind::Decimal | NumberKind::Approximate => match text.parse::<f64>() {
                // Rust prints the shortest text that reads back as the same double.
                Ok(v) if v.is_finite() => Ok(Typed::new(format!("{v:?}"), AdqlType::Double)),
                _ => Err(self.error(span, format!("{text} is not a finite number"), None)),
            },
        }
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        left: &Expr,
        right: &Expr,
        in_filter: bool,
    ) -> Result<Typed> {
        use BinaryOp::*;
        match op {
            And | Or => {
                let word = if op == And { "AND" } else { "OR" };
                let outer = self.beneath_or;
                self.beneath_or |= op == Or;
                self.in_filter = in_filter;
                let l = self.condition(left, word);
                self.in_filter = in_filter;
                let r = self.condition(right, word);
                self.beneath_or = outer;
                Ok(Typed::new(
                    format!("({} {word} {})", l?, r?),
                    AdqlType::Boolean,
                ))
            }
            Eq | NotEq | Lt | LtEq | Gt | GtEq => {
                let hint = match in_filter {
                    true => match self.region_hint(op, left, right)? {
                        Some(ranges) => Some(ranges),
                        None => self.key_hint(op, left, right)?,
                    },
                    false => None,
                };
                let l = self.expr(left)?;
                let r = self.expr(right)?;
                self.comparable(&l, &r, right.span)?;
                if l.ty.is_geometry() || r.ty.is_geometry() {
                    let span = if l.ty.is_geometry() {
                        left.span
                    } else {
                        right.span
                    };
                    if !matches!(op, Eq | NotEq) {
                        return Err(self.error(
                            span,
                            "geometries have no order: they compare only with = and <>",
                            Some("use CONTAINS, INTERSECTS or DISTANCE".into()),
                        ));
                    }
                    return Ok(self.geometry_equality(op == Eq, &l, &r, left, right));
                }
                let exact = format!("({} {} {})", l.sql, op.symbol(), r.sql);
                Ok(Typed::new(
                    match hint {
                        // The index predicate first: cheap, and false for
                        // most rows read.
                        Some(index) => format!("({index} AND {exact})"),
                        None => exact,
                    },
                    AdqlType::Boolean,
                ))
            }
            Concat => {
                let l = self.expr(left)?;
                let r = self.expr(right)?;
                let as_text = |t: &Typed| {
                    if t.ty == AdqlType::Varchar || t.ty == AdqlType::Unknown {
                        t.sql.clone()
                    } else {
                        format!("CAST({} AS VARCHAR)", t.sql)
                    }
                };
                for (t, e) in [(&l, left), (&r, right)] {
                    if t.ty.is_geometry() {
                        return Err(self.error(e.span, "geometries cannot be concatenated", None));
                    }
                }
                Ok(Typed::new(
                    format!("({} || {})", as_text(&l), as_text(&r)),
                    AdqlType::Varchar,
                ))
            }
            BitAnd | BitOr | BitXor => {
                let l = self.expr(left)?;
                let r = self.expr(right)?;
                self.require_integer(&l, left.span, op.symbol())?;
                self.require_integer(&r, right.span, op.symbol())?;
                let sql = match op {
                    BitAnd => format!("({} & {})", l.sql, r.sql),
                    BitOr => format!("({} | {})", l.sql, r.sql),
                    // a XOR b = (a | b) - (a & b): exact, and needs no engine operator
                    // whose spelling differs between SQL dialects.
                    _ => format!("(({0} | {1}) - ({0} & {1}))", l.sql, r.sql),
                };
                Ok(Typed::new(sql, wider(l.ty, r.ty)))
            }
            Add | Sub | Mul | Div | Mod => {
                let l = self.expr(left)?;
                let r = self.expr(right)?;
                self.require_numeric(&l, left.span, op.symbol())?;
                self.require_numeric(&r, right.span, op.symbol())?;
                let ty = wider(l.ty, r.ty);
                // Units survive + and - of like quantities; * and / make new ones.
                let unit = match op {
                    Add | Sub if l.meta.unit == r.meta.unit => l.meta.unit.clone(),
                    Add | Sub if r.meta.unit.is_none() => l.meta.unit.clone(),
                    _ => None,
                };
                let mut t = Typed::new(format!("({} {} {})", l.sql, op.symbol(), r.sql), ty);
                t.meta.unit = unit;
                Ok(t)
            }
        }
    }

    /// `g1 = g2` and `g1 <> g2`: equal when of the same kind with exactly the
    /// same coordinates (a POINT never equals a CIRCLE); NULL when either is NULL.
    fn geometry_equality(
        &self,
        equal: bool,
        l: &Typed,
        r: &Typed,
        left: &Expr,
        right: &Expr,
    ) -> Typed {
        let null = |e: &Expr| matches!(e.unnested().kind, ExprKind::Null);
        let sql = if null(left) || null(right) {
            "CAST(NULL AS BOOLEAN)".to_string()
        } else {
            format!(
                "(adql_geometry_equal({}, {}) = {})",
                l.sql,
                r.sql,
                i32::from(equal)
            )
        };
        Typed::new(sql, AdqlType::Boolean)
    }

    fn case(
        &mut self,
        operand: Option<&Expr>,
        whens: &[(Expr, Expr)],
        otherwise: Option<&Expr>,
    ) -> Result<Typed> {
        let mut sql = String::from("(CASE");
        if let Some(o) = operand {
            let t = self.expr(o)?;
            sql.push(' ');
            sql.push_str(&t.sql);
        }
        let mut ty = AdqlType::Unknown;
        let mut meta = None;
        for (w, then) in whens {
            let c = if operand.is_some() {
                self.expr(w)?.sql
            } else {
                self.condition(w, "WHEN")?
            };
            let t = self.expr(then)?;
            if ty == AdqlType::Unknown {
                ty = t.ty;
                meta = Some(t.meta.clone());
            } else if t.ty != AdqlType::Unknown {
                ty = self.common_type(ty, t.ty, then.span)?;
            }
            sql.push_str(&format!(" WHEN {c} THEN {}", t.sql));
        }
        if let Some(e) = otherwise {
            let t = self.expr(e)?;
            if ty == AdqlType::Unknown {
                ty = t.ty;
            } else if t.ty != AdqlType::Unknown {
                ty = self.common_type(ty, t.ty, e.span)?;
            }
            sql.push_str(&format!(" ELSE {}", t.sql));
        }
        sql.push_str(" END)");
        let mut t = Typed::new(sql, ty);
        t.meta.unit = meta.and_then(|m| m.unit);
        Ok(t)
    }

    fn cast(&mut self, expr: &Expr, target: CastType) -> Result<Typed> {
        let t = self.expr(expr)?;
        if t.ty.is_geometry() {
            return Err(self.error(expr.span, "a geometry cannot be cast", None));
        }
        let geometry = matches!(
            target,
            CastType::Point | CastType::Circle | CastType::Polygon
        );
        if geometry || target == CastType::Timestamp {
            self.require_string(&t, expr.span, "CAST to this type")?;
        }
        let (sql_type, ty) = match target {
            CastType::SmallInt => ("SMALLINT", AdqlType::SmallInt),
            CastType::Integer => ("INT", AdqlType::Integer),
            CastType::BigInt => ("BIGINT", AdqlType::BigInt),
            CastType::Real => ("REAL", AdqlType::Real),
            CastType::Double => ("DOUBLE", AdqlType::Double),
            CastType::Char(_) | CastType::Varchar(_) => ("VARCHAR", AdqlType::Varchar),
            CastType::Timestamp => ("TIMESTAMP", AdqlType::Timestamp),
            CastType::Point => {
                return Ok(Typed::new(
                    format!("adql_geometry_from_dali({})", t.sql),
                    AdqlType::Point,
                ));
            }
            CastType::Circle => {
                return Ok(Typed::new(
                    format!("adql_geometry_from_dali({})", t.sql),
                    AdqlType::Circle,
                ));
            }
            CastType::Polygon => {
                return Ok(Typed::new(
                    format!("adql_geometry_from_dali({})", t.sql),
                    AdqlType::Polygon,
                ));
            }
        };
        // PostgreSQL (and so DaCHS) rounds floats to integers; DataFusion truncates.
        let inner = if ty.is_integer() && matches!(t.ty, AdqlType::Real | AdqlType::Double) {
            format!("round({})", t.sql)
        } else {
            t.sql.clone()
        };
        let mut out = Typed::new(format!("CAST({inner} AS {sql_type})"), ty);
        if ty.is_numeric() && t.ty.is_numeric() {
            out.meta = t.meta;
        }
        Ok(out)
    }

    pub(crate) fn comparable(&self, a: &Typed, b: &Typed, span: Span) -> Result<()> {
        let class = |t: AdqlType| match t {
            t if t.is_numeric() => 1,
            AdqlType::Varchar => 2,
            AdqlType::Timestamp => 3,
            AdqlType::Boolean => 4,
            t if t.is_geometry() => 5,
            _ => 0,
        };
        let (ca, cb) = (class(a.ty), class(b.ty));
        // A string literal compared with a timestamp is read as a timestamp (DALI 1.1 §3.3.3).
        let timestamp_text = (ca == 3 && cb == 2) || (ca == 2 && cb == 3);
        if ca != 0 && cb != 0 && ca != cb && !timestamp_text {
            return Err(self.error(
                span,
                format!(
                    "cannot compare {} with {}",
                    a.ty.describe(),
                    b.ty.describe()
                ),
                None,
            ));
        }
        Ok(())
    }

    fn common_type(&self, a: AdqlType, b: AdqlType, span: Span) -> Result<AdqlType> {
        if a == b {
            return Ok(a);
        }
        if a.is_numeric() && b.is_numeric() {
            return Ok(wider(a, b));
        }
        if a.is_geometry() && b.is_geometry() {
            return Ok(AdqlType::Region);
        }
        Err(self.error(
            span,
            format!(
                "this is {}, but earlier branches give {}",
                b.describe(),
                a.describe()
            ),
            None,
        ))
    }

    pub(crate) fn require_numeric(&self, t: &Typed, span: Span, what: &str) -> Result<()> {
        if t.ty.is_numeric() || t.ty == AdqlType::Unknown {
            return Ok(());
        }
        let hint = (t.ty == AdqlType::Varchar)
            .then(|| "convert text with CAST(x AS DOUBLE PRECISION)".to_string());
        Err(self.error(
            span,
            format!("{what} needs a number, but this is {}", t.ty.describe()),
            hint,
        ))
    }

    pub(crate) fn require_integer(&self, t: &Typed, span: Span, what: &str) -> Result<()> {
        if t.ty.is_integer() || t.ty == AdqlType::Unknown {
            return Ok(());
        }
        Err(self.error(
            span,
            format!("{what} needs an integer, but this is {}", t.ty.describe()),
            None,
        ))
    }

    pub(crate) fn require_string(&self, t: &Typed, span: Span, what: &str) -> Result<()> {
        if t.ty == AdqlType::Varchar || t.ty == AdqlType::Unknown {
            return Ok(());
        }
        Err(self.error(
            span,
            format!("{what} needs a string, but this is {}", t.ty.describe()),
            None,
        ))
    }
}

/// The type of an arithmetic result: the wider of two numeric types.
pub(crate) fn wider(a: AdqlType, b: AdqlType) -> AdqlType {
    use AdqlType::*;
    let rank = |t: AdqlType| match t {
        SmallInt => 1,
        Integer => 2,
        BigInt => 3,
        Real => 4,
        Double => 5,
        _ => 0,
    };
    if a == Unknown || b == Unknown {
        return if rank(a) >= rank(b) {
            if a == Unknown { b } else { a }
        } else {
            b
        };
    }
    if rank(a) >= rank(b) { a } else { b }
}
