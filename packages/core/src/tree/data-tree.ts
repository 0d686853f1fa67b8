// The znode tree: a map from path to node, changed only by applying committed transactions
// in zxid order. Pure and deterministic: no I/O, no clock (times come in the transactions).
import { Code, EventType, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, ZXID_ZERO, asSessionId, joinPath, nameOf, parentOf, type Acl, type MultiOpResult, type Result, type SessionId, type Stat, type Zxid } from "@keeper/protocol";
// Hot checks throw directly: assert(cond, `...`) would build its message on every call.
import { AssertionError, assert, assertNever } from "../assert.ts";
import type { TreeTxn, Txn, TxnHeader } from "../txn.ts";
import { TreeDigest, hashBytes, hashString, nodeHash } from "./digest.ts";

export interface Znode {
  data: Uint8Array;
  /** ZooKeeper's null data (then `data` is empty): reads give null, not zero bytes. */
  dataNull: boolean;
  /** Shared between nodes with equal lists (see internAcl): never mutate it, replace it. */
  acl: readonly Acl[];
  stat: Stat;
  /** NO_CHILDREN (shared) until the first child: most znodes are leaves. */
  children: ReadonlySet<string>;
  /** Cached hashes for the digest. */
  pathHash: [number, number];
  dataHash: [number, number];
  /**
   * How many nodes lie below this one (getAllChildrenNumber), kept up on every create and
   * delete along the ancestors, so the answer needs no walk of the subtree. One number per
   * node (about 8 MB at a million nodes) against a walk of up to the whole tree per request.
   */
  descendants: number;
}

/**
 * Told of a node just before it changes or leaves the tree, while a snapshot is being written
 * in slices between applies: the snapshot keeps the state it has not written yet (copy on
 * write), so the result is exactly the tree at the zxid where it started.
 */
export interface TreeChangeObserver {
  beforeChange(path: string, n: Readonly<Znode>): void;
}

/** A change that may fire watches: applied in order after each transaction. */
export interface WatchTrigger {
  type: EventType;
  path: string;
  /** The ACL of the node the event is about: only watchers it grants READ are told (as ZooKeeper 3.8). */
  acl?: readonly Acl[];
}

export interface TreeOutcome {
  err: Code;
  result?: Result;
  triggers: WatchTrigger[];
}

/** Paths ZooKeeper reserves: they exist from the start and can be neither created nor deleted. */
export const SYSTEM_PATHS: readonly string[] = ["/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"];
const CONFIG_PATH = "/zookeeper/config";

export function emptyStat(): Stat {
  return {
    czxid: ZXID_ZERO,
    mzxid: ZXID_ZERO,
    ctime: 0,
    mtime: 0,
    version: 0,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: asSessionId(0),
    dataLength: 0,
    numChildren: 0,
    pzxid: ZXID_ZERO,
  };
}

const EMPTY = new Uint8Array(0);
/** Null data hashes apart from zero bytes, so replicas that disagree on it have different digests. */
const NULL_DATA_HASH: [number, number] = [0x6e756c6c, 0x4e554c4c];
const dataHashOf = (data: Uint8Array, dataNull: boolean): [number, number] => (dataNull ? NULL_DATA_HASH : hashBytes(data));

/**
 * A node's Stat as ZooKeeper shows it to clients. Inside, cversion counts child creations
 * (it numbers sequential children); clients see creations plus deletions, which ZooKeeper
 * derives as 2 * cversion - numChildren. Containers and TTL nodes show no owner.
 */
export function clientStat(stat: Stat): Stat {
  return { ...stat, cversion: 2 * stat.cversion - stat.numChildren, ephemeralOwner: stat.ephemeralOwner < 0 ? 0 : stat.ephemeralOwner };
}

/** Every leaf's child set. Read-only by type; addChild swaps in a real set. */
const NO_CHILDREN: ReadonlySet<string> = new Set<string>();

