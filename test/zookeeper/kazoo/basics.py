"""kazoo against Keeper: CRUD, the four create modes, versions, watches, transactions and
session expiry. Usage: basics.py HOSTS ROOT. See zkcommon.py for the output format."""
import os
import signal
import subprocess
import sys
import threading
import time

from kazoo.exceptions import (BadVersionError, NoChildrenForEphemeralsError, NodeExistsError,
                              NoNodeError, NotEmptyError, RolledBackError, SessionExpiredError)
from kazoo.protocol.states import EventType, KazooState

from zkcommon import HOSTS, ROOT, Scenario, call_err, log, new_client, wait_for

s = Scenario()
zk = new_client()
zk.ensure_path(ROOT)


@s.section("crud")
def crud():
    p = ROOT + "/crud"
    created = zk.create(p, b"v1")
    data, st = zk.get(p)
    out = {"created": created, "data": data.decode(), "version": st.version, "dataLength": st.dataLength,
           "numChildren": st.numChildren, "ephemeralOwner": st.ephemeralOwner}
    out["exists"] = zk.exists(p) is not None
    st2 = zk.set(p, b"v2")
    out["setVersion"] = st2.version
    out["afterSet"] = zk.get(p)[0].decode()
    zk.create(p + "/a", b"")
    zk.create(p + "/b", b"")
    out["children"] = sorted(zk.get_children(p))
    children, pst = zk.get_children(p, include_data=True)
    out["parentNumChildren"] = pst.numChildren
    out["parentCversion"] = pst.cversion
    out["duplicateCreate"] = call_err(zk.create, p, b"x")
    out["deleteNotEmpty"] = call_err(zk.delete, p)
    out["getMissing"] = call_err(zk.get, p + "/missing")
    out["setMissing"] = call_err(zk.set, p + "/missing", b"x")
    out["createNoParent"] = call_err(zk.create, p + "/no/parent", b"x")
    zk.create(p + "/deep/er/path", b"d", makepath=True)
    out["makepath"] = zk.get(p + "/deep/er/path")[0].decode()
    zk.delete(p, recursive=True)
    out["existsAfterDelete"] = zk.exists(p)
    out["emptyValue"] = zk.get(zk.create(ROOT + "/empty"))[0].decode()
    big = os.urandom(512 * 1024)
    zk.create(ROOT + "/big", big)
    out["bigRoundTrip"] = zk.get(ROOT + "/big")[0] == big
    return out


@s.section("modes")
def modes():
    p = ROOT + "/modes"
    zk.create(p)
    session_id = zk.client_id[0]
    out = {}
    zk.create(p + "/persistent", b"p")
    out["persistentOwner"] = zk.exists(p + "/persistent").ephemeralOwner
    zk.create(p + "/ephemeral", b"e", ephemeral=True)
    out["ephemeralOwnerIsSession"] = zk.exists(p + "/ephemeral").ephemeralOwner == session_id
    out["childOfEphemeral"] = call_err(zk.create, p + "/ephemeral/child", b"")
    out["sequential"] = [zk.create(p + "/seq-", b"", sequence=True) for _ in range(3)]
    out["ephemeralSequential"] = [zk.create(p + "/eseq-", b"", ephemeral=True, sequence=True) for _ in range(2)]
    out["ephemeralSequentialOwnerIsSession"] = zk.exists(out["ephemeralSequential"][0]).ephemeralOwner == session_id
    out["children"] = sorted(zk.get_children(p))
    # A second client sees the ephemerals while the first session lives.
    other = new_client()
    try:
        other.sync(p)  # other may sit on a server that has not applied the creates yet
        out["otherSees"] = sorted(other.get_children(p))
    finally:
        other.stop()
        other.close()
    return out


@s.section("versions")
def versions():
    p = ROOT + "/versions"
    path, st = zk.create(p, b"0", include_data=True)  # create2: path and Stat
    out = {"create2Path": path, "create2Version": st.version, "create2Czxid": st.czxid == st.mzxid}
    out["setV0"] = zk.set(p, b"1", version=0).version
    out["setStale"] = call_err(zk.set, p, b"x", version=0)
    out["setV1"] = zk.set(p, b"2", version=1).version
    out["setAny"] = zk.set(p, b"3", version=-1).version
    out["deleteStale"] = call_err(zk.delete, p, version=1)
    out["dataAfterStale"] = zk.get(p)[0].decode()
    out["deleteRight"] = call_err(zk.delete, p, version=3)
    out["gone"] = zk.exists(p) is None
    # cversion counts child changes of the parent
    zk.create(p, b"")
    zk.create(p + "/c1")
    zk.create(p + "/c2")
    out["cversionAfterCreates"] = zk.exists(p).cversion
    zk.delete(p + "/c1")
    out["cversionAfterDelete"] = zk.exists(p).cversion
    # The sequence suffix counts creates only (ZooKeeper 3.8 and Keeper agree on that).
    out["seqAfterDelete"] = zk.create(p + "/s-", sequence=True)
    return out


