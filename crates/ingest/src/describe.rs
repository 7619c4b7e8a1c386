//! `corvus ingest --describe`: a draft descriptor inferred from the data, for
//! the operator to complete with units, UCDs and descriptions.

use crate::error::Result;
use crate::input::{main_position, register_input};
use crate::request::Request;
use crate::session::Session;
use catalog_model::{AdqlType, Catalog, ColumnInfo};
use std::fmt::Write;

fn type_name(t: AdqlType) -> &'static str {
    match t {
        AdqlType::Boolean => "boolean",
        AdqlType::SmallInt => "smallint",
        AdqlType::Integer => "integer",
        AdqlType::BigInt => "bigint",
        AdqlType::Real => "real",
        AdqlType::Double => "double",
        _ => "text",
    }
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Writes a descriptor for `req`'s files: what the data says, and empty
/// fields for what it cannot.
pub async fn describe(req: &Request) -> Result<String> {
    let mut session = Session::new(None)?;
    let left_out = register_input(&mut session, req, &Default::default()).await?;
    let columns: Vec<ColumnInfo> = session.catalog.tables()[0].columns.clone();
    let position = main_position(&req.descriptor, &columns);
    let mut out = String::new();
    let files: Vec<String> = req.files.iter().map(|f| f.display().to_string()).collect();
    let _ = writeln!(
        out,
        "# Draft descriptor for {}, inferred from the data.",
        files.join(", ")
    );
    let _ = writeln!(
        out,
        "# Fill in units (VOUnits), UCDs and descriptions, check the types, then:"
    );
    let _ = writeln!(
        out,
        "#   corvus ingest {} --meta THIS_FILE --table {}.{}",
        files.join(" "),
        req.schema,
        req.table
    );
    for w in &left_out {
        let _ = writeln!(out, "# {w}");
    }
    let _ = writeln!(
        out,
        "\n[table]\nschema = {}\nname = {}\ndescription = \"\"",
        quoted(&req.schema),
        quoted(&req.table)
    );
    match &position {
        Some(p) => {
            let _ = writeln!(out, "ra = {}\ndec = {}", quoted(&p.ra), quoted(&p.dec));
        }
        None => {
            let _ = writeln!(
                out,
                "# No main position found; name the columns holding it (degrees):\n# ra = \"\"\n# dec = \"\""
            );
        }
    }
    for c in &columns {
        let _ = writeln!(
            out,
            "\n[[columns]]\nname = {}\ntype = \"{}\"",
            quoted(&c.name),
            type_name(c.ty)
        );
        let m = &c.meta;
        let _ = writeln!(out, "unit = {}", quoted(m.unit.as_deref().unwrap_or("")));
        let ucd = match (&m.ucd, &position) {
            (Some(u), _) => u.clone(),
            (None, Some(p)) if p.ra == c.name => "pos.eq.ra;meta.main".into(),
            (None, Some(p)) if p.dec == c.name => "pos.eq.dec;meta.main".into(),
            _ => String::new(),
        };
        let _ = writeln!(out, "ucd = {}", quoted(&ucd));
        let _ = writeln!(
            out,
            "description = {}",
            quoted(m.description.as_deref().unwrap_or(""))
        );
    }
    Ok(out)
}
