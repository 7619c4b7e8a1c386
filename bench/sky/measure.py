"""Timing a workload on an engine, and checking that engines agree."""

import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from catalog import DataSet
from sphere import separation
from workloads import Engine, QueryTimeout, Workload

# Pairs whose separation is this close to the radius may be in one engine's
# result and not another's: floating point. pgSphere compares with a
# tolerance of its own, 1e-9 radians.
BOUNDARY_ARCSEC = 1e-9
BOUNDARY_ARCSEC_BY_ENGINE = {"pg+pgsphere": float(np.degrees(1e-9) * 3600.0)}


@dataclass
class Measurement:
    times: list[float] = field(default_factory=list)  # seconds, timed runs only
    rows: list[int] = field(default_factory=list)  # per run, the warm-up's first
    pairs: np.ndarray | None = None  # the warm-up's pairs, for pair workloads
    failure: str = ""
    timed_out_after: float = 0.0  # seconds, when a query was cancelled

    def median_ms(self) -> float | None:
        if self.failure or not self.times:
            return None
        return statistics.median(self.times) * 1000.0


def measure(engine: Engine, workload: Workload, budget: float) -> Measurement:
    """One untimed warm-up, then a run per remaining parameter, stopping early
    (after at least one timed run) once the runs took more than budget s."""
    result = Measurement()
    spent = 0.0
    started = time.perf_counter()
    try:
        for i, param in enumerate(workload.params):
            started = time.perf_counter()
            answer = engine.run(workload, param)
            elapsed = time.perf_counter() - started
            result.rows.append(engine.count(answer))
            if i == 0 and workload.pairs:
                result.pairs = engine.pairs(answer)
            if i > 0:
                result.times.append(elapsed)
                spent += elapsed
            del answer
            if result.times and spent > budget:
                break
    except QueryTimeout as e:
        result.failure = f"timeout: {e}"
        result.timed_out_after = time.perf_counter() - started
    except Exception as e:  # an engine's error is reported in the table, the run goes on
        result.failure = f"error: {e}"
    median = result.median_ms()
    shown = f"{median:.2f} ms over {len(result.times)} runs" if median is not None else result.failure.splitlines()[0]
    print(f"   {engine.name:<12} {workload.key:<16} {shown}", file=sys.stderr, flush=True)
    return result


def row_problems(workload: Workload, results: dict[str, Measurement]) -> list[str]:
    """Differences in the rows returned, query by query, between engines;
    for pair workloads, between the runs of one engine."""
    done = {name: m for name, m in results.items() if not m.failure and m.rows}
    problems = []
    if workload.pairs:
        for name, m in done.items():
            if len(set(m.rows)) > 1:
                problems.append(f"{workload.key}: {name} returned {sorted(set(m.rows))} rows in different runs")
        return problems
    runs = min((len(m.rows) for m in done.values()), default=0)
    for i in range(runs):
        counts = {name: m.rows[i] for name, m in done.items()}
        if len(set(counts.values())) > 1:
            listed = ", ".join(f"{name} {n}" for name, n in counts.items())
            problems.append(f"{workload.key}, query {i} ({workload.params[i]}): rows differ: {listed}")
    return problems


@dataclass
class PairCheck:
    missing: int  # reference pairs the engine did not return
    extra: int  # pairs the engine returned that the reference does not have
    boundary: int  # differing pairs within the boundary tolerance: not counted above
    duplicates: int


def compare_pairs(
    pairs: np.ndarray,
    reference: np.ndarray,
    left: tuple[np.ndarray, np.ndarray],
    right: tuple[np.ndarray, np.ndarray],
    radius_arcsec: float,
    tolerance_arcsec: float,
) -> PairCheck:
    """Compares pair sets; left and right are the ra, dec arrays indexed by id."""
    scale = np.int64(len(right[0]))
    found = pairs[:, 0] * scale + pairs[:, 1]
    expected = reference[:, 0] * scale + reference[:, 1]
    unique = np.unique(found)
    missing = np.setdiff1d(expected, unique)
    extra = np.setdiff1d(unique, expected)

    def off_boundary(keys: np.ndarray) -> int:
        i, j = keys // scale, keys % scale
        sep = separation(left[0][i], left[1][i], right[0][j], right[1][j]) * 3600.0
        return int(np.count_nonzero(np.abs(sep - radius_arcsec) > tolerance_arcsec))

    far_missing, far_extra = off_boundary(missing), off_boundary(extra)
    boundary = len(missing) + len(extra) - far_missing - far_extra
    return PairCheck(far_missing, far_extra, boundary, len(found) - len(unique))


def positions_by_id(path: Path) -> tuple[np.ndarray, np.ndarray]:
    table = pq.read_table(path, columns=["id", "ra", "dec"])
    ids = table["id"].to_numpy()
    if not np.array_equal(ids, np.arange(len(ids))):
        raise ValueError(f"{path}: ids are not the row numbers")
    return table["ra"].to_numpy(), table["dec"].to_numpy()


Sky = tuple[np.ndarray, np.ndarray]  # ra, dec indexed by id


def pair_sides(data: DataSet, workload: Workload) -> tuple[Sky, Sky]:
    if (workload.base or workload.key) == "xmatch":
        return positions_by_id(data.xa), positions_by_id(data.xb)
    return positions_by_id(data.upload_parquet), positions_by_id(data.catalog)
