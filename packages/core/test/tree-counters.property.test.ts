// The tree's counters (ephemeral count, approximate data size, each node's descendant count)
// are kept as the tree changes so that status reports and getAllChildrenNumber never walk it.
// Here they must equal what a full walk counts, after every step of random writes, multis,
// deferred batches, session closes and container / TTL deletes, and after a snapshot round trip.
import { CreateMode, OPEN_ACL_UNSAFE, type MultiOp, type SessionId } from "@keeper/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DataTree, readSnapshot, writeSnapshot } from "../src/index.ts";
import { PATHS, RUNS, data, multiOp } from "./arbitraries.ts";
import { Harness, bytes } from "./harness.ts";

type Step = { kind: "op"; op: MultiOp; session: number; defer: boolean } | { kind: "multi"; ops: MultiOp[] } | { kind: "close"; session: number } | { kind: "apply" };

/** Creates of every kind of owner: containers and TTL nodes too, which multiOp leaves out. */
const ownedCreate: fc.Arbitrary<MultiOp> = fc
  .record({ path: fc.constantFrom(...PATHS), data, mode: fc.constantFrom(CreateMode.CONTAINER, CreateMode.PERSISTENT_WITH_TTL, CreateMode.EPHEMERAL_SEQUENTIAL) })
  .map(({ path, data, mode }) => ({ type: "create", path, data: bytes(data), acl: [...OPEN_ACL_UNSAFE], mode, ttlMs: mode === CreateMode.PERSISTENT_WITH_TTL ? 1000 : 0 }));

const anyOp = fc.oneof({ arbitrary: multiOp, weight: 4 }, { arbitrary: ownedCreate, weight: 1 });

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("op" as const), op: anyOp, session: fc.nat(2), defer: fc.boolean() }), weight: 8 },
  { arbitrary: fc.record({ kind: fc.constant("multi" as const), ops: fc.array(anyOp, { maxLength: 4 }) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant("close" as const), session: fc.nat(2) }), weight: 1 },
  { arbitrary: fc.constant({ kind: "apply" as const }), weight: 1 },
);

/** What the counters must say, counted the slow way. */
function walked(tree: DataTree): { ephemerals: number; approximateDataSize: number; descendants: Map<string, number> } {
  let ephemerals = 0;
  let approximateDataSize = 0;
  const descendants = new Map<string, number>();
  for (const [path, n] of tree.walk()) {
    if (n.stat.ephemeralOwner > 0) ephemerals++;
    approximateDataSize += path.length + n.data.length;
    descendants.set(path, [...tree.walk(path)].length - 1);
  }
  return { ephemerals, approximateDataSize, descendants };
}

function counted(tree: DataTree): ReturnType<typeof walked> {
  return { ephemerals: tree.ephemeralCount, approximateDataSize: tree.approximateDataSize, descendants: new Map([...tree.walk()].map(([p]) => [p, tree.descendantCount(p)!])) };
}

describe("DataTree counters against a full walk (property)", () => {
  it("ephemerals, approximate data size and descendant counts match a walk after every step and after a snapshot", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 50 }), (steps) => {
        const h = new Harness();
        const sessions: SessionId[] = [0, 1, 2].map((i) => h.createSession(10_000 + i, bytes(`pw${i}`)).txn.hdr.sessionId);
        for (const s of steps) {
          if (s.kind === "op") h.submit(s.op, { sessionId: sessions[s.session]!, defer: s.defer });
          else if (s.kind === "multi") h.submit({ type: "multi", ops: s.ops });
          else if (s.kind === "close") h.closeSession(sessions[s.session]!);
          else h.applyAll();
          expect(counted(h.tree)).toEqual(walked(h.tree));
        }
        h.applyAll();
        expect(counted(h.tree)).toEqual(walked(h.tree));
        const { chunks } = writeSnapshot(h.tree, h.state.sessions, 64);
        const restored = readSnapshot(chunks[0]!, chunks.slice(1)).tree;
        expect(counted(restored)).toEqual(walked(h.tree));
      }),
      RUNS,
    );
  });
});

describe("DataTree counters", () => {
  it("a fresh tree counts its system nodes: path lengths, no data, no ephemerals", () => {
    const t = new DataTree();
    expect(t.descendantCount("/")).toBe(3);
    expect(t.descendantCount("/zookeeper")).toBe(2);
    expect(t.descendantCount("/zookeeper/quota")).toBe(0);
    expect(t.descendantCount("/missing")).toBeUndefined();
    expect(t.ephemeralCount).toBe(0);
    expect(t.approximateDataSize).toBe("/".length + "/zookeeper".length + "/zookeeper/config".length + "/zookeeper/quota".length);
  });

  it("DataTree.apply() counts path length plus data bytes, as ZooKeeper's cachedApproximateDataSize", () => {
    const h = new Harness();
    const base = h.tree.approximateDataSize;
    h.create("/sizeTest", "1234567890");
    expect(h.tree.approximateDataSize).toBe(base + "/sizeTest".length + 10);
    h.setData("/sizeTest", "abc");
    expect(h.tree.approximateDataSize).toBe(base + "/sizeTest".length + 3);
    h.delete("/sizeTest");
    expect(h.tree.approximateDataSize).toBe(base);
  });

  it("DataTree.restoreNode() over a system node replaces its data in the size", () => {
    const t = new DataTree();
    const base = t.approximateDataSize;
    t.restoreNode("/zookeeper/config", bytes("server.1=a:1"), [...OPEN_ACL_UNSAFE], { ...t.node("/zookeeper/config")!.stat });
    expect(t.approximateDataSize).toBe(base + "server.1=a:1".length);
    expect(t.descendantCount("/")).toBe(3);
  });

  it("a closeSession takes its ephemerals out of every counter", () => {
    const h = new Harness();
    const s = h.createSession(5000).txn.hdr.sessionId;
    h.create("/d");
    h.create("/d/e", "x", CreateMode.EPHEMERAL, { sessionId: s });
    h.create("/d/f", "yy", CreateMode.EPHEMERAL_SEQUENTIAL, { sessionId: s });
    expect([h.tree.ephemeralCount, h.tree.descendantCount("/d"), h.tree.descendantCount("/")]).toEqual([2, 2, 6]);
    h.closeSession(s);
    expect([h.tree.ephemeralCount, h.tree.descendantCount("/d"), h.tree.descendantCount("/")]).toEqual([0, 0, 4]);
  });
});
