// The session engine: one connection at a time, the state machine, reconnect and expiry,
// heartbeats, the read-only probe, and the routing of frames to requests and watches.
// The public KeeperClient (client.ts) turns API calls into requests and hands them here.

import { asSessionId, asZxid, Code, EventType, KeeperError, limits, PROTOCOL_VERSION, withoutChroot, type ConnectRequest, type ConnectResponse, type KeeperState, type Request, type ServerMessage } from "@keeper/protocol";
import { clientDefaults } from "./constants.ts";
import { HostRing } from "./connect-string.ts";
import { Connection } from "./connection.ts";
import { Emitter } from "./emitter.ts";
import { connectionLoss } from "./errors.ts";
import { Heartbeat } from "./heartbeat.ts";
import { Pipeline, type ResponseMessage } from "./pipeline.ts";
import { toServerRequest, validateRequest, type CallOptions } from "./requests.ts";
import { WatchManager, type WatchEvent } from "./watches.ts";
import type { WebSocketConstructor } from "./websocket.ts";

/** Largest setWatches request sent on reconnect, in path bytes (ZooKeeper uses 128 KiB). */
const SET_WATCHES_BYTES_MAX = 128 * 1024;

export type ClientState = "connecting" | "connected" | "readOnly" | "disconnected" | "expired" | "closed";

export interface SessionConfig {
  hosts: HostRing;
  chroot: string;
  sessionTimeoutMs: number;
  canBeReadOnly: boolean;
  readOnlyProbeIntervalMs: number;
  WebSocket: WebSocketConstructor;
  sessionId: number;
  sessionPassword: Uint8Array;
}

export class Session {
  readonly events = new Emitter<{ state: [ClientState] }>();
  readonly watches = new WatchManager();
  /**
   * Auth packets this session sent and the server accepted. An identity belongs to a connection,
   * so they are sent again, first thing, on every new one (as ZooKeeper's clients do).
   */
  readonly authInfo: Array<{ scheme: string; auth: Uint8Array }> = [];
  private readonly pipeline = new Pipeline();
  private readonly heartbeat: Heartbeat;
  private stateValue: ClientState = "connecting";
  private conn: Connection | undefined;
  sessionId: number;
  password: Uint8Array;
  lastZxid = 0;
  negotiatedTimeoutMs: number;
  /** Why the last connection ended or the session finished, for diagnostics. */
  lastDisconnectReason: string | undefined;
  /** A session first granted by a read-only server is local to it and cannot be resumed elsewhere. */
  private seenReadWrite: boolean;
  private lastContactMs = Date.now();
  private looping = false;
  private closing: Promise<void> | undefined;
  private backoff: { timer: ReturnType<typeof setTimeout>; wake: () => void } | undefined;
  private probeTimer: ReturnType<typeof setInterval> | undefined;
  private probing = false;

  constructor(private readonly config: SessionConfig) {
    this.sessionId = config.sessionId;
    this.password = config.sessionPassword;
    this.negotiatedTimeoutMs = config.sessionTimeoutMs;
    this.seenReadWrite = config.sessionId !== 0;
    this.heartbeat = new Heartbeat({
      ping: () => this.pipeline.sendNow({ type: "ping" }, () => {}),
      lost: (reason) => this.dropConnection(reason),
    });
  }

  get state(): ClientState {
    return this.stateValue;
  }

  chrootOf(): string {
    return this.config.chroot;
  }

  start(): void {
    void this.connectLoop();
  }

  /** Validates and queues a request written with client paths; `settle` maps the response. */
  submit<T>(request: Request, opts: CallOptions | undefined, settle: (msg: ResponseMessage) => T): Promise<T> {
    try {
      if (this.stateValue === "expired") throw new KeeperError(Code.SESSIONEXPIRED);
      if (this.stateValue === "closed" || this.closing !== undefined) throw connectionLoss("client is closed");
      validateRequest(request);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.pipeline.submit(toServerRequest(request, this.config.chroot), opts, settle);
  }

  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    if (this.conn !== undefined && (this.stateValue === "connected" || this.stateValue === "readOnly")) {
      // Requests already queued go first (FIFO); the wait is bounded so close() always ends.
      const wait = Math.min(clientDefaults.closeReplyWaitMsMax, this.negotiatedTimeoutMs);
      await this.pipeline.submit({ type: "closeSession" }, { timeoutMs: wait }, () => undefined).catch(() => undefined);
    }
    this.finish("closed", connectionLoss("client closed"));
  }

  private isLive(): boolean {
    return this.closing === undefined && this.stateValue !== "closed" && this.stateValue !== "expired";
  }

