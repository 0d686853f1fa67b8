// Real-process chaos: 3 and 5 `keeper server` processes on 127.0.0.21-25, sequential clients
// recording a history (test/support/chaos-history.ts) while a fault schedule SIGKILLs and
// restarts nodes, SIGSTOPs / SIGCONTs them, and cuts links with iptables (one node isolated,
// two-way cuts between two nodes, one-way cuts, minority splits) — see chaos-faults.ts.
// Then everything is healed, every node must converge to one lastZxid and digest, and the
// history is checked with the simulator's checkers (chaos-check.ts): no acknowledged write
// lost (each is in the committed log), linearizable writes and sync-reads per key, plain
// reads sequentially consistent per client (committed value at their zxid, zxid never going
// back, read-your-writes).
//
// Bounded for CI: KEEPER_CHAOS_SECONDS (default 18) seconds of faults per ensemble size.
// KEEPER_CHAOS_SEED fixes the fault schedule and the clients' choices (process timing is
// still real, so a run is not replayed exactly; the seed is printed either way).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@keeper/client";
import { Random } from "@keeper/sim";
import { checkChaosHistory, type Checkpoint } from "../support/chaos-check.ts";
import { ChaosCluster } from "../support/chaos-cluster.ts";
import { FaultInjector } from "../support/chaos-faults.ts";
import { Workload } from "../support/chaos-history.ts";
import { Firewall } from "../support/chaos-net.ts";
import { sleep } from "../support/ensemble.ts";

const FAULT_SECONDS = Number(process.env.KEEPER_CHAOS_SECONDS ?? "") || 18;
const SEED = Number(process.env.KEEPER_CHAOS_SEED ?? "") || 1 + Math.floor(Math.random() * 1_000_000);
const KEYS = ["/k0", "/k1", "/k2", "/k3", "/k4"];
const IPS = ["127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24", "127.0.0.25"];

let fw: Firewall | undefined;
const clusters: ChaosCluster[] = [];

beforeAll(() => {
  fw = Firewall.create("main");
});

afterAll(async () => {
  for (const c of clusters.splice(0)) await c.cleanup();
  const chain = fw?.chain;
  fw?.destroySync();
  if (chain) expect(Firewall.chainExists(chain), `iptables chain ${chain} left behind`).toBe(false);
}, 60_000);

