// A load-generating child process (forked by bench/lib/load.ts): `sessions` pipelined raw jute
// sessions, each keeping `depth` creates (or deletes) in flight, closed loop, over its share
// of the znode indexes. It reports its progress every PROGRESS_EVERY_MS and a final result.
//
// A dropped connection is what ZooKeeper's client reports as CONNECTIONLOSS for every request
// still in flight: those are counted, the session reconnects (a new session, on the next
// server) and re-issues them. A re-issued create answered NODEEXISTS (a re-issued delete
// answered NONODE) was applied before the drop, and counts as done.
import { Code, OPEN_ACL_UNSAFE, codeName, type ZkRequest } from "@keeper/protocol";
import { PipelinedSession } from "./jute-session.ts";

export interface LoadJob {
  servers: Array<{ host: string; port: number }>;
  /** Session s of this worker starts on servers[(firstServer + s) % servers.length]. */
  firstServer: number;
  sessions: number;
  depth: number;
  op: "create" | "delete";
  /** This worker's znode indexes: start, start + step, ... (count of them). */
  start: number;
  step: number;
  count: number;
  root: string;
  parents: number;
  dataBytes: number;
  sessionTimeoutMs: number;
}

export interface LoadCounters {
  /** Requests that reached their goal (created / deleted). */
  done: number;
  /** Replies and lost requests by code name: OK, NODEEXISTS, CONNECTIONLOSS, ... */
  codes: Record<string, number>;
  /** Re-issued requests answered NODEEXISTS/NONODE, counted in `done`. */
  retriedDone: number;
  /** Connections that dropped, with why (first few reasons kept). */
  drops: number;
  dropReasons: string[];
  reconnectFailures: number;
}

export type WorkerMessage =
  /** Every session connected once; the worker waits for "go" before it sends a request. */
  | { kind: "ready" }
  | { kind: "progress"; counters: LoadCounters }
  | { kind: "done"; counters: LoadCounters; wallMs: number; cpuUs: number }
  | { kind: "failed"; error: string; counters: LoadCounters };

export const PROGRESS_EVERY_MS = 100;
const RECONNECT_BACKOFF_MS = 100;
const DROP_REASONS_KEPT = 20;

export function znodePath(root: string, parents: number, i: number): string {
  return `${root}/p${i % parents}/n${i}`;
}

class Worker {
  readonly counters: LoadCounters = { done: 0, codes: {}, retriedDone: 0, drops: 0, dropReasons: [], reconnectFailures: 0 };
  private next = 0;
  private readonly retry: number[] = [];
  private readonly data: Uint8Array;
  private finish: (() => void) | undefined;
  private stopped = false;
  private inFlightTotal = 0;
  private connectedOnce = 0;
  private go: () => void = () => {};
  private readonly started = new Promise<void>((r) => (this.go = r));

  constructor(
    private readonly job: LoadJob,
    private readonly ready: () => void,
  ) {
    this.data = new Uint8Array(job.dataBytes).fill(120);
  }

  /** Lets the sessions issue requests (they connect first, so the clock starts on a warm client). */
  start(): void {
    this.go();
  }

  private count(code: number, n = 1): void {
    const name = codeName(code);
    this.counters.codes[name] = (this.counters.codes[name] ?? 0) + n;
  }

  /** The next index to issue, re-issues first; `retried` says whether it is one. */
  private take(): { i: number; retried: boolean } | undefined {
    const r = this.retry.pop();
    if (r !== undefined) return { i: r, retried: true };
    if (this.next >= this.job.count) return undefined;
    return { i: this.job.start + this.job.step * this.next++, retried: false };
  }

  private request(i: number): ZkRequest {
    const path = znodePath(this.job.root, this.job.parents, i);
    return this.job.op === "create" ? { type: "create", path, data: this.data, acl: [...OPEN_ACL_UNSAFE], flags: 0 } : { type: "delete", path, version: -1 };
  }

  /** Every index issued and answered: nothing left to issue or re-issue, nothing in flight. */
  private get finished(): boolean {
    return this.next >= this.job.count && this.retry.length === 0 && this.inFlightTotal === 0;
  }

  async run(): Promise<void> {
    const all = new Promise<void>((resolve) => (this.finish = resolve));
    for (let s = 0; s < this.job.sessions; s++) void this.session((this.job.firstServer + s) % this.job.servers.length);
    if (this.job.count === 0) this.finish!();
    await all;
    this.stopped = true;
  }

