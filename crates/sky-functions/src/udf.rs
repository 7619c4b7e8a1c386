//! The DataFusion side: one [`SkyFunction`] type serves every function here,
//! dispatching on [`Op`]. Arguments arrive as Float64, Utf8 or
//! `List<Float64>` (geometry), coerced by the signatures; every function is
//! NULL in, NULL out.

use crate::epoch::{Astrometry, propagate};
use crate::geometry::{Geometry, LonLat, distance, parse_region};
use crate::strings::{has_word, hashlist_has, no_case_match};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Float64Builder, Int32Builder, Int64Builder,
    ListBuilder, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{DataFusionError, Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use std::sync::Arc;
use std::sync::Mutex;

pub use catalog_model::geometry_type;

/// What a [`SkyFunction`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// point(ra, dec)
    Point,
    /// circle(ra, dec, r)
    Circle,
    /// circle(point, r)
    CircleAt,
    /// box(ra, dec, w, h)
    Box,
    /// box(point, w, h)
    BoxAt,
    /// polygon(ra1, dec1, …) with at least three vertices
    Polygon,
    /// polygon(point1, point2, …)
    PolygonOfPoints,
    /// region(stc-s or DALI string)
    Region,
    /// contains(g1, g2) → 1/0
    Contains,
    /// intersects(g1, g2) → 1/0
    Intersects,
    /// g1 = g2 → 1/0: the same kind with exactly the same coordinates
    Equal,
    /// distance(p1, p2) in degrees
    Distance,
    /// distance(ra1, dec1, ra2, dec2): the fast path for DISTANCE(POINT, POINT)
    Distance4,
    /// contains(point(ra, dec), circle(ra, dec, r)) without building values
    PointInCircle,
    /// area(g) in square degrees
    Area,
    /// centroid(g)
    Centroid,
    /// coord1(point)
    Coord1,
    /// coord2(point)
    Coord2,
    /// ivo_healpix_index(order, ra, dec)
    HealpixIndex,
    /// ivo_healpix_index(order, point)
    HealpixIndexOfPoint,
    /// ivo_healpix_center(order, index)
    HealpixCenter,
    /// ivo_hasword(haystack, needle)
    HasWord,
    /// ivo_nocasematch(value, pattern)
    NoCaseMatch,
    /// ivo_hashlist_has(list, item)
    HashlistHas,
    /// ivo_interval_overlaps(l1, h1, l2, h2)
    IntervalOverlaps,
    /// ivo_epoch_prop_pos(ra, dec, plx, pmra, pmdec, rv, ref_epoch, out_epoch)
    EpochPropPos,
    /// ivo_apply_pm(ra, dec, pmra, pmdec, epoch_distance)
    ApplyPm,
    /// geometry from its DALI string, as in CAST('1 2' AS POINT)
    FromDali,
    /// rand(seed): a reproducible sequence
    RandSeeded,
}

/// A scalar UDF for one [`Op`].
#[derive(Debug)]
pub struct SkyFunction {
    name: &'static str,
    op: Op,
    signature: Signature,
    /// State of the seeded generator (RAND with a seed).
    rand_state: Mutex<Option<u64>>,
}

impl PartialEq for SkyFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op
    }
}
impl Eq for SkyFunction {}
impl std::hash::Hash for SkyFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.op.hash(state);
    }
}

fn floats(n: usize) -> TypeSignature {
    TypeSignature::Exact(vec![DataType::Float64; n])
}

