"""The TAP service's output formats, uploads, examples, cone search and
operator endpoints, through the clients the field uses (astropy, pyarrow,
pyvo, STILTS) against the real binary on a loopback port."""
import gzip
import http.client
import http.server
import io
import json
import re
import shutil
import ssl
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pyarrow.parquet as pq
import pytest
import pyvo
import requests
from astropy.io.votable import parse, parse_single_table
from astropy.table import Table

from conftest import CORVUS, ON_CLUSTER, ROOT, running_service

# Every kind of value: integers, 64-bit integers beyond 2^53, doubles to the
# last digit, a POINT (DALI xtype), NULLs in an integer and a double column.
POLYGONS = (
    # Polygons of 3 and 4 vertices and NULL: variable-length arrays.
    ", CASE WHEN MOD(hip, 2) = 0 THEN POLYGON('ICRS', ra, dec, ra + 0.001, dec, ra, dec + 0.001) "
    "WHEN MOD(hip, 3) = 0 THEN NULL "
    "ELSE POLYGON('ICRS', ra, dec, ra + 0.001, dec, ra + 0.001, dec + 0.001, ra, dec + 0.001) END AS field")
QUERY_WITHOUT_POLYGONS = (
    "SELECT TOP 40 hip, ra, dec, hpmag, POINT('ICRS', ra, dec) AS pos, "
    "CAST(hip AS BIGINT) * 1000000000000 + 7 AS big, "
    "CASE WHEN MOD(hip, 3) = 0 THEN NULL ELSE sn END AS maybe_int, "
    "CASE WHEN MOD(hip, 2) = 0 THEN NULL ELSE b_v END AS maybe_float, "
    "CAST('2016-01-01T12:30:00.125' AS TIMESTAMP) AS epoch{} "
    "FROM hip.main ORDER BY hip")
QUERY = QUERY_WITHOUT_POLYGONS.format(POLYGONS)
QUERY_WITHOUT_POLYGONS = QUERY_WITHOUT_POLYGONS.format("")


def fetch(url, **params):
    data = urllib.parse.urlencode(params).encode()
    with urllib.request.urlopen(url, data=data, timeout=60) as r:
        return r.read(), r.headers


def download(service, tmp_path, fmt, query=QUERY):
    body, headers = fetch(service + "/sync", LANG="ADQL", QUERY=query, RESPONSEFORMAT=fmt)
    path = tmp_path / f"result.{fmt}"
    path.write_bytes(body)
    return path, headers


def read(path, fmt):
    """The table as the field's readers see it."""
    if fmt in ("votable", "binary2"):
        return Table.read(path, format="votable")
    if fmt == "fits":
        return Table.read(path, format="fits")
    if fmt == "parquet":
        return Table(pq.read_table(path).to_pydict())
    raise ValueError(fmt)


@pytest.fixture(scope="module")
def reference(service, tmp_path_factory):
    path, _ = download(service, tmp_path_factory.mktemp("ref"), "votable")
    return Table.read(path, format="votable")


def arrays(table, name):
    """An array column as lists; NULL (masked, None or empty) as []."""
    out = []
    for v in table[name]:
        if v is None or np.ma.is_masked(v):
            out.append([])
        else:
            out.append([float(x) for x in np.ma.getdata(v)])
    return out


def column(table, name):
    col = table[name]
    mask = getattr(col, "mask", None)
    values = list(np.asarray(col.data if hasattr(col, "data") else col).tolist())
    if mask is not None and np.any(mask):
        values = [None if m else v for v, m in zip(values, np.asarray(mask).tolist())]
    return values


