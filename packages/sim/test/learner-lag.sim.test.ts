// The leader's view of its learners (what /metrics shows as synced_followers and
// keeper_follower_lag_txns), checked at every step of seeded simulated runs with faults: a
// synced learner's lag is a count of transactions in the leader's log window, never negative or
// beyond it; the lag is seen above zero while proposals are in flight; and once the faults are
// healed it returns to every follower synced with nothing left to acknowledge. And every election
// a replica starts carries its reason.
import { describe, expect, it } from "vitest";
import { SimCluster, defaultSimOptions } from "../src/index.ts";

describe("learner states under simulation", () => {
  it.each([1, 2, 3])("seed %i: lags are bounded by the log window, seen in flight, and back to zero once healed", (seed) => {
    const sim = new SimCluster({ ...defaultSimOptions, nodes: 3, seed, durationMs: 8_000, checkLinearizability: false });
    let maxLag = 0;
    let leaderSteps = 0;
    const reasons = new Set<string>();
    while (sim.now < 8_000) {
      sim.step();
      for (const n of sim.nodes.values()) {
        const r = n.replica;
        if (!r) continue;
        const s = r.status();
        if (s.role === "looking") {
          expect(s.electionReason, `node ${n.id} looking without a reason`).toBeTruthy();
          reasons.add(s.electionReason!.replace(/\d+/g, "N"));
        }
        if (s.role !== "leading") continue;
        leaderSteps++;
        for (const l of r.learnerStates()) {
          if (!l.synced) {
            expect(l.lagTxns).toBeUndefined();
            continue;
          }
          expect(Number.isInteger(l.lagTxns)).toBe(true);
          expect(l.lagTxns!).toBeGreaterThanOrEqual(0);
          expect(l.lagTxns!).toBeLessThanOrEqual(r.log.length);
          maxLag = Math.max(maxLag, l.lagTxns!);
        }
      }
    }
    // The run did real work: a leader most of the time, proposals in flight, elections.
    expect(leaderSteps).toBeGreaterThan(2_000);
    expect(maxLag).toBeGreaterThan(0);
    expect(reasons.has("start")).toBe(true);
    // Heal: the clients keep writing, but between their writes every follower is synced with
    // nothing left to acknowledge (acks still in flight show as a lag of 1 or 2 meanwhile).
    sim.opts.faultRate = 0;
    sim.net.messageFaults = undefined;
    const settled = () => {
      const leader = [...sim.nodes.values()].find((n) => n.replica?.status().role === "leading")?.replica;
      const states = leader?.learnerStates() ?? [];
      return sim.converged() && states.length === 2 && states.every((l) => l.synced && l.lagTxns === 0 && !l.lagBeyondWindow);
    };
    let steps = 0;
    while (!settled() && steps++ < 30_000) sim.step();
    expect(settled(), sim.describe()).toBe(true);
  });
});
