//! What the planner knows about tables: the [`Catalog`] trait, the metadata
//! it returns, and [`StaticCatalog`], a catalog held in memory (built from
//! Arrow schemas, whose field metadata carry units, UCDs and descriptions).

use datafusion::arrow::datatypes::{DataType, Schema, TimeUnit};

/// ADQL's column types (TAP 1.1 §4.3, VOTable datatypes), as the planner reasons about them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdqlType {
    /// A boolean column (VOTable boolean).
    Boolean,
    /// 16-bit integer.
    SmallInt,
    /// 32-bit integer.
    Integer,
    /// 64-bit integer.
    BigInt,
    /// 32-bit float.
    Real,
    /// 64-bit float.
    Double,
    /// Character string.
    Varchar,
    /// Date and time.
    Timestamp,
    /// DALI point.
    Point,
    /// DALI circle.
    Circle,
    /// DALI polygon.
    Polygon,
    /// A geometry whose kind is known only at run time (REGION, columns with xtype "shape").
    Region,
    /// An array of numbers other than a geometry.
    Array,
    /// The NULL literal, or a column of unknown type (no catalog).
    Unknown,
}

impl AdqlType {
    /// True for the numeric types.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            AdqlType::SmallInt
                | AdqlType::Integer
                | AdqlType::BigInt
                | AdqlType::Real
                | AdqlType::Double
        )
    }

    /// True for the exact (integer) numeric types.
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            AdqlType::SmallInt | AdqlType::Integer | AdqlType::BigInt
        )
    }

    /// True for the geometry types.
    pub fn is_geometry(self) -> bool {
        matches!(
            self,
            AdqlType::Point | AdqlType::Circle | AdqlType::Polygon | AdqlType::Region
        )
    }

    /// Could a value of this type be used where `want` is required?
    pub fn fits(self, want: AdqlType) -> bool {
        self == AdqlType::Unknown
            || self == want
            || (want == AdqlType::Double && self.is_numeric())
            || (want == AdqlType::Region && self.is_geometry())
            || (self == AdqlType::Region && want.is_geometry())
    }

    /// The DALI xtype of a geometry type.
    pub fn xtype(self) -> Option<&'static str> {
        match self {
            AdqlType::Point => Some("point"),
            AdqlType::Circle => Some("circle"),
            AdqlType::Polygon => Some("polygon"),
            AdqlType::Region => Some("shape"),
            AdqlType::Timestamp => Some("timestamp"),
            _ => None,
        }
    }

    /// The VOTable datatype and arraysize of values of this type (TAP 1.1
    /// §4.3, VODataService 1.2 §3.5.3): the one mapping that TAP_SCHEMA,
    /// `/tap/tables` and the result writers share.
    pub fn votable(self) -> (&'static str, Option<&'static str>) {
        match self {
            AdqlType::Boolean => ("boolean", None),
            AdqlType::SmallInt => ("short", None),
            AdqlType::Integer => ("int", None),
            AdqlType::BigInt => ("long", None),
            AdqlType::Real => ("float", None),
            AdqlType::Double => ("double", None),
            AdqlType::Point => ("double", Some("2")),
            AdqlType::Circle => ("double", Some("3")),
            AdqlType::Polygon | AdqlType::Region | AdqlType::Array => ("double", Some("*")),
            AdqlType::Varchar | AdqlType::Timestamp | AdqlType::Unknown => ("char", Some("*")),
        }
    }

    /// A name for messages.
    pub fn describe(self) -> &'static str {
        match self {
            AdqlType::Boolean => "a boolean",
            AdqlType::SmallInt | AdqlType::Integer | AdqlType::BigInt => "an integer",
            AdqlType::Real | AdqlType::Double => "a number",
            AdqlType::Varchar => "a string",
            AdqlType::Timestamp => "a timestamp",
            AdqlType::Point => "a POINT",
            AdqlType::Circle => "a CIRCLE",
            AdqlType::Polygon => "a POLYGON",
            AdqlType::Region => "a geometry",
            AdqlType::Array => "an array",
            AdqlType::Unknown => "a value",
        }
    }

    /// The ADQL type of an Arrow column, refined by its DALI xtype.
    pub fn from_arrow(t: &DataType, xtype: Option<&str>) -> AdqlType {
        match xtype.map(str::to_ascii_lowercase).as_deref() {
            Some("point") => return AdqlType::Point,
            Some("circle") => return AdqlType::Circle,
            Some("polygon") => return AdqlType::Polygon,
            Some("shape") | Some("region") | Some("moc") => return AdqlType::Region,
            _ => {}
        }
        match t {
            DataType::Boolean => AdqlType::Boolean,
            DataType::Int8 | DataType::Int16 | DataType::UInt8 => AdqlType::SmallInt,
            DataType::Int32 | DataType::UInt16 => AdqlType::Integer,
            DataType::Int64 | DataType::UInt32 | DataType::UInt64 => AdqlType::BigInt,
            DataType::Float16 | DataType::Float32 => AdqlType::Real,
            DataType::Float64 | DataType::Decimal128(..) | DataType::Decimal256(..) => {
                AdqlType::Double
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => AdqlType::Varchar,
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => AdqlType::Timestamp,
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
                AdqlType::Array
            }
            _ => AdqlType::Unknown,
        }
    }

    /// The Arrow type the engine uses for values of this type.
    pub fn to_arrow(self) -> DataType {
        match self {
            AdqlType::Boolean => DataType::Boolean,
            AdqlType::SmallInt => DataType::Int16,
            AdqlType::Integer => DataType::Int32,
            AdqlType::BigInt => DataType::Int64,
            AdqlType::Real => DataType::Float32,
            AdqlType::Double => DataType::Float64,
            AdqlType::Varchar | AdqlType::Unknown => DataType::Utf8,
            AdqlType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            AdqlType::Point
            | AdqlType::Circle
            | AdqlType::Polygon
            | AdqlType::Region
            | AdqlType::Array => sky_functions::udf::geometry_type(),
        }
    }
}

