//! Running translated queries on DataFusion: a session with the sky
//! functions registered, catalog tables registered under their schemas, and
//! results that carry each column's ADQL metadata in the Arrow field metadata.

use crate::catalog::{AccessPolicy, Catalog, StaticCatalog, TableInfo};
use crate::error::Result;
use crate::translate::{OutputColumn, Translation, translate};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{
    CatalogProvider, CatalogProviderList, MemTable, MemoryCatalogProvider,
    MemoryCatalogProviderList, MemorySchemaProvider, SchemaProvider, TableProvider,
};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use std::collections::HashMap;
use std::sync::Arc;

/// A DataFusion session that answers ADQL.
pub struct Engine {
    ctx: SessionContext,
    catalog: StaticCatalog,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// A session on all cores with the ADQL functions registered.
    pub fn new() -> Self {
        Self::with_context(SessionContext::new_with_config(Self::config()))
    }

    /// Like [`Engine::new`], but operators that hold data (sorts, joins,
    /// aggregates) share at most `bytes` of memory and spill to temporary
    /// files beyond it, so memory stays flat whatever the input size.
    pub fn with_memory_limit(bytes: usize) -> Result<Self> {
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(bytes, 1.0)
            .build_arc()?;
        Ok(Self::with_context(SessionContext::new_with_config_rt(
            Self::config(),
            runtime,
        )))
    }

    fn with_context(ctx: SessionContext) -> Self {
        sky_functions::register_all(&ctx);
        Engine {
            ctx,
            catalog: StaticCatalog::new(Vec::new()),
        }
    }

    fn config() -> SessionConfig {
        SessionConfig::new()
            .with_information_schema(false)
            // Keep strings as Utf8 so the UDFs and writers see one string type.
            .set_bool(
                "datafusion.execution.parquet.schema_force_view_types",
                false,
            )
    }

    /// The DataFusion session (for registering more tables or functions).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The catalog the engine's tables form.
    pub fn catalog(&self) -> &StaticCatalog {
        &self.catalog
    }

    /// Publishes `provider` as `schema.table`, with `info` describing its columns.
    pub fn register(&mut self, info: TableInfo, provider: Arc<dyn TableProvider>) -> Result<()> {
        let catalog = self
            .ctx
            .catalog("datafusion")
            .ok_or_else(|| crate::Error::Engine("the default catalog is missing".into()))?;
        let schema = match catalog.schema(&info.schema) {
            Some(s) => s,
            None => {
                let s: Arc<dyn SchemaProvider> = Arc::new(MemorySchemaProvider::new());
                catalog.register_schema(&info.schema, Arc::clone(&s))?;
                s
            }
        };
        schema.register_table(info.name.clone(), provider)?;
        self.catalog.add(info);
        Ok(())
    }

    /// Publishes TAP_SCHEMA (TAP 1.1 §4) describing every table registered so
    /// far and itself. Call it once, after the last [`Engine::register`].
    pub fn publish_tap_schema(&mut self) -> Result<()> {
        let mut tables: Vec<TableInfo> = self
            .catalog
            .tables()
            .into_iter()
            .filter(|t| t.schema != crate::tap_schema::TAP_SCHEMA)
            .cloned()
            .collect();
        tables.extend(crate::tap_schema::tap_schema_infos());
        let batches = crate::tap_schema::tap_schema_batches(&tables)
            .map_err(|e| crate::Error::Engine(e.to_string()))?;
        for (info, batch) in batches {
            let provider = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
            self.register(info, Arc::new(provider))?;
        }
        Ok(())
    }

    /// A session for one request: everything this engine publishes plus
    /// `extra` tables (TAP uploads) that only this session sees. The
    /// functions, settings and memory pool are shared; the published
    /// tables' providers are shared too, so this costs a few pointer copies.
    pub fn with_tables(&self, extra: Vec<(TableInfo, Arc<dyn TableProvider>)>) -> Result<Engine> {
        let catalogs = Arc::new(MemoryCatalogProviderList::new());
        let state = SessionStateBuilder::new_from_existing(self.ctx.state())
            .with_catalog_list(catalogs.clone())
            .build();
        let default = Arc::new(MemoryCatalogProvider::new());
        if let Some(shared) = self.ctx.catalog("datafusion") {
            for name in shared.schema_names() {
                if let Some(schema) = shared.schema(&name) {
                    default.register_schema(&name, schema)?;
                }
            }
        }
        catalogs.register_catalog("datafusion".to_string(), default);
        let mut engine = Engine {
            ctx: SessionContext::new_with_state(state),
            catalog: self.catalog.clone(),
        };
        for (info, provider) in extra {
            engine.register(info, provider)?;
        }
        Ok(engine)
    }

    /// Translates `adql` against the registered tables.
    pub fn translate(&self, adql: &str, policy: &dyn AccessPolicy) -> Result<Translation> {
        translate(adql, &self.catalog, policy)
    }

    /// Runs a translation and collects its result (tests and small queries;
    /// the server streams instead).
    pub async fn collect(&self, t: &Translation) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let df = self.ctx.sql(&t.sql).await?;
        let batches = df.collect().await?;
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => Arc::new(Schema::empty()),
        };
        let schema = with_metadata(&schema, &t.columns);
        let batches = batches
            .into_iter()
            .map(|b| b.with_schema(Arc::clone(&schema)))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| crate::Error::Engine(e.to_string()))?;
        Ok((schema, batches))
    }
}

/// Puts each result column's unit, UCD, utype, xtype and description into
/// its Arrow field metadata, where the writers find them.
pub fn with_metadata(schema: &SchemaRef, columns: &[OutputColumn]) -> SchemaRef {
    if schema.fields().len() != columns.len() {
        return Arc::clone(schema);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .zip(columns)
        .map(|(f, c)| {
            let mut md: HashMap<String, String> = f.metadata().clone();
            let mut put = |k: &str, v: Option<&str>| {
                if let Some(v) = v {
                    md.insert(k.to_string(), v.to_string());
                }
            };
            put("unit", c.meta.unit.as_deref());
            put("ucd", c.meta.ucd.as_deref());
            put("utype", c.meta.utype.as_deref());
            put("description", c.meta.description.as_deref());
            put("xtype", c.xtype());
            f.as_ref().clone().with_metadata(md)
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}
