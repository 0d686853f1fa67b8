// One-shot server watches: which watchers a trigger fires, and that each fires once.
import { EventType } from "@keeper/protocol";
import { describe, expect, it } from "vitest";
import { WatchManager } from "../src/index.ts";

const fired = (list: Array<{ watcher: string; type: number; path: string }>) => list.map((f) => `${f.watcher}:${f.type}:${f.path}`).sort();

describe("WatchManager", () => {
  it("NodeCreated and NodeDataChanged fire data watchers only", () => {
    const w = new WatchManager<string>();
    w.add("data", "/a", "d");
    w.add("child", "/a", "c");
    expect(fired(w.trigger({ type: EventType.NodeDataChanged, path: "/a" }))).toEqual([`d:${EventType.NodeDataChanged}:/a`]);
    w.add("data", "/b", "d");
    expect(fired(w.trigger({ type: EventType.NodeCreated, path: "/b" }))).toEqual([`d:${EventType.NodeCreated}:/b`]);
    expect(w.countFor("c")).toBe(1);
  });

  it("NodeChildrenChanged fires child watchers only", () => {
    const w = new WatchManager<string>();
    w.add("data", "/a", "d");
    w.add("child", "/a", "c1");
    w.add("child", "/a", "c2");
    expect(fired(w.trigger({ type: EventType.NodeChildrenChanged, path: "/a" }))).toEqual([`c1:${EventType.NodeChildrenChanged}:/a`, `c2:${EventType.NodeChildrenChanged}:/a`]);
    expect(w.countFor("d")).toBe(1);
  });

  it("a watch is one-shot: a second trigger fires nothing", () => {
    const w = new WatchManager<string>();
    w.add("data", "/a", "d");
    expect(w.trigger({ type: EventType.NodeDataChanged, path: "/a" })).toHaveLength(1);
    expect(w.trigger({ type: EventType.NodeDataChanged, path: "/a" })).toEqual([]);
    expect(w.countFor("d")).toBe(0);
    expect(w.stats()).toEqual({ paths: 0, watches: 0 });
  });

  it("NodeDeleted fires data and child watchers, each watcher once", () => {
    const w = new WatchManager<string>();
    w.add("data", "/a", "both");
    w.add("child", "/a", "both");
    w.add("data", "/a", "dataOnly");
    w.add("child", "/a", "childOnly");
    const out = w.trigger({ type: EventType.NodeDeleted, path: "/a" });
    expect(fired(out)).toEqual([`both:${EventType.NodeDeleted}:/a`, `childOnly:${EventType.NodeDeleted}:/a`, `dataOnly:${EventType.NodeDeleted}:/a`]);
    // Both tables were cleared for the path.
    expect(w.countFor("both")).toBe(0);
    expect(w.trigger({ type: EventType.NodeChildrenChanged, path: "/a" })).toEqual([]);
  });

  it("adding the same watch twice stores it once", () => {
    const w = new WatchManager<string>();
    expect(w.add("data", "/a", "d")).toBe(true);
    expect(w.add("data", "/a", "d")).toBe(false);
    expect(w.add("child", "/a", "d")).toBe(true);
    expect(w.countFor("d")).toBe(2);
    expect(w.stats()).toEqual({ paths: 2, watches: 2 });
  });

  it("removeWatcher() drops every watch of one watcher and leaves the others", () => {
    const w = new WatchManager<string>();
    w.add("data", "/a", "x");
    w.add("child", "/b", "x");
    w.add("data", "/a", "y");
    w.removeWatcher("x");
    w.removeWatcher("nobody");
    expect(w.countFor("x")).toBe(0);
    expect(w.watchesOf("x")).toMatchObject({ data: [], child: [] });
    expect(w.watchesOf("y")).toMatchObject({ data: ["/a"], child: [] });
    expect(fired(w.trigger({ type: EventType.NodeDataChanged, path: "/a" }))).toEqual([`y:${EventType.NodeDataChanged}:/a`]);
    expect(w.trigger({ type: EventType.NodeChildrenChanged, path: "/b" })).toEqual([]);
  });

  it("countFor() counts data and child watches across paths", () => {
    const w = new WatchManager<string>();
    w.add("data", "/a", "x");
    w.add("data", "/b", "x");
    w.add("child", "/a", "x");
    expect(w.countFor("x")).toBe(3);
    w.trigger({ type: EventType.NodeDataChanged, path: "/b" });
    expect(w.countFor("x")).toBe(2);
    expect(w.watchesOf("x")).toMatchObject({ data: ["/a"], child: ["/a"] });
  });

  it("a trigger on another path fires nothing", () => {
    const w = new WatchManager<string>();
    w.add("data", "/a", "x");
    expect(w.trigger({ type: EventType.NodeDataChanged, path: "/a/b" })).toEqual([]);
    expect(w.trigger({ type: EventType.NodeDeleted, path: "/b" })).toEqual([]);
    expect(w.countFor("x")).toBe(1);
  });
});

describe("WatchManager persistent watches", () => {
  it("a persistent watch fires for every change of its path and stays armed", () => {
    const m = new WatchManager<string>();
    m.add("persistent", "/a", "w");
    expect(m.trigger({ type: EventType.NodeDataChanged, path: "/a" })).toHaveLength(1);
    expect(m.trigger({ type: EventType.NodeChildrenChanged, path: "/a" })).toHaveLength(1);
    expect(m.trigger({ type: EventType.NodeDeleted, path: "/a" })).toHaveLength(1);
    expect(m.trigger({ type: EventType.NodeDataChanged, path: "/a/b" })).toHaveLength(0);
  });

  it("a recursive watch sees creates, deletes and data changes below it but no child events", () => {
    const m = new WatchManager<string>();
    m.add("persistentRecursive", "/a", "w");
    expect(m.trigger({ type: EventType.NodeCreated, path: "/a/b/c" })).toEqual([{ watcher: "w", type: EventType.NodeCreated, path: "/a/b/c" }]);
    expect(m.trigger({ type: EventType.NodeDataChanged, path: "/a" })).toHaveLength(1);
    expect(m.trigger({ type: EventType.NodeChildrenChanged, path: "/a" })).toHaveLength(0);
    expect(m.trigger({ type: EventType.NodeCreated, path: "/ab" })).toHaveLength(0);
  });

  it("a watcher with a one-shot and a persistent watch on one path gets one event", () => {
    const m = new WatchManager<string>();
    m.add("data", "/a", "w");
    m.add("persistent", "/a", "w");
    m.add("persistentRecursive", "/", "w");
    expect(m.trigger({ type: EventType.NodeDataChanged, path: "/a" })).toHaveLength(1);
  });

  it("match() finds and removes watches by kind", () => {
    const m = new WatchManager<string>();
    m.add("persistent", "/a", "w");
    expect(m.match(["data", "child"], "/a", "w", false)).toBe(false);
    expect(m.match(["persistent"], "/a", "w", true)).toBe(true);
    expect(m.trigger({ type: EventType.NodeDataChanged, path: "/a" })).toHaveLength(0);
  });
});
