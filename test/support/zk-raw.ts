// Two raw ZooKeeper wire-protocol clients over net.Socket, both on the jute codec of
// @keeper/protocol (client half):
//  - RawZk, a bare connection for tests that send what no real client would (truncated frames,
//    oversized lengths, unknown opcodes, garbage): raw bytes out, frames in.
//  - ZkRawClient, a minimal well-behaved client: the connect handshake, requests matched to
//    replies by xid, pings at a third of the negotiated timeout, and every watch notification
//    collected in arrival order together with how many replies had arrived before it (so the
//    order of events relative to replies can be checked). It hides nothing: replies come back as
//    decoded frames, errors as codes. It can resume a session (id, password and the last zxid it
//    saw, as a client failing over to another server does) and send the requests that go with
//    fixed xids (auth packets at -4, setWatches at -8); watch bookkeeping is the caller's.
import { connect as netConnect, type Socket } from "node:net";
import {
  FrameDecoder,
  PING_XID,
  NOTIFICATION_XID,
  decodeConnectResponse,
  decodeReply,
  decodeWatchEvent,
  encodeConnectRequest,
  encodeZkRequest,
  zkRequestOpcode,
  type ZkConnectResponse,
  type ZkReply,
  type ZkRequest,
} from "@keeper/protocol";

/** A ConnectRequest frame for a new session, or to `resume` an old one. */
function connectRequest(timeOut: number, resume?: { sessionId: bigint; passwd: Uint8Array }, lastZxidSeen = 0n): Uint8Array {
  return encodeConnectRequest({ protocolVersion: 0, lastZxidSeen, timeOut, sessionId: resume?.sessionId ?? 0n, passwd: resume?.passwd ?? new Uint8Array(16), readOnly: false });
}

/** The xid a server frame starts with (NOTIFICATION_XID, PING_XID or a request's). */
function frameXid(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getInt32(0);
}

export class RawZk {
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024);
  private readonly frames: Uint8Array[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  /** Resolves when the server closes the connection (or it errors). */
  readonly closed: Promise<void>;
  readonly events: Array<{ type: number; state: number; path: string }> = [];

  private constructor(readonly sock: Socket) {
    this.closed = new Promise((resolve) => {
      const done = () => {
        this.ended = true;
        this.waiter?.();
        resolve();
      };
      sock.once("close", done);
      sock.on("error", () => {}); // a reset is a close here
    });
    sock.on("data", (chunk: Buffer) => {
      try {
        this.frames.push(...this.decoder.push(chunk));
      } catch {
        sock.destroy();
      }
      this.waiter?.();
    });
  }

  static open(port: number, host = "127.0.0.1"): Promise<RawZk> {
    return new Promise((resolve, reject) => {
      const s = netConnect(port, host);
      s.setNoDelay(true);
      s.once("connect", () => resolve(new RawZk(s)));
      s.once("error", reject);
    });
  }

  get isClosed(): boolean {
    return this.ended;
  }

  write(bytes: Uint8Array | string): void {
    this.sock.write(bytes);
  }

  /** The next frame, or "closed" if the server closes first, or "timeout". */
  async nextFrame(timeoutMs = 5_000): Promise<Uint8Array | "closed" | "timeout"> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.shift();
      if (f) return f;
      if (this.ended) return "closed";
      const left = deadline - Date.now();
      if (left <= 0) return "timeout";
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = undefined;
          resolve();
        };
      });
    }
  }

  /** Sends a ConnectRequest (a new session, or `resume` an old one) and reads the ConnectResponse. */
  async handshake(resume?: { sessionId: bigint; passwd: Uint8Array }, timeOut = 10_000): Promise<ZkConnectResponse> {
    this.write(connectRequest(timeOut, resume));
    const f = await this.nextFrame();
    if (typeof f === "string") throw new Error(`no ConnectResponse: ${f}`);
    return decodeConnectResponse(f);
  }

  /** The reply to the next non-notification frame, decoded as a reply to `opcode`. */
  async reply(opcode: number, timeoutMs = 5_000): Promise<ZkReply | "closed" | "timeout"> {
    for (;;) {
      const f = await this.nextFrame(timeoutMs);
      if (typeof f === "string") return f;
      if (frameXid(f) === NOTIFICATION_XID) {
        this.events.push(decodeWatchEvent(f).event);
        continue;
      }
      return decodeReply(f, opcode);
    }
  }

  /** Sends `req` with `xid` and waits for its reply. */
  async request(xid: number, req: ZkRequest, timeoutMs = 5_000): Promise<ZkReply | "closed" | "timeout"> {
    this.write(encodeZkRequest(xid, req));
    return this.reply(zkRequestOpcode(req), timeoutMs);
  }

  end(): void {
    this.sock.end();
    this.sock.destroy();
  }
}

export interface ZkRawEvent {
  type: number;
  state: number;
  path: string;
  zxid: bigint;
  /** Replies (to non-ping requests) this client had received when the event arrived. */
  afterReplies: number;
}

interface Pending {
  opcode: number;
  resolve: (r: ZkReply) => void;
  reject: (e: Error) => void;
}

