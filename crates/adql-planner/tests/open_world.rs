//! Without a catalog (`corvus adql check` with no `--catalog`), every valid
//! query of the syntax corpus must still translate: names are taken as written.

use adql_planner::translate;
use catalog_model::{AllowAll, StaticCatalog};

#[test]
fn the_whole_valid_corpus_translates_without_a_catalog() {
    let text = include_str!("../../adql-syntax/test_data/valid.adql");
    let mut failures = Vec::new();
    for q in text.split("\n====\n") {
        if let Err(e) = translate(q, &StaticCatalog::open_world(), &AllowAll)
            && !e.to_string().contains("without a catalog")
        {
            failures.push(format!("{e}\n    in: {}", q.trim()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
