// A fake Keeper server for the client tests: the real codec over `ws` on 127.0.0.1, a
// shared FakeTree behind it, and hooks to hold, answer or drop any frame by hand.

import { Code, decodeClientMessage, encodeServerMessage, asSessionId, asZxid, type ClientMessage, type Request, type ServerMessage } from "@keeper/protocol";
import { WebSocketServer, type WebSocket } from "ws";
import { FakeTree } from "./fake-tree.ts";

type ConnectMessage = Extract<ClientMessage, { kind: "connect" }>;
/** What to do with a request: answer it from the tree, or leave it for the test. */
export type RequestHook = (conn: FakeConn, xid: number, request: Request) => "auto" | "hold";

export class FakeConn {
  readonly frames: ClientMessage[] = [];
  sessionId = 0;
  private waiters: Array<{ pred: (m: ClientMessage) => boolean; resolve: (m: ClientMessage) => void }> = [];

  constructor(readonly socket: WebSocket) {}

  send(msg: ServerMessage): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(encodeServerMessage(msg));
  }

  /** Kills the socket without a close handshake, as a crashed server would. */
  drop(): void {
    this.socket.terminate();
  }

  /** Sends a close notice with `code`, then closes. */
  refuse(code: Code, reason = "refused"): void {
    this.send({ kind: "close", code, reason });
    this.socket.close();
  }

  get requests(): Array<Extract<ClientMessage, { kind: "request" }>> {
    return this.frames.filter((f): f is Extract<ClientMessage, { kind: "request" }> => f.kind === "request");
  }

  /** Resolves with the first frame (already received or future) matching `pred`. */
  waitFor(pred: (m: ClientMessage) => boolean): Promise<ClientMessage> {
    const seen = this.frames.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  receive(msg: ClientMessage): void {
    this.frames.push(msg);
    const ready = this.waiters.filter((w) => w.pred(msg));
    this.waiters = this.waiters.filter((w) => !w.pred(msg));
    for (const w of ready) w.resolve(msg);
  }
}

export class FakeServer {
  readonly conns: FakeConn[] = [];
  readOnly = false;
  /** When set, decides the connect answer; return undefined to fall back to the default. */
  onConnect: ((conn: FakeConn, msg: ConnectMessage) => "auto" | "ignore" | ServerMessage) | undefined;
  onRequest: RequestHook = () => "auto";
  /** Each returns true once satisfied; checked after every accepted connection. */
  private connWaiters: Array<() => boolean> = [];

  private constructor(
    private readonly wss: WebSocketServer,
    readonly tree: FakeTree,
  ) {
    wss.on("connection", (socket) => this.accept(socket));
  }

  static start(tree = new FakeTree()): Promise<FakeServer> {
    return new Promise((resolve, reject) => {
      const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
      wss.once("listening", () => resolve(new FakeServer(wss, tree)));
      wss.once("error", reject);
    });
  }

  get address(): string {
    const addr = this.wss.address();
    if (addr === null || typeof addr === "string") throw new Error("unexpected address");
    return `127.0.0.1:${addr.port}`;
  }

  /** The n-th connection (0-based), now or when it arrives. */
  connection(n: number): Promise<FakeConn> {
    if (this.conns[n] !== undefined) return Promise.resolve(this.conns[n]);
    return new Promise((resolve) => {
      this.connWaiters.push(() => {
        const conn = this.conns[n];
        if (conn !== undefined) resolve(conn);
        return conn !== undefined;
      });
    });
  }

  close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }

  private accept(socket: WebSocket): void {
    const conn = new FakeConn(socket);
    this.conns.push(conn);
    this.connWaiters = this.connWaiters.filter((w) => !w());
    socket.on("message", (data: Buffer) => {
      const msg = decodeClientMessage(new Uint8Array(data));
      conn.receive(msg);
      if (msg.kind === "connect") this.handshake(conn, msg);
      else if (msg.kind === "request") this.request(conn, msg.xid, msg.request);
    });
  }

  private handshake(conn: FakeConn, msg: ConnectMessage): void {
    const decision = this.onConnect?.(conn, msg) ?? "auto";
    if (decision === "ignore") return;
    if (decision !== "auto") {
      conn.send(decision);
      if (decision.kind === "close") conn.socket.close();
      return;
    }
    if (this.readOnly && !msg.canBeReadOnly) return conn.refuse(Code.NOTREADONLY, "read-only server");
    if (msg.lastZxidSeen > this.tree.zxid) return conn.refuse(Code.CONNECTIONLOSS, "client is ahead of this server");
    let id = msg.sessionId as number;
    let password = msg.password;
    if (id === 0) ({ id, password } = this.tree.newSession());
    else if (this.tree.sessions.get(id)?.join() !== msg.password.join()) return conn.refuse(Code.SESSIONEXPIRED, "unknown session");
    conn.sessionId = id;
    const timeoutMs = Math.min(Math.max(msg.timeoutMs, 100), 60_000);
    conn.send({ kind: "connected", protocolVersion: 1, sessionId: asSessionId(id), password, timeoutMs, readOnly: this.readOnly, lastZxid: asZxid(this.tree.zxid), serverId: 1 });
  }

  private request(conn: FakeConn, xid: number, request: Request): void {
    if (this.onRequest(conn, xid, request) === "hold") return;
    this.answer(conn, xid, request);
  }

  /** Answers a request from the tree (events it triggers go out first). */
  answer(conn: FakeConn, xid: number, request: Request): void {
    const write = ["create", "delete", "setData", "multi", "setACL"].includes(request.type);
    if (this.readOnly && write) return conn.send({ kind: "response", xid, zxid: asZxid(this.tree.zxid), err: Code.NOTREADONLY });
    const outcome = this.tree.handle(conn, request);
    conn.send({ kind: "response", xid, zxid: asZxid(this.tree.zxid), err: outcome.err, ...(outcome.result ? { result: outcome.result } : {}) });
    if (request.type === "closeSession") {
      this.tree.sessions.delete(conn.sessionId);
      conn.socket.close();
    }
  }
}
