"""Corvus, as a user meets it: tables published with `corvus ingest`, queries
sent to `corvus serve` through TAP /sync over one keep-alive HTTP session."""

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import requests

from catalog import CATALOG_COLUMNS, DATA_VERSION, POSITION_COLUMNS, Column, DataSet, note
from workloads import CORVUS, Cone, Param, QueryTimeout, Workload

XMATCH_ON = "1 = CONTAINS(POINT('ICRS', a.ra, a.dec), CIRCLE('ICRS', b.ra, b.dec, 1.0/3600))"
ADQL = {
    "top10": "SELECT TOP 10 * FROM bench.cat ORDER BY gmag",
    "count": "SELECT COUNT(*) FROM bench.cat",
    "groupby": "SELECT FLOOR(gmag) AS m, COUNT(*) AS n, AVG(parallax) AS p FROM bench.cat GROUP BY FLOOR(gmag)",
    "sum9": "SELECT " + ", ".join(f"SUM({c.name}) AS s_{c.name}" for c in CATALOG_COLUMNS) + " FROM bench.cat",
    "xmatch": f"SELECT a.id AS a_id, b.id AS b_id FROM bench.xa AS a JOIN bench.xb AS b ON {XMATCH_ON}",
    "xmatch-swapped": "SELECT a.id AS a_id, b.id AS b_id FROM bench.xb AS b JOIN bench.xa AS a"
    " ON 1 = CONTAINS(POINT('ICRS', b.ra, b.dec), CIRCLE('ICRS', a.ra, a.dec, 1.0/3600))",
    "xmatch-distance": "SELECT a.id AS a_id, b.id AS b_id FROM bench.xa AS a JOIN bench.xb AS b"
    " ON DISTANCE(POINT('ICRS', a.ra, a.dec), POINT('ICRS', b.ra, b.dec)) < 1.0/3600",
    "upload": "SELECT u.id AS u_id, c.id AS c_id FROM TAP_UPLOAD.list AS u JOIN bench.cat AS c"
    " ON 1 = CONTAINS(POINT('ICRS', c.ra, c.dec), CIRCLE('ICRS', u.ra, u.dec, 1.0/3600))",
}
# Pair results are large (10^5..10^6 rows): they are asked as Parquet, the
# fastest format Corvus writes and the one a user moving many rows picks;
# every other result as the default VOTable (TABLEDATA), as pyvo gets it.
PAIR_FORMAT = "parquet"
ROW_FORMAT = "votable"
KEY_FIELD_ERROR = "unknown field `key`"


def adql(workload: Workload, param: Param) -> str:
    if workload.key == "id":
        return f"SELECT * FROM bench.cat WHERE id = {param}"
    if isinstance(param, Cone):
        circle = f"CIRCLE('ICRS', {param.ra!r}, {param.dec!r}, {param.radius!r})"
        return f"SELECT * FROM bench.cat WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), {circle})"
    return ADQL[workload.key]


def toml_string(text: str) -> str:
    return json.dumps(text)


def descriptor(table: str, columns: tuple[Column, ...], key: bool) -> str:
    lines = ["[table]", 'schema = "bench"', f"name = {toml_string(table)}", 'ra = "ra"', 'dec = "dec"']
    if key:
        lines.append('key = "id"')
    lines += ["", "[source]", 'format = "parquet"']
    for c in columns:
        lines += ["", "[[columns]]", f"name = {toml_string(c.name)}", f"ucd = {toml_string(c.ucd)}"]
        lines.append(f"description = {toml_string(c.description)}")
        if c.unit:
            lines.append(f"unit = {toml_string(c.unit)}")
    return "\n".join(lines) + "\n"


