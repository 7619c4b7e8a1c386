//! Whatever the parser accepts, translation answers with SQL or an error,
//! never a panic: against the fixture catalog and against an open catalog.

use adql_planner::translate;
use catalog_model::{AllowAll, StaticCatalog};
use proptest::prelude::*;

const VOCABULARY: &[&str] = &[
    "SELECT",
    "TOP 2",
    "DISTINCT",
    "*",
    "FROM",
    "fix.stars",
    "fix.obs",
    "other.stars",
    "s",
    "o",
    "AS",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "=",
    "<",
    "(",
    ")",
    ",",
    ".",
    "+",
    "-",
    "/",
    "||",
    "&",
    "1",
    "2.5",
    "'V'",
    "NULL",
    "IS",
    "IN",
    "BETWEEN",
    "LIKE",
    "EXISTS",
    "CASE",
    "WHEN",
    "THEN",
    "END",
    "JOIN",
    "LEFT",
    "NATURAL",
    "ON",
    "USING",
    "(id)",
    "GROUP BY",
    "HAVING",
    "ORDER BY",
    "UNION",
    "WITH",
    "COUNT(*)",
    "ra",
    "dec",
    "id",
    "name",
    "band",
    "mag",
    "star_id",
    "center",
    "footprint",
    "POINT(ra, dec)",
    "CIRCLE(0, 0, 1)",
    "CONTAINS",
    "DISTANCE",
    "AREA",
    "REGION",
    "IN_UNIT",
    "'deg'",
    "ivo_healpix_index",
    "CAST",
    "INTEGER",
    "s.id",
    "o.star_id",
    "MOD",
];

fn query() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCABULARY), 1..30)
        .prop_map(|v| format!("SELECT {} FROM fix.stars", v.join(" ")))
}

/// The fixture catalog, built once.
static FIXTURE: std::sync::LazyLock<StaticCatalog> =
    std::sync::LazyLock::new(|| test_support::fixture::engine().catalog().clone());

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3000,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("tests/no_panic.proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn translation_never_panics(q in query()) {
        let _ = translate(&q, &*FIXTURE, &AllowAll);
        let _ = translate(&q, &StaticCatalog::open_world(), &AllowAll);
    }
}
