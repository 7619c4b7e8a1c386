//! Unit conversion for IN_UNIT (ADQL 2.1 §4.5.2), on VOUnits 1.0 strings.
//!
//! A unit string is a product of factors separated by `.`, `*` or `/`, each
//! an SI or astronomy symbol with an optional prefix and power (`km/s`,
//! `mas.yr**-1`, `m2`, `deg^2`). Two units convert when their dimensions
//! agree; the factor is the ratio of their scales.

/// Dimensions: length, mass, time, angle, current, temperature, amount, luminous intensity.
type Dims = [i32; 8];

const L: usize = 0;
const M: usize = 1;
const T: usize = 2;
const A: usize = 3;

fn dim(i: usize, p: i32) -> Dims {
    let mut d = [0; 8];
    d[i] = p;
    d
}

const PI: f64 = std::f64::consts::PI;
const DEG: f64 = PI / 180.0;

/// Base symbols: (symbol, scale in SI with radians for angles, dimensions, takes SI prefixes).
fn base(symbol: &str) -> Option<(f64, Dims, bool)> {
    let d0 = [0; 8];
    Some(match symbol {
        "m" => (1.0, dim(L, 1), true),
        "g" => (1e-3, dim(M, 1), true),
        "s" => (1.0, dim(T, 1), true),
        "rad" => (1.0, dim(A, 1), true),
        "sr" => (1.0, dim(A, 2), true),
        "deg" => (DEG, dim(A, 1), false),
        "arcmin" => (DEG / 60.0, dim(A, 1), true),
        "arcsec" => (DEG / 3600.0, dim(A, 1), true),
        "mas" => (DEG / 3.6e6, dim(A, 1), false),
        "uas" => (DEG / 3.6e9, dim(A, 1), false),
        "min" => (60.0, dim(T, 1), false),
        "h" => (3600.0, dim(T, 1), false),
        "d" => (86400.0, dim(T, 1), false),
        "a" | "yr" => (365.25 * 86400.0, dim(T, 1), true),
        "AU" | "au" => (1.495_978_707e11, dim(L, 1), false),
        "pc" => (3.085_677_581_491_367e16, dim(L, 1), true),
        "lyr" => (9.460_730_472_580_8e15, dim(L, 1), true),
        "Angstrom" | "angstrom" => (1e-10, dim(L, 1), false),
        "solRad" => (6.957e8, dim(L, 1), false),
        "solMass" => (1.988_409_87e30, dim(M, 1), false),
        "earthRad" => (6.378_1e6, dim(L, 1), false),
        "jupiterRad" => (7.149_2e7, dim(L, 1), false),
        "Hz" => (1.0, dim(T, -1), true),
        "J" => (1.0, [2, 1, -2, 0, 0, 0, 0, 0], true),
        "W" => (1.0, [2, 1, -3, 0, 0, 0, 0, 0], true),
        "erg" => (1e-7, [2, 1, -2, 0, 0, 0, 0, 0], false),
        "eV" => (1.602_176_634e-19, [2, 1, -2, 0, 0, 0, 0, 0], true),
        "Jy" => (1e-26, [0, 1, -2, 0, 0, 0, 0, 0], true),
        "N" => (1.0, [1, 1, -2, 0, 0, 0, 0, 0], true),
        "K" => (1.0, dim(4, 1), true),
        "mag" => (1.0, d0, true),
        "" => (1.0, d0, false),
        _ => return None,
    })
}

fn prefix(p: &str) -> Option<f64> {
    Some(match p {
        "y" => 1e-24,
        "z" => 1e-21,
        "a" => 1e-18,
        "f" => 1e-15,
        "p" => 1e-12,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "c" => 1e-2,
        "d" => 1e-1,
        "da" => 1e1,
        "h" => 1e2,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        _ => return None,
    })
}

