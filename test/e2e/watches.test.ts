// Watches against a real server process: one-shot data, exist and child watches, NodeDeleted
// for every kind, the ordering guarantee (an event reaches the client before any reply that
// shows its change), and re-arming with setWatches after the client reconnects to a
// restarted server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventType, type KeeperClient, type WatchEvent } from "@keeper/client";
import { decodeServerMessage } from "@keeper/protocol";
import { Harness, socketControl, text, waitFor, waitForState, type ServerNode } from "../support/harness.ts";

const name = (type: number): string => Object.entries(EventType).find(([, v]) => v === type)?.[0] ?? String(type);
const fmt = (e: WatchEvent): string => `${name(e.type)} ${e.path}`;

/** A watcher that records what it receives. */
function recorder(): { watch: (e: WatchEvent) => void; events: string[] } {
  const events: string[] = [];
  return { events, watch: (e) => events.push(fmt(e)) };
}

describe("watches (e2e)", () => {
  const h = new Harness();
  let server: ServerNode;
  let a: KeeperClient;
  let b: KeeperClient;

  beforeAll(async () => {
    server = await h.startServer();
    a = await h.connect(server);
    b = await h.connect(server);
  });
  afterAll(() => h.cleanup());

  it("a data watch fires once: two changes give one event", async () => {
    await b.create("/w1", "0");
    const r = recorder();
    await a.getData("/w1", { watch: r.watch });
    await b.setData("/w1", "1");
    await b.setData("/w1", "2");
    await a.sync("/w1");
    // Give a spurious second event every chance to arrive.
    await a.getData("/w1");
    expect(r.events).toEqual(["NodeDataChanged /w1"]);
  });

  it("exists on an existing node watches data changes and deletion", async () => {
    await b.create("/w2", "0");
    const r = recorder();
    expect(await a.exists("/w2", { watch: r.watch })).not.toBeNull();
    await b.setData("/w2", "1");
    await a.sync("/");
    expect(r.events).toEqual(["NodeDataChanged /w2"]);
    await a.exists("/w2", { watch: r.watch });
    await b.delete("/w2");
    await a.sync("/");
    expect(r.events).toEqual(["NodeDataChanged /w2", "NodeDeleted /w2"]);
  });

  it("a child watch fires on child create and child delete, not on the parent's data", async () => {
    await b.create("/wc", "");
    const r = recorder();
    await a.getChildren("/wc", { watch: r.watch });
    await b.setData("/wc", "parent data");
    await b.create("/wc/k1");
    await a.sync("/");
    expect(r.events).toEqual(["NodeChildrenChanged /wc"]);

    await a.getChildren("/wc", { watch: r.watch });
    await b.setData("/wc/k1", "child data");
    await b.delete("/wc/k1");
    await a.sync("/");
    expect(r.events).toEqual(["NodeChildrenChanged /wc", "NodeChildrenChanged /wc"]);

    // An ephemeral child vanishing with its session fires it too.
    const c = await h.connect(server);
    await c.create("/wc/eph", "", { ephemeral: true });
    await a.getChildren("/wc", { watch: r.watch });
    await c.close();
    await a.sync("/");
    expect(r.events).toEqual(["NodeChildrenChanged /wc", "NodeChildrenChanged /wc", "NodeChildrenChanged /wc"]);
  });

  it("exists on a missing node fires NodeCreated, once", async () => {
    const r = recorder();
    expect(await a.exists("/w3", { watch: r.watch })).toBeNull();
    await b.create("/w3", "x");
    await b.setData("/w3", "y");
    await a.sync("/");
    expect(r.events).toEqual(["NodeCreated /w3"]);
  });

  it("NodeDeleted fires the data, exist and child watchers of the node", async () => {
    await b.create("/wd", "");
    const data = recorder();
    const child = recorder();
    const exist = recorder();
    const parent = recorder();
    await a.getData("/wd", { watch: data.watch });
    await a.getChildren("/wd", { watch: child.watch });
    await a.exists("/wd", { watch: exist.watch });
    await a.getChildren("/", { watch: parent.watch });
    await b.delete("/wd");
    await a.sync("/");
    expect(data.events).toEqual(["NodeDeleted /wd"]);
    expect(child.events).toEqual(["NodeDeleted /wd"]);
    expect(exist.events).toEqual(["NodeDeleted /wd"]);
    expect(parent.events).toEqual(["NodeChildrenChanged /"]);
    // One function set as several kinds on one path is called once per event.
    await b.create("/wd", "");
    const both = recorder();
    await a.getData("/wd", { watch: both.watch });
    await a.getChildren("/wd", { watch: both.watch });
    await b.delete("/wd");
    await a.sync("/");
    expect(both.events).toEqual(["NodeDeleted /wd"]);
  });

  it("an event reaches the client before any reply that shows its change", async () => {
    // Wire-level check on A's socket: every getData reply carrying value v must come after
    // the v-th NodeDataChanged event for /ord.
    let events = 0;
    const violations: string[] = [];
    const ctl = socketControl({
      onFrame: (bytes) => {
        const msg = decodeServerMessage(bytes);
        if (msg.kind === "event" && msg.path === "/ord" && msg.type === EventType.NodeDataChanged) events++;
        if (msg.kind === "response" && msg.result?.type === "getData") {
          const v = Number(text(msg.result.data));
          if (Number.isInteger(v) && v > events) violations.push(`wire: reply with value ${v} after only ${events} events`);
        }
      },
    });
    const reader = await h.connect(server, { WebSocket: ctl.WebSocket });
    const writer = await h.connect(server);
    await writer.create("/ord", "0");
    await writer.create("/ord-own", "0");

    const fired = new Set<number>();
    const ROUNDS = 30;
    let seen = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      // Arm the watch for this round.
      const armed = await reader.getData("/ord", { watch: () => fired.add(round) });
      expect(text(armed.data)).toBe(String(round - 1));

      // Keep reads (some queued behind the reader's own writes) in flight while the writer writes.
      let done = false;
      const readLoop = async (withOwnWrites: boolean): Promise<void> => {
        while (!done) {
          if (withOwnWrites) void reader.setData("/ord-own", String(round));
          const { data } = await reader.getData("/ord");
          const v = Number(text(data));
          seen++;
          if (v === round) {
            // API-level: the watcher has run by the time the promise resolves with the new value.
            if (!fired.has(round)) violations.push(`api: round ${round} read the new value before the watcher ran`);
            done = true;
          }
        }
      };
      const loops = [readLoop(false), readLoop(true), readLoop(false), readLoop(true)];
      await writer.setData("/ord", String(round));
      // After the write completed, a read issued now must show it, and the event must be there.
      const after = await reader.getData("/ord");
      expect(text(after.data)).toBe(String(round));
      expect(fired.has(round)).toBe(true);
      await Promise.all(loops);
    }
    expect(violations).toEqual([]);
    expect(events).toBe(ROUNDS);
    expect(seen).toBeGreaterThan(ROUNDS);
  });

  it("watches are re-armed after the client reconnects to a restarted server (SIGTERM), and missed changes fire", async () => {
    const ctl = socketControl();
    const w = await h.connect(server, { WebSocket: ctl.WebSocket });
    const setup = await h.connect(server);
    await setup.create("/rw", "");
    await setup.create("/rw/data", "0");
    await setup.create("/rw/same", "0");
    await setup.create("/rw/gone", "0");
    await setup.create("/rw/kids", "");
    await setup.close();

    const r = recorder();
    await w.getData("/rw/data", { watch: r.watch });
    await w.getData("/rw/same", { watch: r.watch });
    await w.getData("/rw/gone", { watch: r.watch });
    await w.exists("/rw/born", { watch: r.watch });
    await w.getChildren("/rw/kids", { watch: r.watch });
    const sessionId = w.sessionId;
    const lastZxidBefore = w.lastZxid;

    // Keep w away while the server restarts and another client changes things.
    ctl.block();
    await server.restart("SIGTERM");
    await waitFor(() => w.state === "disconnected", { what: "the watching client to notice the restart" });
    const other = await h.connect(server);
    await other.setData("/rw/data", "1");
    await other.create("/rw/born", "");
    await other.create("/rw/kids/k");
    await other.delete("/rw/gone");
    expect(r.events).toEqual([]);

    ctl.unblock();
    await waitForState(w, "connected", 15_000);
    expect(w.sessionId).toBe(sessionId);
    await waitFor(() => r.events.length >= 4, { what: "the missed events after reconnect" });
    await w.sync("/");
    expect([...r.events].sort()).toEqual(["NodeChildrenChanged /rw/kids", "NodeCreated /rw/born", "NodeDataChanged /rw/data", "NodeDeleted /rw/gone"]);
    expect(w.lastZxid).toBeGreaterThan(lastZxidBefore);

    // The unchanged node's watch was re-armed rather than fired or lost.
    await other.setData("/rw/same", "1");
    await w.sync("/");
    expect(r.events.filter((e) => e.endsWith("/rw/same"))).toEqual(["NodeDataChanged /rw/same"]);
  });

  it("after kill -9 and restart, a watch set before the crash fires for a change made after the reconnect", async () => {
    const ctl = socketControl();
    const w = await h.connect(server, { WebSocket: ctl.WebSocket });
    const setup = await h.connect(server);
    await setup.create("/k9", "0");
    await setup.create("/k9-missed", "0");
    await setup.close();
    const r = recorder();
    await w.getData("/k9", { watch: r.watch });
    await w.getData("/k9-missed", { watch: r.watch });

    ctl.block();
    await server.kill("SIGKILL");
    await waitFor(() => w.state === "disconnected", { what: "the client to notice the crash" });
    await server.start();
    const other = await h.connect(server);
    await other.setData("/k9-missed", "1");
    ctl.unblock();
    await waitForState(w, "connected", 15_000);
    await waitFor(() => r.events.includes("NodeDataChanged /k9-missed"), { what: "the missed change's event" });

    // The fresh server process knows of /k9's watch only through setWatches.
    const status = await server.status();
    expect(status.watches.watches).toBeGreaterThanOrEqual(1);
    await other.setData("/k9", "1");
    await w.sync("/");
    expect([...r.events].sort()).toEqual(["NodeDataChanged /k9", "NodeDataChanged /k9-missed"]);
    expect(text((await w.getData("/k9")).data)).toBe("1");
  });

  // Regression (fixed): after a reconnect the client re-arms its watches with setWatches requests chunked
  // only by path count (limits.setWatchesPathsMax = 100 000 paths, client/src/session.ts
  // rearmWatches), not by size. Watches whose paths add up to more than the server's frame
  // limit (limits.frameBytesMax, 1 MiB + 64 KiB) produce a setWatches frame the server's
  // WebSocket refuses (close 1009); the client reconnects at once and sends it again: a hot
  // reconnect loop (hundreds of connections a second) in which the watches are never re-armed
  // and no event is ever delivered. Here: 300 exists-watches on ~4 KB paths (~1.2 MB).
  // Expected: the client stays connected and the watch fires. Suggested fix: chunk setWatches
  // by encoded size as well (ZooKeeper caps each SetWatches at 128 KB, ZOOKEEPER-706), e.g.
  // start a new request whenever the running sum of path lengths would pass ~128 KiB.
  it("watches whose paths add up to more than one frame are re-armed after a reconnect", async () => {
    const ctl = socketControl();
    const w = await h.connect(server, { WebSocket: ctl.WebSocket });
    const stem = "/" + "p".repeat(3_990);
    let states = 0;
    w.on("state", () => states++);
    try {
      const r = recorder();
      await Promise.all(Array.from({ length: 300 }, (_, i) => w.exists(`${stem}${i}`, { watch: r.watch })));
      ctl.dropAll();
      await waitFor(() => w.state === "connected" && states >= 2, { what: "the reconnect" });
      const other = await h.connect(server);
      await other.create(`${stem}7`, "");
      await waitFor(() => r.events.length > 0, { timeoutMs: 3_000, what: "the re-armed watch to fire" });
      expect(r.events).toEqual([`NodeCreated ${stem}7`]);
      // And the connection is stable: no more than the one reconnect.
      expect(states).toBe(2);
    } finally {
      await Promise.race([w.close(), new Promise((res) => setTimeout(res, 3_000))]);
    }
  });
});
