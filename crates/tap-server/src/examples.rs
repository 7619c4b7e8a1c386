//! `/tap/examples` (DALI 1.1 §2.3, TAP 1.1 §2.4): example queries as XHTML
//! with RDFa Lite markup: each example a `typeof="example"` element with an
//! id, a `name`, a `query` and the `table`s it reads. An example is listed
//! only when every table it reads is published, so the document never shows
//! a query that fails.

use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use catalog_model::Catalog;
use std::fmt::Write;
use std::sync::Arc;
use table_writers::xml_escape;

/// One example: fragment id, name, explanation, the query, the tables it reads.
pub struct Example {
    /// Fragment identifier (`/tap/examples#id`).
    pub id: &'static str,
    /// Short name for a menu.
    pub name: &'static str,
    /// What it shows, one or two sentences.
    pub description: &'static str,
    /// The ADQL.
    pub query: &'static str,
    /// Fully qualified names of the tables it reads.
    pub tables: &'static [&'static str],
}

/// The examples, over the demo catalog (hip.main) and TAP_SCHEMA.
pub const EXAMPLES: &[Example] = &[
    Example {
        id: "cone",
        name: "Stars in a cone",
        description: "The Pleiades: every star within one degree of the cluster centre. CONTAINS with a POINT and a CIRCLE is the usual cone search; positions and radius are in degrees.",
        query: "SELECT hip, ra, dec, hpmag, plx\nFROM hip.main\nWHERE 1 = CONTAINS(POINT('ICRS', ra, dec),\n                  CIRCLE('ICRS', 56.75, 24.12, 1))",
        tables: &["hip.main"],
    },
    Example {
        id: "nearest",
        name: "Nearest neighbours",
        description: "The ten stars closest on the sky to Sirius (HIP 32349), with their distances in degrees.",
        query: "SELECT TOP 10 hip, hpmag,\n  DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 101.28716, -16.71612)) AS dist\nFROM hip.main\nORDER BY dist",
        tables: &["hip.main"],
    },
    Example {
        id: "solar-neighbourhood",
        name: "The solar neighbourhood",
        description: "Stars with a parallax above 100 mas, that is, closer than 10 parsecs, nearest first.",
        query: "SELECT hip, plx, 1000 / plx AS dist_pc, hpmag\nFROM hip.main\nWHERE plx > 100\nORDER BY plx DESC",
        tables: &["hip.main"],
    },
    Example {
        id: "hr-diagram",
        name: "Colour-magnitude diagram",
        description: "Absolute Hipparcos magnitude against B-V colour for stars with parallaxes better than 10 per cent: the data for an HR diagram.",
        query: "SELECT b_v, hpmag + 5 * LOG10(plx / 100) AS abs_hpmag\nFROM hip.main\nWHERE plx > 0 AND e_plx / plx < 0.1 AND b_v IS NOT NULL",
        tables: &["hip.main"],
    },
    Example {
        id: "magnitude-histogram",
        name: "Histogram of magnitudes",
        description: "How many stars fall in each whole-magnitude bin: a subquery computes the bin, GROUP BY counts.",
        query: "SELECT mag, COUNT(*) AS n\nFROM (SELECT FLOOR(hpmag) AS mag FROM hip.main) AS m\nGROUP BY mag\nORDER BY mag",
        tables: &["hip.main"],
    },
    Example {
        id: "proper-motion",
        name: "Fastest proper motions",
        description: "The twenty stars moving fastest across the sky, total proper motion in mas/yr.",
        query: "SELECT TOP 20 hip, pmra, pmde,\n  SQRT(pmra * pmra + pmde * pmde) AS pm\nFROM hip.main\nORDER BY pm DESC",
        tables: &["hip.main"],
    },
    Example {
        id: "healpix-density",
        name: "Star density on HEALPix",
        description: "Counts per HEALPix cell of order 3 (768 cells): a sky density map with ivo_healpix_index.",
        query: "SELECT hpx, COUNT(*) AS n\nFROM (SELECT ivo_healpix_index(3, ra, dec) AS hpx FROM hip.main) AS h\nGROUP BY hpx\nORDER BY n DESC",
        tables: &["hip.main"],
    },
    Example {
        id: "epoch-propagation",
        name: "Propagating a position",
        description: "Barnard's star (HIP 87937) moved from the Hipparcos epoch J1991.25 to J2016.0 with ivo_epoch_prop_pos; the result is a POINT.",
        query: "SELECT hip, ra, dec,\n  ivo_epoch_prop_pos(ra, dec, plx, pmra, pmde, 0, 1991.25, 2016.0) AS pos_j2016\nFROM hip.main\nWHERE hip = 87937",
        tables: &["hip.main"],
    },
    Example {
        id: "polygon",
        name: "Stars in a polygon",
        description: "The belt of Orion, selected with a POLYGON whose vertices are given counter-clockwise in degrees.",
        query: "SELECT hip, ra, dec, hpmag\nFROM hip.main\nWHERE 1 = CONTAINS(POINT('ICRS', ra, dec),\n  POLYGON('ICRS', 82.5, -2.5, 86.0, -2.5, 86.0, 0.5, 82.5, 0.5))\n  AND hpmag < 5",
        tables: &["hip.main"],
    },
    Example {
        id: "units",
        name: "Converting units",
        description: "Parallaxes of the brightest stars in arcseconds, converted from mas with IN_UNIT.",
        query: "SELECT TOP 10 hip, hpmag, IN_UNIT(plx, 'arcsec') AS plx_arcsec\nFROM hip.main\nORDER BY hpmag",
        tables: &["hip.main"],
    },
    Example {
        id: "variables",
        name: "Variable stars by amplitude",
        description: "Stars grouped by their photometric variability flag, with the mean magnitude of each group.",
        query: "SELECT var, COUNT(*) AS n, AVG(hpmag) AS mean_hpmag\nFROM hip.main\nGROUP BY var\nORDER BY var",
        tables: &["hip.main"],
    },
    Example {
        id: "column-metadata",
        name: "What a table holds",
        description: "Every column of hip.main with its unit, UCD and description, from TAP_SCHEMA.",
        query: "SELECT column_name, datatype, unit, ucd, description\nFROM TAP_SCHEMA.columns\nWHERE table_name = 'hip.main'\nORDER BY column_index",
        tables: &["TAP_SCHEMA.columns"],
    },
    Example {
        id: "tables",
        name: "The tables of this service",
        description: "Every table the service publishes, with its description.",
        query: "SELECT table_name, description\nFROM TAP_SCHEMA.tables\nORDER BY table_index",
        tables: &["TAP_SCHEMA.tables"],
    },
];

