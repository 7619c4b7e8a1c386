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


def scaled_fits(path):
    """A table whose stored values are scaled (FITS 4.0 §7.3.2): written raw by
    astropy, then given TSCALn/TZEROn with astropy's own header editing."""
    cols = [
        fits.Column(name="ra", format="D", array=np.array([10.0, 20.0, 30.0])),
        fits.Column(name="dec", format="D", array=np.array([1.0, 2.0, 3.0])),
        fits.Column(name="f", format="E", array=np.array([1.1, 0.2, -0.8], dtype=np.float32)),
        fits.Column(name="flux", format="J", null=-999, array=np.array([1234, -999, 500], dtype=np.int32)),
        fits.Column(name="level", format="I", array=np.array([0, 32767, -32768], dtype=np.int16)),
        fits.Column(name="d", format="D", array=np.array([5.0, 6.0, 8.0])),
        fits.Column(name="sbyte", format="B", array=np.array([0, 255, 128], dtype=np.uint8)),
    ]
    fits.BinTableHDU.from_columns(cols).writeto(path)
    for key, value in [("TSCAL3", 3.0), ("TZERO3", 0.4), ("TSCAL4", 0.01), ("TSCAL5", 2), ("TZERO5", 100),
                       ("TSCAL6", 0.5), ("TZERO6", -1.0), ("TZERO7", -128)]:
        fits.setval(path, key, value=value, ext=1)


def test_fits_scaled_columns_hold_physical_values(corvus, tmp_path):
    path = tmp_path / "scaled.fits"
    scaled_fits(path)
    corvus("ingest", path, "--table", "s.t")
    rows = corvus.query("SELECT f, flux, level, d, sbyte FROM s.t ORDER BY ra")
    expected = Table.read(path)  # astropy's physical values
    for i, row in enumerate(rows):
        for name, got in zip(["f", "d"], [row[0], row[3]]):
            assert float(got) == pytest.approx(float(expected[name][i]), rel=1e-12), (name, i)
        assert row[2] == str(int(expected["level"][i]))
    assert [r[0][:5] for r in rows] == ["3.700", "1.000", "-2.00"]  # the issue: 1.1 where 3.7 is
    # TNULL is compared with the stored value, before scaling (FITS 4.0 §7.3.2).
    assert [r[1] for r in rows] == ["12.34", "NULL", "5.0"]
    assert [r[4] for r in rows] == ["-128", "127", "0"]  # TZERO -128: signed bytes (Table 19)
    types = {name: c[0] for name, c in catalog_columns(corvus.data, "s.t").items()}
    assert types == {"ra": "Double", "dec": "Double", "f": "Double", "flux": "Double",
                     "level": "Integer", "d": "Double", "sbyte": "SmallInt"}


def test_fits_unsigned_integers_keep_their_exact_values(corvus, tmp_path):
    t = Table()
    t["u16"] = np.array([0, 65535], dtype=np.uint16)
    t["u32"] = np.array([0, 4294967295], dtype=np.uint32)
    t["u64"] = np.array([0, 2**63 - 1], dtype=np.uint64)
    path = tmp_path / "unsigned.fits"
    t.write(path)
    corvus("ingest", path, "--table", "u.t")
    assert corvus.query("SELECT u16, u32, u64 FROM u.t ORDER BY u16") == [
        ["0", "0", "0"], ["65535", "4294967295", str(2**63 - 1)]]
    types = {name: c[0] for name, c in catalog_columns(corvus.data, "u.t").items()}
    assert types == {"u16": "Integer", "u32": "BigInt", "u64": "BigInt"}

    t["u64"] = np.array([0, 2**63], dtype=np.uint64)
    big = tmp_path / "big.fits"
    t.write(big)
    out = corvus("ingest", big, "--table", "u.big", check=False)
    assert out.returncode != 0
    assert "big.fits: row 2: column u64: the value 9223372036854775808 does not fit a signed 64-bit integer column" in out.stderr


