//! CONTAINS and INTERSECTS when a compound region (Union, Intersection,
//! Not) takes part, decided on the arrangement of the shapes' boundaries.
//!
//! The boundaries of the simple shapes involved (circles; polygon edges,
//! which are great-circle arcs) cut the sphere into faces, and every face is
//! wholly inside or wholly outside each shape, so a boolean combination of
//! the shapes is a union of faces. Every face touches a *special point* (a
//! polygon vertex, a crossing of two boundaries, or, for a circle that
//! crosses nothing, any point of it) or is the whole sphere. So the
//! combination is non-empty exactly when it holds one of: the special
//! points themselves, points a small step away from them into each sector
//! the boundaries through them form, or a few fixed points for the whole
//! sphere. That decides INTERSECTS(a, b) (a ∩ b non-empty) and
//! CONTAINS(outer, inner) (inner \ outer empty) exactly, up to the step
//! (`STEP`, about 2 milliarcseconds) and the boundary tolerance (`EPS`):
//! shapes are closed, so shapes that only touch intersect.
//!
//! Cost: every pair of curves may cross, and every point is tested against
//! every shape, so the work grows with the cube of the parts (vertices,
//! circles, points); callers with input from outside go through
//! `Geometry::try_contains`/`try_intersects`, which cap it. Points are made
//! and tested one at a time and the search stops at the first that decides;
//! each region is prepared once ([`Shape`]), and the operand of fewer parts
//! is tested first, so the larger is classified only where the smaller
//! allows.
//!
//! Knows nothing of DataFusion or ADQL.

use crate::geometry::{
    Geometry, V3, add, cross, distance_to_arc, dot, norm, polygon_contains_vec, scale, unit,
};

/// How far from a boundary, in degrees, a point still counts as on it.
const EPS_DEG: f64 = 1e-9;
/// The step from a special point into a face, in radians (≈ 2 mas).
const STEP: f64 = 1e-8;

/// Where a point lies with respect to a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Inside,
    Boundary,
    Outside,
}

/// The angle between two unit vectors in degrees, as atan2(|a×b|, a·b):
/// exact at every angle, small or near 180°, without converting the point
/// tested to longitude and latitude (this runs for every point tested).
fn angle(a: V3, b: V3) -> f64 {
    norm(cross(a, b)).atan2(dot(a, b)).to_degrees()
}

/// A region ready to classify many points: positions as unit vectors and
/// each polygon's vertices, computed once per region rather than once per
/// point.
enum Shape {
    Point(V3),
    Circle(V3, f64),
    Polygon(Vec<V3>),
    Union(Vec<Shape>),
    Intersection(Vec<Shape>),
    Not(Box<Shape>),
}

impl Shape {
    fn new(g: &Geometry) -> Shape {
        match g {
            Geometry::Point(p) => Shape::Point(p.vec()),
            Geometry::Circle(c, r) => Shape::Circle(c.vec(), *r),
            Geometry::Polygon(_) => Shape::Polygon(g.vertices()),
            Geometry::Union(gs) => Shape::Union(gs.iter().map(Shape::new).collect()),
            Geometry::Intersection(gs) => Shape::Intersection(gs.iter().map(Shape::new).collect()),
            Geometry::Not(g) => Shape::Not(Box::new(Shape::new(g))),
        }
    }

    fn classify(&self, p: V3) -> Side {
        let side = |d: f64| {
            // d: signed distance in degrees, negative inside.
            if d.abs() <= EPS_DEG {
                Side::Boundary
            } else if d < 0.0 {
                Side::Inside
            } else {
                Side::Outside
            }
        };
        match self {
            Shape::Point(q) => side(angle(*q, p)),
            Shape::Circle(c, r) => side(angle(*c, p) - r),
            Shape::Polygon(v) => {
                let d = (0..v.len())
                    .map(|i| distance_to_arc(p, v[i], v[(i + 1) % v.len()]))
                    .fold(f64::INFINITY, f64::min);
                if d <= EPS_DEG {
                    Side::Boundary
                } else if polygon_contains_vec(v, p) {
                    Side::Inside
                } else {
                    Side::Outside
                }
            }
            // Inside one operand is inside the union, whatever the rest.
            Shape::Union(parts) => {
                let mut found = Side::Outside;
                for s in parts {
                    match s.classify(p) {
                        Side::Inside => return Side::Inside,
                        Side::Boundary => found = Side::Boundary,
                        Side::Outside => {}
                    }
                }
                found
            }
            // Outside one operand is outside the intersection.
            Shape::Intersection(parts) => {
                let mut found = Side::Inside;
                for s in parts {
                    match s.classify(p) {
                        Side::Outside => return Side::Outside,
                        Side::Boundary => found = Side::Boundary,
                        Side::Inside => {}
                    }
                }
                found
            }
            Shape::Not(s) => match s.classify(p) {
                Side::Inside => Side::Outside,
                Side::Outside => Side::Inside,
                Side::Boundary => Side::Boundary,
            },
        }
    }

