"""Shared helpers for the kazoo scenario scripts run by test/zookeeper/kazoo.test.ts.

Every script takes the ensemble's ZooKeeper connect string as argv[1], runs named sections,
and prints one line `RESULT <json>` at the end: {"sections": {name: {...observations} or
{"error": "<traceback>"}}}. A section that raises records its traceback (also printed to
stderr) and the script goes on with the next one, so one failure does not hide the others.
"""
import json
import logging
import sys
import threading
import time
import traceback

from kazoo.client import KazooClient
from kazoo.retry import KazooRetry

logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                    format="%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s")

HOSTS = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:2181"
ROOT = sys.argv[2] if len(sys.argv) > 2 else "/kazoo"


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


def new_client(hosts=None, timeout=10.0, start=True, **kw):
    """A KazooClient that retries forever (bounded by the scripts' own deadlines)."""
    retry = dict(max_tries=-1, delay=0.05, backoff=2, max_delay=0.5)
    c = KazooClient(hosts=hosts or HOSTS, timeout=timeout,
                    connection_retry=KazooRetry(**retry),
                    command_retry=KazooRetry(deadline=30, **retry), **kw)
    if start:
        c.start(timeout=20)
    return c


def wait_for(cond, timeout=10.0, what="condition", interval=0.02):
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def err_name(e):
    return None if e is None else type(e).__name__


def call_err(fn, *args, **kw):
    """The name of the exception fn raises, or None."""
    try:
        fn(*args, **kw)
    except Exception as e:  # noqa: BLE001 - the name is the observation
        return type(e).__name__
    return None


class Scenario:
    def __init__(self):
        self.sections = {}
        self.started = time.time()

    def section(self, name):
        def deco(fn):
            t0 = time.time()
            log("section", name, "start")
            try:
                out = fn()
                self.sections[name] = out if out is not None else {}
                log("section", name, "ok in %.2fs" % (time.time() - t0))
            except Exception:  # noqa: BLE001
                tb = traceback.format_exc()
                print("section %s FAILED:\n%s" % (name, tb), file=sys.stderr, flush=True)
                self.sections[name] = {"error": tb}
            return fn
        return deco

    def finish(self, **extra):
        out = {"sections": self.sections, "seconds": round(time.time() - self.started, 2)}
        out.update(extra)
        print("RESULT " + json.dumps(out, default=str), flush=True)


def threads(targets):
    """Runs the callables in threads; returns their results (or raises the first error)."""
    results = [None] * len(targets)
    errors = []

    def run(i, f):
        try:
            results[i] = f()
        except Exception:  # noqa: BLE001
            errors.append(traceback.format_exc())

    ts = [threading.Thread(target=run, args=(i, f), name="worker-%d" % i, daemon=True) for i, f in enumerate(targets)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    if any(t.is_alive() for t in ts):
        raise AssertionError("worker threads still running after 60s")
    if errors:
        raise AssertionError("worker failed:\n" + errors[0])
    return results
