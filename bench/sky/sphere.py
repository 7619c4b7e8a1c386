"""Positions on the unit sphere, in degrees, with numpy."""

import numpy as np

ARCSEC = 1.0 / 3600.0


def random_sky(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n positions uniform on the sphere: ra in [0, 360), dec = asin(2u - 1)."""
    ra = rng.uniform(0.0, 360.0, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    return ra, dec


def unit_vectors(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """(n, 3) Cartesian unit vectors."""
    a, d = np.radians(ra), np.radians(dec)
    return np.column_stack((np.cos(d) * np.cos(a), np.cos(d) * np.sin(a), np.sin(d)))


def chord(radius_deg: float) -> float:
    """The straight-line distance between unit vectors radius_deg apart."""
    return 2.0 * np.sin(np.radians(radius_deg) / 2.0)


def offset(
    ra: np.ndarray, dec: np.ndarray, sep_deg: np.ndarray, angle: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The points sep_deg away from (ra, dec) at position angle `angle` (radians,
    east of north); exact on the sphere, poles and RA = 0/360 included."""
    a, d, s = np.radians(ra), np.radians(dec), np.radians(sep_deg)
    sin_d2 = np.sin(d) * np.cos(s) + np.cos(d) * np.sin(s) * np.cos(angle)
    d2 = np.arcsin(np.clip(sin_d2, -1.0, 1.0))
    a2 = a + np.arctan2(np.sin(angle) * np.sin(s) * np.cos(d), np.cos(s) - np.sin(d) * sin_d2)
    return np.degrees(a2) % 360.0, np.degrees(d2)


def separation(
    ra1: np.ndarray, dec1: np.ndarray, ra2: np.ndarray, dec2: np.ndarray
) -> np.ndarray:
    """Angular separation in degrees (Vincenty: accurate at every distance)."""
    a1, d1, a2, d2 = (np.radians(x) for x in (ra1, dec1, ra2, dec2))
    da = a2 - a1
    num = np.hypot(np.cos(d2) * np.sin(da), np.cos(d1) * np.sin(d2) - np.sin(d1) * np.cos(d2) * np.cos(da))
    den = np.sin(d1) * np.sin(d2) + np.cos(d1) * np.cos(d2) * np.cos(da)
    return np.degrees(np.arctan2(num, den))


def truncated_rayleigh(
    rng: np.random.Generator, n: int, sigma: float, cap: float
) -> np.ndarray:
    """Offsets with a 2-D Gaussian's radial distribution, none beyond cap."""
    u = rng.uniform(0.0, 1.0, n) * (1.0 - np.exp(-(cap**2) / (2.0 * sigma**2)))
    return sigma * np.sqrt(-2.0 * np.log1p(-u))


def ra_window(ra0: float, dec0: float, radius: float) -> tuple[float, float] | None:
    """The RA interval [lo, hi] (may pass 0 or 360) that holds every point of
    the cone, with a small margin; None when the cone reaches a pole."""
    if abs(dec0) + radius >= 89.999:
        return None
    half = np.degrees(np.arcsin(np.sin(np.radians(radius)) / np.cos(np.radians(dec0))))
    half = half * (1.0 + 1e-9) + 1e-12
    if half >= 180.0:
        return None
    return float(ra0 - half), float(ra0 + half)
