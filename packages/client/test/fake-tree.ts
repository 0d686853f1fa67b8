// A tiny in-memory znode tree shared by fake servers, with one-shot watches per connection.
// Just enough ZooKeeper semantics to drive the client end to end; not a model of the server.

import { asSessionId, asZxid, Code, EventType, nameOf, parentOf, sequenceSuffix, type Acl, type MultiOpResult, type Request, type Result, type Stat } from "@keeper/protocol";
import type { FakeConn } from "./fake-server.ts";

interface Node {
  data: Uint8Array;
  version: number;
  cversion: number;
  czxid: number;
  mzxid: number;
  pzxid: number;
  ephemeralOwner: number;
  children: Set<string>;
  acl: Acl[];
}

type Kind = "data" | "exist" | "child";
type Outcome = { err: Code; result?: Result };
type PendingEvent = { type: number; path: string };

const kindsByEvent: Record<number, Kind[]> = {
  [EventType.NodeCreated]: ["data", "exist"],
  [EventType.NodeDataChanged]: ["data", "exist"],
  [EventType.NodeDeleted]: ["data", "exist", "child"],
  [EventType.NodeChildrenChanged]: ["child"],
};

class Failure extends Error {
  constructor(readonly code: Code) {
    super(String(code));
  }
}

export class FakeTree {
  nodes = new Map<string, Node>([["/", FakeTree.node(0, 0)]]);
  zxid = 0;
  readonly sessions = new Map<number, Uint8Array>();
  private nextSession = 0x1000;
  readonly watches: Record<Kind, Map<string, Set<FakeConn>>> = { data: new Map(), exist: new Map(), child: new Map() };

  static node(zxid: number, owner: number): Node {
    return { data: new Uint8Array(0), version: 0, cversion: 0, czxid: zxid, mzxid: zxid, pzxid: zxid, ephemeralOwner: owner, children: new Set(), acl: [{ perms: 31, scheme: "world", id: "anyone" }] };
  }

  newSession(): { id: number; password: Uint8Array } {
    const id = this.nextSession++;
    const password = new Uint8Array([id & 0xff, 7, 7, 7]);
    this.sessions.set(id, password);
    return { id, password };
  }

  stat(path: string): Stat {
    const n = this.nodes.get(path)!;
    return {
      czxid: asZxid(n.czxid), mzxid: asZxid(n.mzxid), pzxid: asZxid(n.pzxid), ctime: 0, mtime: 0, version: n.version,
      cversion: n.cversion, aversion: 0, ephemeralOwner: asSessionId(n.ephemeralOwner), dataLength: n.data.length, numChildren: n.children.size,
    };
  }

  /** Runs a request for `conn`: fires the watch events it triggers, then returns its outcome. */
  handle(conn: FakeConn, req: Request): Outcome {
    const events: PendingEvent[] = [];
    const saved = this.snapshot();
    try {
      const result = this.apply(conn, req, events);
      for (const e of events) this.fire(e.type, e.path);
      return { err: Code.OK, result };
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      if (req.type === "exists" && e.code === Code.NONODE && req.watch) this.watch("exist", req.path, conn);
      if (req.type !== "multi") return { err: e.code };
      return this.multiFailure(conn, req.ops, saved);
    }
  }

  /** Re-runs a failed multi op by op on the saved state to build per-op results. */
  private multiFailure(conn: FakeConn, ops: Request[], saved: Map<string, Node>): Outcome {
    this.nodes = saved;
    const probe = this.snapshot();
    const results: MultiOpResult[] = [];
    let failed: Code = Code.OK;
    for (const op of ops) {
      if (failed !== Code.OK) {
        results.push({ type: "error", err: Code.RUNTIMEINCONSISTENCY });
        continue;
      }
      try {
        this.apply(conn, op, []);
        results.push({ type: "error", err: Code.OK });
      } catch (e) {
        failed = (e as Failure).code;
        results.push({ type: "error", err: failed });
      }
    }
    this.nodes = probe;
    return { err: failed, result: { type: "multi", results } };
  }

  private snapshot(): Map<string, Node> {
    return new Map([...this.nodes].map(([p, n]) => [p, { ...n, children: new Set(n.children) }]));
  }

  private get(path: string): Node {
    const n = this.nodes.get(path);
    if (n === undefined) throw new Failure(Code.NONODE);
    return n;
  }

  private checkVersion(n: Node, version: number): void {
    if (version !== -1 && version !== n.version) throw new Failure(Code.BADVERSION);
  }

