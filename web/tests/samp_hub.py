#!/usr/bin/env python3
"""A real SAMP hub with the Web Profile, and a real client that receives tables.

For the end-to-end test of the web interface's "Send to TOPCAT/Aladin"
button (web/src/samp.ts). Run it with the project's Python, which has
pyvo (pyvo.samp; astropy.samp, deprecated since astropy 8.0, is the
fallback):

    ~/.cache/corvus/py/bin/python web/tests/samp_hub.py [--consent accept|refuse|ignore]
        [--no-receiver] [--ignore-stdin]

It starts SAMPHubServer with the Web Profile on the port SAMP 1.3
section 5 fixes, http://localhost:21012/, and a Standard Profile client
subscribed to table.load.votable, then writes one JSON object per line to
stdout (flushed), and nothing else:

    {"event": "ready", "web_profile": "http://localhost:21012/", "hub": ..., "client_id": ...}
    {"event": "consent", "name": "Corvus", "origin": "http://127.0.0.1:8123", "address": "127.0.0.1", "answer": "accept"}
    {"event": "received", "name": ..., "url": ..., "rows": N, "columns": [...], "sender": ..., "mtype": ...}
    {"event": "receive_failed", "url": ..., "message": ...}   (the table could not be fetched or parsed; keeps running)
    {"event": "stopped"}
    {"event": "error", "message": ...}                         (then exits 1)

It runs until standard input closes (or, with --ignore-stdin, until SIGTERM
or SIGINT), then stops the client and the hub. Logs and warnings go to
stderr.

The Web Profile asks the user to accept each web page that registers;
--consent answers that dialog: accept (the default), refuse, or ignore
(never answer, to test a page's timeout; the hub then blocks further web
registrations until it stops).

The hub's lockfile goes to a temporary directory, never ~/.samp: astropy
also deletes lockfiles of dead hubs under $HOME when a hub starts, so HOME
itself points to the temporary directory for this process, and SAMP_HUB is
ignored. The client connects with the hub's own parameters, not through a
lockfile.
"""

import argparse
import io
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import urllib.request
import warnings

WEB_PROFILE_PORT = 21012
WEB_PROFILE_URL = f"http://localhost:{WEB_PROFILE_PORT}/"

_print_lock = threading.Lock()


def emit(event, **fields):
    """One JSON line on stdout, flushed at once (a test reads them as they come)."""
    with _print_lock:
        sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
        sys.stdout.flush()


def fail(message):
    emit("error", message=message)
    sys.exit(1)


