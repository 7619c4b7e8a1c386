"""The deterministic synthetic data, generated once per size and seed and
cached: the catalog, the two crossmatch tables, the upload list, and the ids
and cone centres the workloads probe."""

import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sphere import ARCSEC, offset, random_sky, truncated_rayleigh

# Bump when the generator changes: cached data made by another version is redone.
DATA_VERSION = "1"
CHUNK_ROWS = 1_000_000
PROBES = 64


@dataclass(frozen=True)
class Column:
    name: str
    arrow: pa.DataType
    unit: str
    ucd: str
    description: str


CATALOG_COLUMNS = (
    Column("id", pa.int64(), "", "meta.id;meta.main", "Source identifier (generation order)"),
    Column("ra", pa.float64(), "deg", "pos.eq.ra;meta.main", "Right ascension (ICRS)"),
    Column("dec", pa.float64(), "deg", "pos.eq.dec;meta.main", "Declination (ICRS)"),
    Column("parallax", pa.float64(), "mas", "pos.parallax", "Parallax"),
    Column("pmra", pa.float64(), "mas/yr", "pos.pm;pos.eq.ra", "Proper motion in RA * cos(dec)"),
    Column("pmdec", pa.float64(), "mas/yr", "pos.pm;pos.eq.dec", "Proper motion in declination"),
    Column("gmag", pa.float32(), "mag", "phot.mag;em.opt", "G magnitude"),
    Column("bpmag", pa.float32(), "mag", "phot.mag;em.opt.B", "BP magnitude"),
    Column("rpmag", pa.float32(), "mag", "phot.mag;em.opt.R", "RP magnitude"),
)
POSITION_COLUMNS = CATALOG_COLUMNS[:3]


@dataclass(frozen=True)
class Probes:
    """What the repeated workloads ask, the same for every engine: entry 0 is
    the warm-up's."""

    lookup_ids: list[int]
    centres: list[tuple[float, float]]


@dataclass(frozen=True)
class DataSet:
    rows: int
    xmatch_rows: int
    upload_rows: int
    catalog: Path
    xa: Path
    xb: Path
    upload_votable: Path
    upload_parquet: Path
    probes: Probes


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cached(directory: Path, key: str, make: Callable[[Path], None]) -> None:
    """Runs make(directory) unless a previous run finished it with the same
    key: the marker is written last, so a half-made directory is redone."""
    marker = directory / ".complete"
    if marker.exists() and marker.read_text() == key:
        return
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    started = time.monotonic()
    make(directory)
    marker.write_text(key)
    note(f"   made {directory} in {time.monotonic() - started:.1f} s")


def magnitudes(rng: np.random.Generator, n: int) -> np.ndarray:
    """G between 5 and 21, counts rising 0.35 dex per magnitude as star counts do."""
    rate = 0.35 * np.log(10.0)
    u = rng.uniform(0.0, 1.0, n)
    return 21.0 + np.log1p(-u * (1.0 - np.exp(-16.0 * rate))) / rate


def catalog_chunk(rng: np.random.Generator, first_id: int, n: int) -> pa.Table:
    ra, dec = random_sky(rng, n)
    parallax = rng.exponential(0.5, n) + rng.normal(0.0, 0.3, n)
    pmra = rng.standard_t(3, n) * 4.0 - 1.5
    pmdec = rng.standard_t(3, n) * 4.0 - 3.0
    gmag = magnitudes(rng, n)
    colour = np.clip(rng.normal(1.0, 0.45, n), -0.4, 4.5)
    bpmag = gmag + 0.4 * colour + 0.05 + rng.normal(0.0, 0.02, n)
    rpmag = bpmag - colour
    values = (np.arange(first_id, first_id + n, dtype=np.int64), ra, dec, parallax, pmra, pmdec, gmag, bpmag, rpmag)
    return pa.table({c.name: pa.array(v, type=c.arrow) for c, v in zip(CATALOG_COLUMNS, values)})


def schema(columns: tuple[Column, ...]) -> pa.Schema:
    return pa.schema([(c.name, c.arrow) for c in columns])


