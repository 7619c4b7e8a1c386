//! The ADQL abstract syntax tree.
//!
//! Every node that a diagnostic may point at carries a [`Span`]. Spans never
//! take part in equality (see [`Span`]), so `parse(print(ast)) == ast`.
//! Parentheses the user wrote are kept as [`ExprKind::Nested`]; the printer
//! adds whatever others precedence requires.

use crate::span::Span;

/// An identifier: a regular one (case-insensitive, ADQL 2.1 §2.1.3) or a
/// delimited one (`"Name"`, case-sensitive, may hold any character).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident {
    /// The name as written, without quotes.
    pub name: String,
    /// True for a delimited identifier.
    pub quoted: bool,
    /// Where it was written.
    pub span: Span,
}

impl Ident {
    /// A regular identifier with no position (for generated trees).
    pub fn new(name: impl Into<String>) -> Self {
        Ident {
            name: name.into(),
            quoted: false,
            span: Span::default(),
        }
    }

    /// Whether this identifier denotes `name` under ADQL's rules: regular
    /// identifiers match case-insensitively, delimited ones exactly.
    pub fn matches(&self, name: &str) -> bool {
        if self.quoted {
            self.name == name
        } else {
            self.name.eq_ignore_ascii_case(name)
        }
    }
}

/// A possibly qualified name, `[catalog.][schema.]table[.column]`.
pub type QualifiedName = Vec<Ident>;

/// A complete query: `[WITH …] set-expression [ORDER BY …] [OFFSET n]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Common table expressions (ADQL 2.1 §4.6).
    pub with: Vec<Cte>,
    /// The SELECTs and their set operations.
    pub body: SetExpr,
    /// Sort keys, applied before OFFSET and TOP (ADQL 2.1 §2.2.1, §4.8.1).
    pub order_by: Vec<OrderBy>,
    /// Rows dropped from the start, before TOP applies (ADQL 2.1 §4.8.1).
    pub offset: Option<u64>,
    /// The whole query.
    pub span: Span,
}

/// `name AS (query)` in a WITH clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Cte {
    /// The name the query is known by.
    pub name: Ident,
    /// Its definition.
    pub query: Box<Query>,
}

/// The set operations of ADQL 2.1 §4.7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    /// UNION
    Union,
    /// EXCEPT
    Except,
    /// INTERSECT
    Intersect,
}

impl SetOp {
    /// The keyword as written in ADQL (and SQL).
    pub fn keyword(self) -> &'static str {
        match self {
            SetOp::Union => "UNION",
            SetOp::Except => "EXCEPT",
            SetOp::Intersect => "INTERSECT",
        }
    }
}

/// A SELECT, a parenthesised query, or a set operation of two of them.
#[derive(Debug, Clone, PartialEq)]
pub enum SetExpr {
    /// A single SELECT.
    Select(Box<Select>),
    /// `( query )` used as an operand of a set operation.
    Query(Box<Query>),
    /// `left op [ALL] right`.
    SetOp {
        /// Which operation.
        op: SetOp,
        /// True for `ALL` (keep duplicates).
        all: bool,
        /// Left operand.
        left: Box<SetExpr>,
        /// Right operand.
        right: Box<SetExpr>,
    },
}

/// `SELECT [ALL|DISTINCT] [TOP n] items FROM … [WHERE] [GROUP BY] [HAVING]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// DISTINCT (true) or ALL/nothing (false).
    pub distinct: bool,
    /// The user wrote the `ALL` quantifier explicitly.
    pub explicit_all: bool,
    /// `TOP n`: at most n rows, after ORDER BY and OFFSET.
    pub top: Option<u64>,
    /// Where TOP (or a LIMIT read as TOP) was written.
    pub top_span: Span,
    /// The select list.
    pub items: Vec<SelectItem>,
    /// FROM: comma-separated table references (an implicit cross join).
    pub from: Vec<TableRef>,
    /// WHERE condition.
    pub selection: Option<Expr>,
    /// GROUP BY terms.
    pub group_by: Vec<Expr>,
    /// HAVING condition.
    pub having: Option<Expr>,
    /// The SELECT keyword to the end of its last clause.
    pub span: Span,
}

/// One entry of a select list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*`
    Wildcard(Span),
    /// `qualifier.*`
    QualifiedWildcard(QualifiedName, Span),
    /// `expr [AS alias]`
    Expr {
        /// The value.
        expr: Expr,
        /// Its output name, if given.
        alias: Option<Ident>,
    },
}

