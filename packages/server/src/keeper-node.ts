// The node's client-facing logic: sessions (connect, resume), dispatch of reads (answered
// here) and writes (validated here, then prepared by the leader), and routing of applied
// transactions back to replies and watch events.
import { randomBytes } from "node:crypto";
import { WatchManager, aclAllows, passwordMatches, validateWrite, type ReplicaStatus, type ReplicatedState, type TreeOutcome, type Txn, type WriteRequest } from "@keeper/core";
import { AddWatchMode, Code, KeeperState, Perms, PROTOCOL_VERSION, pathProblem, type ClientInfo, formatSessionId, formatZxid, limits, type ClientMessage, type ConnectRequest, type Identity, type Request, type Result, type SessionId } from "@keeper/protocol";
import type { ServerConfig } from "./config.ts";
import type { Logger } from "./logger.ts";
import type { ZabRunner } from "./replica/zab-runner.ts";
import type { Connection } from "./client/connection.ts";
import { OutstandingRequests } from "./client/outstanding.ts";
import { IDENTITIES_PER_CONNECTION_MAX, authenticate } from "./client/auth.ts";
import { executeRead, resetWatches, watchKindsOf } from "./client/reads.ts";
import { ReplyBudget, namesWithin, stringBytes, tooBig } from "./client/reply-budget.ts";
import type { RequestLatency } from "./metrics/request-latency.ts";

/** Requests this node answers itself, in request order, without the leader. */
const LOCAL_TYPES = ["ping", "exists", "getData", "getChildren", "getACL", "setWatches", "getAllChildrenNumber", "getEphemerals", "addWatch", "removeWatches", "multiRead", "whoAmI", "auth"] as const;
type LocalRequest = Extract<Request, { type: (typeof LOCAL_TYPES)[number] }>;
const localTypes: ReadonlySet<string> = new Set(LOCAL_TYPES);
const isLocal = (req: Request): req is LocalRequest => localTypes.has(req.type);

function* filter<T>(items: Iterable<T>, keep: (item: T) => boolean): Iterable<T> {
  for (const item of items) if (keep(item)) yield item;
}

/** Tokens match a createSession to the connection that asked: the server id keeps them unique. */
const TOKEN_BITS = 22;
/**
 * Read-only sessions are local to one node and never replicated: their ids live above 2^52,
 * where no zxid (and so no global session id) will reach, with the server id to keep nodes apart.
 */
const LOCAL_SESSION_BASE = 2 ** 52;

export class KeeperNode {
  readonly watches = new WatchManager<Connection>();
  /** The connection each session is attached to on this node. */
  private readonly attached = new Map<SessionId, Connection>();
  /** New sessions this node asked for, by token, waiting for their createSession to apply. */
  private readonly creating = new Map<number, Connection>();
  private nextToken = 1;
  /** Sessions whose clients spoke since the last flush, reported to the leader to keep them alive. */
  private readonly touched = new Set<SessionId>();
  private touchScheduled = false;
  private readonly log: Logger;
  serving = false;
  readonly counters = { requests: 0, reads: 0, writes: 0, errors: 0, connects: 0, readOnlyConnects: 0, refusedNotServing: 0, refusedDiskFull: 0, badFrames: 0, repliesTooBig: 0, throttlePauses: 0 };
  /** Requests in flight on all connections, bounded by config.globalOutstandingMax. */
  readonly outstanding: OutstandingRequests;
  /** Every open client connection, so they can be dropped when this node stops serving. */
  readonly connections = new Set<Connection>();
  /** Read-only sessions this node made while it had no quorum. */
  private readonly localSessions = new Map<SessionId, Uint8Array>();
  private nextLocalSession = 1;
  private sentOnClosedConnections = 0;

  constructor(
    readonly runner: ZabRunner,
    readonly config: ServerConfig,
    log: Logger,
    /** Where every connection reports its requests' latency. */
    readonly latency?: RequestLatency,
  ) {
    this.log = log.child({ component: "sessions" });
    this.outstanding = new OutstandingRequests(config.globalOutstandingMax, () => this.counters.throttlePauses++);
  }

  private get state(): ReplicatedState {
    return this.runner.replica.state;
  }

  /** Read-only sessions local to this node. */
  get localSessionCount(): number {
    return this.localSessions.size;
  }

