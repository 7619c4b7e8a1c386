"""Shared fixtures: the corvus binary built by scripts/test, and a fresh data directory."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", pathlib.Path.home() / ".cache/corvus/target"))
CORVUS = TARGET / "debug" / "corvus"


@pytest.fixture
def corvus(tmp_path):
    """Runs the corvus binary against a data directory of this test's own."""
    assert CORVUS.exists(), f"build corvus first ({CORVUS} is missing): run ./scripts/test"
    data = tmp_path / "data"

    def run(*args, check=True):
        out = subprocess.run([str(CORVUS), *map(str, args), "--data", str(data)],
                             capture_output=True, text=True, timeout=300)
        if check and out.returncode != 0:
            raise AssertionError(f"corvus {' '.join(map(str, args))} failed:\n{out.stderr}")
        return out

    def query(adql):
        out = run("query", adql)
        lines = out.stdout.splitlines()
        return [line.split("\t") for line in lines[1:]]

    run.query = query
    run.data = data
    return run
