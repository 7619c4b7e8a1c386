//! Tokens of ADQL 2.1 (§2.1), with byte spans into the original text.
//!
//! The lexer repairs Unicode look-alikes pasted from documents (curly quotes,
//! dashes, non-breaking spaces) and reports each repair as a warning; spans
//! keep pointing into the original text.

use crate::error::{Positioner, SyntaxError, Warning};
use crate::span::Span;

/// Longest identifier accepted, in characters. Names are echoed in messages,
/// result headers and metadata; nothing in a catalog comes near this.
pub const MAX_IDENTIFIER_CHARS: usize = 1000;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A regular identifier or keyword, as written.
    Word(String),
    /// A delimited identifier, `"..."`, with `""` unescaped.
    Quoted(String),
    /// A numeric literal, as written (decimal, exponent or hexadecimal).
    Number(String),
    /// A character string literal, `'...'`, with `''` unescaped.
    Str(String),
    LParen,
    RParen,
    Comma,
    Dot,
    Star,
    Plus,
    Minus,
    Slash,
    Percent,
    Concat,
    Pipe,
    Amp,
    Caret,
    Tilde,
    Eq,
    NotEq,
    Lt,
    Gt,
    LtEq,
    GtEq,
    Semicolon,
    Eof,
}

/// A token and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) span: Span,
}

/// Characters that look like ASCII punctuation in pasted text, and what they stand for.
fn look_alike(c: char) -> Option<char> {
    Some(match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{FF07}' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{FF02}' => '"',
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2212}'
        | '\u{FE63}' | '\u{FF0D}' => '-',
        '\u{00A0}'
        | '\u{2000}'..='\u{200B}'
        | '\u{202F}'
        | '\u{205F}'
        | '\u{3000}'
        | '\u{FEFF}' => ' ',
        '\u{FF08}' => '(',
        '\u{FF09}' => ')',
        '\u{FF0C}' => ',',
        '\u{FF0A}' | '\u{2217}' => '*',
        '\u{FF1D}' => '=',
        _ => return None,
    })
}

