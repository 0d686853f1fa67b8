// A simulated network between replicas. ZAB's proposals, forwarded requests and sync messages
// ride one FIFO stream per pair (TCP in the server, as in ZooKeeper): their only fault is a
// broken connection, which loses whatever was in flight and tells both ends. The messages ZAB
// is built to survive losing, repeating or reordering (votes are re-sent; acks, commits and
// heartbeats are cumulative) also get those faults here, one message at a time, while
// `messageFaults` is on.
import type { PeerMessage, ServerId } from "@keeper/core";
import { Random } from "./random.ts";

interface InFlight {
  at: number;
  from: ServerId;
  to: ServerId;
  msg: PeerMessage;
  /** The link incarnation it was sent on: a message never crosses a reconnect. */
  generation: number;
}

/** Message types whose delivery need not be FIFO or exactly-once. */
const LOOSE_TYPES: ReadonlySet<PeerMessage["type"]> = new Set(["notification", "ack", "commit", "ping"]);

export interface MessageFaults {
  /** Per loose message, the chance it is lost, sent twice, or delivered out of order. */
  drop: number;
  duplicate: number;
  reorder: number;
  /** A reordered or repeated copy arrives up to this much later than it would have. */
  lateMs: number;
}

export class SimNetwork {
  private queue: InFlight[] = [];
  private readonly lastAt = new Map<string, number>();
  private readonly generation = new Map<string, number>();
  /** Links cut by a partition, as "a>b" (one-way cuts allowed). */
  readonly cut = new Set<string>();
  /** Applied to loose messages while set (the cluster turns it off between fault storms). */
  messageFaults: MessageFaults | undefined;
  /** `overtook`: reordered messages delivered ahead of one sent before them on the same link. */
  readonly faultStats = { dropped: 0, duplicated: 0, reordered: 0, overtook: 0 };

  constructor(private readonly rng: Random, private readonly latencyMs: [number, number]) {}

  private key(a: ServerId, b: ServerId): string {
    return `${a}>${b}`;
  }

  linkUp(a: ServerId, b: ServerId): boolean {
    return !this.cut.has(this.key(a, b)) && !this.cut.has(this.key(b, a));
  }

  send(now: number, from: ServerId, to: ServerId, msg: PeerMessage): void {
    const k = this.key(from, to);
    if (!this.linkUp(from, to)) return;
    const generation = this.generation.get(this.pairKey(from, to)) ?? 0;
    const latency = now + this.rng.range(this.latencyMs[0], this.latencyMs[1]);
    const f = LOOSE_TYPES.has(msg.type) ? this.messageFaults : undefined;
    if (f && this.rng.chance(f.drop)) {
      this.faultStats.dropped++;
      return;
    }
    if (f && this.rng.chance(f.reorder)) {
      // Outside the stream's order: either on time, overtaking whatever is queued ahead of it
      // on the link, or late, overtaken by what is sent after it.
      const at = this.rng.chance(0.5) ? latency : latency + this.rng.range(1, f.lateMs);
      this.faultStats.reordered++;
      if (at < (this.lastAt.get(k) ?? 0)) this.faultStats.overtook++;
      this.queue.push({ at, from, to, msg, generation });
    } else {
      const at = Math.max(this.lastAt.get(k) ?? 0, latency);
      this.lastAt.set(k, at);
      this.queue.push({ at, from, to, msg, generation });
    }
    if (f && this.rng.chance(f.duplicate)) {
      this.faultStats.duplicated++;
      this.queue.push({ at: latency + this.rng.range(0, f.lateMs), from, to, msg, generation });
    }
  }

  private pairKey(a: ServerId, b: ServerId): string {
    return a < b ? `${a}-${b}` : `${b}-${a}`;
  }

  /** Breaks the connection between a and b: in-flight messages both ways are lost. */
  breakLink(a: ServerId, b: ServerId): void {
    const k = this.pairKey(a, b);
    this.generation.set(k, (this.generation.get(k) ?? 0) + 1);
  }

  /** Messages due by `now`, in delivery order. */
  due(now: number): InFlight[] {
    if (this.queue.length === 0) return [];
    let earliest = Infinity;
    for (const m of this.queue) if (m.at < earliest) earliest = m.at;
    if (earliest > now) return [];
    const ready = this.queue.filter((m) => m.at <= now && (this.generation.get(this.pairKey(m.from, m.to)) ?? 0) === m.generation);
    this.queue = this.queue.filter((m) => m.at > now && (this.generation.get(this.pairKey(m.from, m.to)) ?? 0) === m.generation);
    return ready.sort((a, b) => a.at - b.at);
  }

  nextAt(): number | undefined {
    let min: number | undefined;
    for (const m of this.queue) if (min === undefined || m.at < min) min = m.at;
    return min;
  }
}
