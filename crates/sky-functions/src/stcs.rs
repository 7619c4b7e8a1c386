//! REGION strings: STC-S as TAP uses it (ADQL 2.1 §4.2.12; the STC-S
//! subset of TAP 1.0 §6 and DALI), or a bare DALI list of numbers.
//!
//! Shapes: `Position`, `Circle`, `Box`, `Polygon`, each with optional frame,
//! reference-position and flavour words before the numbers, which are
//! skipped (everything is ICRS here). Compound regions, nested at will:
//! `Union [frame] ( region region … )`, `Intersection [frame] ( region … )`,
//! `Not [frame] ( region )`, and `Difference [frame] ( a b )`, read as
//! `Intersection(a, Not(b))`. Keywords are case-insensitive, as DaCHS and
//! TAPlib read them (`Union ICRS (Circle 10 10 1 Polygon …)`).
//!
//! Knows nothing of ADQL or DataFusion: text in, [`Geometry`] out.

use crate::Error;
use crate::geometry::{Geometry, LonLat, MAX_COMPOUND_DEPTH};

/// One lexical item of an STC-S string.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Item<'a> {
    Open,
    Close,
    Number(f64),
    Word(&'a str),
}

fn items(s: &str) -> Vec<Item<'_>> {
    let mut out = Vec::new();
    for word in s.split_whitespace() {
        let mut rest = word;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('(') {
                out.push(Item::Open);
                rest = r;
                continue;
            }
            if let Some(r) = rest.strip_prefix(')') {
                out.push(Item::Close);
                rest = r;
                continue;
            }
            let end = rest.find(['(', ')']).unwrap_or(rest.len());
            let w = &rest[..end];
            out.push(match w.parse::<f64>() {
                Ok(x) => Item::Number(x),
                Err(_) => Item::Word(w),
            });
            rest = &rest[end..];
        }
    }
    out
}

/// The words that open a region.
fn is_shape_word(w: &str) -> bool {
    [
        "CIRCLE",
        "POSITION",
        "POINT",
        "BOX",
        "POLYGON",
        "UNION",
        "INTERSECTION",
        "NOT",
        "DIFFERENCE",
    ]
    .iter()
    .any(|k| w.eq_ignore_ascii_case(k))
}

struct Reader<'a, 's> {
    text: &'s str,
    items: Vec<Item<'a>>,
    at: usize,
}

impl Reader<'_, '_> {
    fn bad(&self, why: &str) -> Error {
        Error::InvalidGeometry(format!(
            "cannot read region '{}': {why}; write e.g. 'CIRCLE ICRS 10 20 1', 'POLYGON ICRS 0 0 1 0 0 1', 'POSITION ICRS 10 20', 'Union ICRS (Circle 10 10 1 Circle 12 10 1)', or DALI numbers",
            self.text
        ))
    }

