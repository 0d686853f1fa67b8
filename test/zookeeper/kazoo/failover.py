"""kazoo clients carrying on while a Keeper node is SIGKILLed under them.

Usage: failover.py HOSTS ROOT, where HOSTS lists the node that will be killed first. Half the
clients keep that order (randomize_hosts=False) so they are connected to the victim; the others
pick at random. Workers take a Lock, bump a Counter, and rewrite their own node in a loop.
The script prints READY, waits for a line KILLED on stdin (the test kills the node then), and
goes on until every worker has done several more rounds; then it checks sessions, ephemerals,
watches and mutual exclusion and prints RESULT."""
import sys
import threading
import time

from kazoo.protocol.states import KazooState

from zkcommon import ROOT, Scenario, log, new_client, wait_for

s = Scenario()
N = 4
clients = [new_client(randomize_hosts=(i % 2 == 1)) for i in range(N)]
admin = clients[1]
admin.ensure_path(ROOT + "/members")
admin.create(ROOT + "/watched", b"0")
session_ids = [c.client_id[0] for c in clients]
states = [[] for _ in clients]
for i, c in enumerate(clients):
    c.add_listener(lambda st, i=i: states[i].append(str(st)))
    c.create(ROOT + "/members/m%d" % i, b"", ephemeral=True)

# Every client keeps a DataWatch on /watched: after the kill they must still see changes.
seen = [[] for _ in clients]
for i, c in enumerate(clients):
    c.DataWatch(ROOT + "/watched", lambda data, stat, i=i: seen[i].append(None if data is None else data.decode()))

stop = threading.Event()
killed = threading.Event()
guard = threading.Lock()
holders = {"now": 0, "max": 0}
rounds = [{"before": 0, "after": 0, "errors": []} for _ in clients]
increments = [0]


def worker(i):
    c = clients[i]
    lk = c.Lock(ROOT + "/lock", "w%d" % i)
    counter = c.Counter(ROOT + "/counter")
    while not stop.is_set():
        try:
            with lk:
                with guard:
                    holders["now"] += 1
                    holders["max"] = max(holders["max"], holders["now"])
                time.sleep(0.005)
                with guard:
                    holders["now"] -= 1
            counter += 1
            with guard:
                increments[0] += 1
            c.set(ROOT + "/members/m%d" % i, str(time.time()).encode())
            rounds[i]["after" if killed.is_set() else "before"] += 1
        except Exception as e:  # noqa: BLE001 - counted; the check is that work goes on
            rounds[i]["errors"].append("%s: %s" % (type(e).__name__, e))
            time.sleep(0.05)


workers = [threading.Thread(target=worker, args=(i,), daemon=True, name="worker-%d" % i) for i in range(N)]
for t in workers:
    t.start()
wait_for(lambda: all(r["before"] >= 3 for r in rounds), timeout=20, what="every worker running")
print("READY", flush=True)
line = sys.stdin.readline().strip()
if line != "KILLED":
    raise SystemExit("expected KILLED on stdin, got %r" % line)
t_kill = time.time()
killed.set()
log("node killed; waiting for every worker to go on")


@s.section("carryOn")
def carry_on():
    wait_for(lambda: all(r["after"] >= 5 for r in rounds), timeout=40, what="every worker doing 5 rounds after the kill")
    return {"secondsToRecover": round(time.time() - t_kill, 2), "rounds": [{"before": r["before"], "after": r["after"]} for r in rounds]}


stop.set()
for t in workers:
    t.join(30)


@s.section("afterKill")
def after_kill():
    out = {}
    out["sameSessions"] = [c.client_id[0] for c in clients] == session_ids
    out["states"] = [list(x) for x in states]  # a copy: stop() at the end adds LOST
    out["lost"] = any("LOST" in st for st in states)
    admin.sync(ROOT)  # every worker's last write is in before the checks read
    out["members"] = sorted(admin.get_children(ROOT + "/members"))
    out["maxHolders"] = holders["max"]
    value = admin.Counter(ROOT + "/counter").value
    # A Counter's increment retried after a lost reply may apply twice: never fewer, though.
    out["counterAtLeastIncrements"] = value >= increments[0]
    out["counter"] = value
    out["increments"] = increments[0]
    # The watches of every client, also of those that reconnected, see a change made now.
    clients[2].set(ROOT + "/watched", b"after-kill")
    wait_for(lambda: all(x and x[-1] == "after-kill" for x in seen), timeout=10, what="every DataWatch seeing after-kill")
    out["watchesSeeAfterKill"] = True
    out["errorsSample"] = [r["errors"][:3] for r in rounds]
    return out


admin.delete(ROOT, recursive=True)
for c in clients:
    c.stop()
    c.close()
s.finish()