/// A table reference in FROM.
#[derive(Debug, Clone, PartialEq)]
pub enum TableRef {
    /// A named table (or CTE), optionally aliased.
    Table {
        /// `[catalog.][schema.]table`
        name: QualifiedName,
        /// `[AS] alias`
        alias: Option<Ident>,
        /// The whole reference.
        span: Span,
    },
    /// `( query ) [AS] alias`; the alias is mandatory in ADQL.
    Derived {
        /// The subquery.
        query: Box<Query>,
        /// Its correlation name.
        alias: Ident,
        /// The whole reference.
        span: Span,
    },
    /// A join of two references.
    Join(Box<Join>),
    /// `( joined table )`
    Nested(Box<TableRef>),
}

/// Join kinds of ADQL 2.1 §2.2.3, plus CROSS JOIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// `[INNER] JOIN`; `explicit` records whether INNER was written.
    Inner {
        /// INNER was written.
        explicit: bool,
    },
    /// `LEFT [OUTER] JOIN`
    Left {
        /// OUTER was written.
        outer: bool,
    },
    /// `RIGHT [OUTER] JOIN`
    Right {
        /// OUTER was written.
        outer: bool,
    },
    /// `FULL [OUTER] JOIN`
    Full {
        /// OUTER was written.
        outer: bool,
    },
    /// `CROSS JOIN`
    Cross,
}

/// How the join matches rows.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinConstraint {
    /// `ON condition`
    On(Expr),
    /// `USING (columns)`
    Using(Vec<Ident>),
    /// Nothing: NATURAL, CROSS, or a join written without ON or USING, which
    /// the ADQL 2.1 grammar allows (`<qualified_join>`'s `<join_specification>`
    /// is optional). Such a join has an always-true condition: an INNER join is
    /// a cross join; an OUTER join pairs every row too, and keeps the rows of
    /// its outer side(s) when the other side is empty.
    None,
}

/// `left [NATURAL] kind JOIN right [constraint]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    /// Left operand.
    pub left: TableRef,
    /// Right operand.
    pub right: TableRef,
    /// NATURAL join: the constraint is equality on all common column names.
    pub natural: bool,
    /// Inner, outer or cross.
    pub kind: JoinKind,
    /// ON, USING or none.
    pub constraint: JoinConstraint,
    /// From the left operand to the end of the constraint.
    pub span: Span,
}

/// An ORDER BY term.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    /// The sort key: an expression, an output column name, or a 1-based column number.
    pub expr: Expr,
    /// DESC (true) or ASC/nothing (false).
    pub descending: bool,
    /// ASC or DESC was written.
    pub explicit_direction: bool,
}

/// An expression with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// Binary operators, from loosest to tightest binding (see [`BinaryOp::precedence`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// OR
    Or,
    /// AND
    And,
    /// =
    Eq,
    /// `<>` (also written `!=`)
    NotEq,
    /// <
    Lt,
    /// <=
    LtEq,
    /// >
    Gt,
    /// >=
    GtEq,
    /// `|` bitwise or
    BitOr,
    /// `^` bitwise exclusive or
    BitXor,
    /// `&` bitwise and
    BitAnd,
    /// `||` string concatenation
    Concat,
    /// +
    Add,
    /// -
    Sub,
    /// *
    Mul,
    /// /
    Div,
    /// `%` remainder: not in the ADQL grammar, but used by the ADQL 2.1
    /// specification's own examples (§4.6); means MOD(a, b).
    Mod,
}

impl BinaryOp {
    /// Binding strength: higher binds tighter. All binary operators are left-associative;
    /// comparisons do not chain.
    pub fn precedence(self) -> u8 {
        use BinaryOp::*;
        match self {
            Or => 1,
            And => 2,
            // 3 is NOT; 4 the predicates (IS NULL, LIKE, BETWEEN, IN).
            Eq | NotEq | Lt | LtEq | Gt | GtEq => 4,
            BitOr => 5,
            BitXor => 6,
            BitAnd => 7,
            Concat => 8,
            Add | Sub => 9,
            Mul | Div | Mod => 10,
        }
    }

    /// The operator as written in ADQL.
    pub fn symbol(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Or => "OR",
            And => "AND",
            Eq => "=",
            NotEq => "<>",
            Lt => "<",
            LtEq => "<=",
            Gt => ">",
            GtEq => ">=",
            BitOr => "|",
            BitXor => "^",
            BitAnd => "&",
            Concat => "||",
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
        }
    }

    /// True for the six comparison operators.
    pub fn is_comparison(self) -> bool {
        self.precedence() == 4
    }
}

