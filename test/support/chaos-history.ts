// Clients for the real-process chaos tests, and the history they record.
//
// Each worker is one sequential client (one operation at a time, as in the simulator): it
// connects through every node of the cluster and issues random operations on a few keys —
// create, delete and setData (version -1, or a guessed version: a compare-and-set), a plain
// getData, and sync-then-getData. Every operation is recorded with its invocation and
// completion time (performance.now(), ms since the workload started), input, and output, or
// "unknown" when the connection was lost or the call timed out.
//
// What the public API does not return, the wire does: each client gets its WebSocket through
// the client's own `WebSocket` option, wrapped in a tap that decodes the frames going by. From
// it every operation learns the xid and session of each request it put on the wire, and for
// each answer the zxid the server gave it (a write's transaction, or the state a read was
// taken from) and which server answered, read-only or not. chaos-check.ts matches those
// (session, xid) pairs against the committed transaction log.
import { performance } from "node:perf_hooks";
import { WebSocket as WsSocket } from "ws";
import { Code, KeeperError, connect, type KeeperClient, type WebSocketConstructor, type WebSocketLike } from "@keeper/client";
import { decodeClientMessage, decodeServerMessage } from "@keeper/protocol";
import { Random, type OpInput, type OpOutput } from "@keeper/sim";
import { sleep } from "./ensemble.ts";

/** A request an operation put on the wire. */
export interface SentRequest {
  xid: number;
  type: string;
  /** The session of the connection it went out on. */
  session: number;
  /** The server that connection is to. */
  server: number;
}

/** The answer to one request, as the wire carried it. */
export interface WireResponse {
  zxid: number;
  err: number;
  server: number;
  readOnly: boolean;
  session: number;
}

export interface RawOp {
  id: number;
  /** The worker (logical client) that issued it. */
  worker: number;
  /** The KeeperClient instance: a new one after an expiry or a deliberate reconnect. */
  instance: number;
  key: string;
  input: OpInput;
  call: number;
  /** Infinity when the outcome is unknown. */
  ret: number;
  output: OpOutput | "unknown";
  /** The answering server's zxid (the last request's answer), when answered. */
  zxid?: number;
  server?: number;
  readOnly?: boolean;
  sends: SentRequest[];
  /** Why the outcome is unknown, or which error the server gave. */
  note?: string;
}

/** Per client: a WebSocket constructor that records what goes over each socket. */
export class WireTap {
  private sent: SentRequest[] = [];
  private readonly awaited = new Set<number>();
  private readonly responses = new Map<number, WireResponse>();
  readonly WebSocket: WebSocketConstructor;

  constructor() {
    const tap = this;
    this.WebSocket = class TappedSocket implements WebSocketLike {
      private readonly inner: WsSocket;
      private session = 0;
      private server = -1;
      private readOnly = false;
      onopen: ((event: any) => void) | null = null;
      onmessage: ((event: any) => void) | null = null;
      onclose: ((event: any) => void) | null = null;
      onerror: ((event: any) => void) | null = null;

      constructor(url: string) {
        this.inner = new WsSocket(url);
        this.inner.onopen = (ev) => this.onopen?.(ev);
        this.inner.onclose = (ev) => this.onclose?.(ev);
        this.inner.onerror = (ev) => this.onerror?.(ev);
        this.inner.onmessage = (ev) => {
          this.observe(ev.data);
          this.onmessage?.(ev);
        };
      }
      get binaryType(): string {
        return this.inner.binaryType;
      }
      set binaryType(v: string) {
        this.inner.binaryType = v as "arraybuffer";
      }
      get readyState(): number {
        return this.inner.readyState;
      }
      send(data: Uint8Array): void {
        try {
          const msg = decodeClientMessage(data);
          if (msg.kind === "request" && msg.request.type !== "ping") {
            tap.sent.push({ xid: msg.xid, type: msg.request.type, session: this.session, server: this.server });
            tap.awaited.add(msg.xid);
          }
        } catch {
          // not ours to judge
        }
        this.inner.send(data);
      }
      close(code?: number, reason?: string): void {
        this.inner.close(code, reason);
      }
      private observe(data: unknown): void {
        const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;
        if (!bytes) return;
        try {
          const msg = decodeServerMessage(bytes);
          if (msg.kind === "connected") {
            this.session = msg.sessionId;
            this.server = msg.serverId;
            this.readOnly = msg.readOnly;
          } else if (msg.kind === "response" && tap.awaited.has(msg.xid)) {
            tap.responses.set(msg.xid, { zxid: msg.zxid, err: msg.err, server: this.server, readOnly: this.readOnly, session: this.session });
          }
        } catch {
          // the client will notice
        }
      }
    } as unknown as WebSocketConstructor;
  }

