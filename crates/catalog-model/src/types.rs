//! ADQL's column types and how they map onto VOTable and Arrow.

use arrow_schema::{DataType, Field, TimeUnit};
use std::sync::Arc;

/// The Arrow type of every geometry value: a list of doubles in DALI order
/// (point: 2, circle: 3, polygon: 6 or more, an even count), or a compound
/// region (Union, Intersection, Not), which starts with NaN and can never be
/// taken for one of those (`sky_functions::geometry` has its encoding).
pub fn geometry_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true)))
}

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
            | AdqlType::Array => geometry_type(),
        }
    }
}