async function chaosRun(size: 3 | 5, seed: number): Promise<void> {
  const t0 = Date.now();
  // Frequent snapshots: restarts boot from a snapshot plus the log after it.
  const cluster = await ChaosCluster.start({ ips: IPS.slice(0, size), extraArgs: ["--snapshot-every-txns", "500"] });
  clusters.push(cluster);
  const workload = new Workload({
    connectString: cluster.connectString(),
    keys: KEYS,
    workers: size === 3 ? 5 : 6,
    seed,
    // Every third client accepts read-only servers: it keeps reading from cut-off nodes.
    canBeReadOnly: (w) => w % 3 === 2,
    sessionTimeoutMs: 4_000,
    requestTimeoutMs: 2_000,
    thinkMs: [2, 12],
  });
  const faults = new FaultInjector(cluster, fw!, new Random(seed), () => workload.now());
  const checkpoints: Checkpoint[] = [];
  let phase = "start";
  const report = async (extra: string): Promise<string> => {
    const file = join(mkdtempSync(join(tmpdir(), "keeper-chaos-report-")), `chaos-${size}-seed${seed}.json`);
    writeFileSync(file, JSON.stringify({ size, seed, phase, timeline: faults.timeline, ops: workload.ops }, (_k, v) => (v === Infinity ? "Infinity" : v)));
    return [
      `chaos run failed: ${size} nodes, seed ${seed} (KEEPER_CHAOS_SEED=${seed}), phase ${phase}`,
      extra,
      `fault timeline (ms):\n${faults.timeline.map((e) => `  ${e.t} ${e.what}`).join("\n")}`,
      `nodes:\n${await cluster.describe().catch((e) => String(e))}`,
      `iptables chain ${fw!.chain}:\n${fw!.listing()}`,
      `history and timeline written to ${file}`,
      `node output (tails):\n${cluster.output(6_000)}`,
    ].join("\n\n");
  };
  try {
    phase = "faults";
    workload.start();
    await sleep(500);
    await faults.run(workload.now() + FAULT_SECONDS * 1000);
    const faultsEnded = workload.now();

    phase = "recovery";
    await cluster.waitForLeader({ timeoutMs: 30_000 });
    await sleep(1_500); // clients keep working on the healed ensemble
    await workload.stop();
    const afterFaults = workload.ops.filter((o) => o.call > faultsEnded && o.output !== "unknown" && o.output.err === Code.OK).length;

    phase = "convergence";
    const conv = await cluster.waitConverged({ timeoutMs: 30_000 });
    checkpoints.push({ what: "after the workload", lastZxid: conv.lastZxid, digest: conv.digest });

    // Every key, read through every node with sync+getData, joins the history: the final
    // state must be what the linearization of all earlier writes leaves.
    phase = "final reads";
    for (const node of cluster.nodes) {
      const { client, tap, instance } = await workload.client(node.address, { connectTimeoutMs: 10_000, requestTimeoutMs: 10_000 });
      for (const key of KEYS) {
        const op = await workload.run(client, tap, 100 + node.id, instance, key, { kind: "syncGet" });
        if (op.output === "unknown") throw new Error(`final read of ${key} on node ${node.id} failed: ${op.note}`);
        await workload.run(client, tap, 100 + node.id, instance, key, { kind: "get" });
      }
      await workload.closeClient(client);
    }
    const conv2 = await cluster.waitConverged({ timeoutMs: 30_000 });
    checkpoints.push({ what: "after the final reads", lastZxid: conv2.lastZxid, digest: conv2.digest });

    phase = "logs";
    const logs = await cluster.stopAndReadLogs();

    phase = "check";
    const tc = Date.now();
    const result = checkChaosHistory({ ops: workload.ops, keys: KEYS, logs, checkpoints });
    const checkMs = Date.now() - tc;
    const ops = workload.ops;
    const acked = ops.filter((o) => o.input.kind !== "get" && o.input.kind !== "syncGet" && o.output !== "unknown" && o.output.err === Code.OK).length;
    const summary = {
      size,
      seed,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
      checkMs,
      ops: ops.length,
      ackedWrites: acked,
      unknown: ops.filter((o) => o.output === "unknown").length,
      okAfterFaults: afterFaults,
      faults: faults.counts,
      clients: workload.counts,
      stats: result.stats,
      perKey: result.perKey,
    };
    console.log(`chaos ${size} nodes: ${JSON.stringify(summary)}`);
    if (result.violations.length > 0 || result.undecided.length > 0) {
      const msg = [
        ...result.violations.slice(0, 8),
        ...(result.undecided.length ? [`linearizability search gave up (budget) on ${result.undecided.join(", ")}`] : []),
      ].join("\n\n");
      throw new Error(await report(msg));
    }
    // The run did something: writes were acknowledged and the healed ensemble served again.
    expect(acked).toBeGreaterThan(50);
    expect(afterFaults).toBeGreaterThan(0);
    expect(result.stats.ackedWritesInLog ?? 0).toBeGreaterThanOrEqual(acked);
  } catch (e) {
    if (e instanceof Error && e.message.startsWith("chaos run failed")) throw e;
    throw new Error(await report(e instanceof Error ? (e.stack ?? e.message) : String(e)));
  } finally {
    faults.stop();
    fw!.healAll();
    await workload.stop().catch(() => {});
    await cluster.cleanup();
    clusters.splice(clusters.indexOf(cluster), 1);
  }
}

describe("real-process chaos", () => {
  const budget = FAULT_SECONDS * 1000 + 120_000;
  it(`3 nodes: kills, pauses and partitions for ${FAULT_SECONDS} s; history linearizable, no acked write lost, reads consistent (seed ${SEED})`, () => chaosRun(3, SEED), budget);
  it(`5 nodes: kills, pauses and partitions for ${FAULT_SECONDS} s; history linearizable, no acked write lost, reads consistent (seed ${SEED + 1})`, () => chaosRun(5, SEED + 1), budget);
});