function addChild(n: Znode, name: string): void {
  if (n.children === NO_CHILDREN) n.children = new Set([name]);
  else (n.children as Set<string>).add(name);
}

function removeChild(n: Znode, name: string): void {
  if (n.children === NO_CHILDREN) return;
  (n.children as Set<string>).delete(name);
  if (n.children.size === 0) n.children = NO_CHILDREN;
}

/**
 * Equal ACL lists share one frozen array: nearly every znode carries one of a handful of
 * lists, and a list per node costs about a tenth of a small node's memory. Bounded, so
 * that many distinct lists cost no more than unshared ones.
 */
const ACL_CACHE_MAX = 4096;
const aclCache = new Map<string, readonly Acl[]>();

/** Lists internAcl returned: passing one again costs nothing (a snapshot load does, per node). */
const interned = new WeakSet<readonly Acl[]>();

export function internAcl(acl: readonly Acl[]): readonly Acl[] {
  if (interned.has(acl)) return acl;
  const key = acl.map((a) => `${a.perms}\u0000${a.scheme}\u0000${a.id}`).join("\u0001");
  const cached = aclCache.get(key);
  if (cached !== undefined) return cached;
  const frozen = Object.freeze(acl.map((a) => Object.freeze({ perms: a.perms, scheme: a.scheme, id: a.id })));
  if (aclCache.size < ACL_CACHE_MAX) aclCache.set(key, frozen);
  interned.add(frozen);
  return frozen;
}

export class DataTree {
  private readonly nodes = new Map<string, Znode>();
  private readonly ephemeralsBySession = new Map<SessionId, Set<string>>();
  /** Containers and TTL nodes (negative owners): the leader's reaper looks at these. */
  private readonly reapable = new Set<string>();
  private readonly digestSum = new TreeDigest();
  /** The zxid of the last transaction applied. */
  lastZxid: Zxid = ZXID_ZERO;
  /** Snapshots in progress: a local one, and one per follower being sent a SNAP. */
  private readonly observers = new Set<TreeChangeObserver>();
  /** Nodes owned by a session: ZooKeeper's ephemerals count (mntr's zk_ephemerals_count). */
  private ephemeralNodes = 0;
  /** Sum over nodes of path length + data length: ZooKeeper's (cached) approximate data size. */
  private approximateBytes = 0;

  constructor() {
    for (const path of SYSTEM_PATHS) {
      if (path !== "/") addChild(this.nodes.get(parentOf(path))!, nameOf(path));
      // As ZooKeeper's DataTree.addConfigNode (ZOOKEEPER-2014): /zookeeper/config is readable by
      // all and writable by the super user only (Curator rewrites its connect string from it).
      // ZooKeeper sets that ACL with setACL(path, acl, -1), which leaves aversion at -1.
      const config = path === CONFIG_PATH;
      const n = this.makeNode(path, EMPTY, config ? [...READ_ACL_UNSAFE] : [...OPEN_ACL_UNSAFE], config ? { ...emptyStat(), aversion: -1 } : emptyStat());
      this.nodes.set(path, n);
      this.counted(path, n, 1);
    }
    for (const path of SYSTEM_PATHS) {
      const n = this.nodes.get(path)!;
      n.stat.numChildren = n.children.size;
      this.digestSum.add(nodeHash(n));
    }
  }

  get size(): number {
    return this.nodes.size;
  }

  /** Nodes owned by sessions, kept as a counter (status reports read it; never a walk). */
  get ephemeralCount(): number {
    return this.ephemeralNodes;
  }

  /**
   * ZooKeeper's approximate data size: the sum over nodes of path length (UTF-16 units, as
   * Java's String.length) plus data bytes, kept as a counter as ZooKeeper's cached one is.
   */
  get approximateDataSize(): number {
    return this.approximateBytes;
  }

  node(path: string): Readonly<Znode> | undefined {
    return this.nodes.get(path);
  }

  stat(path: string): Stat | undefined {
    const n = this.nodes.get(path);
    return n && clientStat(n.stat);
  }

