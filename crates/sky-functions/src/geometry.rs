//! Geometry on the unit sphere, in degrees, as ADQL 2.1 §4.2 defines it.
//!
//! Values travel through DataFusion as `List<Float64>`. Simple shapes use
//! the DALI 1.1 §3.3 serialisation: a point is `[ra, dec]`, a circle
//! `[ra, dec, radius]`, a polygon `[ra1, dec1, ra2, dec2, …]` with at least
//! three vertices; the lengths never collide, so a simple shape's kind is
//! known from its length alone.
//!
//! Compound regions (STC-S `Union`, `Intersection`, `Not`, as TAP takes them
//! in REGION; ADQL 2.1 §4.2.12) have no DALI serialisation. They are encoded
//! as `[NaN, op, n, len₁, child₁…, len₂, child₂…, …]`: a NaN first, then the
//! operator (1 union, 2 intersection, 3 not), the number of operands, and
//! each operand's own encoding preceded by its length (operands may be
//! compound in turn). A simple shape never starts with NaN (its first value
//! is a longitude, checked finite when the shape is built), so the leading
//! NaN tells a compound from a polygon whatever its length; a value that
//! starts with NaN and does not decode exactly is refused, never read as a
//! polygon.
//!
//! Polygon edges are great-circle arcs; the interior is the smaller of the two
//! regions the edges enclose, whatever the vertex order. CONTAINS and
//! INTERSECTS of simple shapes are closed-form; with a compound region they
//! are decided exactly on the arrangement of the shapes' boundaries (see
//! [`crate::boolean`]).

use crate::Error;

/// A position in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLat {
    /// Longitude (right ascension), degrees.
    pub lon: f64,
    /// Latitude (declination), degrees.
    pub lat: f64,
}

/// A geometry value.
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    /// A position.
    Point(LonLat),
    /// A spherical cap: centre and radius in degrees.
    Circle(LonLat, f64),
    /// A spherical polygon with great-circle edges.
    Polygon(Vec<LonLat>),
    /// Points in any of the operands (STC-S `Union`).
    Union(Vec<Geometry>),
    /// Points in all of the operands (STC-S `Intersection`).
    Intersection(Vec<Geometry>),
    /// Points not in the operand (STC-S `Not`).
    Not(Box<Geometry>),
}

/// Operator codes of the compound encoding (see the module documentation).
const UNION: f64 = 1.0;
const INTERSECTION: f64 = 2.0;
const NOT: f64 = 3.0;
/// Deepest nesting of compound regions read or parsed.
pub const MAX_COMPOUND_DEPTH: usize = 32;
/// The most parts ([`Geometry::parts`]: vertices, circles, points) a
/// compound region may have in all, checked wherever one is made (REGION
/// text, the value encoding). Testing a point against a region takes time
/// in proportion to its parts.
pub const MAX_REGION_PARTS: usize = 1000;
/// The most parts CONTAINS and INTERSECTS take in their two operands
/// together when a compound region is compared with anything but a point
/// ([`Geometry::try_contains`], [`Geometry::try_intersects`]). Deciding that
/// on the arrangement of their boundaries costs up to the cube of the parts
/// (as many crossings as pairs of curves, each point tested against every
/// shape): measured in an optimised build, the worst arrangements found
/// (every curve crossing every other) take about half a second at this
/// limit, and would take about a minute at 1,000.
pub const MAX_ARRANGEMENT_PARTS: usize = 200;

pub(crate) type V3 = [f64; 3];

pub(crate) fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub(crate) fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}

pub(crate) fn scale(a: V3, k: f64) -> V3 {
    [a[0] * k, a[1] * k, a[2] * k]
}

pub(crate) fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub(crate) fn unit(a: V3) -> V3 {
    scale(a, 1.0 / norm(a))
}

impl LonLat {
    /// A position; longitude is kept as given.
    pub fn new(lon: f64, lat: f64) -> Self {
        LonLat { lon, lat }
    }

