// Client-side watch registrations, kept like ZooKeeper's ZKWatchManager in three maps so
// that an event finds its watchers by type and path, and so that they can be re-armed
// with setWatches after a reconnect.

import { Code, EventType, KeeperError, type KeeperState } from "@keeper/protocol";
import { clientLimits } from "./constants.ts";
import { reportCallbackError } from "./report.ts";

export interface WatchEvent {
  type: EventType;
  state: KeeperState;
  path: string;
}
export type Watcher = (event: WatchEvent) => void;
export type WatchKind = "data" | "exist" | "child";
/** Watches that stay armed after firing (addWatch): on one path, or on a whole subtree. */
export type PersistentKind = "persistent" | "recursive";

/** Which registrations an event of each type consumes (ZooKeeper's materialize()). */
const kindsByEvent: ReadonlyMap<number, readonly WatchKind[]> = new Map<number, readonly WatchKind[]>([
  [EventType.NodeCreated, ["data", "exist"]],
  [EventType.NodeDataChanged, ["data", "exist"]],
  [EventType.NodeDeleted, ["data", "exist", "child"]],
  [EventType.NodeChildrenChanged, ["child"]],
]);

/** Events a recursive watch sees: ZooKeeper sends it no NodeChildrenChanged (creations and deletions say it all). */
const recursiveEvents: ReadonlySet<number> = new Set([EventType.NodeCreated, EventType.NodeDataChanged, EventType.NodeDeleted]);

/** "/a/b" -> ["/a/b", "/a", "/"]: the paths whose recursive watches see an event on it. */
function selfAndAncestors(path: string): string[] {
  const out = [path];
  for (let p = path; p !== "/"; ) {
    p = p.slice(0, Math.max(1, p.lastIndexOf("/")));
    out.push(p);
  }
  return out;
}

export class WatchManager {
  private readonly maps: Record<WatchKind, Map<string, Set<Watcher>>> = { data: new Map(), exist: new Map(), child: new Map() };
  private readonly persistent: Record<PersistentKind, Map<string, Set<Watcher>>> = { persistent: new Map(), recursive: new Map() };
  private count = 0;

  /** Throws unless `kind` on `path` could still be registered; checked before the request goes out. */
  checkRoom(kind: WatchKind, path: string): void {
    if (this.count >= clientLimits.watchesMax && this.maps[kind].get(path) === undefined) {
      throw new KeeperError(Code.BADARGUMENTS, `client holds ${clientLimits.watchesMax} watches already`, path);
    }
  }

  /** Registers a one-shot watcher; the same function twice on one path and kind fires once. */
  add(kind: WatchKind, path: string, watcher: Watcher): void {
    const map = this.maps[kind];
    let set = map.get(path);
    if (set === undefined) {
      // Registration follows a successful reply, so the limit was checked before sending;
      // a burst of concurrent calls may still overshoot, and dropping the watch then would
      // silently lose events, so the overshoot is tolerated.
      set = new Set();
      map.set(path, set);
      this.count++;
    }
    set.add(watcher);
  }

  /** Registers a watcher that stays armed until the session ends. */
  addPersistent(kind: PersistentKind, path: string, watcher: Watcher): void {
    const map = this.persistent[kind];
    let set = map.get(path);
    if (set === undefined) {
      set = new Set();
      map.set(path, set);
      this.count++;
    }
    set.add(watcher);
  }

  /** The persistent watchers an event reaches (they stay registered). */
  private persistentFor(type: number, path: string): Watcher[] {
    const out: Watcher[] = [...(this.persistent.persistent.get(path) ?? [])];
    if (this.persistent.recursive.size > 0 && recursiveEvents.has(type)) {
      for (const p of selfAndAncestors(path)) out.push(...(this.persistent.recursive.get(p) ?? []));
    }
    return out;
  }

  /** Removes and returns the watchers an event triggers, each once. */
  take(type: number, path: string): Watcher[] {
    const fired = new Set<Watcher>();
    for (const kind of kindsByEvent.get(type) ?? []) {
      const set = this.maps[kind].get(path);
      if (set === undefined) continue;
      this.maps[kind].delete(path);
      this.count--;
      for (const w of set) fired.add(w);
    }
    return [...fired];
  }

  /** Fires the watchers an event triggers; a throwing watcher does not stop the others. */
  dispatch(event: WatchEvent): void {
    for (const watcher of new Set([...this.take(event.type, event.path), ...this.persistentFor(event.type, event.path)])) {
      try {
        watcher(event);
      } catch (e) {
        reportCallbackError(e);
      }
    }
  }

  /** Paths per kind, for setWatches after a reconnect. */
  paths(): Record<WatchKind | PersistentKind, string[]> {
    const keys = (m: Map<string, unknown>) => [...m.keys()];
    return { data: keys(this.maps.data), exist: keys(this.maps.exist), child: keys(this.maps.child), persistent: keys(this.persistent.persistent), recursive: keys(this.persistent.recursive) };
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    for (const map of [...Object.values(this.maps), ...Object.values(this.persistent)]) map.clear();
    this.count = 0;
  }
}