/// The examples whose tables are all published.
pub fn available<'a>(catalog: &dyn Catalog) -> Vec<&'a Example> {
    let names: Vec<String> = catalog
        .tables()
        .iter()
        .map(|t| t.qualified_name())
        .collect();
    EXAMPLES
        .iter()
        .filter(|e| e.tables.iter().all(|t| names.iter().any(|n| n == t)))
        .collect()
}

pub(crate) async fn examples(State(state): State<Arc<AppState>>) -> Response {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head><title>Corvus TAP examples</title></head>\n<body vocab=\"http://www.ivoa.net/rdf/examples#\">\n<h1>Example queries</h1>\n",
    );
    let _ = writeln!(
        s,
        "<p>Run them with <code>{}/sync?LANG=ADQL&amp;QUERY=...</code>, or paste them into TOPCAT's TAP window.</p>",
        xml_escape(&state.base_url)
    );
    for e in available(state.engine.catalog()) {
        let _ = write!(
            s,
            "<div typeof=\"example\" id=\"{id}\" resource=\"#{id}\">\n<h2 property=\"name\">{name}</h2>\n<p>{description}</p>\n<pre property=\"query\">{query}</pre>\n<p>Tables:",
            id = e.id,
            name = xml_escape(e.name),
            description = xml_escape(e.description),
            query = xml_escape(e.query),
        );
        for t in e.tables {
            let _ = write!(s, " <span property=\"table\">{}</span>", xml_escape(t));
        }
        s.push_str("</p>\n</div>\n");
    }
    s.push_str("</body>\n</html>\n");
    (
        [(header::CONTENT_TYPE, "application/xhtml+xml; charset=utf-8")],
        s,
    )
        .into_response()
}
