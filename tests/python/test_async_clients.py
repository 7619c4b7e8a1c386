"""Asynchronous TAP (UWS 1.1 jobs at /tap/async) through the clients people
use: pyvo, astroquery's TapPlus, the UWS command-line client `uws`
(uws-client), and raw HTTP for what the clients do not reach (long polls,
job list filters, owners, byte ranges, uploads, the documents' schemas).
The real binary serves the demo catalog on a loopback port."""
import contextlib
import os
import re
import signal
import subprocess
import threading
import time
import uuid
import xml.etree.ElementTree as ET

import pytest
import pyvo
import requests

from conftest import ON_CLUSTER, UWS_VENV, running_service, skip_where_all_queries_ship
from uws_jobs import (HREF, INFO_PROGRESS, INFO_QUEUE, INFO_RESULT, NS, QUICK, SLOW, Jobs, job_id,
                      job_phase, jobs_config, validate)

UWS = UWS_VENV / "bin" / "uws"
QUICK_HIPS = list(range(1, 11))

# Two Hipparcos stars by number, as a VOTable to upload.
TARGETS = b"""<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
<RESOURCE><TABLE>
<FIELD name="id" datatype="int"/>
<FIELD name="name" datatype="char" arraysize="*"/>
<DATA><TABLEDATA>
<TR><TD>91262</TD><TD>vega</TD></TR>
<TR><TD>32349</TD><TD>sirius</TD></TR>
</TABLEDATA></DATA>
</TABLE></RESOURCE>
</VOTABLE>
"""
JOIN_TARGETS = ("SELECT u.name, m.hip FROM TAP_UPLOAD.t AS u JOIN hip.main AS m "
                "ON m.hip = u.id ORDER BY m.hip")
JOINED = [("sirius", 32349), ("vega", 91262)]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """The demo catalog with the job system configured: owners from the
    X-Remote-User header, queues short (4 workers) and long (1 worker)."""
    config = jobs_config(tmp_path_factory.mktemp("config") / "corvus.toml")
    with running_service("--config", config) as url:
        yield url


def someone():
    """An owner of this test's own, so that its job list holds its jobs only."""
    return "tester-" + uuid.uuid4().hex[:12]


