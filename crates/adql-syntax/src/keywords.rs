//! Reserved words of ADQL 2.1 (§2.1.2 and the BNF's `<ADQL_reserved_word>`
//! and `<SQL_reserved_word>`).

/// ADQL's own reserved words: its function names and TOP/OFFSET.
pub const ADQL_RESERVED: &[&str] = &[
    "ABS", "ACOS", "AREA", "ASIN", "ATAN", "ATAN2", "BIGINT", "BOX", "CEILING", "CENTROID",
    "CIRCLE", "CONTAINS", "COORD1", "COORD2", "COORDSYS", "COS", "COT", "DEGREES", "DISTANCE",
    "EXP", "FLOOR", "ILIKE", "INTERSECTS", "IN_UNIT", "LOG", "LOG10", "MOD", "OFFSET", "PI",
    "POINT", "POLYGON", "POWER", "RADIANS", "REGION", "RAND", "ROUND", "SIN", "SQRT", "TOP",
    "TAN", "TRUNCATE",
];

/// The SQL-92 reserved words that ADQL inherits.
pub const SQL_RESERVED: &[&str] = &[
    "ABSOLUTE", "ACTION", "ADD", "ALL", "ALLOCATE", "ALTER", "AND", "ANY", "ARE", "AS", "ASC",
    "ASSERTION", "AT", "AUTHORIZATION", "AVG", "BEGIN", "BETWEEN", "BIT", "BIT_LENGTH", "BOTH",
    "BY", "CASCADE", "CASCADED", "CASE", "CAST", "CATALOG", "CHAR", "CHARACTER", "CHAR_LENGTH",
    "CHARACTER_LENGTH", "CHECK", "CLOSE", "COALESCE", "COLLATE", "COLLATION", "COLUMN",
    "COMMIT", "CONNECT", "CONNECTION", "CONSTRAINT", "CONSTRAINTS", "CONTINUE", "CONVERT",
    "CORRESPONDING", "COUNT", "CREATE", "CROSS", "CURRENT", "CURRENT_DATE", "CURRENT_TIME",
    "CURRENT_TIMESTAMP", "CURRENT_USER", "CURSOR", "DATE", "DAY", "DEALLOCATE", "DECIMAL",
    "DECLARE", "DEFAULT", "DEFERRABLE", "DEFERRED", "DELETE", "DESC", "DESCRIBE", "DESCRIPTOR",
    "DIAGNOSTICS", "DISCONNECT", "DISTINCT", "DOMAIN", "DOUBLE", "DROP", "ELSE", "END",
    "ESCAPE", "EXCEPT", "EXCEPTION", "EXEC", "EXECUTE", "EXISTS", "EXTERNAL", "EXTRACT",
    "FALSE", "FETCH", "FIRST", "FLOAT", "FOR", "FOREIGN", "FOUND", "FROM", "FULL", "GET",
    "GLOBAL", "GO", "GOTO", "GRANT", "GROUP", "HAVING", "HOUR", "IDENTITY", "IMMEDIATE", "IN",
    "INDICATOR", "INITIALLY", "INNER", "INPUT", "INSENSITIVE", "INSERT", "INT", "INTEGER",
    "INTERSECT", "INTERVAL", "INTO", "IS", "ISOLATION", "JOIN", "KEY", "LANGUAGE", "LAST",
    "LEADING", "LEFT", "LEVEL", "LIKE", "LOCAL", "LOWER", "MATCH", "MAX", "MIN", "MINUTE",
    "MODULE", "MONTH", "NAMES", "NATIONAL", "NATURAL", "NCHAR", "NEXT", "NO", "NOT", "NULL",
    "NULLIF", "NUMERIC", "OCTET_LENGTH", "OF", "ON", "ONLY", "OPEN", "OPTION", "OR", "ORDER",
    "OUTER", "OUTPUT", "OVERLAPS", "PAD", "PARTIAL", "POSITION", "PRECISION", "PREPARE",
    "PRESERVE", "PRIMARY", "PRIOR", "PRIVILEGES", "PROCEDURE", "PUBLIC", "READ", "REAL",
    "REFERENCES", "RELATIVE", "RESTRICT", "REVOKE", "RIGHT", "ROLLBACK", "ROWS", "SCHEMA",
    "SCROLL", "SECOND", "SECTION", "SELECT", "SESSION", "SESSION_USER", "SET", "SIZE",
    "SMALLINT", "SOME", "SPACE", "SQL", "SQLCODE", "SQLERROR", "SQLSTATE", "SUBSTRING", "SUM",
    "SYSTEM_USER", "TABLE", "TEMPORARY", "THEN", "TIME", "TIMESTAMP", "TIMEZONE_HOUR",
    "TIMEZONE_MINUTE", "TO", "TRAILING", "TRANSACTION", "TRANSLATE", "TRANSLATION", "TRIM",
    "TRUE", "UNION", "UNIQUE", "UNKNOWN", "UPDATE", "UPPER", "USAGE", "USER", "USING", "VALUE",
    "VALUES", "VARCHAR", "VARYING", "VIEW", "WHEN", "WHENEVER", "WHERE", "WITH", "WORK",
    "WRITE", "YEAR", "ZONE",
];

/// Words the grammar itself uses to find its way: these can never be read as
/// names, even with a warning. Every other reserved word may be, where the
/// intent is unambiguous (`SELECT size FROM t`), with a warning that gives
/// the quoted form.
pub(crate) const STRUCTURAL: &[&str] = &[
    "ALL", "AND", "AS", "ASC", "BETWEEN", "BY", "CASE", "CAST", "CROSS", "DESC", "DISTINCT",
    "ELSE", "END", "ESCAPE", "EXCEPT", "EXISTS", "FROM", "FULL", "GROUP", "HAVING", "ILIKE",
    "IN", "INNER", "INTERSECT", "IS", "JOIN", "LEFT", "LIKE", "LIMIT", "NATURAL", "NOT", "NULL",
    "OFFSET", "ON", "OR", "ORDER", "OUTER", "RIGHT", "SELECT", "THEN", "TOP", "UNION", "USING",
    "WHEN", "WHERE", "WITH",
];

/// True if `word` is reserved in ADQL 2.1 (case-insensitive).
pub fn is_reserved(word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    ADQL_RESERVED.contains(&upper.as_str()) || SQL_RESERVED.contains(&upper.as_str())
}

/// True if the grammar uses `word` as a keyword that cannot stand for a name.
pub(crate) fn is_structural(word: &str) -> bool {
    STRUCTURAL.iter().any(|k| k.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_words_from_the_bnf() {
        assert!(is_reserved("distance"));
        assert!(is_reserved("Public"));
        assert!(is_reserved("size"));
        assert!(!is_reserved("ra"));
        assert!(is_structural("from"));
        assert!(!is_structural("size"));
    }
}
