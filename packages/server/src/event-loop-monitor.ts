// How long this node's event loop goes without turning. One thread answers clients and peers,
// so a stall longer than the peer silence window makes the node look dead to its peers: /status
// shows the delay percentiles of the last seconds, and every stall over a threshold is logged
// with its length, so an operator can tie an election to what stalled the node.
import { monitorEventLoopDelay, performance, type IntervalHistogram } from "node:perf_hooks";
import type { Logger } from "./logger.ts";

export interface EventLoopStats {
  /** The percentiles cover the last completed window of this length (the current one at first). */
  windowMs: number;
  p50Ms: number;
  p99Ms: number;
  /** The longest delay in the last completed window and the current one. */
  maxMs: number;
  /** Stalls of at least stallWarnMs since start, each logged as a warning. */
  stalls: number;
  lastStallMs: number | null;
  stallWarnMs: number;
}

export interface EventLoopMonitorOptions {
  stallWarnMs?: number;
  windowMs?: number;
}

/** node's histogram samples every this many ms; each sample is the interval, so it is subtracted. */
const RESOLUTION_MS = 20;
/** The stall detector's own timer: a stall is seen at most this much shorter than it was. */
const CHECK_EVERY_MS = 50;
const ms = (ns: number) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 10) / 10);

interface Summary {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function summary(h: IntervalHistogram): Summary | undefined {
  return h.count > 0 ? { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) } : undefined;
}

export class EventLoopMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private readonly stallWarnMs: number;
  private readonly windowMs: number;
  private timer: NodeJS.Timeout | undefined;
  private lastCheckMs = 0;
  private windowStartMs = 0;
  private last: Summary | undefined;
  private stalls = 0;
  private lastStallMs: number | null = null;
  private rollDeferred = false;

  constructor(private readonly log: Logger, opts: EventLoopMonitorOptions = {}) {
    this.stallWarnMs = opts.stallWarnMs ?? 200;
    this.windowMs = opts.windowMs ?? 10_000;
  }

  start(): void {
    this.histogram.enable();
    this.lastCheckMs = this.windowStartMs = performance.now();
    this.timer = setInterval(() => this.check(), CHECK_EVERY_MS);
    // Never what keeps the process alive.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.histogram.disable();
  }

  stats(): EventLoopStats {
    const current = summary(this.histogram) ?? { p50Ms: 0, p99Ms: 0, maxMs: 0 };
    const shown = this.last ?? current;
    return { windowMs: this.windowMs, p50Ms: shown.p50Ms, p99Ms: shown.p99Ms, maxMs: Math.max(shown.maxMs, current.maxMs), stalls: this.stalls, lastStallMs: this.lastStallMs, stallWarnMs: this.stallWarnMs };
  }

  /** Runs every CHECK_EVERY_MS: a late run is a stall; a full window rolls the histogram over. */
  private check(): void {
    const now = performance.now();
    const stallMs = Math.round(now - this.lastCheckMs - CHECK_EVERY_MS);
    this.lastCheckMs = now;
    if (stallMs >= this.stallWarnMs) {
      this.stalls++;
      this.lastStallMs = stallMs;
      this.log.warn({ stallMs, stallWarnMs: this.stallWarnMs }, "event loop stalled: peers and clients went unanswered meanwhile");
    }
    if (now - this.windowStartMs < this.windowMs) return;
    // node's histogram records a stall only when its own timer next runs, and reset() drops a
    // stall not yet recorded: a window due on a late check ends on the next one instead.
    if (stallMs >= RESOLUTION_MS && !this.rollDeferred) {
      this.rollDeferred = true;
      return;
    }
    this.rollDeferred = false;
    this.last = summary(this.histogram) ?? this.last;
    this.histogram.reset();
    this.windowStartMs = now;
  }
}
