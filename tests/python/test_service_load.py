"""The service under heavy queries, as an operator would try it: the real
binary on a loopback port, crossmatches that would run for minutes.

Bounds here are generous (they tell "answers" from "deaf", "stops" from
"runs on"); the figures themselves come from `corvus bench load`."""
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import running_service, start_service

# A self-join of the 117,955 Hipparcos stars on INTERSECTS of circles (which
# no crossmatch rewrite turns into a hash join): 1.4e10 pairs, a
# nested loop of several minutes, and not one row before the end.
HEAVY = ("SELECT COUNT(*) FROM hip.main AS a JOIN hip.main AS b "
         "ON 1 = INTERSECTS(CIRCLE('ICRS', a.ra, a.dec, 0.001), CIRCLE('ICRS', b.ra, b.dec, 0.001))")


def config(tmp_path, text):
    path = tmp_path / "corvus.toml"
    path.write_text(text)
    return str(path)


def start_heavy(url):
    """Sends the heavy query on a raw socket and returns the socket, so the
    test decides when the client goes away."""
    parts = urllib.parse.urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    query = urllib.parse.urlencode({"LANG": "ADQL", "QUERY": HEAVY})
    sock.sendall(f"GET {parts.path}/sync?{query} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
    return sock


def gauge(url, name, lane=None):
    text = urllib.request.urlopen(url.removesuffix("/tap") + "/metrics", timeout=10).read().decode()
    total = 0
    for line in text.splitlines():
        m = re.match(rf'{name}(?:{{lane="(\w+)"}})? (\d+)$', line)
        if m and (lane is None or m.group(1) == lane):
            total += int(m.group(2))
    return total


def wait_for(condition, within, what):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not within {within} s")


def timed_get(url, timeout=10):
    started = time.monotonic()
    body = urllib.request.urlopen(url, timeout=timeout).read()
    return time.monotonic() - started, body


def test_heavy_queries_leave_the_service_answering_and_stop_when_their_clients_go(tmp_path):
    cfg = config(tmp_path, "[execution]\nmax_running = 2\nthreads = 2\n")
    with running_service("--config", cfg) as url:
        heavy = [start_heavy(url), start_heavy(url)]
        wait_for(lambda: gauge(url, "corvus_queries_running", "long") == 2, 30,
                 "two heavy queries running")
        # Both cores are busy with the crossmatches; the service still answers.
        slowest = 0.0
        for _ in range(10):
            for path in ("/availability", "/capabilities", "/tables?detail=min"):
                took, _ = timed_get(url + path)
                slowest = max(slowest, took)
        # The targets are 100 ms (p99) and 1 s; `corvus bench load` measures
        # them. Here, a bound that tells "answers" from "deaf" on a loaded CI machine.
        assert slowest < 1, f"a VOSI document took {slowest:.2f} s"
        took, body = timed_get(url + "/sync?" + urllib.parse.urlencode(
            {"LANG": "ADQL", "RESPONSEFORMAT": "csv", "QUERY": "SELECT TOP 1 hip FROM hip.main"}))
        assert body.decode().splitlines()[0] == "hip" and took < 1, f"TOP 1 took {took:.2f} s"
        assert gauge(url, "corvus_queries_running", "long") == 2
        # The clients give up before the first row: both queries stop.
        for sock in heavy:
            sock.close()
        wait_for(lambda: gauge(url, "corvus_queries_running") == 0, 10, "the queries stopped")
        wait_for(lambda: gauge(url, "corvus_query_memory_bytes") == 0, 10, "their memory freed")


def test_a_full_service_refuses_with_503_and_retry_after(tmp_path):
    cfg = config(tmp_path, "[execution]\nmax_running = 1\nmax_waiting = 0\n")
    with running_service("--config", cfg) as url:
        first = start_heavy(url)
        wait_for(lambda: gauge(url, "corvus_queries_running", "long") == 1, 30, "the first query")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "/sync?" + urllib.parse.urlencode(
                {"LANG": "ADQL", "QUERY": HEAVY}), timeout=10)
        assert refused.value.code == 503
        assert refused.value.headers["Retry-After"] == "10"
        doc = refused.value.read().decode()
        assert '<INFO name="QUERY_STATUS" value="ERROR">the service is busy' in doc
        # A quick query has a lane of its own.
        _, body = timed_get(url + "/sync?" + urllib.parse.urlencode(
            {"LANG": "ADQL", "RESPONSEFORMAT": "csv", "QUERY": "SELECT TOP 1 hip FROM hip.main"}))
        assert body.decode().startswith("hip")
        first.close()


def test_sigterm_cancels_running_queries_after_the_grace_period_and_exits(tmp_path):
    cfg = config(tmp_path, "[execution]\nshutdown_grace_seconds = 1\n")
    proc, url = start_service("--config", cfg)
    try:
        heavy = [start_heavy(url), start_heavy(url)]
        wait_for(lambda: gauge(url, "corvus_queries_running", "long") == 2, 30,
                 "two heavy queries running")
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        took = time.monotonic() - started
        assert proc.returncode == 0
        assert took < 10, f"the process took {took:.1f} s to exit"
        # Each client got an answer saying why, not a cut connection.
        for sock in heavy:
            sock.settimeout(5)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
            assert b"the service is shutting down" in answer
            sock.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_failure_of_the_service_is_a_500_that_names_no_server_path(corvus, tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("id,ra,dec\n1,10.0,20.0\n2,11.0,21.0\n")
    corvus("ingest", csv, "--table", "s.t")
    with running_service("--data", corvus.data, demo=False) as url:
        # The table's files vanish under the running service (a disk failure,
        # an operator's mistake).
        for parquet in corvus.data.glob("tables/s/t/*/*.parquet"):
            parquet.unlink()
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(url + "/sync?" + urllib.parse.urlencode(
                {"LANG": "ADQL", "QUERY": "SELECT id FROM s.t"}), timeout=30)
    assert failed.value.code == 500
    doc = failed.value.read().decode()
    assert '<INFO name="QUERY_STATUS" value="ERROR">the service failed' in doc
    assert str(tmp_path) not in doc and ".parquet" not in doc, doc
