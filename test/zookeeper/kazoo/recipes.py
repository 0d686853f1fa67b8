"""kazoo's recipes against Keeper, each across several clients (one KazooClient per thread):
Lock, Election, Party, Counter, Queue, LockingQueue. Usage: recipes.py HOSTS ROOT."""
import threading
import time

from kazoo.protocol.states import KazooState

from zkcommon import ROOT, Scenario, log, new_client, threads, wait_for

s = Scenario()
N = 4
clients = [new_client() for _ in range(N)]
admin = clients[0]
admin.ensure_path(ROOT)


@s.section("lock")
def lock():
    path = ROOT + "/lock"
    data = ROOT + "/lock-data"
    admin.create(data, b"0")
    guard = threading.Lock()
    holders = {"now": 0, "max": 0, "acquisitions": 0}
    rounds = 6

    def worker(i):
        lk = clients[i].Lock(path, "worker-%d" % i)
        for _ in range(rounds):
            with lk:
                with guard:
                    holders["now"] += 1
                    holders["max"] = max(holders["max"], holders["now"])
                    holders["acquisitions"] += 1
                # An unversioned read-modify-write: correct only if the lock excludes.
                v = int(clients[i].get(data)[0])
                time.sleep(0.002)
                clients[i].set(data, str(v + 1).encode())
                with guard:
                    holders["now"] -= 1
        return True

    threads([lambda i=i: worker(i) for i in range(N)])
    admin.sync(path)  # the workers' nodes answered them; the admin's node may lag a moment
    contenders_after = admin.Lock(path).contenders()
    admin.sync(data)
    return {"value": int(admin.get(data)[0]), "expected": N * rounds, "maxHolders": holders["max"],
            "acquisitions": holders["acquisitions"], "contendersAfter": contenders_after}


@s.section("election")
def election():
    path = ROOT + "/election"
    order = []
    guard = threading.Lock()
    leading = {"now": 0, "max": 0}
    contenders_seen = []

    def lead(i):
        with guard:
            leading["now"] += 1
            leading["max"] = max(leading["max"], leading["now"])
            order.append(i)
        if not contenders_seen:
            # The first leader waits until every candidate has entered, then looks at them all.
            e = clients[i].Election(path)
            wait_for(lambda: len(e.contenders()) == N, timeout=10, what="all candidates entered")
            contenders_seen.append(sorted(e.contenders()))
        time.sleep(0.15)  # lead for a while, then step down (return)
        with guard:
            leading["now"] -= 1

    def candidate(i):
        # Stagger the entries so that every candidate is waiting before the first one steps down.
        time.sleep(0.03 * i)
        clients[i].Election(path, "candidate-%d" % i).run(lead, i)
        return i

    threads([lambda i=i: candidate(i) for i in range(N)])
    admin.sync(path)
    return {"leaders": order, "maxLeaders": leading["max"], "firstContenders": contenders_seen[0] if contenders_seen else None,
            "contendersAfter": admin.Election(path).contenders()}


@s.section("party")
def party():
    path = ROOT + "/party"
    extra = new_client()
    parties = [c.Party(path, "member-%d" % i) for i, c in enumerate(clients)]
    out = {}
    for p in parties:
        p.join()
    observer = admin.Party(path)
    admin.sync(path)  # before each look: the others' writes went through other nodes
    out["afterJoin"] = sorted(observer)
    out["lenAfterJoin"] = len(observer)
    parties[1].leave()
    admin.sync(path)
    out["afterLeave"] = sorted(observer)
    # A member whose session closes leaves the party by itself (its node is ephemeral).
    ep = extra.Party(path, "member-extra")
    ep.join()
    admin.sync(path)
    out["withExtra"] = len(observer)
    extra.stop()
    extra.close()
    admin.sync(path)
    out["afterExtraClosed"] = sorted(observer)
    shallow = [c.ShallowParty(path + "-shallow", "s%d" % i) for i, c in enumerate(clients[:3])]
    for p in shallow:
        p.join()
    admin.sync(path + "-shallow")
    out["shallow"] = sorted(admin.ShallowParty(path + "-shallow"))
    for p in parties:
        p.leave()
    return out


@s.section("counter")
def counter():
    path = ROOT + "/counter"
    per = 15

    def worker(i):
        c = clients[i].Counter(path)
        for _ in range(per):
            c += 1
        c -= 0
        return c.value

    # kazoo's Counter retries its versioned set after a connection loss, so a set that
    # succeeded but whose reply was lost is applied twice: exact only if no client lost its
    # connection meanwhile.
    suspensions = []
    listeners = [lambda st: suspensions.append(st) if st != KazooState.CONNECTED else None for _ in range(N)]
    for i in range(N):
        clients[i].add_listener(listeners[i])
    try:
        threads([lambda i=i: worker(i) for i in range(N)])
    finally:
        for i in range(N):
            clients[i].remove_listener(listeners[i])
    c = admin.Counter(path)
    c -= 7
    fc = admin.Counter(path + "-float", default=0.0)
    fc += 1.5
    fc += 2.25
    admin.sync(path)  # the last increments may have gone through other servers
    return {"value": admin.Counter(path).value, "expected": N * per - 7, "suspensions": len(suspensions),
            "float": admin.Counter(path + "-float", default=0.0).value}


@s.section("queue")
def queue():
    path = ROOT + "/queue"
    producers = clients[:2]
    consumers = clients[2:]
    items = 20
    for i in range(items):
        producers[i % 2].Queue(path).put(("item-%02d" % i).encode())
    # priorities: a lower number comes out first
    admin.Queue(path + "-prio").put(b"low", priority=200)
    admin.Queue(path + "-prio").put(b"high", priority=10)
    admin.Queue(path + "-prio").put(b"mid", priority=100)
    prio = [admin.Queue(path + "-prio").get() for _ in range(3)]
    got = [[] for _ in consumers]

    def consume(k):
        consumers[k].sync(path)  # see every put (they went through other clients' nodes)
        q = consumers[k].Queue(path)
        while True:
            v = q.get()
            if v is None:
                return len(got[k])
            got[k].append(v.decode())

    threads([lambda k=k: consume(k) for k in range(len(consumers))])
    everything = sorted(x for g in got for x in g)
    admin.sync(path)
    return {"count": len(everything), "unique": len(set(everything)), "expected": items,
            "all": everything == ["item-%02d" % i for i in range(items)], "perConsumer": [len(g) for g in got],
            "priorityOrder": [p.decode() for p in prio], "lenAfter": len(admin.Queue(path))}


@s.section("lockingQueue")
def locking_queue():
    path = ROOT + "/lqueue"
    clients[0].LockingQueue(path).put_all([("job-%d" % i).encode() for i in range(8)])
    done = []
    guard = threading.Lock()

    def worker(k):
        q = clients[k].LockingQueue(path)
        while True:
            v = q.get(timeout=1.5)
            if v is None:
                return True
            with guard:
                done.append(v.decode())
            q.consume()

    threads([lambda k=k: worker(k) for k in range(1, N)])
    clients[0].sync(path)
    return {"done": sorted(done), "lenAfter": len(clients[0].LockingQueue(path))}


admin.delete(ROOT, recursive=True)
for c in clients:
    c.stop()
    c.close()
s.finish()