pub(crate) struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    at: Positioner<'a>,
    pub(crate) warnings: Vec<Warning>,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Lexer {
            text,
            pos: 0,
            at: Positioner { text },
            warnings: Vec::new(),
        }
    }

    /// The character at the cursor, look-alikes repaired.
    fn peek_char(&mut self) -> Option<char> {
        self.char_at(self.pos)
    }

    fn char_at(&mut self, pos: usize) -> Option<char> {
        let c = self.text.get(pos..)?.chars().next()?;
        Some(look_alike(c).unwrap_or(c))
    }

    fn bump(&mut self) -> Option<char> {
        let raw = self.text.get(self.pos..)?.chars().next()?;
        let start = self.pos;
        self.pos += raw.len_utf8();
        match look_alike(raw) {
            Some(c) => {
                if c != ' ' || !self.warnings.iter().any(|w| w.message.contains("space")) {
                    let what = if c == ' ' {
                        "a non-ASCII space".to_string()
                    } else {
                        format!("U+{:04X} '{raw}'", raw as u32)
                    };
                    self.warnings.push(self.at.warning(
                        Span::new(start, self.pos),
                        format!("read {what} as '{c}'; type plain ASCII to avoid this"),
                    ));
                }
                Some(c)
            }
            None => Some(raw),
        }
    }

    /// All tokens, ending with `Eof`.
    pub(crate) fn tokenize(mut self) -> Result<(Vec<Token>, Vec<Warning>), SyntaxError> {
        let mut out = Vec::new();
        loop {
            self.skip_blanks_and_comments()?;
            let start = self.pos;
            let Some(c) = self.peek_char() else {
                out.push(Token {
                    tok: Tok::Eof,
                    span: Span::new(start, start),
                });
                return Ok((out, self.warnings));
            };
            let tok = match c {
                'a'..='z' | 'A'..='Z' => self.word(),
                '0'..='9' => self.number()?,
                '.' if matches!(self.char_at(self.pos + 1), Some('0'..='9')) => self.number()?,
                '\'' => self.string()?,
                '"' => self.quoted()?,
                _ => self.punct(c)?,
            };
            if let Tok::Word(name) | Tok::Quoted(name) = &tok
                && name.chars().count() > MAX_IDENTIFIER_CHARS
            {
                return Err(self.at.error(
                    Span::new(start, self.pos),
                    format!("a name of at most {MAX_IDENTIFIER_CHARS} characters"),
                    Some(format!(
                        "this name is {} characters long; choose a shorter alias",
                        name.chars().count()
                    )),
                ));
            }
            out.push(Token {
                tok,
                span: Span::new(start, self.pos),
            });
        }
    }

    fn skip_blanks_and_comments(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.peek_char() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('-') if self.char_at(self.pos + 1) == Some('-') => {
                    while let Some(c) = self.bump() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                Some('/') if self.char_at(self.pos + 1) == Some('*') => {
                    let start = self.pos;
                    self.pos += 2;
                    match self.text[self.pos..].find("*/") {
                        Some(i) => self.pos += i + 2,
                        None => {
                            return Err(self.at.error(
                                Span::new(start, start + 2),
                                "'*/' closing the comment",
                                Some("a comment opened with /* must be closed with */".into()),
                            ));
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn word(&mut self) -> Tok {
        let start = self.pos;
        while let Some(c) = self.text[self.pos..].chars().next() {
            if c.is_ascii_alphanumeric() || c == '_' {
                self.pos += 1;
            } else {
                break;
            }
        }
        Tok::Word(self.text[start..self.pos].to_string())
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.text[self.pos..].starts_with(|c: char| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Tok, SyntaxError> {
        let start = self.pos;
        if self.text[self.pos..].starts_with("0x") || self.text[self.pos..].starts_with("0X") {
            self.pos += 2;
            let digits_start = self.pos;
            while self.text[self.pos..].starts_with(|c: char| c.is_ascii_hexdigit()) {
                self.pos += 1;
            }
            if self.pos == digits_start {
                return Err(self.at.error(
                    Span::new(start, self.pos),
                    "hexadecimal digits after 0x",
                    None,
                ));
            }
        } else {
            self.digits();
            if self.text[self.pos..].starts_with('.') {
                self.pos += 1;
                self.digits();
            }
            if self.text[self.pos..].starts_with(['e', 'E']) {
                let save = self.pos;
                self.pos += 1;
                if self.text[self.pos..].starts_with(['+', '-']) {
                    self.pos += 1;
                }
                if self.digits() == 0 {
                    // `1e` followed by a non-digit: not an exponent after all.
                    self.pos = save;
                }
            }
        }
        let end = self.pos;
        if self.text[end..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            let mut stop = end;
            while self.text[stop..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                stop += 1;
            }
            return Err(self.at.error(
                Span::new(start, stop),
                "a number, or an identifier starting with a letter",
                Some("identifiers cannot start with a digit; quote it as \"...\" if it is a column name".into()),
            ));
        }
        Ok(Tok::Number(self.text[start..end].to_string()))
    }

    /// A literal delimited by `quote`, the quote doubled inside.
    ///
    /// A literal opened with a plain ASCII quote closes only on a plain one, so
    /// that typographic apostrophes inside it ('O’Brien') stay data; one opened
    /// with a look-alike (pasted ‘text’) may close on either.
    fn delimited(&mut self, quote: char, what: &str) -> Result<String, SyntaxError> {
        let start = self.pos;
        let opened_plain = self.text[start..].starts_with(quote);
        self.bump();
        let mut value = String::new();
        loop {
            let Some(raw) = self.text[self.pos..].chars().next() else {
                return Err(self.at.error(
                    Span::new(start, start + 1),
                    format!("a closing {quote} for this {what}"),
                    Some(format!(
                        "{what}s end with {quote}; write {quote}{quote} for a {quote} inside one"
                    )),
                ));
            };
            let closes = |c: char| c == quote || (!opened_plain && look_alike(c) == Some(quote));
            if closes(raw) {
                self.bump();
                match self.text[self.pos..].chars().next() {
                    Some(next) if closes(next) => {
                        self.bump();
                        value.push(quote);
                    }
                    _ => return Ok(value),
                }
            } else {
                value.push(raw);
                self.pos += raw.len_utf8();
            }
        }
    }

    /// A character string literal. Literals separated only by blanks,
    /// newlines or comments are one literal (ADQL 2.1 §2.1.2 takes SQL-92's
    /// `<character string literal>`, whose parts may be split by
    /// `<separator>`s): `'abc' 'def'` is `'abcdef'`.
    fn string(&mut self) -> Result<Tok, SyntaxError> {
        let mut value = self.delimited('\'', "string")?;
        loop {
            let (save, warnings) = (self.pos, self.warnings.len());
            // An unclosed comment here is reported when the main loop reaches it.
            let continued = self.skip_blanks_and_comments().is_ok()
                && self.pos > save
                && self.peek_char() == Some('\'');
            if !continued {
                self.pos = save;
                self.warnings.truncate(warnings);
                return Ok(Tok::Str(value));
            }
            value.push_str(&self.delimited('\'', "string")?);
        }
    }

    fn quoted(&mut self) -> Result<Tok, SyntaxError> {
        let start = self.pos;
        let name = self.delimited('"', "delimited identifier")?;
        if name.is_empty() {
            return Err(self.at.error(
                Span::new(start, self.pos),
                "a name between the double quotes",
                Some("\"\" is an empty identifier; strings take single quotes".into()),
            ));
        }
        Ok(Tok::Quoted(name))
    }

    fn punct(&mut self, c: char) -> Result<Tok, SyntaxError> {
        let start = self.pos;
        self.bump();
        let next = self.peek_char();
        let two = |l: &mut Self, t: Tok| {
            l.bump();
            Ok(t)
        };
        match (c, next) {
            ('|', Some('|')) => two(self, Tok::Concat),
            ('<', Some('>')) => two(self, Tok::NotEq),
            ('!', Some('=')) => two(self, Tok::NotEq),
            ('<', Some('=')) => two(self, Tok::LtEq),
            ('>', Some('=')) => two(self, Tok::GtEq),
            ('(', _) => Ok(Tok::LParen),
            (')', _) => Ok(Tok::RParen),
            (',', _) => Ok(Tok::Comma),
            ('.', _) => Ok(Tok::Dot),
            ('*', _) => Ok(Tok::Star),
            ('+', _) => Ok(Tok::Plus),
            ('-', _) => Ok(Tok::Minus),
            ('/', _) => Ok(Tok::Slash),
            ('%', _) => Ok(Tok::Percent),
            ('|', _) => Ok(Tok::Pipe),
            ('&', _) => Ok(Tok::Amp),
            ('^', _) => Ok(Tok::Caret),
            ('~', _) => Ok(Tok::Tilde),
            ('=', _) => Ok(Tok::Eq),
            ('<', _) => Ok(Tok::Lt),
            ('>', _) => Ok(Tok::Gt),
            (';', _) => Ok(Tok::Semicolon),
            _ => {
                let hint = match c {
                    '`' => Some("ADQL quotes names with double quotes: \"name\"".to_string()),
                    '[' | ']' => {
                        Some("ADQL has no [ ] brackets; quote names with double quotes".to_string())
                    }
                    '!' => Some("write 'not equal' as <> or !=, negation as NOT".to_string()),
                    ':' | '?' | '$' => {
                        Some("ADQL has no bind parameters; write the value itself".to_string())
                    }
                    _ if !c.is_ascii() => {
                        Some("only ASCII is allowed outside strings and quoted names".to_string())
                    }
                    _ => None,
                };
                Err(self
                    .at
                    .error(Span::new(start, self.pos), "an ADQL token", hint))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        Lexer::new(s)
            .tokenize()
            .unwrap()
            .0
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn numbers_strings_and_operators() {
        assert_eq!(
            toks("1 .5 2.e3 0x1F 'it''s' \"Na\"\"me\" || <> != <= >="),
            vec![
                Tok::Number("1".into()),
                Tok::Number(".5".into()),
                Tok::Number("2.e3".into()),
                Tok::Number("0x1F".into()),
                Tok::Str("it's".into()),
                Tok::Quoted("Na\"me".into()),
                Tok::Concat,
                Tok::NotEq,
                Tok::NotEq,
                Tok::LtEq,
                Tok::GtEq,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn comments_are_skipped() {
        assert_eq!(
            toks("a -- comment\n/* block */ b"),
            vec![Tok::Word("a".into()), Tok::Word("b".into()), Tok::Eof]
        );
    }

    #[test]
    fn curly_quotes_are_repaired_with_a_warning() {
        let (t, w) = Lexer::new("x = \u{2018}abc\u{2019}").tokenize().unwrap();
        assert_eq!(t[2].tok, Tok::Str("abc".into()));
        assert_eq!(w.len(), 2);
        assert!(w[0].message.contains("U+2018"));
    }

    #[test]
    fn separated_string_literals_are_one() {
        assert_eq!(
            toks("'abc' 'def'\n  -- note\n'g''h' /* x */ 'i' x 'j'"),
            vec![
                Tok::Str("abcdefg'hi".into()),
                Tok::Word("x".into()),
                Tok::Str("j".into()),
                Tok::Eof
            ]
        );
        // Doubled quotes without a separator stay an escaped quote.
        assert_eq!(toks("'a''b'"), vec![Tok::Str("a'b".into()), Tok::Eof]);
        let (t, _) = Lexer::new("'ab'\n'cd' x").tokenize().unwrap();
        assert_eq!((t[0].span.start, t[0].span.end), (0, 9));
    }

    #[test]
    fn overlong_names_are_refused_where_they_start() {
        let long = "a".repeat(MAX_IDENTIFIER_CHARS + 1);
        let e = Lexer::new(&format!("SELECT 1 AS {long}"))
            .tokenize()
            .unwrap_err();
        assert_eq!((e.line, e.column), (1, 13));
        assert!(e.to_string().contains("at most 1000 characters"), "{e}");
        let e = Lexer::new(&format!("SELECT \"{long}\" FROM t"))
            .tokenize()
            .unwrap_err();
        assert_eq!((e.line, e.column), (1, 8));
        let ok = "a".repeat(MAX_IDENTIFIER_CHARS);
        assert!(Lexer::new(&format!("SELECT {ok}")).tokenize().is_ok());
    }

    #[test]
    fn unterminated_string_points_at_its_start() {
        let e = Lexer::new("SELECT 'abc").tokenize().unwrap_err();
        assert_eq!((e.line, e.column), (1, 8));
    }
}
