//! The VOSI endpoints (VOSI 1.1): availability, capabilities with the
//! TAPRegExt description of what the service supports, and the tableset
//! (VODataService 1.2) generated from the catalog.

use crate::error::ServiceError;
use crate::{AppState, xml};
use axum::extract::State;
use axum::extract::{Path, Query};
use axum::response::Response;
use catalog_model::{Catalog, ColumnInfo, TableInfo};
use query_engine::tap_schema::{FOREIGN_KEYS, TAP_SCHEMA};
use std::fmt::Write;
use std::sync::Arc;
use table_writers::xml_escape;

/// VOSI 1.1 §3.3: up, or shutting down. It reads two counters and
/// touches no query, so it answers at once however busy the engine is.
pub(crate) async fn availability(State(state): State<Arc<AppState>>) -> Response {
    let stopping = state.stopping.load(std::sync::atomic::Ordering::Relaxed);
    let (available, note) = if stopping || state.engine.is_shut_down() {
        ("false", "Corvus is shutting down".to_string())
    } else {
        let load = state.engine.load();
        (
            "true",
            format!(
                "Corvus is accepting queries ({} running, {} waiting)",
                load.quick_running + load.long_running,
                load.quick_waiting + load.long_waiting
            ),
        )
    };
    xml(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<vosi:availability xmlns:vosi=\"http://www.ivoa.net/xml/VOSIAvailability/v1.0\">\n\
  <vosi:available>{available}</vosi:available>\n\
  <vosi:note>{note}</vosi:note>\n\
</vosi:availability>\n"
    ))
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

/// The namespaces capability elements use.
pub(crate) const CAPABILITY_NAMESPACES: &str = "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\" xmlns:vr=\"http://www.ivoa.net/xml/VOResource/v1.0\" xmlns:tr=\"http://www.ivoa.net/xml/TAPRegExt/v1.0\"";

pub(crate) async fn capabilities(State(state): State<Arc<AppState>>) -> Response {
    let mut s = String::from(XML_DECLARATION);
    let _ = writeln!(
        s,
        "<vosi:capabilities xmlns:vosi=\"http://www.ivoa.net/xml/VOSICapabilities/v1.0\" {CAPABILITY_NAMESPACES}>"
    );
    s.push_str(&capability_elements(&state));
    s.push_str("</vosi:capabilities>\n");
    xml(s)
}

