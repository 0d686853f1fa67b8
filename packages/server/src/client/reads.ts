// Reads are answered from this node's applied tree, and set watches as ZooKeeper does: exists
// watches a path present or not; getData and getChildren only watch nodes that exist.
import { Code, EventType, Perms, WatcherType, type Acl, type Identity, ZXID_ZERO, pathProblem, limits, type ReadOp, type ReadOpResult, type Request, type Result, type WatchEventMessage, KeeperState } from "@keeper/protocol";
import { aclAllows, clientStat, type DataTree, type WatchKind, type WatchManager } from "@keeper/core";
import { LENGTH_BYTES, OP_RESULT_BYTES, ReplyBudget, STAT_BYTES, namesWithin, stringBytes, tooBig } from "./reply-budget.ts";

export type ReadRequest = Extract<Request, { type: "exists" | "getData" | "getChildren" | "getACL" | "getAllChildrenNumber" | "multiRead" }>;
/** A read's answer; `reason` says why a read was refused for its size (BADARGUMENTS), for the log. */
export type ReadOutcome = { err: Code; result?: Result; reason?: string };

/**
 * Answers a read. `ids` are the client's identities: as in ZooKeeper, getData, getChildren and
 * getAllChildrenNumber need READ, getACL READ or ADMIN, exists nothing; a refused read sets no
 * watch. A reply that would exceed `replyBytesMax` is refused with BADARGUMENTS, counted as it is
 * built (reply-budget.ts).
 */
export function executeRead<W>(tree: DataTree, watches: WatchManager<W>, watcher: W, req: ReadRequest, ids: readonly Identity[], replyBytesMax: number): ReadOutcome {
  const budget = new ReplyBudget(replyBytesMax);
  if (req.type === "multiRead") return multiRead(tree, req.ops, ids, budget);
  if (pathProblem(req.path)) return { err: Code.BADARGUMENTS };
  const node = tree.node(req.path);
  const needed = req.type === "exists" ? 0 : req.type === "getACL" ? Perms.READ | Perms.ADMIN : Perms.READ;
  if (node && needed !== 0 && !aclAllows(node.acl, needed, ids)) return { err: Code.NOAUTH };
  const watch = "watch" in req && req.watch;
  if (watch && watches.countFor(watcher) >= limits.watchesPerSessionMax) return { err: Code.BADARGUMENTS };
  switch (req.type) {
    case "exists":
      if (watch) watches.add("data", req.path, watcher);
      return node ? { err: Code.OK, result: { type: "exists", stat: clientStat(node.stat) } } : { err: Code.NONODE };
    case "getData":
      if (!node) return { err: Code.NONODE };
      if (!budget.take(LENGTH_BYTES + node.data.length + STAT_BYTES)) return { err: Code.BADARGUMENTS, reason: tooBig(budget, `getData ${req.path}`) };
      if (watch) watches.add("data", req.path, watcher);
      return { err: Code.OK, result: { type: "getData", data: node.data, stat: clientStat(node.stat), ...(node.dataNull ? { nullData: true } : {}) } };
    case "getChildren": {
      if (!node) return { err: Code.NONODE };
      const children = budget.take(STAT_BYTES) ? namesWithin(node.children, node.children.size, budget) : undefined;
      if (!children) return { err: Code.BADARGUMENTS, reason: tooBig(budget, `getChildren ${req.path} (${node.children.size} children)`) };
      if (watch) watches.add("child", req.path, watcher);
      return { err: Code.OK, result: { type: "getChildren", children, stat: clientStat(node.stat) } };
    }
    case "getACL":
      if (!node) return { err: Code.NONODE };
      if (!budget.take(STAT_BYTES + aclBytes(node.acl))) return { err: Code.BADARGUMENTS, reason: tooBig(budget, `getACL ${req.path}`) };
      return { err: Code.OK, result: { type: "getACL", acl: aclAllows(node.acl, Perms.ADMIN, ids) ? [...node.acl] : node.acl.map(redactDigest), stat: clientStat(node.stat) } };
    case "getAllChildrenNumber": {
      const count = tree.descendantCount(req.path);
      return count === undefined ? { err: Code.NONODE } : { err: Code.OK, result: { type: "getAllChildrenNumber", count } };
    }
  }
}

/**
 * Every op of a multiRead has its own result or error, and a failed op does not stop the others,
 * as in ZooKeeper. Size is different: the limit is a property of the whole reply, not of one
 * path, so the first op that does not fit refuses the whole multiRead (BADARGUMENTS in the reply
 * header) and no later op is run.
 */
function multiRead(tree: DataTree, ops: readonly ReadOp[], ids: readonly Identity[], budget: ReplyBudget): ReadOutcome {
  const results: ReadOpResult[] = [];
  for (const [i, op] of ops.entries()) {
    const r = budget.take(LENGTH_BYTES + OP_RESULT_BYTES) ? readOp(tree, op, ids, budget) : undefined;
    if (!r) return { err: Code.BADARGUMENTS, reason: tooBig(budget, `multiRead of ${ops.length} ops (op ${i}, ${op.type} ${op.path})`) };
    results.push(r);
  }
  return { err: Code.OK, result: { type: "multiRead", results } };
}

