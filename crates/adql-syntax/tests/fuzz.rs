//! Property tests: no input makes the parser panic or hang, and whatever it
//! accepts prints back to the same tree. Failing cases proptest finds are
//! kept in `proptest-regressions/` and replayed on every run.

use adql_syntax::parse;
use proptest::prelude::*;

/// Tokens ADQL is made of, plus a few it is not.
const VOCABULARY: &[&str] = &[
    "SELECT",
    "TOP",
    "10",
    "DISTINCT",
    "ALL",
    "*",
    "FROM",
    "t",
    "u",
    "s.t",
    "AS",
    "x",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "=",
    "<>",
    "<",
    ">=",
    "(",
    ")",
    ",",
    ".",
    "+",
    "-",
    "/",
    "||",
    "&",
    "|",
    "^",
    "~",
    "1",
    "2.5",
    "1e3",
    "0xFF",
    "'str'",
    "'it''s'",
    "\"Quoted\"",
    "NULL",
    "IS",
    "IN",
    "BETWEEN",
    "LIKE",
    "ILIKE",
    "ESCAPE",
    "EXISTS",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "INTEGER",
    "JOIN",
    "LEFT",
    "OUTER",
    "NATURAL",
    "ON",
    "USING",
    "GROUP",
    "BY",
    "HAVING",
    "ORDER",
    "DESC",
    "OFFSET",
    "UNION",
    "INTERSECT",
    "EXCEPT",
    "WITH",
    "COUNT",
    "POINT",
    "CIRCLE",
    "CONTAINS",
    "DISTANCE",
    "ivo_hasword",
    "LIMIT",
    ";",
    "--c\n",
    "/*c*/",
    "\u{2018}",
    "%",
    "`",
    "size",
    "public",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCABULARY), 0..40).prop_map(|v| v.join(" "))
}

/// Syntactically valid expressions, built recursively.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "[a-z][a-z0-9_]{0,6}"
            .prop_filter("not reserved", |s| !adql_syntax::keywords::is_reserved(s)),
        (0u32..1000).prop_map(|n| n.to_string()),
        (0.0f64..1e6).prop_map(|f| format!("{f:?}")),
        "'[a-z ]{0,5}'",
        Just("NULL".to_string()),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(&["+", "-", "*", "/", "||", "&", "|", "^"][..]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("- {a}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("POINT({a}, {b})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("CASE WHEN {a} = {b} THEN {c} ELSE NULL END")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("COALESCE({a}, {b})")),
            inner
                .clone()
                .prop_map(|a| format!("CAST({a} AS DOUBLE PRECISION)")),
        ]
    })
}

fn condition() -> impl Strategy<Value = String> {
    (
        expression(),
        expression(),
        prop::sample::select(&["=", "<>", "<", ">=", "LIKE"][..]),
    )
        .prop_map(|(a, b, op)| format!("{a} {op} {b}"))
        .prop_recursive(3, 16, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} AND {b}")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} OR {b}")),
                inner.clone().prop_map(|a| format!("NOT ({a})")),
            ]
        })
}

fn assert_round_trip(q: &str) -> Result<(), TestCaseError> {
    if let Ok(p) = parse(q) {
        let printed = p.query.to_string();
        let again =
            parse(&printed).map_err(|e| TestCaseError::fail(format!("{e}\nprinted: {printed}")))?;
        prop_assert_eq!(&p.query, &again.query, "printed: {}", printed);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("tests/fuzz.proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = parse(&s);
    }

    #[test]
    fn token_soup_never_panics_and_round_trips(q in token_soup()) {
        assert_round_trip(&q)?;
    }

    #[test]
    fn valid_queries_parse_and_round_trip(e in expression(), c in condition()) {
        let q = format!("SELECT TOP 3 {e} AS v FROM s.t WHERE {c} ORDER BY 1 DESC");
        let p = parse(&q).map_err(|err| TestCaseError::fail(format!("{err}\nquery: {q}")))?;
        let printed = p.query.to_string();
        prop_assert_eq!(&p.query, &parse(&printed).map_err(|e| TestCaseError::fail(e.to_string()))?.query);
    }
}