  /** Messages sent to clients since start, closed connections included (a counter never goes down). */
  get packetsSent(): number {
    let n = this.sentOnClosedConnections;
    for (const c of this.connections) n += c.sent;
    return n;
  }

  get sessionsAttached(): number {
    return this.attached.size;
  }

  // ---- hooks from the replica ---------------------------------------------------------------

  roleChanged(s: ReplicaStatus): void {
    const was = this.serving;
    this.serving = s.serving;
    // A state that diverged (or an empty one being refilled) answers no reads, read-only included.
    this.untrusted = s.integrity !== "ok";
    if (this.untrusted) for (const conn of [...this.connections]) if (conn.readOnly) conn.close(Code.CONNECTIONLOSS, `server ${this.config.serverId} is resyncing its state; reconnect to another server`);
    if (was && !s.serving) {
      // Requests in flight may or may not commit: the clients learn it as a connection loss
      // and resume their sessions on a node that is serving (or here, read-only, if they may).
      for (const conn of [...this.connections]) conn.close(Code.CONNECTIONLOSS, `server ${this.config.serverId} lost its leader; reconnect to another server`);
      this.creating.clear();
    } else if (!was && s.serving) {
      // Back in a quorum: read-only clients go and find a read-write node (this one, maybe).
      for (const conn of [...this.connections]) if (conn.readOnly) conn.close(Code.CONNECTIONLOSS, `server ${this.config.serverId} is read-write again; reconnect`);
      this.localSessions.clear();
    }
  }

  /** Its digest disagrees with the quorum's, or it is taking a leader's state: no reads. */
  private untrusted = false;

  /** Not serving, but answering reads to clients that accept that. */
  get readOnly(): boolean {
    return !this.serving && this.config.readOnlyMode && !this.untrusted;
  }

  stateReset(_state: ReplicatedState): void {
    // A snapshot from the leader replaced the tree while this node was not serving: no client
    // is attached and no watch is armed, so there is nothing to fire.
  }