impl SkyFunction {
    /// The function named `name` computing `op`.
    pub fn new(name: &'static str, op: Op) -> Self {
        let g = geometry_type;
        let s = DataType::Utf8;
        let sig = match op {
            Op::Point => floats(2),
            Op::Circle => floats(3),
            Op::CircleAt => TypeSignature::Exact(vec![g(), DataType::Float64]),
            Op::Box => floats(4),
            Op::BoxAt => TypeSignature::Exact(vec![g(), DataType::Float64, DataType::Float64]),
            Op::Polygon => TypeSignature::Variadic(vec![DataType::Float64]),
            Op::PolygonOfPoints => TypeSignature::Variadic(vec![g()]),
            Op::Region | Op::FromDali => TypeSignature::Exact(vec![s.clone()]),
            Op::Contains | Op::Intersects | Op::Equal | Op::Distance => {
                TypeSignature::Exact(vec![g(), g()])
            }
            Op::Distance4 => floats(4),
            Op::PointInCircle => floats(5),
            Op::Area | Op::Centroid | Op::Coord1 | Op::Coord2 => TypeSignature::Exact(vec![g()]),
            Op::HealpixIndex => floats(3),
            Op::HealpixIndexOfPoint => TypeSignature::Exact(vec![DataType::Float64, g()]),
            Op::HealpixCenter => TypeSignature::Exact(vec![DataType::Float64, DataType::Int64]),
            Op::HasWord | Op::NoCaseMatch | Op::HashlistHas => {
                TypeSignature::Exact(vec![s.clone(), s])
            }
            Op::IntervalOverlaps => floats(4),
            Op::EpochPropPos => floats(8),
            Op::ApplyPm => floats(5),
            Op::RandSeeded => floats(1),
        };
        let volatility = if op == Op::RandSeeded {
            Volatility::Volatile
        } else {
            Volatility::Immutable
        };
        SkyFunction {
            name,
            op,
            signature: Signature::one_of(vec![sig], volatility),
            rand_state: Mutex::new(None),
        }
    }

    /// Wrapped for registration.
    pub fn udf(name: &'static str, op: Op) -> ScalarUDF {
        ScalarUDF::new_from_impl(SkyFunction::new(name, op))
    }
}

fn return_type(op: Op) -> DataType {
    match op {
        Op::Point
        | Op::Circle
        | Op::CircleAt
        | Op::Box
        | Op::BoxAt
        | Op::Polygon
        | Op::PolygonOfPoints
        | Op::Region
        | Op::FromDali
        | Op::Centroid
        | Op::HealpixCenter
        | Op::EpochPropPos
        | Op::ApplyPm => geometry_type(),
        Op::Contains
        | Op::Intersects
        | Op::Equal
        | Op::PointInCircle
        | Op::HasWord
        | Op::NoCaseMatch
        | Op::HashlistHas
        | Op::IntervalOverlaps => DataType::Int32,
        Op::HealpixIndex | Op::HealpixIndexOfPoint => DataType::Int64,
        Op::Distance | Op::Distance4 | Op::Area | Op::Coord1 | Op::Coord2 | Op::RandSeeded => {
            DataType::Float64
        }
    }
}

/// Row access to the coerced argument arrays.
struct Args {
    arrays: Vec<ArrayRef>,
}

impl Args {
    fn f(&self, col: usize, row: usize) -> Option<f64> {
        let a = self.arrays[col].as_primitive::<Float64Type>();
        a.is_valid(row).then(|| a.value(row))
    }

    fn i(&self, col: usize, row: usize) -> Option<i64> {
        let a = self.arrays[col].as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        a.is_valid(row).then(|| a.value(row))
    }

    fn s(&self, col: usize, row: usize) -> Option<&str> {
        let a = self.arrays[col].as_string::<i32>();
        a.is_valid(row).then(|| a.value(row))
    }

    fn values(&self, col: usize, row: usize) -> Option<Vec<f64>> {
        let a = self.arrays[col].as_list::<i32>();
        if a.is_null(row) {
            return None;
        }
        let v = a.value(row);
        let v = v.as_any().downcast_ref::<Float64Array>()?;
        if v.null_count() > 0 {
            return None;
        }
        Some(v.values().to_vec())
    }

    fn geom(&self, col: usize, row: usize) -> Result<Option<Geometry>> {
        match self.values(col, row) {
            None => Ok(None),
            Some(v) => Geometry::from_values(&v).map(Some).map_err(df_err),
        }
    }
}

fn df_err(e: crate::Error) -> DataFusionError {
    DataFusionError::Execution(e.to_string())
}

fn checked(g: Geometry) -> Result<Geometry> {
    g.validate().map_err(df_err)?;
    Ok(g)
}

