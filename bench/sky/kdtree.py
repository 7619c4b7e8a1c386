"""scipy's cKDTree on unit vectors, the reference pair sets.

Crossmatch: timed from the ra/dec arrays in memory: unit vectors, a tree on
each table (unbalanced, not compacted: the fastest to build and query), then
sparse_distance_matrix at the chord of the radius. Upload: the catalog's
tree is built once, untimed, as the other engines' indexes are; timed: the
list's unit vectors and query_ball_point of each against that tree."""

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from scipy.spatial import cKDTree

from catalog import DataSet
from sphere import chord, unit_vectors
from workloads import XMATCH_RADIUS, Param, Workload

CHORD = chord(XMATCH_RADIUS)
TREE = {"balanced_tree": False, "compact_nodes": False}
Positions = tuple[np.ndarray, np.ndarray, np.ndarray]  # id, ra, dec
Found = tuple[str, str, np.ndarray, np.ndarray]  # left table, right table, row numbers in each


def positions(path: Path) -> Positions:
    table = pq.read_table(path, columns=["id", "ra", "dec"])
    return table["id"].to_numpy(), table["ra"].to_numpy(), table["dec"].to_numpy()


class KDTree:
    name = "scipy"

    def __init__(self, data: DataSet) -> None:
        self.data = data
        self.tables: dict[str, Positions] = {}
        self.catalog_tree: cKDTree | None = None

    def load(self) -> None:
        self.tables = {
            "xa": positions(self.data.xa),
            "xb": positions(self.data.xb),
            "list": positions(self.data.upload_parquet),
            "cat": positions(self.data.catalog),
        }
        self.catalog_tree = cKDTree(unit_vectors(*self.tables["cat"][1:]), **TREE)

    def close(self) -> None:
        self.tables = {}
        self.catalog_tree = None

    def supports(self, workload: Workload) -> bool:
        return workload.pairs and workload.peers

    def run(self, workload: Workload, param: Param) -> Found:
        if workload.key == "xmatch":
            left = cKDTree(unit_vectors(*self.tables["xa"][1:]), **TREE)
            right = cKDTree(unit_vectors(*self.tables["xb"][1:]), **TREE)
            found = left.sparse_distance_matrix(right, CHORD, output_type="ndarray")
            return "xa", "xb", found["i"], found["j"]
        assert self.catalog_tree is not None
        near = self.catalog_tree.query_ball_point(unit_vectors(*self.tables["list"][1:]), CHORD, return_sorted=False)
        counts = np.fromiter(map(len, near), dtype=np.int64, count=len(near))
        matches = np.concatenate([np.asarray(n, dtype=np.int64) for n in near])
        return "list", "cat", np.repeat(np.arange(len(near)), counts), matches

    def count(self, answer: Found) -> int:
        return len(answer[2])

    def pairs(self, answer: Found) -> np.ndarray:
        left, right, i, j = answer
        return np.column_stack((self.tables[left][0][i], self.tables[right][0][j])).astype(np.int64)
