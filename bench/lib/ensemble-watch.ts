// Watches an ensemble's roles while a benchmark runs: every `intervalMs` it asks each member
// its role (Keeper: admin /status, ZooKeeper: `srvr`) and, for Keeper, the event loop's longest
// delay. From the samples it counts leader changes (a new leader id or a new epoch, as seen
// from whichever member reports itself leader), role changes per member, and polls a member
// left unanswered, which is what a stall looks like from outside.

export interface MemberSample {
  id: number;
  /** "leading"/"following"/"looking" (Keeper), "leader"/"follower"/"not serving" (ZooKeeper), "no answer". */
  role: string;
  isLeader: boolean;
  epoch?: number;
  eventLoopMaxMs?: number;
}

export interface WatchSummary {
  samples: number;
  /** Distinct (leader, epoch) pairs seen, minus the first. */
  leaderChanges: number;
  leaders: string[];
  /** Role transitions of members, "t=12.3s node 2: following -> looking". */
  roleChanges: string[];
  /** Per member id: polls it did not answer within the poll timeout. */
  unanswered: Record<number, number>;
  /** Per member id: the largest event-loop delay it reported (Keeper only). */
  eventLoopMaxMs: Record<number, number>;
  /** Seconds after start at which a member first went unanswered, first few. */
  unansweredAt: string[];
}

export class EnsembleWatch {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly t0 = performance.now();
  private readonly summary: WatchSummary = { samples: 0, leaderChanges: 0, leaders: [], roleChanges: [], unanswered: {}, eventLoopMaxMs: {}, unansweredAt: [] };
  private readonly lastRole = new Map<number, string>();
  private lastLeader: string | undefined;
  private stopped = false;

  constructor(
    private readonly poll: () => Promise<MemberSample[]>,
    private readonly intervalMs = 500,
  ) {}

  start(): this {
    const tick = async (): Promise<void> => {
      if (this.stopped) return;
      const started = performance.now();
      this.running = this.sample();
      await this.running;
      if (!this.stopped) this.timer = setTimeout(() => void tick(), Math.max(0, this.intervalMs - (performance.now() - started)));
    };
    void tick();
    return this;
  }

  async stop(): Promise<WatchSummary> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    return this.summary;
  }

  private at(): string {
    return `t=${((performance.now() - this.t0) / 1000).toFixed(1)}s`;
  }

  private async sample(): Promise<void> {
    let samples: MemberSample[];
    try {
      samples = await this.poll();
    } catch {
      return;
    }
    const s = this.summary;
    s.samples++;
    for (const m of samples) {
      const prev = this.lastRole.get(m.id);
      if (prev !== undefined && prev !== m.role) s.roleChanges.push(`${this.at()} node ${m.id}: ${prev} -> ${m.role}`);
      this.lastRole.set(m.id, m.role);
      if (m.role === "no answer") {
        s.unanswered[m.id] = (s.unanswered[m.id] ?? 0) + 1;
        if (s.unansweredAt.length < 50) s.unansweredAt.push(`${this.at()} node ${m.id}`);
      }
      if (m.eventLoopMaxMs !== undefined) s.eventLoopMaxMs[m.id] = Math.max(s.eventLoopMaxMs[m.id] ?? 0, m.eventLoopMaxMs);
      if (m.isLeader) {
        const key = `${m.id}@${m.epoch ?? "?"}`;
        if (key !== this.lastLeader && !s.leaders.includes(key)) {
          if (this.lastLeader !== undefined) s.leaderChanges++;
          s.leaders.push(key);
        }
        this.lastLeader = key;
      }
    }
  }
}
