"""The sky benchmark: one deterministic synthetic catalog, the same workloads
timed on Corvus (through TAP) and on its peers (DuckDB, PostgreSQL with q3c
and with pgSphere, scipy's cKDTree), one table. Run it through bench/sky/run,
which builds Corvus and installs the peers."""

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import scipy

import catalog
import report
from catalog import DataSet, note
from corvus import PAIR_FORMAT, ROW_FORMAT, Corvus
from duck import DuckDB
from kdtree import KDTree
from measure import BOUNDARY_ARCSEC, BOUNDARY_ARCSEC_BY_ENGINE, compare_pairs, measure, pair_sides, row_problems
from postgres import Postgres, Server
from workloads import CORVUS, PEERS, Engine, Workload, workload_keys, workloads

Results = report.Results


def count(text: str) -> int:
    """A row count, as 10000000 or 1e7."""
    value = float(text)
    if value < 1 or value != int(value):
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text}")
    return int(value)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/sky/run", description=__doc__)
    parser.add_argument("--rows", type=count, default=10**7, help="catalog rows (default 1e7)")
    parser.add_argument("--xmatch-rows", type=count, default=10**6, help="rows of each crossmatch table (default 1e6)")
    parser.add_argument("--upload-rows", type=count, default=10**4, help="rows of the uploaded list (default 1e4)")
    parser.add_argument("--seed", type=int, default=42, help="the generator's seed (default 42)")
    parser.add_argument("--repeat", type=int, default=7, choices=range(1, catalog.PROBES),
                        metavar="K", help="timed runs per workload, after one warm-up (default 7)")
    parser.add_argument("--only", default="", help="comma-separated workloads: " + ", ".join(workload_keys()))
    parser.add_argument("--skip-corvus", action="store_true", help="time the peers only")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-duckdb", action="store_true")
    parser.add_argument("--skip-scipy", action="store_true", help="also leaves the pair sets unchecked but between engines")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="DuckDB's threads (default: all cores)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a query is cancelled (default 120)")
    parser.add_argument("--budget", type=float, default=120.0,
                        help="seconds of timed runs per workload and engine before fewer than K runs are kept (default 120)")
    args = parser.parse_args()
    known = set(workload_keys())
    args.only = [k for k in args.only.split(",") if k]
    unknown = set(args.only) - known
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    return args


def bench_dir() -> Path:
    return Path(os.environ.get("CORVUS_BENCH_DIR") or Path.home() / ".cache/corvus/bench")


def postgres_dir(root: Path, name: str) -> Path:
    """As root, PostgreSQL runs as the postgres user, who cannot enter root's
    home: its cluster then lives in the postgres user's home."""
    if os.geteuid() != 0:
        return root / "postgres"
    return Path(os.environ.get("CORVUS_BENCH_PGDIR") or "/var/lib/postgresql/corvus-bench") / name


