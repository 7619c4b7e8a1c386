//! Simple Cone Search (SCS 1.03, with the UCD1+ names of SCS 1.1) for every
//! table with a main position: `/scs/SCHEMA.TABLE?RA=&DEC=&SR=[&VERB=][&MAXREC=]`,
//! and its VOSI capabilities at `/scs/SCHEMA.TABLE/capabilities`.
//!
//! The cone becomes an ADQL query (CONTAINS of POINT in CIRCLE) that runs
//! like any TAP query. SCS §2.2 asks for exactly one FIELD each with the
//! UCDs meta.id;meta.main (a string), pos.eq.ra;meta.main and
//! pos.eq.dec;meta.main, so those three lead the result with those UCDs.

use crate::error::ServiceError;
use crate::request::{Params, QueryRequest, maxrec_of};
use crate::{AppState, query, uploads, xml};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use catalog_model::{Catalog, TableInfo};
use std::fmt::Write;
use std::sync::Arc;
use table_writers::{Format, xml_escape};

/// The table and its main position columns, or why there is no cone search.
fn cone_table<'a>(
    state: &'a AppState,
    name: &str,
) -> Result<(&'a TableInfo, &'a str, &'a str), ServiceError> {
    let table = state
        .engine
        .catalog()
        .tables()
        .into_iter()
        .find(|t| t.qualified_name().eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            ServiceError::NotFound(format!("no table {name}; /tap/tables lists the tables"))
        })?;
    let p = table.position.as_ref().ok_or_else(|| {
        ServiceError::NotFound(format!(
            "{name} has no main position, so it has no cone search"
        ))
    })?;
    Ok((table, &p.ra, &p.dec))
}

/// The identifier column: the one whose UCD says meta.id;meta.main, else the first.
fn id_column(t: &TableInfo) -> &str {
    t.columns
        .iter()
        .find(|c| {
            c.meta
                .ucd
                .as_deref()
                .is_some_and(|u| u.to_ascii_lowercase().contains("meta.id;meta.main"))
        })
        .or(t.columns.first())
        .map_or("", |c| c.name.as_str())
}

fn number(params: &Params, name: &str) -> Result<f64, ServiceError> {
    let v = params.get(name).ok_or_else(|| {
        ServiceError::BadRequest(format!(
            "{name} is missing: a cone search needs RA, DEC and SR in degrees"
        ))
    })?;
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| ServiceError::BadRequest(format!("{name}={v} is not a number of degrees")))
}

/// A cone: position and radius in degrees, and the verbosity.
struct Cone {
    ra: f64,
    dec: f64,
    sr: f64,
    verb: u8,
}

impl Cone {
    fn from_params(params: &Params) -> Result<Cone, ServiceError> {
        let bad = |m: String| Err(ServiceError::BadRequest(m));
        let ra = number(params, "RA")?;
        let dec = number(params, "DEC")?;
        let sr = number(params, "SR")?;
        if !(0.0..=360.0).contains(&ra) && !(-180.0..0.0).contains(&ra) {
            return bad(format!("RA={ra} is out of range: give degrees, 0 to 360"));
        }
        if !(-90.0..=90.0).contains(&dec) {
            return bad(format!(
                "DEC={dec} is out of range: give degrees, -90 to 90"
            ));
        }
        if !(0.0..=180.0).contains(&sr) {
            return bad(format!("SR={sr} is out of range: give degrees, 0 to 180"));
        }
        let verb = match params.get("VERB").map(|v| v.trim()) {
            None | Some("") | Some("2") => 2,
            Some("1") => 1,
            Some("3") => 3,
            Some(v) => return bad(format!("VERB={v} is not 1, 2 or 3")),
        };
        Ok(Cone { ra, dec, sr, verb })
    }