def test_fits_variable_length_column_of_repeat_0_is_null_and_every_row_is_read(corvus, tmp_path):
    """`0PD` is legal FITS (FITS 4.0 §7.3.5: a descriptor's repeat is 0 or 1):
    a field of no bytes. Reading it once panicked, and the ingest published
    an empty table."""
    cols = [
        fits.Column(name="ra", format="D", array=np.array([10.0, 20.0, 30.0])),
        fits.Column(name="dec", format="D", array=np.array([1.0, 2.0, 3.0])),
        fits.Column(name="v", format="PD()", array=np.array([np.array([1.0]), np.array([2.0, 3.0]),
                                                              np.array([4.0])], dtype=object)),
    ]
    path = tmp_path / "vla.fits"
    fits.BinTableHDU.from_columns(cols).writeto(path)
    fits.setval(path, "TFORM3", value="0PD(2)", ext=1)
    corvus("ingest", path, "--table", "z.t")
    assert corvus.query("SELECT ra, v FROM z.t ORDER BY ra") == [
        ["10.0", "NULL"], ["20.0", "NULL"], ["30.0", "NULL"]]


def test_fits_integers_scaled_beyond_64_bits_become_doubles(corvus, tmp_path):
    """TSCAL = 1E30 on 32- and 64-bit integer columns: the physical values
    need doubles (the type choice once overflowed 128-bit arithmetic)."""
    cols = [
        fits.Column(name="ra", format="D", array=np.array([10.0, 20.0])),
        fits.Column(name="dec", format="D", array=np.array([1.0, 2.0])),
        fits.Column(name="flux", format="J", array=np.array([3, -2], dtype=np.int32)),
        fits.Column(name="count", format="K", array=np.array([3, -2], dtype=np.int64)),
    ]
    path = tmp_path / "huge.fits"
    fits.BinTableHDU.from_columns(cols).writeto(path)
    fits.setval(path, "TSCAL3", value=1e30, ext=1)
    fits.setval(path, "TSCAL4", value=1e30, ext=1)
    corvus("ingest", path, "--table", "h.t")
    expected = Table.read(path)  # astropy's physical values
    rows = corvus.query("SELECT flux, count FROM h.t ORDER BY ra")
    for i, row in enumerate(rows):
        for name, got in zip(["flux", "count"], row):
            assert float(got) == pytest.approx(float(expected[name][i]), rel=1e-12), (name, i)
    types = {name: c[0] for name, c in catalog_columns(corvus.data, "h.t").items()}
    assert types["flux"] == "Double" and types["count"] == "Double"


@pytest.mark.parametrize("serialization", ["tabledata", "binary2"])
def test_a_complex_column_is_left_out_with_a_warning_unless_strict(corvus, tmp_path, serialization):
    t = Table()
    t["ra"] = [10.5, 20.5]
    t["dec"] = [-1.0, 1.0]
    t["vis"] = np.array([1 + 2j, 3 - 4j], dtype=np.complex64)
    vot = from_table(t)
    vot.get_first_table().format = serialization
    path = tmp_path / f"vis-{serialization}.vot"
    writeto(vot, str(path))

    out = corvus("ingest", path, "--table", "v.strict", "--strict", check=False)
    assert out.returncode != 0
    assert "column vis: datatype floatComplex: complex numbers cannot be stored; --strict refuses" in out.stderr

    out = corvus("ingest", path, "--table", "v.t")
    assert "column vis left out: datatype floatComplex: complex numbers cannot be stored" in out.stderr
    assert corvus.query("SELECT ra, dec FROM v.t ORDER BY ra") == [["10.5", "-1.0"], ["20.5", "1.0"]]
    assert list(catalog_columns(corvus.data, "v.t")) == ["ra", "dec"]


