"""Jobs outlive the service: `corvus serve --data DIR` killed with SIGKILL
and started again on the same data directory finds every job as it was
(completed results byte for byte, errors, aborts, pending jobs), runs the
queued ones, and re-queues (or, if so configured, fails) the ones the kill
interrupted. `corvus jobs` reads and changes the same jobs from the command
line, with the service stopped or running."""
import re
import shutil
import subprocess
import time

import pytest

from conftest import CORVUS, ROOT, start_service
from uws_jobs import NS, QUICK, SLOW, Jobs, job_id, job_phase, jobs_config

DEMO = ROOT / "data" / "demo"
LONG_LINE = {"QUEUED", "EXECUTING"}


def cli(data, *args, check=True):
    out = subprocess.run([str(CORVUS), *map(str, args), "--data", str(data)],
                         capture_output=True, text=True, timeout=300)
    if check:
        assert out.returncode == 0, f"corvus {' '.join(map(str, args))} failed:\n{out.stdout}\n{out.stderr}"
    return out


@pytest.fixture(scope="module")
def hip_dir(tmp_path_factory):
    """A data directory with the demo catalog, ingested once for the module."""
    assert CORVUS.exists(), f"build corvus first ({CORVUS} is missing): run ./scripts/test"
    data = tmp_path_factory.mktemp("hip") / "data"
    cli(data, "ingest", DEMO / "hip2.dat.gz", "--meta", DEMO / "hipparcos.toml", "--table", "hip.main")
    return data


@pytest.fixture
def data_dir(hip_dir, tmp_path):
    """A copy of it of this test's own."""
    data = tmp_path / "data"
    shutil.copytree(hip_dir, data)
    return data