    pub(crate) fn vec(self) -> V3 {
        let (lon, lat) = (self.lon.to_radians(), self.lat.to_radians());
        [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
    }

    pub(crate) fn from_vec(v: V3) -> Self {
        let n = norm(v);
        let lat = (v[2] / n).clamp(-1.0, 1.0).asin().to_degrees();
        let mut lon = v[1].atan2(v[0]).to_degrees();
        if lon < 0.0 {
            lon += 360.0;
        }
        LonLat { lon, lat }
    }
}

/// Great-circle distance in degrees (haversine form: exact for small angles).
pub fn distance(a: LonLat, b: LonLat) -> f64 {
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = la2 - la1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    (2.0 * h.sqrt().clamp(0.0, 1.0).asin()).to_degrees()
}

/// Angle in degrees from `p` to the great-circle arc `a`–`b`.
pub(crate) fn distance_to_arc(p: V3, a: V3, b: V3) -> f64 {
    let n = cross(a, b);
    let nn = norm(n);
    let to_deg = |v: V3| LonLat::from_vec(v);
    if nn < 1e-15 {
        return distance(to_deg(p), to_deg(a));
    }
    let n = scale(n, 1.0 / nn);
    // Projection of p on the great circle; on the arc if between a and b.
    let proj = add(p, scale(n, -dot(p, n)));
    if norm(proj) > 1e-15 && dot(cross(a, proj), n) >= 0.0 && dot(cross(proj, b), n) >= 0.0 {
        return dot(p, n).abs().clamp(0.0, 1.0).asin().to_degrees();
    }
    distance(to_deg(p), to_deg(a)).min(distance(to_deg(p), to_deg(b)))
}

/// True if the arcs `a1`–`a2` and `b1`–`b2` cross.
fn arcs_cross(a1: V3, a2: V3, b1: V3, b2: V3) -> bool {
    let na = cross(a1, a2);
    let nb = cross(b1, b2);
    let s1 = dot(na, b1);
    let s2 = dot(na, b2);
    let s3 = dot(nb, a1);
    let s4 = dot(nb, a2);
    if s1 * s2 >= 0.0 || s3 * s4 >= 0.0 {
        return false;
    }
    // The great circles meet at ±x; the arcs cross if one of them lies on both.
    let x = cross(na, nb);
    let on = |x: V3, p: V3, q: V3, n: V3| dot(cross(p, x), n) >= 0.0 && dot(cross(x, q), n) >= 0.0;
    (on(x, a1, a2, na) && on(x, b1, b2, nb)) || {
        let y = scale(x, -1.0);
        on(y, a1, a2, na) && on(y, b1, b2, nb)
    }
}

/// Winding test: the sum of the angles the edges subtend around `p` is ±2π
/// inside and 0 outside. Seen from the antipode a small loop winds too, so
/// `p` must also lie in the hemisphere around the vertices' mean direction
/// (polygons are taken to be smaller than a hemisphere, as in pgsphere).
pub(crate) fn polygon_contains_vec(vertices: &[V3], p: V3) -> bool {
    let mean = vertices.iter().fold([0.0; 3], |s, v| add(s, *v));
    if dot(mean, p) <= 0.0 {
        return false;
    }
    let mut total = 0.0;
    for i in 0..vertices.len() {
        let a = vertices[i];
        let b = vertices[(i + 1) % vertices.len()];
        let y = dot(cross(a, b), p);
        let x = dot(a, b) - dot(a, p) * dot(b, p);
        total += y.atan2(x);
    }
    total.abs() > std::f64::consts::PI
}

impl Geometry {
    /// Reads a value: a compound region if it starts with NaN, else a DALI
    /// shape whose kind follows from its length.
    pub fn from_values(v: &[f64]) -> Result<Geometry, Error> {
        if v.first().is_some_and(|x| x.is_nan()) {
            let (g, used) = decode_compound(v, 0)?;
            if used != v.len() {
                return Err(bad_compound());
            }
            check_region_parts(&g)?;
            return Ok(g);
        }
        match v.len() {
            2 => Ok(Geometry::Point(LonLat::new(v[0], v[1]))),
            3 => Ok(Geometry::Circle(LonLat::new(v[0], v[1]), v[2])),
            n if n >= 6 && n % 2 == 0 => Ok(Geometry::Polygon(
                v.chunks(2).map(|c| LonLat::new(c[0], c[1])).collect(),
            )),
            n => Err(Error::InvalidGeometry(format!(
                "{n} numbers are not a point (2), circle (3) or polygon (6 or more, even)"
            ))),
        }
    }

