//! `/tap/resource`: the service's VOResource record (VOResource 1.2 with
//! VODataService 1.2's `vs:CatalogService`), ready to hand to a publishing
//! registry: who runs it (from the configuration), its capabilities and its
//! tableset, from the same code as `/tap/capabilities` and `/tap/tables`.

use crate::vosi::{CAPABILITY_NAMESPACES, XML_DECLARATION, capability_elements, schema_elements};
use crate::{AppState, xml};
use axum::extract::State;
use axum::response::Response;
use std::fmt::Write;
use std::sync::Arc;
use table_writers::xml_escape;

/// What a registry needs to know about the service and who runs it.
#[derive(Debug, Clone)]
pub struct RegistryInfo {
    /// The IVOA identifier, `ivo://authority/path`.
    pub identifier: String,
    /// Title.
    pub title: String,
    /// Short name (at most 16 characters).
    pub short_name: String,
    /// What the service holds, a paragraph or two.
    pub description: String,
    /// The publishing organisation.
    pub publisher: String,
    /// A person or desk to write to.
    pub contact_name: String,
    /// Their e-mail address.
    pub contact_email: String,
    /// A page about the service or its data.
    pub reference_url: String,
    /// Subject keywords (Unified Astronomy Thesaurus terms).
    pub subjects: Vec<String>,
    /// When the record was first made, YYYY-MM-DD.
    pub created: String,
    /// When it last changed, YYYY-MM-DD (registries harvest by this date).
    pub updated: String,
}

impl Default for RegistryInfo {
    fn default() -> Self {
        RegistryInfo {
            identifier: "ivo://example.org/corvus/tap".into(),
            title: "Corvus TAP service".into(),
            short_name: "corvus".into(),
            description: "Astronomical catalogs queryable in ADQL through IVOA TAP.".into(),
            publisher: "The operator of this service (set [registry] publisher)".into(),
            contact_name: "The operator of this service".into(),
            contact_email: "operator@example.org".into(),
            reference_url: String::new(),
            subjects: vec!["astronomical-databases".into()],
            created: "2026-01-01".into(),
            updated: "2026-01-01".into(),
        }
    }
}

pub(crate) async fn resource(State(state): State<Arc<AppState>>) -> Response {
    let r = &state.registry;
    let e = |v: &str| xml_escape(v);
    let reference = if r.reference_url.is_empty() {
        format!("{}/examples", state.base_url)
    } else {
        r.reference_url.clone()
    };
    let mut s = String::from(XML_DECLARATION);
    let _ = writeln!(
        s,
        "<ri:Resource xmlns:ri=\"http://www.ivoa.net/xml/RegistryInterface/v1.0\" {CAPABILITY_NAMESPACES} xsi:type=\"vs:CatalogService\" created=\"{}T00:00:00Z\" updated=\"{}T00:00:00Z\" status=\"active\">",
        e(&r.created),
        e(&r.updated)
    );
    let _ = writeln!(
        s,
        "<title>{}</title>\n<shortName>{}</shortName>\n<identifier>{}</identifier>",
        e(&r.title),
        e(&r.short_name.chars().take(16).collect::<String>()),
        e(&r.identifier)
    );
    let _ = writeln!(
        s,
        "<curation><publisher>{}</publisher><contact><name>{}</name><email>{}</email></contact></curation>",
        e(&r.publisher),
        e(&r.contact_name),
        e(&r.contact_email)
    );
    s.push_str("<content>");
    for subject in &r.subjects {
        let _ = write!(s, "<subject>{}</subject>", e(subject));
    }
    let _ = writeln!(
        s,
        "<description>{}</description><referenceURL>{}</referenceURL><type>Catalog</type><contentLevel>Research</contentLevel></content>",
        e(&r.description),
        e(&reference)
    );
    s.push_str(&capability_elements(&state));
    s.push_str("<tableset>\n");
    s.push_str(&schema_elements(&state, true));
    s.push_str("</tableset>\n</ri:Resource>\n");
    xml(s)
}
