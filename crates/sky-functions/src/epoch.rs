//! Rigorous propagation of positions with proper motion, parallax and radial
//! velocity, after the Hipparcos catalogue, Vol. 1, §1.2.8 (ESA SP-1200, 1997),
//! as used by `ivo_epoch_prop_pos` in DaCHS and the Gaia archive.

use crate::geometry::LonLat;

/// Astronomical unit in km·yr/s (Hipparcos Vol. 1, Table 1.2.2).
const A_V: f64 = 4.740_470_446;
const MAS: f64 = std::f64::consts::PI / 180.0 / 3_600_000.0;

/// A star's astrometry at one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Astrometry {
    /// Right ascension, degrees.
    pub ra: f64,
    /// Declination, degrees.
    pub dec: f64,
    /// Parallax, mas.
    pub plx: f64,
    /// Proper motion in RA times cos δ, mas/yr.
    pub pmra: f64,
    /// Proper motion in declination, mas/yr.
    pub pmdec: f64,
    /// Radial velocity, km/s.
    pub rv: f64,
    /// Epoch of the values, Julian years.
    pub epoch: f64,
}

/// The position of `star` at `out_epoch` (Julian years). Missing kinematic
/// values should be passed as zero.
pub fn propagate(star: Astrometry, out_epoch: f64) -> LonLat {
    let Astrometry {
        ra,
        dec,
        plx,
        pmra,
        pmdec,
        rv,
        epoch: ref_epoch,
    } = star;
    let t = out_epoch - ref_epoch;
    let (a, d) = (ra.to_radians(), dec.to_radians());
    let p = [-a.sin(), a.cos(), 0.0];
    let q = [-d.sin() * a.cos(), -d.sin() * a.sin(), d.cos()];
    let r = [d.cos() * a.cos(), d.cos() * a.sin(), d.sin()];
    let (pma, pmd) = (pmra * MAS, pmdec * MAS);
    // Radial proper motion, rad/yr: rv [km/s] * plx [mas] / A_V.
    let pmr = rv * plx / A_V * MAS;
    let f = 1.0 / (1.0 + 2.0 * pmr * t + (pma * pma + pmd * pmd + pmr * pmr) * t * t).sqrt();
    let u: [f64; 3] =
        std::array::from_fn(|i| (r[i] * (1.0 + pmr * t) + (p[i] * pma + q[i] * pmd) * t) * f);
    LonLat::from_vec(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn star(ra: f64, dec: f64, plx: f64, pmra: f64, pmdec: f64, rv: f64, epoch: f64) -> Astrometry {
        Astrometry {
            ra,
            dec,
            plx,
            pmra,
            pmdec,
            rv,
            epoch,
        }
    }

    #[test]
    fn no_motion_no_change() {
        let p = propagate(star(10.0, 20.0, 5.0, 0.0, 0.0, 0.0, 1991.25), 2016.0);
        assert!((p.lon - 10.0).abs() < 1e-12 && (p.lat - 20.0).abs() < 1e-12);
    }

    #[test]
    fn barnards_star_moves_as_expected() {
        // Barnard's star (HIP 87937), Hipparcos New Reduction values at J1991.25.
        let barnard = star(
            269.454_023_05,
            4.668_288_15,
            548.31,
            -797.84,
            10_326.93,
            -110.51,
            1991.25,
        );
        let p = propagate(barnard, 2016.0);
        // Gaia DR3 measures 269.448503, 4.739420 at J2016.0, after a motion of
        // 256"; within 0.2" is what the Hipparcos errors over 25 years allow.
        assert!((p.lon - 269.448_503).abs() < 5e-5, "{p:?}");
        assert!((p.lat - 4.739_420).abs() < 5e-5, "{p:?}");
    }

    #[test]
    fn pure_declination_motion_is_linear_for_short_times() {
        // 1000 mas/yr for one year: one arcsecond north.
        let p = propagate(star(30.0, 10.0, 0.0, 0.0, 1000.0, 0.0, 2000.0), 2001.0);
        assert!((p.lat - (10.0 + 1.0 / 3600.0)).abs() < 1e-12, "{p:?}");
        assert!((p.lon - 30.0).abs() < 1e-12);
    }
}
