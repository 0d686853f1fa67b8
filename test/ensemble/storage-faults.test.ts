// Storage faults on a real 3-node ensemble: a follower whose log holds a flipped bit never
// serves it (it truncates its log at boot and the leader resends the rest); one whose log was
// rewritten under a valid CRC is caught by the run-time digest and resyncs in the same process;
// one whose newest
// snapshot is corrupt boots from an older one; one SIGKILLed again and again while it installs
// a SNAP from the leader always boots offline to a whole state, never to neither.
import { join } from "node:path";
import { Level } from "level";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { Code, KeeperError, type KeeperClient } from "@keeper/client";
import { Store } from "../../packages/server/src/storage/store.ts";
import { unframe } from "../../packages/server/src/storage/checksum.ts";
import { poll, sleep, startEnsemble, type Ensemble, type EnsembleNode } from "../support/ensemble.ts";

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const enc = new TextEncoder();
const pad = (n: number): string => String(n).padStart(5, "0");

/** A create retried through a lost connection (this machine is shared: a stalled node can cost the quorum for a moment). */
async function createOnce(c: KeeperClient, path: string, data: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await c.create(path, data, { timeoutMs: 10_000 });
      return;
    } catch (e) {
      const code = (e as KeeperError).code;
      if (attempt > 1 && code === Code.NODEEXISTS) return;
      if (attempt >= 20 || (code !== Code.CONNECTIONLOSS && code !== Code.OPERATIONTIMEOUT)) throw e;
      await sleep(100);
    }
  }
}

async function createMany(c: KeeperClient, parent: string, from: number, to: number, data: (i: number) => string): Promise<void> {
  for (let i = from; i < to; i += 50) {
    const batch: Array<Promise<void>> = [];
    for (let j = i; j < Math.min(to, i + 50); j++) batch.push(createOnce(c, `${parent}/p${pad(j)}`, data(j)));
    await Promise.all(batch);
  }
}

/** Every znode parent/p<from..to-1>, read from `node` alone after a sync, has its data. */
async function expectAll(e: Ensemble, node: EnsembleNode, parent: string, count: number, data: (i: number) => string): Promise<void> {
  const c = await e.connect({ hosts: [node] });
  try {
    await c.sync(parent);
    expect((await c.getChildren(parent)).children.length).toBe(count);
    for (let i = 0; i < count; i++) expect(text((await c.getData(`${parent}/p${pad(i)}`)).data), `node ${node.id} ${parent}/p${pad(i)}`).toBe(data(i));
  } finally {
    await c.close();
  }
}

const storeDir = (e: Ensemble, n: EnsembleNode) => join(e.dataDir, `node${n.id}`);

