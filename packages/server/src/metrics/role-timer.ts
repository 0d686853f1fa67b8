// Times the phases a node goes through after losing its leader: the election (LOOKING until a
// leader is decided: ZooKeeper's election_time) and the sync that follows (until the node
// serves: follower_sync_time, or keeper_leader_sync_time for the new leader), and logs why each
// election started. Fed by the replica's role changes, on the monotonic clock.
import type { ReplicaStatus } from "@keeper/core";
import type { Logger } from "../logger.ts";
import type { NodeMetrics } from "./node-metrics.ts";

export class RoleTimer {
  private lookingSinceMs: number | undefined;
  private syncingSinceMs: number | undefined;
  private lastRole: ReplicaStatus["role"] | undefined;

  constructor(
    private readonly metrics: NodeMetrics,
    private readonly log: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {}

  roleChanged(s: ReplicaStatus): void {
    const now = this.now();
    const entered = s.role !== this.lastRole;
    this.lastRole = s.role;
    if (s.role === "looking") {
      if (!entered) return;
      this.lookingSinceMs = now;
      this.syncingSinceMs = undefined;
      this.metrics.lookingCount.inc();
      this.log.info({ reason: s.electionReason, epoch: s.currentEpoch, lastZxid: s.lastLoggedZxid }, `election started: ${s.electionReason ?? "unknown reason"}`);
      return;
    }
    if (entered) {
      if (this.lookingSinceMs !== undefined) {
        const ms = now - this.lookingSinceMs;
        this.metrics.electionMs.observe(ms);
        this.log.info({ leader: s.leader, electionMs: Math.round(ms) }, "election decided");
      }
      this.lookingSinceMs = undefined;
      this.syncingSinceMs = s.serving ? undefined : now;
    }
    if (s.serving && this.syncingSinceMs !== undefined) {
      const ms = now - this.syncingSinceMs;
      (s.role === "leading" ? this.metrics.leaderSyncMs : this.metrics.followerSyncMs).observe(ms);
      this.syncingSinceMs = undefined;
    }
  }
}
