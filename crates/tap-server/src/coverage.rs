//! `/coverage/SCHEMA.TABLE[?FORMAT=fits|json|ascii][&ORDER=N]`: a
//! positioned table's sky coverage as an IVOA MOC, FITS by default. The
//! engine computes it on its pools the first time it is asked for and
//! keeps it; it is written on the engine's pool too.

use crate::AppState;
use crate::error::ServiceError;
use crate::request::Params;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use catalog_model::{AccessPolicy, AllowAll, Catalog, TableInfo};
use query_engine::{DEFAULT_ORDER, Lane, MAX_ORDER, MocFormat};
use std::sync::Arc;

pub(crate) async fn coverage(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ServiceError> {
    let params = Params::from_pairs(pairs);
    let table = visible_table(&state, &name)?;
    if table.position.is_none() {
        return Err(ServiceError::BadRequest(format!(
            "{} has no main position, so it has no sky coverage",
            table.qualified_name()
        )));
    }
    let format = format_of(&params)?;
    let order = order_of(&params)?;
    let engine = &state.engine;
    let coverage = engine.coverage(&table.schema, &table.name, order).await?;
    // JSON and ASCII spell out every cell: CPU work, kept off these threads.
    let bytes = engine
        .run(Lane::Quick, async move { coverage.to_bytes(format) })
        .await??;
    Ok(([(header::CONTENT_TYPE, format.mime())], bytes).into_response())
}

/// The table `name` (any case) if the requester may see it: the rule of
/// the query path (`query.rs` translates with [`AllowAll`]), so that a
/// table a query could not name has no coverage either, and is not found.
fn visible_table<'a>(state: &'a AppState, name: &str) -> Result<&'a TableInfo, ServiceError> {
    state
        .engine
        .catalog()
        .tables()
        .into_iter()
        .find(|t| t.qualified_name().eq_ignore_ascii_case(name) && AllowAll.may_read(t))
        .ok_or_else(|| {
            ServiceError::NotFound(format!("no table {name}; /tap/tables lists the tables"))
        })
}

/// RESPONSEFORMAT (or FORMAT): FITS when absent.
fn format_of(params: &Params) -> Result<MocFormat, ServiceError> {
    match params.get("RESPONSEFORMAT").or(params.get("FORMAT")) {
        None => Ok(MocFormat::Fits),
        Some(f) => MocFormat::parse(f).ok_or_else(|| {
            ServiceError::BadRequest(format!(
                "FORMAT={f} is not a MOC format; use one of {}",
                MocFormat::names()
            ))
        }),
    }
}

/// ORDER: the HEALPix order of the cells, 0 to 29.
fn order_of(params: &Params) -> Result<u8, ServiceError> {
    match params.get("ORDER") {
        None => Ok(DEFAULT_ORDER),
        Some(o) => o
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|n| *n <= MAX_ORDER)
            .ok_or_else(|| {
                ServiceError::BadRequest(format!(
                    "ORDER={o} is not a HEALPix order: give a whole number from 0 to {MAX_ORDER}"
                ))
            }),
    }
}