/** Opens a stopped node's LevelDB directly to change raw values. */
async function withRawDb<T>(dir: string, fn: (db: Level<string, Uint8Array>) => Promise<T>): Promise<T> {
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: "utf8", valueEncoding: "view" });
  await db.open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const indexOf = (v: Uint8Array, needle: Uint8Array): number => {
  outer: for (let i = 0; i + needle.length <= v.length; i++) {
    for (let j = 0; j < needle.length; j++) if (v[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
};

describe("a follower's flipped log bit is never served", () => {
  let e: Ensemble;
  beforeAll(async () => {
    e = await startEnsemble({ size: 3 });
  });
  afterAll(async () => {
    await e?.cleanup();
  });

  it("the follower truncates its log at the bad record and the leader resends it: every read is right", async () => {
    onTestFailed(() => console.error(e.output().slice(-20_000)));
    const balance = (i: number) => `balance=${1000 + i}`;
    const leader = await e.waitForLeader();
    const follower = e.nodes.find((n) => n.id !== leader.node.id)!;
    const c = await e.connect({ hosts: e.nodes.filter((n) => n !== follower) });
    await c.create("/acct");
    await createMany(c, "/acct", 0, 40, balance);
    const before = await e.waitConverged();
    await follower.stop();

    // "balance" becomes "calance" in one log record of the follower, the CRC left as it was.
    const flipped = await withRawDb(storeDir(e, follower), async (db) => {
      const keys: string[] = [];
      for await (const [k, v] of db.iterator({ gte: "t/", lt: "t/~" })) if (indexOf(v, enc.encode("balance=1020")) >= 0) keys.push(k);
      expect(keys).toHaveLength(1);
      const v = Uint8Array.from((await db.get(keys[0]!))!);
      v[indexOf(v, enc.encode("balance=1020"))]! ^= 0x01;
      await db.put(keys[0]!, v);
      return keys[0]!;
    });
    await createMany(c, "/acct", 40, 60, balance);
    await c.close();

    await follower.start();
    const after = await e.waitConverged({ nodes: e.nodes, timeoutMs: 20_000 });
    expect(after.lastZxid).toBeGreaterThan(before.lastZxid);
    await expectAll(e, follower, "/acct", 60, balance);
    expect(follower.output()).toContain("log record fails its check");
    expect(follower.output()).toContain(flipped);
    // It may have acknowledged the records it lost: it joined without voting, and is a voter again.
    expect(follower.output()).toContain("it does not vote until a leader has synced it");
    expect((await follower.status())?.integrity).toBe("ok");
  }, 60_000);
});

describe("run-time divergence: a follower whose store lied (valid CRC, other data)", () => {
  let e: Ensemble;
  beforeAll(async () => {
    e = await startEnsemble({ size: 3 });
  });
  afterAll(async () => {
    await e?.cleanup();
  });

  it("never serves the lied state: the leader's digest at UPTODATE shows it, the leader (with a quorum) has it resync, and the same process comes back with the leader's state", async () => {
    onTestFailed(() => console.error(e.output().slice(-20_000)));
    const balance = (i: number) => `balance=${1000 + i}`;
    const leader = await e.waitForLeader();
    const follower = e.nodes.find((n) => n.id !== leader.node.id)!;
    const c = await e.connect({ hosts: e.nodes.filter((n) => n !== follower) });
    await c.create("/acct");
    await createMany(c, "/acct", 0, 30, balance);
    const good = await e.waitConverged();
    await follower.stop();
    // One record rewritten with other data and a CRC that matches it: the checks pass.
    let rewritten = 0;
    await withRawDb(storeDir(e, follower), async (db) => {
      const { frame } = await import("../../packages/server/src/storage/checksum.ts");
      for await (const [k, v] of db.iterator({ gte: "t/", lt: "t/~" })) {
        const payload = Uint8Array.from(unframe(k, v));
        const at = indexOf(payload, enc.encode("balance=1020"));
        if (at < 0) continue;
        payload[at + 8] = "9".charCodeAt(0);
        await db.put(k, frame(payload));
        rewritten++;
      }
    });
    expect(rewritten).toBe(1);
    await follower.start();
    const pid = follower.pid;
    // From its start until it converges, sample what it says: whenever it serves, it serves the
    // leader's state (no writes meanwhile, so the leader's digest is fixed).
    const samples: Array<{ serving: boolean; digest: string; integrity: string }> = [];
    const converged = await poll(
      async () => {
        const st = await follower.status(1_000);
        if (st) samples.push({ serving: st.serving, digest: st.digest, integrity: st.integrity });
        return st?.serving && st.lastZxid === good.lastZxid && st.digest === good.digest ? st : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 20, what: "the follower to serve the leader's state" },
    );
    expect(converged.integrity).toBe("ok");
    expect(samples.filter((x) => x.serving && x.digest !== good.digest)).toEqual([]);
    expect(samples.some((x) => x.integrity === "suspect" || x.integrity === "resyncing")).toBe(true);
    // One process throughout: no supervisor, no restart by the harness.
    expect(follower.running).toBe(true);
    expect(follower.pid).toBe(pid);
    expect(follower.history).toHaveLength(2);
    const out = follower.output();
    expect(out).toContain("DIVERGED: this node's digest differs from its leader's");
    expect(out).toContain("DIVERGED: this node's state is not the quorum's");
    expect((await follower.status())?.log.resyncs).toBe(1);

    // It is a full member again: writes reach it and the ensemble converges.
    await createMany(c, "/acct", 30, 31, balance);
    await e.waitConverged({ nodes: e.nodes, timeoutMs: 20_000 });
    await expectAll(e, follower, "/acct", 31, balance);
    await c.close();

    // Restarted, it boots from what the resync stored (the mark was cleared): no second resync.
    await follower.stop();
    await follower.start();
    await e.waitConverged({ nodes: e.nodes, timeoutMs: 20_000 });
    expect((await follower.status())?.log.resyncs).toBe(0);
    expect(follower.history.at(-1)!.output()).not.toContain("marked for a resync");
    await expectAll(e, follower, "/acct", 31, balance);
  }, 120_000);
});

describe("snapshots: a corrupt newest one, and SIGKILL during a SNAP install", () => {
  let e: Ensemble;
  beforeAll(async () => {
    // Snapshots every ~50 txns; the leader keeps 1000 in memory, so a follower that missed
    // more is sent a SNAP.
    e = await startEnsemble({ size: 3, extraArgs: ["--snapshot-every-txns", "50", "--log-retain-txns", "10"] });
  });
  afterAll(async () => {
    await e?.cleanup();
  });

  it("a follower whose newest snapshot fails its check boots from an older one, replays the longer log and converges", async () => {
    onTestFailed(() => console.error(e.output().slice(-20_000)));
    const leader = await e.waitForLeader();
    const follower = e.nodes.find((n) => n.id !== leader.node.id)!;
    const c = await e.connect({ hosts: e.nodes.filter((n) => n !== follower) });
    await c.create("/s");
    await createMany(c, "/s", 0, 300, (i) => `s${i}`);
    await e.waitConverged();
    await follower.stop();
    const newest = await withRawDb(storeDir(e, follower), async (db) => {
      const headers: string[] = [];
      for await (const k of db.keys({ gte: "s/", lt: "s/~" })) if (k.endsWith("/h")) headers.push(k);
      expect(headers.length).toBeGreaterThanOrEqual(2);
      const newest = headers.sort().reverse()[0]!;
      const chunk = newest.replace(/h$/, "c/00000000");
      const v = Uint8Array.from((await db.get(chunk))!);
      v[Math.floor(v.length / 2)]! ^= 0x10;
      await db.put(chunk, v);
      return newest;
    });
    await follower.start();
    await e.waitConverged({ nodes: e.nodes, timeoutMs: 20_000 });
    await expectAll(e, follower, "/s", 300, (i) => `s${i}`);
    expect(follower.output()).toContain("snapshot fails its checks");
    expect(follower.output()).toContain(newest.slice(0, -1));
    await c.close();
  }, 60_000);

  it("SIGKILL at many points of a SNAP install: the follower's store always boots to a whole state, then catches up", async () => {
    onTestFailed(() => console.error(e.output().slice(-20_000)));
    const leader = await e.waitForLeader();
    const follower = e.nodes.find((n) => n.id !== leader.node.id)!;
    const c = await e.connect({ hosts: e.nodes.filter((n) => n !== follower) });
    await c.create("/k");
    await createMany(c, "/k", 0, 10, (i) => `k${i}`);
    await e.waitConverged();
    await follower.kill("SIGKILL");
    const mine = await bootOffline(storeDir(e, follower));
    // Past the leader's 1000-transaction window: the follower will need a SNAP, with large data.
    const want = (i: number) => (i < 10 ? `k${i}` : `k${i}-${"x".repeat(4000)}`);
    await createMany(c, "/k", 10, 2_000, want);
    const target = await e.waitConverged({ nodes: e.nodes.filter((n) => n !== follower) });

    // Each round: start the follower, wait until it is taking the leader's history (the SNAP
    // streams in, then is stored and switched to), kill it a little later. Once a kill finds
    // the new state installed there is no SNAP left to interrupt.
    const outcomes: string[] = [];
    let killedWhileSyncing = 0;
    for (const delayMs of [0, 50, 150, 300, 600, 1000, 1500, 2200, 3000, 4500]) {
      await follower.start();
      let syncing = false;
      for (let i = 0; i < 1000 && !syncing; i++) {
        const st = await follower.status(500);
        if (st?.activity?.includes("taking its history")) syncing = true;
        else if (st?.serving) break;
        else await sleep(5);
      }
      if (syncing) killedWhileSyncing++;
      await sleep(delayMs);
      await follower.kill("SIGKILL");
      const booted = await bootOffline(storeDir(e, follower));
      // Either the state it had (it still holds every write it acknowledged) or the leader's.
      expect([mine.lastZxid, target.lastZxid], `after a kill ${delayMs} ms into the sync`).toContain(booted.lastZxid);
      expect(booted.digest).toBe(booted.lastZxid === mine.lastZxid ? mine.digest : target.digest);
      outcomes.push(`${delayMs}ms:${booted.lastZxid === mine.lastZxid ? "old" : "new"}`);
      if (booted.lastZxid !== mine.lastZxid) break;
    }
    expect(killedWhileSyncing, "kills that found the follower syncing").toBeGreaterThan(0);
    await follower.start();
    await e.waitConverged({ nodes: e.nodes, timeoutMs: 30_000 });
    await expectAll(e, follower, "/k", 2_000, want);
    await c.close();
    // For the record: at which kills the install had switched.
    console.info(`SNAP install kills: ${outcomes.join(" ")}`);
  }, 120_000);
});

/** Boots a stopped node's store as the server would, and replays its log: its lastZxid and digest. */
async function bootOffline(dir: string): Promise<{ lastZxid: number; digest: string }> {
  const store = await Store.open(dir);
  try {
    const boot = await store.boot();
    for (const t of boot.log) boot.state.apply(t);
    return { lastZxid: boot.state.lastZxid, digest: boot.state.tree.digest() };
  } finally {
    await store.close();
  }
}
