"""The TAP service as pyvo (and so astroquery and TOPCAT) sees it: the real
binary on a free loopback port, the bundled demo catalog."""
import os
import pathlib
import subprocess
import urllib.request

import pytest
import pyvo

from conftest import ROOT

VALIDATE = ROOT / "tests" / "schemas" / "validate.sh"


def test_pyvo_sync_query_gets_values_and_metadata(service):
    tap = pyvo.dal.TAPService(service)
    result = tap.search(
        "SELECT hip, ra, dec, hpmag FROM hip.main "
        "WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 279.2347, 38.7837, 0.01))")
    table = result.to_table()
    assert list(table["hip"]) == [91262]
    assert abs(table["hpmag"][0] - 0.0868) < 1e-12
    assert str(table["ra"].unit) == "deg"
    ra = result.votable.get_field_by_id_or_name("ra")
    assert ra.ucd == "pos.eq.ra;meta.main"
    assert ra.description == "Right ascension, ICRS, epoch J1991.25"


def test_maxrec_overflow_is_reported(service):
    tap = pyvo.dal.TAPService(service)
    result = tap.search("SELECT hip FROM hip.main", maxrec=5)
    assert len(result) == 5
    assert result.query_status == "OVERFLOW"


def test_bad_query_gives_a_positioned_dali_error(service):
    tap = pyvo.dal.TAPService(service)
    with pytest.raises(pyvo.dal.DALQueryError) as e:
        tap.search("SELECT raa FROM hip.main")
    assert "no column 'raa' in hip.main" in str(e.value)
    assert "did you mean 'ra'" in str(e.value)


def test_tables_from_vosi(service):
    tap = pyvo.dal.TAPService(service)
    tables = tap.tables
    main = tables["hip.main"]
    cols = {c.name: c for c in main.columns}
    assert cols["ra"].unit == "deg"
    assert cols["plx"].ucd == "pos.parallax.trig"


def test_csv_output(service):
    url = service + "/sync?LANG=ADQL&RESPONSEFORMAT=csv&QUERY=" + urllib.parse.quote(
        "SELECT TOP 2 hip, hpmag FROM hip.main ORDER BY hip")
    with urllib.request.urlopen(url) as r:
        assert r.headers["Content-Type"].startswith("text/csv")
        body = r.read().decode()
    assert body.splitlines()[0] == "hip,hpmag"
    assert body.splitlines()[1] == "1,9.2043"


@pytest.mark.parametrize("path", ["availability", "capabilities", "tables",
                                  "sync?LANG=ADQL&QUERY=SELECT%20TOP%203%20*%20FROM%20hip.main",
                                  "sync?LANG=ADQL&QUERY=SELECT%20nonsense"])
def test_documents_validate_against_the_ivoa_schemas(service, tmp_path, path):
    try:
        body = urllib.request.urlopen(f"{service}/{path}").read()
    except urllib.error.HTTPError as e:  # the error document comes with a 400
        body = e.read()
    f = tmp_path / "doc.xml"
    f.write_bytes(body)
    out = subprocess.run(["bash", str(VALIDATE), str(f)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
