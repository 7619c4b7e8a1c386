"""What is timed: the workloads, their parameters, their targets, and the
interface every engine implements."""

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from catalog import Probes
from sphere import ARCSEC

XMATCH_RADIUS = 1.0 * ARCSEC
CONE_RADII = {"cone-1arcmin": 1.0 / 60.0, "cone-0.1deg": 0.1, "cone-1deg": 1.0}
CORVUS = "corvus"
PEERS = ("duckdb", "pg+q3c", "pg+pgsphere", "scipy")


@dataclass(frozen=True)
class Cone:
    ra: float
    dec: float
    radius: float


Param = int | Cone | None


@dataclass(frozen=True)
class Target:
    """A goal for Corvus: 'ms' (median at most value ms), 'faster' (at least
    value times faster than peer), 'within' (at most value times the peer's
    time), 'rate' (at least value rows/s per core over the catalog), 'same'
    (at most value times Corvus's own time on the workload named peer)."""

    kind: str
    value: float
    peer: str = ""

    def describe(self) -> str:
        match self.kind:
            case "ms":
                return f"≤{self.value:g} ms"
            case "faster":
                return f"≥{self.value:g}x faster than {self.peer}"
            case "within":
                return f"≤{self.value:g}x {self.peer}"
            case "rate":
                return f"≥{self.value:.0e} rows/s/core"
            case _:
                return f"≤{self.value:g}x {self.peer}"


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    params: tuple[Param, ...]  # params[0] is the untimed warm-up's
    pairs: bool = False  # the result is a set of (left id, right id) pairs
    peers: bool = True  # False: Corvus only (another spelling of `base`)
    base: str = ""  # the workload whose peers' times and pairs this one is compared with
    targets: tuple[Target, ...] = ()


class QueryTimeout(Exception):
    """A query ran past the time limit (the engine cancelled it)."""


class Engine(Protocol):
    """One column of the table. run() is what is timed: the query and
    receiving its whole result; count() and pairs() read that result after."""

    name: str

    def supports(self, workload: Workload) -> bool: ...

    def run(self, workload: Workload, param: Param) -> Any: ...

    def count(self, answer: Any) -> int: ...

    def pairs(self, answer: Any) -> np.ndarray: ...


SCAN_TARGETS = (Target("faster", 20.0, "pg+q3c"),)


def size(n: int) -> str:
    """1e6 for a power of ten, else the number."""
    power = len(str(n)) - 1
    return f"1e{power}" if n == 10**power and n >= 1000 else f"{n:,}"


def workload_keys() -> list[str]:
    probes = Probes(lookup_ids=[0, 0], centres=[(0.0, 0.0), (0.0, 0.0)])
    return [w.key for w in workloads(probes, 0, 0, 1)]


def workloads(probes: Probes, xmatch_rows: int, upload_rows: int, repeat: int) -> list[Workload]:
    runs = repeat + 1
    once = (None,) * runs
    ids = tuple(probes.lookup_ids[:runs])
    centres = probes.centres[:runs]
    xmatch = f"xmatch {size(xmatch_rows)} x {size(xmatch_rows)}"

    def cones(key: str) -> tuple[Cone, ...]:
        return tuple(Cone(ra, dec, CONE_RADII[key]) for ra, dec in centres)

    cone_targets = {"cone-1arcmin": 10.0, "cone-0.1deg": 10.0, "cone-1deg": 30.0}
    same_speed = (Target("ms", 1000.0), Target("same", 1.25, "xmatch"))
    return [
        Workload("id", "id lookup", ids, targets=(Target("ms", 5.0),)),
        *(
            Workload(key, f"cone r = {title}", cones(key),
                     targets=(Target("ms", ms), Target("faster", 3.0, "pg+q3c")))
            for (key, ms), title in zip(cone_targets.items(), ("1 arcmin", "0.1 deg", "1 deg"))
        ),
        Workload("top10", "TOP 10 ORDER BY gmag", once, targets=(Target("within", 2.0, "duckdb"),)),
        Workload("count", "COUNT(*)", once, targets=SCAN_TARGETS),
        Workload("groupby", "GROUP BY FLOOR(gmag)", once,
                 targets=(Target("within", 1.5, "duckdb"), *SCAN_TARGETS)),
        Workload("sum9", "SUM of 9 columns", once, targets=(Target("rate", 1e8), *SCAN_TARGETS)),
        Workload("xmatch", xmatch, once, pairs=True, targets=(Target("ms", 1000.0),)),
        Workload("xmatch-swapped", "xmatch written xb JOIN xa", once, pairs=True, peers=False,
                 base="xmatch", targets=same_speed),
        Workload("xmatch-distance", "xmatch written DISTANCE <", once, pairs=True, peers=False,
                 base="xmatch", targets=same_speed),
        Workload("upload", f"upload {size(upload_rows)} x catalog", once, pairs=True, targets=(Target("ms", 100.0),)),
    ]
