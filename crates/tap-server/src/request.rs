//! Requests, validated once: the raw parameters ([`Params`]: names are
//! case-insensitive, values are not, DALI 1.1 §3.1) become a
//! [`QueryRequest`] that sync, cone search and async queries all run.

use crate::error::ServiceError;
use crate::{Limits, uploads};
use std::collections::HashMap;
use table_writers::Format;

/// Parameters by upper-cased name; a repeated parameter keeps its first value.
#[derive(Debug, Default)]
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> Params {
        let mut map = HashMap::new();
        for (k, v) in pairs {
            map.entry(k.to_ascii_uppercase()).or_insert(v);
        }
        Params(map)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// A query to run, every parameter checked.
#[derive(Debug, Clone)]
pub(crate) struct QueryRequest {
    /// The ADQL text.
    pub(crate) adql: String,
    /// The output format.
    pub(crate) format: Format,
    /// At most this many rows (DALI 1.1 §3.3.3), never above the hard limit.
    pub(crate) maxrec: u64,
    /// Tables to upload (TAP 1.1 §2.5.8).
    pub(crate) uploads: Vec<uploads::UploadSpec>,
    /// The caller's label for the request (DALI 1.1 §3.3.6), for the log.
    pub(crate) runid: Option<String>,
}

impl QueryRequest {
    /// Reads a TAP query's parameters: REQUEST, LANG, QUERY,
    /// RESPONSEFORMAT/FORMAT, MAXREC, UPLOAD, RUNID.
    pub(crate) fn from_tap(p: &Params, limits: &Limits) -> Result<QueryRequest, ServiceError> {
        let bad = |m: String| Err(ServiceError::BadRequest(m));
        if let Some(r) = p.get("REQUEST")
            && !r.eq_ignore_ascii_case("doQuery")
        {
            return bad(format!("REQUEST={r} is not supported; use REQUEST=doQuery"));
        }
        match p.get("LANG") {
            None => return bad("LANG is missing: send LANG=ADQL with the query".into()),
            Some(l)
                if ["ADQL", "ADQL-2.0", "ADQL-2.1"]
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(l)) => {}
            Some(l) => return bad(format!("LANG={l} is not supported; use LANG=ADQL")),
        }
        let Some(adql) = p.get("QUERY").filter(|q| !q.trim().is_empty()) else {
            return bad("QUERY is missing: send the ADQL query as QUERY=...".into());
        };
        let uploads = match p.get("UPLOAD").filter(|u| !u.trim().is_empty()) {
            Some(spec) => uploads::UploadSpec::parse_all(spec)?,
            None => Vec::new(),
        };
        Ok(QueryRequest {
            adql: adql.to_string(),
            format: format_of(p)?,
            maxrec: maxrec_of(p, limits)?,
            uploads,
            runid: p.get("RUNID").map(str::to_string),
        })
    }
}

/// RESPONSEFORMAT (or its older name FORMAT); VOTable when absent.
pub(crate) fn format_of(p: &Params) -> Result<Format, ServiceError> {
    let name = p
        .get("RESPONSEFORMAT")
        .or(p.get("FORMAT"))
        .unwrap_or("votable");
    Format::parse(name).ok_or_else(|| {
        ServiceError::BadRequest(format!(
            "RESPONSEFORMAT={name} is not supported; use one of {}",
            Format::names().join(", ")
        ))
    })
}

/// MAXREC (DALI 1.1 §3.3.3): the default when absent, never above the hard limit.
pub(crate) fn maxrec_of(p: &Params, limits: &Limits) -> Result<u64, ServiceError> {
    match p.get("MAXREC") {
        None => Ok(limits.default_maxrec),
        Some(m) => m
            .trim()
            .parse::<u64>()
            .map(|n| n.min(limits.hard_maxrec))
            .map_err(|_| {
                ServiceError::BadRequest(format!("MAXREC={m} is not a non-negative whole number"))
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn a_tap_request_is_checked_once() {
        let limits = Limits::default();
        let r = QueryRequest::from_tap(
            &params(&[
                ("lang", "ADQL"),
                ("Query", "SELECT 1"),
                ("maxrec", "99999999999"),
                ("format", "csv"),
            ]),
            &limits,
        )
        .unwrap();
        assert_eq!(r.maxrec, limits.hard_maxrec);
        assert_eq!(r.format, Format::Csv);
        for (pairs, message) in [
            (vec![("QUERY", "SELECT 1")], "LANG is missing"),
            (vec![("LANG", "SQL"), ("QUERY", "x")], "LANG=SQL"),
            (vec![("LANG", "ADQL")], "QUERY is missing"),
            (
                vec![("LANG", "ADQL"), ("QUERY", "x"), ("MAXREC", "-1")],
                "MAXREC=-1",
            ),
            (
                vec![("LANG", "ADQL"), ("QUERY", "x"), ("RESPONSEFORMAT", "xls")],
                "RESPONSEFORMAT=xls",
            ),
        ] {
            let e = QueryRequest::from_tap(&params(&pairs), &limits).unwrap_err();
            assert!(e.to_string().contains(message), "{e}");
        }
    }
}
