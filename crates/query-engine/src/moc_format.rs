//! A table's sky coverage as an IVOA MOC 2.0 (Multi-Order Coverage map),
//! held and written by CDS's `moc` crate: [`Coverage`] and the
//! [`MocFormat`]s it is written in (FITS, the Aladin JSON, ASCII).
//!
//! The MOC is kept as ranges of order-29 indices (`RangeMOC`), so a
//! coverage whose cells touch costs one range however many cells it has;
//! the cells of each order are only spelled out when JSON or ASCII is
//! written.

use crate::error::{Error, Result};
use moc::deser::fits::keywords::MocType;
use moc::moc::range::RangeMOC;
use moc::moc::{
    CellMOCIterator, CellOrCellRangeMOCIterator, RangeMOCIntoIterator, RangeMOCIterator,
};
use moc::qty::Hpx;

/// The deepest HEALPix order (cdshealpix's, and the hidden index's).
pub const MAX_ORDER: u8 = 29;

/// The order of a coverage when none is asked for (`corvus moc`, the
/// service's `/coverage`): cells of 13.7 arcminutes, fine enough to show
/// which fields or zones a survey covers. Its size is bounded whatever the
/// table: order 8 has 786,432 cells, so at most 393,216 ranges (6 MiB of
/// FITS), well under [`crate::MAX_COVERAGE_RANGES`], where order 10 could
/// pass it. A sparse catalog's MOC is a list of its points from about
/// this order on (Hipparcos: 96,336 ranges at order 8, 115,348 at 10), so
/// finer orders buy little but size; they are one option away.
pub const DEFAULT_ORDER: u8 = 8;

/// The MOC type: HEALPix NESTED indices in `u64`.
pub(crate) type SkyMoc = RangeMOC<u64, Hpx<u64>>;

/// A sky coverage: the HEALPix cells, at one order, that hold at least one
/// row of a table.
#[derive(Debug, Clone)]
pub struct Coverage {
    moc: SkyMoc,
}

impl Coverage {
    pub(crate) fn from_moc(moc: SkyMoc) -> Coverage {
        Coverage { moc }
    }

    /// The coverage made of these cells (NESTED indices) at `order`, in any
    /// order and with repeats; refused if the order or an index is out of range.
    pub fn from_cells(order: u8, cells: impl IntoIterator<Item = u64>) -> Result<Coverage> {
        check_order(order)?;
        let count = cell_count(order);
        let mut cells: Vec<u64> = cells.into_iter().collect();
        if let Some(bad) = cells.iter().find(|&&c| c >= count) {
            return Err(Error::Request(format!(
                "{bad} is not a HEALPix cell of order {order} (there are {count})"
            )));
        }
        cells.sort_unstable();
        cells.dedup();
        let capacity = cells.len().max(1);
        Ok(Coverage {
            moc: RangeMOC::from_fixed_depth_cells(order, cells.into_iter(), Some(capacity)),
        })
    }

    /// The HEALPix order of the cells (the MOC's maximum order).
    pub fn order(&self) -> u8 {
        self.moc.depth_max()
    }

    /// The cells at [`Coverage::order`], in increasing order.
    pub fn cells(&self) -> Vec<u64> {
        self.moc.flatten_to_fixed_depth_cells().collect()
    }

    /// How many cells of [`Coverage::order`] it covers.
    pub fn cell_count(&self) -> u64 {
        self.moc.n_depth_max_cells()
    }

    /// How many ranges of consecutive indices the MOC holds (what its size
    /// in memory and as FITS grows with: 16 bytes each).
    pub fn ranges(&self) -> usize {
        self.moc.len()
    }

    /// The fraction of the sky covered, 0 to 1.
    pub fn sky_fraction(&self) -> f64 {
        self.moc.coverage_percentage()
    }

