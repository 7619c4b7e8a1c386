"""Shared fixtures: the corvus binary built by scripts/test, and a fresh data directory.

With CORVUS_TEST_CLUSTER=1 every service a test starts executes its queries
on a Ballista cluster (`corvus scheduler` and two one-core `corvus worker`s
on loopback, started once for the session): the same tests, the same
expected answers, as on one machine. Every query that reads a table goes
to the cluster there (`--cluster-from-rows 0`), however small."""
import atexit
import contextlib
import os
import pathlib
import socket
import subprocess
import time
import urllib.request

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


# True when the services of this run execute on a cluster (CORVUS_TEST_CLUSTER=1).
ON_CLUSTER = os.environ.get("CORVUS_TEST_CLUSTER") == "1"

# Tests of how quick queries and jobs keep answering beside heavy ones: on
# a cluster, that is what the front end's own execution of small queries
# gives (`--cluster-from-rows`), which these runs turn off; the Rust
# end-to-end test `cluster.rs` checks it.
skip_where_all_queries_ship = pytest.mark.skipif(
    ON_CLUSTER,
    reason="every query goes to the cluster in this run, so quick ones queue behind heavy ones on its workers")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_cluster = []


def cluster_args():
    """`--cluster HOST:PORT` of the session's cluster, started on first use,
    when CORVUS_TEST_CLUSTER=1; else nothing."""
    if not ON_CLUSTER:
        return []
    if not _cluster:
        port = free_port()
        address = f"127.0.0.1:{port}"
        nodes = [subprocess.Popen([str(CORVUS), "scheduler", "--bind", address],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        for _ in range(2):
            nodes.append(subprocess.Popen(
                [str(CORVUS), "worker", "--scheduler", address, "--port", str(free_port()),
                 "--grpc-port", str(free_port()), "--cores", "1", "--heartbeat", "1"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        atexit.register(lambda: [n.kill() for n in nodes])
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://{address}/api/executors", timeout=5) as r:
                    if r.read().count(b'"id"') >= 2:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the test cluster's workers never registered"
            time.sleep(0.1)
        _cluster.append(address)
    return ["--cluster", _cluster[0], "--cluster-from-rows", "0"]


def start_service(*extra, demo=True):
    """Starts `corvus serve [--demo]` on a free loopback port (on the
    session's cluster with CORVUS_TEST_CLUSTER=1); returns (process, TAP URL)."""
    assert CORVUS.exists(), f"build corvus first ({CORVUS} is missing): run ./scripts/test"
    demo = ["--demo"] if demo else []
    proc = subprocess.Popen([str(CORVUS), "serve", *demo, "--bind", "127.0.0.1:0", *cluster_args(),
                             *map(str, extra)],
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
