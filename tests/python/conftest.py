"""Shared fixtures: the corvus binary built by scripts/test, and a fresh data directory."""
import contextlib
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", pathlib.Path.home() / ".cache/corvus/target"))
CORVUS = TARGET / "debug" / "corvus"
# The UWS command-line client (uws-client, ported to Python 3), in a venv of
# its own that scripts/test fills with scripts/install-uws-client.
UWS_VENV = pathlib.Path(os.environ.get("CORVUS_UWS_VENV", pathlib.Path.home() / ".cache/corvus/uws-venv"))


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


@contextlib.contextmanager
def running_service(*extra, demo=True):
    """`corvus serve --demo` (or, with demo=False, `corvus serve` and the
    data directory `extra` names) on a free loopback port for the `with`
    block; yields the TAP URL."""
    proc, url = start_service(*extra, demo=demo)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def start_service(*extra, demo=True):
    """Starts `corvus serve [--demo]` on a free loopback port; returns (process, TAP URL)."""
    assert CORVUS.exists(), f"build corvus first ({CORVUS} is missing): run ./scripts/test"
    demo = ["--demo"] if demo else []
    proc = subprocess.Popen([str(CORVUS), "serve", *demo, "--bind", "127.0.0.1:0", *map(str, extra)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if not line.startswith("Corvus TAP service at "):
        proc.kill()
        raise AssertionError("corvus serve did not start: " + line)
    return proc, line.split(" at ", 1)[1].strip()


@pytest.fixture(scope="session")
def service():
    """The demo TAP service, shared by every test of the session."""
    with running_service() as url:
        yield url