    /// The MOC written in `format`.
    pub fn to_bytes(&self, format: MocFormat) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let failed = |e: &dyn std::fmt::Display| {
            Error::Internal(format!(
                "cannot write the coverage as {}: {e}",
                format.name()
            ))
        };
        match format {
            // MOC 2.0 §4.3.1: a BINTABLE of range pairs (MOCORD_S,
            // ORDERING = RANGE); MOCTYPE says it was made from a catalog's rows.
            MocFormat::Fits => (&self.moc)
                .into_range_moc_iter()
                .to_fits_ivoa(None, Some(MocType::Catalog), &mut out)
                .map_err(|e| failed(&e))?,
            // The Aladin JSON: {"order": [cells], ...}, lines folded at 80.
            MocFormat::Json => {
                (&self.moc)
                    .into_range_moc_iter()
                    .cells()
                    .to_json_aladin(Some(80), &mut out)
                    .map_err(|e| failed(&e))?;
                out.push(b'\n');
            }
            // MOC 2.0 §4.3.2: "order/cells ranges ...", the maximum order
            // always present, lines folded at 80 (the IVOA form: ranges as
            // first-last, not first+length).
            MocFormat::Ascii => (&self.moc)
                .into_range_moc_iter()
                .cells()
                .cellranges()
                .to_ascii_ivoa(Some(80), false, &mut out)
                .map_err(|e| failed(&e))?,
        }
        Ok(out)
    }
}

/// The formats a MOC is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MocFormat {
    /// IVOA MOC 2.0 FITS (a BINTABLE of ranges): what Aladin, TOPCAT,
    /// mocpy and the MOC server read first.
    Fits,
    /// The Aladin/MOCServer JSON: `{"order": [cells, ...], ...}`.
    Json,
    /// IVOA MOC 2.0 ASCII: `order/cell cell first-last ...`.
    Ascii,
}

impl MocFormat {
    /// Every format, in the order of [`MocFormat::names`].
    pub const ALL: [MocFormat; 3] = [MocFormat::Fits, MocFormat::Json, MocFormat::Ascii];

    /// A format by name or MIME type, any case: `fits`, `json`, `ascii`
    /// (also `txt`, `text`), or the MIME types [`MocFormat::mime`] gives.
    pub fn parse(name: &str) -> Option<MocFormat> {
        let name = name.trim().to_ascii_lowercase();
        let name = name.split(';').next().unwrap_or("").trim();
        match name {
            "fits" | "fit" | "application/fits" => Some(MocFormat::Fits),
            "json" | "application/json" => Some(MocFormat::Json),
            "ascii" | "txt" | "text" | "text/plain" => Some(MocFormat::Ascii),
            _ => None,
        }
    }

    /// The format a file name's extension asks for: `.fits`/`.fit`,
    /// `.json`, `.txt`/`.moc`/`.ascii`.
    pub fn from_extension(extension: &str) -> Option<MocFormat> {
        match extension.to_ascii_lowercase().as_str() {
            "fits" | "fit" => Some(MocFormat::Fits),
            "json" => Some(MocFormat::Json),
            "txt" | "moc" | "ascii" => Some(MocFormat::Ascii),
            _ => None,
        }
    }

    /// The name users type.
    pub fn name(self) -> &'static str {
        match self {
            MocFormat::Fits => "fits",
            MocFormat::Json => "json",
            MocFormat::Ascii => "ascii",
        }
    }

    /// The names users type, for messages: `fits, json, ascii`.
    pub fn names() -> String {
        MocFormat::ALL.map(MocFormat::name).join(", ")
    }

    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            MocFormat::Fits => "application/fits",
            MocFormat::Json => "application/json",
            MocFormat::Ascii => "text/plain; charset=utf-8",
        }
    }

    /// True for a format that is not text (FITS).
    pub fn is_binary(self) -> bool {
        self == MocFormat::Fits
    }
}

/// Refuses an order past the deepest HEALPix order.
pub(crate) fn check_order(order: u8) -> Result<()> {
    if order > MAX_ORDER {
        return Err(Error::Request(format!(
            "HEALPix order {order} is out of range: give 0 to {MAX_ORDER}"
        )));
    }
    Ok(())
}