/** One op of a multiRead: its own result or error; undefined if its result does not fit. */
function readOp(tree: DataTree, op: ReadOp, ids: readonly Identity[], budget: ReplyBudget): ReadOpResult | undefined {
  if (pathProblem(op.path)) return { type: "error", err: Code.BADARGUMENTS };
  const node = tree.node(op.path);
  if (!node) return { type: "error", err: Code.NONODE };
  if (!aclAllows(node.acl, Perms.READ, ids)) return { type: "error", err: Code.NOAUTH };
  if (op.type === "getData") {
    if (!budget.take(LENGTH_BYTES + node.data.length + STAT_BYTES)) return undefined;
    return { type: "getData", data: node.data, stat: clientStat(node.stat), ...(node.dataNull ? { nullData: true } : {}) };
  }
  const children = namesWithin(node.children, node.children.size, budget);
  return children && { type: "getChildren", children };
}

function aclBytes(acl: readonly Acl[]): number {
  let n = LENGTH_BYTES;
  for (const a of acl) n += OP_RESULT_BYTES + stringBytes(a.scheme) + stringBytes(a.id);
  return n;
}

/** The kinds of watch a removeWatches / checkWatches of this watcher type covers. */
export function watchKindsOf(t: WatcherType): WatchKind[] {
  switch (t) {
    case WatcherType.Children:
      return ["child"];
    case WatcherType.Data:
      return ["data"];
    case WatcherType.Persistent:
      return ["persistent"];
    case WatcherType.PersistentRecursive:
      return ["persistentRecursive"];
    case WatcherType.Any:
      return ["data", "child", "persistent", "persistentRecursive"];
  }
}

/**
 * Re-arms a reconnecting client's watches. A change the client missed since `relativeZxid`
 * fires at once instead of being armed, so no event is lost across a reconnect.
 */
export interface ResetWatches {
  events: WatchEventMessage[];
  /** Paths skipped: malformed ones, and any beyond the session's watch limit. */
  skipped: number;
}

/**
 * Re-arms a reconnecting client's watches, firing those whose change it missed. Each path is
 * checked as any other request's would be, and re-armed watches count against the session's
 * limit (watchesPerSessionMax) as addWatch and reads do: a setWatches cannot grow a session past
 * it. Skipped paths are left out quietly, since ZooKeeper answers setWatches OK whatever it holds.
 */
export function resetWatches<W>(tree: DataTree, watches: WatchManager<W>, watcher: W, req: Extract<Request, { type: "setWatches" }>, watchesMax: number = limits.watchesPerSessionMax): ResetWatches {
  const events: WatchEventMessage[] = [];
  let skipped = 0;
  let room = watchesMax - watches.countFor(watcher);
  const fire = (type: number, path: string) => events.push({ type, state: KeeperState.SyncConnected, path, zxid: ZXID_ZERO });
  const valid = (path: string) => {
    if (!pathProblem(path)) return true;
    skipped++;
    return false;
  };
  const arm = (kind: WatchKind, path: string) => {
    if (room <= 0) return void skipped++;
    if (watches.add(kind, path, watcher)) room--;
  };
  for (const path of req.dataWatches.filter(valid)) {
    const n = tree.node(path);
    if (!n) fire(EventType.NodeDeleted, path);
    else if (n.stat.mzxid > req.relativeZxid) fire(EventType.NodeDataChanged, path);
    else arm("data", path);
  }
  for (const path of req.existWatches.filter(valid)) {
    if (tree.node(path)) fire(EventType.NodeCreated, path);
    else arm("data", path);
  }
  for (const path of req.childWatches.filter(valid)) {
    const n = tree.node(path);
    if (!n) fire(EventType.NodeDeleted, path);
    else if (n.stat.pzxid > req.relativeZxid) fire(EventType.NodeChildrenChanged, path);
    else arm("child", path);
  }
  // Persistent watches are re-armed as they are: what changed meanwhile is not replayed.
  for (const path of (req.persistentWatches ?? []).filter(valid)) arm("persistent", path);
  for (const path of (req.persistentRecursiveWatches ?? []).filter(valid)) arm("persistentRecursive", path);
  return { events, skipped };
}

/**
 * As ZooKeeper answers getACL to a client without ADMIN on the node: a digest id keeps its user
 * and loses its password hash (Java's `id.replaceAll(":.*", ":x")`), so READ alone does not hand
 * out hashes to attack offline.
 */
function redactDigest(a: Acl): Acl {
  return a.scheme === "digest" ? { perms: a.perms, scheme: a.scheme, id: a.id.replace(/:.*/g, ":x") } : a;
}
