"""PostgreSQL 15 with q3c and pgSphere, in a private cluster on a loopback port.

Indexes: a btree on cat.id; on every table a q3c index on
q3c_ang2ipix(ra, dec) that the table is CLUSTERed on, and a pgSphere GiST
index on spoint(radians(ra), radians(dec)). Two columns of the table share
the server: pg+q3c (q3c_radial_query, q3c_join) and pg+pgsphere (<@ scircle).
Results come back through COPY (query) TO STDOUT, the fastest way out."""

import io
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from catalog import DATA_VERSION, DataSet, note
from sphere import ARCSEC
from workloads import Cone, Param, QueryTimeout, Workload

BIN = Path("/usr/lib/postgresql/15/bin")
# For a 24 GB, 2-core machine. Durability is off (fsync, WAL): it speeds up
# the one-time load and changes nothing for read-only queries.
SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
shared_buffers = 4GB
effective_cache_size = 16GB
work_mem = 256MB
maintenance_work_mem = 2GB
max_parallel_workers_per_gather = 2
max_parallel_maintenance_workers = 2
random_page_cost = 1.1
jit = off
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 16GB
"""
CAT_COLUMNS = (
    "id bigint, ra double precision, dec double precision, parallax double precision,"
    " pmra double precision, pmdec double precision, gmag real, bpmag real, rpmag real"
)
POSITION_COLUMNS = "id bigint, ra double precision, dec double precision"
R = f"{ARCSEC!r}"
SQL = {
    "id": "SELECT * FROM cat WHERE id = {param}",
    "top10": "SELECT * FROM cat ORDER BY gmag LIMIT 10",
    "count": "SELECT count(*) FROM cat",
    "groupby": "SELECT floor(gmag) AS m, count(*) AS n, avg(parallax) AS p FROM cat GROUP BY floor(gmag)",
    "sum9": "SELECT sum(id), sum(ra), sum(dec), sum(parallax), sum(pmra), sum(pmdec), sum(gmag), sum(bpmag),"
    " sum(rpmag) FROM cat",
}
Q3C_JOIN = {
    "xmatch": f"SELECT a.id, b.id FROM xa AS a JOIN xb AS b ON q3c_join(a.ra, a.dec, b.ra, b.dec, {R})",
    "upload": f"SELECT u.id, c.id FROM upload_list AS u JOIN cat AS c ON q3c_join(u.ra, u.dec, c.ra, c.dec, {R})",
}


def sphere_point(ra: str, dec: str) -> str:
    return f"spoint(radians({ra}), radians({dec}))"


def sphere_within(ra: str, dec: str, ra0: str, dec0: str, radius: str) -> str:
    return f"{sphere_point(ra, dec)} <@ scircle({sphere_point(ra0, dec0)}, radians({radius}))"


SPHERE_JOIN = {
    "xmatch": "SELECT a.id, b.id FROM xa AS a JOIN xb AS b ON " + sphere_within("b.ra", "b.dec", "a.ra", "a.dec", R),
    "upload": "SELECT u.id, c.id FROM upload_list AS u JOIN cat AS c ON "
    + sphere_within("c.ra", "c.dec", "u.ra", "u.dec", R),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def csv_chunks(path: Path) -> Iterator[bytes]:
    """The Parquet file as CSV text, one chunk of rows at a time."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=500_000):
        buffer = io.BytesIO()
        pacsv.write_csv(pa.Table.from_batches([batch]), buffer, pacsv.WriteOptions(include_header=False))
        yield buffer.getvalue()