    fn peek(&self) -> Option<Item<'_>> {
        self.items.get(self.at).copied()
    }

    /// Frame, reference-position and flavour words: skipped.
    fn skip_frame_words(&mut self) {
        while let Some(Item::Word(w)) = self.peek() {
            if is_shape_word(w) {
                break;
            }
            self.at += 1;
        }
    }

    fn numbers(&mut self) -> Vec<f64> {
        let mut out = Vec::new();
        while let Some(Item::Number(x)) = self.peek() {
            out.push(x);
            self.at += 1;
        }
        out
    }

    fn region(&mut self, depth: usize) -> Result<Geometry, Error> {
        if depth >= MAX_COMPOUND_DEPTH {
            return Err(self.bad(&format!(
                "compound regions nest at most {MAX_COMPOUND_DEPTH} deep"
            )));
        }
        let Some(Item::Word(word)) = self.peek() else {
            return Err(self.bad("expected a shape name"));
        };
        let word = word.to_ascii_uppercase();
        self.at += 1;
        self.skip_frame_words();
        let g = match word.as_str() {
            "CIRCLE" => match self.numbers().as_slice() {
                [a, b, r] => Geometry::Circle(LonLat::new(*a, *b), *r),
                _ => return Err(self.bad("Circle takes three numbers: ra dec radius")),
            },
            "POSITION" | "POINT" => match self.numbers().as_slice() {
                [a, b] => Geometry::Point(LonLat::new(*a, *b)),
                _ => return Err(self.bad("Position takes two numbers: ra dec")),
            },
            "BOX" => match self.numbers().as_slice() {
                [a, b, w, h] => Geometry::boxed(LonLat::new(*a, *b), *w, *h),
                _ => return Err(self.bad("Box takes four numbers: ra dec width height")),
            },
            "POLYGON" => {
                let n = self.numbers();
                if n.len() < 6 || !n.len().is_multiple_of(2) {
                    return Err(self.bad("Polygon takes pairs of numbers, at least three"));
                }
                Geometry::from_values(&n)?
            }
            "UNION" | "INTERSECTION" | "NOT" | "DIFFERENCE" => {
                let operands = self.operands(depth)?;
                match (word.as_str(), operands.len()) {
                    ("UNION", n) if n >= 1 => Geometry::Union(operands),
                    ("INTERSECTION", n) if n >= 1 => Geometry::Intersection(operands),
                    ("NOT", 1) => Geometry::Not(Box::new(
                        operands
                            .into_iter()
                            .next()
                            .ok_or_else(|| self.bad("Not takes one region in parentheses"))?,
                    )),
                    ("DIFFERENCE", 2) => {
                        let mut it = operands.into_iter();
                        match (it.next(), it.next()) {
                            (Some(a), Some(b)) => {
                                Geometry::Intersection(vec![a, Geometry::Not(Box::new(b))])
                            }
                            _ => return Err(self.bad("Difference takes two regions")),
                        }
                    }
                    ("NOT", _) => return Err(self.bad("Not takes one region in parentheses")),
                    ("DIFFERENCE", _) => {
                        return Err(self.bad("Difference takes two regions in parentheses"));
                    }
                    _ => return Err(self.bad("a compound region needs regions in parentheses")),
                }
            }
            _ => return Err(self.bad(&format!("unknown shape '{word}'"))),
        };
        // Anything but the next region or a closing parenthesis is a mistake,
        // for example a unit or a stray word after the numbers.
        match self.peek() {
            None | Some(Item::Close) => {}
            Some(Item::Word(w)) if is_shape_word(w) => {}
            Some(_) => return Err(self.bad("unexpected text after a shape")),
        }
        Ok(g)
    }

    /// `( region region … )`
    fn operands(&mut self, depth: usize) -> Result<Vec<Geometry>, Error> {
        if self.peek() != Some(Item::Open) {
            return Err(self.bad("a compound region needs its regions in parentheses"));
        }
        self.at += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                Some(Item::Close) => {
                    self.at += 1;
                    return Ok(out);
                }
                None => return Err(self.bad("a '(' is not closed")),
                Some(_) => out.push(self.region(depth + 1)?),
            }
        }
    }
}

/// Parses a REGION string: STC-S (see the module documentation) or a bare
/// DALI list of numbers. The result is validated (latitudes, radii).
pub fn parse_region(s: &str) -> Result<Geometry, Error> {
    let mut r = Reader {
        text: s,
        items: items(s),
        at: 0,
    };
    let g = match r.peek() {
        None => return Err(r.bad("it is empty")),
        Some(Item::Number(_)) => {
            let n = r.numbers();
            if r.peek().is_some() {
                return Err(r.bad("a DALI value holds numbers only"));
            }
            Geometry::from_values(&n)?
        }
        Some(_) => {
            let g = r.region(0)?;
            if r.peek().is_some() {
                return Err(r.bad("unexpected text after the region"));
            }
            g
        }
    };
    crate::geometry::check_region_parts(&g)?;
    g.validate()?;
    Ok(g)
}