@pytest.mark.parametrize("fmt", ["binary2", "fits", "parquet"])
def test_every_binary_format_holds_the_same_values(service, tmp_path, reference, fmt):
    path, headers = download(service, tmp_path, fmt)
    table = read(path, fmt)
    assert table.colnames == reference.colnames
    for name in ["hip", "ra", "dec", "hpmag", "big", "maybe_float"]:
        got, want = column(table, name), column(reference, name)
        if fmt in ("fits", "parquet") and name == "maybe_float":
            # NULL doubles are NaN in FITS; Parquet keeps real NULLs.
            got = [None if v is None or v != v else v for v in got]
        assert got == want, name
    assert column(reference, "big")[-1] == column(reference, "hip")[-1] * 10**12 + 7
    assert [list(p) for p in table["pos"]] == [list(p) for p in reference["pos"]]
    assert arrays(table, "field") == arrays(reference, "field")
    assert {len(a) for a in arrays(reference, "field")} == {0, 6, 8}
    if fmt != "parquet":
        assert str(table["ra"].unit) == "deg"


def test_votable_metadata_is_complete(service, tmp_path):
    path, headers = download(service, tmp_path, "votable")
    assert headers["Content-Type"].startswith("application/x-votable+xml")
    t = parse_single_table(str(path))
    ra = t.get_field_by_id_or_name("ra")
    assert (ra.unit, ra.ucd, ra.datatype) == ("deg", "pos.eq.ra;meta.main", "double")
    pos = t.get_field_by_id_or_name("pos")
    assert (pos.xtype, pos.arraysize, pos.datatype) == ("point", "2", "double")
    assert t.get_field_by_id_or_name("big").datatype == "long"
    maybe = t.to_table()["maybe_int"]
    assert maybe.mask[0] if column(t.to_table(), "hip")[0] % 3 == 0 else not maybe.mask[0]


def test_parquet_embeds_the_votable_metadata(service, tmp_path):
    path, headers = download(service, tmp_path, "parquet")
    assert headers["Content-Type"] == "application/vnd.apache.parquet"
    meta = pq.read_metadata(path).metadata
    assert meta[b"IVOA.VOTable-Parquet.version"] == b"1.0"
    content = meta[b"IVOA.VOTable-Parquet.content"].decode()
    assert 'name="ra" datatype="double" unit="deg" ucd="pos.eq.ra;meta.main"' in content
    table = pq.read_table(path)
    assert table.schema.field("ra").metadata[b"unit"] == b"deg"
    assert table.column("maybe_int").null_count > 0


def test_json_has_metadata_rows_and_status(service, reference):
    body, headers = fetch(service + "/sync", LANG="ADQL", QUERY=QUERY, RESPONSEFORMAT="json")
    assert headers["Content-Type"] == "application/json"
    doc = json.loads(body)
    names = [m["name"] for m in doc["metadata"]]
    assert names == reference.colnames
    ra = doc["metadata"][names.index("ra")]
    assert (ra["unit"], ra["ucd"], ra["datatype"]) == ("deg", "pos.eq.ra;meta.main", "double")
    assert [r[0] for r in doc["data"]] == column(reference, "hip")
    assert [r[names.index("big")] for r in doc["data"]] == column(reference, "big")
    assert doc["status"] == "OK"
    over = json.loads(fetch(service + "/sync", LANG="ADQL", QUERY=QUERY,
                            RESPONSEFORMAT="json", MAXREC="3")[0])
    assert (len(over["data"]), over["status"]) == (3, "OVERFLOW")