  /** One session's life: connect, keep `depth` in flight, on a drop re-issue and reconnect. */
  private async session(serverIndex: number): Promise<void> {
    const inFlight = new Map<number, { i: number; retried: boolean }>();
    let xid = 0;
    let server = serverIndex;
    for (;;) {
      if (this.stopped) return;
      const { host, port } = this.job.servers[server]!;
      let lost: (reason: string) => void = () => {};
      const lostP = new Promise<string>((r) => (lost = r));
      let s: PipelinedSession;
      const issue = (): void => {
        while (s.alive && inFlight.size < this.job.depth) {
          const t = this.take();
          if (t === undefined) break;
          xid++;
          inFlight.set(xid, t);
          this.inFlightTotal++;
          s.send(xid, this.request(t.i));
        }
        if (this.finished) this.finish!();
      };
      try {
        s = await PipelinedSession.open(host, port, { sessionTimeoutMs: this.job.sessionTimeoutMs, connectTimeoutMs: 10_000 }, {
          reply: (x, err) => {
            const t = inFlight.get(x);
            if (t === undefined) return;
            inFlight.delete(x);
            this.inFlightTotal--;
            this.count(err);
            const goneAlready = (this.job.op === "create" && err === Code.NODEEXISTS) || (this.job.op === "delete" && err === Code.NONODE);
            if (err === Code.OK) this.counters.done++;
            else if (t.retried && goneAlready) {
              this.counters.done++;
              this.counters.retriedDone++;
            }
            issue();
          },
          lost: (reason) => lost(reason),
        });
      } catch (e) {
        this.counters.reconnectFailures++;
        this.noteReason(`connect to ${host}:${port}: ${(e as Error).message}`);
        server = (server + 1) % this.job.servers.length;
        await sleep(RECONNECT_BACKOFF_MS);
        continue;
      }
      if (this.connectedOnce < this.job.sessions && ++this.connectedOnce === this.job.sessions) this.ready();
      await this.started;
      issue();
      const reason = await Promise.race([lostP, this.stoppedP()]);
      if (reason === undefined) {
        await s.close(++xid);
        return;
      }
      this.counters.drops++;
      this.noteReason(`${host}:${port}: ${reason} (${inFlight.size} in flight)`);
      this.count(Code.CONNECTIONLOSS, inFlight.size);
      for (const t of inFlight.values()) this.retry.push(t.i);
      this.inFlightTotal -= inFlight.size;
      inFlight.clear();
      server = (server + 1) % this.job.servers.length;
      await sleep(RECONNECT_BACKOFF_MS);
    }
  }

  private stoppedWaiters: Array<() => void> = [];
  private stoppedP(): Promise<undefined> {
    return new Promise((r) => this.stoppedWaiters.push(() => r(undefined)));
  }
  stop(): void {
    this.stopped = true;
    for (const w of this.stoppedWaiters) w();
  }

  private noteReason(reason: string): void {
    if (this.counters.dropReasons.length < DROP_REASONS_KEPT) this.counters.dropReasons.push(`${new Date().toISOString()} ${reason}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function send(m: WorkerMessage): void {
  process.send?.(m);
}

// Entry: a job, then (after this worker reported "ready") "go"; run it, report, exit.
if (process.send !== undefined) {
  // The parent is gone (killed, or gave up on us): nothing to report to.
  process.once("disconnect", () => setTimeout(() => process.exit(0), 1_000).unref());
  process.once("message", (job: LoadJob) => {
    const w = new Worker(job, () => send({ kind: "ready" }));
    let cpu0 = process.cpuUsage();
    let t0 = performance.now();
    let progress: NodeJS.Timeout | undefined;
    process.once("message", () => {
      cpu0 = process.cpuUsage();
      t0 = performance.now();
      progress = setInterval(() => send({ kind: "progress", counters: w.counters }), PROGRESS_EVERY_MS);
      w.start();
    });
    w.run().then(
      async () => {
        clearInterval(progress);
        const cpu = process.cpuUsage(cpu0);
        const wallMs = performance.now() - t0;
        w.stop();
        send({ kind: "done", counters: w.counters, wallMs, cpuUs: cpu.user + cpu.system });
        // Let the sessions send closeSession before exiting.
        await sleep(500);
        process.disconnect?.();
      },
      (e: unknown) => {
        clearInterval(progress);
        send({ kind: "failed", error: String((e as Error)?.stack ?? e), counters: w.counters });
        process.disconnect?.();
      },
    );
  });
}
