// The node-wide bound on requests in flight (ZooKeeper's globalOutstandingLimit). Each
// connection already stops reading when its own backlog is long; this adds one count for all of
// them: past `max`, a connection that delivers another request while it has requests of its own
// in flight stops reading its socket, and every connection stopped this way reads again once the
// count is down to half. Requests already read are never dropped or reordered; the bound is soft
// by what one socket read can carry.

import { assert } from "@keeper/core";

/** What the bound can stop and restart: a connection's reading. */
export interface Throttled {
  throttle(paused: boolean): void;
}

export class OutstandingRequests {
  /** Requests received and not yet answered, on every connection of the node. */
  private count = 0;
  private readonly paused = new Set<Throttled>();

  /** `onPause` is told each time a connection is paused by this bound (a counter in /status). */
  constructor(
    readonly max: number,
    private readonly onPause: () => void = () => {},
  ) {}

  get outstanding(): number {
    return this.count;
  }

  /** Connections paused by this bound right now. */
  get pausedCount(): number {
    return this.paused.size;
  }

  /** `n` requests arrived. */
  add(n = 1): void {
    this.count += n;
  }

  /** `n` requests were answered (or dropped with their connection). */
  remove(n = 1): void {
    this.count -= n;
    assert(this.count >= 0, `outstanding requests went negative (${this.count})`);
    if (this.paused.size > 0 && this.count <= Math.floor(this.max / 2)) {
      const all = [...this.paused];
      this.paused.clear();
      for (const c of all) c.throttle(false);
    }
  }

  /** Called after `conn` delivered a request: pauses it while the node is over its bound. */
  check(conn: Throttled): void {
    if (this.count <= this.max || this.paused.has(conn)) return;
    this.paused.add(conn);
    this.onPause();
    conn.throttle(true);
  }

  /** `conn` is gone: it is no longer held. */
  forget(conn: Throttled): void {
    this.paused.delete(conn);
  }
}