@s.section("watches")
def watches():
    p = ROOT + "/watches"
    zk.create(p)
    out = {}
    # DataWatch: called with the data now and on every change; None when the node is gone.
    seen = []
    lock = threading.Lock()

    def on_data(data, stat, event=None):
        with lock:
            seen.append([None if data is None else data.decode(), None if stat is None else stat.version,
                         None if event is None else event.type])

    d = p + "/data"
    zk.DataWatch(d, on_data)
    wait_for(lambda: len(seen) >= 1, what="first DataWatch call")
    zk.create(d, b"a")
    wait_for(lambda: len(seen) >= 2, what="DataWatch CREATED")
    zk.set(d, b"b")
    wait_for(lambda: len(seen) >= 3, what="DataWatch CHANGED")
    zk.set(d, b"c")
    wait_for(lambda: len(seen) >= 4, what="DataWatch CHANGED again")
    zk.delete(d)
    wait_for(lambda: len(seen) >= 5, what="DataWatch DELETED")
    out["dataWatch"] = seen

    # ChildrenWatch: called with the current children and on every change.
    kids = []
    c = p + "/kids"
    zk.create(c)

    @zk.ChildrenWatch(c)
    def on_children(children):
        kids.append(sorted(children))

    wait_for(lambda: len(kids) >= 1, what="first ChildrenWatch call")
    zk.create(c + "/x")
    wait_for(lambda: len(kids) >= 2, what="ChildrenWatch after create x")
    zk.create(c + "/y")
    wait_for(lambda: len(kids) >= 3, what="ChildrenWatch after create y")
    zk.delete(c + "/x")
    wait_for(lambda: len(kids) >= 4, what="ChildrenWatch after delete x")
    out["childrenWatch"] = kids

    # One-shot watches from a second client: a change by another session fires them.
    other = new_client()
    try:
        events = []
        zk.create(p + "/one", b"1")
        zk.get(p + "/one", watch=lambda e: events.append(["get", e.type, e.path]))
        zk.get_children(p, watch=lambda e: events.append(["children", e.type, e.path]))
        zk.exists(p + "/later", watch=lambda e: events.append(["exists", e.type, e.path]))
        other.set(p + "/one", b"2")
        other.create(p + "/later")
        wait_for(lambda: len(events) >= 3, what="three one-shot watch events")
        other.set(p + "/one", b"3")  # one-shot: must not fire again
        time.sleep(0.3)
        out["oneShot"] = sorted(events)
    finally:
        other.stop()
        other.close()
    return out


@s.section("transactions")
def transactions():
    p = ROOT + "/txn"
    zk.create(p, b"")
    zk.create(p + "/existing", b"old")
    t = zk.transaction()
    t.create(p + "/a", b"A")
    t.create(p + "/seq-", b"", sequence=True)
    t.set_data(p + "/existing", b"new", version=0)
    t.check(p + "/existing", 1)
    t.delete(p + "/a")
    res = t.commit()
    out = {"ok": [r if isinstance(r, (str, bool)) else type(r).__name__ for r in res]}
    out["afterOk"] = {"children": sorted(zk.get_children(p)), "existing": zk.get(p + "/existing")[0].decode()}
    # A transaction that fails half way: nothing of it is applied.
    t = zk.transaction()
    t.create(p + "/b", b"B")
    t.check(p + "/existing", 99)
    t.set_data(p + "/existing", b"never")
    res = t.commit()
    out["failed"] = [type(r).__name__ if isinstance(r, Exception) else r for r in res]
    out["afterFailed"] = {"children": sorted(zk.get_children(p)), "existing": zk.get(p + "/existing")[0].decode()}
    return out


CHILD = r'''
import sys, time
sys.path.insert(0, sys.argv[3])
from zkcommon import new_client
zk = new_client(hosts=sys.argv[1], timeout=2.0)
zk.create(sys.argv[2], b"mine", ephemeral=True)
print("SESSION %d" % zk.client_id[0], flush=True)
time.sleep(120)
'''