    /// True if the point is in the closed region (its boundary included).
    fn covers(&self, p: V3) -> bool {
        self.classify(p) != Side::Outside
    }
}

/// True if `p` is in the closed region `g` (its boundary included).
pub(crate) fn covers(g: &Geometry, p: V3) -> bool {
    Shape::new(g).covers(p)
}

/// INTERSECTS: the closed regions share a point.
pub(crate) fn intersects(a: &Geometry, b: &Geometry) -> bool {
    let (sa, sb) = (Shape::new(a), Shape::new(b));
    // The region of fewer parts first: most points fail it, and the other
    // (often a compound region of many) is then never classified.
    let (first, second) = if a.parts() <= b.parts() {
        (&sa, &sb)
    } else {
        (&sb, &sa)
    };
    any_candidate(&[a, b], |p| first.covers(p) && second.covers(p))
}

/// CONTAINS(inner, outer): no point of `inner` lies outside `outer`.
pub(crate) fn contains(outer: &Geometry, inner: &Geometry) -> bool {
    let (so, si) = (Shape::new(outer), Shape::new(inner));
    // As in `intersects`: the cheaper test first.
    if outer.parts() <= inner.parts() {
        !any_candidate(&[outer, inner], |p| !so.covers(p) && si.covers(p))
    } else {
        !any_candidate(&[outer, inner], |p| si.covers(p) && !so.covers(p))
    }
}

/// A boundary curve: the points `x` with `x·axis = level` (a circle on the
/// sphere; a great circle when `level` is 0), limited to the arc from
/// `arc.0` to `arc.1` for a polygon edge.
#[derive(Debug, Clone, Copy)]
struct Curve {
    axis: V3,
    level: f64,
    arc: Option<(V3, V3)>,
}

impl Curve {
    fn holds(&self, x: V3) -> bool {
        match self.arc {
            None => true,
            Some((a, b)) => {
                let tol = 1e-12;
                dot(cross(a, x), self.axis) >= -tol && dot(cross(x, b), self.axis) >= -tol
            }
        }
    }

    /// The unit tangent of the curve at `x` (a point on it).
    fn tangent(&self, x: V3) -> Option<V3> {
        let t = cross(self.axis, x);
        (norm(t) > 1e-15).then(|| unit(t))
    }
}

/// Shapes and the boundary curves and special points of a set of regions.
#[derive(Default)]
struct Arrangement {
    curves: Vec<Curve>,
    /// Special points, each with the directions of the curves through it.
    points: Vec<(V3, Vec<V3>)>,
}

impl Arrangement {
    fn add(&mut self, g: &Geometry) {
        match g {
            Geometry::Point(p) => self.points.push((p.vec(), Vec::new())),
            Geometry::Circle(c, r) => {
                let axis = c.vec();
                let curve = Curve {
                    axis,
                    level: r.to_radians().cos(),
                    arc: None,
                };
                // The centre, and one point of the circle with its tangent.
                self.points.push((axis, Vec::new()));
                let helper = if axis[2].abs() < 0.9 {
                    [0.0, 0.0, 1.0]
                } else {
                    [1.0, 0.0, 0.0]
                };
                let off = unit(cross(axis, helper));
                let rad = r.to_radians();
                let on = add(scale(axis, rad.cos()), scale(off, rad.sin()));
                let dirs = curve.tangent(on).into_iter().collect();
                self.points.push((on, dirs));
                self.curves.push(curve);
            }
            Geometry::Polygon(_) => {
                let v = g.vertices();
                let n = v.len();
                for i in 0..n {
                    let (prev, here, next) = (v[(i + n - 1) % n], v[i], v[(i + 1) % n]);
                    // Directions from the vertex along its two edges.
                    let along = |to: V3| {
                        let t = add(to, scale(here, -dot(to, here)));
                        (norm(t) > 1e-15).then(|| unit(t))
                    };
                    let dirs = [along(prev), along(next)].into_iter().flatten().collect();
                    self.points.push((here, dirs));
                    let axis = cross(here, next);
                    if norm(axis) > 1e-15 {
                        self.curves.push(Curve {
                            axis: unit(axis),
                            level: 0.0,
                            arc: Some((here, next)),
                        });
                    }
                }
            }
            Geometry::Union(gs) | Geometry::Intersection(gs) => gs.iter().for_each(|g| self.add(g)),
            Geometry::Not(g) => self.add(g),
        }
    }
}

