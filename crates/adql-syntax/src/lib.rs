//! ADQL 2.1 syntax: lexer, recursive-descent parser, AST with byte spans, and
//! a printer that round-trips (`parse(print(ast)) == ast`).
//!
//! The grammar is that of the IVOA Recommendation "Astronomical Data Query
//! Language 2.1" (2023-12-15), Appendix A, with every optional feature of §4
//! (geometry, string functions, set operations, CAST, IN_UNIT, COALESCE,
//! WITH, OFFSET) plus CASE, NULLIF, bitwise operators and hexadecimal literals.
//!
//! **Boundary:** this crate knows nothing about catalogs or DataFusion: it
//! turns text into a [`Query`] or a positioned [`SyntaxError`]. Names are
//! resolved and types checked by `adql-planner`.
//!
//! ```
//! let parsed = adql_syntax::parse("SELECT TOP 5 ra, dec FROM hip.main WHERE plx > 10").unwrap();
//! assert_eq!(parsed.query.to_string(), "SELECT TOP 5 ra, dec FROM hip.main WHERE plx > 10");
//! let err = adql_syntax::parse("SELECT ra FROM hip.main LIMIT").unwrap_err();
//! assert_eq!((err.line, err.column), (1, 30));
//! ```
#![deny(missing_docs)]

pub mod ast;
mod error;
pub mod keywords;
mod lexer;
mod parser;
mod printer;
mod span;
pub mod visit;

pub use ast::*;
pub use error::{SyntaxError, Warning};
pub use lexer::MAX_IDENTIFIER_CHARS;
pub use parser::{MAX_DEPTH, MAX_OPERATORS, MAX_QUERY_BYTES, Parsed, parse, parse_expression};
pub use printer::{name_as_written, write_quoted_ident, write_string_literal};
pub use span::Span;