export class ZkRawClient {
  readonly events: ZkRawEvent[] = [];
  /** Replies received so far (pings excluded). */
  replies = 0;
  /** The highest zxid a reply header carried (pings excluded), as a client's lastZxid. */
  lastZxid = 0n;
  private xid = 0;
  private readonly pending = new Map<number, Pending>();
  private ping: NodeJS.Timeout | undefined;
  private closedError: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly sessionId: bigint,
    readonly timeoutMs: number,
    readonly passwd: Uint8Array,
    private readonly decoder: FrameDecoder,
  ) {}

  /**
   * Opens a TCP connection and a new session, or resumes `opts.resume` telling the server the
   * last zxid this session saw (`lastZxidSeen`; a server behind it refuses by closing).
   */
  static async connect(
    host: string,
    port: number,
    opts: { timeoutMs?: number; connectTimeoutMs?: number; resume?: { sessionId: bigint; passwd: Uint8Array }; lastZxidSeen?: bigint } = {},
  ): Promise<ZkRawClient> {
    const socket = netConnect(port, host);
    socket.setNoDelay(true);
    const decoder = new FrameDecoder(16 * 1024 * 1024);
    const first = await new Promise<{ frame: Uint8Array; rest: Uint8Array[] }>((resolve, reject) => {
      const t = setTimeout(() => fail(new Error(`no ConnectResponse from ${host}:${port} within ${opts.connectTimeoutMs ?? 10_000} ms`)), opts.connectTimeoutMs ?? 10_000);
      const fail = (e: Error): void => {
        clearTimeout(t);
        socket.off("data", onData);
        socket.destroy();
        reject(e);
      };
      const onData = (chunk: Buffer): void => {
        let frames: Uint8Array[];
        try {
          frames = decoder.push(chunk);
        } catch (e) {
          return fail(e as Error);
        }
        if (frames.length === 0) return;
        clearTimeout(t);
        socket.off("data", onData);
        socket.off("error", fail);
        socket.off("close", onClose);
        resolve({ frame: frames[0]!, rest: frames.slice(1) });
      };
      const onClose = (): void => fail(new Error(`connection to ${host}:${port} closed during the handshake`));
      socket.on("data", onData);
      socket.once("error", fail);
      socket.once("close", onClose);
      socket.once("connect", () => {
        socket.write(connectRequest(opts.timeoutMs ?? 30_000, opts.resume, opts.lastZxidSeen));
      });
    });
    const rsp = decodeConnectResponse(first.frame);
    if (rsp.timeOut <= 0 || rsp.sessionId === 0n) {
      socket.destroy();
      throw new Error(`session refused by ${host}:${port}`);
    }
    const c = new ZkRawClient(socket, rsp.sessionId, rsp.timeOut, rsp.passwd, decoder);
    c.lastZxid = opts.lastZxidSeen ?? 0n;
    socket.on("data", (chunk: Buffer) => c.onData(chunk));
    socket.on("error", (e) => c.fail(e));
    socket.on("close", () => c.fail(new Error("connection closed")));
    for (const f of first.rest) c.onFrame(f);
    c.ping = setInterval(() => {
      if (!c.closedError) socket.write(encodeZkRequest(PING_XID, { type: "ping" }));
    }, Math.max(500, Math.floor(rsp.timeOut / 3)));
    c.ping.unref();
    return c;
  }

  /**
   * Sends one request and resolves with its decoded reply (never rejects on a ZooKeeper error
   * code). Rejects when the connection fails, or after `timeoutMs` without a reply. `xid`: a
   * fixed one instead of the next (AUTH_XID for an auth packet, SET_WATCHES_XID for setWatches).
   */
  request(req: ZkRequest, timeoutMs = 10_000, xid = this.xid + 1): Promise<ZkReply> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.pending.has(xid)) return Promise.reject(new Error(`a request with xid ${xid} is already outstanding`));
    if (xid > this.xid) this.xid = xid;
    const opcode = zkRequestOpcode(req);
    return new Promise<ZkReply>((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(xid);
        reject(new Error(`no reply to ${req.type} (xid ${xid}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(xid, {
        opcode,
        resolve: (r) => {
          clearTimeout(t);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      this.socket.write(encodeZkRequest(xid, req));
    });
  }

  /** closeSession, then the socket. Ephemerals of the session go with it. */
  async close(): Promise<void> {
    if (this.closedError) return;
    try {
      await Promise.race([this.request({ type: "closeSession" }), new Promise((r) => setTimeout(r, 5_000))]);
    } catch {
      // already gone
    }
    this.destroy();
  }

  destroy(): void {
    if (this.ping) clearInterval(this.ping);
    this.closedError ??= new Error("client closed");
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let frames: Uint8Array[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    for (const f of frames) this.onFrame(f);
  }

  private onFrame(frame: Uint8Array): void {
    const xid = frameXid(frame);
    if (xid === NOTIFICATION_XID) {
      const { zxid, event } = decodeWatchEvent(frame);
      this.events.push({ ...event, zxid, afterReplies: this.replies });
      return;
    }
    if (xid === PING_XID) return;
    const p = this.pending.get(xid);
    if (!p) {
      this.replies++; // the reply to a request that timed out
      return;
    }
    this.pending.delete(xid);
    this.replies++;
    try {
      const reply = decodeReply(frame, p.opcode);
      if (reply.zxid > this.lastZxid) this.lastZxid = reply.zxid;
      p.resolve(reply);
    } catch (e) {
      p.reject(e as Error);
    }
  }

  private fail(e: Error): void {
    if (this.ping) clearInterval(this.ping);
    this.closedError ??= e;
    for (const p of this.pending.values()) p.reject(this.closedError);
    this.pending.clear();
    this.socket.destroy();
  }
}

/** A 4-byte big-endian length prefix. */
export function lengthPrefix(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n);
  return b;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
