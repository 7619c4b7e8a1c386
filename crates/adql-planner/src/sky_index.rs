//! Sky-index rewrites: position predicates that Parquet can prune on, and
//! crossmatches that run as hash joins.
//!
//! Every table with a main position stores the HEALPix index of each row
//! at order 29 in a hidden column ([`SKY_INDEX_COLUMN`]), sorted by it.
//!
//! * **Regions.** In a filter (the AND/OR tree of a WHERE or ON),
//!   `CONTAINS(POINT(ra, dec), region) = 1`, `INTERSECTS(...) = 1` and
//!   `DISTANCE(POINT(ra, dec), POINT(a, b)) < r` (`<=`, reversed, with the
//!   arguments in either order) on a table's main position, with a constant
//!   region, become `(index ranges AND exact predicate)`. The ranges cover
//!   the region (`sky_functions::sky_index`), so the exact predicate being
//!   true implies them: in a filter, where only "true" keeps a row, the
//!   result is unchanged, while Parquet skips row groups and pages whose
//!   index statistics fall outside every range. Under NOT, in a select list
//!   or a function argument nothing is added (`in_filter` is false there).
//! * **Crossmatches.** A join condition (ON, or WHERE over a comma join)
//!   with a conjunct `CONTAINS(POINT(a.ra, a.dec), CIRCLE(b.ra, b.dec, r)) = 1`
//!   or `DISTANCE(...) < r` between two relations and a constant `r`: one
//!   side (the smaller, as far as known) gets, per row, the cells at a depth
//!   suited to `r` that the circle around it overlaps (`adql_cone_cells`,
//!   unnested), the other side its own cell at that depth, and their
//!   equality joins the two, beside the exact condition. A pair within `r`
//!   shares exactly one (cell, row) match, so no pair is lost or repeated.
//!
//! The plans use Parquet scans, hash joins and registered UDFs only.

use crate::error::Result;
use crate::scope::{Relation, Scope, quote};
use crate::translate::Translator;
use adql_syntax::*;
use catalog_model::{SKY_INDEX_COLUMN, SKY_INDEX_ORDER};
use sky_functions::geometry::{Geometry, LonLat, parse_region};
use sky_functions::sky_index::{crossmatch_depth, index_ranges};
use std::fmt::Write;
use std::ops::Range;

/// Name of the crossmatch's cell column on the expanded side.
const CELL_COLUMN: &str = "_xmatch_cell";

/// What a translation may rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TranslateOptions {
    /// Use the sky index (region ranges and crossmatch joins). Off, the SQL
    /// is the plain translation, to compare with (the tests, `corvus query
    /// --no-sky-index`).
    pub sky_index: bool,
}

impl Default for TranslateOptions {
    fn default() -> Self {
        TranslateOptions { sky_index: true }
    }
}

/// A position predicate: a point, and a circle or constant region it must be in.
struct SkyPredicate<'e> {
    point: (&'e Expr, &'e Expr),
    region: Region<'e>,
}

enum Region<'e> {
    Constant(Geometry),
    /// A circle around another position, of constant radius (degrees).
    Around {
        centre: (&'e Expr, &'e Expr),
        radius: f64,
    },
}

/// A crossmatch found in a join condition: the relations (indices in the
/// scope) and the radius.
pub(crate) struct Crossmatch {
    /// The relation whose rows get their neighbourhood's cells.
    pub(crate) expanded: usize,
    expanded_position: (String, String),
    /// The relation whose rows get their own cell.
    other: usize,
    other_position: (String, String),
    radius: f64,
    /// The HEALPix depth of the cells joined on (`crossmatch_depth`).
    depth: u8,
}

impl Crossmatch {
    /// The SQL of the expanded relation's FROM item, given its plain SQL.
    pub(crate) fn wrap(&self, relation: &Relation, from_sql: &str) -> String {
        let (ra, dec) = &self.expanded_position;
        format!(
            "(SELECT *, unnest({}({}, {ra}, {dec}, {})) AS {} FROM {from_sql}) AS {}",
            sky_functions::cone_cells::NAME,
            self.depth,
            float_literal(self.radius),
            quote(CELL_COLUMN),
            relation.sql_alias
        )
    }

    /// The equality joining the two sides' cells.
    pub(crate) fn equality(&self, relations: &[Relation]) -> String {
        let depth = self.depth;
        let other = &relations[self.other];
        let (ra, dec) = &self.other_position;
        let cell = match indexed_column(other, ra, dec) {
            // The sky index's cell at a coarser depth is its prefix: a
            // shift, where a division took 8 % of an upload crossmatch.
            Some(index) => format!("({index} >> {})", 2 * u32::from(SKY_INDEX_ORDER - depth)),
            None => format!("ivo_healpix_index({depth}, {ra}, {dec})"),
        };
        format!(
            "({cell} = {}.{})",
            relations[self.expanded].sql_alias,
            quote(CELL_COLUMN)
        )
    }
}