/// The STC-S form of a geometry (ICRS), which [`parse_region`] reads back.
pub fn to_stcs(g: &Geometry) -> String {
    let nums = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:?}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let list = |gs: &[Geometry]| gs.iter().map(to_stcs).collect::<Vec<_>>().join(" ");
    match g {
        Geometry::Point(_) => format!("Position ICRS {}", nums(&g.to_values())),
        Geometry::Circle(..) => format!("Circle ICRS {}", nums(&g.to_values())),
        Geometry::Polygon(_) => format!("Polygon ICRS {}", nums(&g.to_values())),
        Geometry::Union(gs) => format!("Union ICRS ({})", list(gs)),
        Geometry::Intersection(gs) => format!("Intersection ICRS ({})", list(gs)),
        Geometry::Not(inner) => format!("Not ({})", to_stcs(inner)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn circle(ra: f64, dec: f64, r: f64) -> Geometry {
        Geometry::Circle(LonLat::new(ra, dec), r)
    }

    #[test]
    fn simple_shapes() {
        assert_eq!(
            parse_region("CIRCLE ICRS 10 20 1").unwrap(),
            circle(10.0, 20.0, 1.0)
        );
        assert_eq!(
            parse_region("Position GEOCENTER 1 2").unwrap(),
            Geometry::Point(LonLat::new(1.0, 2.0))
        );
        assert!(
            matches!(parse_region("polygon 0 0 1 0 0 1").unwrap(), Geometry::Polygon(v) if v.len() == 3)
        );
        assert_eq!(parse_region("10 20 1").unwrap(), circle(10.0, 20.0, 1.0));
        assert!(parse_region("CIRCLE 1 2").is_err());
        assert!(parse_region("CIRCLE 1 95 1").is_err());
        assert!(parse_region("CIRCLE ICRS 1 2 3 unit deg").is_err());
        assert!(parse_region("").is_err());
    }

    #[test]
    fn compound_regions_nest() {
        let g = parse_region(
            "Union ICRS (Circle 10 10 1 Polygon 20 20 21 20 21 21 intersection (circle 1 1 1 NOT(Circle 1 1 0.5)))",
        )
        .unwrap();
        let Geometry::Union(parts) = &g else {
            panic!("{g:?}")
        };
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], circle(10.0, 10.0, 1.0));
        assert!(
            matches!(&parts[2], Geometry::Intersection(v) if matches!(&v[1], Geometry::Not(_)))
        );
        // Difference is an intersection with the complement.
        assert_eq!(
            parse_region("Difference ICRS (Circle 0 0 2 Circle 0 0 1)").unwrap(),
            Geometry::Intersection(vec![
                circle(0.0, 0.0, 2.0),
                Geometry::Not(Box::new(circle(0.0, 0.0, 1.0)))
            ])
        );
        // Printed STC-S reads back to the same value.
        assert_eq!(parse_region(&to_stcs(&g)).unwrap(), g);
    }

    #[test]
    fn malformed_compounds_are_refused_with_a_reason() {
        for (text, why) in [
            ("Union ICRS Circle 1 1 1", "in parentheses"),
            ("Union (Circle 1 1 1", "not closed"),
            ("Not (Circle 1 1 1 Circle 2 2 1)", "Not takes one region"),
            ("Union (Circle 1 1 1))", "after the region"),
            ("Union (Triangle 1 1 1)", "unknown shape"),
            ("Union (Circle 1 100 1)", "off the sphere"),
        ] {
            let e = parse_region(text).unwrap_err().to_string();
            assert!(e.contains(why), "{text}: {e}");
        }
        let deep = format!("{}Circle 1 1 1{}", "Not (".repeat(100), ")".repeat(100));
        assert!(
            parse_region(&deep)
                .unwrap_err()
                .to_string()
                .contains("nest at most")
        );
    }
}
