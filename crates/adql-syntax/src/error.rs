//! Syntax errors and warnings, each with a position in the query text.

use crate::span::Span;
use std::fmt;

/// A refusal: the query is not valid ADQL.
///
/// `Display` gives one self-contained message: where (line and column),
/// what was found, what was expected, and a hint where one helps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SyntaxError {
    /// The offending text's position.
    pub span: Span,
    /// 1-based line of `span.start`.
    pub line: usize,
    /// 1-based column (in characters) of `span.start`.
    pub column: usize,
    /// What the parser found there, as the user wrote it (or "end of query").
    pub found: String,
    /// What would have been valid there, e.g. "an expression" or "FROM".
    pub expected: String,
    /// A suggestion for the fix, when there is an obvious one.
    pub hint: Option<String>,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "syntax error at line {}, column {}: expected {}, found {}",
            self.line, self.column, self.expected, self.found
        )?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

/// Something the parser accepted but the user should know about, e.g. a
/// `LIMIT` read as `TOP`, or curly quotes repaired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where in the query text.
    pub span: Span,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What was done and what to write instead.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "warning at line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// Builds errors and warnings with positions computed from the query text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Positioner<'a> {
    pub(crate) text: &'a str,
}

impl<'a> Positioner<'a> {
    pub(crate) fn error(
        &self,
        span: Span,
        expected: impl Into<String>,
        hint: Option<String>,
    ) -> SyntaxError {
        let (line, column) = span.line_col(self.text);
        let found = if span.start >= self.text.len() {
            "end of query".to_string()
        } else {
            let s = span.slice(self.text);
            let s: String = s.chars().take(40).collect();
            format!("'{s}'")
        };
        SyntaxError {
            span,
            line,
            column,
            found,
            expected: expected.into(),
            hint,
        }
    }

    pub(crate) fn warning(&self, span: Span, message: impl Into<String>) -> Warning {
        let (line, column) = span.line_col(self.text);
        Warning {
            span,
            line,
            column,
            message: message.into(),
        }
    }
}
