"""Ingest of FITS and VOTable files written by astropy: values, NULLs and
column metadata (units, UCDs, descriptions) must arrive unchanged."""
import sqlite3

import numpy as np
import pytest
from astropy.io import fits
from astropy.io.votable import from_table, writeto
from astropy.table import MaskedColumn, Table
import astropy.units as u

BIG = 9007199254740993  # 2**53 + 1: a double would lose it


def sample_table():
    t = Table()
    t["source_id"] = np.array([BIG, 2, 3], dtype=np.int64)
    t["ra"] = np.array([10.5, 200.25, 359.999]) * u.deg
    t["dec"] = np.array([-5.25, 45.0, 0.001]) * u.deg
    t["gmag"] = MaskedColumn([12.5, 13.25, 0.0], mask=[False, False, True], unit=u.mag, dtype=np.float32)
    t["nobs"] = MaskedColumn([7, 0, 9], mask=[False, True, False], dtype=np.int32)
    t["name"] = ["alpha", "beta", "gamma"]
    t["ra"].description = "Right ascension, ICRS"
    t["ra"].meta["ucd"] = "pos.eq.ra;meta.main"
    t["dec"].meta["ucd"] = "pos.eq.dec;meta.main"
    return t


def catalog_columns(data, table):
    db = sqlite3.connect(data / "state.sqlite")
    rows = db.execute(
        "SELECT column_name, datatype, unit, ucd, description FROM columns "
        "WHERE schema_name || '.' || table_name = ? ORDER BY column_index", (table,)).fetchall()
    return {r[0]: r[1:] for r in rows}


def check_values(corvus, table):
    rows = corvus.query(f"SELECT source_id, ra, dec, gmag, nobs, name FROM {table} ORDER BY source_id")
    assert rows == [
        ["2", "200.25", "45.0", "13.25", "NULL", "beta"],
        ["3", "359.999", "0.001", "NULL", "9", "gamma"],
        [str(BIG), "10.5", "-5.25", "12.5", "7", "alpha"],
    ]
    # Searchable by position at once.
    near = corvus.query(f"SELECT name FROM {table} WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(200, 45, 0.5))")
    assert near == [["beta"]]


@pytest.mark.parametrize("serialization", ["tabledata", "binary2", "binary"])
def test_votable_from_astropy(corvus, tmp_path, serialization):
    path = tmp_path / f"sample-{serialization}.vot"
    vot = from_table(sample_table())
    table = vot.get_first_table()
    table.format = serialization
    if serialization == "binary":
        # BINARY has no NULL mask: integer NULLs need a sentinel (VOTable 1.5 §6).
        table.get_field_by_id("nobs").values.null = -999
    if serialization == "binary2":
        vot.version = "1.4"
    writeto(vot, str(path))
    corvus("ingest", path, "--table", "vo.sample")
    check_values(corvus, "vo.sample")
    cols = catalog_columns(corvus.data, "vo.sample")
    assert cols["ra"][1:] == ("deg", "pos.eq.ra;meta.main", "Right ascension, ICRS")
    assert cols["source_id"][0] == "BigInt"
    assert cols["gmag"][1] == "mag"


def test_fits_from_astropy(corvus, tmp_path):
    path = tmp_path / "sample.fits"
    sample_table().write(path, format="fits")
    corvus("ingest", path, "--table", "fits.sample")
    check_values(corvus, "fits.sample")
    cols = catalog_columns(corvus.data, "fits.sample")
    assert cols["ra"][1] == "deg"
    assert cols["gmag"][:2] == ("Real", "mag")
    assert cols["source_id"][0] == "BigInt"


def test_fits_units_ucds_and_comments_from_keywords(corvus, tmp_path):
    """TUCDn and TCOMMn, as STILTS writes them, become UCDs and descriptions."""
    cols = [
        fits.Column(name="ra", format="D", unit="deg", array=np.array([1.0, 2.0])),
        fits.Column(name="dec", format="D", unit="deg", array=np.array([3.0, 4.0])),
        fits.Column(name="flag", format="I", array=np.array([1, -32768]), null=-32768),
    ]
    hdu = fits.BinTableHDU.from_columns(cols)
    hdu.header["TUCD1"] = "pos.eq.ra;meta.main"
    hdu.header["TCOMM1"] = "Right ascension"
    hdu.header["TUCD2"] = "pos.eq.dec;meta.main"
    path = tmp_path / "stilts-like.fits"
    hdu.writeto(path)
    corvus("ingest", path, "--table", "f.t")
    meta = catalog_columns(corvus.data, "f.t")
    assert meta["ra"][1:] == ("deg", "pos.eq.ra;meta.main", "Right ascension")
    assert corvus.query("SELECT flag FROM f.t ORDER BY ra") == [["1"], ["NULL"]]


def test_parquet_from_pyarrow(corvus, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.table({
        "source_id": pa.array([BIG, 2], pa.int64()),
        "RAJ2000": pa.array([10.0, 20.0]),
        "DEJ2000": pa.array([1.0, 2.0]),
        "label": pa.array(["a", None]),
    })
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    out = corvus("ingest", path, "--table", "pq.t")
    assert "indexed by position (RAJ2000, DEJ2000)" in out.stdout
    assert corvus.query("SELECT source_id, label FROM pq.t ORDER BY source_id") == [["2", "NULL"], [str(BIG), "a"]]


def test_truncated_fits_is_refused_and_leaves_nothing(corvus, tmp_path):
    path = tmp_path / "sample.fits"
    sample_table().write(path, format="fits")
    data = path.read_bytes()
    cut = tmp_path / "cut.fits"
    cut.write_bytes(data[: len(data) - 2880])
    out = corvus("ingest", cut, "--table", "x.cut", check=False)
    assert out.returncode != 0
    assert "cut.fits" in out.stderr
    assert corvus("tables").stdout.startswith("no tables")
