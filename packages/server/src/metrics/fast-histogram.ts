// A histogram whose observe() allocates nothing: prom-client's Histogram builds a label object
// and a hash string on every observation (about 2 µs and garbage per request, measured), which
// is too much for the write path. This keeps one array of bucket counts per label value and
// hands prom-client's registry the same family (_bucket with le, _sum, _count) at scrape time,
// so the text is still prom-client's.
import type { Metric, Registry } from "prom-client";

/** The counts of one label value (or of an unlabelled histogram). */
export class HistogramSeries {
  /** counts[i] observations in (upper[i-1], upper[i]]; the last slot is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly upper: readonly number[]) {
    this.counts = new Float64Array(upper.length + 1);
  }

  observe(value: number): void {
    const upper = this.upper;
    let i = 0;
    // Buckets are few (a dozen or so): a linear scan beats a binary search at this size.
    while (i < upper.length && value > upper[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
}

export class FastHistogram {
  readonly aggregator = "sum";
  private readonly byLabel = new Map<string, HistogramSeries>();
  private readonly unlabelled: HistogramSeries | undefined;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly upper: readonly number[],
    /** The one label that splits the series (e.g. "op"), or none. */
    private readonly labelName: string | undefined,
    registry: Registry,
  ) {
    this.unlabelled = labelName === undefined ? new HistogramSeries(upper) : undefined;
    // The registry renders any metric whose get() returns a family of values.
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series for one label value, made on first use; keep it to observe without a lookup. */
  series(labelValue: string): HistogramSeries {
    let s = this.byLabel.get(labelValue);
    if (!s) {
      s = new HistogramSeries(this.upper);
      this.byLabel.set(labelValue, s);
    }
    return s;
  }

  /** Observes on an unlabelled histogram. */
  observe(value: number): void {
    this.unlabelled!.observe(value);
  }

  get(): { name: string; help: string; type: "histogram"; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    if (this.unlabelled) this.render(values, this.unlabelled, {});
    for (const [label, s] of this.byLabel) this.render(values, s, { [this.labelName!]: label });
    return { name: this.name, help: this.help, type: "histogram", aggregator: this.aggregator, values };
  }

  /** Resets the counts (prom-client's Registry.resetMetrics calls it). */
  reset(): void {
    for (const s of [this.unlabelled, ...this.byLabel.values()]) {
      if (!s) continue;
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }

  private render(out: MetricValue[], s: HistogramSeries, labels: Record<string, string>): void {
    let cumulative = 0;
    for (let i = 0; i < this.upper.length; i++) {
      cumulative += s.counts[i]!;
      out.push({ value: cumulative, labels: { ...labels, le: this.upper[i]! }, metricName: `${this.name}_bucket` });
    }
    out.push({ value: s.count, labels: { ...labels, le: "+Inf" }, metricName: `${this.name}_bucket` });
    out.push({ value: s.sum, labels, metricName: `${this.name}_sum` });
    out.push({ value: s.count, labels, metricName: `${this.name}_count` });
  }
}