def make_catalog(directory: Path, rows: int, seed: int) -> None:
    """Writes cat.parquet chunk by chunk (bounded memory) and probes.json."""
    rng = np.random.default_rng([seed, 1])
    probe_rng = np.random.default_rng([seed, 4])
    lookup_ids = probe_rng.choice(rows, size=min(PROBES, rows), replace=False)
    centre_ids = probe_rng.choice(rows, size=min(PROBES - 3, rows), replace=False)
    found: dict[int, tuple[float, float]] = {}
    # The rows nearest RA = 0 and the poles: cones around them cross RA = 0/360 or a pole.
    extremes: dict[str, tuple[float, tuple[float, float]]] = {}
    with pq.ParquetWriter(directory / "cat.parquet", schema(CATALOG_COLUMNS)) as writer:
        for first in range(0, rows, CHUNK_ROWS):
            chunk = catalog_chunk(rng, first, min(CHUNK_ROWS, rows - first))
            writer.write_table(chunk, row_group_size=CHUNK_ROWS)
            ra, dec = chunk["ra"].to_numpy(), chunk["dec"].to_numpy()
            for i in centre_ids[(centre_ids >= first) & (centre_ids < first + len(ra))]:
                found[int(i)] = (float(ra[i - first]), float(dec[i - first]))
            for name, key in (("wrap", ra), ("north", -dec), ("south", dec)):
                j = int(np.argmin(key))
                if name not in extremes or key[j] < extremes[name][0]:
                    extremes[name] = (float(key[j]), (float(ra[j]), float(dec[j])))
    centres = [found[int(centre_ids[0])]]
    centres += [extremes[name][1] for name in ("wrap", "north", "south")]
    centres += [found[int(i)] for i in centre_ids[1:]]
    probes = {"lookup_ids": [int(i) for i in lookup_ids], "centres": centres}
    (directory / "probes.json").write_text(json.dumps(probes))


def special_positions(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n positions crowded within 3 arcsec of either pole or 2 arcsec of RA = 0/360."""
    third = n // 3
    ra = rng.uniform(0.0, 360.0, n)
    cap = 90.0 - 3.0 * ARCSEC * np.sqrt(rng.uniform(0.0, 1.0, n))
    dec = np.concatenate((cap[:third], -cap[third : 2 * third], random_sky(rng, n - 2 * third)[1]))
    ra[2 * third :] = rng.uniform(-2.0 * ARCSEC, 2.0 * ARCSEC, n - 2 * third) % 360.0
    return ra, dec


def position_table(ra: np.ndarray, dec: np.ndarray) -> pa.Table:
    ids = np.arange(len(ra), dtype=np.int64)
    return pa.table({"id": ids, "ra": ra, "dec": dec}, schema=schema(POSITION_COLUMNS))


def make_xmatch(directory: Path, rows: int, seed: int) -> None:
    """xa: random positions; xb: 70% copies of xa rows moved by up to 1.4
    arcsec (Gaussian, sigma 0.5 arcsec), 30% random; both with a few hundred
    rows crowded at the poles and at RA = 0/360."""
    rng = np.random.default_rng([seed, 2])
    crowd = min(600, rows // 10)
    ra_a, dec_a = random_sky(rng, rows)
    crowded = rng.choice(rows, size=crowd, replace=False)
    ra_a[crowded], dec_a[crowded] = special_positions(rng, crowd)

    copies = int(round(0.7 * rows))
    others = np.setdiff1d(np.arange(rows), crowded)
    sources = np.concatenate((crowded, rng.choice(others, size=copies - crowd, replace=False)))
    sep = truncated_rayleigh(rng, copies, 0.5 * ARCSEC, 1.4 * ARCSEC)
    ra_c, dec_c = offset(ra_a[sources], dec_a[sources], sep, rng.uniform(0.0, 2.0 * np.pi, copies))
    ra_r, dec_r = random_sky(rng, rows - copies)
    ra_r[:crowd], dec_r[:crowd] = special_positions(rng, crowd)
    order = rng.permutation(rows)
    ra_b = np.concatenate((ra_c, ra_r))[order]
    dec_b = np.concatenate((dec_c, dec_r))[order]
    pq.write_table(position_table(ra_a, dec_a), directory / "xa.parquet")
    pq.write_table(position_table(ra_b, dec_b), directory / "xb.parquet")


def write_votable(path: Path, table: pa.Table) -> None:
    """A TABLEDATA VOTable of (id, ra, dec); floats in shortest round-trip form."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">',
        '<RESOURCE type="results"><TABLE name="list">',
        '<FIELD name="id" datatype="long" ucd="meta.id;meta.main"/>',
        '<FIELD name="ra" datatype="double" unit="deg" ucd="pos.eq.ra;meta.main"/>',
        '<FIELD name="dec" datatype="double" unit="deg" ucd="pos.eq.dec;meta.main"/>',
        "<DATA><TABLEDATA>",
    ]
    columns = (table[c.name].to_pylist() for c in POSITION_COLUMNS)
    lines += [f"<TR><TD>{i}</TD><TD>{r!r}</TD><TD>{d!r}</TD></TR>" for i, r, d in zip(*columns)]
    lines += ["</TABLEDATA></DATA>", "</TABLE></RESOURCE>", "</VOTABLE>", ""]
    path.write_text("\n".join(lines))


