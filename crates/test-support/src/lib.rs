//! What the tests of several crates share: the fixture catalog (a few
//! stars, observations and sky fields, small enough to check results by
//! hand) and the ways the `.slt` runner gets a query's rows.
//!
//! **Boundary:** test code only; no crate depends on it outside `[dev-dependencies]`.

pub mod fixture;
pub mod rows;
