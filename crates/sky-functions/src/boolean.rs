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
//! Knows nothing of DataFusion or ADQL.

use crate::geometry::{
    Geometry, LonLat, V3, add, cross, distance, distance_to_arc, dot, norm, polygon_contains_vec,
    scale, unit,
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

fn classify(g: &Geometry, p: V3) -> Side {
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
    match g {
        Geometry::Point(q) => side(distance(*q, LonLat::from_vec(p))),
        Geometry::Circle(c, r) => side(distance(*c, LonLat::from_vec(p)) - r),
        Geometry::Polygon(_) => {
            let v = g.vertices();
            let d = (0..v.len())
                .map(|i| distance_to_arc(p, v[i], v[(i + 1) % v.len()]))
                .fold(f64::INFINITY, f64::min);
            if d <= EPS_DEG {
                Side::Boundary
            } else if polygon_contains_vec(&v, p) {
                Side::Inside
            } else {
                Side::Outside
            }
        }
        Geometry::Union(gs) => {
            let sides: Vec<Side> = gs.iter().map(|g| classify(g, p)).collect();
            if sides.contains(&Side::Inside) {
                Side::Inside
            } else if sides.contains(&Side::Boundary) {
                Side::Boundary
            } else {
                Side::Outside
            }
        }
        Geometry::Intersection(gs) => {
            let sides: Vec<Side> = gs.iter().map(|g| classify(g, p)).collect();
            if sides.contains(&Side::Outside) {
                Side::Outside
            } else if sides.contains(&Side::Boundary) {
                Side::Boundary
            } else {
                Side::Inside
            }
        }
        Geometry::Not(g) => match classify(g, p) {
            Side::Inside => Side::Outside,
            Side::Outside => Side::Inside,
            Side::Boundary => Side::Boundary,
        },
    }
}

/// True if `p` is in the closed region `g` (its boundary included).
pub(crate) fn covers(g: &Geometry, p: V3) -> bool {
    classify(g, p) != Side::Outside
}

/// INTERSECTS: the closed regions share a point.
pub(crate) fn intersects(a: &Geometry, b: &Geometry) -> bool {
    candidates(&[a, b])
        .into_iter()
        .any(|p| covers(a, p) && covers(b, p))
}

/// CONTAINS(inner, outer): no point of `inner` lies outside `outer`.
pub(crate) fn contains(outer: &Geometry, inner: &Geometry) -> bool {
    candidates(&[outer, inner])
        .into_iter()
        .all(|p| !covers(inner, p) || covers(outer, p))
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

    /// Adds every point where two curves cross, with both tangents.
    fn add_crossings(&mut self) {
        for i in 0..self.curves.len() {
            for j in i + 1..self.curves.len() {
                let (c1, c2) = (self.curves[i], self.curves[j]);
                for x in crossings(&c1, &c2) {
                    if c1.holds(x) && c2.holds(x) {
                        let dirs = [c1.tangent(x), c2.tangent(x)]
                            .into_iter()
                            .flatten()
                            .collect();
                        self.points.push((x, dirs));
                    }
                }
            }
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

/// The points to test: special points, and steps from each into every
/// sector the curves through it form (along and across each tangent, and
/// between each pair of tangents), and fixed points for the whole sphere.
fn candidates(regions: &[&Geometry]) -> Vec<V3> {
    let mut arr = Arrangement::default();
    for g in regions {
        arr.add(g);
    }
    arr.add_crossings();
    let mut out: Vec<V3> = vec![
        [1.0, 0.0, 0.0],
        [-1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, -1.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.0, 0.0, -1.0],
    ];
    for (x, tangents) in &arr.points {
        out.push(*x);
        let mut dirs: Vec<V3> = Vec::new();
        for t in tangents {
            let across = cross(*x, *t);
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
            let e1 = unit(cross(*x, helper));
            let e2 = cross(*x, e1);
            dirs.extend([e1, scale(e1, -1.0), e2, scale(e2, -1.0)]);
        }
        for d in dirs {
            out.push(unit(add(scale(*x, STEP.cos()), scale(d, STEP.sin()))));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::parse_region;

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