  private setState(next: ClientState): void {
    if (next === this.stateValue) return;
    this.stateValue = next;
    this.events.emit("state", next);
  }

  private resumeId(): number {
    return this.seenReadWrite ? this.sessionId : 0;
  }

  private connectRequest(canBeReadOnly: boolean): ConnectRequest {
    const resume = this.resumeId();
    return {
      protocolVersion: PROTOCOL_VERSION,
      sessionId: asSessionId(resume),
      password: resume === 0 ? new Uint8Array(0) : this.password,
      timeoutMs: this.config.sessionTimeoutMs,
      lastZxidSeen: asZxid(this.lastZxid),
      canBeReadOnly,
    };
  }

  /** How long to wait for one host's handshake: a share of the session timeout, within what is left of it. */
  private handshakeWaitMs(): number {
    let wait = this.config.sessionTimeoutMs / this.config.hosts.urls.length;
    if (this.resumeId() !== 0) wait = Math.min(wait, this.negotiatedTimeoutMs - (Date.now() - this.lastContactMs));
    return Math.max(clientDefaults.handshakeWaitMsMin, Math.floor(wait));
  }

  private sessionLapsed(): boolean {
    return this.resumeId() !== 0 && Date.now() - this.lastContactMs >= this.negotiatedTimeoutMs;
  }

