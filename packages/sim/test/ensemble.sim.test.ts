import { describe, expect, it } from "vitest";
import { SimCluster, defaultSimOptions, type SimOptions } from "../src/index.ts";

// CI runs this many seeds per ensemble size; `npm run sim -- --seeds N` runs more.
const SEEDS = Number(process.env.KEEPER_SIM_SEEDS ?? 150);

function run(opts: Partial<SimOptions> & { seed: number }): SimCluster {
  const sim = new SimCluster({ ...defaultSimOptions, ...opts });
  sim.run();
  return sim;
}

describe("simulated ensemble under seeded faults", () => {
  it.each([3, 5] as const)("a %i-node ensemble keeps every invariant across seeds", (nodes) => {
    let acked = 0;
    let crashes = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const sim = run({ nodes, seed });
      acked += sim.stats.acked;
      crashes += sim.stats.crashes;
    }
    // The runs did real work under real faults, or the test proves nothing.
    expect(acked).toBeGreaterThan(SEEDS * 50);
    expect(crashes).toBeGreaterThan(SEEDS * 5);
  });

  // Seeds that once failed, kept as regressions.
  it.each([
    [5, 9, "clients still writing when the settle deadline came"],
    [5, 70, "a stale sync from an earlier join attempt left a gap in a follower's log"],
    [3, 1, "a restarted node's applied baseline was taken as zero"],
  ] as Array<[3 | 5, number, string]>)("%i nodes, seed %i (%s) passes", (nodes, seed, _why) => {
    expect(() => run({ nodes, seed })).not.toThrow();
  });

  it("an injected bug (commit without a quorum) is caught within the CI seed budget", () => {
    let caught = 0;
    for (let seed = 1; seed <= 30; seed++) {
      try {
        run({ nodes: 3, seed, testFault: "commitWithoutQuorum" });
      } catch (e) {
        expect((e as Error).name).toMatch(/InvariantViolation|AssertionError/);
        caught++;
      }
    }
    expect(caught).toBeGreaterThan(0);
  });

  it("the same seed replays the same run", () => {
    const a = run({ nodes: 3, seed: 42 });
    const b = run({ nodes: 3, seed: 42 });
    expect(b.events).toEqual(a.events);
    expect(b.check.lastCommitted()).toBe(a.check.lastCommitted());
  });
});