/// Precedence of the predicates (IS NULL, LIKE, BETWEEN, IN), same as comparisons.
pub const PREDICATE_PRECEDENCE: u8 = 4;
/// Precedence of prefix NOT.
pub const NOT_PRECEDENCE: u8 = 3;
/// Precedence of unary minus, plus and bitwise not.
pub const UNARY_PRECEDENCE: u8 = 11;

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `+x`
    Plus,
    /// `~x` bitwise not
    BitNot,
}

/// The kind of a numeric literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    /// Digits only.
    Integer,
    /// Digits with a decimal point.
    Decimal,
    /// With an exponent.
    Approximate,
    /// `0x…`
    Hex,
}

/// Target types of CAST (ADQL 2.1 §4.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CastType {
    /// SMALLINT
    SmallInt,
    /// INTEGER
    Integer,
    /// BIGINT
    BigInt,
    /// REAL
    Real,
    /// DOUBLE PRECISION
    Double,
    /// CHAR[(n)]
    Char(Option<u32>),
    /// VARCHAR[(n)]
    Varchar(Option<u32>),
    /// TIMESTAMP
    Timestamp,
    /// POINT
    Point,
    /// CIRCLE
    Circle,
    /// POLYGON
    Polygon,
}

/// What an expression is.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// NULL
    Null,
    /// A numeric literal; `text` as written, so that no digit is lost.
    Number {
        /// The literal's text.
        text: String,
        /// Its kind.
        kind: NumberKind,
    },
    /// A character string literal (unescaped).
    String(String),
    /// A column reference `[[catalog.]schema.][table.]column`.
    Column(QualifiedName),
    /// `op expr`
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        expr: Box<Expr>,
    },
    /// `left op right`
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `NOT expr`
    Not(Box<Expr>),
    /// `expr IS [NOT] NULL`
    IsNull {
        /// Tested value.
        expr: Box<Expr>,
        /// IS NOT NULL.
        negated: bool,
    },
    /// `expr [NOT] BETWEEN low AND high`
    Between {
        /// Tested value.
        expr: Box<Expr>,
        /// NOT BETWEEN.
        negated: bool,
        /// Lower bound (inclusive).
        low: Box<Expr>,
        /// Upper bound (inclusive).
        high: Box<Expr>,
    },
    /// `expr [NOT] IN (v1, v2, …)`
    InList {
        /// Tested value.
        expr: Box<Expr>,
        /// NOT IN.
        negated: bool,
        /// The candidates.
        list: Vec<Expr>,
    },
    /// `expr [NOT] IN (subquery)`
    InSubquery {
        /// Tested value.
        expr: Box<Expr>,
        /// NOT IN.
        negated: bool,
        /// The subquery.
        query: Box<Query>,
    },
    /// `[NOT] EXISTS (subquery)` (NOT is a separate [`ExprKind::Not`]).
    Exists(Box<Query>),
    /// `(subquery)` as a scalar value.
    Subquery(Box<Query>),
    /// `expr [NOT] LIKE|ILIKE pattern [ESCAPE c]`
    Like {
        /// Tested value.
        expr: Box<Expr>,
        /// NOT LIKE.
        negated: bool,
        /// ILIKE.
        case_insensitive: bool,
        /// The pattern.
        pattern: Box<Expr>,
        /// The escape character.
        escape: Option<Box<Expr>>,
    },
    /// A function call: the ADQL built-ins (math, trigonometry, geometry,
    /// aggregates, COALESCE, NULLIF, LOWER, UPPER, IN_UNIT) and user-defined
    /// functions alike. `name` is upper-cased for built-ins, kept for UDFs.
    Function {
        /// Function name.
        name: Ident,
        /// Arguments.
        args: Vec<Expr>,
        /// `COUNT(DISTINCT x)` and friends.
        distinct: bool,
        /// `COUNT(*)`.
        star: bool,
    },
    /// `CAST(expr AS type)`
    Cast {
        /// The value.
        expr: Box<Expr>,
        /// The target type.
        target: CastType,
    },
    /// `CASE [operand] WHEN … THEN … [ELSE …] END`
    Case {
        /// The operand of a simple CASE.
        operand: Option<Box<Expr>>,
        /// `(when, then)` pairs.
        whens: Vec<(Expr, Expr)>,
        /// The ELSE value.
        otherwise: Option<Box<Expr>>,
    },
    /// `( expr )` as written by the user.
    Nested(Box<Expr>),
}

impl Expr {
    /// An expression with no position (for generated trees).
    pub fn new(kind: ExprKind) -> Self {
        Expr {
            kind,
            span: Span::default(),
        }
    }

    /// The expression with any user-written parentheses removed.
    pub fn unnested(&self) -> &Expr {
        match &self.kind {
            ExprKind::Nested(inner) => inner.unnested(),
            _ => self,
        }
    }
}