  /** Tries hosts round-robin until one accepts, the session lapses, or the client closes. */
  private async connectLoop(): Promise<void> {
    if (this.looping) return;
    this.looping = true;
    try {
      let pauseMs: number = clientDefaults.roundBackoffMs;
      while (this.isLive() && this.conn === undefined) {
        if (this.sessionLapsed()) return this.expire("session timeout passed while disconnected");
        const { url, roundDone } = this.config.hosts.take();
        const result = await Connection.open(this.config.WebSocket, url, this.connectRequest(this.config.canBeReadOnly), this.handshakeWaitMs());
        if (!this.isLive()) {
          if (result.kind === "connected") result.conn.close();
          return;
        }
        if (result.kind === "connected" && this.adopt(result.conn, result.info)) return;
        if (!this.isLive()) return;
        if (result.kind === "refused" && result.code === Code.SESSIONEXPIRED) return this.expire(`server ${url}: ${result.reason}`);
        if (roundDone) {
          await this.pause(pauseMs);
          pauseMs = Math.min(pauseMs * 2, clientDefaults.roundBackoffMsMax);
        }
      }
    } finally {
      this.looping = false;
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.backoff = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.backoff = { timer, wake };
    });
  }

  /** Takes a handshaken connection into use; false when it cannot serve this session. */
  private adopt(conn: Connection, info: ConnectResponse): boolean {
    const resume = this.resumeId();
    if (resume !== 0 && info.sessionId !== resume) {
      conn.close();
      this.expire(`server gave session ${info.sessionId} instead of ${resume}`);
      return false;
    }
    if (info.readOnly && !this.config.canBeReadOnly) {
      conn.close();
      return false;
    }
    this.conn = conn;
    this.sessionId = info.sessionId;
    this.password = info.password;
    // A zero timeout is not a valid negotiation; keep asking for what we asked for.
    if (info.timeoutMs > 0) this.negotiatedTimeoutMs = info.timeoutMs;
    if (!info.readOnly) this.seenReadWrite = true;
    this.lastContactMs = Date.now();
    conn.setHandlers({ onMessage: (msg) => this.onFrame(conn, msg), onClose: (reason) => this.connectionLost(conn, reason) });
    this.heartbeat.start(this.negotiatedTimeoutMs);
    const sender = (xid: number, request: Request): boolean => {
      this.heartbeat.noteSend();
      return conn.sendFrame({ kind: "request", xid, request });
    };
    this.pipeline.attach(sender, () => {
      // Identities belong to the connection on the server: send them again first, as
      // ZooKeeper's client does, so re-armed watches and queued requests run as the same user.
      for (const a of this.authInfo) this.pipeline.sendNow({ type: "auth", scheme: a.scheme, auth: a.auth }, () => {});
      this.rearmWatches();
    });
    if (info.readOnly) this.startProbe();
    else this.stopProbe();
    this.setState(info.readOnly ? "readOnly" : "connected");
    return true;
  }

  /**
   * Re-arms every watch on the new connection, relative to the last zxid seen, in chunks
   * bounded by path count and by size (as ZooKeeper caps SetWatches at 128 KiB), so a large
   * watch set never makes a frame the server must refuse.
   */
  private rearmWatches(): void {
    const paths = this.watches.paths();
    const all = (["data", "exist", "child", "persistent", "recursive"] as const).flatMap((kind) => paths[kind].map((p) => [kind, p] as const));
    const chunks: Array<typeof all> = [];
    let chunk: typeof all = [];
    let bytes = 0;
    for (const entry of all) {
      const size = entry[1].length * 3 + 8; // UTF-8 worst case plus framing
      if (chunk.length > 0 && (chunk.length >= limits.setWatchesPathsMax || bytes + size > SET_WATCHES_BYTES_MAX)) {
        chunks.push(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(entry);
      bytes += size;
    }
    if (chunk.length > 0) chunks.push(chunk);
    for (const chunk of chunks) {
      const pick = (kind: string): string[] => chunk.filter(([k]) => k === kind).map(([, p]) => p);
      const persistent = pick("persistent");
      const recursive = pick("recursive");
      const request: Request = {
        type: "setWatches",
        relativeZxid: asZxid(this.lastZxid),
        dataWatches: pick("data"),
        existWatches: pick("exist"),
        childWatches: pick("child"),
        ...(persistent.length > 0 ? { persistentWatches: persistent } : {}),
        ...(recursive.length > 0 ? { persistentRecursiveWatches: recursive } : {}),
      };
      // Failures need no handling: a lost connection re-arms again on the next one.
      this.pipeline.sendNow(toServerRequest(request, this.config.chroot), () => {});
    }
  }

  private onFrame(conn: Connection, msg: Exclude<ServerMessage, { kind: "connected" }>): void {
    if (conn !== this.conn) return;
    this.lastContactMs = Date.now();
    this.heartbeat.noteReceive();
    switch (msg.kind) {
      case "response":
        if (msg.zxid > this.lastZxid) this.lastZxid = msg.zxid;
        this.pipeline.deliver(msg);
        return;
      case "event": {
        if (msg.zxid > this.lastZxid) this.lastZxid = msg.zxid;
        // State-only events (type None) are not watch events; state goes through on("state").
        if (msg.type === EventType.None) return;
        const event: WatchEvent = { type: msg.type as EventType, state: msg.state as KeeperState, path: withoutChroot(this.config.chroot, msg.path) };
        this.watches.dispatch(event);
        return;
      }
      case "close":
        if (msg.code === Code.SESSIONEXPIRED) this.expire(`server closed the session: ${msg.reason}`);
        else this.dropConnection(`server closed the connection: ${msg.reason}`);
        return;
    }
  }

  private connectionLost(conn: Connection, reason: string): void {
    if (conn === this.conn) this.dropConnection(reason);
  }

  /** Gives up the current connection and, unless the client is done, looks for another. */
  private dropConnection(reason: string): void {
    this.lastDisconnectReason = reason;
    this.releaseConnection();
    if (!this.isLive()) return;
    this.setState("disconnected");
    void this.connectLoop();
  }

  private releaseConnection(): void {
    const conn = this.conn;
    this.conn = undefined;
    conn?.close();
    this.heartbeat.stop();
    this.stopProbe();
    this.pipeline.detach();
  }

  private expire(reason: string): void {
    this.lastDisconnectReason = reason;
    this.finish("expired", connectionLoss("session expired before the request was sent"));
  }

  /** Terminal states: nothing will be sent again. */
  private finish(state: "expired" | "closed", queuedError: KeeperError): void {
    if (this.stateValue === "closed" || (this.stateValue === "expired" && state === "expired")) return;
    this.releaseConnection();
    this.pipeline.failQueued(queuedError);
    this.watches.clear();
    this.backoff?.wake();
    this.setState(state);
  }

  private startProbe(): void {
    this.probeTimer ??= setInterval(() => void this.probe(), this.config.readOnlyProbeIntervalMs);
  }

  private stopProbe(): void {
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  /**
   * In read-only mode, asks another host for a read-write session (canBeReadOnly false, so
   * only a read-write server accepts) and switches to it when one answers.
   */
  private async probe(): Promise<void> {
    const base = this.conn;
    if (this.probing || this.stateValue !== "readOnly" || base === undefined) return;
    this.probing = true;
    try {
      let { url } = this.config.hosts.take();
      if (url === base.url && this.config.hosts.urls.length > 1) url = this.config.hosts.take().url;
      const result = await Connection.open(this.config.WebSocket, url, this.connectRequest(false), this.handshakeWaitMs());
      if (result.kind !== "connected") return;
      if (this.conn !== base || this.stateValue !== "readOnly" || result.info.readOnly || !this.isLive()) {
        result.conn.close();
        return;
      }
      this.releaseConnection();
      if (!this.adopt(result.conn, result.info)) this.dropConnection("read-write server refused the session");
    } finally {
      this.probing = false;
    }
  }
}
