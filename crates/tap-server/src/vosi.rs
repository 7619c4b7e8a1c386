//! The VOSI endpoints (VOSI 1.1): availability, capabilities with the
//! TAPRegExt description of what the service supports, and the tableset
//! (VODataService 1.2) generated from the catalog.

use crate::{AppState, xml};
use adql_planner::{AdqlType, Catalog};
use axum::extract::State;
use axum::response::Response;
use std::fmt::Write;
use std::sync::Arc;
use table_writers::xml_escape;

pub(crate) async fn availability() -> Response {
    xml("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<vosi:availability xmlns:vosi=\"http://www.ivoa.net/xml/VOSIAvailability/v1.0\">\n\
  <vosi:available>true</vosi:available>\n\
  <vosi:note>Corvus is accepting queries</vosi:note>\n\
</vosi:availability>\n"
        .to_string())
}

/// The geometry functions, as TAPRegExt names them (features-adqlgeo).
const GEOMETRY: &[&str] = &[
    "POINT",
    "CIRCLE",
    "BOX",
    "POLYGON",
    "REGION",
    "CENTROID",
    "CONTAINS",
    "INTERSECTS",
    "AREA",
    "DISTANCE",
    "COORD1",
    "COORD2",
    "COORDSYS",
];

/// The optional language features of ADQL 2.1 §4 that work here.
const FEATURES: &[(&str, &[&str])] = &[
    (
        "ivo://ivoa.net/std/TAPRegExt#features-adql-string",
        &["LOWER", "UPPER", "ILIKE"],
    ),
    (
        "ivo://ivoa.net/std/TAPRegExt#features-adql-sets",
        &["UNION", "EXCEPT", "INTERSECT"],
    ),
    (
        "ivo://ivoa.net/std/TAPRegExt#features-adql-common-table",
        &["WITH"],
    ),
    ("ivo://ivoa.net/std/TAPRegExt#features-adql-type", &["CAST"]),
    (
        "ivo://ivoa.net/std/TAPRegExt#features-adql-unit",
        &["IN_UNIT"],
    ),
    (
        "ivo://ivoa.net/std/TAPRegExt#features-adql-conditional",
        &["COALESCE"],
    ),
    (
        "ivo://ivoa.net/std/TAPRegExt#features-adql-offset",
        &["OFFSET"],
    ),
];

pub(crate) async fn capabilities(State(state): State<Arc<AppState>>) -> Response {
    let base = xml_escape(&state.base_url);
    let mut s = String::new();
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str("<vosi:capabilities xmlns:vosi=\"http://www.ivoa.net/xml/VOSICapabilities/v1.0\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\" xmlns:tr=\"http://www.ivoa.net/xml/TAPRegExt/v1.0\">\n");
    s.push_str("<capability standardID=\"ivo://ivoa.net/std/TAP\" xsi:type=\"tr:TableAccess\">\n");
    let _ = writeln!(
        s,
        "<interface xsi:type=\"vs:ParamHTTP\" role=\"std\" version=\"1.1\"><accessURL use=\"base\">{base}</accessURL></interface>"
    );
    s.push_str("<language><name>ADQL</name>");
    s.push_str("<version ivo-id=\"ivo://ivoa.net/std/ADQL#v2.0\">2.0</version>");
    s.push_str("<version ivo-id=\"ivo://ivoa.net/std/ADQL#v2.1\">2.1</version>");
    s.push_str("<description>ADQL 2.1, the whole language; geometry on the unit sphere in degrees, ICRS</description>\n");
    s.push_str("<languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-udf\">\n");
    for udf in adql_planner::USER_DEFINED_FUNCTIONS {
        let _ = writeln!(s, "<feature><form>{}</form></feature>", xml_escape(udf));
    }
    s.push_str("</languageFeatures>\n<languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adqlgeo\">\n");
    for g in GEOMETRY {
        let _ = write!(s, "<feature><form>{g}</form></feature>");
    }
    s.push_str("\n</languageFeatures>\n");
    for (kind, forms) in FEATURES {
        let _ = write!(s, "<languageFeatures type=\"{kind}\">");
        for f in *forms {
            let _ = write!(s, "<feature><form>{f}</form></feature>");
        }
        s.push_str("</languageFeatures>\n");
    }
    s.push_str("</language>\n");
    for (mime, aliases) in table_writers::Format::all() {
        let id = match *mime {
            "application/x-votable+xml" => {
                " ivo-id=\"ivo://ivoa.net/std/TAPRegExt#output-votable-td\""
            }
            _ => "",
        };
        let _ = write!(s, "<outputFormat{id}><mime>{mime}</mime>");
        for a in *aliases {
            let _ = write!(s, "<alias>{a}</alias>");
        }
        s.push_str("</outputFormat>\n");
    }
    let _ = writeln!(
        s,
        "<outputLimit><default unit=\"row\">{}</default><hard unit=\"row\">{}</hard></outputLimit>",
        state.limits.default_maxrec, state.limits.hard_maxrec
    );
    s.push_str("</capability>\n");
    for (id, path) in [
        ("ivo://ivoa.net/std/VOSI#capabilities", "capabilities"),
        ("ivo://ivoa.net/std/VOSI#availability", "availability"),
        ("ivo://ivoa.net/std/VOSI#tables-1.1", "tables"),
    ] {
        let _ = writeln!(
            s,
            "<capability standardID=\"{id}\"><interface xsi:type=\"vs:ParamHTTP\"><accessURL use=\"full\">{base}/{path}</accessURL></interface></capability>"
        );
    }
    s.push_str("</vosi:capabilities>\n");
    xml(s)
}