class Service:
    """`corvus serve --data DIR --config CFG`, killed at the end whatever happens."""

    def __init__(self, data, config):
        self.proc, self.url = start_service("--data", data, "--config", config, demo=False)

    def kill(self):
        """SIGKILL: no shutdown, no chance to write anything."""
        self.proc.kill()
        self.proc.wait(timeout=30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def line_of(listing, jid):
    """The line of `corvus jobs list` that names the job, or None."""
    lines = [line for line in listing.splitlines()
             if re.search(rf"(?<![\w-]){re.escape(jid)}(?![\w-])", line)]
    return lines[0] if lines else None


def rebase(service, *jobs):
    """Job URLs at `service`'s address: each argument a URL or a collection of URLs (a list then)."""
    def one(job):
        if isinstance(job, str):
            return f"{service.url}/async/{job_id(job)}"
        return [one(j) for j in job]
    return [one(job) for job in jobs]


def error_message(jobs, job):
    return jobs.xml(job).findtext("uws:errorSummary/uws:message", namespaces=NS)


def test_every_job_survives_a_killed_service(data_dir, tmp_path):
    config = jobs_config(tmp_path / "corvus.toml", on_restart="requeue", short_workers=2)
    with Service(data_dir, config) as service:
        anon, carol = Jobs(service.url), Jobs(service.url, "carol")
        completed = {anon.create(QUICK, run=True): anon,
                     carol.create(QUICK, run=True, RESPONSEFORMAT="csv"): carol,
                     anon.create(QUICK, run=True, RESPONSEFORMAT="parquet"): anon}
        doomed = anon.create(QUICK, run=True, RESPONSEFORMAT="csv")  # deleted with `corvus jobs delete`
        failed = anon.create("SELECT raa FROM hip.main", run=True)
        aborted = anon.create(QUICK)
        anon.abort(aborted)
        pending = anon.create(QUICK, RESPONSEFORMAT="csv")
        executing = anon.create(SLOW, run=True, QUEUE="long")
        anon.wait(executing, "EXECUTING", within=60)
        # Behind it in the long queue's single worker:
        queued_quick = anon.create(QUICK, run=True, QUEUE="long", RESPONSEFORMAT="csv")
        queued_slow = anon.create(SLOW, run=True, QUEUE="long")
        queued_doomed = anon.create(SLOW, run=True, QUEUE="long")  # aborted with `corvus jobs abort`
        for job, owner in completed.items():
            owner.wait(job, "COMPLETED")
        anon.wait(doomed, "COMPLETED")
        anon.wait(failed, "ERROR")
        results = {job: owner.result(job).content for job, owner in completed.items()}
        message = error_message(anon, failed)
        assert "no column 'raa'" in message
        phases = {job: anon.phase(job) for job in (aborted, pending, executing, queued_quick,
                                                   queued_slow, queued_doomed)}
        assert phases == {aborted: "ABORTED", pending: "PENDING", executing: "EXECUTING",
                          queued_quick: "QUEUED", queued_slow: "QUEUED", queued_doomed: "QUEUED"}
        service.kill()
    every = [*completed, doomed, failed, aborted, pending, executing, queued_quick, queued_slow, queued_doomed]

    # The service is down: the command line reads the jobs from the data directory.
    listing = cli(data_dir, "jobs", "list").stdout
    for job in every:
        assert line_of(listing, job_id(job)), f"{job_id(job)} not in `corvus jobs list`:\n{listing}"
    for job, phase in [(failed, "ERROR"), (aborted, "ABORTED"), (pending, "PENDING"),
                       *((job, "COMPLETED") for job in completed)]:
        assert phase in line_of(listing, job_id(job)), (phase, listing)
    listing = cli(data_dir, "jobs", "list", "--phase", "PENDING").stdout
    assert line_of(listing, job_id(pending)) and not line_of(listing, job_id(doomed)), listing
    csv_job = next(job for job, owner in completed.items() if owner is carol)
    listing = cli(data_dir, "jobs", "list", "--owner", "carol").stdout
    assert line_of(listing, job_id(csv_job)), listing
    assert not any(line_of(listing, job_id(job)) for job in every if job != csv_job), listing
    shown = cli(data_dir, "jobs", "show", job_id(pending)).stdout
    assert job_id(pending) in shown and "PENDING" in shown and QUICK in shown, shown
    shown = cli(data_dir, "jobs", "show", job_id(failed)).stdout
    assert "ERROR" in shown and "no column 'raa'" in shown, shown
    unknown = cli(data_dir, "jobs", "show", "NOSUCHJOB", check=False)
    assert unknown.returncode != 0 and "NOSUCHJOB" in unknown.stderr, unknown.stderr
    cli(data_dir, "jobs", "abort", job_id(queued_doomed))
    assert "ABORTED" in cli(data_dir, "jobs", "show", job_id(queued_doomed)).stdout
    assert (data_dir / "results" / job_id(doomed) / "result").exists()
    cli(data_dir, "jobs", "delete", job_id(doomed))
    assert not line_of(cli(data_dir, "jobs", "list").stdout, job_id(doomed))
    assert not (data_dir / "results" / job_id(doomed)).exists()
    for job, body in results.items():
        assert (data_dir / "results" / job_id(job) / "result").read_bytes() == body

    with Service(data_dir, config) as service:
        # The same jobs at the new service's address (its port is another).
        anon, carol = Jobs(service.url), Jobs(service.url, "carol")
        (completed, doomed, failed, aborted, pending, executing, queued_quick, queued_slow, queued_doomed,
         csv_job) = rebase(service, completed, doomed, failed, aborted, pending, executing, queued_quick,
                           queued_slow, queued_doomed, csv_job)
        results = {f"{service.url}/async/{job_id(job)}": body for job, body in results.items()}
        every = [*completed, doomed, failed, aborted, pending, executing, queued_quick, queued_slow,
                 queued_doomed]
        for job, body in results.items():
            jobs = carol if job == csv_job else anon
            assert jobs.phase(job) == "COMPLETED"
            assert jobs.result(job).content == body
            assert jobs.xml(job).find("uws:results/uws:result", NS).get("size") == str(len(body))
        assert anon.phase(failed) == "ERROR" and error_message(anon, failed) == message
        assert anon.phase(aborted) == "ABORTED"
        assert anon.phase(queued_doomed) == "ABORTED"
        assert anon.get(doomed).status_code == 404
        assert anon.phase(pending) == "PENDING"
        # The interrupted job is back in line; the long queue runs one of them.
        line = (executing, queued_quick, queued_slow)
        try:
            deadline = time.monotonic() + 30
            while True:
                phases = {job: anon.phase(job) for job in line}
                assert set(phases.values()) <= LONG_LINE | {"COMPLETED"}, phases
                assert phases[executing] in LONG_LINE and phases[queued_slow] in LONG_LINE, phases
                if list(phases.values()).count("EXECUTING") == 1:
                    break
                assert time.monotonic() < deadline, f"no job of the long queue runs: {phases}"
                time.sleep(0.2)
            # The command line works beside the running service.
            listing = cli(data_dir, "jobs", "list").stdout
            for job in every:
                assert bool(line_of(listing, job_id(job))) == (job != doomed), (job_id(job), listing)
            anon.abort(executing)
            anon.abort(queued_slow)
            anon.wait(queued_quick, "COMPLETED", within=60)
            assert anon.result(queued_quick).content == results[csv_job]
            assert anon.phase(queued_doomed) == "ABORTED"
            # The pending job kept its parameters: it runs now.
            anon.run(pending)
            anon.wait(pending, "COMPLETED")
            assert anon.result(pending).content == results[csv_job]
        finally:
            anon.cleanup(*line)


def test_with_executing_on_restart_error_the_interrupted_job_fails_saying_why(data_dir, tmp_path):
    config = jobs_config(tmp_path / "corvus.toml", on_restart="error")
    with Service(data_dir, config) as service:
        jobs = Jobs(service.url)
        executing = jobs.create(SLOW, run=True, QUEUE="long")
        jobs.wait(executing, "EXECUTING", within=60)
        queued = jobs.create(SLOW, run=True, QUEUE="long")
        pending = jobs.create(QUICK)
        assert jobs.phase(queued) == "QUEUED"
        service.kill()
    with Service(data_dir, config) as service:
        jobs = Jobs(service.url)
        executing, queued, pending = rebase(service, executing, queued, pending)
        try:
            doc = jobs.xml(executing)
            assert job_phase(doc) == "ERROR"
            message = doc.findtext("uws:errorSummary/uws:message", namespaces=NS)
            assert message and "restart" in message.lower(), message
            error = jobs.get(executing + "/error")
            assert error.status_code == 200 and "restart" in error.text.lower(), error.text
            # It was only waiting: it runs now.
            jobs.wait(queued, "EXECUTING", within=30)
            assert jobs.phase(pending) == "PENDING"
            assert "ERROR" in line_of(cli(data_dir, "jobs", "list").stdout, job_id(executing))
        finally:
            jobs.cleanup(executing, queued)