/// Metadata of a column, as TAP_SCHEMA.columns holds it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnMeta {
    /// Unit (VOUnits), e.g. "deg", "mas/yr".
    pub unit: Option<String>,
    /// Unified Content Descriptor, e.g. "pos.eq.ra;meta.main".
    pub ucd: Option<String>,
    /// Data model utype.
    pub utype: Option<String>,
    /// Free-text description.
    pub description: Option<String>,
    /// TAP_SCHEMA `principal`: shown by default (None: not said, taken as yes).
    pub principal: Option<bool>,
}

/// A column of a published table.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    /// Name, with its exact case.
    pub name: String,
    /// Type.
    pub ty: AdqlType,
    /// Unit, UCD, utype, description.
    pub meta: ColumnMeta,
}

/// A published table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    /// Schema name, exact case.
    pub schema: String,
    /// Table name, exact case.
    pub name: String,
    /// Free-text description (TAP_SCHEMA.tables.description).
    pub description: Option<String>,
    /// Columns in order.
    pub columns: Vec<ColumnInfo>,
}

impl TableInfo {
    /// Builds table metadata from an Arrow schema; field metadata keys `unit`,
    /// `ucd`, `utype`, `xtype` and `description` are read where present.
    pub fn from_arrow(schema: &str, name: &str, arrow: &Schema) -> TableInfo {
        let columns = arrow
            .fields()
            .iter()
            .map(|f| {
                let md = f.metadata();
                let get = |k: &str| md.get(k).filter(|v| !v.is_empty()).cloned();
                ColumnInfo {
                    name: f.name().clone(),
                    ty: AdqlType::from_arrow(f.data_type(), md.get("xtype").map(String::as_str)),
                    meta: ColumnMeta {
                        unit: get("unit"),
                        ucd: get("ucd"),
                        utype: get("utype"),
                        description: get("description"),
                        principal: None,
                    },
                }
            })
            .collect();
        TableInfo {
            schema: schema.to_string(),
            name: name.to_string(),
            description: None,
            columns,
        }
    }

    /// `schema.table`
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

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
