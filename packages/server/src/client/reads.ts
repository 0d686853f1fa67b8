// Reads are answered from this node's applied tree, and set watches as ZooKeeper does: exists
// watches a path present or not; getData and getChildren only watch nodes that exist.
import { Code, EventType, Perms, WatcherType, type Identity, ZXID_ZERO, pathProblem, limits, type ReadOp, type ReadOpResult, type Request, type Result, type WatchEventMessage, KeeperState } from "@keeper/protocol";
import { aclAllows, clientStat, type DataTree, type WatchKind, type WatchManager } from "@keeper/core";

export type ReadRequest = Extract<Request, { type: "exists" | "getData" | "getChildren" | "getACL" | "getAllChildrenNumber" | "multiRead" }>;
export type ReadOutcome = { err: Code; result?: Result };

/**
 * Answers a read. `ids` are the client's identities: as in ZooKeeper, getData, getChildren and
 * getAllChildrenNumber need READ, getACL READ or ADMIN, exists nothing; a refused read sets no watch.
 */
export function executeRead<W>(tree: DataTree, watches: WatchManager<W>, watcher: W, req: ReadRequest, ids: readonly Identity[]): ReadOutcome {
  if (req.type === "multiRead") return { err: Code.OK, result: { type: "multiRead", results: req.ops.map((op) => readOp(tree, op, ids)) } };
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
      if (watch) watches.add("data", req.path, watcher);
      return { err: Code.OK, result: { type: "getData", data: node.data, stat: clientStat(node.stat), ...(node.dataNull ? { nullData: true } : {}) } };
    case "getChildren":
      if (!node) return { err: Code.NONODE };
      if (watch) watches.add("child", req.path, watcher);
      return { err: Code.OK, result: { type: "getChildren", children: [...node.children].sort(), stat: clientStat(node.stat) } };
    case "getACL":
      if (!node) return { err: Code.NONODE };
      return { err: Code.OK, result: { type: "getACL", acl: [...node.acl], stat: clientStat(node.stat) } };
    case "getAllChildrenNumber": {
      const count = tree.descendantCount(req.path);
      return count === undefined ? { err: Code.NONODE } : { err: Code.OK, result: { type: "getAllChildrenNumber", count } };
    }
  }
}

/** One op of a multiRead: its own result or error; a failure does not stop the others. */
function readOp(tree: DataTree, op: ReadOp, ids: readonly Identity[]): ReadOpResult {
  if (pathProblem(op.path)) return { type: "error", err: Code.BADARGUMENTS };
  const node = tree.node(op.path);
  if (!node) return { type: "error", err: Code.NONODE };
  if (!aclAllows(node.acl, Perms.READ, ids)) return { type: "error", err: Code.NOAUTH };
  return op.type === "getData" ? { type: "getData", data: node.data, stat: clientStat(node.stat), ...(node.dataNull ? { nullData: true } : {}) } : { type: "getChildren", children: [...node.children].sort() };
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
export function resetWatches<W>(tree: DataTree, watches: WatchManager<W>, watcher: W, req: Extract<Request, { type: "setWatches" }>): WatchEventMessage[] {
  const events: WatchEventMessage[] = [];
  const fire = (type: number, path: string) => events.push({ type, state: KeeperState.SyncConnected, path, zxid: ZXID_ZERO });
  for (const path of req.dataWatches) {
    const n = tree.node(path);
    if (!n) fire(EventType.NodeDeleted, path);
    else if (n.stat.mzxid > req.relativeZxid) fire(EventType.NodeDataChanged, path);
    else watches.add("data", path, watcher);
  }
  for (const path of req.existWatches) {
    if (tree.node(path)) fire(EventType.NodeCreated, path);
    else watches.add("data", path, watcher);
  }
  for (const path of req.childWatches) {
    const n = tree.node(path);
    if (!n) fire(EventType.NodeDeleted, path);
    else if (n.stat.pzxid > req.relativeZxid) fire(EventType.NodeChildrenChanged, path);
    else watches.add("child", path, watcher);
  }
  // Persistent watches are re-armed as they are: what changed meanwhile is not replayed.
  for (const path of req.persistentWatches ?? []) watches.add("persistent", path, watcher);
  for (const path of req.persistentRecursiveWatches ?? []) watches.add("persistentRecursive", path, watcher);
  return events;
}
