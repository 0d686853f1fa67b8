// The node's request logic: sessions (connect, resume, expiry), dispatch of reads and writes,
// and routing of applied transactions back to replies and watch events.
import { randomBytes } from "node:crypto";
import { SessionExpiry, WatchManager, passwordMatches, type TreeOutcome, type Txn, type WriteRequest } from "@keeper/core";
import { Code, KeeperState, PROTOCOL_VERSION, formatSessionId, formatZxid, limits, type ClientMessage, type ConnectRequest, type Request, type Result, type SessionId } from "@keeper/protocol";
import type { ServerConfig } from "./config.ts";
import type { Logger } from "./logger.ts";
import type { SoloReplica } from "./replica/solo-replica.ts";
import type { Connection } from "./client/connection.ts";
import { executeRead, resetWatches } from "./client/reads.ts";


export class KeeperNode {
  readonly watches = new WatchManager<Connection>();
  readonly expiry: SessionExpiry;
  /** The connection each session is attached to on this node. */
  private readonly attached = new Map<SessionId, Connection>();
  /** New sessions proposed by this node, by token, waiting for their createSession to apply. */
  private readonly creating = new Map<number, Connection>();
  /** Sessions whose closeSession has been proposed: they take no more requests. */
  private readonly closing = new Set<SessionId>();
  private nextToken = 1;
  private readonly log: Logger;
  readonly counters = { requests: 0, reads: 0, writes: 0, errors: 0, connects: 0, expired: 0, badFrames: 0 };

  constructor(readonly replica: SoloReplica, readonly config: ServerConfig, log: Logger, private readonly now: () => number = Date.now) {
    this.log = log.child({ component: "sessions" });
    this.expiry = new SessionExpiry(config.tickMs, now());
    // Sessions recovered from disk get a full timeout from now, as ZooKeeper does after a restart.
    for (const s of replica.state.sessions.all()) this.expiry.touch(s.id, s.timeoutMs, now());
    replica.onCommit((txn, outcome) => this.applied(txn, outcome));
  }

  get connections(): number {
    return this.attached.size;
  }

  /** Called every tick: proposes closeSession for every session whose time is up. */
  tick(): void {
    for (const id of this.expiry.expire(this.now())) {
      if (!this.replica.state.sessions.has(id) || this.closing.has(id)) continue;
      this.log.info({ session: formatSessionId(id) }, "session expired");
      this.counters.expired++;
      this.closing.add(id);
      this.replica.submitCloseSession(id, 0, this.now());
    }
  }

  handleMessage(conn: Connection, msg: ClientMessage): void {
    conn.received++;
    if (conn.sessionId === undefined) {
      if (msg.kind !== "connect") return conn.close(Code.MARSHALLINGERROR, "the first frame must be a connect request");
      if (conn.connecting) return conn.close(Code.MARSHALLINGERROR, "connect sent twice");
      conn.connecting = true;
      return this.connect(conn, msg);
    }
    if (msg.kind === "connect") return conn.close(Code.MARSHALLINGERROR, "already connected");
    this.counters.requests++;
    if (msg.kind === "invalid") {
      this.counters.errors++;
      return conn.enqueueRead(msg.xid, () => this.reply(msg.xid, msg.err));
    }
    this.request(conn, conn.sessionId, msg.xid, msg.request);
  }

  private connect(conn: Connection, req: ConnectRequest): void {
    this.counters.connects++;
    const tree = this.replica.state.tree;
    if (req.protocolVersion !== PROTOCOL_VERSION) return conn.close(Code.BADARGUMENTS, `protocol version ${req.protocolVersion} is not supported (this server speaks ${PROTOCOL_VERSION})`);
    if (req.lastZxidSeen > tree.lastZxid) {
      // Never let a client move back in time: it must find a server at least as current.
      return conn.close(Code.CONNECTIONLOSS, `client has seen zxid ${formatZxid(req.lastZxidSeen)} but this server is at ${formatZxid(tree.lastZxid)}`);
    }
    if (req.sessionId === 0) {
      if (this.replica.state.sessions.size >= limits.sessionsMax) return conn.close(Code.CONNECTIONLOSS, "too many sessions");
      const timeoutMs = Math.min(this.config.maxSessionTimeoutMs, Math.max(this.config.minSessionTimeoutMs, req.timeoutMs));
      const token = this.nextToken++;
      this.creating.set(token, conn);
      this.replica.submitCreateSession(timeoutMs, randomBytes(16), this.now(), token);
      return;
    }
    const info = this.replica.state.sessions.get(req.sessionId);
    if (!info || this.closing.has(req.sessionId) || !passwordMatches(info.password, req.password)) {
      return conn.close(Code.SESSIONEXPIRED, `session ${formatSessionId(req.sessionId)} has expired or is unknown`);
    }
    this.attach(conn, req.sessionId, info.timeoutMs, info.password);
  }

