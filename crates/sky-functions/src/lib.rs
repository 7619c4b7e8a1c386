//! The geometry and `ivo_*` functions of ADQL 2.1 as DataFusion scalar UDFs.
//!
//! Geometry lives on the unit sphere in degrees (ICRS; ADQL 2.1 §4.2 lets a
//! service ignore the coordinate-system argument, and the planner drops it).
//! Values are `List<Float64>` in DALI 1.1 order, and compound STC-S regions
//! (Union, Intersection, Not) a NaN-tagged encoding, see [`geometry`]; HEALPix
//! functions use the CDS `cdshealpix` crate (NESTED scheme).
//!
//! The planner calls these under their `adql_*` names, never under ADQL's own
//! names, so that they cannot be confused with DataFusion built-ins; the
//! `ivo_*` functions keep the names users write.
//!
//! **Boundary:** this crate knows DataFusion and the sphere, not ADQL syntax.

mod boolean;
pub mod cone_cells;
pub mod epoch;
pub mod geometry;
pub mod sky_index;
pub mod stcs;
pub mod strings;
pub mod udf;

use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;
use udf::{Op, SkyFunction};

/// Errors of the geometry layer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A value that is no valid geometry.
    #[error("invalid geometry: {0}")]
    InvalidGeometry(String),
}

/// Every function this crate provides, by the name it is registered under.
pub fn all_functions() -> Vec<ScalarUDF> {
    use Op::*;
    [
        ("adql_point", Point),
        ("adql_circle", Circle),
        ("adql_circle_at", CircleAt),
        ("adql_box", Box),
        ("adql_box_at", BoxAt),
        ("adql_polygon", Polygon),
        ("adql_polygon_of_points", PolygonOfPoints),
        ("adql_region", Region),
        ("adql_geometry_from_dali", FromDali),
        ("adql_contains", Contains),
        ("adql_geometry_equal", Equal),
        ("adql_intersects", Intersects),
        ("adql_distance", Distance),
        ("adql_distance4", Distance4),
        ("adql_point_in_circle", PointInCircle),
        ("adql_area", Area),
        ("adql_centroid", Centroid),
        ("adql_coord1", Coord1),
        ("adql_coord2", Coord2),
        ("adql_rand_seeded", RandSeeded),
        ("ivo_healpix_index", HealpixIndex),
        ("adql_healpix_index_of_point", HealpixIndexOfPoint),
        ("ivo_healpix_center", HealpixCenter),
        ("ivo_hasword", HasWord),
        ("ivo_nocasematch", NoCaseMatch),
        ("ivo_hashlist_has", HashlistHas),
        ("ivo_interval_overlaps", IntervalOverlaps),
        ("ivo_epoch_prop_pos", EpochPropPos),
        ("ivo_apply_pm", ApplyPm),
    ]
    .into_iter()
    .map(|(name, op)| SkyFunction::udf(name, op))
    .chain([cone_cells::ConeCells::udf()])
    .collect()
}

/// Registers every function on `ctx`.
pub fn register_all(ctx: &SessionContext) {
    for f in all_functions() {
        ctx.register_udf(f);
    }
}
