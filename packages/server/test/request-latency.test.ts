// Request latency: the histograms by operation, the min/avg/max srvr prints, and the slow-request
// log line (operation and time), at most one a second.
import { Registry } from "prom-client";
import { describe, expect, it, vi } from "vitest";
import type { Logger } from "../src/logger.ts";
import { FastHistogram } from "../src/metrics/fast-histogram.ts";
import { RequestLatency } from "../src/metrics/request-latency.ts";

function setup(slowMs: number) {
  const registry = new Registry();
  const read = new FastHistogram("readlatency", "r", [1, 10, 100], "op", registry);
  const update = new FastHistogram("updatelatency", "u", [1, 10, 100], "op", registry);
  const warn = vi.fn();
  const latency = new RequestLatency(read, update, slowMs, { warn } as unknown as Logger);
  return { latency, read, update, warn, registry };
}

describe("RequestLatency", () => {
  it("observes reads and updates in their own histogram, labelled by operation", async () => {
    const { latency, registry } = setup(0);
    latency.observe("getData", "read", 0.5);
    latency.observe("getData", "read", 5);
    latency.observe("create", "update", 20);
    const text = await registry.metrics();
    expect(text).toContain('readlatency_count{op="getData"} 2');
    expect(text).toContain('readlatency_bucket{op="getData",le="1"} 1');
    expect(text).toContain('updatelatency_count{op="create"} 1');
    expect(text).not.toContain('readlatency_count{op="create"}');
    expect(latency.summary()).toEqual({ minMs: 0.5, avgMs: 25.5 / 3, maxMs: 20 });
  });

  it("reports zeros before the first request, as ZooKeeper does", () => {
    expect(setup(0).latency.summary()).toEqual({ minMs: 0, avgMs: 0, maxMs: 0 });
  });

  it("logs a slow request with its operation and time, then at most one line a second, counting the rest", () => {
    vi.useFakeTimers({ toFake: ["performance"] });
    try {
      const { latency, warn } = setup(100);
      latency.observe("getData", "read", 99);
      expect(warn).not.toHaveBeenCalled();
      latency.observe("setData", "update", 250);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]![0]).toMatchObject({ op: "setData", kind: "update", ms: 250, slowMs: 100 });
      expect(warn.mock.calls[0]![1]).toBe("slow request");
      latency.observe("create", "update", 300);
      expect(warn).toHaveBeenCalledTimes(1);
      vi.advanceTimersByTime(1_000);
      latency.observe("create", "update", 400);
      expect(warn).toHaveBeenCalledTimes(2);
      expect(warn.mock.calls[1]![0]).toMatchObject({ op: "create", ms: 400, alsoSlowSinceLastLine: 1 });
      expect(latency.slowCount).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it("logs nothing when the threshold is 0", () => {
    const { latency, warn } = setup(0);
    latency.observe("create", "update", 60_000);
    expect(warn).not.toHaveBeenCalled();
  });
});
