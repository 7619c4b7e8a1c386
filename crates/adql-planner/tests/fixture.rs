//! The fixture catalog for the `.slt` files: a few stars with real-looking
//! astrometry, their observations, sky fields with geometry columns, and a
//! second schema with clashing names. Small enough to check results by hand.

use adql_planner::{AdqlType, ColumnInfo, ColumnMeta, Engine, TableInfo};
use datafusion::arrow::array::{
    ArrayRef, Float32Array, Float64Array, Float64Builder, Int16Array, Int32Array, Int64Array,
    ListBuilder, StringArray,
};
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use std::sync::Arc;

fn col(name: &str, ty: AdqlType, unit: &str, ucd: &str, description: &str) -> ColumnInfo {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    ColumnInfo {
        name: name.into(),
        ty,
        meta: ColumnMeta {
            unit: some(unit),
            ucd: some(ucd),
            utype: None,
            description: some(description),
        },
    }
}

fn publish(engine: &mut Engine, schema: &str, table: &str, columns: Vec<ColumnInfo>, arrays: Vec<ArrayRef>) {
    let fields: Vec<Field> = columns
        .iter()
        .zip(&arrays)
        .map(|(c, a)| Field::new(&c.name, a.data_type().clone(), true))
        .collect();
    let arrow = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(Arc::clone(&arrow), arrays).expect("fixture batch");
    let provider = MemTable::try_new(arrow, vec![vec![batch]]).expect("fixture table");
    let info = TableInfo { schema: schema.into(), name: table.into(), columns };
    engine.register(info, Arc::new(provider)).expect("register fixture");
}

fn geometries(values: &[Option<&[f64]>]) -> ArrayRef {
    let mut b = ListBuilder::new(Float64Builder::new());
    for v in values {
        match v {
            Some(v) => {
                b.values().append_slice(v);
                b.append(true);
            }
            None => b.append(false),
        }
    }
    Arc::new(b.finish())
}

/// A fresh engine with the fixture tables published.
pub(crate) fn engine() -> Engine {
    use AdqlType::*;
    let mut e = Engine::new();
    publish(
        &mut e,
        "fix",
        "stars",
        vec![
            col("id", BigInt, "", "meta.id;meta.main", "Identifier"),
            col("name", Varchar, "", "meta.id", "Common name"),
            col("ra", Double, "deg", "pos.eq.ra;meta.main", "Right ascension, ICRS"),
            col("dec", Double, "deg", "pos.eq.dec;meta.main", "Declination, ICRS"),
            col("plx", Real, "mas", "pos.parallax.trig", "Parallax"),
            col("pmra", Double, "mas/yr", "pos.pm;pos.eq.ra", "Proper motion in RA (times cos dec)"),
            col("pmdec", Double, "mas/yr", "pos.pm;pos.eq.dec", "Proper motion in Dec"),
            col("vmag", Double, "mag", "phot.mag;em.opt.V", "V magnitude"),
            col("flags", Integer, "", "meta.code", "Quality flags, bit field"),
            col("ncomp", SmallInt, "", "meta.number", "Number of components"),
        ],
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5, 6, 7, 9_007_199_254_740_993])),
            Arc::new(StringArray::from(vec![
                Some("Sirius"), Some("Vega"), Some("Polaris"), Some("Barnard's Star"),
                Some("Alpha Cen A"), Some("Betelgeuse"), None, Some("O'Neil 1"),
            ])),
            Arc::new(Float64Array::from(vec![101.28715533, 279.23473479, 37.95456067, 269.45402305, 219.90085, 88.79293899, 10.0, 359.999])),
            Arc::new(Float64Array::from(vec![-16.71611586, 38.78368896, 89.26410897, 4.66828815, -60.83399269, 7.40706399, 0.0, -0.001])),
            Arc::new(Float32Array::from(vec![Some(379.21), Some(130.23), Some(7.54), Some(548.31), Some(742.12), Some(6.55), None, Some(1.0)])),
            Arc::new(Float64Array::from(vec![Some(-546.01), Some(200.94), Some(44.48), Some(-802.8), Some(-3679.25), Some(27.54), None, Some(0.0)])),
            Arc::new(Float64Array::from(vec![Some(-1223.07), Some(286.23), Some(-11.85), Some(10362.54), Some(473.67), Some(11.3), None, Some(0.0)])),
            Arc::new(Float64Array::from(vec![Some(-1.46), Some(0.03), Some(1.98), Some(9.54), Some(-0.01), Some(0.42), None, Some(12.5)])),
            Arc::new(Int32Array::from(vec![0, 1, 2, 3, 4, 5, 6, 7])),
            Arc::new(Int16Array::from(vec![2, 1, 3, 1, 2, 1, 1, 1])),
        ],
    );
    publish(
        &mut e,
        "fix",
        "obs",
        vec![
            col("obs_id", Integer, "", "meta.id;meta.main", "Observation"),
            col("star_id", BigInt, "", "meta.id", "Observed star"),
            col("band", Varchar, "", "instr.bandpass", "Filter"),
            col("mag", Double, "mag", "phot.mag", "Measured magnitude"),
            col("mjd", Double, "d", "time.epoch", "Modified Julian Date"),
        ],
        vec![
            Arc::new(Int32Array::from(vec![10, 11, 12, 13, 14, 15, 16])),
            Arc::new(Int64Array::from(vec![Some(1), Some(1), Some(2), Some(2), Some(2), Some(4), Some(99)])),
            Arc::new(StringArray::from(vec![Some("V"), Some("B"), Some("V"), Some("B"), Some("R"), Some("V"), None])),
            Arc::new(Float64Array::from(vec![Some(-1.45), Some(-1.44), Some(0.03), Some(0.0), None, Some(9.5), Some(20.0)])),
            Arc::new(Float64Array::from(vec![60000.5, 60001.5, 60000.25, 60002.0, 60003.0, 59000.0, 61000.0])),
        ],
    );
    publish(
        &mut e,
        "fix",
        "fields",
        vec![
            col("field", Varchar, "", "meta.id;meta.main", "Field name"),
            col("center", Point, "deg", "pos.eq;meta.main", "Field centre"),
            col("footprint", Polygon, "deg", "obs.field", "Field outline"),
            col("cone", Circle, "deg", "obs.field", "Cone around the centre"),
        ],
        vec![
            Arc::new(StringArray::from(vec!["north", "vega", "empty"])),
            geometries(&[Some(&[0.0, 90.0]), Some(&[279.0, 38.5]), Some(&[180.0, -45.0])]),
            geometries(&[
                Some(&[0.0, 85.0, 90.0, 85.0, 180.0, 85.0, 270.0, 85.0]),
                Some(&[278.0, 38.0, 280.0, 38.0, 280.0, 39.0, 278.0, 39.0]),
                None,
            ]),
            geometries(&[Some(&[0.0, 90.0, 5.0]), Some(&[279.0, 38.5, 1.0]), Some(&[180.0, -45.0, 0.5])]),
        ],
    );
    publish(
        &mut e,
        "other",
        "stars",
        vec![
            col("id", BigInt, "", "meta.id;meta.main", "Identifier"),
            col("ra", Double, "deg", "pos.eq.ra;meta.main", "Right ascension"),
            col("Dec", Double, "deg", "pos.eq.dec;meta.main", "Declination (mixed-case name)"),
        ],
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 100])),
            Arc::new(Float64Array::from(vec![101.2872, 279.2348, 0.5])),
            Arc::new(Float64Array::from(vec![-16.7161, 38.7837, 0.5])),
        ],
    );
    e
}
