// The parent side of the pipelined raw jute load: forks `workers` child processes
// (bench/lib/load-worker.ts), hands each its share of the znode indexes (worker w takes
// w, w + workers, ...), merges their progress into one timeline and their counters into one
// result. Children are killed (by their PID) if anything goes wrong.
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { LoadCounters, LoadJob, WorkerMessage } from "./load-worker.ts";

export interface LoadPlan {
  servers: Array<{ host: string; port: number }>;
  workers: number;
  sessionsPerWorker: number;
  depth: number;
  op: "create" | "delete";
  total: number;
  root: string;
  parents: number;
  dataBytes: number;
  sessionTimeoutMs: number;
  /** Gives up (kills the workers) after this long. */
  timeoutMs: number;
  /** Called with the merged count of done requests at every progress report. */
  onProgress?: (done: number) => void;
}

export interface LoadResult {
  total: number;
  done: number;
  wallMs: number;
  opsPerSec: number;
  counters: LoadCounters;
  /** Client CPU, all workers: seconds of CPU per second of the load (1.0 = one core busy). */
  clientCores: number;
  workerCores: number[];
  /** Rate of each tenth of the load, in order (ops/s). */
  decileRates: number[];
  /** The longest time in which no request completed (from the ~100 ms progress reports). */
  longestNoProgressMs: number;
  /** When it happened, ms after the start of the load. */
  longestNoProgressAtMs: number;
  /** Completions per second, second by second. */
  perSecond: number[];
}

const tsxLoader = (): string => {
  try {
    return import.meta.resolve("tsx");
  } catch {
    return "tsx";
  }
};

function mergeCounters(all: LoadCounters[]): LoadCounters {
  const out: LoadCounters = { done: 0, codes: {}, retriedDone: 0, drops: 0, dropReasons: [], reconnectFailures: 0 };
  for (const c of all) {
    out.done += c.done;
    out.retriedDone += c.retriedDone;
    out.drops += c.drops;
    out.reconnectFailures += c.reconnectFailures;
    out.dropReasons.push(...c.dropReasons);
    for (const [k, v] of Object.entries(c.codes)) out.codes[k] = (out.codes[k] ?? 0) + v;
  }
  return out;
}

export async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const file = join(import.meta.dirname, "load-worker.ts");
  const children: ChildProcess[] = [];
  const latest: LoadCounters[] = [];
  const finals: Array<{ wallMs: number; cpuUs: number } | undefined> = [];
  const timeline: Array<{ tMs: number; done: number }> = [{ tMs: 0, done: 0 }];
  let t0 = 0;
  const readies: Array<Promise<void>> = [];
  try {
    const results = Array.from({ length: plan.workers }, (_, w) => {
      const child = fork(file, [], { execArgv: ["--import", tsxLoader()], stdio: ["ignore", "inherit", "inherit", "ipc"] });
      children.push(child);
      latest.push({ done: 0, codes: {}, retriedDone: 0, drops: 0, dropReasons: [], reconnectFailures: 0 });
      finals.push(undefined);
      let ready: () => void = () => {};
      readies.push(new Promise<void>((r) => (ready = r)));
      return new Promise<void>((resolve, reject) => {
        child.on("message", (m: WorkerMessage) => {
          if (m.kind === "ready") return ready();
          latest[w] = m.counters;
          const done = latest.reduce((n, c) => n + c.done, 0);
          if (done !== timeline[timeline.length - 1]!.done) timeline.push({ tMs: performance.now() - t0, done });
          plan.onProgress?.(done);
          if (m.kind === "done") {
            finals[w] = { wallMs: m.wallMs, cpuUs: m.cpuUs };
            resolve();
          } else if (m.kind === "failed") reject(new Error(`load worker ${w} failed: ${m.error}`));
        });
        child.once("exit", (code, signal) => {
          if (finals[w] === undefined) reject(new Error(`load worker ${w} exited (${code ?? signal}) before finishing`));
        });
      });
    });
    children.forEach((child, w) => child.send(jobFor(plan, w)));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`load of ${plan.total} ${plan.op}s not finished after ${plan.timeoutMs} ms (${latest.reduce((n, c) => n + c.done, 0)} done)`)), plan.timeoutMs);
    });
    const all = Promise.all(results);
    try {
      // Every session of every worker connected: the clock starts with the first request.
      await Promise.race([Promise.all(readies), all, timeout]);
      t0 = performance.now();
      for (const child of children) child.send("go");
      await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return summarize(plan, performance.now() - t0, latest, finals, timeline);
  } finally {
    await stopWorkers(children);
  }
}

