//! The sky index: which HEALPix cells a region can hold points in.
//!
//! Tables with a main position carry the NESTED HEALPix index of each row at
//! [`SKY_INDEX_ORDER`] and are sorted by it, so a set of index ranges that
//! covers a region selects the row groups and pages that can hold its
//! points. Everything here is *conservative*: a range set may cover more
//! than the region, never less, because the planner keeps the exact
//! predicate beside it and relies on "inside the region ⇒ inside a range".

use crate::geometry::{Geometry, LonLat, V3, add, distance};
use catalog_model::SKY_INDEX_ORDER;
use cdshealpix::nested;
use std::ops::Range;

/// Most ranges a region's index predicate gets: beyond this, the nearest
/// ranges are merged (covering more sky, and more pages, but keeping the
/// predicate quick for the pruning and the per-row filter alike).
pub const MAX_RANGES: usize = 32;

/// Added to every radius, in degrees (3.6 milliarcseconds): our distance
/// and cdshealpix's are computed differently, and a position exactly on a
/// region's edge must fall inside its cover.
const EDGE_MARGIN_DEG: f64 = 1e-6;

/// The largest cap the index is used for: beyond about 48° cdshealpix has
/// no starting depth, and such a region reads most of the sky anyway.
const MAX_CAP_RADIUS_DEG: f64 = 45.0;

/// Half-open ranges of [`SKY_INDEX_ORDER`] indices that hold every position
/// of `region`, sorted and disjoint, at most [`MAX_RANGES`]; `None` where no
/// useful cover exists (a complement, a region larger than a hemisphere,
/// invalid coordinates).
pub fn index_ranges(region: &Geometry) -> Option<Vec<Range<u64>>> {
    let mut ranges = cover(region)?;
    coarsen(&mut ranges, MAX_RANGES);
    Some(ranges)
}

fn cover(region: &Geometry) -> Option<Vec<Range<u64>>> {
    match region {
        Geometry::Point(p) => cap_ranges(*p, 0.0),
        Geometry::Circle(c, r) => cap_ranges(*c, *r),
        Geometry::Polygon(vertices) => {
            let (centre, radius) = bounding_cap(vertices)?;
            cap_ranges(centre, radius)
        }
        Geometry::Union(parts) => {
            let mut all = Vec::new();
            for part in parts {
                all.extend(cover(part)?);
            }
            Some(normalise(all))
        }
        // Inside all parts: inside the cover of each one that has a cover.
        Geometry::Intersection(parts) => parts
            .iter()
            .filter_map(cover)
            .reduce(|a, b| intersect(&a, &b)),
        Geometry::Not(_) => None,
    }
}

/// A cap holding a polygon (taken, as everywhere in this crate, to be the
/// smaller side of its edges): centred on the vertices' mean direction and
/// reaching the farthest vertex. A cap under 90° is convex on the sphere,
/// so the great-circle edges between vertices inside it stay inside.
fn bounding_cap(vertices: &[LonLat]) -> Option<(LonLat, f64)> {
    let mean: V3 = vertices.iter().fold([0.0; 3], |s, v| add(s, v.vec()));
    if mean.iter().all(|x| x.abs() < 1e-12) {
        return None;
    }
    let centre = LonLat::from_vec(mean);
    let radius = vertices
        .iter()
        .map(|v| distance(centre, *v))
        .fold(0.0, f64::max);
    Some((centre, radius))
}

/// The cells of a cap at a depth where it spans a handful of cells per
/// side, as ranges at [`SKY_INDEX_ORDER`].
fn cap_ranges(centre: LonLat, radius_deg: f64) -> Option<Vec<Range<u64>>> {
    if !centre.lon.is_finite()
        || !(-90.0..=90.0).contains(&centre.lat)
        || !(0.0..=MAX_CAP_RADIUS_DEG).contains(&radius_deg)
    {
        return None;
    }
    let radius = (radius_deg + EDGE_MARGIN_DEG).to_radians();
    // Two orders below the depth at which the cap spans at most 9 cells:
    // cells a quarter of the radius or so, a cover close to the circle.
    let depth = (cdshealpix::best_starting_depth(radius) + 2).min(SKY_INDEX_ORDER);
    let lon = centre.lon.rem_euclid(360.0).to_radians();
    let bmoc = nested::cone_coverage_approx(depth, lon, centre.lat.to_radians(), radius);
    let shift = 2 * u32::from(SKY_INDEX_ORDER - depth);
    Some(
        bmoc.to_ranges()
            .iter()
            .map(|r| (r.start << shift)..(r.end << shift))
            .collect(),
    )
}