  /** Every applied transaction: fire watches, then answer the client that asked, if it is here. */
  applied(txn: Txn, outcome: TreeOutcome): void {
    const zxid = txn.hdr.zxid;
    for (const t of outcome.triggers) {
      for (const f of this.watches.trigger(t)) {
        // The watch fires either way; its event reaches only a watcher allowed to read the node.
        if (t.acl && !aclAllows(t.acl, Perms.READ, f.watcher.identities)) continue;
        f.watcher.send({ kind: "event", type: f.type, state: KeeperState.SyncConnected, path: f.path, zxid });
      }
    }
    const sid = txn.hdr.sessionId;
    switch (txn.body.type) {
      case "createSession": {
        const conn = this.creating.get(txn.hdr.cxid);
        if (!conn) return;
        this.creating.delete(txn.hdr.cxid);
        if (!conn.closed) this.attach(conn, sid, txn.body.timeoutMs, txn.body.password);
        return;
      }
      case "closeSession": {
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

  // ---- connections -------------------------------------------------------------------------

  opened(conn: Connection): void {
    this.connections.add(conn);
  }

  handleMessage(conn: Connection, msg: ClientMessage): void {
    conn.received++;
    if (conn.sessionId === undefined && conn.connecting && msg.kind !== "connect") {
      // Sent behind the connect request, without waiting for its reply: handled once attached.
      if (!conn.holdUntilAttached(msg)) conn.close(Code.CONNECTIONLOSS, "too many requests before the session was set up");
      return;
    }
    this.dispatch(conn, msg);
  }

  private dispatch(conn: Connection, msg: ClientMessage): void {
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
    const tree = this.state.tree;
    if (req.protocolVersion !== PROTOCOL_VERSION) return conn.close(Code.BADARGUMENTS, `protocol version ${req.protocolVersion} is not supported (this server speaks ${PROTOCOL_VERSION})`);
    if (req.lastZxidSeen > tree.lastZxid) {
      // Never let a client move back in time: it must find a server at least as current.
      return conn.close(Code.CONNECTIONLOSS, `client has seen zxid ${formatZxid(req.lastZxidSeen)} but this server is at ${formatZxid(tree.lastZxid)}`);
    }
    if (!this.serving) {
      if (req.canBeReadOnly && this.readOnly) return this.connectReadOnly(conn, req);
      this.counters.refusedNotServing++;
      return conn.close(Code.CONNECTIONLOSS, `server ${this.config.serverId} is not serving: it has no quorum right now`);
    }
    if (req.sessionId === 0) {
      if (this.state.sessions.size >= limits.sessionsMax) return conn.close(Code.CONNECTIONLOSS, "too many sessions");
      const timeoutMs = Math.min(this.config.maxSessionTimeoutMs, Math.max(this.config.minSessionTimeoutMs, req.timeoutMs));
      const token = this.config.serverId * 2 ** TOKEN_BITS + (this.nextToken++ % 2 ** TOKEN_BITS);
      this.creating.set(token, conn);
      if (!this.runner.submit({ type: "createSession", token, timeoutMs, password: randomBytes(16) })) {
        this.creating.delete(token);
        conn.close(Code.CONNECTIONLOSS, "not serving");
      }
      return;
    }
    const info = this.state.sessions.get(req.sessionId);
    if (!info || !passwordMatches(info.password, req.password)) {
      return conn.close(Code.SESSIONEXPIRED, `session ${formatSessionId(req.sessionId)} has expired or is unknown`);
    }
    this.attach(conn, req.sessionId, info.timeoutMs, info.password);
  }

  /**
   * A client that accepts read-only service, on a node without a quorum: a new session is
   * local to this node; an existing one is attached for reads only (it cannot be kept alive
   * from here, so it may expire on the quorum side meanwhile, as in ZooKeeper).
   */
  private connectReadOnly(conn: Connection, req: ConnectRequest): void {
    this.counters.readOnlyConnects++;
    conn.readOnly = true;
    const timeoutMs = Math.min(this.config.maxSessionTimeoutMs, Math.max(this.config.minSessionTimeoutMs, req.timeoutMs));
    if (req.sessionId === 0) {
      const id = (LOCAL_SESSION_BASE + this.config.serverId * 2 ** 32 + this.nextLocalSession++) as SessionId;
      const password = randomBytes(16);
      this.localSessions.set(id, password);
      return this.attach(conn, id, timeoutMs, password);
    }
    const local = this.localSessions.get(req.sessionId);
    const global = this.state.sessions.get(req.sessionId);
    const password = local ?? global?.password;
    if (!password || !passwordMatches(password, req.password)) {
      // Unknown here, but perhaps alive on the quorum side: not expired, just not here.
      return conn.close(Code.CONNECTIONLOSS, `session ${formatSessionId(req.sessionId)} is not known to this read-only server; try another`);
    }
    this.attach(conn, req.sessionId, global?.timeoutMs ?? timeoutMs, password);
  }

  private attach(conn: Connection, id: SessionId, timeoutMs: number, password: Uint8Array): void {
    const old = this.attached.get(id);
    if (old && old !== conn) old.close(Code.SESSIONMOVED, "the session reconnected on another connection");
    conn.sessionId = id;
    this.attached.set(id, conn);
    if (!conn.readOnly) {
      this.touch(id);
      // The leader learns of the new connection, with only its address (and certificate): auth is per connection.
      // Deferred out of the replica's apply hook (this runs in one for a new session), and
      // still ahead of anything the client sends once it reads the reply below.
      queueMicrotask(() => {
        if (!conn.closed && this.attached.get(id) === conn) this.runner.attach(id, conn.id, conn.remoteHost, conn.certificate);
      });
    }
    conn.send({ kind: "connected", protocolVersion: PROTOCOL_VERSION, sessionId: id, password, timeoutMs, readOnly: conn.readOnly, lastZxid: this.state.tree.lastZxid, serverId: this.config.serverId });
    // Requests that came behind the connect request, now in order (and after the leader heard
    // of the connection, above): out of the replica's apply hook, as the bind.
    const held = conn.takeHeld();
    if (held.length > 0) {
      queueMicrotask(() => {
        for (const msg of held) if (!conn.closed) this.dispatch(conn, msg);
      });
    }
    this.log.debug({ session: formatSessionId(id), conn: conn.id }, "session attached");
  }

  /** The socket went away: its watches go, its session lives until it expires. */
  disconnected(conn: Connection): void {
    conn.ended();
    if (this.connections.delete(conn)) this.sentOnClosedConnections += conn.sent;
    this.watches.removeWatcher(conn);
    for (const [token, c] of this.creating) if (c === conn) this.creating.delete(token);
    if (conn.sessionId !== undefined && this.attached.get(conn.sessionId) === conn) this.attached.delete(conn.sessionId);
    // The leader forgets what this connection proved (unless the session moved on meanwhile).
    if (conn.sessionId !== undefined && !conn.readOnly) this.runner.detach(conn.sessionId, conn.id);
    // A local session lives as long as its connection: nothing else could keep it alive.
    if (conn.sessionId !== undefined) this.localSessions.delete(conn.sessionId);
  }

  private touch(id: SessionId): void {
    this.touched.add(id);
    if (this.touchScheduled) return;
    this.touchScheduled = true;
    setImmediate(() => {
      this.touchScheduled = false;
      this.runner.touch(this.touched);
      this.touched.clear();
    });
  }

  // ---- requests ----------------------------------------------------------------------------

  private reply(xid: number, err: Code, result?: Result) {
    return { kind: "response" as const, xid, zxid: this.state.tree.lastZxid, err, ...(result ? { result } : {}) };
  }

  private request(conn: Connection, sessionId: SessionId, xid: number, req: Request): void {
    if (conn.readOnly) return this.readOnlyRequest(conn, sessionId, xid, req);
    if (!this.state.sessions.has(sessionId)) {
      conn.enqueueRead(xid, () => this.reply(xid, Code.SESSIONEXPIRED));
      return;
    }
    this.touch(sessionId);
    if (isLocal(req)) return this.readRequest(conn, xid, req);
    switch (req.type) {
      case "closeSession":
        conn.enqueueWrite(xid, "closeSession");
        if (!this.runner.submit({ type: "closeSession", sessionId, cxid: xid })) conn.close(Code.CONNECTIONLOSS, "not serving");
        return;
      default:
        return this.write(conn, sessionId, xid, req);
    }
  }

  private readRequest(conn: Connection, xid: number, req: LocalRequest): void {
    switch (req.type) {
      case "ping":
        return conn.enqueueRead(xid, () => this.reply(xid, Code.OK, { type: "ping" }));
      case "getEphemerals":
        return conn.enqueueRead(xid, () => {
          const all = this.state.tree.ephemerals(conn.sessionId!);
          const budget = new ReplyBudget(this.config.replyBytesMax);
          const paths = req.prefix === "/" || req.prefix === "" ? namesWithin(all, all.size, budget) : namesWithin(filter(all, (p) => p.startsWith(req.prefix)), 0, budget);
          if (!paths) return this.refuseTooBig(conn, xid, tooBig(budget, `getEphemerals ${req.prefix} (${all.size} ephemerals)`));
          return this.reply(xid, Code.OK, { type: "getEphemerals", paths });
        });
      case "addWatch":
        return conn.enqueueRead(xid, () => {
          if (pathProblem(req.path)) return this.reply(xid, Code.BADARGUMENTS);
          if (this.watches.countFor(conn) >= limits.watchesPerSessionMax) return this.reply(xid, Code.BADARGUMENTS);
          this.watches.add(req.mode === AddWatchMode.PERSISTENT ? "persistent" : "persistentRecursive", req.path, conn);
          return this.reply(xid, Code.OK, { type: "addWatch" });
        });
      case "removeWatches":
        return conn.enqueueRead(xid, () => {
          const found = this.watches.match(watchKindsOf(req.watcherType), req.path, conn, !req.checkOnly);
          return this.reply(xid, found ? Code.OK : Code.NOWATCHER, found ? { type: "removeWatches" } : undefined);
        });
      case "whoAmI":
        return conn.enqueueRead(xid, () => {
          // Each new identity an auth packet adds makes this list longer.
          const clientInfo = conn.clientInfo;
          const budget = new ReplyBudget(this.config.replyBytesMax);
          if (!clientInfo.every((i) => budget.take(stringBytes(i.authScheme) + stringBytes(i.user) + 8))) return this.refuseTooBig(conn, xid, tooBig(budget, `whoAmI (${clientInfo.length} identities)`));
          return this.reply(xid, Code.OK, { type: "whoAmI", clientInfo });
        });
      case "auth": {
        const ids = req.auth.length <= limits.credentialBytesMax ? authenticate(req.scheme, req.auth, this.config.superDigest) : undefined;
        // The leader checks the credential for itself (writes are checked there, with what it
        // verified). It goes now, so it reaches the leader ahead of any write sent after it.
        if (ids && !conn.readOnly) this.runner.credential(conn.sessionId!, conn.id, req.scheme, req.auth);
        return conn.enqueueRead(xid, () => {
          if (!ids) return this.reply(xid, Code.AUTHFAILED);
          const fresh = ids.filter((i) => !conn.hasIdentity(i.identity));
          if (conn.identities.length + fresh.length > IDENTITIES_PER_CONNECTION_MAX) {
            conn.log.warn({ identities: conn.identities.length }, `auth refused: a connection holds at most ${IDENTITIES_PER_CONNECTION_MAX} identities`);
            return this.reply(xid, Code.AUTHFAILED);
          }
          for (const i of fresh) conn.addIdentity(i.identity, i.info);
          return this.reply(xid, Code.OK, { type: "auth" });
        });
      }
      case "setWatches":
        return conn.enqueueRead(xid, () => {
          const tree = this.state.tree;
          const { events, skipped } = resetWatches(tree, this.watches, conn, req);
          if (skipped > 0) conn.log.info({ skipped }, "setWatches: paths skipped (malformed, or past the session's watch limit)");
          for (const ev of events) conn.send({ kind: "event", ...ev, zxid: tree.lastZxid });
          return this.reply(xid, Code.OK, { type: "setWatches" });
        });
      default:
        this.counters.reads++;
        return conn.enqueueRead(
          xid,
          () => {
            const out = executeRead(this.state.tree, this.watches, conn, req, conn.identities, this.config.replyBytesMax);
            if (out.reason) return this.refuseTooBig(conn, xid, out.reason);
            return this.reply(xid, out.err, out.result);
          },
          req.type,
        );
    }
  }

  /** A read refused because its reply would exceed replyBytesMax: BADARGUMENTS, the session goes on. */
  private refuseTooBig(conn: Connection, xid: number, reason: string) {
    this.counters.repliesTooBig++;
    this.counters.errors++;
    conn.log.info({ xid, reason }, "read refused: reply too big");
    return this.reply(xid, Code.BADARGUMENTS);
  }

  /** Reads as usual; anything that would change state is refused with NOTREADONLY. */
  private readOnlyRequest(conn: Connection, sessionId: SessionId, xid: number, req: Request): void {
    if (isLocal(req)) return this.readRequest(conn, xid, req);
    switch (req.type) {
      case "closeSession":
        if (!this.localSessions.has(sessionId)) return conn.enqueueRead(xid, () => this.reply(xid, Code.NOTREADONLY));
        this.localSessions.delete(sessionId);
        conn.enqueueRead(xid, () => this.reply(xid, Code.OK, { type: "closeSession" }));
        return conn.close(Code.OK, "session closed");
      default:
        this.counters.errors++;
        return conn.enqueueRead(xid, () => this.reply(xid, Code.NOTREADONLY));
    }
  }

  private write(conn: Connection, sessionId: SessionId, xid: number, req: WriteRequest): void {
    this.counters.writes++;
    if (conn.isWaitingFor(xid)) {
      conn.enqueueRead(xid, () => this.reply(xid, Code.BADARGUMENTS));
      return;
    }
    if (this.runner.writesRefused) {
      // NOSPACE alarm: this node cannot log the write. NOTREADONLY is ZooKeeper's "this server
      // takes no writes now"; clients retry or move on, reads here go on.
      this.counters.refusedDiskFull++;
      this.counters.errors++;
      conn.log.debug({ xid }, "write refused: NOSPACE alarm");
      conn.enqueueRead(xid, () => this.reply(xid, Code.NOTREADONLY));
      return;
    }
    const ids = conn.identities;
    const problem = validateWrite(req, this.config.dataBytesMax, ids);
    if (problem) {
      this.counters.errors++;
      conn.log.debug({ xid, err: problem.err, reason: problem.reason }, "request rejected");
      conn.enqueueRead(xid, () => this.reply(xid, problem.err));
      return;
    }
    conn.enqueueWrite(xid, req.type);
    // No identity travels: the leader checks the write as whoever this connection proved to be.
    if (!this.runner.submit({ type: "write", sessionId, conn: conn.id, cxid: xid, request: req })) conn.close(Code.CONNECTIONLOSS, "not serving");
  }
}
