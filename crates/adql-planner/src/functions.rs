//! Function calls: ADQL's built-ins (ADQL 2.1 §2.3, §4) and the `ivo_*`
//! user-defined functions, each checked for arity and argument types and
//! mapped onto a DataFusion built-in or a `sky-functions` UDF.

use crate::error::Result;
use crate::expr::{Typed, wider};
use crate::scope::suggest;
use crate::translate::Translator;
use crate::units::{ConversionError, conversion_factor};
use adql_syntax::*;
use catalog_model::AdqlType;

/// Every user-defined function the planner knows, with its signature for
/// TAPRegExt (`languageFeatures type="…#features-udf"`).
pub const USER_DEFINED_FUNCTIONS: &[&str] = &[
    "ivo_healpix_index(hpxOrder INTEGER, ra DOUBLE, dec DOUBLE) -> BIGINT",
    "ivo_healpix_index(hpxOrder INTEGER, p POINT) -> BIGINT",
    "ivo_healpix_center(hpxOrder INTEGER, hpxIndex BIGINT) -> POINT",
    "ivo_hasword(haystack TEXT, needle TEXT) -> INTEGER",
    "ivo_nocasematch(value TEXT, pattern TEXT) -> INTEGER",
    "ivo_hashlist_has(hashlist TEXT, item TEXT) -> INTEGER",
    "ivo_string_agg(expr TEXT, delimiter TEXT) -> TEXT",
    "ivo_interval_overlaps(l1 DOUBLE, h1 DOUBLE, l2 DOUBLE, h2 DOUBLE) -> INTEGER",
    "ivo_epoch_prop_pos(ra DOUBLE, dec DOUBLE, parallax DOUBLE, pmra DOUBLE, pmdec DOUBLE, radial_velocity DOUBLE, ref_epoch DOUBLE, out_epoch DOUBLE) -> POINT",
    "ivo_apply_pm(ra DOUBLE, dec DOUBLE, pmra DOUBLE, pmdec DOUBLE, epdist DOUBLE) -> POINT",
    "gaia_healpix_index(norder INTEGER, source_id BIGINT) -> BIGINT",
];

const ALL_NAMES: &[&str] = &[
    "ABS",
    "CEILING",
    "DEGREES",
    "EXP",
    "FLOOR",
    "LOG",
    "LOG10",
    "MOD",
    "PI",
    "POWER",
    "RADIANS",
    "RAND",
    "ROUND",
    "SQRT",
    "TRUNCATE",
    "ACOS",
    "ASIN",
    "ATAN",
    "ATAN2",
    "COS",
    "COT",
    "SIN",
    "TAN",
    "COUNT",
    "SUM",
    "AVG",
    "MIN",
    "MAX",
    "LOWER",
    "UPPER",
    "COALESCE",
    "NULLIF",
    "IN_UNIT",
    "POINT",
    "CIRCLE",
    "BOX",
    "POLYGON",
    "REGION",
    "CONTAINS",
    "INTERSECTS",
    "DISTANCE",
    "AREA",
    "CENTROID",
    "COORD1",
    "COORD2",
    "COORDSYS",
    "ivo_healpix_index",
    "ivo_healpix_center",
    "ivo_hasword",
    "ivo_nocasematch",
    "ivo_hashlist_has",
    "ivo_string_agg",
    "ivo_interval_overlaps",
    "ivo_epoch_prop_pos",
    "ivo_apply_pm",
    "gaia_healpix_index",
];

/// Spelled-out names users write for ADQL functions, with the ADQL name.
fn other_dialect(name: &str) -> Option<&'static str> {
    Some(match name {
        "ceil" => "CEILING",
        "ln" => "LOG (natural logarithm in ADQL)",
        "pow" => "POWER",
        "trunc" => "TRUNCATE",
        "random" => "RAND",
        "substr" | "substring" => "no substring function in ADQL; use LIKE",
        "length" | "char_length" | "len" => "no length function in ADQL",
        "now" | "current_timestamp" => "no current time in ADQL",
        "q3c_radial_query" | "q3c_join" => "CONTAINS(POINT(ra, dec), CIRCLE(ra0, dec0, r)) = 1",
        "string_agg" | "group_concat" => "ivo_string_agg",
        "lcase" => "LOWER",
        "ucase" => "UPPER",
        _ => return None,
    })
}

