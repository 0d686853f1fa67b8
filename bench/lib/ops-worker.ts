// A load-generating child process for the throughput benchmark (forked by bench/lib/ops-load.ts):
// `sessions` pipelined raw jute sessions (bench/lib/jute-session.ts), each keeping `depth`
// requests in flight, closed loop, for `durationMs` after the parent says "go". It counts the
// requests answered within that window, their latency (send to reply) in a histogram, the reply
// codes, and the CPU this process used in the window.
//
// Workloads (100-byte data unless told otherwise):
//   setData  setData of a random one of `keys` znodes, version -1
//   create   a sequential create under this session's own parent
//   getData  getData of a random one of `keys` znodes
//   mixed    90% getData / 10% setData, as above
//   multi    one multi of a sequential create and `multiOps - 1` setData of random keys
// A dropped connection is counted and its session stops: the benchmark reports drops, it does
// not hide them by reconnecting.
import { Code, OPEN_ACL_UNSAFE, codeName, type ZkMultiOp, type ZkRequest } from "@keeper/protocol";
import { Histogram } from "./histogram.ts";
import { PipelinedSession } from "./jute-session.ts";

export type Workload = "setData" | "create" | "getData" | "mixed" | "multi";

export interface OpsJob {
  servers: Array<{ host: string; port: number }>;
  /** Session s of this worker starts on servers[(firstServer + s) % servers.length]. */
  firstServer: number;
  sessions: number;
  depth: number;
  workload: Workload;
  /** Znodes `${root}/k${i}` for i < keys exist (setData, getData, mixed, multi). */
  root: string;
  keys: number;
  /** Parent of session s's sequential creates (it exists): `${createParents[s]}/n-`. */
  createParents: string[];
  dataBytes: number;
  multiOps: number;
  durationMs: number;
  sessionTimeoutMs: number;
}

export interface OpsResult {
  /** Requests answered within the window (a multi counts once). */
  done: number;
  /** Requests answered OK within the window. */
  ok: number;
  /** Reply codes by name, within the window. */
  codes: Record<string, number>;
  hist: Array<[number, number]>;
  wallMs: number;
  cpuUs: number;
  drops: number;
  dropReasons: string[];
}

export type OpsMessage = { kind: "ready" } | { kind: "done"; result: OpsResult } | { kind: "failed"; error: string };

const SEQUENTIAL = 2;

function send(m: OpsMessage): void {
  process.send?.(m);
}

async function main(job: OpsJob): Promise<void> {
  const data = new Uint8Array(job.dataBytes).fill(120);
  const hist = new Histogram();
  const codes: Record<string, number> = {};
  const dropReasons: string[] = [];
  let done = 0;
  let ok = 0;
  let drops = 0;
  let measuring = false;
  let end = Infinity;
  const key = (): string => `${job.root}/k${Math.floor(Math.random() * job.keys)}`;
  const setData = (): ZkRequest => ({ type: "setData", path: key(), data, version: -1 });
  const getData = (): ZkRequest => ({ type: "getData", path: key(), watch: false });
  const make = (s: number): (() => ZkRequest) => {
    const seqPath = `${job.createParents[s]}/n-`;
    switch (job.workload) {
      case "setData":
        return setData;
      case "getData":
        return getData;
      case "mixed":
        return () => (Math.random() < 0.1 ? setData() : getData());
      case "create":
        return () => ({ type: "create", path: seqPath, data, acl: [...OPEN_ACL_UNSAFE], flags: SEQUENTIAL });
      case "multi":
        return () => {
          const ops: ZkMultiOp[] = [{ type: "create", path: seqPath, data, acl: [...OPEN_ACL_UNSAFE], flags: SEQUENTIAL }];
          for (let k = 1; k < job.multiOps; k++) ops.push({ type: "setData", path: key(), data, version: -1 });
          return { type: "multi", ops };
        };
    }
  };

  interface Live {
    s: PipelinedSession;
    sent: Map<number, number>;
    xid: number;
    next: () => ZkRequest;
  }
  const lives: Live[] = [];
  const issue = (l: Live): void => {
    while (l.s.alive && l.sent.size < job.depth && performance.now() < end) {
      l.xid++;
      l.sent.set(l.xid, performance.now());
      l.s.send(l.xid, l.next());
    }
  };
  await Promise.all(
    Array.from({ length: job.sessions }, async (_, s) => {
      const { host, port } = job.servers[(job.firstServer + s) % job.servers.length]!;
      const l: Live = { s: undefined as unknown as PipelinedSession, sent: new Map(), xid: 0, next: make(s) };
      l.s = await PipelinedSession.open(host, port, { sessionTimeoutMs: job.sessionTimeoutMs, connectTimeoutMs: 15_000 }, {
        reply: (xid, err) => {
          const t = l.sent.get(xid);
          if (t === undefined) return;
          l.sent.delete(xid);
          const now = performance.now();
          if (measuring && now <= end) {
            done++;
            if (err === Code.OK) ok++;
            const name = codeName(err);
            codes[name] = (codes[name] ?? 0) + 1;
            hist.record((now - t) * 1000);
          }
          issue(l);
        },
        lost: (reason) => {
          drops++;
          if (dropReasons.length < 10) dropReasons.push(`${host}:${port}: ${reason} (${l.sent.size} in flight)`);
        },
      });
      lives.push(l);
    }),
  );
  send({ kind: "ready" });
  await new Promise<void>((resolve) => process.once("message", () => resolve()));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  end = t0 + job.durationMs;
  measuring = true;
  for (const l of lives) issue(l);
  await new Promise((r) => setTimeout(r, job.durationMs));
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  measuring = false;
  send({ kind: "done", result: { done, ok, codes, hist: hist.sparse(), wallMs, cpuUs: cpu.user + cpu.system, drops, dropReasons } });
  // Let what is in flight drain (no new requests leave after `end`), then close the sessions.
  const drainUntil = performance.now() + 5_000;
  while (lives.some((l) => l.s.alive && l.sent.size > 0) && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 20));
  await Promise.all(lives.map((l) => l.s.close(l.xid + 1, 2_000)));
}

if (process.send !== undefined) {
  process.once("disconnect", () => setTimeout(() => process.exit(0), 1_000).unref());
  process.once("message", (job: OpsJob) => {
    main(job).then(
      () => process.disconnect?.(),
      (e: unknown) => {
        send({ kind: "failed", error: String((e as Error)?.stack ?? e) });
        process.disconnect?.();
      },
    );
  });
}