/// Sorts and merges overlapping or touching ranges.
fn normalise(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// The parts two sorted, disjoint range lists share.
fn intersect(a: &[Range<u64>], b: &[Range<u64>]) -> Vec<Range<u64>> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let start = a[i].start.max(b[j].start);
        let end = a[i].end.min(b[j].end);
        if start < end {
            out.push(start..end);
        }
        if a[i].end < b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Merges the ranges separated by the smallest gaps until at most `max`
/// remain: the cover grows, never shrinks.
fn coarsen(ranges: &mut Vec<Range<u64>>, max: usize) {
    while ranges.len() > max.max(1) {
        let Some(i) = (0..ranges.len() - 1).min_by_key(|&i| ranges[i + 1].start - ranges[i].end)
        else {
            return;
        };
        ranges[i].end = ranges[i + 1].end;
        ranges.remove(i + 1);
    }
}

/// The HEALPix depth at which a crossmatch of radius `radius_deg` pairs
/// cells: the deepest at which a circle of that radius overlaps at most the
/// cell of its centre and the 8 around it. `None` for radii too large for
/// cells to help (over about 45°).
pub fn crossmatch_depth(radius_deg: f64) -> Option<u8> {
    if !(0.0..=MAX_CAP_RADIUS_DEG).contains(&radius_deg) {
        return None;
    }
    Some(cdshealpix::best_starting_depth(
        (radius_deg + EDGE_MARGIN_DEG).to_radians(),
    ))
}

/// The cells at `depth` that a circle around (`lon`, `lat`) of `radius_deg`
/// overlaps, in ascending order (the crossmatch's neighbourhood of a row);
/// empty for a position off the sphere.
pub fn cone_cells(depth: u8, lon: f64, lat: f64, radius_deg: f64) -> Vec<u64> {
    if !lon.is_finite() || !(-90.0..=90.0).contains(&lat) || !radius_deg.is_finite() {
        return Vec::new();
    }
    let radius = (radius_deg.max(0.0) + EDGE_MARGIN_DEG).to_radians();
    let lon = lon.rem_euclid(360.0).to_radians();
    nested::cone_coverage_approx(depth, lon, lat.to_radians(), radius)
        .flat_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_of(lon: f64, lat: f64) -> u64 {
        nested::hash(
            SKY_INDEX_ORDER,
            lon.rem_euclid(360.0).to_radians(),
            lat.to_radians(),
        )
    }

    fn covered(ranges: &[Range<u64>], lon: f64, lat: f64) -> bool {
        let h = index_of(lon, lat);
        ranges.iter().any(|r| r.contains(&h))
    }

    /// A deterministic stream of numbers in [0, 1).
    fn uniform(seed: &mut u64) -> f64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn every_point_of_a_circle_falls_in_its_ranges() {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        // Centres at the poles, on RA 0/360 and anywhere; radii from
        // milliarcseconds to 30 degrees.
        let centres = [
            (0.0, 90.0),
            (123.0, -90.0),
            (0.0, 0.0),
            (359.9999, 12.0),
            (180.0, -45.0),
            (42.0, 89.9),
        ];
        for (lon, lat) in centres {
            for radius in [1e-4, 1.0 / 60.0, 0.1, 1.0, 7.5, 30.0] {
                let ranges =
                    index_ranges(&Geometry::Circle(LonLat::new(lon, lat), radius)).unwrap();
                assert!(ranges.len() <= MAX_RANGES);
                for _ in 0..2000 {
                    // A point at a random distance up to the radius, exactly on it included.
                    let d = if uniform(&mut seed) < 0.2 {
                        radius
                    } else {
                        radius * uniform(&mut seed).sqrt()
                    };
                    let bearing = uniform(&mut seed) * 360.0;
                    let p = offset(LonLat::new(lon, lat), d, bearing);
                    if distance(LonLat::new(lon, lat), p) <= radius {
                        assert!(
                            covered(&ranges, p.lon, p.lat),
                            "({}, {}) at {d} from ({lon}, {lat}) r={radius}",
                            p.lon,
                            p.lat
                        );
                    }
                }
            }
        }
    }

    /// The point at `d` degrees from `c` towards `bearing` degrees.
    fn offset(c: LonLat, d: f64, bearing: f64) -> LonLat {
        let (lat1, lon1) = (c.lat.to_radians(), c.lon.to_radians());
        let (d, b) = (d.to_radians(), bearing.to_radians());
        let lat2 = (lat1.sin() * d.cos() + lat1.cos() * d.sin() * b.cos()).asin();
        let lon2 = lon1 + (b.sin() * d.sin() * lat1.cos()).atan2(d.cos() - lat1.sin() * lat2.sin());
        LonLat::new(lon2.to_degrees().rem_euclid(360.0), lat2.to_degrees())
    }

    #[test]
    fn polygons_and_compounds_are_covered() {
        let poly = Geometry::Polygon(vec![
            LonLat::new(359.0, -1.0),
            LonLat::new(1.0, -1.0),
            LonLat::new(1.0, 1.0),
            LonLat::new(359.0, 1.0),
        ]);
        let ranges = index_ranges(&poly).unwrap();
        let mut seed = 7;
        for _ in 0..5000 {
            let p = LonLat::new(
                (359.0 + 2.0 * uniform(&mut seed)).rem_euclid(360.0),
                -1.0 + 2.0 * uniform(&mut seed),
            );
            if poly.contains(&Geometry::Point(p)) {
                assert!(covered(&ranges, p.lon, p.lat));
            }
        }
        let circle = Geometry::Circle(LonLat::new(100.0, 20.0), 0.5);
        let union = Geometry::Union(vec![poly.clone(), circle.clone()]);
        let u = index_ranges(&union).unwrap();
        assert!(covered(&u, 0.0, 0.0) && covered(&u, 100.0, 20.0));
        let both = Geometry::Intersection(vec![poly, circle]);
        assert!(index_ranges(&both).unwrap().is_empty());
        assert!(index_ranges(&Geometry::Not(Box::new(union))).is_none());
    }

    #[test]
    fn large_or_invalid_regions_get_no_ranges() {
        assert!(index_ranges(&Geometry::Circle(LonLat::new(0.0, 0.0), 60.0)).is_none());
        assert!(index_ranges(&Geometry::Circle(LonLat::new(0.0, 95.0), 1.0)).is_none());
        assert!(index_ranges(&Geometry::Circle(LonLat::new(f64::NAN, 0.0), 1.0)).is_none());
    }

    #[test]
    fn coarsening_keeps_the_cover() {
        let mut r = vec![0..2, 5..6, 7..9, 100..101];
        coarsen(&mut r, 2);
        assert_eq!(r, vec![0..9, 100..101]);
        assert_eq!(normalise(vec![5..7, 0..3, 3..4, 6..9]), vec![0..4, 5..9]);
        let middle = [Range { start: 5, end: 25 }];
        assert_eq!(intersect(&[0..10, 20..30], &middle), vec![5..10, 20..25]);
    }

    #[test]
    fn cone_cells_hold_every_neighbour_within_the_radius() {
        let mut seed = 11;
        let radius = 1.0 / 3600.0;
        let depth = crossmatch_depth(radius).unwrap();
        for _ in 0..20000 {
            let lon = uniform(&mut seed) * 360.0;
            let lat = (uniform(&mut seed) * 2.0 - 1.0).asin().to_degrees();
            let cells = cone_cells(depth, lon, lat, radius);
            assert!(!cells.is_empty() && cells.len() <= 9);
            let p = offset(
                LonLat::new(lon, lat),
                radius * uniform(&mut seed),
                uniform(&mut seed) * 360.0,
            );
            let h = nested::hash(depth, p.lon.to_radians(), p.lat.to_radians());
            assert!(cells.contains(&h));
            // The sky index's cell at the crossmatch depth is its prefix.
            assert_eq!(index_of(p.lon, p.lat) >> (2 * (SKY_INDEX_ORDER - depth)), h);
        }
    }
}