/// One output column being built, of the function's return type.
enum Out {
    Geom(ListBuilder<Float64Builder>),
    Int(Int32Builder),
    Big(Int64Builder),
    Float(Float64Builder),
    #[allow(dead_code)]
    Str(StringBuilder),
}

impl Out {
    fn new(t: &DataType, n: usize) -> Self {
        match t {
            DataType::List(_) => Out::Geom(ListBuilder::with_capacity(Float64Builder::new(), n)),
            DataType::Int32 => Out::Int(Int32Builder::with_capacity(n)),
            DataType::Int64 => Out::Big(Int64Builder::with_capacity(n)),
            DataType::Utf8 => Out::Str(StringBuilder::new()),
            _ => Out::Float(Float64Builder::with_capacity(n)),
        }
    }

    fn geom(&mut self, g: Option<Geometry>) {
        if let Out::Geom(b) = self {
            match g {
                Some(g) => {
                    b.values().append_slice(&g.to_values());
                    b.append(true);
                }
                None => b.append(false),
            }
        }
    }

    fn flag(&mut self, v: Option<bool>) {
        if let Out::Int(b) = self {
            b.append_option(v.map(i32::from));
        }
    }

    fn float(&mut self, v: Option<f64>) {
        if let Out::Float(b) = self {
            b.append_option(v);
        }
    }

    fn big(&mut self, v: Option<i64>) {
        if let Out::Big(b) = self {
            b.append_option(v);
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            Out::Geom(mut b) => Arc::new(b.finish()),
            Out::Int(mut b) => Arc::new(b.finish()),
            Out::Big(mut b) => Arc::new(b.finish()),
            Out::Float(mut b) => Arc::new(b.finish()),
            Out::Str(mut b) => Arc::new(b.finish()),
        }
    }
}

fn healpix_order(order: f64) -> Result<u8> {
    if order.fract() != 0.0 || !(0.0..=29.0).contains(&order) {
        return exec_err!("HEALPix order {order} must be a whole number from 0 to 29");
    }
    Ok(order as u8)
}

fn healpix_index(order: f64, p: LonLat) -> Result<i64> {
    let depth = healpix_order(order)?;
    checked(Geometry::Point(p))?;
    let hash = cdshealpix::nested::hash(depth, p.lon.to_radians(), p.lat.to_radians());
    Ok(hash as i64)
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl ScalarUDFImpl for SkyFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(return_type(self.op))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let n = if all_scalar { 1 } else { args.number_rows };
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(n))
            .collect::<Result<Vec<_>>>()?;
        // Coerce what the signature let through loosely (Utf8View, Int64 orders).
        let arrays = arrays
            .into_iter()
            .map(|a| match a.data_type() {
                DataType::Utf8View | DataType::LargeUtf8 => Ok(cast(&a, &DataType::Utf8)?),
                _ => Ok(a),
            })
            .collect::<Result<Vec<_>>>()?;
        let a = Args { arrays };
        let mut out = Out::new(&return_type(self.op), n);
        for row in 0..n {
            self.row(&a, row, &mut out)?;
        }
        let array = out.finish();
        if all_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &array, 0,
            )?))
        } else {
            Ok(ColumnarValue::Array(array))
        }
    }
}

