// Election and sync times from the replica's role changes, and the election's reason logged.
import type { ReplicaStatus, ServerId } from "@keeper/core";
import { describe, expect, it, vi } from "vitest";
import type { Logger } from "../src/logger.ts";
import { NodeMetrics } from "../src/metrics/node-metrics.ts";
import { RoleTimer } from "../src/metrics/role-timer.ts";
import { tempDir } from "./temp-dir.ts";

const status = (role: ReplicaStatus["role"], serving: boolean, electionReason?: string): ReplicaStatus => ({
  role,
  serving,
  integrity: "ok",
  leader: role === "looking" ? undefined : (2 as ServerId),
  acceptedEpoch: 1,
  currentEpoch: 1,
  lastLoggedZxid: 0 as never,
  committedZxid: 0 as never,
  round: 1,
  activity: "",
  electionReason,
});

describe("RoleTimer", () => {
  it("times the election until a leader is decided, then the sync until serving, and logs why the election started", async () => {
    const dir = tempDir();
    const info = vi.fn();
    const log = { info, warn: vi.fn(), child: () => log } as unknown as Logger;
    const metrics = new NodeMetrics(dir.path, 0, log);
    let now = 1_000;
    const timer = new RoleTimer(metrics, log, () => now);
    timer.roleChanged(status("looking", false, "lost the connection to leader 3"));
    now += 250;
    timer.roleChanged(status("following", false));
    now += 40;
    timer.roleChanged(status("following", true));
    // A repeated report of the same role changes nothing.
    timer.roleChanged(status("following", true));
    const text = await metrics.registry.metrics();
    expect(text).toContain("election_time_sum 250\n");
    expect(text).toContain("election_time_count 1\n");
    expect(text).toContain("follower_sync_time_sum 40\n");
    expect(text).toContain("keeper_leader_sync_time_count 0\n");
    expect(text).toContain("looking_count 1\n");
    expect(info).toHaveBeenCalledWith(expect.objectContaining({ reason: "lost the connection to leader 3" }), "election started: lost the connection to leader 3");
    dir.cleanup();
  });
});
