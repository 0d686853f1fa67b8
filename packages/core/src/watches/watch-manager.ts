// Server-side one-shot watches, as ZooKeeper keeps them: a data table (getData, and exists on
// any node, present or not) and a child table (getChildren), each path -> watchers. A trigger
// removes the watches it fires. Pure: the server delivers the events it returns.
import { EventType } from "@keeper/protocol";
import type { WatchTrigger } from "../tree/data-tree.ts";

export type WatchKind = "data" | "child";

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
  private readonly data = new WatchTable<W>();
  private readonly child = new WatchTable<W>();

  add(kind: WatchKind, path: string, watcher: W): boolean {
    return (kind === "data" ? this.data : this.child).add(path, watcher);
  }

  /** How many watches a watcher holds, to enforce the per-session maximum. */
  countFor(watcher: W): number {
    return this.data.countFor(watcher) + this.child.countFor(watcher);
  }

  removeWatcher(watcher: W): void {
    this.data.removeWatcher(watcher);
    this.child.removeWatcher(watcher);
  }

  /** The events a committed change fires, in ZooKeeper's order; a watcher gets NodeDeleted once. */
  trigger(t: WatchTrigger): FiredWatch<W>[] {
    const out: FiredWatch<W>[] = [];
    const fire = (ws: Set<W> | undefined, skip?: Set<W>) => {
      if (ws) for (const w of ws) if (!skip?.has(w)) out.push({ watcher: w, type: t.type, path: t.path });
      return ws;
    };
    switch (t.type) {
      case EventType.NodeCreated:
      case EventType.NodeDataChanged:
        fire(this.data.take(t.path));
        break;
      case EventType.NodeDeleted: {
        const fired = fire(this.data.take(t.path));
        fire(this.child.take(t.path), fired);
        break;
      }
      case EventType.NodeChildrenChanged:
        fire(this.child.take(t.path));
        break;
    }
    return out;
  }

  stats(): { paths: number; watches: number } {
    return { paths: this.data.pathCount + this.child.pathCount, watches: this.data.watchCount + this.child.watchCount };
  }

  watchesOf(watcher: W): { data: string[]; child: string[] } {
    return { data: this.data.pathsFor(watcher), child: this.child.pathsFor(watcher) };
  }
}