@pytest.mark.parametrize("key,value,message", [
    ("NAXIS2", 10**12, "NAXIS2 announces 1000000000000 rows of"),
    ("TFORM2", "99999999999999999999D", "TFORM2 '99999999999999999999D': the repeat count is too large"),
    ("TFORM2", "100000000D", "columns need 800000029 bytes but NAXIS1 is 37"),
])
def test_fits_header_claims_the_data_does_not_bear_out_are_refused(corvus, tmp_path, key, value, message):
    path = tmp_path / "claims.fits"
    sample_table().write(path, format="fits")
    fits.setval(path, key, value=value, ext=1)
    out = corvus("ingest", path, "--table", "c.t", check=False)
    assert out.returncode != 0
    assert "claims.fits: " + message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_parquet_nested_and_binary_columns_are_left_out_with_a_warning(corvus, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.table({
        "ra": pa.array([10.0, 20.0]),
        "dec": pa.array([1.0, 2.0]),
        "phot": pa.array([{"g": 1.0, "r": 2.0}, {"g": 3.0, "r": None}]),
        "blob": pa.array([b"\x00\x01", None], pa.binary()),
    })
    path = tmp_path / "nested.parquet"
    pq.write_table(table, path)
    out = corvus("ingest", path, "--table", "n.t")
    assert "nested.parquet: column phot left out: the Parquet type Struct" in out.stderr
    assert "nested.parquet: column blob left out: the Parquet type Binary cannot be stored" in out.stderr
    assert list(catalog_columns(corvus.data, "n.t")) == ["ra", "dec"]
    out = corvus("ingest", path, "--table", "n.s", "--strict", check=False)
    assert out.returncode != 0 and "column phot: the Parquet type Struct" in out.stderr


def upload(service, path, query):
    """POSTs `path` as the upload TAP_UPLOAD.t; returns (status, body with XML entities resolved)."""
    import html

    import requests
    with open(path, "rb") as f:
        r = requests.post(service + "/sync", data={"LANG": "ADQL", "QUERY": query, "UPLOAD": "t,param:t"},
                          files={"t": (path.name, f)}, timeout=60)
    return r.status_code, html.unescape(r.text)


def test_uploads_read_archive_nulls_and_refuse_what_cannot_be_stored_or_is_not_there(service, tmp_path):
    irsa = tmp_path / "irsa.vot"
    irsa.write_text('<VOTABLE version="1.4"><RESOURCE><TABLE><FIELD name="ra" datatype="double"/>'
                    '<FIELD name="w1" datatype="float"/><DATA><TABLEDATA>'
                    '<TR><TD>1</TD><TD>null</TD></TR><TR><TD>2</TD><TD>9.5</TD></TR>'
                    '</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>')
    status, body = upload(service, irsa, "SELECT COUNT(*) AS n, COUNT(w1) AS w FROM TAP_UPLOAD.t")
    assert status == 200 and "<TD>2</TD><TD>1</TD>" in body.replace("\n", "")

    t = Table()
    t["ra"] = [10.5, 20.5]
    t["vis"] = np.array([1 + 2j, 3 - 4j], dtype=np.complex64)
    complex_vot = tmp_path / "vis.vot"
    writeto(from_table(t), str(complex_vot))
    status, body = upload(service, complex_vot, "SELECT ra FROM TAP_UPLOAD.t")
    assert status == 400
    assert ("column vis: datatype floatComplex: complex numbers cannot be stored; "
            "remove the column from the uploaded table") in body

    # A FIELD declaring an arraysize of 10^9 that its cells do not have.
    claim = tmp_path / "claim.vot"
    claim.write_text('<VOTABLE><RESOURCE><TABLE><FIELD name="ra" datatype="double"/>'
                     '<FIELD name="v" datatype="double" arraysize="1000000000"/><DATA><TABLEDATA>'
                     '<TR><TD>1</TD><TD>1 2</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>')
    status, body = upload(service, claim, "SELECT ra FROM TAP_UPLOAD.t")
    assert status == 400
    assert "row 1: column v: value '1 2' is not exactly 1000000000 numbers (arraysize 1000000000), but it has 2" in body