def gauge(tap, name):
    text = requests.get(tap.removesuffix("/tap") + "/metrics", timeout=10).text
    return sum(int(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\d+)$", text, re.M))


def wait_for(condition, within, what):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {within} s")


@contextlib.contextmanager
def time_limit(seconds, what):
    """Fails the test when the block takes longer than `seconds`: astroquery
    polls a job that never ends for ever."""
    def expire(*_):
        raise TimeoutError(f"{what} took more than {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def csv_rows(body):
    lines = body.decode().splitlines()
    return lines[0].split(","), [line.split(",") for line in lines[1:]]


# pyvo ---------------------------------------------------------------------

def test_pyvo_run_async_returns_the_rows_of_a_sync_query(service):
    tap = pyvo.dal.TAPService(service)
    result = tap.run_async(QUICK, timeout=60)
    table = result.to_table()
    assert [int(h) for h in table["hip"]] == QUICK_HIPS
    assert str(table["ra"].unit) == "deg"
    sync = tap.run_sync(QUICK).to_table()
    assert list(table["ra"]) == list(sync["ra"]) and list(table["dec"]) == list(sync["dec"])


def test_pyvo_submit_run_wait_fetch_and_delete(service):
    tap = pyvo.dal.TAPService(service)
    job = tap.submit_job(QUICK, maxrec=5)
    try:
        assert job.url.startswith(service + "/async/")
        assert job.phase == "PENDING"
        assert job.uws_version == "1.1"
        job.run()
        job.wait(timeout=60)
        assert job.phase == "COMPLETED"
        result = job.fetch_result()
        assert [int(h) for h in result.to_table()["hip"]] == QUICK_HIPS[:5]
        assert result.query_status == "OVERFLOW"
        assert job.job_id in [j.jobid for j in tap.get_job_list(phases=["COMPLETED"])]
        assert job.job_id not in [j.jobid for j in tap.get_job_list(phases=["PENDING"])]
    finally:
        url = job.url
        job.delete()
    assert requests.get(url, timeout=30).status_code == 404
    assert requests.get(url + "/results/result", timeout=30).status_code == 404
    assert url.rsplit("/", 1)[1] not in [j.jobid for j in tap.get_job_list()]


def test_pyvo_changes_a_pending_job_before_running_it(service):
    tap = pyvo.dal.TAPService(service)
    job = tap.submit_job("SELECT TOP 1 hip FROM hip.main")
    try:
        job.query = QUICK  # POST QUERY to /parameters
        assert job.query == QUICK
        job.execution_duration = 30  # POST to /executionduration
        assert round(job.execution_duration.sec) == 30
        job.execution_duration = 10 ** 9  # beyond the short queue's limit: clamped to it
        assert round(job.execution_duration.sec) == 60
        job.run().wait(timeout=60)
        assert [int(h) for h in job.fetch_result().to_table()["hip"]] == QUICK_HIPS
    finally:
        job.delete()


def test_pyvo_aborts_a_running_job_and_its_query_stops(service):
    tap = pyvo.dal.TAPService(service)
    job = tap.submit_job(SLOW, queue="short")  # extra keywords are job parameters
    try:
        job.run()
        job.wait(phases=["EXECUTING"], timeout=30)
        wait_for(lambda: gauge(service, "corvus_queries_running") >= 1, 15, "the job's query running")
        started = time.monotonic()
        job.abort()
        wait_for(lambda: job.phase == "ABORTED", 5, "the job ABORTED")
        wait_for(lambda: gauge(service, "corvus_queries_running") == 0, 10, "its query stopped")
        assert time.monotonic() - started < 10
        time.sleep(1)
        assert job.phase == "ABORTED"
    finally:
        requests.post(job.url + "/phase", data={"PHASE": "ABORT"}, timeout=30)
        job.delete()


def test_pyvo_uploads_a_table_to_an_async_job(service, tmp_path):
    path = tmp_path / "targets.vot"
    path.write_bytes(TARGETS)
    tap = pyvo.dal.TAPService(service)
    table = tap.run_async(JOIN_TARGETS, uploads={"t": str(path)}, timeout=60).to_table()
    assert [(str(n), int(h)) for n, h in zip(table["name"], table["hip"])] == JOINED
    # Created now, run later: the service keeps the uploaded table with the job.
    job = tap.submit_job(JOIN_TARGETS, uploads={"t": str(path)})
    try:
        job.run().wait(timeout=60)
        table = job.fetch_result().to_table()
        assert [(str(n), int(h)) for n, h in zip(table["name"], table["hip"])] == JOINED
    finally:
        job.delete()


# astroquery ---------------------------------------------------------------

def test_astroquery_tapplus_launch_job_async(service, tmp_path, monkeypatch):
    from astroquery.utils.tap.core import TapPlus
    monkeypatch.chdir(tmp_path)  # TapPlus may write result files in the working directory
    # With the TAP URL it splits off /tap as its server context and posts to
    # /tap/async with PHASE=RUN, then polls /phase and reads /results/result.
    tap = TapPlus(url=service)
    with time_limit(60, "launch_job_async"):
        job = tap.launch_job_async(QUICK)
        table = job.get_results()
    assert [int(h) for h in table["hip"]] == QUICK_HIPS
    assert job.get_phase(update=True) == "COMPLETED"
    doc = Jobs(service).xml(f"{service}/async/{job.jobid}")
    params = {p.get("id").lower(): p.text for p in doc.findall("uws:parameters/uws:parameter", NS)}
    assert params["query"] == QUICK


def test_astroquery_uploads_a_table_to_an_async_job(service, tmp_path, monkeypatch):
    from astroquery.utils.tap.core import TapPlus
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "targets.vot"
    path.write_bytes(TARGETS)
    with time_limit(60, "launch_job_async with an upload"):
        job = TapPlus(url=service).launch_job_async(JOIN_TARGETS, upload_resource=str(path),
                                                    upload_table_name="t")
        table = job.get_results()
    assert [(str(n), int(h)) for n, h in zip(table["name"], table["hip"])] == JOINED


# uws-client ---------------------------------------------------------------

def uws(service, *args, cwd=None, fails=False):
    """Runs `uws -H <service>/async ARGS`; it reports errors on stdout and
    exits 0 anyway, so success is the absence of its error line."""
    assert UWS.exists(), f"uws-client is missing ({UWS}): run scripts/install-uws-client {UWS_VENV}"
    # No controlling terminal, so that its table width comes from COLUMNS.
    out = subprocess.run([str(UWS), "-H", service + "/async", *args], cwd=cwd, capture_output=True,
                         text=True, timeout=120, start_new_session=True,
                         env={**os.environ, "COLUMNS": "250", "LINES": "50"})
    assert out.returncode == 0, out.stdout + out.stderr
    failed = "An error occurred" in out.stdout
    assert failed == fails, out.stdout + out.stderr
    return out.stdout


def shown_phase(text):
    m = re.search(r"^\s*Phase\s+([A-Z]+)\s*$", text, re.M)
    assert m, text
    return m.group(1)


def listed_phase(text, jid):
    lines = [line for line in text.splitlines() if re.search(rf"(^|\s){re.escape(jid)}(\s|$)", line)]
    return lines[0].split()[-1] if lines else None


def test_uws_client_creates_runs_waits_downloads_and_deletes_a_job(service, tmp_path):
    created = uws(service, "job", "new", "LANG=ADQL", f"QUERY={QUICK}", "RESPONSEFORMAT=csv")
    jid = re.search(r"^Job ID: (\S+)$", created, re.M).group(1)
    assert shown_phase(created) == "PENDING"
    assert re.search(r"^\s*Parameter query\s+SELECT hip, ra, dec FROM hip.main", created, re.M | re.I), created
    assert listed_phase(uws(service, "list"), jid) == "PENDING"
    assert listed_phase(uws(service, "list", "--pending"), jid) == "PENDING"
    assert uws(service, "job", "phase", jid).strip() == "PENDING"

    assert shown_phase(uws(service, "job", "run", jid)) in {"QUEUED", "EXECUTING", "COMPLETED"}
    for _ in range(6):  # each `show --wait` returns at a change of phase
        shown = uws(service, "job", "show", jid, "--wait", "30")
        if shown_phase(shown) not in {"QUEUED", "EXECUTING"}:
            break
    assert shown_phase(shown) == "COMPLETED", shown
    assert re.search(rf"^\s*Result result\s+{re.escape(service)}/async/{jid}/results/result\s*$", shown, re.M), shown
    assert listed_phase(uws(service, "list", "--completed"), jid) == "COMPLETED"
    assert listed_phase(uws(service, "list", "--pending"), jid) is None
    last = uws(service, "list", "--last", "1")
    assert listed_phase(last, jid) == "COMPLETED" and "1 jobs listed." in last, last

    downloaded = uws(service, "job", "results", jid, "-f", "stars", cwd=tmp_path)
    assert "Finished downloading file 'stars.result'" in downloaded, downloaded
    header, rows = csv_rows((tmp_path / "stars.result").read_bytes())
    assert header == ["hip", "ra", "dec"] and [int(r[0]) for r in rows] == QUICK_HIPS

    assert f"Job {jid} successfully deleted!" in uws(service, "job", "delete", jid)
    gone = uws(service, "job", "show", jid, fails=True)
    assert "Resource does not exist" in gone
    assert listed_phase(uws(service, "list"), jid) is None


def test_uws_client_runs_at_creation_and_shows_the_error(service):
    created = uws(service, "job", "new", "--run", "LANG=ADQL", "QUERY=SELECT raa FROM hip.main")
    jid = re.search(r"^Job ID: (\S+)$", created, re.M).group(1)
    try:
        assert shown_phase(created) in {"QUEUED", "EXECUTING", "ERROR"}
        for _ in range(6):
            shown = uws(service, "job", "show", jid, "--wait", "30")
            if shown_phase(shown) not in {"QUEUED", "EXECUTING"}:
                break
        assert shown_phase(shown) == "ERROR", shown
        assert re.search(r"^\s*Errors\s+.*no column 'raa' in hip\.main", shown, re.M), shown
        assert listed_phase(uws(service, "list", "--error"), jid) == "ERROR"
    finally:
        uws(service, "job", "delete", jid)


def test_uws_client_changes_a_pending_job_and_aborts_it_running(service):
    created = uws(service, "job", "new", "LANG=ADQL", "QUERY=SELECT TOP 1 hip FROM hip.main", "QUEUE=short")
    jid = re.search(r"^Job ID: (\S+)$", created, re.M).group(1)
    try:
        changed = uws(service, "job", "set", jid, f"QUERY={SLOW}")
        assert shown_phase(changed) == "PENDING"
        assert re.search(r"^\s*Parameter query\s+SELECT COUNT\(\*\) AS n FROM hip\.main AS a JOIN", changed,
                         re.M | re.I), changed
        uws(service, "job", "run", jid)
        shown = uws(service, "job", "show", jid, "--wait", "30", "--phase", "QUEUED")
        assert shown_phase(shown) == "EXECUTING", shown
        started = time.monotonic()
        # It posts PHASE=ABORT to the job itself (not to /phase), then shows the job.
        assert shown_phase(uws(service, "job", "abort", jid)) in {"EXECUTING", "ABORTED"}
        shown = uws(service, "job", "show", jid, "--wait", "10", "--phase", "EXECUTING")
        assert shown_phase(shown) == "ABORTED" and time.monotonic() - started < 10, shown
    finally:
        requests.post(f"{service}/async/{jid}/phase", data={"PHASE": "ABORT"}, timeout=30)
        uws(service, "job", "delete", jid)


# Raw HTTP -----------------------------------------------------------------

def test_wait_blocks_until_the_phase_changes_and_no_longer(service):
    owner = someone()
    jobs, other = Jobs(service, owner), Jobs(service, owner)
    job = jobs.create(SLOW, QUEUE="short")
    try:
        def later(action):
            timer = threading.Timer(1.0, action, args=(job,))
            timer.start()
            return timer

        # A PENDING job: the long poll returns when RUN, posted 1 s later, moves it.
        timer = later(other.run)
        started = time.monotonic()
        doc = jobs.xml(job, WAIT=30)
        took = time.monotonic() - started
        timer.join()
        assert job_phase(doc) in {"QUEUED", "EXECUTING"}
        assert 0.8 <= took < 8, f"WAIT=30 returned after {took:.1f} s"
        jobs.wait(job, "EXECUTING", within=30)

        # At most WAIT seconds, even when nothing changes.
        started = time.monotonic()
        doc = jobs.xml(job, WAIT=2)
        took = time.monotonic() - started
        assert job_phase(doc) == "EXECUTING" and took < 8, f"WAIT=2 returned after {took:.1f} s"

        # PHASE names a phase the job is not in: no waiting at all.
        started = time.monotonic()
        doc = jobs.xml(job, WAIT=30, PHASE="QUEUED")
        took = time.monotonic() - started
        assert job_phase(doc) == "EXECUTING" and took < 1.5, f"WAIT=30&PHASE=QUEUED took {took:.1f} s"

        # WAIT=-1 waits for the change however long it takes: an abort 1 s later.
        timer = later(other.abort)
        started = time.monotonic()
        doc = jobs.xml(job, WAIT=-1)
        took = time.monotonic() - started
        timer.join()
        assert job_phase(doc) == "ABORTED" and 0.8 <= took < 8, f"WAIT=-1 returned after {took:.1f} s"

        # A job in a final phase never blocks.
        started = time.monotonic()
        doc = jobs.xml(job, WAIT=30)
        assert job_phase(doc) == "ABORTED" and time.monotonic() - started < 1.5
    finally:
        jobs.cleanup(job)


def test_job_list_filters_by_phase_creation_time_and_recency(service):
    jobs = Jobs(service, someone())
    first = jobs.create(QUICK)
    time.sleep(1.1)  # creation times a second apart, whatever their precision
    second = jobs.create(QUICK, run=True)
    jobs.wait(second, "COMPLETED")
    time.sleep(1.1)
    third = jobs.create(QUICK)
    a, b, c = map(job_id, (first, second, third))

    listing = jobs.listing()
    assert listing.tag == "{%s}jobs" % NS["uws"] and listing.get("version") == "1.1"
    refs = {ref.get("id"): ref for ref in listing.findall("uws:jobref", NS)}
    assert set(refs) == {a, b, c}
    assert refs[b].get(HREF) == second and refs[a].get(HREF) == first
    assert {i: job_phase(r) for i, r in refs.items()} == {a: "PENDING", b: "COMPLETED", c: "PENDING"}

    assert set(jobs.ids(PHASE="PENDING")) == {a, c}
    assert set(jobs.ids(PHASE="COMPLETED")) == {b}
    assert set(jobs.ids(PHASE=["PENDING", "COMPLETED"])) == {a, b, c}
    assert jobs.ids(PHASE="EXECUTING") == []
    assert jobs.ids(LAST=2) == [c, b]  # the most recent, newest first
    assert jobs.ids(LAST=1, PHASE="PENDING") == [c]
    created = jobs.xml(first).findtext("uws:creationTime", namespaces=NS)
    assert created
    assert set(jobs.ids(AFTER=created)) == {b, c}
    created = jobs.xml(third).findtext("uws:creationTime", namespaces=NS)
    assert jobs.ids(AFTER=created) == []


def test_owners_see_only_their_own_jobs(service):
    alice, bob, anonymous = Jobs(service, someone()), Jobs(service, someone()), Jobs(service)
    job = alice.create(QUICK, run=True, RESPONSEFORMAT="csv")
    alice.wait(job, "COMPLETED")
    assert alice.xml(job).findtext("uws:ownerId", namespaces=NS) == alice.session.headers["X-Remote-User"]
    assert alice.get(job + "/owner").text.strip() == alice.session.headers["X-Remote-User"]
    for other in (bob, anonymous):
        for child in ("", "/phase", "/parameters", "/results", "/results/result", "/owner"):
            r = other.get(job + child)
            assert r.status_code == 404, (child, r.status_code)
        assert job_id(job) not in other.ids()
        assert other.post(job + "/phase", data={"PHASE": "ABORT"}).status_code == 404
        assert other.post(job, data={"ACTION": "DELETE"}).status_code == 404
        assert other.session.delete(job, allow_redirects=False, timeout=30).status_code == 404
    assert alice.phase(job) == "COMPLETED"
    assert alice.ids() == [job_id(job)]
    assert [int(r[0]) for r in csv_rows(alice.result(job).content)[1]] == QUICK_HIPS
    anonymous_job = anonymous.create(QUICK)
    try:
        assert anonymous.phase(anonymous_job) == "PENDING"
        assert alice.get(anonymous_job).status_code == 404
        assert job_id(anonymous_job) not in alice.ids()
    finally:
        anonymous.delete(anonymous_job)


def test_the_result_answers_range_requests(service):
    jobs = Jobs(service, someone())
    job = jobs.create("SELECT TOP 500 hip, ra, dec, hpmag FROM hip.main ORDER BY hip",
                      run=True, RESPONSEFORMAT="csv")
    jobs.wait(job, "COMPLETED")
    full = jobs.result(job)
    assert full.headers["Content-Type"].startswith("text/csv")
    body = full.content
    header, rows = csv_rows(body)
    assert header == ["hip", "ra", "dec", "hpmag"] and len(rows) == 500
    result = jobs.xml(job).find("uws:results/uws:result", NS)
    assert result.get("id") == "result"
    assert result.get(HREF) == job + "/results/result"
    assert result.get("size") == str(len(body))
    n = len(body)
    for asked, start, end in [("bytes=100-199", 100, 199), ("bytes=-50", n - 50, n - 1),
                              (f"bytes={n - 120}-", n - 120, n - 1), ("bytes=0-0", 0, 0)]:
        part = jobs.session.get(job + "/results/result", timeout=60,
                                headers={"Range": asked, "Accept-Encoding": "identity"})
        assert part.status_code == 206, (asked, part.status_code)
        assert part.headers["Content-Range"] == f"bytes {start}-{end}/{n}", asked
        assert part.content == body[start:end + 1], asked
    beyond = jobs.session.get(job + "/results/result", timeout=60,
                              headers={"Range": f"bytes={n + 10}-", "Accept-Encoding": "identity"})
    assert beyond.status_code == 416
    assert beyond.headers.get("Content-Range") == f"bytes */{n}"


def test_an_inline_upload_in_a_multipart_creation(service):
    jobs = Jobs(service, someone())
    job = jobs.create(JOIN_TARGETS, run=True, RESPONSEFORMAT="csv", UPLOAD="t,param:t",
                      files={"t": ("targets.vot", TARGETS, "application/x-votable+xml")})
    jobs.wait(job, "COMPLETED")
    header, rows = csv_rows(jobs.result(job).content)
    assert header == ["name", "hip"]
    assert [(name, int(hip)) for name, hip in rows] == JOINED


def test_a_completed_job_describes_itself(service):
    owner = someone()
    jobs = Jobs(service, owner)
    job = jobs.create(QUICK, run=True, RESPONSEFORMAT="csv", RUNID="my-run-7")
    jobs.wait(job, "COMPLETED")
    doc = jobs.xml(job)
    assert doc.tag == "{%s}job" % NS["uws"] and doc.get("version") == "1.1"
    text = {child: doc.findtext(f"uws:{child}", namespaces=NS)
            for child in ("jobId", "runId", "ownerId", "phase", "creationTime", "startTime", "endTime",
                          "executionDuration", "destruction", "quote")}
    assert text["jobId"] == job_id(job) and text["runId"] == "my-run-7" and text["ownerId"] == owner
    assert text["phase"] == "COMPLETED"
    assert text["creationTime"] <= text["startTime"] <= text["endTime"], text
    assert int(text["executionDuration"]) == 60  # the short queue's limit
    # Each child is a resource of its own, in plain text.
    assert jobs.phase(job) == "COMPLETED"
    assert jobs.get(job + "/executionduration").text.strip() == text["executionDuration"]
    assert jobs.get(job + "/destruction").text.strip() == (text["destruction"] or "")
    assert jobs.get(job + "/owner").text.strip() == owner
    quote = jobs.get(job + "/quote")
    assert quote.status_code == 200 and quote.text.strip() == (text["quote"] or "")
    params = {p.get("id").lower(): p.text for p in doc.findall("uws:parameters/uws:parameter", NS)}
    assert params["query"] == QUICK and params["lang"] == "ADQL" and params["responseformat"] == "csv"
    for child in ("parameters", "results"):
        assert jobs.xml(f"{job}/{child}").tag == "{%s}%s" % (NS["uws"], child)
    result = doc.find("uws:results/uws:result", NS)
    size = str(len(jobs.result(job).content))
    assert result.get("size") == size
    info = doc.find(INFO_RESULT, NS)
    assert (info.get("rows"), info.get("bytes"), info.get("overflow")) == ("10", size, "false")
    assert doc.findtext(INFO_QUEUE, namespaces=NS) == "short"
    progress = doc.find(INFO_PROGRESS, NS)
    assert progress is not None, f"no {INFO_PROGRESS}"
    assert int(progress.get("rowsEstimated")) >= 10


def test_a_failing_query_puts_the_job_in_error_with_a_dali_document(service, tmp_path):
    jobs = Jobs(service, someone())
    job = jobs.create("SELECT raa FROM hip.main", run=True)
    jobs.wait(job, "ERROR")
    summary = jobs.xml(job).find("uws:errorSummary", NS)
    assert summary is not None and summary.get("type") in {"fatal", "transient"}
    assert "no column 'raa' in hip.main" in summary.findtext("uws:message", namespaces=NS)
    error = jobs.get(job + "/error")
    assert error.status_code == 200
    validate(tmp_path, "error.vot", error.content)
    status = [info for info in ET.fromstring(error.content).iter()
              if info.tag.endswith("INFO") and info.get("name") == "QUERY_STATUS"]
    assert [info.get("value") for info in status] == ["ERROR"], error.text
    assert "no column 'raa' in hip.main" in status[0].text and "did you mean 'ra'" in status[0].text
    assert jobs.get(job + "/results/result").status_code == 404


def test_job_documents_validate_against_the_uws_schema(service, tmp_path):
    jobs = Jobs(service, someone())
    pending = jobs.create(QUICK)
    done = jobs.create(QUICK, run=True)
    failed = jobs.create("SELECT nothere FROM hip.main", run=True)
    jobs.wait(done, "COMPLETED")
    jobs.wait(failed, "ERROR")
    aborted = jobs.create(QUICK)
    jobs.abort(aborted)
    for name, url in [("pending", pending), ("completed", done), ("error", failed), ("aborted", aborted),
                      ("list", jobs.url), ("list-completed", jobs.url + "?PHASE=COMPLETED&LAST=5"),
                      ("parameters", done + "/parameters"), ("results", done + "/results")]:
        r = jobs.get(url)
        assert r.status_code == 200, (name, r.status_code)
        validate(tmp_path, name + ".xml", r.content)
    assert jobs.phase(aborted) == "ABORTED"


@skip_where_all_queries_ship
def test_queues_run_side_by_side_and_the_long_one_in_turn(service):
    jobs = Jobs(service, someone())
    first = jobs.create(SLOW, run=True, QUEUE="long")
    second = jobs.create(SLOW, run=True, QUEUE="long")
    try:
        jobs.wait(first, "EXECUTING", within=30)
        assert jobs.phase(second) == "QUEUED"  # the long queue has one worker
        quick = jobs.create(QUICK, run=True)  # the short queue, by default
        jobs.wait(quick, "COMPLETED", within=30)
        assert jobs.phase(second) == "QUEUED"
        jobs.abort(first)
        jobs.wait(second, "EXECUTING", within=15)
        jobs.abort(second)
        jobs.wait(second, "ABORTED", within=10)
        assert jobs.phase(first) == "ABORTED"
    finally:
        jobs.cleanup(first, second)
    r = jobs.post(jobs.url, data={"LANG": "ADQL", "QUERY": QUICK, "QUEUE": "nope"})
    assert r.status_code == 400 and "nope" in r.text, (r.status_code, r.text)
    assert jobs.ids(PHASE=["PENDING", "QUEUED"]) == []
    queue = {job: jobs.xml(job).findtext(INFO_QUEUE, namespaces=NS) for job in (first, second, quick)}
    assert queue == {first: "long", second: "long", quick: "short"}


def test_an_executing_job_reports_its_progress(service):
    jobs = Jobs(service, someone())
    job = jobs.create(SLOW, run=True, QUEUE="short")
    try:
        jobs.wait(job, "EXECUTING", within=30)

        def progress():
            p = jobs.xml(job).find(INFO_PROGRESS, NS)
            assert p is not None, f"no {INFO_PROGRESS}"
            return int(p.get("rowsRead")), int(p.get("rowsEstimated"))

        read, estimated = progress()
        assert estimated > 10 ** 10  # the pairs of 117,955 stars: 1.4e10
        if ON_CLUSTER:
            # A cluster's scheduler counts the rows its scans read as their
            # tasks end; the pairs a join compares on a worker are not seen.
            wait_for(lambda: progress()[0] >= 117955, 15, "rowsRead reaching the stars read")
        else:
            # How far it got of the estimate grows while it executes (within
            # 15 s of a job of minutes).
            wait_for(lambda: progress()[0] > max(read, 2 * 117955), 15, "rowsRead growing past the stars read")
        assert progress()[0] <= estimated
    finally:
        jobs.cleanup(job)


def test_deleting_a_job_removes_it_and_stops_its_query(service):
    jobs = Jobs(service, someone())
    pending = jobs.create(QUICK)
    done = jobs.create(QUICK, run=True)
    # Done before the slow one starts: on a cluster that takes every query,
    # a quick job started beside it may wait behind it on the workers.
    jobs.wait(done, "COMPLETED")
    running = jobs.create(SLOW, run=True, QUEUE="short")
    try:
        r = jobs.post(pending, data={"ACTION": "DELETE"})
        assert r.status_code == 303 and r.headers["Location"] == jobs.url
        assert jobs.get(pending).status_code == 404
        jobs.delete(done)
        assert jobs.get(done).status_code == 404
        assert jobs.get(done + "/results/result").status_code == 404
        jobs.wait(running, "EXECUTING", within=30)
        jobs.delete(running)
        assert jobs.get(running).status_code == 404
        wait_for(lambda: gauge(service, "corvus_queries_running") == 0, 10, "the deleted job's query stopped")
        assert jobs.ids() == []
    finally:
        jobs.cleanup(running)


@pytest.fixture(scope="module")
def limited_service(tmp_path_factory):
    """A service whose owners may have 2 active jobs, and whose short queue
    stops a job after 2 s."""
    config = jobs_config(tmp_path_factory.mktemp("limited") / "corvus.toml", max_active=2, short_seconds=2)
    with running_service("--config", config) as url:
        yield url


@skip_where_all_queries_ship
def test_an_owner_may_have_so_many_active_jobs(limited_service):
    greedy, modest = Jobs(limited_service, someone()), Jobs(limited_service, someone())
    first = greedy.create(SLOW, run=True, QUEUE="long")
    second = greedy.create(SLOW, run=True, QUEUE="long")
    try:
        refused = greedy.post(greedy.url, data={"LANG": "ADQL", "QUERY": QUICK, "PHASE": "RUN"})
        assert refused.status_code == 403, (refused.status_code, refused.text)
        assert re.search(r"\b2\b", refused.text), refused.text  # the limit's value
        pending = greedy.create(QUICK)  # a PENDING job is not active
        assert greedy.post(pending + "/phase", data={"PHASE": "RUN"}).status_code == 403
        assert greedy.phase(pending) == "PENDING"
        other = modest.create(QUICK, run=True)  # the limit is each owner's
        modest.wait(other, "COMPLETED")
        greedy.abort(first)
        greedy.wait(first, "ABORTED", within=10)
        greedy.run(pending)
        greedy.wait(pending, "COMPLETED")
    finally:
        greedy.cleanup(first, second)


def test_a_job_over_its_queue_time_limit_ends_in_error(limited_service):
    jobs = Jobs(limited_service, someone())
    job = jobs.create(SLOW, run=True, QUEUE="short")
    try:
        started = time.monotonic()
        jobs.wait(job, "ERROR", within=30)
        assert time.monotonic() - started < 20
        doc = jobs.xml(job)
        assert doc.findtext("uws:executionDuration", namespaces=NS) == "2"
        message = doc.findtext("uws:errorSummary/uws:message", namespaces=NS)
        assert message and "2 s" in message, message  # the limit, with its value
    finally:
        jobs.cleanup(job)
