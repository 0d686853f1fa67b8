// One ZooKeeper session on a raw socket for load generation: requests leave as soon as they are
// handed over (pipelined), replies are matched by xid, and only the reply header (xid, zxid,
// err) is decoded, which is all a load generator needs, so the client's CPU goes to the wire.
// Like ZooKeeper's own client it pings a silent connection and gives the connection up when
// nothing has been received for two thirds of the session timeout while requests wait.
import { connect as netConnect, type Socket } from "node:net";
import { Code, FrameDecoder, NOTIFICATION_XID, OPEN_ACL_UNSAFE, PING_XID, decodeConnectResponse, encodeConnectRequest, encodeZkRequest, type ZkRequest } from "@keeper/protocol";

export interface SessionOptions {
  sessionTimeoutMs: number;
  connectTimeoutMs: number;
}

export interface SessionEvents {
  /** A reply to a request sent with `send` (pings and notifications are not reported). */
  reply(xid: number, err: number): void;
  /** The connection ended without `close()`/`destroy()`; `reason` says how. Called once. */
  lost(reason: string): void;
}

/** Replies and frames bigger than this are a broken stream for a create/delete load. */
const FRAME_BYTES_MAX = 1024 * 1024;

export class PipelinedSession {
  /** Requests sent and not answered yet. */
  outstanding = 0;
  private lastReceivedMs = performance.now();
  private lastSentMs = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private readonly decoder: FrameDecoder;

  private constructor(
    private readonly socket: Socket,
    readonly sessionId: bigint,
    readonly negotiatedTimeoutMs: number,
    decoder: FrameDecoder,
    private readonly events: SessionEvents,
  ) {
    this.decoder = decoder;
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (e) => this.lose(`socket error: ${e.message}`));
    socket.on("close", () => this.lose("closed by the server"));
    // ZooKeeper's client: ping after readTimeout/2 without sending, give up after readTimeout
    // (2/3 of the session timeout) without receiving anything while waiting for replies.
    const readTimeoutMs = (negotiatedTimeoutMs * 2) / 3;
    this.timer = setInterval(() => {
      const now = performance.now();
      if (this.outstanding > 0 && now - this.lastReceivedMs > readTimeoutMs) {
        this.lose(`no reply for ${Math.round(now - this.lastReceivedMs)} ms (read timeout)`);
        return;
      }
      if (now - this.lastSentMs > readTimeoutMs / 2) this.write(encodeZkRequest(PING_XID, { type: "ping" }));
    }, 250);
    this.timer.unref();
  }

  /** Opens a TCP connection and a new session. Rejects if either fails within the timeout. */
  static open(host: string, port: number, opts: SessionOptions, events: SessionEvents): Promise<PipelinedSession> {
    return new Promise((resolve, reject) => {
      const socket = netConnect(port, host);
      socket.setNoDelay(true);
      const decoder = new FrameDecoder(FRAME_BYTES_MAX);
      const fail = (e: Error): void => {
        clearTimeout(t);
        socket.destroy();
        reject(e);
      };
      const t = setTimeout(() => fail(new Error(`no ConnectResponse from ${host}:${port} within ${opts.connectTimeoutMs} ms`)), opts.connectTimeoutMs);
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
        const rsp = decodeConnectResponse(frames[0]!);
        if (rsp.timeOut <= 0 || rsp.sessionId === 0n) return fail(new Error(`session refused by ${host}:${port}`));
        const s = new PipelinedSession(socket, rsp.sessionId, rsp.timeOut, decoder, events);
        for (const f of frames.slice(1)) s.onFrame(f);
        resolve(s);
      };
      const onClose = (): void => fail(new Error(`connection to ${host}:${port} closed during the handshake`));
      socket.on("data", onData);
      socket.once("error", fail);
      socket.once("close", onClose);
      socket.once("connect", () => {
        socket.write(encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0n, timeOut: opts.sessionTimeoutMs, sessionId: 0n, passwd: new Uint8Array(16), readOnly: false }));
      });
    });
  }

  get alive(): boolean {
    return !this.ended;
  }

  send(xid: number, req: ZkRequest): void {
    this.outstanding++;
    this.write(encodeZkRequest(xid, req));
  }

  /** closeSession (waiting at most `waitMs` for its reply), then the socket. */
  async close(xid: number, waitMs = 3_000): Promise<void> {
    if (this.ended) return;
    const closed = new Promise<void>((resolve) => this.socket.once("close", () => resolve()));
    this.write(encodeZkRequest(xid, { type: "closeSession" }));
    await Promise.race([closed, new Promise((r) => setTimeout(r, waitMs))]);
    this.destroy();
  }

  destroy(): void {
    this.ended = true;
    if (this.timer) clearInterval(this.timer);
    this.socket.destroy();
  }

  private write(frame: Uint8Array): void {
    if (this.ended) return;
    this.lastSentMs = performance.now();
    this.socket.write(frame);
  }

  private lose(reason: string): void {
    if (this.ended) return;
    this.destroy();
    this.events.lost(reason);
  }

  private onData(chunk: Buffer): void {
    this.lastReceivedMs = performance.now();
    let frames: Uint8Array[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      this.lose(`bad frame: ${(e as Error).message}`);
      return;
    }
    for (const f of frames) this.onFrame(f);
  }

  private onFrame(frame: Uint8Array): void {
    if (this.ended) return;
    // ReplyHeader: int xid, long zxid, int err.
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const xid = view.getInt32(0);
    if (xid === PING_XID || xid === NOTIFICATION_XID) return;
    const err = view.getInt32(12);
    this.outstanding--;
    this.events.reply(xid, err);
  }
}