/// `"alias"."_healpix"` when `ra` and `dec` (their SQL) are the relation's
/// indexed main position.
fn indexed_column(rel: &Relation, ra: &str, dec: &str) -> Option<String> {
    let pos = rel.sky_index.as_ref()?;
    (rel.column_sql(&pos.ra) == ra && rel.column_sql(&pos.dec) == dec)
        .then(|| rel.column_sql(SKY_INDEX_COLUMN))
}

/// A float literal DataFusion reads back exactly.
fn float_literal(x: f64) -> String {
    format!("CAST({x:e} AS DOUBLE)")
}

impl Translator<'_> {
    /// The index ranges to AND with the comparison `left op right`, if it is
    /// a position predicate on an indexed table of the current scope with a
    /// constant region.
    pub(crate) fn region_hint(
        &mut self,
        op: BinaryOp,
        left: &Expr,
        right: &Expr,
    ) -> Result<Option<String>> {
        if !self.options.sky_index {
            return Ok(None);
        }
        let Some(SkyPredicate {
            point,
            region: Region::Constant(region),
        }) = sky_predicate(op, left, right)
        else {
            return Ok(None);
        };
        let Some(scope) = self.scopes.last().cloned() else {
            return Ok(None);
        };
        let Some((rel, ra, dec)) = self.position_of(point, &scope, 0..scope.relations.len()) else {
            return Ok(None);
        };
        let Some(index) = indexed_column(&scope.relations[rel], &ra, &dec) else {
            return Ok(None);
        };
        let Some(ranges) = index_ranges(&region) else {
            return Ok(None);
        };
        Ok(Some(ranges_sql(&index, &ranges)))
    }

    /// A crossmatch among the conjuncts of `cond` between a relation of
    /// `left` and one of `right` (index ranges in `scope`), expanding a side
    /// that `may_expand` allows.
    pub(crate) fn find_crossmatch(
        &mut self,
        cond: &Expr,
        scope: &Scope,
        left: Range<usize>,
        right: Range<usize>,
        may_expand: (bool, bool),
    ) -> Option<Crossmatch> {
        if !self.options.sky_index {
            return None;
        }
        let mut conjuncts = Vec::new();
        collect_conjuncts(cond, &mut conjuncts);
        // Circles around another position, of a radius cells can serve:
        // found on the syntax alone, before any name is resolved.
        let candidates: Vec<_> = conjuncts
            .into_iter()
            .filter_map(|c| match &c.kind {
                ExprKind::Binary { op, left, right } => match sky_predicate(*op, left, right)? {
                    SkyPredicate {
                        point,
                        region: Region::Around { centre, radius },
                    } => Some((point, centre, radius, crossmatch_depth(radius)?)),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        if candidates.is_empty() {
            return None;
        }
        self.scopes.push(scope.clone());
        let found = candidates
            .into_iter()
            .find_map(|(point, centre, radius, depth)| {
                let all = 0..scope.relations.len();
                let p = self.position_of(point, scope, all.clone())?;
                let q = self.position_of(centre, scope, all)?;
                let (a, b) = if left.contains(&p.0) && right.contains(&q.0) {
                    (p, q)
                } else if left.contains(&q.0) && right.contains(&p.0) {
                    (q, p)
                } else {
                    return None;
                };
                // Expand the smaller side where both may be: its rows are
                // repeated once per cell its circle overlaps.
                let rows = |i: usize| scope.relations[i].rows.unwrap_or(u64::MAX);
                let expand_left = match may_expand {
                    (true, true) => rows(a.0) < rows(b.0),
                    (true, false) => true,
                    (false, true) => false,
                    (false, false) => return None,
                };
                let ((e, era, edec), (o, ora, odec)) = if expand_left { (a, b) } else { (b, a) };
                Some(Crossmatch {
                    expanded: e,
                    expanded_position: (era, edec),
                    other: o,
                    other_position: (ora, odec),
                    radius,
                    depth,
                })
            });
        self.scopes.pop();
        found
    }

    /// The relation (index in `scope`, among `among`) whose columns `ra` and
    /// `dec` are, with their SQL; `None` for anything but two plain columns
    /// of one relation (errors are left to the translation proper).
    fn position_of(
        &mut self,
        (ra, dec): (&Expr, &Expr),
        scope: &Scope,
        among: Range<usize>,
    ) -> Option<(usize, String, String)> {
        let mut sql = |e: &Expr| match &e.unnested().kind {
            ExprKind::Column(parts) => self.column(parts, e.span).ok().map(|r| r.sql),
            _ => None,
        };
        let (ra, dec) = (sql(ra)?, sql(dec)?);
        let owner = |col_sql: &str| {
            among.clone().find(|&i| {
                let rel = &scope.relations[i];
                rel.columns
                    .iter()
                    .any(|c| rel.column_sql(&c.name) == col_sql)
            })
        };
        let rel = owner(&ra)?;
        (owner(&dec)? == rel).then_some((rel, ra, dec))
    }
}

/// `(idx >= a AND idx < b) OR ...`, or FALSE for no ranges.
fn ranges_sql(index: &str, ranges: &[Range<u64>]) -> String {
    if ranges.is_empty() {
        return "FALSE".into();
    }
    let mut sql = String::from("(");
    for (i, r) in ranges.iter().enumerate() {
        if i > 0 {
            sql.push_str(" OR ");
        }
        let _ = write!(sql, "({index} >= {} AND {index} < {})", r.start, r.end);
    }
    sql.push(')');
    sql
}

fn collect_conjuncts<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match &e.unnested().kind {
        ExprKind::Binary {
            op: BinaryOp::And,
            left,
            right,
        } => {
            collect_conjuncts(left, out);
            collect_conjuncts(right, out);
        }
        _ => out.push(e.unnested()),
    }
}

/// Recognises `CONTAINS(POINT, region) = 1`, `INTERSECTS(...) = 1` (either
/// argument the point), `DISTANCE(p, q) < r` and their mirror images.
fn sky_predicate<'e>(op: BinaryOp, left: &'e Expr, right: &'e Expr) -> Option<SkyPredicate<'e>> {
    use BinaryOp::*;
    let (left, right) = (left.unnested(), right.unnested());
    match op {
        Eq => {
            let f = if const_number(right) == Some(1.0) {
                left
            } else if const_number(left) == Some(1.0) {
                right
            } else {
                return None;
            };
            let (name, args) = function(f)?;
            if args.len() != 2 {
                return None;
            }
            let in_region = |p: &'e Expr, g: &'e Expr| {
                Some(SkyPredicate {
                    point: point_args(p)?,
                    region: region(g)?,
                })
            };
            match name {
                "CONTAINS" => in_region(&args[0], &args[1]),
                // ADQL 2.1 §4.2.11: INTERSECTS with a POINT is CONTAINS.
                "INTERSECTS" => {
                    in_region(&args[0], &args[1]).or_else(|| in_region(&args[1], &args[0]))
                }
                _ => None,
            }
        }
        Lt | LtEq => distance_within(left, const_number(right)?),
        Gt | GtEq => distance_within(right, const_number(left)?),
        _ => None,
    }
}

/// `DISTANCE(p, q)` (or its four-number form) within `radius`.
fn distance_within(e: &Expr, radius: f64) -> Option<SkyPredicate<'_>> {
    let (name, args) = function(e)?;
    if name != "DISTANCE" {
        return None;
    }
    let (p, q) = match args.len() {
        2 => (point_args(&args[0])?, point_args(&args[1])?),
        4 => ((&args[0], &args[1]), (&args[2], &args[3])),
        _ => return None,
    };
    let constant = |(a, b): (&Expr, &Expr)| Some(LonLat::new(const_number(a)?, const_number(b)?));
    // Whichever of the two is constant is the centre.
    let (point, region) = match (constant(p), constant(q)) {
        (None, Some(c)) => (p, Region::Constant(Geometry::Circle(c, radius))),
        (Some(c), None) => (q, Region::Constant(Geometry::Circle(c, radius))),
        (None, None) => (p, Region::Around { centre: q, radius }),
        (Some(_), Some(_)) => return None,
    };
    Some(SkyPredicate { point, region })
}

