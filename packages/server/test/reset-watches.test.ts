import { describe, expect, it } from "vitest";
import { DataTree, WatchManager } from "@keeper/core";
import { EventType, ZXID_ZERO } from "@keeper/protocol";
import { resetWatches } from "../src/client/reads.ts";

const req = (paths: { data?: string[]; exist?: string[]; child?: string[]; persistent?: string[] }) => ({
  type: "setWatches" as const,
  relativeZxid: ZXID_ZERO,
  dataWatches: paths.data ?? [],
  existWatches: paths.exist ?? [],
  childWatches: paths.child ?? [],
  persistentWatches: paths.persistent ?? [],
  persistentRecursiveWatches: [],
});

describe("resetWatches()", () => {
  it("skips malformed paths: no watch, no event", () => {
    const watches = new WatchManager<string>();
    const out = resetWatches(new DataTree(), watches, "w", req({ data: ["no-slash", "/a/", "/a//b", "/ok/..", "/zookeeper"], exist: ["bad"], child: ["", "/zookeeper"], persistent: ["x"] }));
    expect(out.skipped).toBe(7);
    expect(out.events).toEqual([]);
    expect(watches.countFor("w")).toBe(2);
  });

  it("arms no more than the session's watch limit, counting the watches it already has; missed changes still fire", () => {
    const watches = new WatchManager<string>();
    watches.add("data", "/held", "w");
    const absent = Array.from({ length: 10 }, (_, i) => `/absent${i}`);
    const out = resetWatches(new DataTree(), watches, "w", req({ exist: absent, data: ["/gone"] }), 5);
    expect(watches.countFor("w")).toBe(5);
    expect(out.skipped).toBe(6);
    expect(out.events.map((e) => [e.type, e.path])).toEqual([[EventType.NodeDeleted, "/gone"]]);
  });
});
