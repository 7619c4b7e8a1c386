//! The syntax test corpus: every valid query round-trips through the printer,
//! every invalid one is refused at the recorded position with a useful message.

use adql_syntax::{Query, parse};

fn entries(text: &str) -> Vec<String> {
    text.split("\n====\n")
        .map(|e| {
            e.lines()
                .filter(|l| !(l.starts_with("-- ") && e.trim_start().starts_with("-- Every")))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect()
}

fn round_trip(query: &str) -> Query {
    let first = parse(query)
        .unwrap_or_else(|e| panic!("{e}\nin: {query}"))
        .query;
    let printed = first.to_string();
    let second = parse(&printed)
        .unwrap_or_else(|e| panic!("printed form does not parse: {e}\nprinted: {printed}"))
        .query;
    assert_eq!(
        first, second,
        "round trip changed the tree\nprinted: {printed}"
    );
    // Printing is a fixed point after one round.
    assert_eq!(printed, second.to_string());
    first
}

#[test]
fn valid_corpus_round_trips() {
    let text = include_str!("../test_data/valid.adql");
    let all = entries(text);
    assert!(all.len() >= 50, "corpus shrank to {}", all.len());
    for q in all {
        round_trip(&q);
    }
}

#[test]
fn invalid_corpus_is_refused_where_recorded() {
    let text = include_str!("../test_data/invalid.adql");
    let mut n = 0;
    for entry in text.split("\n====\n") {
        let (query, expect) = entry
            .rsplit_once("\n!! ")
            .unwrap_or_else(|| panic!("entry without '!!' line: {entry}"));
        let query: String = query
            .lines()
            .filter(|l| !l.starts_with("-- "))
            .collect::<Vec<_>>()
            .join("\n");
        let (pos, needle) = expect.trim().split_once(' ').unwrap_or((expect.trim(), ""));
        let (line, col) = pos.split_once(':').unwrap();
        let err = match parse(&query) {
            Ok(p) => panic!("accepted: {query}\nas: {}", p.query),
            Err(e) => e,
        };
        let msg = err.to_string();
        assert_eq!(
            (err.line.to_string(), err.column.to_string()),
            (line.to_string(), col.to_string()),
            "wrong position for {query:?}: {msg}"
        );
        assert!(
            msg.contains(needle),
            "message for {query:?} lacks {needle:?}: {msg}"
        );
        n += 1;
    }
    assert!(n >= 25);
}

#[test]
fn subtraction_is_left_associative() {
    let q = round_trip("SELECT a - b - c FROM t");
    let printed = q.to_string();
    assert_eq!(printed, "SELECT a - b - c FROM t");
    let adql_syntax::SetExpr::Select(s) = &q.body else {
        panic!()
    };
    let adql_syntax::SelectItem::Expr { expr, .. } = &s.items[0] else {
        panic!()
    };
    let adql_syntax::ExprKind::Binary { left, .. } = &expr.kind else {
        panic!()
    };
    assert!(
        matches!(left.kind, adql_syntax::ExprKind::Binary { .. }),
        "(a - b) - c"
    );
}

#[test]
fn limit_is_read_as_top_with_a_warning() {
    let p = parse("SELECT ra FROM t ORDER BY ra LIMIT 5").unwrap();
    assert_eq!(p.query.to_string(), "SELECT TOP 5 ra FROM t ORDER BY ra");
    assert_eq!(p.warnings.len(), 1);
    assert!(p.warnings[0].message.contains("TOP 5"), "{}", p.warnings[0]);
    assert_eq!((p.warnings[0].line, p.warnings[0].column), (1, 30));
}

#[test]
fn reserved_word_as_name_warns_with_the_quoted_form() {
    let p = parse("SELECT size, distance FROM public.t").unwrap();
    let msgs: Vec<String> = p.warnings.iter().map(|w| w.message.clone()).collect();
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert!(msgs[0].contains("\"size\""));
    assert!(msgs[2].contains("\"public\""));
}

#[test]
fn pasted_curly_quotes_are_repaired() {
    let p = parse("SELECT ra FROM t WHERE name = \u{2018}Vega\u{2019}").unwrap();
    assert!(p.query.to_string().ends_with("name = 'Vega'"));
    assert!(!p.warnings.is_empty());
    // A typographic apostrophe inside a plain-quoted string stays data.
    let p = parse("SELECT ra FROM t WHERE name = 'O\u{2019}Brien'").unwrap();
    assert!(p.query.to_string().ends_with("'O\u{2019}Brien'"));
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let depth = 10_000;
    let q = format!("SELECT {}1{} FROM t", "(".repeat(depth), ")".repeat(depth));
    let e = parse(&q).unwrap_err();
    assert!(e.to_string().contains("nesting is limited"), "{e}");
    let q = format!(
        "SELECT {}1 FROM t",
        "-".repeat(depth * 2).replace("--", "- -")
    );
    assert!(parse(&q).is_err());
    let q = format!("SELECT 1 FROM t WHERE {}", "NOT ".repeat(depth) + "a = 1");
    assert!(parse(&q).is_err());
}

#[test]
fn long_flat_expressions_are_fine() {
    let q = format!("SELECT {} FROM t", vec!["a"; 1000].join(" + "));
    round_trip(&q);
    let q = format!("SELECT {} FROM t", vec!["a"; 1002].join(" + "));
    assert!(
        parse(&q)
            .unwrap_err()
            .to_string()
            .contains("at most 1000 binary operators")
    );
    let q = format!(
        "SELECT x FROM t WHERE x IN ({})",
        (0..5000)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    round_trip(&q);
}

#[test]
fn oversized_query_is_refused() {
    let q = format!(
        "SELECT x FROM t WHERE s = '{}'",
        "x".repeat(adql_syntax::MAX_QUERY_BYTES)
    );
    assert!(parse(&q).unwrap_err().to_string().contains("bytes"));
}

#[test]
fn error_positions_count_lines() {
    let e = parse("SELECT ra,\n       dec\nFROM t\nWHERE raa >").unwrap_err();
    assert_eq!((e.line, e.column), (4, 12));
}

fn warnings(q: &str) -> Vec<String> {
    parse(q)
        .unwrap_or_else(|e| panic!("{e}"))
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn extensions_say_they_are_outside_adql_and_give_the_portable_spelling() {
    let w = warnings("SELECT CASE WHEN a > 0 THEN 1 END FROM t");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("warning at line 1, column 8: CASE is outside ADQL 2.1"));
    assert!(w[0].contains("COALESCE"), "{w:?}");

    let w = warnings("SELECT a FROM t WHERE a IN (\nWITH w AS (SELECT b FROM u) SELECT b FROM w)");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("warning at line 2, column 1: WITH inside a subquery is outside ADQL 2.1")
    );
    assert!(w[0].contains("to the top"), "{w:?}");
    // At the start of the whole query WITH is ADQL 2.1.
    assert!(warnings("WITH w AS (SELECT b FROM u) SELECT b FROM w").is_empty());

    let w = warnings("SELECT 1 AS size FROM t");
    assert!(
        w[0].contains("outside ADQL 2.1") && w[0].contains("\"size\""),
        "{w:?}"
    );
}

#[test]
fn a_join_without_condition_is_a_cross_join_with_a_portability_note() {
    let p = parse("SELECT * FROM a JOIN b LEFT JOIN c").unwrap();
    let w: Vec<String> = p.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].contains("write CROSS JOIN"), "{w:?}");
    assert!(w[1].contains("write ON 1 = 1"), "{w:?}");
    assert_eq!(p.query.to_string(), "SELECT * FROM a JOIN b LEFT JOIN c");
    // NATURAL and CROSS joins need no note.
    assert!(warnings("SELECT * FROM a NATURAL JOIN b CROSS JOIN c").is_empty());
}

#[test]
fn separated_literals_print_as_one() {
    let p = parse("SELECT 'ab'\n  'c''d' FROM t").unwrap();
    assert_eq!(p.query.to_string(), "SELECT 'abc''d' FROM t");
}