@s.section("sessionExpiry")
def session_expiry():
    p = ROOT + "/sessions"
    zk.create(p)
    out = {}
    observer = zk

    # 1. A clean close removes the session's ephemerals at once.
    a = new_client()
    a.create(p + "/closed", b"", ephemeral=True)
    gone = threading.Event()

    def watch_closed(data, stat, event=None):
        if data is None and event is not None:
            gone.set()
    observer.DataWatch(p + "/closed", watch_closed)
    t0 = time.time()
    a.stop()
    a.close()
    out["closeRemoves"] = gone.wait(5)
    out["closeSeconds"] = round(time.time() - t0, 2)

    # 2. A client process killed without a word: its session expires by timeout (2 s) and
    #    its ephemeral goes; the observer's watch sees it.
    here = os.path.dirname(os.path.abspath(__file__))
    child = subprocess.Popen([sys.executable, "-c", CHILD, HOSTS, p + "/killed", here], stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
    try:
        line = child.stdout.readline()
        if not line.startswith("SESSION"):
            raise AssertionError("child client did not start: %r" % line)
        # The child's node answered its create; the observer's node may apply it a moment
        # later (as in ZooKeeper): sync first, then read.
        observer.sync(p)
        out["childEphemeralSeen"] = observer.exists(p + "/killed") is not None
        vanished = threading.Event()
        observer.exists(p + "/killed", watch=lambda e: vanished.set() if e.type == EventType.DELETED else None)
        t0 = time.time()
        child.send_signal(signal.SIGKILL)
        child.wait(5)
        out["expiryRemoves"] = vanished.wait(15)
        out["expirySeconds"] = round(time.time() - t0, 2)
        out["expiryGone"] = observer.exists(p + "/killed") is None
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    # 3. A session closed from elsewhere (its id and password on another connection, the usual
    #    ZooKeeper test trick): the original client learns it is LOST and can no longer act.
    b = new_client(timeout=4.0)
    states = []
    b.add_listener(lambda st: states.append(st))
    b.create(p + "/stolen", b"", ephemeral=True)
    b_id = b.client_id
    thief = new_client(client_id=b_id, start=False)
    thief.start(timeout=10)
    out["thiefSameSession"] = thief.client_id[0] == b_id[0]
    thief.stop()
    thief.close()
    out["stolenGone"] = wait_for(lambda: observer.exists(p + "/stolen") is None, timeout=10, what="stolen ephemeral gone")
    wait_for(lambda: KazooState.LOST in states, timeout=20, what="original client LOST")
    out["originalStates"] = [str(x) for x in states]
    # kazoo starts a new session after LOST: the client works again, with another id.
    wait_for(lambda: b.connected and b.client_id is not None, timeout=10, what="original client reconnected")
    out["originalNewSession"] = b.client_id[0] != b_id[0]
    out["originalAfterLost"] = call_err(b.get, p)
    b.stop()
    b.close()
    return out


@s.section("misc")
def misc():
    out = {}
    zk.create(ROOT + "/misc", b"m")
    out["sync"] = zk.sync(ROOT + "/misc")
    # kazoo's admin helpers speak four-letter words on the same port
    out["ruok"] = zk.command(b"ruok")
    out["serverVersion"] = list(zk.server_version())
    out["reconfig"] = call_err(zk.reconfig, joining=None, leaving="99", new_members=None)
    # digest credentials are accepted; an unknown scheme fails the connection (AUTH_FAILED)
    good = new_client(auth_data=[("digest", "alice:secret")])
    try:
        out["authDigest"] = call_err(good.get, ROOT)
    finally:
        good.stop()
        good.close()
    # Credentials given at start() race it: kazoo reports CONNECTED before the auth
    # reply arrives. add_auth on a live session waits for the server's answer.
    bad = new_client()
    try:
        out["authUnknownScheme"] = call_err(bad.add_auth, "nosuchscheme", "x")
    finally:
        bad.stop()
        bad.close()
    return out


@s.section("ping")
def ping():
    # An idle client with a 2 s session keeps it for 2.5 timeouts: its pings keep it alive.
    c = new_client(timeout=2.0)
    try:
        sid = c.client_id[0]
        c.create(ROOT + "/idle", b"", ephemeral=True)
        states = []
        c.add_listener(lambda st: states.append(str(st)))
        time.sleep(5)
        return {"sameSession": c.client_id[0] == sid, "ephemeralKept": zk.exists(ROOT + "/idle") is not None,
                "negotiatedTimeoutMs": c._session_timeout, "states": list(states)}
    finally:
        c.stop()
        c.close()


zk.delete(ROOT, recursive=True)
zk.stop()
zk.close()
s.finish()
