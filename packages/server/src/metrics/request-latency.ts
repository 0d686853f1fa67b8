// Request latency, from the moment a request reaches this node to the moment its reply leaves:
// reads (answered here) and updates (through the leader) in separate histograms by operation,
// as ZooKeeper's readlatency and updatelatency, plus the min/avg/max that srvr and mntr print.
// This runs once per request on the write path: one clock read at arrival, one here, one map
// lookup by operation and one bucket increment; nothing is allocated per request.
import type { Logger } from "../logger.ts";
import type { FastHistogram, HistogramSeries } from "./fast-histogram.ts";

export type RequestKind = "read" | "update";

/** At most one slow-request line per this many ms: a node that is slow for everyone must not also flood its log. */
const SLOW_LOG_EVERY_MS = 1_000;

export class RequestLatency {
  private readonly reads = new Map<string, HistogramSeries>();
  private readonly updates = new Map<string, HistogramSeries>();
  count = 0;
  totalMs = 0;
  minMs = Infinity;
  maxMs = 0;
  slowCount = 0;
  private slowLoggedAtMs = -Infinity;
  private slowSuppressed = 0;

  constructor(
    private readonly read: FastHistogram,
    private readonly update: FastHistogram,
    /** Requests slower than this are logged with their operation and time; 0 turns it off. */
    private readonly slowMs: number,
    private readonly log: Logger,
  ) {}

  observe(op: string, kind: RequestKind, ms: number): void {
    const series = kind === "read" ? this.reads : this.updates;
    let s = series.get(op);
    if (!s) {
      s = (kind === "read" ? this.read : this.update).series(op);
      series.set(op, s);
    }
    s.observe(ms);
    this.count++;
    this.totalMs += ms;
    if (ms < this.minMs) this.minMs = ms;
    if (ms > this.maxMs) this.maxMs = ms;
    if (this.slowMs > 0 && ms >= this.slowMs) this.slow(op, kind, ms);
  }

  private slow(op: string, kind: RequestKind, ms: number): void {
    this.slowCount++;
    const now = performance.now();
    if (now - this.slowLoggedAtMs < SLOW_LOG_EVERY_MS) {
      this.slowSuppressed++;
      return;
    }
    this.log.warn({ op, kind, ms: Math.round(ms * 10) / 10, slowMs: this.slowMs, alsoSlowSinceLastLine: this.slowSuppressed }, "slow request");
    this.slowLoggedAtMs = now;
    this.slowSuppressed = 0;
  }

  /** Totals since start, for rates over an interval (the dashboard's live latency). */
  totals(): { count: number; totalMs: number } {
    return { count: this.count, totalMs: Math.round(this.totalMs * 1000) / 1000 };
  }

  /** min/avg/max in ms as ZooKeeper's srvr prints them (0 before the first request). */
  summary(): { minMs: number; avgMs: number; maxMs: number } {
    if (this.count === 0) return { minMs: 0, avgMs: 0, maxMs: 0 };
    return { minMs: this.minMs, avgMs: this.totalMs / this.count, maxMs: this.maxMs };
  }
}