/**
 * One `exists` through a new session on host:port; resolves true if it is answered OK within
 * `timeoutMs` (the server serves reads), false otherwise. The session is closed after.
 */
export async function readOnce(host: string, port: number, path: string, timeoutMs = 2_000): Promise<boolean> {
  let answered: (ok: boolean) => void = () => {};
  const reply = new Promise<boolean>((r) => (answered = r));
  let s: PipelinedSession;
  try {
    s = await PipelinedSession.open(host, port, { sessionTimeoutMs: 10_000, connectTimeoutMs: timeoutMs }, { reply: (xid, err) => xid === 1 && answered(err === Code.OK), lost: () => answered(false) });
  } catch {
    return false;
  }
  const t = setTimeout(() => answered(false), timeoutMs);
  s.send(1, { type: "exists", path, watch: false });
  const ok = await reply;
  clearTimeout(t);
  await s.close(2, 1_000);
  return ok;
}

/**
 * Creates `paths` in order through one session, `window` in flight; NODEEXISTS counts as done
 * (so it can be re-run). Throws on any other error or a lost connection.
 */
export async function createPaths(host: string, port: number, paths: string[], data: Uint8Array, window = 64): Promise<void> {
  let next = 0;
  let answered = 0;
  let settle: (e?: Error) => void = () => {};
  const done = new Promise<void>((resolve, reject) => (settle = (e) => (e ? reject(e) : resolve())));
  const s = await PipelinedSession.open(host, port, { sessionTimeoutMs: 30_000, connectTimeoutMs: 10_000 }, {
    reply: (xid, err) => {
      if (xid > paths.length) return;
      if (err !== Code.OK && err !== Code.NODEEXISTS) return settle(new Error(`create ${paths[xid - 1]}: error ${err}`));
      answered++;
      if (answered === paths.length) return settle();
      issue();
    },
    lost: (reason) => settle(new Error(`connection lost while creating paths: ${reason}`)),
  });
  const issue = (): void => {
    while (next < paths.length && next - answered < window) {
      next++;
      s.send(next, { type: "create", path: paths[next - 1]!, data, acl: [...OPEN_ACL_UNSAFE], flags: 0 });
    }
  };
  if (paths.length === 0) settle();
  issue();
  try {
    await done;
  } finally {
    await s.close(paths.length + 1, 1_000);
  }
}
