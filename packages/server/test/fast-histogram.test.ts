// FastHistogram renders exactly what prom-client's own Histogram renders for the same
// observations, so Prometheus cannot tell them apart; only the cost of observe() differs.
import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { FastHistogram } from "../src/metrics/fast-histogram.ts";

const BUCKETS = [0.5, 1, 5, 10, 100];
const VALUES = [0, 0.5, 0.50001, 1, 3, 10, 99.9, 100, 100.1, 5000];

/** Sample lines, sorted, with label order normalised (prom-client puts le first, then the others). */
async function samples(registry: Registry): Promise<string[]> {
  const text = await registry.metrics();
  return text
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.replace(/\{([^}]*)\}/, (_m, inner: string) => `{${inner.split(",").sort().join(",")}}`))
    .sort();
}

describe("FastHistogram", () => {
  it("renders the same bucket, sum and count lines as prom-client's Histogram, labelled", async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const h = new Histogram({ name: "lat", help: "h", labelNames: ["op"], buckets: BUCKETS, registers: [theirs] });
    const f = new FastHistogram("lat", "h", BUCKETS, "op", ours);
    for (const [i, v] of VALUES.entries()) {
      const op = i % 3 === 0 ? "create" : "getData";
      h.labels(op).observe(v);
      f.series(op).observe(v);
    }
    expect(await samples(ours)).toEqual(await samples(theirs));
    expect((await ours.metrics()).split("\n").slice(0, 2)).toEqual(["# HELP lat h", "# TYPE lat histogram"]);
  });

  it("renders the same lines unlabelled, and resets", async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const h = new Histogram({ name: "fsync", help: "f", buckets: BUCKETS, registers: [theirs] });
    const f = new FastHistogram("fsync", "f", BUCKETS, undefined, ours);
    for (const v of VALUES) {
      h.observe(v);
      f.observe(v);
    }
    expect(await samples(ours)).toEqual(await samples(theirs));
    ours.resetMetrics();
    expect(await samples(ours)).toContain("fsync_count 0");
  });
});
