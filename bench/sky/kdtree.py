"""scipy's cKDTree on unit vectors, the reference pair sets.

Crossmatch: timed from the ra/dec arrays in memory: unit vectors, a tree on
each table, then sparse_distance_matrix at the chord of the radius. Upload:
the catalog's tree is built once, untimed, as the other engines' indexes are;
timed: the list's unit vectors, its tree, and the query."""

import numpy as np
import pyarrow.parquet as pq
from scipy.spatial import cKDTree

from catalog import DataSet
from sphere import chord, unit_vectors
from workloads import XMATCH_RADIUS, Param, Workload

CHORD = chord(XMATCH_RADIUS)


def positions(path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = pq.read_table(path, columns=["id", "ra", "dec"])
    return table["id"].to_numpy(), table["ra"].to_numpy(), table["dec"].to_numpy()


class KDTree:
    name = "scipy"

    def __init__(self, data: DataSet) -> None:
        self.data = data
        self.tables: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.catalog_tree: cKDTree | None = None

    def load(self) -> None:
        self.tables = {
            "xa": positions(self.data.xa),
            "xb": positions(self.data.xb),
            "list": positions(self.data.upload_parquet),
            "cat": positions(self.data.catalog),
        }
        _, ra, dec = self.tables["cat"]
        self.catalog_tree = cKDTree(unit_vectors(ra, dec))

    def close(self) -> None:
        self.tables = {}
        self.catalog_tree = None

    def supports(self, workload: Workload) -> bool:
        return workload.pairs and workload.peers

    def run(self, workload: Workload, param: Param) -> tuple[str, str, np.ndarray]:
        if workload.key == "xmatch":
            left, right = "xa", "xb"
            right_tree = cKDTree(unit_vectors(*self.tables["xb"][1:]))
        else:
            left, right = "list", "cat"
            right_tree = self.catalog_tree
        left_tree = cKDTree(unit_vectors(*self.tables[left][1:]))
        found = left_tree.sparse_distance_matrix(right_tree, CHORD, output_type="ndarray")
        return left, right, found

    def count(self, answer: tuple[str, str, np.ndarray]) -> int:
        return len(answer[2])

    def pairs(self, answer: tuple[str, str, np.ndarray]) -> np.ndarray:
        left, right, found = answer
        ids = (self.tables[left][0][found["i"]], self.tables[right][0][found["j"]])
        return np.column_stack(ids).astype(np.int64)
