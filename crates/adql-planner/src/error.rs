//! The planner's errors: every one carries the position of the offending text.

use adql_syntax::{Span, SyntaxError};
use std::fmt;

/// A refusal after parsing: an unknown name, a type mismatch, a bad argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemanticError {
    /// The offending text's position.
    pub span: Span,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The offending text as written.
    pub found: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when known.
    pub hint: Option<String>,
}

impl fmt::Display for SemanticError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error at line {}, column {}: {}",
            self.line, self.column, self.message
        )?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

/// Why a query text was refused: not ADQL, or not fitting the catalog.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is not ADQL.
    #[error("{0}")]
    Syntax(#[from] SyntaxError),
    /// The query is ADQL but does not fit the catalog or the types.
    #[error("{0}")]
    Semantic(SemanticError),
}

impl Error {
    /// Line and column of the error.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            Error::Syntax(e) => Some((e.line, e.column)),
            Error::Semantic(e) => Some((e.line, e.column)),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