@pytest.mark.parametrize("fmt", ["votable", "binary2"])
def test_votlint_passes_each_votable_serialization(service, tmp_path, fmt):
    # Without the polygons: votlint 3.4.7's xtype="polygon" check misreads
    # BINARY2 arrays and empty cells that `stilts tpipe`, astropy and our
    # own reader (the round-trip tests) read correctly.
    path, _ = download(service, tmp_path, fmt, QUERY_WITHOUT_POLYGONS)
    out = subprocess.run(["stilts", "votlint", f"votable={path}"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ERROR" not in out.stdout + out.stderr, out.stdout + out.stderr


@pytest.mark.parametrize("fmt", ["votable", "binary2", "fits", "parquet"])
def test_what_the_service_writes_it_reads_back_as_an_upload(service, tmp_path, reference, fmt):
    path, _ = download(service, tmp_path, fmt)
    tap = pyvo.dal.TAPService(service)
    query = "SELECT * FROM TAP_UPLOAD.mine ORDER BY hip"
    if fmt in ("votable", "binary2"):
        back = tap.search(query, uploads={"mine": str(path)})
    else:
        # pyvo opens upload files as text; binary formats go up by hand,
        # as TAP 1.1 §2.5.8 describes: UPLOAD=mine,param:table plus the part.
        with open(path, "rb") as f:
            r = requests.post(service + "/sync", data={"LANG": "ADQL", "QUERY": query,
                                                      "UPLOAD": "mine,param:table"},
                              files={"table": ("table", f)}, timeout=60)
        assert r.status_code == 200, r.text
        back = pyvo.dal.TAPResults(parse(io.BytesIO(r.content)))
    table = back.to_table()
    assert table.colnames == reference.colnames
    for name in ["hip", "ra", "dec", "hpmag", "big", "maybe_int", "epoch"]:
        assert column(table, name) == column(reference, name), name
    assert [list(p) for p in table["pos"]] == [list(p) for p in reference["pos"]]
    assert arrays(table, "field") == arrays(reference, "field")
    ref = parse_single_table(str(download(service, tmp_path, "votable")[0]))
    for name in ["ra", "hpmag", "pos", "big", "epoch", "field"]:
        field = back.votable.get_field_by_id_or_name(name)
        want = ref.get_field_by_id_or_name(name)
        assert (field.unit, field.ucd, field.xtype, field.datatype) == (
            want.unit, want.ucd, want.xtype, want.datatype), (fmt, name)


def test_uploads_join_published_tables(service, tmp_path):
    csv = tmp_path / "mine.csv"
    csv.write_text("name,ra,dec\nvega,279.2347,38.7837\nsirius,101.2872,-16.7161\n")
    tap = pyvo.dal.TAPService(service)
    result = tap.search(
        "SELECT u.name, m.hip FROM TAP_UPLOAD.targets AS u JOIN hip.main AS m "
        "ON 1 = CONTAINS(POINT('ICRS', m.ra, m.dec), CIRCLE('ICRS', u.ra, u.dec, 0.01)) "
        "ORDER BY m.hip", uploads={"targets": str(csv)}).to_table()
    assert [(str(n), int(h)) for n, h in zip(result["name"], result["hip"])] == [
        ("sirius", 32349), ("vega", 91262)]


def test_upload_errors_say_what_to_fix(service):
    for upload, expected in [("t,param:nothere", "no file part named nothere"),
                             ("t,http://127.0.0.1:1/x.vot",
                              "refused to fetch http://127.0.0.1:1/x.vot: 127.0.0.1 is a loopback address; "
                              "only public addresses are fetched"),
                             ("1t,param:x", "not a plain ADQL name")]:
        with pytest.raises(urllib.error.HTTPError) as e:
            fetch(service + "/sync", LANG="ADQL", QUERY="SELECT * FROM TAP_UPLOAD.t", UPLOAD=upload)
        assert e.value.code == 400
        assert expected in e.value.read().decode()


class CountingServer(http.server.ThreadingHTTPServer):
    """A web server on loopback that counts the connections it accepts.
    It serves /t.csv, and /redirect?to=URL answers 302 to URL; over TLS
    with an ssl.SSLContext."""

    def __init__(self, tls=None):
        super().__init__(("127.0.0.1", 0), CountingHandler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.connections = 0
        self.lock = threading.Lock()

    def get_request(self):
        conn = super().get_request()
        with self.lock:
            self.connections += 1
        return conn

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_port}"

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class CountingHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path == "/t.csv":
            body = b"a,b\n1,x\n2,y\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", urllib.parse.parse_qs(query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


def upload_error(url, upload):
    """The status and message of a query of TAP_UPLOAD.t that must fail."""
    with pytest.raises(urllib.error.HTTPError) as e:
        fetch(url + "/sync", LANG="ADQL", QUERY="SELECT SUM(a) AS s FROM TAP_UPLOAD.t", UPLOAD=upload)
    return e.value.code, e.value.read().decode()


def test_upload_urls_reaching_this_host_are_refused_and_never_connected(tmp_path):
    # The default configuration: URL uploads on, public addresses only.
    with CountingServer() as table, CountingServer() as redirector, running_service() as url:
        caps = urllib.request.urlopen(url + "/capabilities").read().decode()
        assert "#upload-http" in caps and "#upload-https" in caps
        direct = f"{table.url}/t.csv"
        by_name = f"http://localhost:{table.server_port}/t.csv"
        for upload, message in [
                (direct, f"refused to fetch {direct}: 127.0.0.1 is a loopback address; "
                         "only public addresses are fetched"),
                (by_name, f"refused to fetch {by_name}: localhost resolves to "),
                (f"http://[::ffff:127.0.0.1]:{table.server_port}/t.csv",
                 "is the IPv4-mapped form of 127.0.0.1, a loopback address"),
                (f"http://169.254.169.254:{table.server_port}/latest/meta-data/",
                 "169.254.169.254 is the cloud metadata address")]:
            status, text = upload_error(url, "t," + upload)
            assert status == 400 and message in text, text
            assert "a loopback address" in text or "metadata" in text, text
        # A redirect from a host the operator trusts is checked again.
        config = tmp_path / "corvus.toml"
        config.write_text('[uploads]\nallow_hosts = ["localhost"]\n')
        with running_service("--config", str(config)) as trusting:
            via = f"http://localhost:{redirector.server_port}/redirect?to={direct}"
            status, text = upload_error(trusting, "t," + via)
            assert status == 400, text
            assert (f"refused to fetch {via}: it redirects to {direct}, and 127.0.0.1 is a loopback "
                    "address; only public addresses are fetched") in text, text
        assert redirector.connections >= 1
        assert table.connections == 0


def test_upload_urls_of_hosts_the_operator_allows_are_fetched(tmp_path):
    config = tmp_path / "corvus.toml"
    config.write_text('[uploads]\nallow_hosts = ["127.0.0.1"]\nmax_rows = 10\n')
    with CountingServer() as table, running_service("--config", str(config)) as url:
        body, _ = fetch(url + "/sync", LANG="ADQL", RESPONSEFORMAT="csv",
                        QUERY="SELECT SUM(a) AS s FROM TAP_UPLOAD.t", UPLOAD=f"t,{table.url}/t.csv")
        assert body.decode().split() == ["s", "3"]
        assert table.connections == 1
        # Another loopback name is not the host allowed.
        status, text = upload_error(url, f"t,http://localhost:{table.server_port}/t.csv")
        assert status == 400 and "localhost resolves to" in text, text
        assert table.connections == 1


def test_https_upload_urls_check_the_certificate(tmp_path):
    # A TLS server on loopback with a self-signed certificate: the service
    # speaks TLS to it and refuses the certificate, which no root signed.
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    config = tmp_path / "corvus.toml"
    config.write_text('[uploads]\nallow_hosts = ["127.0.0.1"]\n')
    with CountingServer(tls=context) as table, running_service("--config", str(config)) as url:
        status, text = upload_error(url, f"t,https://127.0.0.1:{table.server_port}/t.csv")
    assert status == 400, text
    assert "cannot fetch https://127.0.0.1:" in text and "certificate" in text, text


def test_upload_urls_can_be_turned_off(tmp_path):
    config = tmp_path / "corvus.toml"
    config.write_text("[uploads]\nfetch_urls = false\n")
    with running_service("--config", str(config)) as url:
        caps = urllib.request.urlopen(url + "/capabilities").read().decode()
        assert "#upload-inline" in caps and "#upload-http" not in caps
        status, text = upload_error(url, "t,http://example.org/t.csv")
        assert status == 400 and "does not fetch tables from URLs" in text, text


def test_a_bad_configuration_is_one_readable_line(tmp_path):
    config = tmp_path / "corvus.toml"
    config.write_text("[limits]\ndefault_maxrek = 5\n")
    out = subprocess.run([str(CORVUS), "serve", "--demo", "--bind", "127.0.0.1:0", "--config", str(config)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "default_maxrek" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_examples_each_run_and_return_rows(service):
    tap = pyvo.dal.TAPService(service)
    examples = tap.examples
    assert len(examples) >= 10
    for ex in examples:
        result = tap.run_sync(ex["QUERY"], maxrec=100)
        assert len(result) > 0, ex["QUERY"]


def test_tap_schema_agrees_with_vosi_tables(service):
    tap = pyvo.dal.TAPService(service)
    rows = tap.search("SELECT column_name, datatype, unit FROM TAP_SCHEMA.columns "
                      "WHERE table_name = 'hip.main' ORDER BY column_index").to_table()
    vosi = tap.tables["hip.main"].columns
    assert [str(c) for c in rows["column_name"]] == [c.name for c in vosi]
    assert str(rows["unit"][[str(c) for c in rows["column_name"]].index("ra")]) == "deg"
    tables = tap.search("SELECT table_name FROM TAP_SCHEMA.tables").to_table()
    assert {str(t) for t in tables["table_name"]} >= {"hip.main", "TAP_SCHEMA.columns"}
    size = tap.search("SELECT column_name FROM TAP_SCHEMA.columns WHERE column_name = '\"size\"'")
    assert len(size) == 1


def test_tables_detail_and_child_resources(service):
    minimal = urllib.request.urlopen(service + "/tables?detail=min").read().decode()
    assert "<name>hip.main</name>" in minimal and "<column" not in minimal
    one = urllib.request.urlopen(service + "/tables/hip.main").read().decode()
    assert one.count("<column") > 40 and "<vosi:table" in one
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(service + "/tables/hip.nothere")
    assert e.value.code == 404


def test_cone_search(service):
    root = service.rsplit("/tap", 1)[0]
    scs = pyvo.dal.SCSService(root + "/scs/hip.main")
    result = scs.search(pos=(279.2347, 38.7837), radius=0.1)
    table = result.to_table()
    assert 91262 in [int(h) for h in table["hip"]]
    assert result.fieldname_with_ucd("meta.id;meta.main") == "hip"
    minimal = urllib.request.urlopen(root + "/scs/hip.main?RA=279.23&DEC=38.78&SR=0.1&VERB=1").read()
    assert parse_single_table(io.BytesIO(minimal)).to_table().colnames == ["hip", "ra", "dec"]
    error = urllib.request.urlopen(root + "/scs/hip.main?RA=10&DEC=95&SR=1").read().decode()
    assert re.search(r'<INFO ID="Error" name="Error" value="DEC=95 is out of range', error)
    caps = urllib.request.urlopen(root + "/scs/hip.main/capabilities").read().decode()
    assert 'standardID="ivo://ivoa.net/std/ConeSearch"' in caps


def test_gzip_when_the_client_asks(service):
    url = service + "/sync?" + urllib.parse.urlencode({"LANG": "ADQL", "QUERY": "SELECT TOP 20000 * FROM hip.main ORDER BY hip"})
    plain = urllib.request.urlopen(url).read()
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req) as r:
        assert r.headers["Content-Encoding"] == "gzip"
        zipped = r.read()
    assert gzip.decompress(zipped) == plain and len(zipped) < len(plain) / 3


def test_metrics_count_queries(service):
    fetch(service + "/sync", LANG="ADQL", QUERY="SELECT TOP 1 hip FROM hip.main")
    text = urllib.request.urlopen(service.rsplit("/tap", 1)[0] + "/metrics").read().decode()
    queries = int(re.search(r"^corvus_queries_total (\d+)$", text, re.M).group(1))
    assert queries >= 1
    assert re.search(r'^corvus_http_requests_total\{endpoint="sync"\} [1-9]', text, re.M)


# Every taplint stage, named, so that none is left out by default: the
# metadata (TMV TME TMS TMC), capabilities and availability (CPV CAP AVV),
# sync and async queries (QGE QPO QAS), the UWS job system (UWS), result
# metadata (MDQ), ObsCore and ObsLocTAP (OBS LOC, which report that the
# service has no such tables), uploads through /async (UPL) and examples (EXA).
TAPLINT_STAGES = "TMV TME TMS TMC CPV CAP AVV QGE QPO QAS UWS MDQ OBS LOC UPL EXA"
# taplint 3.4.7 predates ADQL 2.1, whose §4.8 defines this feature key.
KNOWN_VALIDATOR_GAPS = ['Unknown standard feature key "ivo://ivoa.net/std/TAPRegExt#features-adql-conditional"']


def test_taplint_finds_no_errors():
    # With the default configuration: TAPRegExt makes upload-http mandatory
    # once uploads are offered (E-CAP-MUPM), and URL uploads are on by default.
    with running_service() as service:
        out = subprocess.run(["stilts", "taplint", f"tapurl={service}", f"stages={TAPLINT_STAGES}"],
                             capture_output=True, text=True, timeout=600)
    errors = [line for line in out.stdout.splitlines()
              if re.match(r"^E-[A-Z]{3}-", line) and not any(k in line for k in KNOWN_VALIDATOR_GAPS)]
    assert errors == [], "\n".join(errors)
    assert "E-CAP-MUPM" not in out.stdout
    assert re.search(r"^Totals: Errors: [01];", out.stdout, re.M), out.stdout[-2000:]


def test_export_writes_a_table_whole_with_its_metadata(corvus, tmp_path):
    csv = tmp_path / "stars.csv"
    csv.write_text("id,ra,dec,mag\n1,10.5,-3.25,7.1\n2,11.0,4.0,\n")
    meta = tmp_path / "stars.toml"
    meta.write_text('[table]\nschema = "my"\nname = "stars"\n'
                    '[[columns]]\nname = "ra"\nunit = "deg"\nucd = "pos.eq.ra;meta.main"\n')
    corvus("ingest", csv, "--meta", meta)
    for fmt in ["votable", "binary2", "fits", "parquet", "csv"]:
        out = tmp_path / f"out.{fmt}"
        corvus("export", "my.stars", "--format", fmt, "-o", out)
        assert not out.with_name(out.name + ".partial").exists()
        if fmt == "csv":
            assert out.read_text().splitlines()[:2] == ["id,ra,dec,mag", "1,10.5,-3.25,7.1"]
            continue
        table = read(out, fmt)
        assert list(table["id"]) == [1, 2]
        if fmt != "parquet":
            assert str(table["ra"].unit) == "deg"
    bad = corvus("export", "my.nothere", check=False)
    assert bad.returncode != 0 and "no table my.nothere" in bad.stderr


XSD = ROOT / "tests" / "schemas"


def test_registry_record_validates_and_uses_the_configuration(tmp_path):
    with running_service("--config", str(ROOT / "corvus.example.toml")) as url:
        record = urllib.request.urlopen(url + "/resource").read()
    text = record.decode()
    assert "<identifier>ivo://example.org/corvus/tap</identifier>" in text
    assert 'standardID="ivo://ivoa.net/std/TAP"' in text and "<name>hip.main</name>" in text
    # The root element comes from RegistryInterface, whose schema is not
    # among tests/schemas: a one-element stand-in declares it as vr:Resource.
    stub = tmp_path / "ri.xsd"
    imports = "".join(
        f'<xs:import namespace="{ns}" schemaLocation="{XSD / f}"/>'
        for ns, f in [("http://www.ivoa.net/xml/VOResource/v1.0", "VOResource-v1.2.xsd"),
                      ("http://www.ivoa.net/xml/VODataService/v1.1", "VODataService-v1.2.xsd"),
                      ("http://www.ivoa.net/xml/TAPRegExt/v1.0", "TAPRegExt-v1.1-draft.xsd")])
    stub.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'targetNamespace="http://www.ivoa.net/xml/RegistryInterface/v1.0" '
        'xmlns:vr="http://www.ivoa.net/xml/VOResource/v1.0">' + imports +
        '<xs:element name="Resource" type="vr:Resource"/></xs:schema>')
    doc = tmp_path / "resource.xml"
    doc.write_bytes(record)
    out = subprocess.run(["xmllint", "--noout", "--nonet", "--schema", str(stub), str(doc)],
                         capture_output=True, text=True,
                         env={"XML_CATALOG_FILES": str(XSD / "catalog.xml"), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-3000:]


def test_stilts_tapquery_reads_the_service(service):
    out = subprocess.run(["stilts", "tapquery", f"tapurl={service}", "sync=true", "ofmt=csv",
                          "adql=SELECT TOP 3 hip, ra FROM hip.main ORDER BY hip"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "hip,ra" and [l.split(",")[0] for l in lines[1:]] == ["1", "2", "3"]


def test_a_broken_upload_is_reported_without_internal_paths(service):
    broken = (b'<?xml version="1.0"?><VOTABLE version="1.4"><RESOURCE><TABLE>'
              b'<FIELD name="a" datatype="int"/><DATA><TABLEDATA><TR><TD>x</TD></TR>')
    r = requests.post(service + "/sync", data={"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.bad",
                                               "UPLOAD": "bad,param:t"},
                      files={"t": ("t.vot", broken)}, timeout=60)
    assert r.status_code == 400
    assert "UPLOAD bad (votable)" in r.text, r.text
    assert "/tmp" not in r.text and "corvus-upload" not in r.text, r.text


def test_a_query_over_the_time_limit_ends_with_an_error_naming_the_limit(tmp_path):
    config = tmp_path / "corvus.toml"
    config.write_text("[limits]\nexecution_seconds = 1\n")
    heavy = ("SELECT a.hip FROM hip.main AS a CROSS JOIN hip.main AS b "
             "WHERE a.hpmag - b.hpmag > 100")
    with running_service("--config", str(config)) as url:
        caps = urllib.request.urlopen(url + "/capabilities").read().decode()
        assert "<executionDuration><default>1</default><hard>1</hard></executionDuration>" in caps
        # No row yet: a DALI error document with status 400, naming the limit.
        with pytest.raises(urllib.error.HTTPError) as refused:
            fetch(url + "/sync", LANG="ADQL", QUERY=heavy)
        assert refused.value.code == 400
        error = refused.value.read().decode()
        assert '<INFO name="QUERY_STATUS" value="ERROR">' in error
        assert "limit of 1 s" in error
        if ON_CLUSTER:
            # A cluster job hands its rows over only once it has finished,
            # so a query past the limit has sent none: the document above.
            with pytest.raises(urllib.error.HTTPError) as refused:
                fetch(url + "/sync", LANG="ADQL",
                      QUERY=f"SELECT hip FROM hip.main WHERE hip < 100 UNION ALL {heavy}")
            assert refused.value.code == 400
            assert "limit of 1 s" in refused.value.read().decode()
            return
        # Rows already sent: the document ends with the error after them.
        body, _ = fetch(url + "/sync", LANG="ADQL",
                        QUERY=f"SELECT hip FROM hip.main WHERE hip < 100 UNION ALL {heavy}")
        text = body.decode()
        assert "<TR>" in text
        assert '<INFO name="QUERY_STATUS" value="ERROR">the query ran longer than' in text
        assert text.rstrip().endswith("</VOTABLE>")
        # CSV cannot say so in the document: the transfer is broken off, so
        # that no client takes the rows for the whole result.
        with pytest.raises(http.client.IncompleteRead):
            fetch(url + "/sync", LANG="ADQL", RESPONSEFORMAT="csv",
                  QUERY=f"SELECT hip FROM hip.main WHERE hip < 100 UNION ALL {heavy}")
        # FITS writes nothing before its end: the error comes as a document.
        with pytest.raises(urllib.error.HTTPError) as refused:
            fetch(url + "/sync", LANG="ADQL", RESPONSEFORMAT="fits",
                  QUERY=f"SELECT hip FROM hip.main WHERE hip < 100 UNION ALL {heavy}")
        assert refused.value.code == 400
        assert "limit of 1 s" in refused.value.read().decode()