class Server:
    """The cluster: made once with initdb, started and stopped around the run.
    PostgreSQL does not run as root: as root, the cluster belongs to the
    postgres user and lives in its home (root's home is closed to it)."""

    def __init__(self, directory: Path, timeout: float) -> None:
        self.directory = directory
        self.timeout = timeout
        self.port = 0
        self.connection: psycopg.Connection | None = None
        self.as_owner: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def command(self, *args: str) -> None:
        out = subprocess.run([*self.as_owner, *args], capture_output=True, text=True, start_new_session=True)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed:\n{out.stdout}{out.stderr}")

    def initdb(self) -> None:
        marker = self.directory / "corvus-bench-ready"
        if marker.exists():
            return
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True)
        if self.as_owner:
            user = pwd.getpwnam("postgres")
            os.chown(self.directory, user.pw_uid, user.pw_gid)
        self.command(str(BIN / "initdb"), "-D", str(self.directory), "-U", "postgres", "-A", "trust",
                     "-E", "UTF8", "--locale=C")
        with open(self.directory / "postgresql.conf", "a") as conf:
            conf.write(SETTINGS)
        marker.write_text("initdb done\n")

    def start(self) -> psycopg.Connection:
        self.initdb()
        self.port = free_port()
        log = self.directory / "server.log"
        self.command(str(BIN / "pg_ctl"), "-D", str(self.directory), "-l", str(log), "-w", "-t", "300",
                     "-o", f"-p {self.port}", "start")
        self.connection = psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                                          dbname="postgres", autocommit=True)
        self.connection.execute(f"SET statement_timeout = '{int(self.timeout * 1000)}ms'")
        return self.connection

    def stop(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        if self.port:
            self.command(str(BIN / "pg_ctl"), "-D", str(self.directory), "-m", "fast", "-w", "stop")
            self.port = 0

    def versions(self) -> str:
        assert self.connection is not None
        server = self.connection.execute("SHOW server_version").fetchone()
        extensions = dict(self.connection.execute("SELECT extname, extversion FROM pg_extension").fetchall())
        return (f"PostgreSQL {server[0] if server else '?'}, q3c {extensions.get('q3c', '?')},"
                f" pgSphere {extensions.get('pg_sphere', '?')}")

    def load(self, data: DataSet) -> None:
        """Loads and indexes the tables unless loaded already from the same
        files (a row in bench_loaded, written last)."""
        con = self.connection
        assert con is not None
        con.execute("SET statement_timeout = 0")
        con.execute("CREATE EXTENSION IF NOT EXISTS q3c")
        con.execute("CREATE EXTENSION IF NOT EXISTS pg_sphere")
        con.execute("CREATE TABLE IF NOT EXISTS bench_loaded (name text PRIMARY KEY, key text)")
        for table, path, columns in (
            ("cat", data.catalog, CAT_COLUMNS),
            ("xa", data.xa, POSITION_COLUMNS),
            ("xb", data.xb, POSITION_COLUMNS),
        ):
            key = f"{DATA_VERSION} {path}"
            if con.execute("SELECT key FROM bench_loaded WHERE name = %s", [table]).fetchall() == [(key,)]:
                continue
            started = time.monotonic()
            self.load_table(con, table, path, columns)
            con.execute("INSERT INTO bench_loaded VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET key = %s",
                        [table, key, key])
            note(f"   postgres: loaded and indexed {table} in {time.monotonic() - started:.1f} s")
        con.execute(f"SET statement_timeout = '{int(self.timeout * 1000)}ms'")

    @staticmethod
    def load_table(con: psycopg.Connection, table: str, path: Path, columns: str) -> None:
        with con.transaction():
            con.execute(f"DROP TABLE IF EXISTS {table}")
            con.execute(f"CREATE TABLE {table} ({columns})")
            with con.cursor().copy(f"COPY {table} FROM STDIN (FORMAT csv)") as copy:
                for chunk in csv_chunks(path):
                    copy.write(chunk)
        if table == "cat":
            con.execute("CREATE INDEX cat_id ON cat (id)")
        con.execute(f"CREATE INDEX {table}_q3c ON {table} (q3c_ang2ipix(ra, dec))")
        con.execute(f"CLUSTER {table} USING {table}_q3c")
        con.execute(f"CREATE INDEX {table}_spoint ON {table} USING gist ({sphere_point('ra', 'dec')})")
        con.execute(f"VACUUM ANALYZE {table}")


class Postgres:
    """One column of the table: the same server with one of its spatial indexes."""

    def __init__(self, server: Server, index: str, upload: Path) -> None:
        self.server = server
        self.index = index
        self.name = f"pg+{index}"
        table = pq.read_table(upload)
        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
        self.upload_csv = buffer.getvalue()

    def supports(self, workload: Workload) -> bool:
        if not workload.peers:
            return False
        # Without a position, pgSphere's column would run pg+q3c's query again.
        return self.index == "q3c" or workload.key.startswith("cone") or workload.pairs

    def sql(self, workload: Workload, param: Param) -> str:
        if isinstance(param, Cone):
            if self.index == "q3c":
                return f"SELECT * FROM cat WHERE q3c_radial_query(ra, dec, {param.ra!r}, {param.dec!r}, {param.radius!r})"
            within = sphere_within("ra", "dec", repr(param.ra), repr(param.dec), repr(param.radius))
            return f"SELECT * FROM cat WHERE {within}"
        if workload.pairs:
            return (Q3C_JOIN if self.index == "q3c" else SPHERE_JOIN)[workload.key]
        return SQL[workload.key].format(param=param)

    def run(self, workload: Workload, param: Param) -> bytes:
        con = self.server.connection
        assert con is not None
        try:
            if workload.key == "upload":
                return self.run_upload(con, self.sql(workload, param))
            return self.copy_out(con, self.sql(workload, param))
        except psycopg.errors.QueryCanceled:
            raise QueryTimeout(f"statement_timeout ({self.server.timeout:g} s)") from None

    def run_upload(self, con: psycopg.Connection, sql: str) -> bytes:
        """Like a TAP upload: the list goes into a temporary table, then the join."""
        con.execute("DROP TABLE IF EXISTS upload_list")
        con.execute(f"CREATE TEMP TABLE upload_list ({POSITION_COLUMNS})")
        try:
            with con.cursor().copy("COPY upload_list FROM STDIN (FORMAT csv)") as copy:
                copy.write(self.upload_csv)
            con.execute("ANALYZE upload_list")
            return self.copy_out(con, sql)
        finally:
            con.execute("DROP TABLE IF EXISTS upload_list")

    @staticmethod
    def copy_out(con: psycopg.Connection, sql: str) -> bytes:
        with con.cursor().copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
            return b"".join(bytes(chunk) for chunk in copy)

    def count(self, answer: bytes) -> int:
        return answer.count(b"\n")

    def pairs(self, answer: bytes) -> np.ndarray:
        if not answer:
            return np.empty((0, 2), dtype=np.int64)
        options = pacsv.ReadOptions(column_names=["l", "r"])
        table = pacsv.read_csv(io.BytesIO(answer), read_options=options)
        return np.column_stack([table["l"].to_numpy(), table["r"].to_numpy()]).astype(np.int64)