impl SkyFunction {
    /// Computes one row.
    fn row(&self, a: &Args, r: usize, out: &mut Out) -> Result<()> {
        let f = |c| a.f(c, r);
        let fs = |k: usize| -> Option<Vec<f64>> { (0..k).map(|c| a.f(c, r)).collect() };
        match self.op {
            Op::Point => out.geom(match fs(2) {
                Some(v) => Some(checked(Geometry::Point(LonLat::new(v[0], v[1])))?),
                None => None,
            }),
            Op::Circle => out.geom(match fs(3) {
                Some(v) => Some(checked(Geometry::Circle(LonLat::new(v[0], v[1]), v[2]))?),
                None => None,
            }),
            Op::CircleAt => out.geom(match (a.geom(0, r)?, f(1)) {
                (Some(Geometry::Point(p)), Some(rad)) => Some(checked(Geometry::Circle(p, rad))?),
                (Some(_), Some(_)) => return exec_err!("CIRCLE takes a POINT as its centre"),
                _ => None,
            }),
            Op::Box => {
                out.geom(fs(4).map(|v| Geometry::boxed(LonLat::new(v[0], v[1]), v[2], v[3])))
            }
            Op::BoxAt => out.geom(match (a.geom(0, r)?, f(1), f(2)) {
                (Some(Geometry::Point(p)), Some(w), Some(h)) => Some(Geometry::boxed(p, w, h)),
                (Some(_), Some(_), Some(_)) => return exec_err!("BOX takes a POINT as its centre"),
                _ => None,
            }),
            Op::Polygon => {
                let k = a.arrays.len();
                if k < 6 || !k.is_multiple_of(2) {
                    return exec_err!(
                        "POLYGON needs at least three vertices (six numbers), got {k} numbers"
                    );
                }
                out.geom(match fs(k) {
                    Some(v) => Some(checked(Geometry::from_values(&v).map_err(df_err)?)?),
                    None => None,
                })
            }
            Op::PolygonOfPoints => {
                let mut v = Vec::new();
                let mut null = false;
                for c in 0..a.arrays.len() {
                    match a.geom(c, r)? {
                        Some(Geometry::Point(p)) => v.extend([p.lon, p.lat]),
                        Some(_) => return exec_err!("POLYGON vertices must be POINTs"),
                        None => null = true,
                    }
                }
                if v.len() < 6 {
                    return exec_err!("POLYGON needs at least three vertices");
                }
                out.geom(if null {
                    None
                } else {
                    Some(Geometry::from_values(&v).map_err(df_err)?)
                })
            }
            Op::Region => out.geom(match a.s(0, r) {
                Some(s) => Some(parse_region(s).map_err(df_err)?),
                None => None,
            }),
            Op::FromDali => out.geom(match a.s(0, r) {
                Some(s) => {
                    let nums: std::result::Result<Vec<f64>, _> =
                        s.split_whitespace().map(str::parse::<f64>).collect();
                    match nums {
                        Ok(v) => Some(checked(Geometry::from_values(&v).map_err(df_err)?)?),
                        Err(_) => {
                            return exec_err!(
                                "'{s}' is not a DALI geometry: write numbers separated by spaces"
                            );
                        }
                    }
                }
                None => None,
            }),
            Op::Contains | Op::Intersects => {
                let v = match (a.geom(0, r)?, a.geom(1, r)?) {
                    (Some(x), Some(y)) => Some(if self.op == Op::Contains {
                        y.try_contains(&x).map_err(df_err)?
                    } else {
                        x.try_intersects(&y).map_err(df_err)?
                    }),
                    _ => None,
                };
                out.flag(v)
            }
            // Exact: the same kind and the same numbers (so 0 = -0, and a
            // polygon equals only the same vertices in the same order).
            Op::Equal => out.flag(match (a.geom(0, r)?, a.geom(1, r)?) {
                (Some(x), Some(y)) => Some(x == y),
                _ => None,
            }),
            Op::Distance => out.float(match (a.geom(0, r)?, a.geom(1, r)?) {
                (Some(Geometry::Point(p)), Some(Geometry::Point(q))) => Some(distance(p, q)),
                (Some(_), Some(_)) => return exec_err!("DISTANCE is defined between two POINTs"),
                _ => None,
            }),
            Op::Distance4 => {
                out.float(fs(4).map(|v| distance(LonLat::new(v[0], v[1]), LonLat::new(v[2], v[3]))))
            }
            Op::PointInCircle => out.flag(
                fs(5).map(|v| distance(LonLat::new(v[0], v[1]), LonLat::new(v[2], v[3])) <= v[4]),
            ),
            Op::Area | Op::Centroid => {
                let g = a.geom(0, r)?;
                if g.as_ref().is_some_and(Geometry::is_compound) {
                    let f = if self.op == Op::Area {
                        "AREA"
                    } else {
                        "CENTROID"
                    };
                    return exec_err!(
                        "{f} of a compound region (Union, Intersection, Not) is not computed; use CONTAINS or INTERSECTS with it"
                    );
                }
                if self.op == Op::Area {
                    out.float(g.map(|g| g.area()))
                } else {
                    out.geom(g.map(|g| Geometry::Point(g.centroid())))
                }
            }
            Op::Coord1 | Op::Coord2 => out.float(match a.geom(0, r)? {
                Some(Geometry::Point(p)) => Some(if self.op == Op::Coord1 { p.lon } else { p.lat }),
                Some(_) => return exec_err!("COORD1 and COORD2 take a POINT"),
                None => None,
            }),
            Op::HealpixIndex => out.big(match fs(3) {
                Some(v) => Some(healpix_index(v[0], LonLat::new(v[1], v[2]))?),
                None => None,
            }),
            Op::HealpixIndexOfPoint => out.big(match (f(0), a.geom(1, r)?) {
                (Some(o), Some(Geometry::Point(p))) => Some(healpix_index(o, p)?),
                (Some(_), Some(_)) => return exec_err!("ivo_healpix_index takes a POINT"),
                _ => None,
            }),
            Op::HealpixCenter => out.geom(match (f(0), a.i(1, r)) {
                (Some(o), Some(i)) => {
                    let depth = healpix_order(o)?;
                    if i < 0 || (i as u64) >= cdshealpix::nested::n_hash(depth) {
                        return exec_err!("{i} is not a HEALPix index at order {depth}");
                    }
                    let (lon, lat) = cdshealpix::nested::center(depth, i as u64);
                    Some(Geometry::Point(LonLat::new(
                        lon.to_degrees(),
                        lat.to_degrees(),
                    )))
                }
                _ => None,
            }),
            Op::HasWord | Op::NoCaseMatch | Op::HashlistHas => {
                let v = match (a.s(0, r), a.s(1, r)) {
                    (Some(x), Some(y)) => Some(match self.op {
                        Op::HasWord => has_word(x, y),
                        Op::NoCaseMatch => no_case_match(x, y),
                        _ => hashlist_has(x, y),
                    }),
                    _ => None,
                };
                out.flag(v)
            }
            Op::IntervalOverlaps => out.flag(fs(4).map(|v| v[1] >= v[2] && v[3] >= v[0])),
            Op::EpochPropPos | Op::ApplyPm => {
                // Positions and epochs are required; kinematics default to zero.
                let z = |c| f(c).unwrap_or(0.0);
                let p = match self.op {
                    Op::EpochPropPos => match (f(0), f(1), f(6), f(7)) {
                        (Some(ra), Some(dec), Some(epoch), Some(t1)) => {
                            let (plx, pmra, pmdec, rv) = (z(2), z(3), z(4), z(5));
                            let star = Astrometry {
                                ra,
                                dec,
                                plx,
                                pmra,
                                pmdec,
                                rv,
                                epoch,
                            };
                            Some(propagate(star, t1))
                        }
                        _ => None,
                    },
                    _ => match (f(0), f(1), f(4)) {
                        (Some(ra), Some(dec), Some(dt)) => {
                            let (pmra, pmdec) = (z(2), z(3));
                            let star = Astrometry {
                                ra,
                                dec,
                                plx: 0.0,
                                pmra,
                                pmdec,
                                rv: 0.0,
                                epoch: 0.0,
                            };
                            Some(propagate(star, dt))
                        }
                        _ => None,
                    },
                };
                out.geom(p.map(Geometry::Point))
            }
            Op::RandSeeded => {
                let seed = f(0).unwrap_or(0.0);
                let mut state = self
                    .rand_state
                    .lock()
                    .map_err(|_| DataFusionError::Execution("random generator poisoned".into()))?;
                let s = state.get_or_insert(seed.to_bits());
                let x = (splitmix64(s) >> 11) as f64 / (1u64 << 53) as f64;
                out.float(Some(x))
            }
        }
        Ok(())
    }
}