/// The VOTable datatype of a column type (VODataService 1.2 §3.5.3).
fn datatype(t: AdqlType) -> (&'static str, Option<&'static str>) {
    match t {
        AdqlType::Boolean => ("boolean", None),
        AdqlType::SmallInt => ("short", None),
        AdqlType::Integer => ("int", None),
        AdqlType::BigInt => ("long", None),
        AdqlType::Real => ("float", None),
        AdqlType::Double => ("double", None),
        AdqlType::Point => ("double", Some("2")),
        AdqlType::Circle => ("double", Some("3")),
        AdqlType::Polygon | AdqlType::Region | AdqlType::Array => ("double", Some("*")),
        _ => ("char", Some("*")),
    }
}

pub(crate) async fn tables(State(state): State<Arc<AppState>>) -> Response {
    let catalog = state.engine.catalog();
    let mut by_schema: Vec<(String, Vec<&adql_planner::TableInfo>)> = Vec::new();
    for t in catalog.tables() {
        match by_schema.iter_mut().find(|(s, _)| *s == t.schema) {
            Some((_, v)) => v.push(t),
            None => by_schema.push((t.schema.clone(), vec![t])),
        }
    }
    let mut s = String::new();
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str("<vosi:tableset xmlns:vosi=\"http://www.ivoa.net/xml/VOSITables/v1.0\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\">\n");
    for (schema, tables) in by_schema {
        let _ = writeln!(s, "<schema><name>{}</name>", xml_escape(&schema));
        for t in tables {
            let _ = writeln!(s, "<table><name>{}</name>", xml_escape(&t.qualified_name()));
            for c in &t.columns {
                let _ = write!(s, "<column><name>{}</name>", xml_escape(&c.name));
                let m = &c.meta;
                for (tag, v) in [
                    ("description", &m.description),
                    ("unit", &m.unit),
                    ("ucd", &m.ucd),
                    ("utype", &m.utype),
                ] {
                    if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                        let _ = write!(s, "<{tag}>{}</{tag}>", xml_escape(v));
                    }
                }
                let (dt, size) = datatype(c.ty);
                let size = size
                    .map(|a| format!(" arraysize=\"{a}\""))
                    .unwrap_or_default();
                let xtype =
                    c.ty.xtype()
                        .map(|x| format!(" extendedType=\"{x}\""))
                        .unwrap_or_default();
                let _ = writeln!(
                    s,
                    "<dataType xsi:type=\"vs:VOTableType\"{size}{xtype}>{dt}</dataType></column>"
                );
            }
            s.push_str("</table>\n");
        }
        s.push_str("</schema>\n");
    }
    s.push_str("</vosi:tableset>\n");
    xml(s)
}
