//! Result columns carry their metadata into the Arrow schema: units and UCDs
//! from the catalog, DALI xtypes for geometry, units that functions imply.

use catalog_model::{AdqlType, AllowAll};
use query_engine::QueryOptions;
use test_support::fixture;

#[tokio::test]
async fn result_schema_carries_units_ucds_and_xtypes() {
    let engine = fixture::engine();
    let t = engine
        .translate(
            "SELECT s.ra, POINT(ra, dec) AS pos, DISTANCE(POINT(ra, dec), POINT(0, 0)) AS d, \
             IN_UNIT(plx, 'arcsec') AS plx_as, MAX(vmag) AS brightest, COUNT(*) \
             FROM fix.stars AS s GROUP BY s.ra, s.dec, s.plx",
            &AllowAll,
        )
        .unwrap();
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ra", "pos", "d", "plx_as", "brightest", "count"]);
    assert_eq!(t.columns[1].ty, AdqlType::Point);
    let (schema, batches) = engine.collect(&t, QueryOptions::default()).await.unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 8);
    let md = |i: usize, k: &str| schema.field(i).metadata().get(k).cloned();
    assert_eq!(md(0, "unit").as_deref(), Some("deg"));
    assert_eq!(md(0, "ucd").as_deref(), Some("pos.eq.ra;meta.main"));
    assert_eq!(
        md(0, "description").as_deref(),
        Some("Right ascension, ICRS")
    );
    assert_eq!(md(1, "xtype").as_deref(), Some("point"));
    assert_eq!(md(2, "unit").as_deref(), Some("deg"));
    assert_eq!(md(2, "ucd").as_deref(), Some("pos.angDistance"));
    assert_eq!(md(3, "unit").as_deref(), Some("arcsec"));
    assert_eq!(md(4, "unit").as_deref(), Some("mag"));
    assert_eq!(md(4, "ucd").as_deref(), Some("phot.mag;em.opt.V"));
    assert_eq!(md(5, "unit"), None);
}

#[tokio::test]
async fn duplicate_output_names_are_made_unique() {
    let engine = fixture::engine();
    let t = engine
        .translate(
            "SELECT a.id, b.id, a.ra FROM fix.stars a JOIN other.stars b ON a.id = b.id",
            &AllowAll,
        )
        .unwrap();
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "id_2", "ra"]);
    let (_, batches) = engine.collect(&t, QueryOptions::default()).await.unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
}

#[test]
fn hidden_tables_are_not_found() {
    struct OnlyFix;
    impl catalog_model::AccessPolicy for OnlyFix {
        fn may_read(&self, t: &catalog_model::TableInfo) -> bool {
            t.schema == "fix"
        }
    }
    let engine = fixture::engine();
    assert!(
        engine
            .translate("SELECT id FROM fix.stars", &OnlyFix)
            .is_ok()
    );
    let e = engine
        .translate("SELECT id FROM other.stars", &OnlyFix)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no table 'other.stars'"), "{e}");
    // An unqualified name that only a hidden table has is not ambiguous either.
    assert!(
        engine
            .translate("SELECT s.id FROM stars AS s", &OnlyFix)
            .is_ok()
    );
}
