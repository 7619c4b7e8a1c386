"""The results table, as plain text for the terminal and as Markdown."""

import os
import platform
import statistics
from pathlib import Path

from measure import Measurement
from workloads import CORVUS, PEERS, Target, Workload

Results = dict[tuple[str, str], Measurement]
HEAD = ["workload", "rows", "corvus ms", *(f"{p} ms" for p in PEERS), "corvus vs best peer", "target (corvus)"]


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        cpu = models[0] if models else platform.processor() or cpu
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total = next(line for line in meminfo.read_text().splitlines() if line.startswith("MemTotal"))
        memory = f", {int(total.split()[1]) / 2**20:.1f} GiB RAM"
    return f"{cpu}, {os.cpu_count()} cores{memory}"


def ms_text(ms: float) -> str:
    if ms < 10:
        return f"{ms:.2f}"
    if ms < 100:
        return f"{ms:.1f}"
    return f"{ms:,.0f}"


def cell(m: Measurement | None, repeat: int) -> str:
    if m is None:
        return "–"
    if m.failure:
        return m.failure.split(":", 1)[0]
    median = m.median_ms()
    assert median is not None
    return ms_text(median) + ("*" if len(m.times) < repeat else "")


def best_peer(w: Workload, results: Results) -> tuple[str, float] | None:
    key = w.base or w.key
    medians = [(p, results[(key, p)].median_ms()) for p in PEERS if (key, p) in results]
    measured = [(p, ms) for p, ms in medians if ms is not None]
    return min(measured, key=lambda pm: pm[1]) if measured else None


def ratio(w: Workload, results: Results) -> str:
    corvus = results.get((w.key, CORVUS))
    best = best_peer(w, results)
    mine = corvus.median_ms() if corvus else None
    if corvus and corvus.timed_out_after and best:
        peer, theirs = best
        return f">{corvus.timed_out_after * 1000.0 / theirs:.0f}x slower ({peer}; Corvus timed out)"
    if mine is None or best is None:
        return "–"
    peer, theirs = best
    factor = max(mine, theirs) / min(mine, theirs)
    shown = f"{factor:.0f}" if factor >= 100 else f"{factor:.1f}"
    return f"{shown}x {'faster' if mine <= theirs else 'slower'} ({peer})"


def target_met(t: Target, w: Workload, results: Results, catalog_rows: int) -> bool | None:
    corvus = results.get((w.key, CORVUS))
    mine = corvus.median_ms() if corvus else None
    if corvus and corvus.timed_out_after:
        return False
    if mine is None:
        return None
    if t.kind == "ms":
        return mine <= t.value
    if t.kind == "rate":
        return catalog_rows / (mine / 1000.0) / (os.cpu_count() or 1) >= t.value
    other_key, other_engine = (t.peer, CORVUS) if t.kind == "same" else (w.base or w.key, t.peer)
    other = results.get((other_key, other_engine))
    theirs = other.median_ms() if other else None
    if theirs is None:
        return None
    if t.kind == "faster":
        return theirs >= t.value * mine
    return mine <= t.value * theirs


def targets(w: Workload, results: Results, catalog_rows: int) -> str:
    marks = {True: "✓", False: "✗", None: "?"}
    return "; ".join(f"{t.describe()} {marks[target_met(t, w, results, catalog_rows)]}" for t in w.targets)


def rows_shown(w: Workload, results: Results, disagree: set[str]) -> str:
    key = w.base or w.key
    for engine in ("scipy", CORVUS, *PEERS) if w.pairs else (CORVUS, *PEERS):
        m = results.get((key, engine))
        if m and m.rows and not m.failure:
            text = f"{int(statistics.median(m.rows)):,}"
            return text + (" ✗" if w.key in disagree else "")
    return "–"


def table(workloads: list[Workload], results: Results, repeat: int, catalog_rows: int, disagree: set[str]) -> list[list[str]]:
    return [
        [
            w.title,
            rows_shown(w, results, disagree),
            cell(results.get((w.key, CORVUS)), repeat),
            *(cell(results.get((w.key, p)), repeat) for p in PEERS),
            ratio(w, results),
            targets(w, results, catalog_rows),
        ]
        for w in workloads
    ]


def text(header: list[str], rows: list[list[str]], footer: list[str]) -> str:
    widths = [max(len(r[i]) for r in [HEAD, *rows]) for i in range(len(HEAD))]
    right = {1, 2, 3, 4, 5, 6}

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([*header, "", line(HEAD), *(line(r) for r in rows), "", *footer])


def markdown(header: list[str], rows: list[list[str]], footer: list[str]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.strip().replace("|", "\\|") for c in cells) + " |"

    align = ["---", *["---:"] * 6, "---", "---"]
    lines = [*(f"- {h}" for h in header), "", line(HEAD), "| " + " | ".join(align) + " |"]
    lines += [line(r) for r in rows]
    lines += ["", *(f"- {f}" for f in footer if f)]
    return "\n".join(lines) + "\n"
