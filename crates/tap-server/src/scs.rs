//! Simple Cone Search (SCS 1.03, with the UCD1+ names of SCS 1.1) for every
//! table with a main position: `/scs/SCHEMA.TABLE?RA=&DEC=&SR=[&VERB=][&MAXREC=]`,
//! and its VOSI capabilities at `/scs/SCHEMA.TABLE/capabilities`.
//!
//! The cone becomes an ADQL query (CONTAINS of POINT in CIRCLE) that runs
//! like any TAP query. SCS §2.2 asks for exactly one FIELD each with the
//! UCDs meta.id;meta.main (a string), pos.eq.ra;meta.main and
//! pos.eq.dec;meta.main, so those three lead the result with those UCDs.

use crate::sync::respond;
use crate::{AppState, xml};
use adql_planner::{AllowAll, Catalog, TableInfo};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;
use table_writers::{Format, VOTABLE_OPEN, xml_escape};

/// SCS §2.3: errors are a VOTable with INFO name="Error" under VOTABLE.
fn scs_error(_status: StatusCode, message: &str) -> Response {
    // SCS clients look for the INFO, not the status: SCS 1.03 §2.3 answers
    // errors with a VOTable, and many clients drop the body of a 4xx.
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{VOTABLE_OPEN}\n<INFO ID=\"Error\" name=\"Error\" value=\"{}\"/>\n<RESOURCE type=\"results\"><TABLE><FIELD name=\"error\" datatype=\"char\" arraysize=\"*\"/><DATA><TABLEDATA/></DATA></TABLE></RESOURCE>\n</VOTABLE>\n",
        xml_escape(message)
    );
    (
        [(header::CONTENT_TYPE, "text/xml; content=x-votable")],
        body,
    )
        .into_response()
}

/// The table and its main position columns, or why there is no cone search.
fn cone_table<'a>(
    state: &'a AppState,
    name: &str,
) -> Result<(&'a TableInfo, &'a str, &'a str), String> {
    let table = state
        .engine
        .catalog()
        .tables()
        .into_iter()
        .find(|t| t.qualified_name().eq_ignore_ascii_case(name))
        .ok_or_else(|| format!("no table {name}; /tap/tables lists the tables"))?;
    let (ra, dec) = state
        .positions
        .get(&table.qualified_name())
        .ok_or_else(|| format!("{name} has no main position, so it has no cone search"))?;
    Ok((table, ra, dec))
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

fn number(params: &HashMap<String, String>, name: &str) -> Result<f64, String> {
    let v = params.get(name).ok_or_else(|| {
        format!("{name} is missing: a cone search needs RA, DEC and SR in degrees")
    })?;
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| format!("{name}={v} is not a number of degrees"))
}

pub(crate) async fn search(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let mut params = HashMap::new();
    for (k, v) in pairs {
        params.entry(k.to_ascii_uppercase()).or_insert(v);
    }
    let (table, ra_col, dec_col) = match cone_table(&state, &name) {
        Ok(t) => t,
        Err(m) => return scs_error(StatusCode::NOT_FOUND, &m),
    };
    let cone = (|| {
        let ra = number(&params, "RA")?;
        let dec = number(&params, "DEC")?;
        let sr = number(&params, "SR")?;
        if !(0.0..=360.0).contains(&ra) && !(-180.0..0.0).contains(&ra) {
            return Err(format!("RA={ra} is out of range: give degrees, 0 to 360"));
        }
        if !(-90.0..=90.0).contains(&dec) {
            return Err(format!(
                "DEC={dec} is out of range: give degrees, -90 to 90"
            ));
        }
        if !(0.0..=180.0).contains(&sr) {
            return Err(format!("SR={sr} is out of range: give degrees, 0 to 180"));
        }
        let verb = match params.get("VERB").map(|v| v.trim()) {
            None | Some("") | Some("2") => 2,
            Some("1") => 1,
            Some("3") => 3,
            Some(v) => return Err(format!("VERB={v} is not 1, 2 or 3")),
        };
        Ok((ra, dec, sr, verb))
    })();
    let (ra, dec, sr, verb) = match cone {
        Ok(c) => c,
        Err(m) => return scs_error(StatusCode::BAD_REQUEST, &m),
    };
    let maxrec = match state
        .limits
        .maxrec(params.get("MAXREC").map(String::as_str))
    {
        Ok(n) => n,
        Err(m) => return scs_error(StatusCode::BAD_REQUEST, &m),
    };
    // SR=0 asks for the columns only (SCS 1.03 §2.1).
    let maxrec = if sr == 0.0 { 0 } else { maxrec };
    let id = id_column(table);
    let q = adql_syntax::name_as_written;
    let mut items = vec![
        format!("CAST({} AS VARCHAR) AS {}", q(id), q(id)),
        q(ra_col),
        q(dec_col),
    ];
    for c in &table.columns {
        let wanted = match verb {
            1 => false,
            2 => c.meta.principal.unwrap_or(true),
            _ => true,
        };
        if wanted && ![id, ra_col, dec_col].contains(&c.name.as_str()) {
            items.push(q(&c.name));
        }
    }
    let adql = format!(
        "SELECT {} FROM {} WHERE 1 = CONTAINS(POINT('ICRS', {}, {}), CIRCLE('ICRS', {ra}, {dec}, {sr}))",
        items.join(", "),
        table.qualified_name(),
        q(ra_col),
        q(dec_col),
    );
    let mut translation = match state.engine.translate(&adql, &AllowAll) {
        Ok(t) => t,
        Err(e) => return scs_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    // The three columns SCS requires, with the UCDs it requires, and only they.
    for (i, c) in translation.columns.iter_mut().enumerate() {
        let ucd = match i {
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
        c.meta.ucd = ucd;
    }
    let mut response = respond(
        &state,
        &state.engine,
        &translation,
        &adql,
        Format::VoTable,
        maxrec,
        &scs_error,
    )
    .await;
    // SCS §2.2: the MIME type is text/xml.
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/xml; content=x-votable"),
    );
    response
}

pub(crate) async fn capabilities(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Response {
    let (table, _, _) = match cone_table(&state, &name) {
        Ok(t) => t,
        Err(m) => return crate::dali_error(StatusCode::NOT_FOUND, &m),
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
