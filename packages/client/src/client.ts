// The public client: API calls become protocol requests, responses become values or
// KeeperErrors. Everything about connections and sessions lives in session.ts.

import { AddWatchMode, Code, KeeperError, type Acl, type ClientInfo, type MultiOp, type MultiOpResult, type Request, type Result, type Stat } from "@keeper/protocol";
import { MultiError } from "./errors.ts";
import type { ResponseMessage } from "./pipeline.ts";
import { checkVersion, createRequest, fromServerResult, toBytes, type CallOptions, type CreateOptions } from "./requests.ts";
import type { ClientState, Session } from "./session.ts";
import { Transaction } from "./transaction.ts";
import type { WatchKind, Watcher } from "./watches.ts";

export interface WatchOptions extends CallOptions {
  watch?: Watcher;
}

type ResultOf<K extends Result["type"]> = Extract<Result, { type: K }>;

/** The result of a successful response, or the KeeperError its code stands for. */
function expectResult<K extends Result["type"]>(msg: ResponseMessage, type: K, path?: string): ResultOf<K> {
  if (msg.err !== Code.OK) throw new KeeperError(msg.err, undefined, path);
  if (msg.result?.type !== type) throw new KeeperError(Code.MARSHALLINGERROR, `expected a ${type} result, got ${msg.result?.type ?? "none"}`, path);
  return msg.result as ResultOf<K>;
}

export class KeeperClient {
  /** Made by connect(); not meant to be constructed directly. */
  constructor(
    private readonly session: Session,
    private readonly requestTimeoutMs: number | undefined,
  ) {}

  get sessionId(): number {
    return this.session.sessionId;
  }
  get sessionPassword(): Uint8Array {
    return this.session.password;
  }
  get state(): ClientState {
    return this.session.state;
  }
  get lastZxid(): number {
    return this.session.lastZxid;
  }
  get negotiatedTimeoutMs(): number {
    return this.session.negotiatedTimeoutMs;
  }
  /** Why the last connection ended, or why the session finished; for diagnostics only. */
  get lastDisconnectReason(): string | undefined {
    return this.session.lastDisconnectReason;
  }

  on(event: "state", fn: (state: ClientState) => void): void {
    this.session.events.on(event, fn);
  }
  off(event: "state", fn: (state: ClientState) => void): void {
    this.session.events.off(event, fn);
  }

  async create(path: string, data?: Uint8Array | string, opts?: CreateOptions): Promise<string> {
    return (await this.createWithStat(path, data, opts)).path;
  }

  createWithStat(path: string, data?: Uint8Array | string, opts?: CreateOptions): Promise<{ path: string; stat: Stat }> {
    return this.run(() => createRequest(path, data, opts), opts, (msg) => {
      const res = expectResult(msg, "create", path);
      return { path: fromServerResult(res, this.session.chrootOf()).path, stat: res.stat };
    });
  }

  delete(path: string, version = -1, opts?: CallOptions): Promise<void> {
    return this.run(() => ({ type: "delete", path, version: checkVersion(version) }), opts, (msg) => {
      expectResult(msg, "delete", path);
    });
  }

  /** The node's Stat, or null when it does not exist; a watch set on a missing node waits for its creation. */
  exists(path: string, opts?: WatchOptions): Promise<Stat | null> {
    const watch = opts?.watch;
    return this.run(() => this.watchRequest("exists", path, watch, "exist"), opts, (msg) => {
      if (msg.err === Code.NONODE) {
        if (watch !== undefined) this.session.watches.add("exist", path, watch);
        return null;
      }
      const res = expectResult(msg, "exists", path);
      if (watch !== undefined) this.session.watches.add("data", path, watch);
      return res.stat;
    });
  }

  getData(path: string, opts?: WatchOptions): Promise<{ data: Uint8Array; stat: Stat }> {
    const watch = opts?.watch;
    return this.run(() => this.watchRequest("getData", path, watch, "data"), opts, (msg) => {
      const res = expectResult(msg, "getData", path);
      if (watch !== undefined) this.session.watches.add("data", path, watch);
      return { data: res.data, stat: res.stat };
    });
  }

  /** The children in the order the server sends them. */
  getChildren(path: string, opts?: WatchOptions): Promise<{ children: string[]; stat: Stat }> {
    const watch = opts?.watch;
    return this.run(() => this.watchRequest("getChildren", path, watch, "child"), opts, (msg) => {
      const res = expectResult(msg, "getChildren", path);
      if (watch !== undefined) this.session.watches.add("child", path, watch);
      return { children: res.children, stat: res.stat };
    });
  }

  setData(path: string, data: Uint8Array | string, version = -1, opts?: CallOptions): Promise<Stat> {
    return this.run(() => ({ type: "setData", path, data: toBytes(data), version: checkVersion(version) }), opts, (msg) => expectResult(msg, "setData", path).stat);
  }