/// One factor such as `km`, `s**-1`, `deg2`.
fn factor(text: &str) -> Option<(f64, Dims)> {
    let (sym, power) = match text.find("**").or_else(|| text.find('^')) {
        Some(i) => {
            let skip = if text[i..].starts_with("**") { 2 } else { 1 };
            let p = text[i + skip..].trim_matches(|c| c == '(' || c == ')');
            (&text[..i], p.parse::<i32>().ok()?)
        }
        None => {
            let digits =
                text.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '+');
            if digits.len() < text.len() && !digits.is_empty() {
                (digits, text[digits.len()..].parse::<i32>().ok()?)
            } else {
                (text, 1)
            }
        }
    };
    let (scale, dims) = base(sym).map(|(s, d, _)| (s, d)).or_else(|| {
        // Longest prefix first ("da" before "d").
        (1..=2.min(sym.len())).rev().find_map(|n| {
            let (p, rest) = sym.split_at(n);
            let (s, d, prefixable) = base(rest)?;
            (prefixable && !rest.is_empty()).then_some(())?;
            Some((prefix(p)? * s, d))
        })
    })?;
    Some((scale.powi(power), dims.map(|d| d * power)))
}

/// Scale and dimensions of a unit string, or None if it is not understood.
pub fn parse_unit(text: &str) -> Option<(f64, Dims)> {
    let text = text.trim();
    let mut scale = 1.0;
    let mut dims = [0; 8];
    let mut sign = 1;
    let mut start = 0;
    let bytes: Vec<char> = text.chars().collect();
    let mut push = |piece: &str, sign: i32| -> Option<()> {
        let piece = piece.trim();
        if piece.is_empty() {
            return if sign == 1 { Some(()) } else { None };
        }
        let (s, d) = factor(piece)?;
        scale *= s.powi(sign);
        for i in 0..8 {
            dims[i] += d[i] * sign;
        }
        Some(())
    };
    for (i, c) in bytes.iter().enumerate() {
        if *c == '.'
            || *c == '/'
            || (*c == '*' && bytes.get(i + 1) != Some(&'*') && (i == 0 || bytes[i - 1] != '*'))
        {
            let piece: String = bytes[start..i].iter().collect();
            push(&piece, sign)?;
            if *c == '/' {
                sign = -1;
            }
            start = i + 1;
        }
    }
    let piece: String = bytes[start..].iter().collect();
    push(&piece, sign)?;
    Some((scale, dims))
}

/// Why a conversion is impossible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversionError {
    /// The unit string is not understood.
    Unknown(String),
    /// The units measure different things.
    Incompatible,
}

/// The factor that converts values in `from` into `to`.
pub fn conversion_factor(from: &str, to: &str) -> Result<f64, ConversionError> {
    let (fs, fd) = parse_unit(from).ok_or_else(|| ConversionError::Unknown(from.to_string()))?;
    let (ts, td) = parse_unit(to).ok_or_else(|| ConversionError::Unknown(to.to_string()))?;
    if fd != td {
        return Err(ConversionError::Incompatible);
    }
    Ok(fs / ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        ((a - b) / b).abs() < 1e-12
    }

    #[test]
    fn angles() {
        assert!(close(conversion_factor("deg", "arcsec").unwrap(), 3600.0));
        assert!(close(conversion_factor("mas", "deg").unwrap(), 1.0 / 3.6e6));
        assert!(close(conversion_factor("rad", "deg").unwrap(), 180.0 / PI));
        assert!(close(
            conversion_factor("mas/yr", "arcsec/a").unwrap(),
            1e-3
        ));
        assert!(close(
            conversion_factor("deg**2", "arcmin2").unwrap(),
            3600.0
        ));
    }

    #[test]
    fn compound_and_prefixed() {
        assert!(close(conversion_factor("km/s", "m/s").unwrap(), 1000.0));
        assert!(close(
            conversion_factor("km.s**-1", "m.s-1").unwrap(),
            1000.0
        ));
        assert!(close(conversion_factor("kpc", "pc").unwrap(), 1000.0));
        assert!(close(conversion_factor("mJy", "Jy").unwrap(), 1e-3));
        assert!(close(conversion_factor("GHz", "Hz").unwrap(), 1e9));
        assert!(close(conversion_factor("Angstrom", "nm").unwrap(), 0.1));
    }

    #[test]
    fn refusals() {
        assert_eq!(
            conversion_factor("deg", "m"),
            Err(ConversionError::Incompatible)
        );
        assert!(matches!(
            conversion_factor("furlong", "m"),
            Err(ConversionError::Unknown(_))
        ));
    }
}
