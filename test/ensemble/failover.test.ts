// Leader failover with real processes: a 3-node ensemble under write load from four clients,
// the leader SIGKILLed mid-load. A new leader (another server, a higher epoch) takes over,
// the writers resume, every acknowledged write is on every surviving node, the survivors
// converge on one digest at one zxid, and the killed node, restarted, catches up.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { Code, KeeperError, type KeeperClient } from "@keeper/client";
import { poll, startEnsemble, type Ensemble, type EnsembleNode } from "../support/ensemble.ts";

const WRITERS = 4;
const CALL_TIMEOUT_MS = 3_000;
const ACKS_BEFORE_KILL = 200;
const ACKS_AFTER_KILL_PER_WRITER = 25;

const pad = (n: number): string => String(n).padStart(8, "0");
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

interface Writer {
  id: number;
  root: string;
  client: KeeperClient;
  /** Ops issued: op n creates <root>/c<id>/n<n> when n is even, sets <root>/w<id> to "n" when odd. */
  issued: number;
  ackedCreates: Map<string, string>;
  maxAckedSet: number;
  acks: number;
  /** Acks of ops issued after the kill. */
  acksAfterKill: number;
  /** Failures other than an outcome-unknown CONNECTIONLOSS / OPERATIONTIMEOUT. */
  unexpected: unknown[];
  uncertain: number;
}

/** One writer: sequential ops, each acknowledged value recorded. */
async function writerLoop(w: Writer, stop: () => boolean, killedAt: () => number): Promise<void> {
  while (!stop()) {
    const n = w.issued++;
    const issuedAt = Date.now();
    try {
      if (n % 2 === 0) {
        const path = `${w.root}/c${w.id}/n${pad(n)}`;
        const value = `c${w.id}-${n}`;
        await w.client.create(path, value, { timeoutMs: CALL_TIMEOUT_MS });
        w.ackedCreates.set(path, value);
      } else {
        await w.client.setData(`${w.root}/w${w.id}`, String(n), -1, { timeoutMs: CALL_TIMEOUT_MS });
        w.maxAckedSet = Math.max(w.maxAckedSet, n);
      }
      w.acks++;
      if (issuedAt > killedAt()) w.acksAfterKill++;
    } catch (e) {
      // A lost connection or a timeout leaves the outcome unknown; anything else is a bug.
      if (e instanceof KeeperError && (e.code === Code.CONNECTIONLOSS || e.code === Code.OPERATIONTIMEOUT)) w.uncertain++;
      else w.unexpected.push(e);
    }
  }
}

/** Every acknowledged write of every writer, read from `node` alone after a sync. */
async function checkAcked(e: Ensemble, node: EnsembleNode, writers: Writer[]): Promise<void> {
  const c = await e.connect({ hosts: [node] });
  try {
    await c.sync("/");
    for (const w of writers) {
      const { children } = await c.getChildren(`${w.root}/c${w.id}`);
      const present = new Set(children);
      const missing = [...w.ackedCreates.keys()].filter((p) => !present.has(p.slice(p.lastIndexOf("/") + 1)));
      expect(missing, `node ${node.id}: acknowledged creates of writer ${w.id} lost`).toEqual([]);
      // Nothing that was never issued appears.
      for (const child of children) expect(Number(child.slice(1))).toBeLessThan(w.issued);
      for (const [path, value] of w.ackedCreates) expect(text((await c.getData(path)).data), `node ${node.id}: ${path}`).toBe(value);
      // Writes of one client are applied in order, so the value is the last acked one or a later issued one.
      const v = Number(text((await c.getData(`${w.root}/w${w.id}`)).data));
      expect(v, `node ${node.id}: ${w.root}/w${w.id} lost the acknowledged setData ${w.maxAckedSet}`).toBeGreaterThanOrEqual(w.maxAckedSet);
      expect(v).toBeLessThan(w.issued);
    }
  } finally {
    await c.close();
  }
}


/**
 * Runs four writers against the ensemble, calls `fault` once they have made progress, waits
 * until every writer has had writes issued after the fault acknowledged, then stops them and
 * checks that only outcome-unknown errors happened. The writers' clients are closed.
 */
