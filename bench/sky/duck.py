"""DuckDB in process, on native tables in a database file of its own.

Its best without extensions: tables ordered by dec, so that the per-row-group
min/max (zone maps) prune a cone's bounding box; an ART index on the
catalog's id; cones as a bounding box plus the exact haversine distance;
crossmatches by zones (declination stripes one radius high: a hash join on
the stripe number, each right row in its stripe and both neighbours, then
the exact distance)."""

import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from catalog import DATA_VERSION, DataSet, note
from sphere import ra_window
from workloads import XMATCH_RADIUS, Cone, Param, QueryTimeout, Workload

COLUMNS = "id, ra, dec, parallax, pmra, pmdec, gmag, bpmag, rpmag"
SQL = {
    "id": "SELECT * FROM cat WHERE id = {param}",
    "top10": "SELECT * FROM cat ORDER BY gmag LIMIT 10",
    "count": "SELECT COUNT(*) FROM cat",
    "groupby": "SELECT FLOOR(gmag) AS m, COUNT(*) AS n, AVG(parallax) AS p FROM cat GROUP BY FLOOR(gmag)",
    "sum9": "SELECT " + ", ".join(f"SUM({c})" for c in COLUMNS.split(", ")) + " FROM cat",
}
# Stripes a hair higher than the radius: a pair closer than the radius is
# never two stripes apart, whatever the rounding.
ZONE_HEIGHT = XMATCH_RADIUS * (1.0 + 1e-9)


def haversine_within(ra1: str, dec1: str, ra2: str, dec2: str, radius: float) -> str:
    """SQL: the two positions (degrees) are at most radius degrees apart."""
    limit = float(np.sin(np.radians(radius) / 2.0) ** 2)
    return (
        f"POW(SIN(RADIANS({dec2} - {dec1}) / 2), 2) + COS(RADIANS({dec1})) * COS(RADIANS({dec2}))"
        f" * POW(SIN(RADIANS({ra2} - {ra1}) / 2), 2) <= {limit!r}"
    )


def cone_sql(cone: Cone) -> str:
    dec_lo, dec_hi = cone.dec - cone.radius, cone.dec + cone.radius
    where = [f"dec BETWEEN {dec_lo!r} AND {dec_hi!r}"]
    window = ra_window(cone.ra, cone.dec, cone.radius)
    if window is not None:
        lo, hi = window
        if lo < 0.0:
            where.append(f"(ra >= {lo + 360.0!r} OR ra <= {hi!r})")
        elif hi >= 360.0:
            where.append(f"(ra >= {lo!r} OR ra <= {hi - 360.0!r})")
        else:
            where.append(f"ra BETWEEN {lo!r} AND {hi!r}")
    where.append(haversine_within(repr(cone.ra), repr(cone.dec), "ra", "dec", cone.radius))
    return "SELECT * FROM cat WHERE " + " AND ".join(where)


def zone(dec: str) -> str:
    return f"CAST(FLOOR(({dec} + 90) / {ZONE_HEIGHT!r}) AS BIGINT)"


def zones_sql(fixed: str, spread: str, fixed_first: bool) -> str:
    """The id pairs closer than the crossmatch radius between the tables
    fixed and spread; each row of spread joins its stripe and both neighbours."""
    ids = "f.id AS f_id, s.id AS s_id" if fixed_first else "s.id AS s_id, f.id AS f_id"
    return (
        f"WITH s AS (SELECT id, ra, dec, {zone('dec')} + dz AS zone"
        f" FROM {spread}, (VALUES (-1), (0), (1)) AS t(dz))"
        f" SELECT {ids} FROM {fixed} AS f JOIN s ON {zone('f.dec')} = s.zone"
        f" WHERE {haversine_within('f.ra', 'f.dec', 's.ra', 's.dec', XMATCH_RADIUS)}"
    )


class DuckDB:
    name = "duckdb"

    def __init__(self, path: Path, threads: int, timeout: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.threads = threads
        self.timeout = timeout
        self.connection: duckdb.DuckDBPyConnection | None = None
        self.upload: pa.Table | None = None

    def connect(self) -> duckdb.DuckDBPyConnection:
        if self.connection is None:
            self.connection = duckdb.connect(str(self.path))
            self.connection.execute(f"SET threads = {self.threads}")
            self.connection.execute("SET enable_progress_bar = false")
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def load(self, data: DataSet) -> None:
        """Loads the Parquet files into native tables unless loaded already
        from the same files (a row in bench_loaded, written last)."""
        con = self.connect()
        con.execute("CREATE TABLE IF NOT EXISTS bench_loaded (name VARCHAR PRIMARY KEY, key VARCHAR)")
        for table, path in (("cat", data.catalog), ("xa", data.xa), ("xb", data.xb)):
            key = f"{DATA_VERSION} {path}"
            if con.execute("SELECT key FROM bench_loaded WHERE name = ?", [table]).fetchall() == [(key,)]:
                continue
            started = time.monotonic()
            con.execute(f"DROP TABLE IF EXISTS {table}")
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{path}') ORDER BY dec")
            if table == "cat":
                con.execute("CREATE UNIQUE INDEX cat_id ON cat (id)")
            con.execute("INSERT OR REPLACE INTO bench_loaded VALUES (?, ?)", [table, key])
            con.execute("CHECKPOINT")
            note(f"   duckdb: loaded {table} in {time.monotonic() - started:.1f} s")
        self.upload = pq.read_table(data.upload_parquet)

    def version(self) -> str:
        return f"DuckDB {duckdb.__version__} ({self.threads} threads)"

    def supports(self, workload: Workload) -> bool:
        return workload.peers

    def sql(self, workload: Workload, param: Param) -> str:
        if isinstance(param, Cone):
            return cone_sql(param)
        if workload.key == "xmatch":
            return zones_sql("xa", "xb", fixed_first=True)
        if workload.key == "upload":
            return zones_sql("cat", "upload_list", fixed_first=False)
        return SQL[workload.key].format(param=param)

    def run(self, workload: Workload, param: Param) -> pa.Table:
        con = self.connect()
        timer = threading.Timer(self.timeout, con.interrupt)
        timer.start()
        try:
            if workload.key == "upload":
                con.register("upload_list", self.upload)
            try:
                return con.sql(self.sql(workload, param)).to_arrow_table()
            finally:
                if workload.key == "upload":
                    con.unregister("upload_list")
        except duckdb.InterruptException:
            raise QueryTimeout(f"interrupted after {self.timeout:g} s") from None
        finally:
            timer.cancel()

    def count(self, answer: pa.Table) -> int:
        return answer.num_rows

    def pairs(self, answer: pa.Table) -> np.ndarray:
        return np.column_stack([answer.column(i).to_numpy() for i in range(2)]).astype(np.int64)
