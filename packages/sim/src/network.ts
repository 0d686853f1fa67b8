// A simulated network of FIFO links (as TCP gives ZAB). Faults are what TCP can really do:
// delay, and a broken connection that loses whatever was in flight and tells both ends.
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

export class SimNetwork {
  private queue: InFlight[] = [];
  private readonly lastAt = new Map<string, number>();
  private readonly generation = new Map<string, number>();
  /** Links cut by a partition, as "a>b" (one-way cuts allowed). */
  readonly cut = new Set<string>();

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
    const at = Math.max(this.lastAt.get(k) ?? 0, now + this.rng.range(this.latencyMs[0], this.latencyMs[1]));
    this.lastAt.set(k, at);
    this.queue.push({ at, from, to, msg, generation: this.generation.get(this.pairKey(from, to)) ?? 0 });
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
