import { EventType, KeeperState } from "@keeper/protocol";
import { describe, expect, it, vi } from "vitest";
import { WatchManager, type WatchKind } from "../src/watches.ts";

const event = (type: EventType, path = "/a") => ({ type, state: KeeperState.SyncConnected, path });

describe("WatchManager.dispatch()", () => {
  it.each<[keyof typeof EventType, WatchKind[]]>([
    ["NodeCreated", ["data", "exist"]],
    ["NodeDataChanged", ["data", "exist"]],
    ["NodeDeleted", ["data", "exist", "child"]],
    ["NodeChildrenChanged", ["child"]],
  ])("%s fires the %j watchers of the path and no others", (name, kinds) => {
    const m = new WatchManager();
    const fired: WatchKind[] = [];
    for (const kind of ["data", "exist", "child"] as const) {
      m.add(kind, "/a", () => fired.push(kind));
      m.add(kind, "/b", () => fired.push(kind));
    }
    m.dispatch(event(EventType[name]));
    expect(fired.sort()).toEqual([...kinds].sort());
    expect(m.size).toBe(6 - kinds.length);
  });

  it("fires each registration once (one-shot)", () => {
    const m = new WatchManager();
    const w = vi.fn();
    m.add("data", "/a", w);
    m.dispatch(event(EventType.NodeDataChanged));
    m.dispatch(event(EventType.NodeDataChanged));
    expect(w).toHaveBeenCalledTimes(1);
  });

  it("calls a watcher registered for several kinds once per event", () => {
    const m = new WatchManager();
    const w = vi.fn();
    m.add("data", "/a", w);
    m.add("child", "/a", w);
    m.add("data", "/a", w);
    m.dispatch(event(EventType.NodeDeleted));
    expect(w).toHaveBeenCalledTimes(1);
    expect(w).toHaveBeenCalledWith(event(EventType.NodeDeleted));
  });

  it("keeps going when a watcher throws", () => {
    const m = new WatchManager();
    const after = vi.fn();
    m.add("data", "/a", () => {
      throw new Error("boom");
    });
    m.add("data", "/a", after);
    expect(() => m.dispatch(event(EventType.NodeDataChanged))).not.toThrow();
    expect(after).toHaveBeenCalledTimes(1);
  });

  it("lists paths per kind for setWatches", () => {
    const m = new WatchManager();
    m.add("data", "/d", () => {});
    m.add("exist", "/e", () => {});
    m.add("child", "/c", () => {});
    m.addPersistent("persistent", "/p", () => {});
    m.addPersistent("recursive", "/r", () => {});
    expect(m.paths()).toEqual({ data: ["/d"], exist: ["/e"], child: ["/c"], persistent: ["/p"], recursive: ["/r"] });
  });
});

describe("WatchManager persistent watches", () => {
  it("a persistent watch sees every event on its own path and stays armed", () => {
    const m = new WatchManager();
    const seen: string[] = [];
    m.addPersistent("persistent", "/a", (e) => seen.push(`${e.type} ${e.path}`));
    for (const t of [EventType.NodeCreated, EventType.NodeDataChanged, EventType.NodeChildrenChanged, EventType.NodeDeleted]) m.dispatch(event(t));
    m.dispatch(event(EventType.NodeDataChanged, "/a/b"));
    expect(seen).toEqual([EventType.NodeCreated, EventType.NodeDataChanged, EventType.NodeChildrenChanged, EventType.NodeDeleted].map((t) => `${t} /a`));
    expect(m.size).toBe(1);
  });

  it("a recursive watch sees creations, changes and deletions below it, but no NodeChildrenChanged", () => {
    const m = new WatchManager();
    const seen: string[] = [];
    m.addPersistent("recursive", "/a", (e) => seen.push(`${e.type} ${e.path}`));
    m.dispatch(event(EventType.NodeCreated, "/a/b/c"));
    m.dispatch(event(EventType.NodeChildrenChanged, "/a/b"));
    m.dispatch(event(EventType.NodeDataChanged, "/a"));
    m.dispatch(event(EventType.NodeDeleted, "/ab"));
    expect(seen).toEqual([`${EventType.NodeCreated} /a/b/c`, `${EventType.NodeDataChanged} /a`]);
  });

  it("a recursive watch on / sees everything; a watcher also holding a one-shot watch is called once", () => {
    const m = new WatchManager();
    const w = vi.fn();
    m.addPersistent("recursive", "/", w);
    m.add("data", "/x", w);
    m.dispatch(event(EventType.NodeDataChanged, "/x"));
    expect(w).toHaveBeenCalledTimes(1);
    m.dispatch(event(EventType.NodeDataChanged, "/x"));
    expect(w).toHaveBeenCalledTimes(2);
  });
});