/// The points where the full circles of two curves meet (zero, one or two).
fn crossings(c1: &Curve, c2: &Curve) -> Vec<V3> {
    let k = dot(c1.axis, c2.axis);
    let det = 1.0 - k * k;
    if det < 1e-18 {
        // Same or opposite axes: the circles coincide or never meet.
        return Vec::new();
    }
    let alpha = (c1.level - c2.level * k) / det;
    let beta = (c2.level - c1.level * k) / det;
    let w = add(scale(c1.axis, alpha), scale(c2.axis, beta));
    let perp = cross(c1.axis, c2.axis);
    let gamma2 = (1.0 - dot(w, w)) / dot(perp, perp);
    if gamma2 < -1e-12 {
        return Vec::new();
    }
    let gamma = gamma2.max(0.0).sqrt();
    let mut out = vec![unit(add(w, scale(perp, gamma)))];
    if gamma > 0.0 {
        out.push(unit(add(w, scale(perp, -gamma))));
    }
    out
}

/// Whether `test` holds at one of the points to test: the special points,
/// steps from each into every sector the curves through it form (along and
/// across each tangent, and between each pair of tangents), and fixed
/// points for the whole sphere. Points are made and tested one at a time,
/// stopping at the first that passes: memory stays that of the curves,
/// whatever the number of crossings.
fn any_candidate(regions: &[&Geometry], mut test: impl FnMut(V3) -> bool) -> bool {
    let mut arr = Arrangement::default();
    for g in regions {
        arr.add(g);
    }
    let fixed: [V3; 6] = [
        [1.0, 0.0, 0.0],
        [-1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, -1.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.0, 0.0, -1.0],
    ];
    if fixed.into_iter().any(&mut test) {
        return true;
    }
    if arr
        .points
        .iter()
        .any(|(x, tangents)| around(*x, tangents, &mut test))
    {
        return true;
    }
    // Every point where two curves cross, with both tangents.
    for (i, c1) in arr.curves.iter().enumerate() {
        for c2 in &arr.curves[i + 1..] {
            for x in crossings(c1, c2) {
                if c1.holds(x) && c2.holds(x) {
                    let tangents: Vec<V3> = [c1.tangent(x), c2.tangent(x)]
                        .into_iter()
                        .flatten()
                        .collect();
                    if around(x, &tangents, &mut test) {
                        return true;
                    }
                }
            }
        }
    }
    false
}

