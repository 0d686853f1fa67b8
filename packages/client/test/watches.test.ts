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
    expect(m.paths()).toEqual({ data: ["/d"], exist: ["/e"], child: ["/c"] });
  });
});