    /// The DALI serialisation of a simple shape; the encoding of the module
    /// documentation for a compound region.
    pub fn to_values(&self) -> Vec<f64> {
        match self {
            Geometry::Point(p) => vec![p.lon, p.lat],
            Geometry::Circle(c, r) => vec![c.lon, c.lat, *r],
            Geometry::Polygon(vs) => vs.iter().flat_map(|p| [p.lon, p.lat]).collect(),
            Geometry::Union(gs) | Geometry::Intersection(gs) => {
                let op = if matches!(self, Geometry::Union(_)) {
                    UNION
                } else {
                    INTERSECTION
                };
                encode_compound(op, gs.iter())
            }
            Geometry::Not(g) => encode_compound(NOT, std::iter::once(g.as_ref())),
        }
    }

    /// True for Union, Intersection and Not.
    pub fn is_compound(&self) -> bool {
        matches!(
            self,
            Geometry::Union(_) | Geometry::Intersection(_) | Geometry::Not(_)
        )
    }

    /// The DALI xtype: point, circle or polygon; `shape` for a compound region.
    pub fn xtype(&self) -> &'static str {
        match self {
            Geometry::Point(_) => "point",
            Geometry::Circle(..) => "circle",
            Geometry::Polygon(_) => "polygon",
            _ => "shape",
        }
    }

    /// A coordinate-aligned box as a polygon: corners at centre ± half width
    /// and height (ADQL 2.0 §2.4.4 BOX, deprecated in 2.1 but still accepted).
    pub fn boxed(center: LonLat, width: f64, height: f64) -> Geometry {
        let (w, h) = (width / 2.0, height / 2.0);
        let (lo, hi) = ((center.lat - h).max(-90.0), (center.lat + h).min(90.0));
        Geometry::Polygon(vec![
            LonLat::new(center.lon - w, lo),
            LonLat::new(center.lon + w, lo),
            LonLat::new(center.lon + w, hi),
            LonLat::new(center.lon - w, hi),
        ])
    }

    /// Checks ranges: latitudes within ±90°, radius within [0, 180].
    pub fn validate(&self) -> Result<(), Error> {
        let check = |p: &LonLat| {
            if !(-90.0..=90.0).contains(&p.lat) || !p.lon.is_finite() {
                Err(Error::InvalidGeometry(format!(
                    "position ({}, {}) is off the sphere: latitude must be within ±90°",
                    p.lon, p.lat
                )))
            } else {
                Ok(())
            }
        };
        match self {
            Geometry::Point(p) => check(p),
            Geometry::Circle(c, r) => {
                check(c)?;
                if !(0.0..=180.0).contains(r) {
                    return Err(Error::InvalidGeometry(format!(
                        "circle radius {r} must be between 0 and 180 degrees"
                    )));
                }
                Ok(())
            }
            Geometry::Polygon(vs) => vs.iter().try_for_each(check),
            Geometry::Union(gs) | Geometry::Intersection(gs) => {
                gs.iter().try_for_each(Geometry::validate)
            }
            Geometry::Not(g) => g.validate(),
        }
    }

    /// The points and curves the shape is made of: 1 for a point or a
    /// circle, a polygon's vertices (as many as its edges), the sum of the
    /// operands' for a compound region. What CONTAINS and INTERSECTS with a
    /// compound region cost grows with its cube (see [`crate::boolean`]).
    pub fn parts(&self) -> usize {
        match self {
            Geometry::Point(_) | Geometry::Circle(..) => 1,
            Geometry::Polygon(vs) => vs.len(),
            Geometry::Union(gs) | Geometry::Intersection(gs) => {
                gs.iter().map(Geometry::parts).sum()
            }
            Geometry::Not(g) => g.parts(),
        }
    }

    pub(crate) fn vertices(&self) -> Vec<V3> {
        match self {
            Geometry::Polygon(vs) => vs.iter().map(|p| p.vec()).collect(),
            _ => Vec::new(),
        }
    }

