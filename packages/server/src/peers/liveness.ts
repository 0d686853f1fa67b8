// Which peer links went silent, judged on a monotonic clock the caller reads (performance.now(),
// never Date.now(), which an NTP step moves). Silence counts only while this node was running:
// a node that was itself paused (a long synchronous task, a GC, SIGSTOP) sent no pings and has
// not yet read what arrived meanwhile (after a block, timers run before the poll phase reads
// sockets), so the time it was paused says nothing about its peers.
import { assert } from "@keeper/core";

export interface SilentLink<Id> {
  id: Id;
  silentMs: number;
}

export class LinkLiveness<Id> {
  /** When each link last carried anything, shifted forward by this node's own pauses. */
  private readonly lastHeardMs = new Map<Id, number>();
  private lastCheckMs: number;

  constructor(
    /** A link silent this long (while this node ran) is judged dead. */
    readonly silenceMsMax: number,
    /** How often the caller calls check(); a check later than twice this means this node was paused. */
    readonly checkEveryMs: number,
    nowMs: number,
  ) {
    // A pause must be noticed (a check two intervals late) before a silence could be judged.
    assert(2 * checkEveryMs < silenceMsMax, `liveness checks every ${checkEveryMs} ms cannot judge a ${silenceMsMax} ms silence`);
    this.lastCheckMs = nowMs;
  }

  heard(id: Id, nowMs: number): void {
    this.lastHeardMs.set(id, nowMs);
  }

  /** How long `id` has been silent (while this node ran); Infinity for a link never heard. */
  silentMs(id: Id, nowMs: number): number {
    const t = this.lastHeardMs.get(id);
    return t === undefined ? Infinity : nowMs - t;
  }

  forget(id: Id): void {
    this.lastHeardMs.delete(id);
  }

  /**
   * The periodic check, in its timer: when it comes late, this node was paused for the delay
   * beyond one interval, and every link's silence so far is moved past that pause. Returns the
   * pause in ms (0: on time). Judge silence with silent() only after pending input was read.
   */
  check(nowMs: number): number {
    const gapMs = nowMs - this.lastCheckMs;
    this.lastCheckMs = nowMs;
    if (gapMs <= 2 * this.checkEveryMs) return 0;
    const pausedMs = gapMs - this.checkEveryMs;
    for (const [id, t] of this.lastHeardMs) this.lastHeardMs.set(id, Math.min(nowMs, t + pausedMs));
    return pausedMs;
  }

  /** Links that carried nothing for longer than silenceMsMax of this node's running time. */
  silent(nowMs: number): SilentLink<Id>[] {
    const out: SilentLink<Id>[] = [];
    for (const [id, t] of this.lastHeardMs) if (nowMs - t > this.silenceMsMax) out.push({ id, silentMs: Math.round(nowMs - t) });
    return out;
  }
}