/// The service's capabilities: TAP with TAPRegExt, the VOSI endpoints and
/// the examples (shared by `/capabilities` and the registry record).
pub(crate) fn capability_elements(state: &AppState) -> String {
    let base = xml_escape(&state.base_url);
    let mut s = String::new();
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
    for (mime, aliases, ivo_id) in table_writers::Format::all() {
        let id = ivo_id
            .map(|i| format!(" ivo-id=\"{i}\""))
            .unwrap_or_default();
        let _ = write!(s, "<outputFormat{id}><mime>{}</mime>", xml_escape(mime));
        for a in aliases {
            let _ = write!(s, "<alias>{a}</alias>");
        }
        s.push_str("</outputFormat>\n");
    }
    // TAPRegExt §2.5 (Upload Methods): inline uploads, and retrieval from
    // http and https URLs unless the operator turned it off (a service
    // taking uploads must take them by URL too: TAP 1.1 §2.5.8, and
    // taplint's E-CAP-MUPM).
    s.push_str("<uploadMethod ivo-id=\"ivo://ivoa.net/std/TAPRegExt#upload-inline\"/>\n");
    if state.limits.upload_urls.enabled {
        s.push_str("<uploadMethod ivo-id=\"ivo://ivoa.net/std/TAPRegExt#upload-http\"/>\n");
        s.push_str("<uploadMethod ivo-id=\"ivo://ivoa.net/std/TAPRegExt#upload-https\"/>\n");
    }
    // TAPRegExt 1.0 §2.3: how long an asynchronous job's results are kept.
    if let Some(jobs) = state.jobs.get() {
        let c = jobs.config();
        let _ = writeln!(
            s,
            "<retentionPeriod><default>{}</default><hard>{}</hard></retentionPeriod>",
            c.destruction_seconds, c.max_destruction_seconds
        );
    }
    // TAPRegExt 1.0 §2.4: how long a (synchronous) query may run.
    let _ = writeln!(
        s,
        "<executionDuration><default>{0}</default><hard>{0}</hard></executionDuration>",
        state.limits.execution_seconds
    );
    let _ = writeln!(
        s,
        "<outputLimit><default unit=\"row\">{}</default><hard unit=\"row\">{}</hard></outputLimit>",
        state.limits.default_maxrec, state.limits.hard_maxrec
    );
    let _ = writeln!(
        s,
        "<uploadLimit><hard unit=\"byte\">{}</hard></uploadLimit>",
        state.limits.max_upload_bytes
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
    // DALI 1.1 §2.3, TAP 1.1 §2.4: the examples are for browsers.
    let _ = writeln!(
        s,
        "<capability standardID=\"ivo://ivoa.net/std/DALI#examples\"><interface xsi:type=\"vr:WebBrowser\"><accessURL use=\"full\">{base}/examples</accessURL></interface></capability>"
    );
    s
}

/// `detail=min|max` of a `/tables` request (VOSI 1.1 §3.4).
#[derive(serde::Deserialize)]
pub(crate) struct TablesQuery {
    detail: Option<String>,
}

/// The tableset, grouped by schema in catalog order. With `detail=min` the
/// columns are left out; without `detail` the whole tableset is returned.
pub(crate) async fn tables(
    State(state): State<Arc<AppState>>,
    Query(q): Query<TablesQuery>,
) -> Response {
    let with_columns = !q.detail.is_some_and(|d| d.eq_ignore_ascii_case("min"));
    let mut s = String::from(XML_DECLARATION);
    s.push_str("<vosi:tableset xmlns:vosi=\"http://www.ivoa.net/xml/VOSITables/v1.0\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\">\n");
    s.push_str(&schema_elements(&state, with_columns));
    s.push_str("</vosi:tableset>\n");
    xml(s)
}

/// The `schema` elements of the tableset, in catalog order.
pub(crate) fn schema_elements(state: &AppState, with_columns: bool) -> String {
    let catalog = state.engine.catalog();
    let mut by_schema: Vec<(String, Vec<&TableInfo>)> = Vec::new();
    for t in catalog.tables() {
        match by_schema.iter_mut().find(|(s, _)| *s == t.schema) {
            Some((_, v)) => v.push(t),
            None => by_schema.push((t.schema.clone(), vec![t])),
        }
    }
    let mut s = String::new();
    for (schema, tables) in by_schema {
        let _ = writeln!(s, "<schema><name>{}</name>", xml_escape(&schema));
        if schema == TAP_SCHEMA {
            s.push_str("<description>The TAP metadata tables (TAP 1.1 §4)</description>\n");
        }
        for t in tables {
            table_element(&mut s, "table", t, with_columns);
        }
        s.push_str("</schema>\n");
    }
    s
}

/// `/tables/SCHEMA.TABLE`: one table in full detail (VOSI 1.1 §3.4).
pub(crate) async fn table(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Response, ServiceError> {
    let catalog = state.engine.catalog();
    let t = catalog
        .tables()
        .into_iter()
        .find(|t| t.qualified_name().eq_ignore_ascii_case(&name))
        .ok_or_else(|| {
            ServiceError::NotFound(format!("no table {name}; /tap/tables lists the tables"))
        })?;
    let mut s = String::from(XML_DECLARATION);
    table_element(&mut s, "vosi:table", t, true);
    Ok(xml(s))
}

pub(crate) const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// A VODataService `Table` element named `tag`; the root element of a
/// `/tables/NAME` document carries the namespaces.
fn table_element(s: &mut String, tag: &str, t: &TableInfo, with_columns: bool) {
    let namespaces = if tag == "vosi:table" {
        " xmlns:vosi=\"http://www.ivoa.net/xml/VOSITables/v1.0\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\""
    } else {
        ""
    };
    let _ = write!(
        s,
        "<{tag}{namespaces} type=\"table\"><name>{}</name>",
        xml_escape(&t.qualified_name())
    );
    if let Some(d) = t.description.as_deref().filter(|d| !d.is_empty()) {
        let _ = write!(s, "<description>{}</description>", xml_escape(d));
    }
    s.push('\n');
    if with_columns {
        for c in &t.columns {
            column_element(s, c, t.schema == TAP_SCHEMA);
        }
        if t.schema == TAP_SCHEMA {
            for k in FOREIGN_KEYS.iter().filter(|k| k.from_table == t.name) {
                let _ = writeln!(
                    s,
                    "<foreignKey><targetTable>{TAP_SCHEMA}.{}</targetTable><fkColumn><fromColumn>{}</fromColumn><targetColumn>{}</targetColumn></fkColumn></foreignKey>",
                    k.target_table, k.from_column, k.target_column
                );
            }
        }
    }
    let _ = writeln!(s, "</{tag}>");
}

/// A column (VODataService 1.2 `TableParam`); the same facts as its row in
/// TAP_SCHEMA.columns, from the same catalog entry.
fn column_element(s: &mut String, c: &ColumnInfo, standard: bool) {
    let std = if standard { " std=\"true\"" } else { "" };
    let _ = write!(
        s,
        "<column{std}><name>{}</name>",
        xml_escape(&adql_syntax::name_as_written(&c.name))
    );
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
    let (datatype, arraysize) = c.ty.votable();
    let arraysize = arraysize
        .map(|a| format!(" arraysize=\"{a}\""))
        .unwrap_or_default();
    let xtype =
        c.ty.xtype()
            .map(|x| format!(" extendedType=\"{x}\""))
            .unwrap_or_default();
    let _ = write!(
        s,
        "<dataType xsi:type=\"vs:VOTableType\"{arraysize}{xtype}>{datatype}</dataType>"
    );
    if m.principal.unwrap_or(true) {
        s.push_str("<flag>principal</flag>");
    }
    s.push_str("</column>\n");
}