    fn contains_point(&self, p: LonLat) -> bool {
        match self {
            Geometry::Point(q) => distance(*q, p) == 0.0,
            Geometry::Circle(c, r) => distance(*c, p) <= *r,
            Geometry::Polygon(_) => polygon_contains_vec(&self.vertices(), p.vec()),
            compound => crate::boolean::covers(compound, p.vec()),
        }
    }

    /// [`Geometry::contains`] within [`MAX_ARRANGEMENT_PARTS`]: an error,
    /// saying what to change, when the operands are too large to compare.
    /// For geometry from a query or a table.
    pub fn try_contains(&self, inner: &Geometry) -> Result<bool, Error> {
        let on_arrangement =
            !matches!(inner, Geometry::Point(_)) && (self.is_compound() || inner.is_compound());
        if on_arrangement {
            check_arrangement("CONTAINS", self, inner)?;
        }
        Ok(self.contains(inner))
    }

    /// [`Geometry::intersects`] within [`MAX_ARRANGEMENT_PARTS`], as
    /// [`Geometry::try_contains`].
    pub fn try_intersects(&self, other: &Geometry) -> Result<bool, Error> {
        let with_point = matches!(self, Geometry::Point(_)) || matches!(other, Geometry::Point(_));
        if !with_point && (self.is_compound() || other.is_compound()) {
            check_arrangement("INTERSECTS", self, other)?;
        }
        Ok(self.intersects(other))
    }

    /// ADQL CONTAINS: true if `inner` lies wholly within `self`. With a
    /// compound region its cost grows with the cube of the parts; input
    /// from outside goes through [`Geometry::try_contains`].
    pub fn contains(&self, inner: &Geometry) -> bool {
        if let Geometry::Point(p) = inner {
            return self.contains_point(*p);
        }
        if self.is_compound() || inner.is_compound() {
            return crate::boolean::contains(self, inner);
        }
        match (inner, self) {
            (Geometry::Point(p), outer) => outer.contains_point(*p),
            (_, Geometry::Point(_)) => false,
            (Geometry::Circle(c, r), Geometry::Circle(oc, or)) => distance(*c, *oc) + r <= *or,
            (Geometry::Polygon(vs), Geometry::Circle(..)) => {
                // A cap of radius ≤ 90° is convex: vertices inside keep the arcs inside.
                vs.iter().all(|v| self.contains_point(*v))
            }
            (Geometry::Circle(c, r), Geometry::Polygon(_)) => {
                let verts = self.vertices();
                let cv = c.vec();
                polygon_contains_vec(&verts, cv)
                    && (0..verts.len())
                        .all(|i| distance_to_arc(cv, verts[i], verts[(i + 1) % verts.len()]) >= *r)
            }
            (Geometry::Polygon(_), Geometry::Polygon(_)) => {
                let inner_v = inner.vertices();
                let outer_v = self.vertices();
                inner_v.iter().all(|v| polygon_contains_vec(&outer_v, *v))
                    && !edges_cross(&inner_v, &outer_v)
            }
            _ => crate::boolean::contains(self, inner),
        }
    }

    /// ADQL INTERSECTS: true if the two regions share at least one point.
    /// With a compound region and no point its cost grows with the cube of
    /// the parts; input from outside goes through
    /// [`Geometry::try_intersects`].
    pub fn intersects(&self, other: &Geometry) -> bool {
        // A point meets a region exactly where the region covers it: no
        // arrangement needed, whatever the region.
        match (self, other) {
            (Geometry::Point(p), g) | (g, Geometry::Point(p)) => return g.contains_point(*p),
            _ => {}
        }
        if self.is_compound() || other.is_compound() {
            return crate::boolean::intersects(self, other);
        }
        match (self, other) {
            (Geometry::Point(p), g) | (g, Geometry::Point(p)) => g.contains_point(*p),
            (Geometry::Circle(a, ra), Geometry::Circle(b, rb)) => distance(*a, *b) <= ra + rb,
            (Geometry::Circle(c, r), poly @ Geometry::Polygon(_))
            | (poly @ Geometry::Polygon(_), Geometry::Circle(c, r)) => {
                let verts = poly.vertices();
                let cv = c.vec();
                polygon_contains_vec(&verts, cv)
                    || (0..verts.len())
                        .any(|i| distance_to_arc(cv, verts[i], verts[(i + 1) % verts.len()]) <= *r)
            }
            (Geometry::Polygon(_), Geometry::Polygon(_)) => {
                let a = self.vertices();
                let b = other.vertices();
                a.iter().any(|v| polygon_contains_vec(&b, *v))
                    || b.iter().any(|v| polygon_contains_vec(&a, *v))
                    || edges_cross(&a, &b)
            }
            _ => crate::boolean::intersects(self, other),
        }
    }