def make_upload(directory: Path, catalog: Path, rows: int, seed: int) -> None:
    """80% copies of catalog rows moved by up to 1.4 arcsec (Gaussian, sigma
    0.3 arcsec: most within 1 arcsec), 20% random positions."""
    rng = np.random.default_rng([seed, 3])
    positions = pq.read_table(catalog, columns=["ra", "dec"])
    copies = min(int(round(0.8 * rows)), positions.num_rows)
    sources = rng.choice(positions.num_rows, size=copies, replace=False)
    sep = truncated_rayleigh(rng, copies, 0.3 * ARCSEC, 1.4 * ARCSEC)
    ra_c, dec_c = offset(
        positions["ra"].to_numpy()[sources],
        positions["dec"].to_numpy()[sources],
        sep,
        rng.uniform(0.0, 2.0 * np.pi, copies),
    )
    ra_r, dec_r = random_sky(rng, rows - copies)
    order = rng.permutation(rows)
    table = position_table(np.concatenate((ra_c, ra_r))[order], np.concatenate((dec_c, dec_r))[order])
    pq.write_table(table, directory / "list.parquet")
    write_votable(directory / "list.vot", table)


def prepare(root: Path, rows: int, xmatch_rows: int, upload_rows: int, seed: int) -> DataSet:
    """Generates (or finds in the cache under root) every input file."""
    catalog_dir = root / "catalog"
    xmatch_dir = root / f"xmatch-{xmatch_rows}"
    upload_dir = root / f"upload-{upload_rows}"
    cached(catalog_dir, f"{DATA_VERSION} {rows} {seed}", lambda d: make_catalog(d, rows, seed))
    cached(xmatch_dir, f"{DATA_VERSION} {xmatch_rows} {seed}", lambda d: make_xmatch(d, xmatch_rows, seed))
    cached(
        upload_dir,
        f"{DATA_VERSION} {upload_rows} {rows} {seed}",
        lambda d: make_upload(d, catalog_dir / "cat.parquet", upload_rows, seed),
    )
    probes = json.loads((catalog_dir / "probes.json").read_text())
    return DataSet(
        rows=rows,
        xmatch_rows=xmatch_rows,
        upload_rows=upload_rows,
        catalog=catalog_dir / "cat.parquet",
        xa=xmatch_dir / "xa.parquet",
        xb=xmatch_dir / "xb.parquet",
        upload_votable=upload_dir / "list.vot",
        upload_parquet=upload_dir / "list.parquet",
        probes=Probes(
            lookup_ids=probes["lookup_ids"],
            centres=[(float(ra), float(dec)) for ra, dec in probes["centres"]],
        ),
    )