/** Worker w's share: indexes w, w + workers, ...; its sessions start on different members. */
function jobFor(plan: LoadPlan, w: number): LoadJob {
  return {
    servers: plan.servers,
    firstServer: w * plan.sessionsPerWorker,
    sessions: plan.sessionsPerWorker,
    depth: plan.depth,
    op: plan.op,
    start: w,
    step: plan.workers,
    count: Math.max(0, Math.ceil((plan.total - w) / plan.workers)),
    root: plan.root,
    parents: plan.parents,
    dataBytes: plan.dataBytes,
    sessionTimeoutMs: plan.sessionTimeoutMs,
  };
}

function summarize(plan: LoadPlan, wallMs: number, latest: LoadCounters[], finals: Array<{ wallMs: number; cpuUs: number } | undefined>, timeline: Array<{ tMs: number; done: number }>): LoadResult {
  const counters = mergeCounters(latest);
  const stall = longestGap(timeline);
  return {
    total: plan.total,
    done: counters.done,
    wallMs,
    opsPerSec: counters.done / (wallMs / 1000),
    counters,
    clientCores: finals.reduce((n, f) => n + (f ? f.cpuUs / 1000 : 0), 0) / wallMs,
    workerCores: finals.map((f) => (f ? f.cpuUs / 1000 / f.wallMs : NaN)),
    decileRates: deciles(timeline, plan.total),
    longestNoProgressMs: stall.ms,
    longestNoProgressAtMs: stall.atMs,
    perSecond: perSecond(timeline),
  };
}

/** Waits for the workers to exit on their own (they do after "done"), SIGKILL after 3 s. */
async function stopWorkers(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once("exit", r));
      const t = setTimeout(() => c.kill("SIGKILL"), 3_000);
      await exited;
      clearTimeout(t);
    }),
  );
}

/** The time at which `done` first reached `target`, interpolated between reports. */
function timeAt(timeline: Array<{ tMs: number; done: number }>, target: number): number {
  for (let k = 1; k < timeline.length; k++) {
    const a = timeline[k - 1]!;
    const b = timeline[k]!;
    if (b.done >= target) return a.tMs + ((b.tMs - a.tMs) * (target - a.done)) / Math.max(1, b.done - a.done);
  }
  return NaN;
}

function deciles(timeline: Array<{ tMs: number; done: number }>, total: number): number[] {
  const out: number[] = [];
  let prev = 0;
  for (let k = 1; k <= 10; k++) {
    const t = timeAt(timeline, (total * k) / 10);
    out.push(total / 10 / ((t - prev) / 1000));
    prev = t;
  }
  return out;
}

function longestGap(timeline: Array<{ tMs: number; done: number }>): { ms: number; atMs: number } {
  let best = { ms: 0, atMs: 0 };
  for (let k = 1; k < timeline.length; k++) {
    const gap = timeline[k]!.tMs - timeline[k - 1]!.tMs;
    if (gap > best.ms) best = { ms: gap, atMs: timeline[k - 1]!.tMs };
  }
  return best;
}

function perSecond(timeline: Array<{ tMs: number; done: number }>): number[] {
  const last = timeline[timeline.length - 1]!;
  const out: number[] = [];
  for (let s = 1; s * 1000 <= last.tMs + 999; s++) {
    const a = timeAtSecond(timeline, (s - 1) * 1000);
    const b = timeAtSecond(timeline, Math.min(s * 1000, last.tMs));
    out.push(b - a);
  }
  return out;
}

/** Done count at time `tMs` (the last report at or before it). */
function timeAtSecond(timeline: Array<{ tMs: number; done: number }>, tMs: number): number {
  let done = 0;
  for (const p of timeline) {
    if (p.tMs > tMs) break;
    done = p.done;
  }
  return done;
}