/// The number of HEALPix cells at `order` (12 × 4^order).
pub(crate) fn cell_count(order: u8) -> u64 {
    12u64 << (2 * u32::from(order.min(MAX_ORDER)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use moc::deser::fits::{MocIdxType, MocQtyType, from_fits_ivoa};
    use moc::deser::json::from_json_aladin;
    use moc::moc::CellMOCIntoIterator;

    fn sample() -> Coverage {
        // Four siblings (16..20 make order-2 cell 4), two lone cells, a repeat.
        Coverage::from_cells(3, [16, 17, 18, 19, 700, 700, 5]).unwrap()
    }

    #[test]
    fn cells_come_back_sorted_and_distinct() {
        let c = sample();
        assert_eq!(c.order(), 3);
        assert_eq!(c.cells(), vec![5, 16, 17, 18, 19, 700]);
        assert_eq!(c.cell_count(), 6);
        assert_eq!(c.ranges(), 3);
        assert!((c.sky_fraction() - 6.0 / 768.0).abs() < 1e-12);
        assert!(Coverage::from_cells(3, [768]).is_err());
        assert!(Coverage::from_cells(30, [0]).is_err());
    }

    #[test]
    fn fits_reads_back_with_the_moc_crate() {
        let bytes = sample().to_bytes(MocFormat::Fits).unwrap();
        assert!(bytes.starts_with(b"SIMPLE  ="));
        assert_eq!(bytes.len() % 2880, 0);
        let header = String::from_utf8_lossy(&bytes[2880..5760]).into_owned();
        for card in [
            "MOCORD_S= 3",
            "ORDERING= 'RANGE",
            "MOCTYPE = 'CATALOG",
            "COORDSYS= 'C",
        ] {
            assert!(header.contains(card), "{card} in {header}");
        }
        let moc = match from_fits_ivoa(std::io::Cursor::new(&bytes)).unwrap() {
            MocIdxType::U64(MocQtyType::Hpx(m)) => m.collect(),
            other => panic!("not a 64-bit S-MOC: {other:?}"),
        };
        assert_eq!(moc.depth_max(), 3);
        let back: Vec<u64> = moc.flatten_to_fixed_depth_cells().collect();
        assert_eq!(back, sample().cells());
    }

    #[test]
    fn json_is_by_order_and_reads_back() {
        let bytes = sample().to_bytes(MocFormat::Json).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        // The four siblings are their parent at order 2.
        let squeezed: String = text.split_whitespace().collect();
        assert_eq!(squeezed, r#"{"2":[4],"3":[5,700]}"#);
        let cells = from_json_aladin::<u64, Hpx<u64>>(&text).unwrap();
        let back: Vec<u64> = cells
            .into_cell_moc_iter()
            .ranges()
            .into_range_moc()
            .flatten_to_fixed_depth_cells()
            .collect();
        // The JSON's deepest key is the deepest order with a cell.
        assert_eq!(back, sample().cells());
    }

    #[test]
    fn ascii_is_the_ivoa_string() {
        let text = String::from_utf8(sample().to_bytes(MocFormat::Ascii).unwrap()).unwrap();
        assert_eq!(
            text.split_whitespace().collect::<Vec<_>>(),
            ["2/4", "3/5", "700"]
        );
        let empty = Coverage::from_cells(7, []).unwrap();
        let text = String::from_utf8(empty.to_bytes(MocFormat::Ascii).unwrap()).unwrap();
        assert_eq!(text.trim(), "7/");
    }

    #[test]
    fn formats_parse_by_name_mime_type_and_extension() {
        assert_eq!(MocFormat::parse("FITS"), Some(MocFormat::Fits));
        assert_eq!(MocFormat::parse("application/json"), Some(MocFormat::Json));
        assert_eq!(
            MocFormat::parse("text/plain; charset=utf-8"),
            Some(MocFormat::Ascii)
        );
        assert_eq!(MocFormat::parse("votable"), None);
        assert_eq!(MocFormat::from_extension("MOC"), Some(MocFormat::Ascii));
        assert_eq!(MocFormat::from_extension("csv"), None);
        assert_eq!(MocFormat::names(), "fits, json, ascii");
    }
}