  private apply(conn: FakeConn, req: Request, events: PendingEvent[]): Result {
    switch (req.type) {
      case "create":
        return this.create(conn, req, events);
      case "delete": {
        const n = this.get(req.path);
        this.checkVersion(n, req.version);
        if (n.children.size > 0) throw new Failure(Code.NOTEMPTY);
        const parent = this.get(parentOf(req.path));
        this.nodes.delete(req.path);
        parent.children.delete(nameOf(req.path));
        parent.cversion++;
        parent.pzxid = ++this.zxid;
        events.push({ type: EventType.NodeDeleted, path: req.path }, { type: EventType.NodeChildrenChanged, path: parentOf(req.path) });
        return { type: "delete" };
      }
      case "setData": {
        const n = this.get(req.path);
        this.checkVersion(n, req.version);
        n.data = req.data;
        n.version++;
        n.mzxid = ++this.zxid;
        events.push({ type: EventType.NodeDataChanged, path: req.path });
        return { type: "setData", stat: this.stat(req.path) };
      }
      case "check":
        this.checkVersion(this.get(req.path), req.version);
        return { type: "check" };
      case "exists":
      case "getData":
      case "getChildren":
        return this.read(conn, req);
      case "multi": {
        const results: MultiOpResult[] = req.ops.map((op) => this.apply(conn, op, events) as MultiOpResult);
        return { type: "multi", results };
      }
      case "sync":
        return { type: "sync", path: req.path };
      case "getACL":
        return { type: "getACL", acl: this.get(req.path).acl, stat: this.stat(req.path) };
      case "setACL":
        this.get(req.path).acl = storedAcl(req.acl);
        return { type: "setACL", stat: this.stat(req.path) };
      case "setWatches":
        this.rearm(conn, req, events);
        return { type: "setWatches" };
      case "ping":
        return { type: "ping" };
      case "closeSession":
        return { type: "closeSession" };
      default:
        // The fake server models only what the client tests exercise.
        throw new Failure(Code.UNIMPLEMENTED);
    }
  }

  private create(conn: FakeConn, req: Extract<Request, { type: "create" }>, events: PendingEvent[]): Result {
    const parentPath = parentOf(req.path.endsWith("/") ? req.path + "x" : req.path);
    const parent = this.get(parentPath);
    if (parent.ephemeralOwner !== 0) throw new Failure(Code.NOCHILDRENFOREPHEMERALS);
    const sequential = req.mode === 2 || req.mode === 3 || req.mode === 6;
    const path = sequential ? req.path + sequenceSuffix(parent.cversion) : req.path;
    if (this.nodes.has(path)) throw new Failure(Code.NODEEXISTS);
    const zxid = ++this.zxid;
    const owner = req.mode === 1 || req.mode === 3 ? conn.sessionId : 0;
    this.nodes.set(path, { ...FakeTree.node(zxid, owner), data: req.data, acl: storedAcl(req.acl) });
    parent.children.add(nameOf(path));
    parent.cversion++;
    parent.pzxid = zxid;
    events.push({ type: EventType.NodeCreated, path }, { type: EventType.NodeChildrenChanged, path: parentPath });
    return { type: "create", path, stat: this.stat(path) };
  }

  private read(conn: FakeConn, req: Extract<Request, { type: "exists" | "getData" | "getChildren" }>): Result {
    const n = this.get(req.path);
    const kind: Kind = req.type === "getChildren" ? "child" : "data";
    if (req.watch) this.watch(kind, req.path, conn);
    if (req.type === "exists") return { type: "exists", stat: this.stat(req.path) };
    if (req.type === "getData") return { type: "getData", data: n.data, stat: this.stat(req.path) };
    return { type: "getChildren", children: [...n.children], stat: this.stat(req.path) };
  }

  /** setWatches: registers the paths on `conn` and fires at once what changed after relativeZxid. */
  private rearm(conn: FakeConn, req: Extract<Request, { type: "setWatches" }>, events: PendingEvent[]): void {
    for (const path of req.dataWatches) {
      const n = this.nodes.get(path);
      if (n === undefined) events.push({ type: EventType.NodeDeleted, path });
      else if (n.mzxid > req.relativeZxid) events.push({ type: EventType.NodeDataChanged, path });
      this.watch("data", path, conn);
    }
    for (const path of req.existWatches) {
      if (this.nodes.has(path)) events.push({ type: EventType.NodeCreated, path });
      this.watch("exist", path, conn);
    }
    for (const path of req.childWatches) {
      const n = this.nodes.get(path);
      if (n === undefined) events.push({ type: EventType.NodeDeleted, path });
      else if (n.pzxid > req.relativeZxid) events.push({ type: EventType.NodeChildrenChanged, path });
      this.watch("child", path, conn);
    }
  }

  watch(kind: Kind, path: string, conn: FakeConn): void {
    let set = this.watches[kind].get(path);
    if (set === undefined) this.watches[kind].set(path, (set = new Set()));
    set.add(conn);
  }

  private fire(type: number, path: string): void {
    const conns = new Set<FakeConn>();
    for (const kind of kindsByEvent[type] ?? []) {
      for (const c of this.watches[kind].get(path) ?? []) conns.add(c);
      this.watches[kind].delete(path);
    }
    for (const c of conns) c.send({ kind: "event", type, state: 3, path, zxid: asZxid(this.zxid) });
  }
}

/** The client under test never sends a null scheme or id (only ZooKeeper's wire can carry them). */
function storedAcl(acl: ReadonlyArray<{ perms: number; scheme: string | null; id: string | null }>): Array<{ perms: number; scheme: string; id: string }> {
  return acl.map((a) => ({ perms: a.perms, scheme: a.scheme ?? "", id: a.id ?? "" }));
}