async function underLoad(e: Ensemble, root: string, fault: (killedAt: (t: number) => void) => Promise<void>): Promise<Writer[]> {
  const setup = await e.connect();
  await setup.create(root);
  for (let i = 0; i < WRITERS; i++) {
    await setup.create(`${root}/c${i}`);
    await setup.create(`${root}/w${i}`, "-1");
  }
  await setup.close();

  const writers: Writer[] = [];
  for (let id = 0; id < WRITERS; id++) {
    const client = await e.connect({ sessionTimeoutMs: 10_000 });
    writers.push({ id, root, client, issued: 0, ackedCreates: new Map(), maxAckedSet: -1, acks: 0, acksAfterKill: 0, unexpected: [], uncertain: 0 });
  }
  let stop = false;
  let killedAt = Infinity;
  const loops = writers.map((w) => writerLoop(w, () => stop, () => killedAt));
  const totalAcks = () => writers.reduce((s, w) => s + w.acks, 0);
  try {
    await poll(() => totalAcks() >= ACKS_BEFORE_KILL, { timeoutMs: 15_000, what: "load before the fault" });
    await fault((t) => (killedAt = t));
    // Writes resume for every writer.
    await poll(() => writers.every((w) => w.acksAfterKill >= ACKS_AFTER_KILL_PER_WRITER), {
      timeoutMs: 15_000,
      what: () => `writes to resume (acks after the fault: ${writers.map((w) => w.acksAfterKill).join(", ")})`,
    });
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  for (const w of writers) await w.client.close();
  for (const w of writers) expect(w.unexpected, `writer ${w.id}`).toEqual([]);
  // Only what was in flight around the fault may be uncertain.
  expect(writers.reduce((s, w) => s + w.uncertain, 0)).toBeLessThanOrEqual(WRITERS * 4);
  return writers;
}

describe("leader failover (3 real processes)", () => {
  let e: Ensemble;

  beforeAll(async () => {
    e = await startEnsemble({ size: 3 });
  });
  afterAll(async () => {
    await e?.cleanup();
  });

  it("elects a new leader after SIGKILL under load, loses no acknowledged write, converges, and the killed node catches up", async () => {
    onTestFailed(() => console.error(e.output().slice(-30_000)));
    const writers = await underLoad(e, "/fo", async (killedAt) => {
      const old = await e.waitForLeader();
      killedAt(Date.now());
      await old.node.kill("SIGKILL");
      const next = await e.waitForLeader({ notId: old.node.id, timeoutMs: 10_000 });
      expect(next.node.id).not.toBe(old.node.id);
      expect(next.status.epoch).toBeGreaterThan(old.status.epoch);
    });

    const survivors = e.running();
    expect(survivors).toHaveLength(2);
    const converged = await e.waitConverged({ nodes: survivors });
    for (const n of survivors) await checkAcked(e, n, writers);
    // The killed node rejoins and reaches the same state.
    const victim = e.nodes.find((n) => !n.running)!;
    await victim.start();
    const all = await e.waitConverged({ nodes: e.nodes, timeoutMs: 20_000 });
    expect(all.lastZxid).toBeGreaterThanOrEqual(converged.lastZxid);
    const vs = (await victim.status())!;
    expect(vs.state).toBe("following");
    expect(vs.digest).toBe(all.digest);
    await checkAcked(e, victim, writers);
  }, 60_000);

  it("a SIGSTOPped leader is replaced; after SIGCONT it rejoins as a follower and every node converges without losing an acknowledged write", async () => {
    onTestFailed(() => console.error(e.output().slice(-30_000)));
    await e.waitConverged({ nodes: e.nodes });
    let old: Awaited<ReturnType<Ensemble["waitForLeader"]>> | undefined;
    try {
      const writers = await underLoad(e, "/fs", async (killedAt) => {
        old = await e.waitForLeader();
        killedAt(Date.now());
        await old.node.kill("SIGSTOP");
        const next = await e.waitForLeader({ notId: old.node.id, timeoutMs: 10_000 });
        expect(next.status.epoch).toBeGreaterThan(old.status.epoch);
      });
      await old!.node.kill("SIGCONT");
      const all = await e.waitConverged({ nodes: e.nodes, timeoutMs: 20_000 });
      const os = (await old!.node.status())!;
      expect(os.state).toBe("following");
      expect(os.digest).toBe(all.digest);
      for (const n of e.nodes) await checkAcked(e, n, writers);
    } finally {
      if (old) await old.node.kill("SIGCONT");
    }
  }, 60_000);
});