  /** Requests sent since the last take(), and forgets them. */
  take(): SentRequest[] {
    const s = this.sent;
    this.sent = [];
    return s;
  }

  response(xid: number): WireResponse | undefined {
    return this.responses.get(xid);
  }

  forget(xids: number[]): void {
    for (const x of xids) {
      this.awaited.delete(x);
      this.responses.delete(x);
    }
  }
}

export interface WorkloadOptions {
  connectString: string;
  keys: string[];
  workers: number;
  seed: number;
  /** Which workers accept read-only servers. */
  canBeReadOnly?: (worker: number) => boolean;
  sessionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Pause between operations, ms (uniform in [lo, hi]). */
  thinkMs?: [number, number];
  /** Chance per operation that the worker drops its client and starts a new one (moving node). */
  reconnectChance?: number;
}

type Kind = OpInput["kind"];

export class Workload {
  readonly ops: RawOp[] = [];
  readonly t0 = performance.now();
  readonly counts = { connects: 0, connectFailures: 0, expired: 0, reconnects: 0 };
  private stopping = false;
  private running: Promise<void>[] = [];
  private readonly clients = new Set<KeeperClient>();
  private nextInstance = 1;
  private nextValue = 1;

  constructor(readonly opts: WorkloadOptions) {}

  now(): number {
    return performance.now() - this.t0;
  }

  start(): void {
    for (let w = 0; w < this.opts.workers; w++) this.running.push(this.worker(w, new Random(this.opts.seed * 1000 + w + 1)));
  }

  /** Stops issuing operations, waits for the ones in flight, closes every client. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
    await Promise.all([...this.clients].map((c) => Promise.race([c.close().catch(() => {}), sleep(3_000)])));
    this.clients.clear();
  }

  /** A fresh tapped client with its own instance number. */
  async client(connectString: string, opts: { canBeReadOnly?: boolean; sessionTimeoutMs?: number; requestTimeoutMs?: number; connectTimeoutMs?: number } = {}): Promise<{ client: KeeperClient; tap: WireTap; instance: number }> {
    const tap = new WireTap();
    const client = await connect(connectString, {
      sessionTimeoutMs: opts.sessionTimeoutMs ?? this.opts.sessionTimeoutMs ?? 4_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? this.opts.requestTimeoutMs ?? 2_000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 3_000,
      canBeReadOnly: opts.canBeReadOnly ?? false,
      WebSocket: tap.WebSocket,
    });
    this.clients.add(client);
    return { client, tap, instance: this.nextInstance++ };
  }

  async closeClient(c: KeeperClient): Promise<void> {
    this.clients.delete(c);
    await Promise.race([c.close().catch(() => {}), sleep(3_000)]);
  }