def port_is_free(port):
    """Whether the hub can bind localhost:port; astropy only warns when it cannot."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # The hub's server sets SO_REUSEADDR too: a socket in TIME_WAIT is no obstacle.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("localhost", port))
        except OSError:
            return False
    return True


class AutoConsent:
    """The hub's web_profile_dialog: answers every registration request itself.

    SAMPHubServer gives this object two queues when it starts
    (queue_request, queue_result). For each samp.webhub.register call, the
    hub thread serving it puts (identity_info, client_address, origin) on
    queue_request and blocks until True or False arrives on queue_result.
    A thread of ours takes the requests and answers them.
    """

    def __init__(self, answer):
        self.answer = answer
        self.queue_request = None  # set by SAMPHubServer.start()
        self.queue_result = None
        self._stop = threading.Event()
        self._unanswered = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="samp consent", daemon=True)

    def start(self):
        self._thread.start()

    def refuse_from_now_on(self):
        """Refuses the unanswered request and all later ones.

        Called before the hub stops: a hub thread still waiting for an
        answer would otherwise keep the hub, and so this process, from ending.
        """
        with self._lock:
            self.answer = "refuse"
            for _ in range(self._unanswered):
                self.queue_result.put(False)
            self._unanswered = 0

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self):
        import queue

        while not self._stop.is_set():
            try:
                identity, address, origin = self.queue_request.get(timeout=0.1)
            except queue.Empty:
                continue
            # SAMP 1.2 sent a bare name; 1.3 sends a map holding samp.name.
            name = identity if isinstance(identity, str) else identity.get("samp.name", "")
            with self._lock:
                emit("consent", name=name, origin=origin, address=address[0], answer=self.answer)
                if self.answer == "ignore":
                    self._unanswered += 1
                else:
                    self.queue_result.put(self.answer == "accept")


def describe_votable(url):
    """Downloads url and returns (rows, column names) of its first table."""
    from astropy.io import votable

    with urllib.request.urlopen(url, timeout=30) as response:
        data = response.read()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # VOTable spec nits are not this test's business
        table = votable.parse(io.BytesIO(data)).get_first_table()
    return len(table.array), [field.name for field in table.fields]


def start_receiver(client_class, hub_params):
    """A Standard Profile client subscribed to table.load.votable, like TOPCAT.

    For each table it is sent, it downloads samp.params.url, reads the
    VOTable and prints a "received" event with the row count and column
    names (or "receive_failed"). Calls (callAll) get a SAMP response too.
    """
    client = client_class(
        name="Corvus test receiver",
        description="Receives tables for the Corvus web interface's end-to-end test",
        addr="127.0.0.1",
    )
    client.connect(hub_params=hub_params)

    def receive(private_key, sender_id, msg_id, mtype, params, extra):
        url = params.get("url", "")
        try:
            rows, columns = describe_votable(url)
        except Exception as exc:  # report and keep running: the test decides
            emit("receive_failed", url=url, message=f"{type(exc).__name__}: {exc}")
            if msg_id is not None:
                client.reply(msg_id, {"samp.status": "samp.error", "samp.error": {"samp.errortxt": str(exc)}})
            return
        emit(
            "received",
            name=params.get("name"),
            url=url,
            table_id=params.get("table-id"),
            rows=rows,
            columns=columns,
            sender=sender_id,
            mtype=mtype,
        )
        if msg_id is not None:  # a call wants a response; a notification does not
            client.reply(msg_id, {"samp.status": "samp.ok", "samp.result": {}})

    client.bind_receive_message("table.load.votable", receive)
    return client


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--consent",
        choices=["accept", "refuse", "ignore"],
        default="accept",
        help="how to answer the Web Profile's registration dialog (default: accept)",
    )
    parser.add_argument(
        "--ignore-stdin",
        action="store_true",
        help="do not stop when standard input closes (for runs without one); stop on SIGTERM/SIGINT",
    )
    parser.add_argument(
        "--no-receiver",
        action="store_true",
        help="run the hub alone, with no client taking tables (to test a page's 'no application' message)",
    )
    args = parser.parse_args()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    workdir = hub = client = consent = None
    try:
        workdir = tempfile.mkdtemp(prefix="corvus-samp-hub-")
        # Before astropy is imported: it reads HOME for ~/.samp, ~/.samp-1 and its config.
        os.environ["HOME"] = workdir
        os.environ.pop("SAMP_HUB", None)
        lockfile = os.path.join(workdir, "samp-lockfile")

        if not port_is_free(WEB_PROFILE_PORT):
            fail(
                f"port {WEB_PROFILE_PORT} on localhost is taken (another SAMP hub, e.g. TOPCAT or Aladin, "
                "may be running): stop it and try again"
            )

        from astropy import log

        # astropy.samp is deprecated since astropy 8.0 in favour of pyvo.samp,
        # the same code moved; use pyvo's when it is installed.
        try:
            from pyvo.samp import SAMPHubServer, SAMPIntegratedClient, conf
        except ImportError:
            from astropy.samp import SAMPHubServer, SAMPIntegratedClient, conf

        log.setLevel("WARNING")  # astropy logs INFO to stdout, which is for JSON lines only
        conf.use_internet = False  # else hub and client each probe google.com to pick a host name

        consent = AutoConsent(args.consent)
        hub = SAMPHubServer(
            addr="127.0.0.1",
            lockfile=lockfile,
            web_profile=True,
            web_profile_dialog=consent,
            label="Corvus test hub",
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hub.start(wait=False)
        for w in caught:
            print(f"samp_hub.py: {w.category.__name__}: {w.message}", file=sys.stderr)
        # astropy only warns (and runs without the Web Profile) when the port is taken.
        if not getattr(hub, "_web_profile", False):
            fail(f"the hub could not listen on port {WEB_PROFILE_PORT}: {'; '.join(str(w.message) for w in caught)}")
        consent.start()

        if not args.no_receiver:
            client = start_receiver(SAMPIntegratedClient, hub.params)

        emit(
            "ready",
            web_profile=WEB_PROFILE_URL,
            hub=hub.params["samp.hub.xmlrpc.url"],
            client_id=client.get_public_id() if client is not None else None,
            samp_module=SAMPHubServer.__module__,
            lockfile=lockfile,
        )

        if not args.ignore_stdin:

            def watch_stdin():
                try:
                    while sys.stdin.buffer.read(4096):
                        pass
                except (OSError, ValueError):
                    pass
                stop.set()

            threading.Thread(target=watch_stdin, name="stdin watch", daemon=True).start()

        while not stop.wait(0.5):
            pass
    except SystemExit:
        raise
    except Exception as exc:
        emit("error", message=f"{type(exc).__name__}: {exc}")
        code = 1
    else:
        code = 0
    finally:
        if client is not None:
            try:
                client.disconnect()
            except Exception as exc:
                print(f"samp_hub.py: client disconnect: {exc}", file=sys.stderr)
        if consent is not None and consent.queue_result is not None:
            consent.refuse_from_now_on()
        if hub is not None:
            hub.stop()
        if consent is not None:
            consent.stop()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    if code == 0:
        emit("stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
