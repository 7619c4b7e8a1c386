//! Name resolution: the relations visible in a SELECT and the columns they
//! offer, with ADQL's identifier rules (ADQL 2.1 §2.1.3: regular identifiers
//! are case-insensitive, delimited ones exact) and helpful refusals.

use crate::key_index::KeyIndex;
use adql_syntax::Ident;
use catalog_model::{AdqlType, ColumnMeta, Position};

/// A column as a relation exposes it.
#[derive(Debug, Clone)]
pub(crate) struct Col {
    pub(crate) name: String,
    pub(crate) ty: AdqlType,
    pub(crate) meta: ColumnMeta,
}

/// A table, CTE or subquery in FROM.
#[derive(Debug, Clone)]
pub(crate) struct Relation {
    /// The correlation name, if the user gave one (then only it may qualify columns).
    pub(crate) alias: Option<Ident>,
    /// Schema and table name of a catalog table (for `schema.table.column`).
    pub(crate) schema: Option<String>,
    pub(crate) table: String,
    /// The quoted name qualifying this relation's columns in the SQL.
    pub(crate) sql_alias: String,
    pub(crate) columns: Vec<Col>,
    /// No catalog: any column name is accepted, of unknown type.
    pub(crate) open: bool,
    /// The main position of a table whose files carry the sky index.
    pub(crate) sky_index: Option<Position>,
    /// Rows, when known (the crossmatch expands the smaller side).
    pub(crate) rows: Option<u64>,
    /// The key index of a catalog table that has one.
    pub(crate) key_index: Option<KeyIndex>,
}

impl Relation {
    /// The SQL of this relation's column `name`: `"alias"."name"`.
    pub(crate) fn column_sql(&self, name: &str) -> String {
        format!("{}.{}", self.sql_alias, quote(name))
    }

    /// Does `qualifier` (`[catalog.][schema.]table`, or an alias) name this relation?
    pub(crate) fn answers_to(&self, qualifier: &[Ident]) -> bool {
        let Some(last) = qualifier.last() else {
            return false;
        };
        if let Some(alias) = &self.alias {
            return qualifier.len() == 1 && ident_eq(last, alias);
        }
        if !last.matches(&self.table) {
            return false;
        }
        match qualifier.len() {
            1 => true,
            _ => self
                .schema
                .as_deref()
                .is_some_and(|s| qualifier[qualifier.len() - 2].matches(s)),
        }
    }

    /// The display name in messages: `schema.table` or the alias.
    pub(crate) fn display(&self) -> String {
        match (&self.alias, &self.schema) {
            (Some(a), _) => a.name.clone(),
            (None, Some(s)) => format!("{s}.{}", self.table),
            (None, None) => self.table.clone(),
        }
    }
}

/// Two identifiers denote the same name (either may be delimited).
pub(crate) fn ident_eq(a: &Ident, b: &Ident) -> bool {
    if a.quoted && b.quoted {
        a.name == b.name
    } else if a.quoted {
        b.matches(&a.name)
    } else {
        a.matches(&b.name)
    }
}

/// A column merged by USING or NATURAL: unqualified references mean `sql`.
#[derive(Debug, Clone)]
pub(crate) struct Merged {
    pub(crate) name: String,
    pub(crate) sql: String,
    pub(crate) col: Col,
    /// (relation index, column index) pairs it stands for, hidden from `*`.
    pub(crate) hides: Vec<(usize, usize)>,
}

/// What a SELECT can see: its FROM relations and the scopes around it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    pub(crate) relations: Vec<Relation>,
    pub(crate) merged: Vec<Merged>,
}

/// A resolved column reference.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) sql: String,
    pub(crate) col: Col,
}

/// Outcome of looking a column up in one scope.
pub(crate) enum Lookup {
    Found(Resolved),
    Ambiguous(Vec<String>),
    NoRelation,
    NotFound,
}

/// `"name"` with inner quotes doubled: every identifier in the SQL is delimited.
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Scope {
    pub(crate) fn lookup(&self, parts: &[Ident]) -> Lookup {
        let (qualifier, name) = parts.split_at(parts.len() - 1);
        let name = &name[0];
        if qualifier.is_empty() {
            if let Some(m) = self.merged.iter().find(|m| name.matches(&m.name)) {
                return Lookup::Found(Resolved {
                    sql: m.sql.clone(),
                    col: m.col.clone(),
                });
            }
            let mut hits = Vec::new();
            for r in &self.relations {
                for c in r.columns.iter().filter(|c| name.matches(&c.name)) {
                    hits.push((r, c.clone()));
                }
            }
            return match hits.len() {
                1 => {
                    let (r, c) = hits.remove(0);
                    Lookup::Found(Resolved {
                        sql: r.column_sql(&c.name),
                        col: c,
                    })
                }
                0 => {
                    let open: Vec<&Relation> = self.relations.iter().filter(|r| r.open).collect();
                    if open.len() == 1 {
                        Lookup::Found(open_column(open[0], name))
                    } else if open.len() > 1 {
                        Lookup::Found(Resolved {
                            sql: quote(&name.name),
                            col: unknown_col(name),
                        })
                    } else {
                        Lookup::NotFound
                    }
                }
                _ => Lookup::Ambiguous(
                    hits.iter()
                        .map(|(r, c)| format!("{}.{}", r.display(), c.name))
                        .collect(),
                ),
            };
        }
        let rels: Vec<&Relation> = self
            .relations
            .iter()
            .filter(|r| r.answers_to(qualifier))
            .collect();
        match rels.as_slice() {
            [] => Lookup::NoRelation,
            [r] => match r.columns.iter().find(|c| name.matches(&c.name)) {
                Some(c) => Lookup::Found(Resolved {
                    sql: r.column_sql(&c.name),
                    col: c.clone(),
                }),
                None if r.open => Lookup::Found(open_column(r, name)),
                None => Lookup::NotFound,
            },
            many => Lookup::Ambiguous(many.iter().map(|r| r.display()).collect()),
        }
    }

    /// The relations' names for messages: "hip.main, s".
    pub(crate) fn relation_names(&self) -> String {
        self.relations
            .iter()
            .map(Relation::display)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Every column name in scope, for "did you mean" suggestions.
    pub(crate) fn column_names(&self) -> Vec<String> {
        self.relations
            .iter()
            .flat_map(|r| r.columns.iter().map(|c| c.name.clone()))
            .collect()
    }
}

fn unknown_col(name: &Ident) -> Col {
    Col {
        name: name.name.clone(),
        ty: AdqlType::Unknown,
        meta: ColumnMeta::default(),
    }
}

fn open_column(r: &Relation, name: &Ident) -> Resolved {
    Resolved {
        sql: r.column_sql(&name.name),
        col: unknown_col(name),
    }
}

/// Levenshtein distance, case-insensitive.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate to `name`, if close enough to be a likely typo.
pub(crate) fn suggest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        assert_eq!(suggest("raa", ["ra", "dec", "plx"]), Some("ra".into()));
        assert_eq!(suggest("pmde", ["pmra", "pmdec"]), Some("pmdec".into()));
        assert_eq!(suggest("magnitude", ["ra", "dec"]), None);
    }
}