  private async worker(w: number, rnd: Random): Promise<void> {
    const ro = this.opts.canBeReadOnly?.(w) ?? false;
    const [lo, hi] = this.opts.thinkMs ?? [2, 10];
    const versions = new Map<string, number>();
    let cur: { client: KeeperClient; tap: WireTap; instance: number } | undefined;
    while (!this.stopping) {
      if (cur && (cur.client.state === "expired" || cur.client.state === "closed")) {
        this.counts.expired++;
        void this.closeClient(cur.client);
        cur = undefined;
      }
      if (cur && rnd.chance(this.opts.reconnectChance ?? 0.005)) {
        this.counts.reconnects++;
        void this.closeClient(cur.client);
        cur = undefined;
      }
      if (!cur) {
        try {
          cur = await this.client(this.opts.connectString, { canBeReadOnly: ro });
          this.counts.connects++;
        } catch {
          this.counts.connectFailures++;
          await sleep(100);
          continue;
        }
      }
      const key = rnd.chance(0.4) ? this.opts.keys[0]! : rnd.pick(this.opts.keys);
      const r = rnd.next();
      const kind: Kind = r < 0.15 ? "create" : r < 0.25 ? "delete" : r < 0.55 ? "setData" : r < 0.78 ? "get" : "syncGet";
      const guess = (): number => {
        if (rnd.chance(0.25)) return -1;
        const v = versions.get(key) ?? 0;
        return rnd.chance(0.7) ? v : Math.max(0, v + rnd.pick([-1, 1, 2]));
      };
      const data = `w${w}.${this.nextValue++}`;
      const input: OpInput =
        kind === "create" ? { kind, data, owner: 0 }
        : kind === "delete" ? { kind, version: guess() }
        : kind === "setData" ? { kind, data, version: guess() }
        : { kind } as OpInput;
      const op = await this.run(cur.client, cur.tap, w, cur.instance, key, input);
      if (op.output !== "unknown" && op.output.err === Code.OK) {
        if (op.output.version !== undefined) versions.set(key, op.output.version);
        if (kind === "create") versions.set(key, 0);
      }
      await sleep(rnd.range(lo, hi));
    }
    if (cur) await this.closeClient(cur.client);
  }

  /** Runs one operation on `client` and records it. */
  async run(client: KeeperClient, tap: WireTap, worker: number, instance: number, key: string, input: OpInput): Promise<RawOp> {
    tap.take();
    const op: RawOp = { id: this.ops.length, worker, instance, key, input, call: this.now(), ret: Infinity, output: "unknown", sends: [] };
    this.ops.push(op);
    let output: OpOutput | undefined;
    let failure: unknown;
    try {
      switch (input.kind) {
        case "create":
          await client.create(key, input.data);
          output = { err: Code.OK };
          break;
        case "delete":
          await client.delete(key, input.version);
          output = { err: Code.OK };
          break;
        case "setData": {
          const stat = await client.setData(key, input.data, input.version);
          output = { err: Code.OK, version: stat.version };
          break;
        }
        case "get":
        case "syncGet": {
          if (input.kind === "syncGet") await client.sync(key);
          const { data, stat } = await client.getData(key);
          output = { err: Code.OK, exists: true, data: new TextDecoder().decode(data), version: stat.version, owner: stat.ephemeralOwner };
          break;
        }
        default:
          throw new Error(`workload cannot run ${input.kind}`);
      }
    } catch (e) {
      failure = e;
    }
    const t = this.now();
    op.sends = tap.take();
    const last = op.sends[op.sends.length - 1];
    const resp = last ? tap.response(last.xid) : undefined;
    tap.forget(op.sends.map((s) => s.xid));
    if (output === undefined && failure instanceof KeeperError && resp !== undefined && resp.err === failure.code) {
      // The server answered with an error: a definite outcome.
      output = failure.code === Code.NONODE && (input.kind === "get" || input.kind === "syncGet") ? { err: Code.OK, exists: false } : { err: failure.code };
      if (output.exists === undefined) op.note = `server answered ${failure.message}`;
    } else if (output === undefined) {
      op.note = failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure);
    }
    if (output !== undefined) {
      op.ret = t;
      op.output = output;
      if (resp) {
        op.zxid = resp.zxid;
        op.server = resp.server;
        op.readOnly = resp.readOnly;
      }
    }
    return op;
  }
}