impl Translator<'_> {
    fn args(&mut self, args: &[Expr]) -> Result<Vec<Typed>> {
        args.iter().map(|a| self.expr(a)).collect()
    }

    fn arity(
        &self,
        name: &str,
        args: &[Expr],
        allowed: &[usize],
        span: Span,
        usage: &str,
    ) -> Result<()> {
        if allowed.contains(&args.len()) {
            return Ok(());
        }
        Err(self.error(
            span,
            format!("{name} takes {}, not {}", plural_args(allowed), args.len()),
            Some(format!("write {usage}")),
        ))
    }

    fn numeric_args(&self, typed: &[Typed], args: &[Expr], name: &str) -> Result<()> {
        for (t, a) in typed.iter().zip(args) {
            self.require_numeric(t, a.span, name)?;
        }
        Ok(())
    }

    fn geometry_arg(&self, t: &Typed, e: &Expr, name: &str, want: AdqlType) -> Result<()> {
        if t.ty.fits(want) {
            return Ok(());
        }
        Err(self.error(
            e.span,
            format!(
                "{name} needs {} here, but this is {}",
                want.describe(),
                t.ty.describe()
            ),
            None,
        ))
    }

    /// Drops a leading coordinate-system argument when `args` has one.
    ///
    /// ADQL 2.1's grammar writes `<coord_sys>` as a string literal, but
    /// services accept NULL and any string expression (a column, a
    /// concatenation); §4.2.2 lets a service ignore it. Everything is ICRS
    /// here: a constant naming another frame, or a value known only at run
    /// time, is ignored with a warning. `with_cs` lists the argument counts at
    /// which a leading coordinate system is possible, `certain` those at which
    /// it must be there; where a count is possible with and without one
    /// (`CIRCLE(cs, point, r)` and `CIRCLE(ra, dec, r)`), the first argument's
    /// type decides.
    fn drop_coordsys<'e>(
        &mut self,
        name: &str,
        args: &'e [Expr],
        with_cs: &[usize],
        certain: &[usize],
    ) -> Result<&'e [Expr]> {
        let Some(first) = args.first() else {
            return Ok(args);
        };
        if !with_cs.contains(&args.len()) {
            return Ok(args);
        }
        let is_cs = match &first.unnested().kind {
            ExprKind::String(_) | ExprKind::Null => true,
            ExprKind::Number { .. } => false,
            _ => match self.expr(first)?.ty {
                AdqlType::Varchar => true,
                // A column of unknown type (no catalog): a coordinate system if
                // the count demands one or the next argument is a geometry.
                AdqlType::Unknown => {
                    certain.contains(&args.len())
                        || match args.get(1) {
                            Some(e) => self.expr(e)?.ty.is_geometry(),
                            None => false,
                        }
                }
                _ => false,
            },
        };
        if !is_cs {
            return Ok(args);
        }
        match const_string(first) {
            Some(Some(frame)) => {
                let f = frame.trim().to_ascii_uppercase();
                let known = f.is_empty()
                    || f.starts_with("ICRS")
                    || f == "J2000"
                    || f.starts_with("UNKNOWNFRAME");
                if !known {
                    self.warn(
                        first.span,
                        format!("{name}: coordinate system '{frame}' is ignored; coordinates are taken as ICRS"),
                    );
                }
            }
            // NULL: no coordinate system given, which is ICRS here.
            Some(None) => {}
            None => {
                let t = self.expr(first)?;
                self.require_string(&t, first.span, "a coordinate system")?;
                self.warn(
                    first.span,
                    format!("{name}: the coordinate system is an expression whose value is not checked; it is ignored and coordinates are taken as ICRS"),
                );
            }
        }
        Ok(&args[1..])
    }

    pub(crate) fn function(
        &mut self,
        name: &Ident,
        args: &[Expr],
        distinct: bool,
        star: bool,
        span: Span,
    ) -> Result<Typed> {
        let upper = name.name.to_ascii_uppercase();
        let lower = name.name.to_ascii_lowercase();
        let func = |f: &str, a: &[Typed]| {
            format!(
                "{f}({})",
                a.iter()
                    .map(|t| t.sql.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let double = |t: &Typed| format!("CAST({} AS DOUBLE)", t.sql);
        match upper.as_str() {
            // ---- aggregates (ADQL 2.1 §2.3.4) ----
            "COUNT" | "SUM" | "AVG" | "MIN" | "MAX" => {
                if star {
                    return Ok(Typed::new("COUNT(*)".into(), AdqlType::BigInt).named("count"));
                }
                self.arity(&upper, args, &[1], span, &format!("{upper}(column)"))?;
                let t = self.expr(&args[0])?;
                if t.ty.is_geometry() {
                    return Err(self.error(
                        args[0].span,
                        format!("{upper} cannot aggregate geometries"),
                        None,
                    ));
                }
                if matches!(upper.as_str(), "SUM" | "AVG") {
                    self.require_numeric(&t, args[0].span, &upper)?;
                }
                let d = if distinct { "DISTINCT " } else { "" };
                let sql = format!("{upper}({d}{})", t.sql);
                let ty = match upper.as_str() {
                    "COUNT" => AdqlType::BigInt,
                    "AVG" => AdqlType::Double,
                    "SUM" if t.ty.is_integer() => AdqlType::BigInt,
                    "SUM" => AdqlType::Double,
                    _ => t.ty,
                };
                let mut out = Typed::new(sql, ty).named(&upper.to_ascii_lowercase());
                if upper != "COUNT" {
                    out.meta.unit = t.meta.unit.clone();
                    if matches!(upper.as_str(), "MIN" | "MAX") {
                        out.meta = t.meta;
                    }
                }
                Ok(out)
            }
            // ---- mathematics (ADQL 2.1 §2.3.5) ----
            "ABS" | "CEILING" | "FLOOR" | "DEGREES" | "RADIANS" | "EXP" | "LOG" | "LOG10"
            | "SQRT" | "ACOS" | "ASIN" | "ATAN" | "COS" | "COT" | "SIN" | "TAN" => {
                self.arity(&upper, args, &[1], span, &format!("{upper}(x)"))?;
                let a = self.args(args)?;
                self.numeric_args(&a, args, &upper)?;
                let df = match upper.as_str() {
                    "CEILING" => "ceil",
                    "LOG" => "ln",
                    other => return Ok(self.math1(other, &a[0])),
                };
                Ok(Typed::new(format!("{df}({})", double(&a[0])), AdqlType::Double).named(&lower))
            }
            "ATAN2" | "POWER" => {
                self.arity(&upper, args, &[2], span, &format!("{upper}(y, x)"))?;
                let a = self.args(args)?;
                self.numeric_args(&a, args, &upper)?;
                Ok(Typed::new(
                    format!("{lower}({}, {})", double(&a[0]), double(&a[1])),
                    AdqlType::Double,
                )
                .named(&lower))
            }
            "MOD" => {
                self.arity(&upper, args, &[2], span, "MOD(x, y)")?;
                let a = self.args(args)?;
                self.numeric_args(&a, args, &upper)?;
                Ok(Typed::new(
                    format!("({} % {})", a[0].sql, a[1].sql),
                    wider(a[0].ty, a[1].ty),
                )
                .named("mod"))
            }
            "PI" => {
                self.arity(&upper, args, &[0], span, "PI()")?;
                Ok(Typed::new("pi()".into(), AdqlType::Double).named("pi"))
            }
            "RAND" => {
                self.arity(&upper, args, &[0, 1], span, "RAND() or RAND(seed)")?;
                if args.is_empty() {
                    return Ok(Typed::new("random()".into(), AdqlType::Double).named("rand"));
                }
                let a = self.args(args)?;
                self.require_integer(&a[0], args[0].span, "the seed of RAND")?;
                Ok(Typed::new(func("adql_rand_seeded", &a), AdqlType::Double).named("rand"))
            }
            "ROUND" | "TRUNCATE" => {
                self.arity(
                    &upper,
                    args,
                    &[1, 2],
                    span,
                    &format!("{upper}(x) or {upper}(x, digits)"),
                )?;
                let a = self.args(args)?;
                self.require_numeric(&a[0], args[0].span, &upper)?;
                if let Some(d) = a.get(1) {
                    self.require_integer(
                        d,
                        args[1].span,
                        &format!("the number of digits of {upper}"),
                    )?;
                }
                let df = if upper == "ROUND" { "round" } else { "trunc" };
                let sql = match a.get(1) {
                    Some(d) => format!("{df}({}, {})", double(&a[0]), d.sql),
                    None => format!("{df}({})", double(&a[0])),
                };
                let mut t = Typed::new(sql, AdqlType::Double).named(&lower);
                t.meta = a[0].meta.clone();
                Ok(t)
            }
            // ---- strings (ADQL 2.1 §4.4) and conditionals (§4.5.3) ----
            "LOWER" | "UPPER" => {
                self.arity(&upper, args, &[1], span, &format!("{upper}(text)"))?;
                let a = self.args(args)?;
                self.require_string(&a[0], args[0].span, &upper)?;
                Ok(Typed::new(func(&lower, &a), AdqlType::Varchar).named(&lower))
            }
            "COALESCE" => {
                if args.is_empty() {
                    return Err(self.error(span, "COALESCE needs at least one argument", None));
                }
                let a = self.args(args)?;
                let mut ty = AdqlType::Unknown;
                for (t, e) in a.iter().zip(args) {
                    if let Some(first) = a.iter().find(|x| x.ty != AdqlType::Unknown) {
                        self.comparable(first, t, e.span)?;
                    }
                    if ty == AdqlType::Unknown {
                        ty = t.ty;
                    } else if ty.is_numeric() && t.ty.is_numeric() {
                        ty = wider(ty, t.ty);
                    }
                }
                let mut out = Typed::new(func("coalesce", &a), ty).named("coalesce");
                out.meta = a[0].meta.clone();
                Ok(out)
            }
            "NULLIF" => {
                self.arity(&upper, args, &[2], span, "NULLIF(value, special)")?;
                let a = self.args(args)?;
                self.comparable(&a[0], &a[1], args[1].span)?;
                let mut out = Typed::new(func("nullif", &a), a[0].ty).named("nullif");
                out.meta = a[0].meta.clone();
                Ok(out)
            }
            "IN_UNIT" => self.in_unit(args, span),
            // ---- geometry (ADQL 2.1 §4.2) ----
            "POINT" => {
                let rest = self.drop_coordsys("POINT", args, &[3], &[3])?;
                self.arity(
                    "POINT",
                    rest,
                    &[2],
                    span,
                    "POINT(ra, dec) or POINT('ICRS', ra, dec)",
                )?;
                let a = self.args(rest)?;
                self.numeric_args(&a, rest, "POINT")?;
                Ok(Typed::new(func("adql_point", &a), AdqlType::Point).named("point"))
            }
            "CIRCLE" => {
                let rest = self.drop_coordsys("CIRCLE", args, &[3, 4], &[4])?;
                self.arity(
                    "CIRCLE",
                    rest,
                    &[2, 3],
                    span,
                    "CIRCLE(ra, dec, radius) or CIRCLE(POINT(ra, dec), radius)",
                )?;
                let a = self.args(rest)?;
                if rest.len() == 2 {
                    self.geometry_arg(&a[0], &rest[0], "CIRCLE", AdqlType::Point)?;
                    self.require_numeric(&a[1], rest[1].span, "CIRCLE")?;
                    return Ok(
                        Typed::new(func("adql_circle_at", &a), AdqlType::Circle).named("circle")
                    );
                }
                self.numeric_args(&a, rest, "CIRCLE")?;
                Ok(Typed::new(func("adql_circle", &a), AdqlType::Circle).named("circle"))
            }
            "BOX" => {
                let rest = self.drop_coordsys("BOX", args, &[4, 5], &[5])?;
                self.arity("BOX", rest, &[3, 4], span, "BOX(ra, dec, width, height)")?;
                let a = self.args(rest)?;
                if rest.len() == 3 {
                    self.geometry_arg(&a[0], &rest[0], "BOX", AdqlType::Point)?;
                    self.numeric_args(&a[1..], &rest[1..], "BOX")?;
                    return Ok(Typed::new(func("adql_box_at", &a), AdqlType::Polygon).named("box"));
                }
                self.numeric_args(&a, rest, "BOX")?;
                Ok(Typed::new(func("adql_box", &a), AdqlType::Polygon).named("box"))
            }
            "POLYGON" => {
                // ADQL 2.1 §4.2.10: vertices as coordinate pairs or as POINT values,
                // either with a leading coordinate system.
                let odd = args.len() % 2 == 1;
                let with_cs: Vec<usize> = if odd || args.len() >= 4 {
                    vec![args.len()]
                } else {
                    Vec::new()
                };
                // An odd count of seven or more is a coordinate system and pairs.
                let certain: Vec<usize> = with_cs
                    .iter()
                    .copied()
                    .filter(|n| n % 2 == 1 && *n >= 7)
                    .collect();
                let rest = self.drop_coordsys("POLYGON", args, &with_cs, &certain)?;
                let a = self.args(rest)?;
                let as_points = a.iter().any(|t| t.ty.is_geometry())
                    || ((rest.len() % 2 == 1 || rest.len() < 6)
                        && a.iter().all(|t| t.ty.fits(AdqlType::Point)));
                if as_points {
                    if rest.len() < 3 {
                        return Err(self.error(
                            span,
                            format!("POLYGON needs at least three vertices, not {}", rest.len()),
                            Some("write POLYGON(POINT(ra1, dec1), POINT(ra2, dec2), POINT(ra3, dec3), ...)".into()),
                        ));
                    }
                    for (t, e) in a.iter().zip(rest) {
                        self.geometry_arg(t, e, "POLYGON", AdqlType::Point)?;
                    }
                    return Ok(
                        Typed::new(func("adql_polygon_of_points", &a), AdqlType::Polygon)
                            .named("polygon"),
                    );
                }
                if rest.len() < 6 || rest.len() % 2 != 0 {
                    return Err(self.error(span, format!("POLYGON needs an even number of coordinates, at least six (three vertices), not {}", rest.len()), Some("write POLYGON(ra1, dec1, ra2, dec2, ra3, dec3, ...)".into())));
                }
                self.numeric_args(&a, rest, "POLYGON")?;
                Ok(Typed::new(func("adql_polygon", &a), AdqlType::Polygon).named("polygon"))
            }
            "REGION" => {
                self.arity("REGION", args, &[1], span, "REGION('CIRCLE ICRS 10 20 1')")?;
                let a = self.args(args)?;
                self.require_string(&a[0], args[0].span, "REGION")?;
                if let ExprKind::String(s) = &args[0].unnested().kind
                    && let Err(e) = sky_functions::geometry::parse_region(s)
                {
                    return Err(self.error(args[0].span, e.to_string(), None));
                }
                Ok(Typed::new(func("adql_region", &a), AdqlType::Region).named("region"))
            }
            "CONTAINS" | "INTERSECTS" => {
                self.arity(
                    &upper,
                    args,
                    &[2],
                    span,
                    &format!("{upper}(geometry, geometry)"),
                )?;
                if let Some(fast) = self.point_in_circle(args)? {
                    return Ok(Typed::new(fast, AdqlType::Integer).named(&lower));
                }
                let a = self.args(args)?;
                for (t, e) in a.iter().zip(args) {
                    self.geometry_arg(t, e, &upper, AdqlType::Region)?;
                }
                // ADQL 2.1 §4.2.11: INTERSECTS with a POINT argument means CONTAINS.
                let (f, x, y) = match (upper.as_str(), a[0].ty, a[1].ty) {
                    ("INTERSECTS", _, AdqlType::Point) => ("adql_contains", &a[1], &a[0]),
                    ("INTERSECTS", _, _) => ("adql_intersects", &a[0], &a[1]),
                    _ => ("adql_contains", &a[0], &a[1]),
                };
                Ok(
                    Typed::new(format!("{f}({}, {})", x.sql, y.sql), AdqlType::Integer)
                        .named(&lower),
                )
            }
            "DISTANCE" => {
                self.arity("DISTANCE", args, &[2, 4], span, "DISTANCE(POINT(ra1, dec1), POINT(ra2, dec2)) or DISTANCE(ra1, dec1, ra2, dec2)")?;
                let sql = if args.len() == 4 {
                    let a = self.args(args)?;
                    self.numeric_args(&a, args, "DISTANCE")?;
                    func("adql_distance4", &a)
                } else if let (Some(p), Some(q)) =
                    (self.point_coords(&args[0])?, self.point_coords(&args[1])?)
                {
                    format!("adql_distance4({}, {}, {}, {})", p.0, p.1, q.0, q.1)
                } else {
                    let a = self.args(args)?;
                    for (t, e) in a.iter().zip(args) {
                        self.geometry_arg(t, e, "DISTANCE", AdqlType::Point)?;
                    }
                    func("adql_distance", &a)
                };
                let mut t = Typed::new(sql, AdqlType::Double)
                    .named("distance")
                    .unit("deg");
                t.meta.ucd = Some("pos.angDistance".into());
                Ok(t)
            }
            "AREA" | "CENTROID" | "COORD1" | "COORD2" | "COORDSYS" => {
                self.arity(&upper, args, &[1], span, &format!("{upper}(geometry)"))?;
                let a = self.args(args)?;
                let want = if upper.starts_with("COORD") && upper != "COORDSYS" {
                    AdqlType::Point
                } else {
                    AdqlType::Region
                };
                self.geometry_arg(&a[0], &args[0], &upper, want)?;
                Ok(match upper.as_str() {
                    "AREA" => Typed::new(func("adql_area", &a), AdqlType::Double)
                        .named("area")
                        .unit("deg**2"),
                    "CENTROID" => {
                        Typed::new(func("adql_centroid", &a), AdqlType::Point).named("centroid")
                    }
                    "COORD1" => Typed::new(func("adql_coord1", &a), AdqlType::Double)
                        .named("coord1")
                        .unit("deg"),
                    "COORD2" => Typed::new(func("adql_coord2", &a), AdqlType::Double)
                        .named("coord2")
                        .unit("deg"),
                    _ => Typed::new(
                        format!("CASE WHEN {} IS NULL THEN NULL ELSE 'ICRS' END", a[0].sql),
                        AdqlType::Varchar,
                    )
                    .named("coordsys"),
                })
            }
            _ => self.user_function(&lower, name, args, span),
        }
    }

    fn math1(&self, name: &str, a: &Typed) -> Typed {
        let lower = name.to_ascii_lowercase();
        if name == "ABS" {
            let mut t = Typed::new(format!("abs({})", a.sql), a.ty).named("abs");
            t.meta = a.meta.clone();
            return t;
        }
        let mut t = Typed::new(
            format!("{lower}(CAST({} AS DOUBLE))", a.sql),
            AdqlType::Double,
        )
        .named(&lower);
        if matches!(name, "FLOOR") {
            t.meta = a.meta.clone();
        }
        t
    }

    /// The (ra, dec) SQL of a literal `POINT([cs,] ra, dec)`, for the fast paths.
    fn point_coords(&mut self, e: &Expr) -> Result<Option<(String, String)>> {
        if let ExprKind::Function { name, args, .. } = &e.unnested().kind
            && name.name == "POINT"
        {
            let rest = self.drop_coordsys("POINT", args, &[3], &[3])?;
            if rest.len() == 2 {
                let a = self.args(rest)?;
                self.numeric_args(&a, rest, "POINT")?;
                return Ok(Some((a[0].sql.clone(), a[1].sql.clone())));
            }
        }
        Ok(None)
    }

    /// `CONTAINS(POINT(a, b), CIRCLE(c, d, r))` without building geometry values.
    fn point_in_circle(&mut self, args: &[Expr]) -> Result<Option<String>> {
        let Some((ra, dec)) = self.point_coords(&args[0])? else {
            return Ok(None);
        };
        if let ExprKind::Function {
            name, args: cargs, ..
        } = &args[1].unnested().kind
            && name.name == "CIRCLE"
        {
            let rest = self.drop_coordsys("CIRCLE", cargs, &[4], &[4])?;
            if rest.len() == 3 {
                let c = self.args(rest)?;
                self.numeric_args(&c, rest, "CIRCLE")?;
                return Ok(Some(format!(
                    "adql_point_in_circle({ra}, {dec}, {}, {}, {})",
                    c[0].sql, c[1].sql, c[2].sql
                )));
            }
        }
        Ok(None)
    }

    /// IN_UNIT(value, 'unit'): ADQL 2.1 §4.5.2.
    fn in_unit(&mut self, args: &[Expr], span: Span) -> Result<Typed> {
        self.arity("IN_UNIT", args, &[2], span, "IN_UNIT(value, 'unit')")?;
        let v = self.expr(&args[0])?;
        self.require_numeric(&v, args[0].span, "IN_UNIT")?;
        let ExprKind::String(target) = &args[1].unnested().kind else {
            return Err(self.error(
                args[1].span,
                "IN_UNIT needs the target unit as a string literal",
                Some("e.g. IN_UNIT(plx, 'arcsec')".into()),
            ));
        };
        let Some(from) = v.meta.unit.clone() else {
            if v.ty == AdqlType::Unknown || !self.catalog.is_complete() {
                return Err(self.error(
                    args[0].span,
                    "the unit of this value is not known without a catalog",
                    Some("check the query against a data directory with --catalog DIR".into()),
                ));
            }
            return Err(self.error(
                args[0].span,
                "the unit of this value is not known, so it cannot be converted",
                Some("IN_UNIT works on columns whose unit the catalog records".into()),
            ));
        };
        let factor = match conversion_factor(&from, target) {
            Ok(f) => f,
            Err(ConversionError::Unknown(u)) => {
                let at = if &u == target {
                    args[1].span
                } else {
                    args[0].span
                };
                return Err(self.error(
                    at,
                    format!("unknown unit '{u}'"),
                    Some("units are written in VOUnits, e.g. deg, arcsec, mas/yr, km/s".into()),
                ));
            }
            Err(ConversionError::Incompatible) => {
                return Err(self.error(
                    args[1].span,
                    format!(
                        "cannot convert '{from}' into '{target}': they measure different things"
                    ),
                    None,
                ));
            }
        };
        let mut t = Typed::new(
            format!("(CAST({} AS DOUBLE) * {factor:?})", v.sql),
            AdqlType::Double,
        )
        .unit(target);
        t.name = v.name.clone();
        t.meta.ucd = v.meta.ucd.clone();
        Ok(t)
    }

    fn user_function(
        &mut self,
        lower: &str,
        name: &Ident,
        args: &[Expr],
        span: Span,
    ) -> Result<Typed> {
        let a = self.args(args)?;
        let join = |a: &[Typed]| {
            a.iter()
                .map(|t| t.sql.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let numeric = |me: &Self, n: usize| {
            me.numeric_args(&a[..n.min(a.len())], &args[..n.min(args.len())], lower)
        };
        let strings = |me: &Self| -> Result<()> {
            for (t, e) in a.iter().zip(args) {
                me.require_string(t, e.span, lower)?;
            }
            Ok(())
        };
        let usage = USER_DEFINED_FUNCTIONS
            .iter()
            .find(|u| u.starts_with(&format!("{lower}(")))
            .copied()
            .unwrap_or("");
        let t = match lower {
            "ivo_healpix_index" => {
                self.arity(lower, args, &[2, 3], span, usage)?;
                self.require_integer(&a[0], args[0].span, "the HEALPix order")?;
                if args.len() == 2 {
                    self.geometry_arg(&a[1], &args[1], lower, AdqlType::Point)?;
                    Typed::new(
                        format!("adql_healpix_index_of_point({})", join(&a)),
                        AdqlType::BigInt,
                    )
                } else {
                    numeric(self, 3)?;
                    Typed::new(format!("ivo_healpix_index({})", join(&a)), AdqlType::BigInt)
                }
            }
            "ivo_healpix_center" => {
                self.arity(lower, args, &[2], span, usage)?;
                self.require_integer(&a[0], args[0].span, "the HEALPix order")?;
                self.require_integer(&a[1], args[1].span, "the HEALPix index")?;
                Typed::new(
                    format!(
                        "ivo_healpix_center({}, CAST({} AS BIGINT))",
                        a[0].sql, a[1].sql
                    ),
                    AdqlType::Point,
                )
            }
            "ivo_hasword" | "ivo_nocasematch" | "ivo_hashlist_has" => {
                self.arity(lower, args, &[2], span, usage)?;
                strings(self)?;
                Typed::new(format!("{lower}({})", join(&a)), AdqlType::Integer)
            }
            "ivo_string_agg" => {
                self.arity(lower, args, &[2], span, usage)?;
                self.require_string(&a[1], args[1].span, "the delimiter of ivo_string_agg")?;
                Typed::new(
                    format!("string_agg(CAST({} AS VARCHAR), {})", a[0].sql, a[1].sql),
                    AdqlType::Varchar,
                )
            }
            "ivo_interval_overlaps" => {
                self.arity(lower, args, &[4], span, usage)?;
                numeric(self, 4)?;
                Typed::new(
                    format!("ivo_interval_overlaps({})", join(&a)),
                    AdqlType::Integer,
                )
            }
            "ivo_epoch_prop_pos" => {
                self.arity(lower, args, &[8], span, usage)?;
                numeric(self, 8)?;
                Typed::new(format!("ivo_epoch_prop_pos({})", join(&a)), AdqlType::Point)
            }
            "ivo_apply_pm" => {
                self.arity(lower, args, &[5], span, usage)?;
                numeric(self, 5)?;
                Typed::new(format!("ivo_apply_pm({})", join(&a)), AdqlType::Point)
            }
            "gaia_healpix_index" => {
                self.arity(lower, args, &[2], span, usage)?;
                self.require_integer(&a[0], args[0].span, "the HEALPix order")?;
                self.require_integer(&a[1], args[1].span, "the source_id")?;
                // Gaia source_id = HEALPix index at order 12 * 2^35 + running number.
                Typed::new(
                    format!(
                        "(CAST({} AS BIGINT) / CAST(34359738368 * power(4, 12 - {}) AS BIGINT))",
                        a[1].sql, a[0].sql
                    ),
                    AdqlType::BigInt,
                )
            }
            _ => {
                let hint = other_dialect(lower)
                    .map(|s| format!("ADQL writes {s}"))
                    .or_else(|| {
                        suggest(&name.name, ALL_NAMES.iter().copied())
                            .map(|s| format!("did you mean {s}?"))
                    });
                return Err(self.error(
                    name.span,
                    format!("unknown function '{}'", name.name),
                    hint,
                ));
            }
        };
        Ok(t.named(lower))
    }
}

/// The value of a constant string expression: `Some(Some(text))` for string
/// literals and their concatenations, `Some(None)` for NULL, `None` when the
/// value is known only at run time.
fn const_string(e: &Expr) -> Option<Option<String>> {
    match &e.unnested().kind {
        ExprKind::String(s) => Some(Some(s.clone())),
        ExprKind::Null => Some(None),
        ExprKind::Binary {
            op: BinaryOp::Concat,
            left,
            right,
        } => match (const_string(left)?, const_string(right)?) {
            (Some(l), Some(r)) => Some(Some(l + &r)),
            _ => Some(None),
        },
        _ => None,
    }
}

fn plural_args(allowed: &[usize]) -> String {
    let words: Vec<String> = allowed.iter().map(|n| n.to_string()).collect();
    let list = match words.len() {
        1 => words[0].clone(),
        _ => format!(
            "{} or {}",
            words[..words.len() - 1].join(", "),
            words[words.len() - 1]
        ),
    };
    let one = allowed == [1];
    format!("{list} argument{}", if one { "" } else { "s" })
}
