// The event-loop monitor reports delay percentiles in /status and logs each stall over its
// threshold with the stall's length. Bounds come from the block the test imposes (a loaded
// machine only makes the measured stall longer), never from how fast the machine is.
import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { EventLoopMonitor } from "../src/event-loop-monitor.ts";

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: "info" }, new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
  return { log, lines };
}

const busyFor = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Blocks the event loop.
  }
};

describe("EventLoopMonitor", () => {
  let monitor: EventLoopMonitor | undefined;
  afterEach(() => monitor?.stop());

  it("EventLoopMonitor logs a stall over its threshold with the stall's length and counts it", async () => {
    const { log, lines } = capture();
    monitor = new EventLoopMonitor(log, { stallWarnMs: 200 });
    monitor.start();
    await new Promise((r) => setTimeout(r, 100));
    busyFor(400);
    const warnings = () => lines.filter((l) => l.msg?.toString().startsWith("event loop stalled"));
    // The detector's timer can have run up to one check interval (50 ms) into the block. (A
    // loaded machine may stall the loop on its own too: those are counted as well.)
    await vi.waitFor(() => expect(warnings().some((l) => (l.stallMs as number) >= 350)).toBe(true), { timeout: 5000, interval: 20 });
    expect(warnings().every((l) => l.level === 40 && (l.stallMs as number) >= 200)).toBe(true);
    const s = monitor.stats();
    expect(s.stalls).toBe(warnings().length);
    expect(s.lastStallMs).toBe(warnings().at(-1)!.stallMs);
    // node's histogram saw the whole block, less its 20 ms sampling interval.
    expect(s.maxMs).toBeGreaterThanOrEqual(380);
    expect(s.p99Ms).toBeGreaterThanOrEqual(s.p50Ms);
  });

  it("EventLoopMonitor.stats() before any sample reports zeros and no stall", () => {
    monitor = new EventLoopMonitor(capture().log);
    monitor.start();
    expect(monitor.stats()).toEqual({ windowMs: 10_000, p50Ms: 0, p99Ms: 0, maxMs: 0, stalls: 0, lastStallMs: null, stallWarnMs: 200 });
  });

  it("EventLoopMonitor rolls its window over: the percentiles cover the last completed window", async () => {
    monitor = new EventLoopMonitor(capture().log, { windowMs: 500, stallWarnMs: 10_000 });
    monitor.start();
    await new Promise((r) => setTimeout(r, 100));
    busyFor(1000);
    // Seen once node's histogram timer has run after the block (then kept for one more window).
    await vi.waitFor(() => expect(monitor!.stats().maxMs).toBeGreaterThanOrEqual(900), { timeout: 400, interval: 5 });
    // Past the end of the window holding the block, and of the one after it.
    await new Promise((r) => setTimeout(r, 1200));
    expect(monitor.stats().maxMs).toBeLessThan(950);
  });
});
