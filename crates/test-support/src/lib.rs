//! What the tests of several crates share: the fixture catalog (a few
//! stars, observations and sky fields, small enough to check results by
//! hand) and the ways the `.slt` runner gets a query's rows.
//!
//! **Boundary:** test code only; no crate depends on it outside `[dev-dependencies]`.

pub mod fixture;
pub mod rows;

/// `text` percent-encoded for a URL's query string (RFC 3986: everything
/// but letters, digits and `.`, `_`, `-`).
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
