"""kazoo against Keeper: jute nulls and ACL lists written through the leader and through a
follower (issue 9), then read back from every node. Usage:
nulls_acls.py HOSTS ROOT LEADER FOLLOWER, where LEADER and FOLLOWER are host:port of those roles.
See zkcommon.py for the output format.

kazoo sends None data as a jute null buffer and every empty string as a jute null ustring, so
the `auth` entry of CREATOR_ALL_ACL arrives with a null id. ZooKeeper 3.8 keeps null data as
null (get returns None), removes duplicate ACL entries on create and setACL (inside a
transaction too) and accepts the null auth id.
"""
import sys

from kazoo.protocol.serialization import Create, SetData
from kazoo.security import ACL, CREATOR_ALL_ACL, Id, Permissions, make_digest_acl_credential

from zkcommon import HOSTS, ROOT, Scenario, new_client

LEADER = sys.argv[3]
FOLLOWER = sys.argv[4]
ROLES = {"leader": LEADER, "follower": FOLLOWER}
USER, PASSWORD = "alice", "secret"
DIGEST_ID = make_digest_acl_credential(USER, PASSWORD)

A = ACL(Permissions.ALL, Id("world", "anyone"))
B = ACL(Permissions.READ, Id("ip", "127.0.0.1"))

s = Scenario()
admin = new_client()
admin.ensure_path(ROOT)


def data_of(b):
    """None stays None (a jute null), bytes become text."""
    return None if b is None else b.decode()


def acls_of(acls):
    return [[a.perms, a.id.scheme, a.id.id] for a in acls]


def mode_of(client):
    """The Mode line of `srvr` on the server the client is connected to."""
    text = client.command(b"srvr")
    return next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Mode:")), text.strip())


def attempt(fn, *args, **kw):
    """fn's value, or {"error": the exception's name}: each case is observed on its own, so one
    failing case does not hide the others."""
    try:
        return fn(*args, **kw)
    except Exception as e:  # noqa: BLE001 - the name is the observation
        return {"error": type(e).__name__}


def writes(role):
    """Every write of issue 9 through the node of `role`; returns what the writer saw."""
    base = "%s/%s" % (ROOT, role)
    c = new_client(hosts=ROLES[role])
    try:
        out = {"mode": mode_of(c)}
        c.create(base)
        # 2. null data stays null, zero bytes stay zero bytes, through create and set
        out["create"] = [attempt(c.create, base + p, v) for p, v in [("/create-none", None), ("/create-empty", b""), ("/set-none", b"x"), ("/set-empty", b"x")]]
        out["setNone"] = attempt(lambda: c.set(base + "/set-none", None).version)
        out["setEmpty"] = attempt(lambda: c.set(base + "/set-empty", b"").version)
        # 3. duplicate ACL entries are removed, first occurrence kept, on create and setACL
        out["createDupAcl"] = attempt(c.create, base + "/acl-create", b"a", acl=[A, B, A, B, A])
        c.create(base + "/acl-set", b"s")
        out["setDupAcl"] = attempt(lambda: c.set_acls(base + "/acl-set", [B, A, B, A]).aversion)
        # ... and in a transaction. kazoo's TransactionRequest refuses None data, so the null
        # ops are added as the protocol records kazoo itself would build.
        t = c.transaction()
        t._add(Create(base + "/txn-create-none", None, [A, A], 0), None)
        t.create(base + "/txn-create-empty", b"", acl=[B, A, B])
        t.create(base + "/txn-set-none", b"x", acl=[A])
        t._add(SetData(base + "/txn-set-none", None, -1), None)
        out["txn"] = attempt(lambda: [r if isinstance(r, str) else type(r).__name__ for r in t.commit()])
    finally:
        c.stop()
        c.close()

    # 1. a digest-authenticated client creates with CREATOR_ALL_ACL (a null auth id on the
    #    wire) and makepath: it succeeds and the session stays connected.
    a = new_client(hosts=ROLES[role])
    try:
        states = []
        a.add_listener(lambda st: states.append(str(st)))
        a.add_auth("digest", "%s:%s" % (USER, PASSWORD))  # waits for the server's answer
        session = a.client_id[0]
        out["authCreate"] = attempt(a.create, base + "/1/2", b"v", makepath=True, acl=CREATOR_ALL_ACL)
        out["authStateAfterCreate"] = str(a.state)
        out["authLaterOp"] = attempt(lambda: data_of(a.get(base + "/1/2")[0]))
        out["authSameSession"] = a.client_id is not None and a.client_id[0] == session
        out["authStates"] = list(states)  # a copy: stop() adds LOST later
    finally:
        a.stop()
        a.close()
    return out


PATHS = ["create-none", "create-empty", "set-none", "set-empty", "acl-create", "acl-set",
         "txn-create-none", "txn-create-empty", "txn-set-none", "1", "1/2"]


@s.section("leader")
def leader():
    return writes("leader")


@s.section("follower")
def follower():
    return writes("follower")


def read(r, path):
    data, st = r.get(path)
    acls, _ = r.get_acls(path)
    return {"data": data_of(data), "dataLength": st.dataLength, "acl": acls_of(acls)}


@s.section("readBack")
def read_back():
    """Every node, through a client of its own (sync first): data, dataLength and ACLs."""
    nodes = {}
    for host in HOSTS.split(","):
        r = new_client(hosts=host)
        try:
            r.add_auth("digest", "%s:%s" % (USER, PASSWORD))  # /1 and /1/2 are alice's alone
            r.sync(ROOT)
            seen = {}
            for role in ROLES:
                for p in PATHS:
                    path = "%s/%s/%s" % (ROOT, role, p)
                    seen["%s/%s" % (role, p)] = attempt(read, r, path)
            nodes[host] = seen
        finally:
            r.stop()
            r.close()
    return {"nodes": nodes, "digestId": DIGEST_ID}


admin.add_auth("digest", "%s:%s" % (USER, PASSWORD))  # to delete alice's nodes
admin.delete(ROOT, recursive=True)
admin.stop()
admin.close()
s.finish()