def checkout() -> str:
    repo = os.environ.get("CORVUS_REPO", ".")
    out = subprocess.run(["git", "-C", repo, "describe", "--always", "--dirty", "--abbrev=12"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


@contextmanager
def spent(clock: dict[str, float], phase: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        clock[phase] = clock.get(phase, 0.0) + time.monotonic() - started


def time_engine(engine: Engine, selected: list[Workload], budget: float, results: Results) -> None:
    for w in selected:
        if engine.supports(w):
            results[(w.key, engine.name)] = measure(engine, w, budget)


def check(data: DataSet, selected: list[Workload], results: Results) -> tuple[list[str], list[str], set[str]]:
    """Problems (the run fails), notes, and the workloads whose rows differ."""
    problems: list[str] = []
    notes: list[str] = []
    disagree: set[str] = set()
    for w in selected:
        found = row_problems(w, {e: m for (k, e), m in results.items() if k == w.key})
        if found:
            disagree.add(w.key)
            problems += found
        problems += [f"{w.key}: {e} failed: {m.failure.splitlines()[0]}"
                     for (k, e), m in results.items() if k == w.key and m.failure.startswith("error")]
        if w.pairs:
            pair_problems, pair_notes = check_pairs(data, w, results)
            problems += pair_problems
            notes += pair_notes
            if pair_problems:
                disagree.add(w.key)
    return problems, notes, disagree


def check_pairs(data: DataSet, w: Workload, results: Results) -> tuple[list[str], list[str]]:
    base = w.base or w.key
    with_pairs = [e for e in ("scipy", "duckdb", "pg+q3c", CORVUS)
                  if (base, e) in results and results[(base, e)].pairs is not None]
    if not with_pairs:
        return [], []
    reference = with_pairs[0]
    expected = results[(base, reference)].pairs
    assert expected is not None
    left, right = pair_sides(data, w)
    problems, notes = [], []
    for engine in [CORVUS] if w.base else [e for e in (CORVUS, *PEERS) if e != reference]:
        m = results.get((w.key, engine))
        if m is None or m.pairs is None:
            continue
        tolerance = BOUNDARY_ARCSEC_BY_ENGINE.get(engine, BOUNDARY_ARCSEC)
        c = compare_pairs(m.pairs, expected, left, right, 1.0, tolerance)
        if c.missing or c.extra or c.duplicates:
            problems.append(f"{w.key}: {engine} vs {reference}: {c.missing:,} pairs missing, {c.extra:,} extra,"
                            f" {c.duplicates:,} duplicated ({len(m.pairs):,} returned, {len(expected):,} expected)")
            continue
        same = f"{w.key}: {engine} returns exactly the {len(expected):,} pairs {reference} finds"
        if c.boundary:
            same += f" but for {c.boundary} pair(s) within {tolerance:.1e} arcsec of the radius"
        notes.append("✓ " + same)
    return problems, notes


def interrupted(signum: int, frame: object) -> None:
    """SIGTERM as Ctrl-C: the servers are stopped on the way out."""
    raise KeyboardInterrupt


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, interrupted)
    binary = Path(os.environ.get("CORVUS_BIN", ""))
    if not binary.is_file():
        sys.exit("CORVUS_BIN does not name the corvus binary (bench/sky/run builds it and sets it)")
    name = f"{args.rows}-{args.seed}"
    root = bench_dir() / name
    clock: dict[str, float] = {}
    results: Results = {}
    versions: list[str] = []

    note(f"== data in {root}")
    with spent(clock, "setup"):
        data = catalog.prepare(root, args.rows, args.xmatch_rows, args.upload_rows, args.seed)
    every = workloads(data.probes, args.xmatch_rows, args.upload_rows, args.repeat)
    # Another spelling of the crossmatch needs the crossmatch: its peers and pairs.
    wanted = set(args.only) | {w.base for w in every if w.key in args.only and w.base}
    selected = [w for w in every if not args.only or w.key in wanted]

    if not args.skip_corvus:
        note("== corvus")
        corvus = Corvus(binary, root / "corvus", args.timeout)
        try:
            with spent(clock, "setup"):
                corvus.load(data)
                corvus.start()
            versions.append(f"Corvus: {corvus.version()}, binary {binary}, checkout {checkout()}")
            with spent(clock, "runs"):
                time_engine(corvus, selected, args.budget, results)
        finally:
            corvus.stop()

    if not args.skip_duckdb:
        note("== duckdb")
        duck = DuckDB(root / "duckdb" / "bench.duckdb", args.threads, args.timeout)
        try:
            with spent(clock, "setup"):
                duck.load(data)
            versions.append(duck.version())
            with spent(clock, "runs"):
                time_engine(duck, selected, args.budget, results)
        finally:
            duck.close()

    if not args.skip_postgres:
        note("== postgres")
        server = Server(postgres_dir(root, name), args.timeout)
        try:
            with spent(clock, "setup"):
                server.start()
                server.load(data)
            versions.append(f"{server.versions()} (jit off, 2 parallel workers per gather, shared_buffers 4GB,"
                            f" work_mem 256MB; cluster in {server.directory})")
            with spent(clock, "runs"):
                for index in ("q3c", "pgsphere"):
                    time_engine(Postgres(server, index, data.upload_parquet), selected, args.budget, results)
        finally:
            server.stop()

    if not args.skip_scipy:
        note("== scipy")
        tree = KDTree(data)
        with spent(clock, "setup"):
            tree.load()
        versions.append(f"scipy {scipy.__version__}, numpy {np.__version__}")
        with spent(clock, "runs"):
            time_engine(tree, selected, args.budget, results)
        tree.close()

    problems, notes, disagree = check(data, selected, results)
    header = [
        f"Corvus sky benchmark, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"machine: {report.machine()}",
        f"data: catalog of {args.rows:,} rows (seed {args.seed}); crossmatch {args.xmatch_rows:,} x"
        f" {args.xmatch_rows:,} rows at 1 arcsec; upload of {args.upload_rows:,} rows against the catalog",
        f"figures: median of {args.repeat} timed runs after one untimed warm-up, in ms (* fewer runs: the"
        f" {args.budget:g} s budget); ids and cone centres differ from run to run, the same for every engine",
        *versions,
        f"timed: Corvus: POST /tap/sync on a keep-alive HTTP session (requests, gzip accepted as pyvo does),"
        f" the whole result read: {ROW_FORMAT} (TABLEDATA), pairs as {PAIR_FORMAT}; the upload is a VOTable"
        " sent with each query (TAP_UPLOAD). DuckDB: in process, the result as an Arrow table."
        " PostgreSQL: COPY (query) TO STDOUT from Python; the upload is a temporary table created,"
        " filled, analyzed and dropped with each query. scipy: crossmatch from ra/dec arrays: unit vectors,"
        " both trees, the query; upload: the list's unit vectors queried against the catalog's tree"
        " (built once, untimed)",
    ]
    scan = [w for w in selected if w.key == "sum9"]
    footer = [
        "rows: per query (median over the queries for ids and cones); pairs for crossmatches and the upload",
        *(sum_rates(results, args.rows) for _ in scan),
        *notes,
        *(f"✗ {p}" for p in problems),
        *(f"{e}, {k}: {m.failure}" for (k, e), m in results.items() if m.failure.startswith("timeout")),
        f"setup (data, loading, indexes, servers) {clock.get('setup', 0.0):.0f} s;"
        f" timed part {clock.get('runs', 0.0):.0f} s",
    ]
    rows = report.table(selected, results, args.repeat, args.rows, disagree)
    print(report.text(header, rows, footer))
    out = root / "results.md"
    out.write_text(report.markdown(header, rows, footer))
    print(f"\n(written to {out})")
    return 1 if problems else 0


def sum_rates(results: Results, rows: int) -> str:
    """The 9-column SUM as rows per second, in all and per core."""
    cores = os.cpu_count() or 1
    parts = []
    for engine in (CORVUS, *PEERS):
        m = results.get(("sum9", engine))
        median = m.median_ms() if m else None
        if median is not None:
            rate = rows / (median / 1000.0)
            parts.append(f"{engine} {rate:.2e} rows/s ({rate / cores:.2e} per core)")
    return "9-column SUM: " + ", ".join(parts)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