    /// ADQL AREA, in square degrees; NaN for a compound region, whose area
    /// this crate does not compute (the UDF refuses it with a message).
    pub fn area(&self) -> f64 {
        let sr_to_deg2 = (180.0 / std::f64::consts::PI).powi(2);
        match self {
            Geometry::Point(_) => 0.0,
            Geometry::Circle(_, r) => {
                2.0 * std::f64::consts::PI * (1.0 - r.to_radians().cos()) * sr_to_deg2
            }
            Geometry::Polygon(_) => {
                let v = self.vertices();
                let excess = fan(&v).iter().map(|(e, _)| e).sum::<f64>().abs();
                let excess = if excess > 2.0 * std::f64::consts::PI {
                    4.0 * std::f64::consts::PI - excess
                } else {
                    excess
                };
                excess * sr_to_deg2
            }
            _ => f64::NAN,
        }
    }

    /// ADQL CENTROID: the centre of a circle, the area-weighted centre of a
    /// polygon; NaN for a compound region (the UDF refuses it with a message).
    pub fn centroid(&self) -> LonLat {
        match self {
            Geometry::Point(p) => *p,
            Geometry::Circle(c, _) => *c,
            Geometry::Polygon(_) => {
                let v = self.vertices();
                let mut sum = [0.0; 3];
                for (area, centre) in fan(&v) {
                    sum = add(sum, scale(centre, area));
                }
                if norm(sum) < 1e-15 {
                    sum = v.iter().fold([0.0; 3], |s, p| add(s, *p));
                }
                LonLat::from_vec(sum)
            }
            _ => LonLat::new(f64::NAN, f64::NAN),
        }
    }
}

/// The polygon as a fan of triangles from its first vertex: each triangle's
/// signed area (Van Oosterom & Strackee 1983) and unit centre.
fn fan(v: &[V3]) -> Vec<(f64, V3)> {
    (1..v.len().saturating_sub(1))
        .map(|i| {
            let (a, b, c) = (v[0], v[i], v[i + 1]);
            let num = dot(a, cross(b, c));
            let den = 1.0 + dot(a, b) + dot(b, c) + dot(c, a);
            let e = 2.0 * num.atan2(den);
            let m = add(add(a, b), c);
            (e, scale(m, 1.0 / norm(m).max(1e-300)))
        })
        .collect()
}

fn edges_cross(a: &[V3], b: &[V3]) -> bool {
    (0..a.len()).any(|i| {
        (0..b.len()).any(|j| arcs_cross(a[i], a[(i + 1) % a.len()], b[j], b[(j + 1) % b.len()]))
    })
}

pub use crate::stcs::parse_region;

/// Refuses a compound region of more than [`MAX_REGION_PARTS`] parts.
pub(crate) fn check_region_parts(g: &Geometry) -> Result<(), Error> {
    let parts = g.parts();
    if g.is_compound() && parts > MAX_REGION_PARTS {
        return Err(Error::InvalidGeometry(format!(
            "a compound region may have at most {MAX_REGION_PARTS} parts (vertices, circles and points) in all; this one has {parts}: simplify it, or split it into several conditions joined by OR"
        )));
    }
    Ok(())
}

/// Refuses to compare two geometries of more than [`MAX_ARRANGEMENT_PARTS`]
/// parts together when one is compound.
fn check_arrangement(function: &str, a: &Geometry, b: &Geometry) -> Result<(), Error> {
    let parts = a.parts() + b.parts();
    if parts > MAX_ARRANGEMENT_PARTS {
        return Err(Error::InvalidGeometry(format!(
            "{function} with a compound region takes at most {MAX_ARRANGEMENT_PARTS} parts (vertices, circles and points) in its two arguments together, unless one is a POINT; these have {parts}: simplify the regions, or split a Union into several conditions joined by OR"
        )));
    }
    Ok(())
}