/// Whether `test` holds at the special point `x` or a step from it into a
/// sector of the curves through it (`tangents`: their directions there).
fn around(x: V3, tangents: &[V3], test: &mut impl FnMut(V3) -> bool) -> bool {
    if test(x) {
        return true;
    }
    let mut dirs: Vec<V3> = Vec::new();
    for t in tangents {
        let across = cross(x, *t);
        dirs.extend([*t, scale(*t, -1.0), across, scale(across, -1.0)]);
    }
    for (i, a) in tangents.iter().enumerate() {
        for b in &tangents[i + 1..] {
            for (sa, sb) in [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)] {
                let d = add(scale(*a, sa), scale(*b, sb));
                if norm(d) > 1e-9 {
                    dirs.push(unit(d));
                }
            }
        }
    }
    if tangents.is_empty() {
        // A lone point (a POINT, a circle's centre): steps all around it.
        let helper = if x[2].abs() < 0.9 {
            [0.0, 0.0, 1.0]
        } else {
            [1.0, 0.0, 0.0]
        };
        let e1 = unit(cross(x, helper));
        let e2 = cross(x, e1);
        dirs.extend([e1, scale(e1, -1.0), e2, scale(e2, -1.0)]);
    }
    dirs.into_iter()
        .any(|d| test(unit(add(scale(x, STEP.cos()), scale(d, STEP.sin())))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{LonLat, parse_region};

    fn region(s: &str) -> Geometry {
        parse_region(s).unwrap()
    }

    fn circle(ra: f64, dec: f64, r: f64) -> Geometry {
        Geometry::Circle(LonLat::new(ra, dec), r)
    }

    fn point(ra: f64, dec: f64) -> Geometry {
        Geometry::Point(LonLat::new(ra, dec))
    }

    #[test]
    fn points_in_compound_regions() {
        let u = region("Union ICRS (Circle 0 0 2 Circle 3 0 2)");
        let i = region("Intersection ICRS (Circle 0 0 2 Circle 3 0 2)");
        let n = region("Not (Circle 0 0 2)");
        assert!(u.contains(&point(-1.5, 0.0)) && u.contains(&point(4.5, 0.0)));
        assert!(!u.contains(&point(1.5, 1.9)));
        assert!(i.contains(&point(1.5, 0.0)) && !i.contains(&point(-1.5, 0.0)));
        assert!(n.contains(&point(10.0, 10.0)) && !n.contains(&point(0.5, 0.5)));
        // Boundaries belong to the region, as for a circle alone.
        assert!(n.contains(&point(2.0, 0.0)));
        assert!(u.intersects(&point(1.0, 0.0)) && point(1.0, 0.0).intersects(&u));
    }

    #[test]
    fn intersects_an_intersection_exactly() {
        // The lens of two circles reaches up to dec ≈ 1.32; this circle meets
        // both circles but not the lens, so testing each operand would be wrong.
        let lens = region("Intersection ICRS (Circle 0 0 2 Circle 3 0 2)");
        let above = circle(1.5, 2.6, 1.2);
        assert!(above.intersects(&circle(0.0, 0.0, 2.0)));
        assert!(above.intersects(&circle(3.0, 0.0, 2.0)));
        assert!(!above.intersects(&lens) && !lens.intersects(&above));
        assert!(circle(1.5, 2.4, 1.2).intersects(&lens));
        // A polygon crossing the lens without a vertex inside it.
        let band = Geometry::from_values(&[1.4, -5.0, 1.6, -5.0, 1.6, 5.0, 1.4, 5.0]).unwrap();
        assert!(band.intersects(&lens));
    }

    #[test]
    fn complements_and_unions() {
        let hole = region("Not (Circle 0 0 2)");
        assert!(!circle(0.5, 0.0, 1.0).intersects(&hole));
        assert!(circle(1.5, 0.0, 1.0).intersects(&hole));
        // Touching counts: the regions are closed.
        assert!(circle(3.0, 0.0, 1.0).intersects(&region("Union (Circle 0 0 2)")));
        assert!(!circle(3.0, 0.0, 0.99).intersects(&region("Union (Circle 0 0 2)")));
        assert!(circle(0.0, 0.0, 1.0).intersects(&region("Union (Circle 0 3 1 Circle 0 0 0.1)")));
        // A circle in the union of two, in neither alone.
        let u = region("Union ICRS (Circle 0 0 2 Circle 3 0 2)");
        assert!(u.contains(&circle(1.5, 0.0, 1.0)));
        assert!(!circle(0.0, 0.0, 2.0).contains(&circle(1.5, 0.0, 1.0)));
        assert!(!u.contains(&circle(1.5, 0.0, 1.5)));
        // Contained in a complement: nowhere near the hole.
        assert!(hole.contains(&circle(10.0, 0.0, 1.0)));
        assert!(!hole.contains(&circle(2.0, 0.0, 1.0)));
        // A compound inside a simple shape.
        assert!(circle(1.5, 0.0, 5.0).contains(&u));
        assert!(!circle(1.5, 0.0, 3.0).contains(&u));
        // A ring: inside the big circle, outside the small one.
        let ring = region("Difference (Circle 0 0 3 Circle 0 0 1)");
        assert!(ring.contains(&circle(2.0, 0.0, 0.5)));
        assert!(!ring.contains(&circle(0.5, 0.0, 0.2)));
        assert!(!ring.intersects(&circle(0.0, 0.0, 0.5)));
        assert!(ring.intersects(&circle(0.0, 0.0, 1.5)));
    }

    #[test]
    fn polygon_operands() {
        let u = region("Union ICRS (Polygon 0 0 2 0 2 2 0 2 Polygon 2 0 4 0 4 2 2 2)");
        assert!(u.contains(&circle(2.0, 1.0, 0.5)));
        assert!(!u.contains(&circle(2.0, 1.0, 1.5)));
        assert!(!u.intersects(&circle(2.0, 5.0, 1.0)));
        assert!(u.intersects(&circle(2.0, 3.0, 1.5)));
    }
}
