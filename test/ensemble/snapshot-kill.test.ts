// SIGKILL while a node writes a snapshot of its own state: it must come back with every write it
// acknowledged. One node alone, so its disk is the only copy (in an ensemble the others would
// hand a lost write back and hide the loss). Snapshots are frequent and slow enough to hit:
// every 100-200 transactions, of a tree of 2 KiB znodes; the test watches for the node's
// "snapshot started" line and kills it at growing delays after it, and counts the kills that
// landed before the matching "snapshot saved".
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { Code, KeeperError, type KeeperClient } from "@keeper/client";
import { poll, sleep, startEnsemble, type Ensemble, type EnsembleNode } from "../support/ensemble.ts";

const DATA = "d".repeat(2048);
const count = (s: string, needle: string): number => s.split(needle).length - 1;

/** Creates /w/n<i> one after another until stopped or the connection goes; returns the acknowledged ones. */
function writer(c: KeeperClient, from: number): { acked: number[]; stop: () => Promise<void> } {
  const acked: number[] = [];
  let stopped = false;
  const done = (async () => {
    for (let i = from; !stopped; i++) {
      try {
        await c.create(`/w/n${String(i).padStart(7, "0")}`, DATA, { timeoutMs: 5_000 });
        acked.push(i);
      } catch (e) {
        const code = (e as KeeperError).code;
        if (code === Code.CONNECTIONLOSS || code === Code.OPERATIONTIMEOUT || code === Code.SESSIONEXPIRED) return;
        throw e;
      }
    }
  })();
  return { acked, stop: async () => ((stopped = true), await done) };
}

async function serving(e: Ensemble, node: EnsembleNode): Promise<void> {
  await poll(async () => (await node.status())?.serving === true, { timeoutMs: 30_000, what: "the node to serve" });
}

describe("SIGKILL during a local snapshot", () => {
  let e: Ensemble;
  beforeAll(async () => {
    e = await startEnsemble({ size: 1, noWait: true, extraArgs: ["--snapshot-every-txns", "200", "--log-level", "info"] });
  });
  afterAll(async () => {
    await e?.cleanup();
  });

  it("the node comes back with every acknowledged write, whatever point of the snapshot the kill hit", async () => {
    onTestFailed(() => console.error(e.output().slice(-20_000)));
    const node = e.nodes[0]!;
    await serving(e, node);
    const setup = await e.connect({ hosts: [node] });
    await setup.create("/w");
    await setup.close();

    const acked = new Set<number>();
    let next = 0;
    let midSnapshot = 0;
    const rounds: string[] = [];
    for (const delayMs of [0, 2, 5, 10, 20, 40, 80]) {
      const c = await e.connect({ hosts: [node] });
      const w = writer(c, next);
      const out = () => node.proc!.output();
      const startedBefore = count(out(), "snapshot started");
      await poll(() => count(out(), "snapshot started") > startedBefore, { timeoutMs: 30_000, intervalMs: 2, what: "a snapshot to start" });
      await sleep(delayMs);
      const savedBefore = count(out(), "snapshot saved");
      const started = count(out(), "snapshot started");
      await node.kill("SIGKILL");
      // Killed before the snapshot it had started was saved: a half-written one is on disk.
      const hit = count(out(), "snapshot saved") < started;
      if (hit) midSnapshot++;
      rounds.push(`${delayMs}ms:${hit ? "mid" : "after"}(saved ${savedBefore}/${started})`);
      await w.stop();
      await c.close().catch(() => {});
      for (const i of w.acked) acked.add(i);
      next += w.acked.length + 1_000;

      await node.start();
      await serving(e, node);
      const r = await e.connect({ hosts: [node] });
      const have = new Set((await r.getChildren("/w")).children);
      const missing = [...acked].filter((i) => !have.has(`n${String(i).padStart(7, "0")}`));
      expect(missing, `acknowledged writes missing after a kill ${delayMs} ms into a snapshot`).toEqual([]);
      await r.close();
    }
    console.info(`snapshot kills: ${rounds.join(" ")}; ${acked.size} acknowledged writes`);
    // Measured: 456 over the 7 rounds on a shared 2-core machine; snapshots come every 100-200 transactions.
    expect(acked.size).toBeGreaterThan(200);
    expect(midSnapshot, "kills that landed while a snapshot was being written").toBeGreaterThan(0);
    // The node booted past every half-written snapshot: whole ones only, orphans cleared.
    expect(node.output()).not.toContain("snapshot fails its checks");
  }, 240_000);
});
