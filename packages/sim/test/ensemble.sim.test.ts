import { describe, expect, it } from "vitest";
import { SimCluster, defaultSimOptions, type SimOptions } from "../src/index.ts";

// CI runs this many seeds per ensemble size; `npm run sim -- --seeds N` runs more.
const SEEDS = Number(process.env.KEEPER_SIM_SEEDS ?? 150);
// Whole-ensemble runs take a while; vitest's default per-test timeout is for unit tests.
const LONG = 180_000;

function run(opts: Partial<SimOptions> & { seed: number }): SimCluster {
  const sim = new SimCluster({ ...defaultSimOptions, ...opts });
  sim.run();
  return sim;
}

/** Runs seeds 1.. until one fails; returns the first failing seed and its error. */
function firstCaught(opts: Partial<SimOptions>, budget: number): { seed: number; error: Error } | undefined {
  for (let seed = 1; seed <= budget; seed++) {
    try {
      run({ ...opts, seed });
    } catch (e) {
      return { seed, error: e as Error };
    }
  }
  return undefined;
}

describe("simulated ensemble under seeded faults", () => {
  it.each([3, 5] as const)("a %i-node ensemble keeps every invariant, and its client history is linearizable, across seeds", (nodes) => {
    const total = { acked: 0, crashes: 0, syncReads: 0, reads: 0, unknown: 0, expiries: 0, expiredEphemerals: 0, sessions: 0, dropped: 0, duplicated: 0, overtook: 0, snaps: 0, snapChunks: 0, bootReplayed: 0, appliesDeferred: 0, bitFlips: 0, resyncBoots: 0, diskFulls: 0, writesRefusedDiskFull: 0, memoryFlips: 0, runtimeResyncs: 0 };
    for (let seed = 1; seed <= SEEDS; seed++) {
      const sim = run({ nodes, seed });
      total.acked += sim.stats.acked;
      total.crashes += sim.stats.crashes;
      total.syncReads += sim.stats.syncReads;
      total.reads += sim.stats.reads;
      total.unknown += sim.stats.unknown;
      total.expiries += sim.stats.expiries;
      total.sessions += sim.stats.sessions;
      total.expiredEphemerals += sim.history.stats.expired;
      total.dropped += sim.net.faultStats.dropped;
      total.duplicated += sim.net.faultStats.duplicated;
      total.overtook += sim.net.faultStats.overtook;
      total.snaps += sim.stats.snaps;
      total.snapChunks += sim.stats.snapChunks;
      total.bootReplayed += sim.stats.bootReplayed;
      total.appliesDeferred += sim.stats.appliesDeferred;
      total.bitFlips += sim.stats.bitFlips;
      total.resyncBoots += sim.stats.resyncBoots;
      total.diskFulls += sim.stats.diskFulls;
      total.writesRefusedDiskFull += sim.stats.writesRefusedDiskFull;
      total.memoryFlips += sim.stats.memoryFlips;
      total.runtimeResyncs += sim.stats.runtimeResyncs;
    }
    // The runs did real work under real faults, or the test proves nothing.
    expect(total.acked).toBeGreaterThan(SEEDS * 50);
    expect(total.crashes).toBeGreaterThan(SEEDS * 5);
    expect(total.syncReads).toBeGreaterThan(SEEDS * 20);
    expect(total.reads).toBeGreaterThan(SEEDS * 20);
    // Connections were lost mid-operation, sessions really expired (client pauses) and took
    // their ephemerals with them, and clients started new sessions.
    expect(total.unknown).toBeGreaterThan(SEEDS);
    expect(total.expiries).toBeGreaterThan(SEEDS / 5);
    // (15 in 150 seeds of 3 nodes with disk faults, 21 without: full disks refuse some creates.)
    expect(total.expiredEphemerals).toBeGreaterThan(SEEDS / 15);
    expect(total.sessions).toBeGreaterThan(SEEDS * defaultSimOptions.clients);
    // Votes, acks, commits and heartbeats were lost, repeated, and delivered out of order.
    expect(total.dropped).toBeGreaterThan(SEEDS);
    expect(total.duplicated).toBeGreaterThan(SEEDS);
    expect(total.overtook).toBeGreaterThan(SEEDS / 5);
    // Followers were synced by SNAPs streamed in many pieces, with faults landing mid-stream.
    expect(total.snaps).toBeGreaterThan(SEEDS * 2);
    expect(total.snapChunks).toBeGreaterThan(total.snaps * 4);
    // Restarted nodes applied the committed part of their logs before joining.
    expect(total.bootReplayed).toBeGreaterThan(SEEDS * 10);
    // Followers applied commits that arrived together over several steps.
    expect(total.appliesDeferred).toBeGreaterThan(SEEDS);
    // Disks flipped bits in log records and snapshots; nodes that lost records they may have
    // acknowledged booted resyncing (not voting until synced); full disks refused writes.
    expect(total.bitFlips).toBeGreaterThan(SEEDS / 2);
    expect(total.resyncBoots).toBeGreaterThan(SEEDS / 5);
    expect(total.diskFulls).toBeGreaterThan(SEEDS);
    expect(total.writesRefusedDiskFull).toBeGreaterThan(SEEDS / 4);
    // Memory corrupted on purpose was found by the run-time digest check and resynced in the
    // running replica (52 flips, 21 resyncs in 100 seeds of 3 nodes when this was written).
    expect(total.memoryFlips).toBeGreaterThan(SEEDS / 5);
    expect(total.runtimeResyncs).toBeGreaterThan(SEEDS / 20);
  }, LONG);

  it("heavy loss, repetition and reordering of votes, acks, commits and heartbeats break nothing", () => {
    // A commit or heartbeat that overtakes the proposal it covers once crashed a follower
    // ("commit beyond the log"); these rates caught it in 3 of 40 seeds.
    const heavy = { drop: 0.05, duplicate: 0.2, reorder: 0.5, lateMs: 100 };
    let overtook = 0;
    for (let seed = 1; seed <= 40; seed++) overtook += run({ nodes: 3, seed, messageFaults: heavy }).net.faultStats.overtook;
    expect(overtook).toBeGreaterThan(200);
  }, LONG);

  // Seeds that once failed, kept as regressions. (Seeds from before the sequential clients
  // no longer replay the same schedule, but stay as extra coverage.)
  it.each([
    [5, 9, "clients still writing when the settle deadline came"],
    [5, 70, "a stale sync from an earlier join attempt left a gap in a follower's log"],
    [3, 1, "a restarted node's applied baseline was taken as zero"],
  ] as Array<[3 | 5, number, string]>)("%i nodes, seed %i (%s) passes", (nodes, seed, _why) => {
    // Without disk faults: these seeds keep the schedules they failed with.
    expect(() => run({ nodes, seed, diskFaultRate: 0 })).not.toThrow();
  });

  // Seed 124 found it before memory flips joined the disk faults (which changed its schedule);
  // core/test/digest-check.test.ts replays the situation exactly.
  it.each([
    [3, 124, "a resyncing node had accepted an epoch above the established leader's and could never join it"],
  ] as Array<[3 | 5, number, string]>)("with disk faults, %i nodes, seed %i (%s) passes", (nodes, seed, _why) => {
    expect(() => run({ nodes, seed })).not.toThrow();
  }, LONG);

  it("an injected storage bug (records that fail their check are replayed) is caught within the CI seed budget", () => {
    const caught = firstCaught({ nodes: 3, simFault: "replayBadRecords" }, SEEDS);
    expect(caught).toBeDefined();
    expect(caught!.error.name).toMatch(/InvariantViolation|AssertionError/);
    expect(caught!.error.message).toContain(`npm run sim -- --nodes 3 --seed ${caught!.seed} --fault replayBadRecords`);
  }, LONG);

  it("an injected protocol bug (commit without a quorum) is caught within the CI seed budget", () => {
    const caught = firstCaught({ nodes: 3, testFault: "commitWithoutQuorum" }, SEEDS);
    expect(caught).toBeDefined();
    expect(caught!.error.name).toMatch(/InvariantViolation|AssertionError/);
    expect(caught!.error.message).toContain(`npm run sim -- --nodes 3 --seed ${caught!.seed} --fault commitWithoutQuorum`);
  }, LONG);

  it("an injected server bug (sync+read answered before the sync is applied) is caught by the linearizability checker", () => {
    for (const nodes of [3, 5] as const) {
      const caught = firstCaught({ nodes, simFault: "syncReadEarly" }, SEEDS);
      expect(caught, `${nodes} nodes`).toBeDefined();
      expect(caught!.error.name).toBe("InvariantViolation");
      expect(caught!.error.message).toMatch(/history of \/k\d is not linearizable/);
      expect(caught!.error.message).toContain("syncGet");
      expect(caught!.error.message).toContain(`replay: npm run sim -- --nodes ${nodes} --seed ${caught!.seed} --fault syncReadEarly`);
    }
  }, LONG);

  it("the same seed replays the same run", () => {
    const a = run({ nodes: 3, seed: 42 });
    const b = run({ nodes: 3, seed: 42 });
    expect(b.events).toEqual(a.events);
    expect(b.check.lastCommitted()).toBe(a.check.lastCommitted());
    expect(b.history.ops).toEqual(a.history.ops);
  });
});
