// Reads are answered from this node's applied tree, and set watches as ZooKeeper does: exists
// watches a path present or not; getData and getChildren only watch nodes that exist.
import { Code, EventType, ZXID_ZERO, pathProblem, limits, type Request, type Result, type WatchEventMessage, KeeperState } from "@keeper/protocol";
import type { DataTree, WatchManager } from "@keeper/core";

export type ReadRequest = Extract<Request, { type: "exists" | "getData" | "getChildren" | "getACL" }>;
export type ReadOutcome = { err: Code; result?: Result };

export function executeRead<W>(tree: DataTree, watches: WatchManager<W>, watcher: W, req: ReadRequest): ReadOutcome {
  if (pathProblem(req.path)) return { err: Code.BADARGUMENTS };
  const node = tree.node(req.path);
  const watch = "watch" in req && req.watch;
  if (watch && watches.countFor(watcher) >= limits.watchesPerSessionMax) return { err: Code.BADARGUMENTS };
  switch (req.type) {
    case "exists":
      if (watch) watches.add("data", req.path, watcher);
      return node ? { err: Code.OK, result: { type: "exists", stat: { ...node.stat } } } : { err: Code.NONODE };
    case "getData":
      if (!node) return { err: Code.NONODE };
      if (watch) watches.add("data", req.path, watcher);
      return { err: Code.OK, result: { type: "getData", data: node.data, stat: { ...node.stat } } };
    case "getChildren":
      if (!node) return { err: Code.NONODE };
      if (watch) watches.add("child", req.path, watcher);
      return { err: Code.OK, result: { type: "getChildren", children: [...node.children].sort(), stat: { ...node.stat } } };
    case "getACL":
      if (!node) return { err: Code.NONODE };
      return { err: Code.OK, result: { type: "getACL", acl: node.acl, stat: { ...node.stat } } };
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
  return events;
}