class Corvus:
    name = CORVUS

    def __init__(self, binary: Path, directory: Path, timeout: float) -> None:
        self.binary = binary
        self.directory = directory
        self.data_dir = directory / "data"
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.maxrec = 0
        self.session = requests.Session()
        self.upload = b""

    def version(self) -> str:
        out = subprocess.run([str(self.binary), "--version"], capture_output=True, text=True, check=True)
        return out.stdout.strip()

    def load(self, data: DataSet) -> None:
        """Publishes bench.cat, bench.xa and bench.xb unless already published
        from the same files."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for table, path, columns in (
            ("cat", data.catalog, CATALOG_COLUMNS),
            ("xa", data.xa, POSITION_COLUMNS),
            ("xb", data.xb, POSITION_COLUMNS),
        ):
            marker = self.directory / f".ingested-{table}"
            # A rebuilt binary may store tables differently: ingest again.
            stat = self.binary.stat()
            key = f"{DATA_VERSION} {path} {self.binary} {stat.st_size} {stat.st_mtime_ns}"
            if marker.exists() and marker.read_text() == key:
                continue
            marker.unlink(missing_ok=True)
            started = time.monotonic()
            self.ingest(table, path, columns)
            marker.write_text(key)
            note(f"   corvus: ingested bench.{table} in {time.monotonic() - started:.1f} s")
        self.upload = data.upload_votable.read_bytes()

    def ingest(self, table: str, path: Path, columns: tuple[Column, ...]) -> None:
        meta = self.directory / f"{table}.toml"
        for key in (True, False):
            meta.write_text(descriptor(table, columns, key))
            command = [str(self.binary), "ingest", str(path), "--meta", str(meta), "--data", str(self.data_dir), "--replace"]
            out = subprocess.run(command, capture_output=True, text=True)
            if out.returncode == 0:
                return
            if key and KEY_FIELD_ERROR in out.stderr:
                note("   corvus: this binary does not know [table] key; ingesting without it")
                continue
            raise RuntimeError(f"corvus ingest {table} failed:\n{out.stderr.strip()}")

    def start(self) -> None:
        command = [str(self.binary), "serve", "--data", str(self.data_dir), "--bind", "127.0.0.1:0"]
        # bench/cluster/run points the service at a cluster this way.
        command += os.environ.get("CORVUS_SERVE_ARGS", "").split()
        with open(self.directory / "serve.out", "wb") as out, open(self.directory / "serve.log", "wb") as log:
            self.process = subprocess.Popen(command, stdout=out, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 300
        while not self.url:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"corvus serve did not start; see {self.directory / 'serve.log'}")
            found = re.search(r"http://\S+/tap", (self.directory / "serve.out").read_text())
            self.url = found.group(0) if found else ""
            time.sleep(0.05)
        while self.session.get(f"{self.url}/availability", timeout=10).status_code != 200:
            time.sleep(0.1)
        capabilities = self.session.get(f"{self.url}/capabilities", timeout=10).text
        hard = re.search(r'<hard unit="row">(\d+)</hard>', capabilities)
        self.maxrec = int(hard.group(1)) if hard else 16_000_000

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def supports(self, workload: Workload) -> bool:
        return True

    def run(self, workload: Workload, param: Param) -> tuple[str, bytes]:
        response_format = PAIR_FORMAT if workload.pairs else ROW_FORMAT
        form = {
            "REQUEST": "doQuery",
            "LANG": "ADQL",
            "QUERY": adql(workload, param),
            "FORMAT": response_format,
            "MAXREC": str(self.maxrec),
        }
        files = None
        if workload.key == "upload":
            form["UPLOAD"] = "list,param:list"
            files = {"list": ("list.vot", self.upload, "application/x-votable+xml")}
        try:
            response = self.session.post(f"{self.url}/sync", data=form, files=files, timeout=(10, self.timeout))
        except requests.exceptions.ReadTimeout:
            raise QueryTimeout(f"no answer within {self.timeout:g} s") from None
        if response.status_code != 200:
            message = re.search(r'<INFO name="QUERY_STATUS" value="ERROR">([^<]*)<', response.text)
            raise RuntimeError(f"HTTP {response.status_code}: {message.group(1) if message else response.text[:300]}")
        return response_format, response.content

    def count(self, answer: tuple[str, bytes]) -> int:
        response_format, body = answer
        if response_format == PAIR_FORMAT:
            return self.table(body).num_rows
        if b'name="QUERY_STATUS" value="OVERFLOW"' in body:
            raise RuntimeError(f"the result was cut at MAXREC={self.maxrec} (OVERFLOW)")
        if b'name="QUERY_STATUS" value="ERROR"' in body:
            raise RuntimeError("the VOTable ends with QUERY_STATUS=ERROR")
        return body.count(b"<TR>")

    def pairs(self, answer: tuple[str, bytes]) -> np.ndarray:
        table = self.table(answer[1])
        return np.column_stack([table.column(i).to_numpy() for i in range(2)]).astype(np.int64)

    def table(self, body: bytes) -> pa.Table:
        table = pq.read_table(pa.BufferReader(body))
        if table.num_rows >= self.maxrec:
            raise RuntimeError(f"the result reached MAXREC={self.maxrec}: cut")
        return table