fn bad_compound() -> Error {
    Error::InvalidGeometry(
        "a value starting with NaN is not a valid compound region (Union, Intersection, Not)"
            .into(),
    )
}

fn encode_compound<'a>(op: f64, operands: impl Iterator<Item = &'a Geometry>) -> Vec<f64> {
    let mut out = vec![f64::NAN, op, 0.0];
    let mut n = 0usize;
    for g in operands {
        let v = g.to_values();
        out.push(v.len() as f64);
        out.extend(v);
        n += 1;
    }
    out[2] = n as f64;
    out
}

/// A whole, non-negative number stored as a float, or None.
fn count(x: f64) -> Option<usize> {
    (x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 1e9).then_some(x as usize)
}

/// Decodes the compound region at the start of `v`; returns it and the
/// number of values it used.
fn decode_compound(v: &[f64], depth: usize) -> Result<(Geometry, usize), Error> {
    if depth >= MAX_COMPOUND_DEPTH {
        return Err(Error::InvalidGeometry(format!(
            "compound regions nest at most {MAX_COMPOUND_DEPTH} deep"
        )));
    }
    let (Some(op), Some(n)) = (v.get(1), v.get(2).copied().and_then(count)) else {
        return Err(bad_compound());
    };
    let mut at = 3;
    let mut operands = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let len = v
            .get(at)
            .copied()
            .and_then(count)
            .ok_or_else(bad_compound)?;
        let body = v.get(at + 1..at + 1 + len).ok_or_else(bad_compound)?;
        let g = if body.first().is_some_and(|x| x.is_nan()) {
            let (g, used) = decode_compound(body, depth + 1)?;
            if used != len {
                return Err(bad_compound());
            }
            g
        } else {
            Geometry::from_values(body)?
        };
        operands.push(g);
        at += 1 + len;
    }
    let g = match *op {
        UNION if n >= 1 => Geometry::Union(operands),
        INTERSECTION if n >= 1 => Geometry::Intersection(operands),
        NOT if n == 1 => Geometry::Not(Box::new(operands.remove(0))),
        _ => return Err(bad_compound()),
    };
    Ok((g, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn distance_matches_reference_values() {
        assert!(close(
            distance(LonLat::new(0.0, 0.0), LonLat::new(90.0, 0.0)),
            90.0,
            1e-12
        ));
        assert!(close(
            distance(LonLat::new(10.0, 89.0), LonLat::new(190.0, 89.0)),
            2.0,
            1e-9
        ));
        // One milliarcsecond stays resolvable.
        let mas = 1.0 / 3_600_000.0;
        assert!(close(
            distance(LonLat::new(10.0, 20.0), LonLat::new(10.0, 20.0 + mas)),
            mas,
            1e-12
        ));
    }

    #[test]
    fn polygon_contains_either_orientation() {
        let ccw = Geometry::from_values(&[0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 0.0, 10.0]).unwrap();
        let cw = Geometry::from_values(&[0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 10.0, 0.0]).unwrap();
        for p in [&ccw, &cw] {
            assert!(p.contains(&Geometry::Point(LonLat::new(5.0, 5.0))));
            assert!(!p.contains(&Geometry::Point(LonLat::new(15.0, 5.0))));
        }
        // Across RA = 0.
        let wrap =
            Geometry::from_values(&[350.0, -5.0, 10.0, -5.0, 10.0, 5.0, 350.0, 5.0]).unwrap();
        assert!(wrap.contains(&Geometry::Point(LonLat::new(359.0, 0.0))));
        assert!(!wrap.contains(&Geometry::Point(LonLat::new(180.0, 0.0))));
    }

    #[test]
    fn areas() {
        let hemisphere = Geometry::Circle(LonLat::new(0.0, 90.0), 90.0);
        assert!(close(hemisphere.area(), 41252.96124941927 / 2.0, 1e-6));
        let octant = Geometry::from_values(&[0.0, 0.0, 90.0, 0.0, 0.0, 90.0]).unwrap();
        assert!(close(octant.area(), 41252.96124941927 / 8.0, 1e-6));
        let rev = Geometry::from_values(&[0.0, 90.0, 90.0, 0.0, 0.0, 0.0]).unwrap();
        assert!(close(rev.area(), octant.area(), 1e-9));
    }

    #[test]
    fn circle_and_polygon_relations() {
        let c = Geometry::Circle(LonLat::new(5.0, 5.0), 1.0);
        let sq = Geometry::from_values(&[0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 0.0, 10.0]).unwrap();
        assert!(sq.contains(&c));
        assert!(!c.contains(&sq));
        assert!(c.intersects(&sq) && sq.intersects(&c));
        let far = Geometry::Circle(LonLat::new(50.0, 5.0), 1.0);
        assert!(!far.intersects(&sq));
        let edge = Geometry::Circle(LonLat::new(10.5, 5.0), 1.0);
        assert!(edge.intersects(&sq) && !sq.contains(&edge));
        let big = Geometry::Circle(LonLat::new(5.0, 5.0), 20.0);
        assert!(big.contains(&sq));
    }

    #[test]
    fn polygons_crossing_without_vertices_inside() {
        let a = Geometry::from_values(&[0.0, -1.0, 10.0, -1.0, 10.0, 1.0, 0.0, 1.0]).unwrap();
        let b = Geometry::from_values(&[4.0, -10.0, 6.0, -10.0, 6.0, 10.0, 4.0, 10.0]).unwrap();
        assert!(a.intersects(&b));
        assert!(!a.contains(&b));
    }

    #[test]
    fn regions() {
        assert_eq!(
            parse_region("CIRCLE ICRS 10 20 1").unwrap(),
            Geometry::Circle(LonLat::new(10.0, 20.0), 1.0)
        );
        assert_eq!(
            parse_region("Position GEOCENTER 1 2").unwrap(),
            Geometry::Point(LonLat::new(1.0, 2.0))
        );
        assert!(
            matches!(parse_region("polygon 0 0 1 0 0 1").unwrap(), Geometry::Polygon(v) if v.len() == 3)
        );
        assert!(parse_region("CIRCLE 1 2").is_err());
        assert!(parse_region("CIRCLE 1 95 1").is_err());
    }

    #[test]
    fn compound_encoding_is_never_read_as_a_polygon() {
        let c = |ra, dec, r| Geometry::Circle(LonLat::new(ra, dec), r);
        let nested = Geometry::Union(vec![
            c(10.0, 10.0, 1.0),
            Geometry::Not(Box::new(Geometry::Intersection(vec![
                c(1.0, 1.0, 1.0),
                Geometry::from_values(&[0.0, 0.0, 1.0, 0.0, 0.0, 1.0]).unwrap(),
            ]))),
        ]);
        let v = nested.to_values();
        assert!(v[0].is_nan());
        assert_eq!(Geometry::from_values(&v).unwrap(), nested);
        // An even length, as a polygon has: still a compound.
        let even = Geometry::Not(Box::new(Geometry::Point(LonLat::new(1.0, 2.0))));
        let v = even.to_values();
        assert_eq!(v.len() % 2, 0, "{v:?}");
        assert_eq!(Geometry::from_values(&v).unwrap(), even);
        // Damaged encodings are refused, never taken for a polygon.
        let mut cut = nested.to_values();
        cut.pop();
        assert!(Geometry::from_values(&cut).is_err());
        for bad in [
            vec![f64::NAN, 1.0, 1.0, 99.0, 1.0, 2.0],
            vec![f64::NAN, 7.0, 1.0, 2.0, 1.0, 2.0],
            vec![f64::NAN, 3.0, 2.0, 2.0, 1.0, 2.0, 2.0, 1.0, 2.0],
            vec![f64::NAN, 1.0, -1.0],
            vec![f64::NAN],
        ] {
            assert!(Geometry::from_values(&bad).is_err(), "{bad:?}");
        }
        // Validation reaches the operands.
        assert!(Geometry::Union(vec![c(0.0, 95.0, 1.0)]).validate().is_err());
        assert_eq!(nested.xtype(), "shape");
    }

    /// A Union of `n` small circles along the equator, as STC-S.
    fn union_of_circles(n: usize) -> String {
        let circles: Vec<String> = (0..n)
            .map(|i| format!("Circle {} 0 0.01", i as f64 * 0.1))
            .collect();
        format!("Union ICRS ({})", circles.join(" "))
    }

    #[test]
    fn a_compound_region_has_at_most_max_region_parts() {
        let at_limit = parse_region(&union_of_circles(MAX_REGION_PARTS)).unwrap();
        assert_eq!(at_limit.parts(), MAX_REGION_PARTS);
        let e = parse_region(&union_of_circles(MAX_REGION_PARTS + 1))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a compound region may have at most 1000 parts (vertices, circles and points) in all; this one has 1001"),
            "{e}"
        );
        // Polygon vertices count, and so does the value encoding.
        let polygon: Vec<String> = (0..MAX_REGION_PARTS)
            .map(|i| format!("{} {}", i as f64 * 0.001, (i % 2) as f64 * 0.001))
            .collect();
        let text = format!("Not (Union (Polygon {} Circle 1 1 1))", polygon.join(" "));
        assert!(
            parse_region(&text)
                .unwrap_err()
                .to_string()
                .contains("has 1001")
        );
        let mut big = at_limit.clone();
        if let Geometry::Union(parts) = &mut big {
            parts.push(Geometry::Point(LonLat::new(1.0, 1.0)));
        }
        let e = Geometry::from_values(&big.to_values()).unwrap_err();
        assert!(e.to_string().contains("this one has 1001"), "{e}");
        // A simple polygon is not a compound region: no limit here.
        let many: Vec<f64> = (0..5000).flat_map(|i| [i as f64 * 0.001, 0.0]).collect();
        assert!(Geometry::from_values(&many).is_ok());
    }

    #[test]
    fn comparing_with_a_compound_region_is_limited_unless_a_point_takes_part() {
        let region = parse_region(&union_of_circles(MAX_REGION_PARTS)).unwrap();
        let point = Geometry::Point(LonLat::new(10.0, 0.0));
        assert_eq!(region.try_contains(&point), Ok(true));
        assert_eq!(point.try_intersects(&region), Ok(true));
        assert_eq!(region.try_intersects(&point), Ok(true));
        let off = Geometry::Point(LonLat::new(10.05, 0.0));
        assert_eq!(region.try_intersects(&off), Ok(false));
        let circle = Geometry::Circle(LonLat::new(10.0, 0.0), 0.001);
        for e in [
            region.try_contains(&circle).unwrap_err(),
            circle.try_intersects(&region).unwrap_err(),
        ] {
            let e = e.to_string();
            assert!(
                e.contains("with a compound region takes at most 200 parts (vertices, circles and points) in its two arguments together, unless one is a POINT; these have 1001"),
                "{e}"
            );
        }
        // Within the limit, the same answers as the unchecked functions.
        let small = parse_region(&union_of_circles(MAX_ARRANGEMENT_PARTS - 1)).unwrap();
        assert_eq!(small.try_contains(&circle), Ok(true));
        assert_eq!(circle.try_intersects(&small), Ok(true));
        let away = Geometry::Circle(LonLat::new(50.0, 0.0), 1.0);
        assert_eq!(small.try_intersects(&away), Ok(false));
        // Simple shapes never build an arrangement: no limit.
        let many: Vec<f64> = (0..1000)
            .flat_map(|i| {
                let a = i as f64 / 1000.0 * std::f64::consts::TAU;
                [5.0 * a.cos(), 5.0 * a.sin()]
            })
            .collect();
        let round = Geometry::from_values(&many).unwrap();
        assert_eq!(round.try_contains(&circle), Ok(false));
        assert_eq!(round.try_intersects(&away), Ok(false));
    }

    #[test]
    fn centroid_of_symmetric_polygon() {
        let sq = Geometry::from_values(&[-1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0]).unwrap();
        let c = sq.centroid();
        assert!(
            close(c.lat, 0.0, 1e-12) && (close(c.lon, 0.0, 1e-12) || close(c.lon, 360.0, 1e-12))
        );
    }
}