/// The upper-case name and arguments of a function call.
fn function(e: &Expr) -> Option<(&str, &[Expr])> {
    match &e.unnested().kind {
        ExprKind::Function { name, args, .. } => Some((name.name.as_str(), args.as_slice())),
        _ => None,
    }
}

/// The arguments after an optional coordinate-system string (ADQL 2.0
/// forms; the planner ignores the system, ADQL 2.1 §4.2).
fn without_coordsys(args: &[Expr]) -> &[Expr] {
    match args.first().map(|a| &a.unnested().kind) {
        Some(ExprKind::String(_)) => &args[1..],
        _ => args,
    }
}

/// The two coordinates of `POINT([cs,] x, y)`.
fn point_args(e: &Expr) -> Option<(&Expr, &Expr)> {
    let (name, args) = function(e)?;
    match (name, without_coordsys(args)) {
        ("POINT", [x, y]) => Some((x, y)),
        _ => None,
    }
}

/// A region: constant, or a circle around a position with constant radius.
fn region(e: &Expr) -> Option<Region<'_>> {
    if let Some((name, args)) = function(e)
        && name == "CIRCLE"
    {
        let args = without_coordsys(args);
        let (centre, radius) = match args {
            [x, y, r] => ((x, y), r),
            [p, r] => (point_args(p)?, r),
            _ => return None,
        };
        let radius = const_number(radius)?;
        if let (Some(x), Some(y)) = (const_number(centre.0), const_number(centre.1)) {
            return valid(Geometry::Circle(LonLat::new(x, y), radius)).map(Region::Constant);
        }
        return Some(Region::Around { centre, radius });
    }
    const_geometry(e).and_then(valid).map(Region::Constant)
}