  /** Children names, sorted so every replica and client sees one order. */
  children(path: string): string[] | undefined {
    const n = this.nodes.get(path);
    return n && [...n.children].sort();
  }

  ephemerals(session: SessionId): ReadonlySet<string> {
    return this.ephemeralsBySession.get(session) ?? new Set();
  }

  sessionsWithEphemerals(): SessionId[] {
    return [...this.ephemeralsBySession.keys()];
  }

  digest(): string {
    return this.digestSum.toString();
  }

  /**
   * The digest as it was before ACLs were part of it, by a walk of the whole tree: only to
   * check a snapshot of format 2 once as it loads.
   */
  digestWithoutAcls(): string {
    const sum = new TreeDigest();
    for (const n of this.nodes.values()) sum.add(nodeHash(n, false));
    return sum.toString();
  }

  paths(): IterableIterator<string> {
    return this.nodes.keys();
  }

  /** A snapshot in progress starts (true) or stops (false) being told of changes. */
  observeChanges(observer: TreeChangeObserver, on: boolean): void {
    if (on) this.observers.add(observer);
    else this.observers.delete(observer);
  }

  private beforeChange(path: string, n: Znode): void {
    if (this.observers.size > 0) for (const o of this.observers) o.beforeChange(path, n);
  }

  /** Applies one committed transaction; the zxid must be the next one after lastZxid. */
  apply(txn: Txn): TreeOutcome {
    if (!(txn.hdr.zxid > this.lastZxid)) throw new AssertionError(`apply out of order: ${txn.hdr.zxid} after ${this.lastZxid}`);
    this.lastZxid = txn.hdr.zxid;
    const triggers: WatchTrigger[] = [];
    const body = txn.body;
    switch (body.type) {
      case "create":
      case "delete":
      case "setData":
      case "setACL":
      case "check":
        return { err: Code.OK, result: this.applyTreeTxn(txn.hdr, body, triggers), triggers };
      case "multi": {
        const results = body.ops.map((op) => this.applyTreeTxn(txn.hdr, op, triggers) as MultiOpResult);
        return { err: Code.OK, result: { type: "multi", results }, triggers };
      }
      case "error":
        if (body.multiErrs) return { err: body.err, result: { type: "multi", results: body.multiErrs.map((err) => ({ type: "error", err })) }, triggers };
        return { err: body.err, triggers };
      case "closeSession":
        for (const path of body.ephemerals) this.deleteNode(txn.hdr, path, triggers);
        return { err: Code.OK, result: { type: "closeSession" }, triggers };
      case "createSession":
        return { err: Code.OK, triggers };
      case "sync":
        return { err: Code.OK, result: { type: "sync", path: body.path }, triggers };
      case "setSequence": {
        const n = this.mustGet(body.path);
        // Prep raised the counter against a view equal to this tree: it never goes down here.
        assert(body.cversion >= n.stat.cversion, `setSequence lowers ${body.path}'s counter from ${n.stat.cversion} to ${body.cversion} at ${txn.hdr.zxid}`);
        this.update(body.path, n, () => {
          n.stat.cversion = body.cversion;
        });
        return { err: Code.OK, result: { type: "setSequence", stat: clientStat(n.stat) }, triggers };
      }
      default:
        return assertNever(body, "transaction");
    }
  }

