// The fault schedule of the real-process chaos tests: one fault at a time (some of them
// compound), each held for a random while and then healed, with short calm spells between:
//
// - kill: SIGKILL a node (the leader half the time), restart it later on the same data dir;
// - pause: SIGSTOP a node (often the leader), SIGCONT it later;
// - isolate: cut one node off from all others, both ways (it goes read-only);
// - cut: a two-way cut between two nodes (both keep a quorum through the others);
// - one-way: drop the packets from one node to another (leader -> follower, or back);
// - split (5 nodes): two nodes cut off from the other three;
// - kill2: SIGKILL two nodes (a 3-node ensemble loses its quorum for a while);
// - pause+cut (5 nodes): pause the leader and cut two followers apart.
//
// Every fault and heal goes into a timeline (ms since the workload started) for the report.
import type { Random } from "@keeper/sim";
import type { ChaosCluster, ChaosNode } from "./chaos-cluster.ts";
import type { Firewall } from "./chaos-net.ts";
import { sleep } from "./ensemble.ts";

export interface FaultEvent {
  t: number;
  what: string;
}

type FaultKind = "kill" | "pause" | "isolate" | "cut" | "oneWay" | "split" | "kill2" | "pauseCut";

export class FaultInjector {
  readonly timeline: FaultEvent[] = [];
  readonly counts: Record<string, number> = {};
  private stopped = false;

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly fw: Firewall,
    private readonly rnd: Random,
    private readonly now: () => number,
  ) {}

  private note(what: string): void {
    this.timeline.push({ t: Math.round(this.now()), what });
  }

  /** The current serving leader, if /status answers quickly. */
  private async leader(): Promise<ChaosNode | undefined> {
    const sts = await Promise.all(this.cluster.nodes.map(async (n) => ({ n, s: await n.status(300) })));
    return sts.find((x) => x.s?.state === "leading" && x.s?.serving)?.n;
  }

  private others(n: ChaosNode): ChaosNode[] {
    return this.cluster.nodes.filter((x) => x !== n);
  }

  private pickKinds(): FaultKind[] {
    const big = this.cluster.nodes.length >= 5;
    const w: Array<[FaultKind, number]> = [
      ["kill", 3],
      ["pause", 3],
      ["isolate", 3],
      ["cut", 2],
      ["oneWay", 2],
      ["kill2", 1],
      ...(big ? ([["split", 2], ["pauseCut", 1]] as Array<[FaultKind, number]>) : []),
    ];
    const bag: FaultKind[] = [];
    for (const [k, n] of w) for (let i = 0; i < n; i++) bag.push(k);
    return bag;
  }

  /** Runs faults until `untilMs` (on the now() clock), then heals everything. */
  async run(untilMs: number): Promise<void> {
    const bag = this.pickKinds();
    try {
      while (!this.stopped && this.now() < untilMs) {
        const kind = this.rnd.pick(bag);
        this.counts[kind] = (this.counts[kind] ?? 0) + 1;
        const hold = Math.min(this.rnd.range(300, 2000), Math.max(0, untilMs - this.now()));
        await this.inject(kind, hold);
        await sleep(this.rnd.range(100, 700));
      }
    } finally {
      await this.healAll();
    }
  }

  stop(): void {
    this.stopped = true;
  }

  private async inject(kind: FaultKind, hold: number): Promise<void> {
    const nodes = this.cluster.nodes;
    const leader = await this.leader();
    const any = (): ChaosNode => this.rnd.pick(nodes);
    const leaderOrAny = (): ChaosNode => (leader && this.rnd.chance(0.5) ? leader : any());
    switch (kind) {
      case "kill": {
        const n = leaderOrAny();
        await this.kill([n], hold);
        return;
      }
      case "kill2": {
        const a = leaderOrAny();
        const b = this.rnd.pick(this.others(a));
        await this.kill([a, b], hold);
        return;
      }
      case "pause": {
        const n = leaderOrAny();
        n.pause();
        this.note(`SIGSTOP node ${n.id}${n === leader ? " (leader)" : ""}`);
        await sleep(hold);
        n.resume();
        this.note(`SIGCONT node ${n.id}`);
        return;
      }
      case "isolate": {
        const n = leaderOrAny();
        this.fw.isolate(n.ip, this.others(n).map((o) => o.ip));
        this.note(`isolate node ${n.id}${n === leader ? " (leader)" : ""}`);
        await sleep(hold);
        this.fw.healAll();
        this.note(`heal`);
        return;
      }
      case "cut": {
        const a = leaderOrAny();
        const b = this.rnd.pick(this.others(a));
        this.fw.cutBoth(a.ip, b.ip);
        this.note(`cut ${a.id} <-> ${b.id}${a === leader ? ` (${a.id} leads)` : ""}`);
        await sleep(hold);
        this.fw.healAll();
        this.note(`heal`);
        return;
      }
      case "oneWay": {
        const a = leaderOrAny();
        const b = this.rnd.pick(this.others(a));
        const [from, to] = this.rnd.chance(0.5) ? [a, b] : [b, a];
        this.fw.cutOneWay(from.ip, to.ip);
        this.note(`cut one way ${from.id} -> ${to.id}${leader ? ` (leader ${leader.id})` : ""}`);
        await sleep(hold);
        this.fw.healAll();
        this.note(`heal`);
        return;
      }
      case "split": {
        const first = leaderOrAny();
        const side = [first, this.rnd.pick(this.others(first))];
        const rest = nodes.filter((n) => !side.includes(n));
        this.fw.split(side.map((n) => n.ip), rest.map((n) => n.ip));
        this.note(`split {${side.map((n) => n.id).join(",")}} | {${rest.map((n) => n.id).join(",")}}${leader ? ` (leader ${leader.id})` : ""}`);
        await sleep(hold);
        this.fw.healAll();
        this.note(`heal`);
        return;
      }
      case "pauseCut": {
        const p = leader ?? any();
        const rest = this.others(p);
        const a = this.rnd.pick(rest);
        const b = this.rnd.pick(rest.filter((x) => x !== a));
        p.pause();
        this.fw.cutBoth(a.ip, b.ip);
        this.note(`SIGSTOP node ${p.id} and cut ${a.id} <-> ${b.id}`);
        await sleep(hold);
        p.resume();
        this.fw.healAll();
        this.note(`SIGCONT node ${p.id}, heal`);
        return;
      }
    }
  }

  private async kill(victims: ChaosNode[], hold: number): Promise<void> {
    await Promise.all(victims.map((n) => n.kill()));
    this.note(`SIGKILL node(s) ${victims.map((n) => n.id).join(",")}`);
    await sleep(hold);
    await Promise.all(victims.map((n) => n.start()));
    this.note(`restarted node(s) ${victims.map((n) => n.id).join(",")}`);
  }

  /** No cut, nothing paused, every node running. */
  async healAll(): Promise<void> {
    this.fw.healAll();
    for (const n of this.cluster.nodes) n.resume();
    await Promise.all(this.cluster.nodes.filter((n) => !n.running).map((n) => n.start()));
    this.note("healed everything");
  }
}
