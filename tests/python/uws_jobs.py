"""A small raw-HTTP client of a TAP service's /async job list (UWS 1.1), for
the tests: it checks what every UWS client relies on (303 with an absolute
Location, job ids a client can parse) on each call, so that the tests
themselves say only what they are about."""
import re
import subprocess
import time
import xml.etree.ElementTree as ET

import requests

from conftest import ROOT

NS = {
    "uws": "http://www.ivoa.net/xml/UWS/v1.0",
    "xlink": "http://www.w3.org/1999/xlink",
}
HREF = "{%s}href" % NS["xlink"]
# Corvus's own job information in jobInfo (UWS 1.1 §2.2.2.2 leaves it open),
# as elements in no namespace: a namespace of Corvus's own has no schema for
# validators to load, and taplint warns of it.
INFO_QUEUE = "uws:jobInfo/queue"  # <queue>short</queue>
INFO_PROGRESS = "uws:jobInfo/progress"  # <progress rowsRead=".." rowsEstimated=".."/>
INFO_RESULT = "uws:jobInfo/result"  # <result rows="10" bytes=".." overflow="false"/>
OWNER_HEADER = "X-Remote-User"
VALIDATE = ROOT / "tests" / "schemas" / "validate.sh"

# A self-join of the 117,955 Hipparcos stars on INTERSECTS of circles (which
# no crossmatch rewrite turns into a hash join): 1.4e10 pairs, a
# nested loop of several minutes, and not one row before the end (the same
# query as test_service_load.py's). Tests abort it when they are done.
SLOW = ("SELECT COUNT(*) AS n FROM hip.main AS a JOIN hip.main AS b "
        "ON 1 = INTERSECTS(CIRCLE('ICRS', a.ra, a.dec, 0.001), CIRCLE('ICRS', b.ra, b.dec, 0.001))")
# The first ten stars, quick in any queue.
QUICK = "SELECT hip, ra, dec FROM hip.main WHERE hip <= 10 ORDER BY hip"
FINAL = {"COMPLETED", "ERROR", "ABORTED"}

# Job configuration of the services these tests start: two queues, the long
# one with a single worker so that a second long job waits in line.
JOBS_CONFIG = """\
[jobs]
owner_header = "X-Remote-User"
max_active_per_owner = {max_active}
executing_on_restart = "{on_restart}"

[[jobs.queues]]
name = "short"
workers = {short_workers}
max_seconds = {short_seconds}

[[jobs.queues]]
name = "long"
workers = 1
max_seconds = 86400
"""


def jobs_config(path, *, max_active=100, on_restart="requeue", short_workers=4, short_seconds=60):
    path.write_text(JOBS_CONFIG.format(max_active=max_active, on_restart=on_restart,
                                       short_workers=short_workers, short_seconds=short_seconds))
    return path


class Jobs:
    """/async of the TAP service at `tap`, as `owner` (the header a fronting
    proxy sets) or anonymously."""

    def __init__(self, tap, owner=None):
        self.tap = tap
        self.url = tap + "/async"
        self.session = requests.Session()
        if owner is not None:
            self.session.headers[OWNER_HEADER] = owner

    def post(self, url, data=None, files=None, **kw):
        return self.session.post(url, data=data, files=files, allow_redirects=False, timeout=60, **kw)

    def create(self, query=None, *, run=False, files=None, **params):
        """Creates a job (PHASE=RUN too with run=True); returns its URL."""
        data = {"LANG": "ADQL", **params}
        if query is not None:
            data["QUERY"] = query
        if run:
            data["PHASE"] = "RUN"
        r = self.post(self.url, data=data, files=files)
        assert r.status_code == 303, (r.status_code, r.text[:2000])
        location = r.headers["Location"]
        assert location.startswith(self.url + "/"), f"Location {location!r} is not an absolute job URL"
        job_id = location[len(self.url) + 1:]
        # UWS clients (uws-client among them) take the id from the URL and
        # strip leading lower-case scheme letters: ids begin with a digit or
        # an upper-case letter.
        assert re.fullmatch(r"[0-9A-Z][0-9A-Za-z._~-]*", job_id), job_id
        return location

    def get(self, url, **params):
        return self.session.get(url, params=params, timeout=120)

    def xml(self, job, **params):
        r = self.get(job, **params)
        assert r.status_code == 200, (job, r.status_code, r.text[:2000])
        return ET.fromstring(r.content)

    def phase(self, job):
        r = self.get(job + "/phase")
        assert r.status_code == 200, (job, r.status_code, r.text[:2000])
        return r.text.strip()

    def change_phase(self, job, phase):
        r = self.post(job + "/phase", data={"PHASE": phase})
        assert r.status_code == 303, (job, phase, r.status_code, r.text[:2000])
        assert r.headers["Location"] == job
        return r

    def run(self, job):
        return self.change_phase(job, "RUN")

    def abort(self, job):
        return self.change_phase(job, "ABORT")

    def delete(self, job):
        r = self.session.delete(job, allow_redirects=False, timeout=60)
        assert r.status_code == 303, (job, r.status_code, r.text[:2000])
        assert r.headers["Location"] == self.url
        return r

    def wait(self, job, phases, within=60):
        """Waits (UWS 1.1 long polls) until the job's phase is one of
        `phases`; returns it, or fails naming the last phase seen."""
        phases = {phases} if isinstance(phases, str) else set(phases)
        deadline = time.monotonic() + within
        phase = None
        while time.monotonic() < deadline:
            wait = max(1, min(5, int(deadline - time.monotonic())))
            started = time.monotonic()
            phase = job_phase(self.xml(job, WAIT=wait))
            if phase in phases:
                return phase
            if phase in FINAL:
                break
            if time.monotonic() - started < 0.2:  # a service that did not block
                time.sleep(0.2)
        error = self.xml(job).findtext("uws:errorSummary/uws:message", namespaces=NS) or ""
        raise AssertionError(f"{job} is {phase}, not {sorted(phases)}, after {within} s {error}".rstrip())

    def result(self, job, headers=None):
        """The result document as stored (no transfer encoding)."""
        h = {"Accept-Encoding": "identity", **(headers or {})}
        r = self.session.get(job + "/results/result", headers=h, timeout=120)
        assert r.status_code == 200, (job, r.status_code, r.text[:2000])
        return r

    def ids(self, **filters):
        """The job ids the list gives, in its order (PHASE may be a list)."""
        return [ref.get("id") for ref in self.listing(**filters).findall("uws:jobref", NS)]

    def listing(self, **filters):
        r = self.get(self.url, **filters)
        assert r.status_code == 200, (r.status_code, r.text[:2000])
        return ET.fromstring(r.content)

    def cleanup(self, *jobs):
        """Aborts whatever of `jobs` still runs (best effort, for finally)."""
        for job in jobs:
            try:
                self.post(job + "/phase", data={"PHASE": "ABORT"})
            except requests.RequestException:
                pass


def job_id(url):
    return url.rsplit("/", 1)[1]


def job_phase(doc):
    return doc.findtext("uws:phase", namespaces=NS)


def validate(tmp_path, name, body):
    """Validates a document with tests/schemas/validate.sh; fails with its report."""
    f = tmp_path / name
    f.write_bytes(body)
    out = subprocess.run(["bash", str(VALIDATE), str(f)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