  private applyTreeTxn(hdr: TxnHeader, t: TreeTxn, triggers: WatchTrigger[]): Result {
    switch (t.type) {
      case "create": {
        const stat = this.createNode(hdr, t.path, t.data, t.acl, t.ephemeralOwner, triggers, t.nullData === true);
        return { type: "create", path: t.path, stat };
      }
      case "delete":
        this.deleteNode(hdr, t.path, triggers);
        return { type: "delete" };
      case "setData": {
        const n = this.mustGet(t.path);
        this.approximateBytes += t.data.length - n.data.length;
        this.update(t.path, n, () => {
          n.data = t.data;
          n.dataNull = t.nullData === true;
          n.dataHash = dataHashOf(t.data, n.dataNull);
          n.stat.version = t.version;
          n.stat.mzxid = hdr.zxid;
          n.stat.mtime = hdr.time;
          n.stat.dataLength = t.data.length;
        });
        triggers.push({ type: EventType.NodeDataChanged, path: t.path, acl: n.acl });
        return { type: "setData", stat: clientStat(n.stat) };
      }
      case "setACL": {
        const n = this.mustGet(t.path);
        this.update(t.path, n, () => {
          n.acl = internAcl(t.acl);
          n.stat.aversion = t.aversion;
        });
        return { type: "setACL", stat: clientStat(n.stat) };
      }
      case "check":
        this.mustGet(t.path);
        return { type: "check" };
      default:
        return assertNever(t, "tree transaction");
    }
  }

  private createNode(hdr: TxnHeader, path: string, data: Uint8Array, acl: readonly Acl[], owner: number, triggers: WatchTrigger[], dataNull: boolean): Stat {
    const parentPath = parentOf(path);
    const parent = this.mustGet(parentPath);
    if (!(!this.nodes.has(path))) throw new AssertionError(`create of existing node ${path} at ${hdr.zxid}`);
    if (!(parent.stat.ephemeralOwner <= 0)) throw new AssertionError(`create under ephemeral ${parentPath} at ${hdr.zxid}`);
    const stat: Stat = {
      ...emptyStat(),
      czxid: hdr.zxid,
      mzxid: hdr.zxid,
      pzxid: hdr.zxid,
      ctime: hdr.time,
      mtime: hdr.time,
      ephemeralOwner: owner,
      dataLength: data.length,
    };
    const node = this.makeNode(path, data, acl, stat, dataNull);
    this.nodes.set(path, node);
    this.counted(path, node, 1);
    this.digestSum.add(nodeHash(node));
    this.update(parentPath, parent, () => {
      addChild(parent, nameOf(path));
      parent.stat.cversion++;
      parent.stat.numChildren = parent.children.size;
      parent.stat.pzxid = hdr.zxid;
    });
    this.track(path, owner);
    triggers.push({ type: EventType.NodeCreated, path, acl }, { type: EventType.NodeChildrenChanged, path: parentPath, acl: parent.acl });
    return clientStat(stat);
  }

  private deleteNode(hdr: TxnHeader, path: string, triggers: WatchTrigger[]): void {
    const node = this.mustGet(path);
    if (!(node.children.size === 0)) throw new AssertionError(`delete of non-empty ${path} at ${hdr.zxid}`);
    const parentPath = parentOf(path);
    const parent = this.mustGet(parentPath);
    this.beforeChange(path, node);
    this.digestSum.remove(nodeHash(node));
    this.nodes.delete(path);
    this.counted(path, node, -1);
    this.update(parentPath, parent, () => {
      removeChild(parent, nameOf(path));
      parent.stat.numChildren = parent.children.size;
      // ZooKeeper moves pzxid on delete but leaves cversion alone.
      parent.stat.pzxid = hdr.zxid;
    });
    this.untrack(path, node.stat.ephemeralOwner);
    triggers.push({ type: EventType.NodeDeleted, path, acl: node.acl }, { type: EventType.NodeChildrenChanged, path: parentPath, acl: parent.acl });
  }

  private mustGet(path: string): Znode {
    const n = this.nodes.get(path);
    if (!(n !== undefined)) throw new AssertionError(`transaction names missing node ${path} (last applied ${this.lastZxid})`);
    return n;
  }

  /** Runs a mutation of one node while keeping the digest in step. */
  private update(path: string, n: Znode, mutate: () => void): void {
    this.beforeChange(path, n);
    this.digestSum.remove(nodeHash(n));
    mutate();
    this.digestSum.add(nodeHash(n));
  }

