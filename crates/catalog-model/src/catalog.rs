//! Where the planner looks tables up ([`Catalog`]) and asks who may read
//! them ([`AccessPolicy`]), and [`StaticCatalog`], a catalog held in memory.

use crate::table::TableInfo;

/// Where the planner looks tables up.
pub trait Catalog: Send + Sync {
    /// Every table the catalog holds (used for lookup and for suggestions).
    fn tables(&self) -> Vec<&TableInfo>;

    /// False if the catalog cannot list its tables, so that any name must be
    /// accepted as written (the `adql check` verb without `--catalog`).
    fn is_complete(&self) -> bool {
        true
    }
}

/// Decides which tables a caller may read (the permission hook). Tables the
/// caller may not read are reported as not found, so their existence does not leak.
pub trait AccessPolicy: Send + Sync {
    /// May the caller read `table`?
    fn may_read(&self, table: &TableInfo) -> bool;
}

/// Everyone may read everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl AccessPolicy for AllowAll {
    fn may_read(&self, _: &TableInfo) -> bool {
        true
    }
}

/// A catalog held in memory.
#[derive(Debug, Clone, Default)]
pub struct StaticCatalog {
    tables: Vec<TableInfo>,
    complete: bool,
}

impl StaticCatalog {
    /// A catalog of exactly these tables.
    pub fn new(tables: Vec<TableInfo>) -> Self {
        StaticCatalog {
            tables,
            complete: true,
        }
    }

    /// A catalog that knows no tables and accepts every name as written:
    /// for checking syntax and translation without a data directory.
    pub fn open_world() -> Self {
        StaticCatalog {
            tables: Vec::new(),
            complete: false,
        }
    }

    /// Adds a table.
    pub fn add(&mut self, table: TableInfo) {
        self.tables.push(table);
    }
}

impl Catalog for StaticCatalog {
    fn tables(&self) -> Vec<&TableInfo> {
        self.tables.iter().collect()
    }

    fn is_complete(&self) -> bool {
        self.complete
    }
}