  private attach(conn: Connection, id: SessionId, timeoutMs: number, password: Uint8Array): void {
    const old = this.attached.get(id);
    if (old && old !== conn) old.close(Code.SESSIONMOVED, "the session reconnected on another connection");
    conn.sessionId = id;
    this.attached.set(id, conn);
    this.expiry.touch(id, timeoutMs, this.now());
    const tree = this.replica.state.tree;
    conn.send({ kind: "connected", protocolVersion: PROTOCOL_VERSION, sessionId: id, password, timeoutMs, readOnly: false, lastZxid: tree.lastZxid, serverId: this.config.serverId });
    this.log.debug({ session: formatSessionId(id), conn: conn.id }, "session attached");
  }

  /** The socket went away: its watches go, its session lives until it expires. */
  disconnected(conn: Connection): void {
    conn.closed = true;
    this.watches.removeWatcher(conn);
    for (const [token, c] of this.creating) if (c === conn) this.creating.delete(token);
    if (conn.sessionId !== undefined && this.attached.get(conn.sessionId) === conn) this.attached.delete(conn.sessionId);
  }

  private reply(xid: number, err: Code, result?: Result) {
    return { kind: "response" as const, xid, zxid: this.replica.state.tree.lastZxid, err, ...(result ? { result } : {}) };
  }

  private request(conn: Connection, sessionId: SessionId, xid: number, req: Request): void {
    const info = this.replica.state.sessions.get(sessionId);
    if (!info || this.closing.has(sessionId)) {
      conn.enqueueRead(xid, () => this.reply(xid, Code.SESSIONEXPIRED));
      return;
    }
    this.expiry.touch(sessionId, info.timeoutMs, this.now());
    const tree = this.replica.state.tree;
    switch (req.type) {
      case "ping":
        return conn.enqueueRead(xid, () => this.reply(xid, Code.OK, { type: "ping" }));
      case "exists":
      case "getData":
      case "getChildren":
      case "getACL":
        this.counters.reads++;
        return conn.enqueueRead(xid, () => {
          const out = executeRead(tree, this.watches, conn, req);
          return this.reply(xid, out.err, out.result);
        });
      case "setWatches":
        return conn.enqueueRead(xid, () => {
          for (const ev of resetWatches(tree, this.watches, conn, req)) conn.send({ kind: "event", ...ev, zxid: tree.lastZxid });
          return this.reply(xid, Code.OK, { type: "setWatches" });
        });
      case "closeSession":
        this.closing.add(sessionId);
        conn.enqueueWrite(xid);
        this.replica.submitCloseSession(sessionId, xid, this.now());
        return;
      default:
        return this.write(conn, sessionId, xid, req);
    }
  }

  private write(conn: Connection, sessionId: SessionId, xid: number, req: WriteRequest): void {
    this.counters.writes++;
    if (conn.isWaitingFor(xid)) {
      conn.enqueueRead(xid, () => this.reply(xid, Code.BADARGUMENTS));
      return;
    }
    conn.enqueueWrite(xid);
    const outcome = this.replica.submitWrite(sessionId, xid, req, this.now());
    if (outcome.kind === "error") {
      this.counters.errors++;
      conn.log.debug({ xid, err: outcome.err, reason: outcome.reason }, "request rejected");
      conn.complete(xid, this.reply(xid, outcome.err));
    }
  }

  /** Every applied transaction: fire watches, then answer the client that asked, if it is here. */
  private applied(txn: Txn, outcome: TreeOutcome): void {
    const zxid = txn.hdr.zxid;
    for (const t of outcome.triggers) {
      for (const f of this.watches.trigger(t)) f.watcher.send({ kind: "event", type: f.type, state: KeeperState.SyncConnected, path: f.path, zxid });
    }
    const sid = txn.hdr.sessionId;
    switch (txn.body.type) {
      case "createSession": {
        const conn = this.creating.get(txn.hdr.cxid);
        this.expiry.touch(sid, txn.body.timeoutMs, this.now());
        if (conn) {
          this.creating.delete(txn.hdr.cxid);
          if (!conn.closed) this.attach(conn, sid, txn.body.timeoutMs, txn.body.password);
        }
        return;
      }
      case "closeSession": {
        this.closing.delete(sid);
        this.expiry.remove(sid);
        const conn = this.attached.get(sid);
        if (!conn) return;
        this.attached.delete(sid);
        this.watches.removeWatcher(conn);
        if (conn.complete(txn.hdr.cxid, { kind: "response", xid: txn.hdr.cxid, zxid, err: Code.OK, result: { type: "closeSession" } })) {
          conn.close(Code.OK, "session closed");
        } else {
          conn.abandon();
          conn.close(Code.SESSIONEXPIRED, "session expired");
        }
        return;
      }
      default: {
        const conn = this.attached.get(sid);
        conn?.complete(txn.hdr.cxid, { kind: "response", xid: txn.hdr.cxid, zxid, err: outcome.err, ...(outcome.result ? { result: outcome.result } : {}) });
      }
    }
  }
}