fn valid(g: Geometry) -> Option<Geometry> {
    g.validate().ok().map(|()| g)
}

/// A geometry of constants: POINT, CIRCLE, BOX, POLYGON or REGION.
fn const_geometry(e: &Expr) -> Option<Geometry> {
    let (name, args) = function(e)?;
    if name == "REGION" {
        return match &args.first()?.unnested().kind {
            ExprKind::String(s) => parse_region(s).ok(),
            _ => None,
        };
    }
    let args = without_coordsys(args);
    let point = |e: &Expr| -> Option<LonLat> {
        let (x, y) = point_args(e)?;
        Some(LonLat::new(const_number(x)?, const_number(y)?))
    };
    let numbers = |a: &[Expr]| a.iter().map(const_number).collect::<Option<Vec<f64>>>();
    match name {
        "POINT" => point(e).map(Geometry::Point),
        "CIRCLE" => match args {
            [p, r] => Some(Geometry::Circle(point(p)?, const_number(r)?)),
            _ => {
                let v = numbers(args)?;
                (v.len() == 3).then(|| Geometry::Circle(LonLat::new(v[0], v[1]), v[2]))
            }
        },
        "BOX" => match args {
            [p, w, h] => Some(Geometry::boxed(
                point(p)?,
                const_number(w)?,
                const_number(h)?,
            )),
            _ => {
                let v = numbers(args)?;
                (v.len() == 4).then(|| Geometry::boxed(LonLat::new(v[0], v[1]), v[2], v[3]))
            }
        },
        "POLYGON" => {
            let vertices = match numbers(args) {
                Some(v) if v.len() >= 6 && v.len() % 2 == 0 => v
                    .chunks(2)
                    .map(|c| LonLat::new(c[0], c[1]))
                    .collect::<Vec<_>>(),
                _ => args.iter().map(point).collect::<Option<Vec<_>>>()?,
            };
            (vertices.len() >= 3).then_some(Geometry::Polygon(vertices))
        }
        _ => None,
    }
}

/// The value of a constant numeric expression as the engine computes it
/// (integer operations stay integer: `1/3600` is 0), or `None`.
fn const_number(e: &Expr) -> Option<f64> {
    match const_value(e)? {
        Const::Int(i) => Some(i as f64),
        Const::Float(x) => x.is_finite().then_some(x),
    }
}

#[derive(Clone, Copy)]
enum Const {
    Int(i64),
    Float(f64),
}

fn const_value(e: &Expr) -> Option<Const> {
    use BinaryOp::*;
    Some(match &e.unnested().kind {
        ExprKind::Number { text, kind } => match kind {
            NumberKind::Integer => Const::Int(text.parse().ok()?),
            NumberKind::Hex => Const::Int(i64::from_str_radix(text.get(2..)?, 16).ok()?),
            _ => Const::Float(text.parse().ok()?),
        },
        ExprKind::Unary { op, expr } => match (op, const_value(expr)?) {
            (UnaryOp::Plus, v) => v,
            (UnaryOp::Neg, Const::Int(i)) => Const::Int(i.checked_neg()?),
            (UnaryOp::Neg, Const::Float(x)) => Const::Float(-x),
            _ => return None,
        },
        ExprKind::Binary { op, left, right } => match (const_value(left)?, const_value(right)?) {
            (Const::Int(a), Const::Int(b)) => Const::Int(match op {
                Add => a.checked_add(b)?,
                Sub => a.checked_sub(b)?,
                Mul => a.checked_mul(b)?,
                Div => a.checked_div(b)?,
                _ => return None,
            }),
            (a, b) => {
                let f = |c| match c {
                    Const::Int(i) => i as f64,
                    Const::Float(x) => x,
                };
                let (a, b) = (f(a), f(b));
                Const::Float(match op {
                    Add => a + b,
                    Sub => a - b,
                    Mul => a * b,
                    Div => a / b,
                    _ => return None,
                })
            }
        },
        _ => return None,
    })
}