    /// The cone as an ADQL query over `table`: the identifier (as a string),
    /// the position, then the columns the verbosity asks for.
    fn adql(&self, table: &TableInfo, ra_col: &str, dec_col: &str) -> String {
        let id = id_column(table);
        let q = adql_syntax::name_as_written;
        let mut items = vec![
            format!("CAST({} AS VARCHAR) AS {}", q(id), q(id)),
            q(ra_col),
            q(dec_col),
        ];
        for c in &table.columns {
            let wanted = match self.verb {
                1 => false,
                2 => c.meta.principal.unwrap_or(true),
                _ => true,
            };
            if wanted && ![id, ra_col, dec_col].contains(&c.name.as_str()) {
                items.push(q(&c.name));
            }
        }
        let Cone { ra, dec, sr, .. } = self;
        format!(
            "SELECT {} FROM {}.{} WHERE 1 = CONTAINS(POINT('ICRS', {}, {}), CIRCLE('ICRS', {ra}, {dec}, {sr}))",
            items.join(", "),
            q(&table.schema),
            q(&table.name),
            q(ra_col),
            q(dec_col),
        )
    }
}

pub(crate) async fn search(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    match cone_search(&state, &name, &headers, Params::from_pairs(pairs)).await {
        Ok(mut response) => {
            // SCS §2.2: the MIME type is text/xml.
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/xml; content=x-votable"),
            );
            response
        }
        Err(e) => e.into_scs_response(),
    }
}

async fn cone_search(
    state: &Arc<AppState>,
    name: &str,
    headers: &HeaderMap,
    params: Params,
) -> Result<Response, ServiceError> {
    let (table, ra_col, dec_col) = cone_table(state, name)?;
    let cone = Cone::from_params(&params)?;
    // SR=0 asks for the columns only (SCS 1.03 §2.1).
    let maxrec = if cone.sr == 0.0 {
        0
    } else {
        maxrec_of(&params, &state.limits)?
    };
    let request = QueryRequest {
        adql: cone.adql(table, ra_col, dec_col),
        format: Format::VoTable,
        maxrec,
        uploads: Vec::new(),
        runid: params.get("RUNID").map(str::to_string),
    };
    // The three columns SCS requires, with the UCDs it requires, and only they.
    let scs_ucds = |t: &mut adql_planner::Translation| {
        for (i, c) in t.columns.iter_mut().enumerate() {
            c.meta.ucd = match i {
                0 => Some("meta.id;meta.main".to_string()),
                1 => Some("pos.eq.ra;meta.main".to_string()),
                2 => Some("pos.eq.dec;meta.main".to_string()),
                _ => c
                    .meta
                    .ucd
                    .take()
                    .map(|u| u.replace(";meta.main", ""))
                    .filter(|u| !u.is_empty()),
            };
        }
    };
    query::run(state, request, uploads::Parts::default(), headers, scs_ucds).await
}

pub(crate) async fn capabilities(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Response {
    let (table, _, _) = match cone_table(&state, &name) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let root = state.base_url.trim_end_matches("/tap");
    let url = xml_escape(&format!("{root}/scs/{}", table.qualified_name()));
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str("<vosi:capabilities xmlns:vosi=\"http://www.ivoa.net/xml/VOSICapabilities/v1.0\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\" xmlns:cs=\"http://www.ivoa.net/xml/ConeSearch/v1.0\">\n");
    let _ = writeln!(
        s,
        "<capability standardID=\"ivo://ivoa.net/std/ConeSearch\" xsi:type=\"cs:ConeSearch\">\
<interface xsi:type=\"vs:ParamHTTP\" role=\"std\" version=\"1.03\"><accessURL use=\"base\">{url}?</accessURL></interface>\
<maxSR>180</maxSR><maxRecords>{}</maxRecords><verbosity>true</verbosity>\
<testQuery><ra>0</ra><dec>0</dec><sr>1</sr></testQuery></capability>",
        state.limits.hard_maxrec
    );
    for (id, path) in [
        ("ivo://ivoa.net/std/VOSI#capabilities", "capabilities"),
        ("ivo://ivoa.net/std/VOSI#availability", "availability"),
    ] {
        let href = if path == "capabilities" {
            format!("{url}/capabilities")
        } else {
            format!("{}/availability", xml_escape(&state.base_url))
        };
        let _ = writeln!(
            s,
            "<capability standardID=\"{id}\"><interface xsi:type=\"vs:ParamHTTP\"><accessURL use=\"full\">{href}</accessURL></interface></capability>"
        );
    }
    s.push_str("</vosi:capabilities>\n");
    xml(s)
}
