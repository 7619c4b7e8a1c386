//! How geometry arguments translate: coordinate systems given by NULL or an
//! expression, POLYGON of POINTs, geometry equality, and that the fast paths
//! survive them.

use adql_planner::translate;
use catalog_model::{AllowAll, StaticCatalog};

fn sql_and_warnings(q: &str) -> (String, Vec<String>) {
    let t = translate(q, &StaticCatalog::open_world(), &AllowAll).unwrap_or_else(|e| panic!("{e}"));
    (t.sql, t.warnings.iter().map(ToString::to_string).collect())
}

#[test]
fn coordinate_system_expressions_keep_the_fast_paths() {
    let (sql, w) = sql_and_warnings(
        "SELECT id FROM t WHERE 1 = CONTAINS(POINT(frame, ra, dec), CIRCLE(NULL, 10, 20, 1))",
    );
    assert!(
        sql.contains("adql_point_in_circle(\"t\".\"ra\", \"t\".\"dec\", 10, 20, 1)"),
        "{sql}"
    );
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with(
            "warning at line 1, column 43: POINT: the coordinate system is an expression"
        ),
        "{w:?}"
    );

    let (sql, w) = sql_and_warnings(
        "SELECT DISTANCE(POINT('IC' || 'RS', ra, dec), POINT('GALACTIC', 1, 2)) FROM t",
    );
    assert!(sql.contains("adql_distance4("), "{sql}");
    assert_eq!(w.len(), 1, "one warning even if translated twice: {w:?}");
    assert!(
        w[0].contains("coordinate system 'GALACTIC' is ignored"),
        "{w:?}"
    );
}

#[test]
fn polygons_of_points_with_or_without_a_coordinate_system() {
    for q in [
        "SELECT POLYGON(POINT(1, 2), POINT(3, 4), POINT(5, 6)) FROM t",
        "SELECT POLYGON('ICRS', POINT(1, 2), POINT(3, 4), POINT(5, 6)) FROM t",
        "SELECT POLYGON(NULL, POINT(1, 2), POINT(3, 4), POINT(5, 6), POINT(7, 8)) FROM t",
        "SELECT POLYGON(p1, p2, p3) FROM t",
        "SELECT POLYGON(frame, p1, POINT(3, 4), p3) FROM t",
    ] {
        let (sql, _) = sql_and_warnings(q);
        assert!(sql.contains("adql_polygon_of_points("), "{q}: {sql}");
        assert!(
            !sql.contains("ICRS"),
            "the coordinate system is dropped: {sql}"
        );
    }
    for q in [
        "SELECT POLYGON(a, b, c, d, e, f) FROM t",
        "SELECT POLYGON(frame, a, b, c, d, e, f) FROM t",
        "SELECT POLYGON('ICRS', 1, 2, 3, 4, 5, 6) FROM t",
    ] {
        let (sql, _) = sql_and_warnings(q);
        assert!(
            sql.contains("adql_polygon(") && !sql.contains("\"frame\""),
            "{q}: {sql}"
        );
    }
}

#[test]
fn geometries_compare_for_equality_only() {
    let (sql, _) = sql_and_warnings("SELECT id FROM t WHERE POINT(1, 2) <> CIRCLE(1, 2, 3)");
    assert!(
        sql.contains("(adql_geometry_equal(adql_point(1, 2), adql_circle(1, 2, 3)) = 0)"),
        "{sql}"
    );
    let (sql, _) = sql_and_warnings("SELECT id FROM t WHERE POINT(1, 2) = NULL");
    assert!(sql.contains("CAST(NULL AS BOOLEAN)"), "{sql}");
    let e = translate(
        "SELECT id FROM t WHERE POINT(1, 2) < POINT(1, 3)",
        &StaticCatalog::open_world(),
        &AllowAll,
    )
    .unwrap_err();
    assert!(e.to_string().contains("geometries have no order"), "{e}");
}

#[test]
fn compound_region_literals_are_checked_when_translated() {
    let e = translate(
        "SELECT id FROM t WHERE 1 = CONTAINS(POINT(ra, dec), REGION('Union ICRS (Circle 1 1 1'))",
        &StaticCatalog::open_world(),
        &AllowAll,
    )
    .unwrap_err();
    assert_eq!(e.position(), Some((1, 60)));
    assert!(e.to_string().contains("is not closed"), "{e}");
}
