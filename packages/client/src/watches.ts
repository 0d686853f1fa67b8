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

/** Which registrations an event of each type consumes (ZooKeeper's materialize()). */
const kindsByEvent: ReadonlyMap<number, readonly WatchKind[]> = new Map<number, readonly WatchKind[]>([
  [EventType.NodeCreated, ["data", "exist"]],
  [EventType.NodeDataChanged, ["data", "exist"]],
  [EventType.NodeDeleted, ["data", "exist", "child"]],
  [EventType.NodeChildrenChanged, ["child"]],
]);

export class WatchManager {
  private readonly maps: Record<WatchKind, Map<string, Set<Watcher>>> = { data: new Map(), exist: new Map(), child: new Map() };
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
    for (const watcher of this.take(event.type, event.path)) {
      try {
        watcher(event);
      } catch (e) {
        reportCallbackError(e);
      }
    }
  }

  /** Paths per kind, for setWatches after a reconnect. */
  paths(): Record<WatchKind, string[]> {
    return { data: [...this.maps.data.keys()], exist: [...this.maps.exist.keys()], child: [...this.maps.child.keys()] };
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    for (const map of Object.values(this.maps)) map.clear();
    this.count = 0;
  }
}