  /** All-or-nothing; a refused multi throws MultiError carrying every op's outcome. */
  multi(ops: MultiOp[], opts?: CallOptions): Promise<MultiOpResult[]> {
    return this.run(() => ({ type: "multi", ops }), opts, (msg) => {
      if (msg.err !== Code.OK && msg.result?.type === "multi") throw new MultiError(msg.err, fromServerResult(msg.result, this.session.chrootOf()).results);
      return fromServerResult(expectResult(msg, "multi"), this.session.chrootOf()).results;
    });
  }

  transaction(): Transaction {
    return new Transaction((ops, opts) => this.multi(ops, opts));
  }

  /** Waits until the server this client talks to has applied every write committed before the call. */
  sync(path: string, opts?: CallOptions): Promise<void> {
    return this.run(() => ({ type: "sync", path }), opts, (msg) => {
      expectResult(msg, "sync", path);
    });
  }

  getACL(path: string, opts?: CallOptions): Promise<{ acl: Acl[]; stat: Stat }> {
    return this.run(() => ({ type: "getACL", path }), opts, (msg) => {
      const res = expectResult(msg, "getACL", path);
      return { acl: res.acl, stat: res.stat };
    });
  }

  setACL(path: string, acl: Acl[], version = -1, opts?: CallOptions): Promise<Stat> {
    return this.run(() => ({ type: "setACL", path, acl: acl.map((a) => ({ ...a })), version: checkVersion(version) }), opts, (msg) => expectResult(msg, "setACL", path).stat);
  }

  /**
   * Keeper's own (ZooKeeper has no such call): makes the next sequential child of `path` be
   * numbered at least `next`, continuing a counter brought over from another server (as
   * `keeper import` and `keeper copy` do). The counter never goes down. Needs ADMIN on `path`
   * (NOAUTH otherwise); a `next` outside 0..2^31-1 is BADARGUMENTS. Returns the node's Stat.
   */
  setSequence(path: string, next: number, opts?: CallOptions): Promise<Stat> {
    return this.run(() => ({ type: "setSequence", path, next }), opts, (msg) => expectResult(msg, "setSequence", path).stat);
  }

  /**
   * A watch that stays armed (ZooKeeper's addWatch): on `path` itself it sees every event
   * there; with `recursive` it sees creations, changes and deletions anywhere below too.
   * It lasts as long as the session and is re-armed after a reconnect.
   */
  addWatch(path: string, watcher: Watcher, opts?: CallOptions & { recursive?: boolean }): Promise<void> {
    const recursive = opts?.recursive === true;
    return this.run(
      () => {
        this.session.watches.checkRoom("data", path);
        return { type: "addWatch", path, mode: recursive ? AddWatchMode.PERSISTENT_RECURSIVE : AddWatchMode.PERSISTENT };
      },
      opts,
      (msg) => {
        expectResult(msg, "addWatch", path);
        this.session.watches.addPersistent(recursive ? "recursive" : "persistent", path, watcher);
      },
    );
  }

  /** Who the server takes this session for: its address, then identities added by auth. */
  whoAmI(opts?: CallOptions): Promise<ClientInfo[]> {
    return this.run(() => ({ type: "whoAmI" }), opts, (msg) => expectResult(msg, "whoAmI").clientInfo);
  }

  /** Ends the session (closeSession, bounded wait), then the socket; safe to call twice. */
  close(): Promise<void> {
    return this.session.close();
  }

  /**
   * Adds an identity to this session, as ZooKeeper's addAuthInfo: scheme "digest" with
   * "user:password". Rejects with AUTHFAILED when the server does not accept it; an accepted one
   * is sent again whenever the client reconnects.
   */
  async addAuth(scheme: string, auth: Uint8Array | string, opts?: CallOptions): Promise<void> {
    const bytes = typeof auth === "string" ? new TextEncoder().encode(auth) : auth;
    await this.run(() => ({ type: "auth", scheme, auth: bytes }), opts, (msg) => expectResult(msg, "auth"));
    const known = this.session.authInfo.some((a) => a.scheme === scheme && a.auth.length === bytes.length && a.auth.every((b, i) => b === bytes[i]));
    if (!known) this.session.authInfo.push({ scheme, auth: bytes });
  }

  /** Builds the request (which may throw BADARGUMENTS) and submits it with the default timeout. */
  private run<T>(build: () => Request, opts: CallOptions | undefined, settle: (msg: ResponseMessage) => T): Promise<T> {
    let request: Request;
    try {
      request = build();
    } catch (e) {
      return Promise.reject(e);
    }
    const timeoutMs = opts?.timeoutMs ?? this.requestTimeoutMs;
    return this.session.submit(request, { ...(opts?.signal ? { signal: opts.signal } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) }, settle);
  }

  private watchRequest(type: "exists" | "getData" | "getChildren", path: string, watch: Watcher | undefined, kind: WatchKind): Request {
    if (watch !== undefined) {
      if (typeof watch !== "function") throw new KeeperError(Code.BADARGUMENTS, "watch must be a function", path);
      this.session.watches.checkRoom(kind, path);
    }
    return { type, path, watch: watch !== undefined };
  }
}
