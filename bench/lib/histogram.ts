// A latency histogram in microseconds with about 3% resolution (log-linear buckets: exact below
// 64 us, then 32 buckets per power of two), small enough to send from a load worker to its
// parent and merge there. Quantiles answer the middle of their bucket.

const EXACT = 64;
const PER_OCTAVE = 32;
export const BUCKETS = 1024;

export function bucketOf(us: number): number {
  const v = Math.max(0, Math.round(us));
  if (v < EXACT) return v;
  const e = 31 - Math.clz32(v) - 5;
  return Math.min(BUCKETS - 1, EXACT + (e - 1) * PER_OCTAVE + ((v >> e) - PER_OCTAVE));
}

/** The middle of a bucket, in microseconds. */
export function valueOf(idx: number): number {
  if (idx < EXACT) return idx;
  const e = Math.floor((idx - EXACT) / PER_OCTAVE) + 1;
  const m = ((idx - EXACT) % PER_OCTAVE) + PER_OCTAVE;
  return (m * 2 ** e + (m + 1) * 2 ** e) / 2;
}

export class Histogram {
  readonly counts = new Float64Array(BUCKETS);
  n = 0;

  record(us: number): void {
    this.counts[bucketOf(us)]!++;
    this.n++;
  }

  /** Non-empty buckets as [index, count] pairs, for IPC. */
  sparse(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    this.counts.forEach((c, i) => {
      if (c > 0) out.push([i, c]);
    });
    return out;
  }

  add(sparse: Array<[number, number]>): void {
    for (const [i, c] of sparse) {
      this.counts[i]! += c;
      this.n += c;
    }
  }

  /** The q-quantile (0..1) in milliseconds, NaN when empty. */
  quantileMs(q: number): number {
    if (this.n === 0) return NaN;
    const target = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= target) return valueOf(i) / 1000;
    }
    return valueOf(BUCKETS - 1) / 1000;
  }
}