  private makeNode(path: string, data: Uint8Array, acl: readonly Acl[], stat: Stat, dataNull = false, pathHash = hashString(path)): Znode {
    return { data, dataNull, acl: internAcl(acl), stat, children: NO_CHILDREN, pathHash, dataHash: dataHashOf(data, dataNull), descendants: 0 };
  }

  /**
   * Counts a leaf `n` at `path` in (sign 1) or out (sign -1): its path and data in the
   * approximate data size, itself in the descendants of every ancestor. O(depth).
   */
  private counted(path: string, n: Znode, sign: 1 | -1): void {
    assert(n.descendants === 0, `${path} counted with ${n.descendants} descendants`);
    this.approximateBytes += sign * (path.length + n.data.length);
    for (let p = parentOf(path); p !== ""; p = parentOf(p)) this.nodes.get(p)!.descendants += sign;
  }

  /**
   * Inserts a node read from a snapshot; nodes arrive parents first. The tree keeps `stat`
   * (the caller hands over a fresh one) and `data` (never modified). `pathHash`: hashString(path),
   * when the caller has it cheaper from the path's bytes.
   */
  restoreNode(path: string, data: Uint8Array, acl: readonly Acl[], stat: Stat, dataNull = false, pathHash?: [number, number]): void {
    const existing = this.nodes.get(path);
    if (existing) {
      // System nodes exist already: take the snapshot's stat and data.
      this.approximateBytes += data.length - existing.data.length;
      this.update(path, existing, () => {
        existing.data = data;
        existing.dataNull = dataNull;
        existing.dataHash = dataHashOf(data, dataNull);
        existing.acl = internAcl(acl);
        existing.stat = { ...stat, numChildren: existing.children.size };
      });
      return;
    }
    const parentPath = parentOf(path);
    const parent = this.nodes.get(parentPath);
    assert(parent !== undefined, `snapshot node ${path} arrives before its parent`);
    stat.numChildren = 0;
    const node = this.makeNode(path, data, acl, stat, dataNull, pathHash);
    this.nodes.set(path, node);
    this.counted(path, node, 1);
    this.digestSum.add(nodeHash(node));
    this.update(parentPath, parent, () => {
      addChild(parent, nameOf(path));
      parent.stat.numChildren = parent.children.size;
    });
    this.track(path, stat.ephemeralOwner);
  }

  /** Indexes a node by its owner: ephemerals by session, containers and TTL nodes for reaping. */
  private track(path: string, owner: number): void {
    if (owner > 0) {
      let set = this.ephemeralsBySession.get(owner as SessionId);
      if (!set) this.ephemeralsBySession.set(owner as SessionId, (set = new Set()));
      set.add(path);
      this.ephemeralNodes++;
    } else if (owner < 0) {
      this.reapable.add(path);
    }
  }

  /** Takes a deleted node out of the indexes track() put it in. */
  private untrack(path: string, owner: number): void {
    if (owner > 0) {
      const set = this.ephemeralsBySession.get(owner as SessionId);
      assert(set !== undefined && set.delete(path), `ephemeral ${path} not indexed under its owner`);
      if (set.size === 0) this.ephemeralsBySession.delete(owner as SessionId);
      this.ephemeralNodes--;
    } else if (owner < 0) {
      this.reapable.delete(path);
    }
  }

  /** Containers and TTL nodes, for the leader's reaper. */
  reapableNodes(): ReadonlySet<string> {
    return this.reapable;
  }

  /** How many nodes lie below `path` (ZooKeeper's getAllChildrenNumber): a counter, not a walk. */
  descendantCount(path: string): number | undefined {
    return this.nodes.get(path)?.descendants;
  }

  /** Every path in parent-before-child order, for snapshots. */
  *walk(path = "/"): Generator<[string, Readonly<Znode>]> {
    const stack = [path];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const n = this.nodes.get(p)!;
      yield [p, n];
      for (const c of n.children) stack.push(joinPath(p, c));
    }
  }
}
