// Server-side one-shot watches, as ZooKeeper keeps them: a data table (getData, and exists on
// any node, present or not) and a child table (getChildren), each path -> watchers. A trigger
// removes the watches it fires. Pure: the server delivers the events it returns.
import { EventType, parentOf } from "@keeper/protocol";
import type { WatchTrigger } from "../tree/data-tree.ts";

/**
 * data / child: one-shot, as set by reads. persistent: stays armed, fires for every change of
 * its path. persistentRecursive: stays armed, fires for creates, deletes and data changes of
 * its path and everything below (no child events), as ZooKeeper 3.6's addWatch.
 */
export type WatchKind = "data" | "child" | "persistent" | "persistentRecursive";

export interface FiredWatch<W> {
  watcher: W;
  type: EventType;
  path: string;
}

class WatchTable<W> {
  private readonly byPath = new Map<string, Set<W>>();
  private readonly byWatcher = new Map<W, Set<string>>();

  add(path: string, w: W): boolean {
    let ws = this.byPath.get(path);
    if (!ws) this.byPath.set(path, (ws = new Set()));
    if (ws.has(w)) return false;
    ws.add(w);
    let ps = this.byWatcher.get(w);
    if (!ps) this.byWatcher.set(w, (ps = new Set()));
    ps.add(path);
    return true;
  }

  /** Removes and returns the watchers of `path`. */
  take(path: string): Set<W> | undefined {
    const ws = this.byPath.get(path);
    if (!ws) return undefined;
    this.byPath.delete(path);
    for (const w of ws) {
      const ps = this.byWatcher.get(w)!;
      ps.delete(path);
      if (ps.size === 0) this.byWatcher.delete(w);
    }
    return ws;
  }

  removeWatcher(w: W): number {
    const ps = this.byWatcher.get(w);
    if (!ps) return 0;
    for (const p of ps) {
      const ws = this.byPath.get(p)!;
      ws.delete(w);
      if (ws.size === 0) this.byPath.delete(p);
    }
    this.byWatcher.delete(w);
    return ps.size;
  }

  countFor(w: W): number {
    return this.byWatcher.get(w)?.size ?? 0;
  }

  /** Watchers of `path`, left armed. */
  peek(path: string): ReadonlySet<W> | undefined {
    return this.byPath.get(path);
  }

  has(path: string, w: W): boolean {
    return this.byPath.get(path)?.has(w) ?? false;
  }

  remove(path: string, w: W): boolean {
    const ws = this.byPath.get(path);
    if (!ws?.delete(w)) return false;
    if (ws.size === 0) this.byPath.delete(path);
    const ps = this.byWatcher.get(w)!;
    ps.delete(path);
    if (ps.size === 0) this.byWatcher.delete(w);
    return true;
  }

  pathsFor(w: W): string[] {
    return [...(this.byWatcher.get(w) ?? [])];
  }

  get pathCount(): number {
    return this.byPath.size;
  }

  get watchCount(): number {
    let n = 0;
    for (const ws of this.byPath.values()) n += ws.size;
    return n;
  }
}

export class WatchManager<W> {
  private readonly tables: Record<WatchKind, WatchTable<W>> = {
    data: new WatchTable<W>(),
    child: new WatchTable<W>(),
    persistent: new WatchTable<W>(),
    persistentRecursive: new WatchTable<W>(),
  };

  add(kind: WatchKind, path: string, watcher: W): boolean {
    return this.tables[kind].add(path, watcher);
  }

  /** Whether `watcher` holds a watch of one of `kinds` on `path`; with `remove`, drops them. */
  match(kinds: readonly WatchKind[], path: string, watcher: W, remove: boolean): boolean {
    let found = false;
    for (const k of kinds) found = (remove ? this.tables[k].remove(path, watcher) : this.tables[k].has(path, watcher)) || found;
    return found;
  }

  /** How many watches a watcher holds, to enforce the per-session maximum. */
  countFor(watcher: W): number {
    let n = 0;
    for (const t of Object.values(this.tables)) n += t.countFor(watcher);
    return n;
  }

  removeWatcher(watcher: W): void {
    for (const t of Object.values(this.tables)) t.removeWatcher(watcher);
  }

  /** The events a committed change fires, in ZooKeeper's order; a watcher gets each event once. */
  trigger(t: WatchTrigger): FiredWatch<W>[] {
    const out: FiredWatch<W>[] = [];
    // Most changes fire nothing: the set is made only once there is a watcher.
    const fired = { set: undefined as Set<W> | undefined };
    switch (t.type) {
      case EventType.NodeCreated:
      case EventType.NodeDataChanged:
        fireOnce(this.tables.data.take(t.path), t, out, fired);
        break;
      case EventType.NodeDeleted:
        fireOnce(this.tables.data.take(t.path), t, out, fired);
        fireOnce(this.tables.child.take(t.path), t, out, fired);
        break;
      case EventType.NodeChildrenChanged:
        fireOnce(this.tables.child.take(t.path), t, out, fired);
        break;
    }
    fireOnce(this.tables.persistent.peek(t.path), t, out, fired);
    if (t.type !== EventType.NodeChildrenChanged) {
      // Recursive watches on the path itself or any ancestor see it.
      for (let p = t.path; ; p = parentOf(p)) {
        fireOnce(this.tables.persistentRecursive.peek(p), t, out, fired);
        if (p === "/" || p === "") break;
      }
    }
    return out;
  }

  stats(): { paths: number; watches: number } {
    let paths = 0;
    let watches = 0;
    for (const t of Object.values(this.tables)) {
      paths += t.pathCount;
      watches += t.watchCount;
    }
    return { paths, watches };
  }

  watchesOf(watcher: W): Record<WatchKind, string[]> {
    return {
      data: this.tables.data.pathsFor(watcher),
      child: this.tables.child.pathsFor(watcher),
      persistent: this.tables.persistent.pathsFor(watcher),
      persistentRecursive: this.tables.persistentRecursive.pathsFor(watcher),
    };
  }
}

/** Adds an event per watcher in `ws` not already fired for this change (module function: runs per commit). */
function fireOnce<W>(ws: ReadonlySet<W> | undefined, t: WatchTrigger, out: FiredWatch<W>[], fired: { set: Set<W> | undefined }): void {
  if (!ws || ws.size === 0) return;
  const seen = (fired.set ??= new Set<W>());
  for (const w of ws) {
    if (seen.has(w)) continue;
    seen.add(w);
    out.push({ watcher: w, type: t.type, path: t.path });
  }
}
