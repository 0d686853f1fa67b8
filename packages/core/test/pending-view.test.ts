// Prep runs against the tree plus every change prepared but not yet applied. These tests prepare
// several writes before applying any, which is where a view that forgot a pending change would
// hand out a wrong version, a duplicate sequential name or a node that will not exist.
import { Code, CreateMode, EventType, asSessionId, type MultiOp } from "@keeper/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PATHS, RUNS, multiOp } from "./arbitraries.ts";
import { Harness, SESSION, codeOf, createReq, createdPath, dumpTree, text } from "./harness.ts";

const defer = { defer: true };

describe("PendingView: writes prepared before any is applied see each other", () => {
  it("a create of a child sees its pending parent", () => {
    const h = new Harness();
    expect(codeOf(h.create("/p", "", CreateMode.PERSISTENT, defer).prep)).toBe(Code.OK);
    expect(codeOf(h.create("/p/c", "", CreateMode.PERSISTENT, defer).prep)).toBe(Code.OK);
    expect(h.tree.stat("/p")).toBeUndefined();
    expect(h.applyAll().map((o) => o.err)).toEqual([Code.OK, Code.OK]);
    expect(h.tree.children("/p")).toEqual(["c"]);
    expect(h.view.pendingPaths).toBe(0);
  });

  it("a second create of a pending node gives NODEEXISTS", () => {
    const h = new Harness();
    h.create("/p", "", CreateMode.PERSISTENT, defer);
    expect(codeOf(h.create("/p", "", CreateMode.PERSISTENT, defer).prep)).toBe(Code.NODEEXISTS);
    h.applyAll();
    expect(h.view.pendingPaths).toBe(0);
  });

  it("two pending sequential creates get distinct consecutive suffixes", () => {
    const h = new Harness();
    h.create("/q");
    const a = createdPath(h.create("/q/job-", "", CreateMode.PERSISTENT_SEQUENTIAL, defer));
    const b = createdPath(h.create("/q/job-", "", CreateMode.EPHEMERAL_SEQUENTIAL, defer));
    expect([a, b]).toEqual(["/q/job-0000000000", "/q/job-0000000001"]);
    h.applyAll();
    expect(h.tree.children("/q")).toEqual(["job-0000000000", "job-0000000001"]);
    expect(h.tree.stat("/q")).toMatchObject({ cversion: 2, numChildren: 2 });
    expect(h.view.pendingPaths).toBe(0);
  });

  it("setData with version 0 then 1 both succeed while the first is pending", () => {
    const h = new Harness();
    h.create("/d", "v0");
    const first = h.setData("/d", "v1", 0, defer);
    const second = h.setData("/d", "v2", 1, defer);
    const stale = h.setData("/d", "v?", 1, defer);
    expect([first, second, stale].map((s) => codeOf(s.prep))).toEqual([Code.OK, Code.OK, Code.BADVERSION]);
    h.applyAll();
    expect(text(h.tree.node("/d")!.data)).toBe("v2");
    expect(h.tree.stat("/d")).toMatchObject({ version: 2, mzxid: second.zxid, dataLength: 2 });
    expect(h.view.pendingPaths).toBe(0);
  });

  it("delete then create of the same path both succeed while pending", () => {
    const h = new Harness();
    h.create("/p");
    h.create("/p/c", "old");
    const parentBefore = h.tree.stat("/p")!;
    const d = h.delete("/p/c", 0, defer);
    expect(codeOf(h.setData("/p/c", "x", -1, defer).prep)).toBe(Code.NONODE);
    const c = h.create("/p/c", "new", CreateMode.PERSISTENT, defer);
    expect(codeOf(d.prep)).toBe(Code.OK);
    expect(codeOf(c.prep)).toBe(Code.OK);
    h.applyAll();
    expect(text(h.tree.node("/p/c")!.data)).toBe("new");
    expect(h.tree.stat("/p/c")).toMatchObject({ czxid: c.zxid, version: 0 });
    // Clients see one delete and one create: cversion + 2.
    expect(h.tree.stat("/p")).toMatchObject({ numChildren: 1, cversion: parentBefore.cversion + 2, pzxid: c.zxid });
    expect(h.view.pendingPaths).toBe(0);
  });

  it("a delete of a parent whose only child is pending deletion succeeds", () => {
    const h = new Harness();
    h.create("/p");
    h.create("/p/c");
    expect(codeOf(h.delete("/p", -1, defer).prep)).toBe(Code.NOTEMPTY);
    h.delete("/p/c", -1, defer);
    expect(codeOf(h.delete("/p", -1, defer).prep)).toBe(Code.OK);
    h.applyAll();
    expect(h.tree.stat("/p")).toBeUndefined();
  });

  it("a create under a node pending deletion gives NONODE", () => {
    const h = new Harness();
    h.create("/p");
    h.delete("/p", -1, defer);
    expect(codeOf(h.create("/p/c", "", CreateMode.PERSISTENT, defer).prep)).toBe(Code.NONODE);
    h.applyAll();
  });

  it("a create under a pending ephemeral gives NOCHILDRENFOREPHEMERALS", () => {
    const h = new Harness();
    h.create("/e", "", CreateMode.EPHEMERAL, defer);
    expect(codeOf(h.create("/e/c", "", CreateMode.PERSISTENT, defer).prep)).toBe(Code.NOCHILDRENFOREPHEMERALS);
    h.applyAll();
  });

  it("setACL then setACL sees the pending aversion", () => {
    const h = new Harness();
    h.create("/a");
    const acl = [{ perms: 31, scheme: "world", id: "anyone" }];
    expect(codeOf(h.submit({ type: "setACL", path: "/a", acl, version: 0 }, defer).prep)).toBe(Code.OK);
    expect(codeOf(h.submit({ type: "setACL", path: "/a", acl, version: 0 }, defer).prep)).toBe(Code.BADVERSION);
    expect(codeOf(h.submit({ type: "setACL", path: "/a", acl, version: 1 }, defer).prep)).toBe(Code.OK);
    h.applyAll();
    expect(h.tree.stat("/a")!.aversion).toBe(2);
  });

  it("PendingView.applied() forgets an entry only once the last transaction that wrote it is applied", () => {
    const h = new Harness();
    h.create("/d", "v0");
    const s1 = h.setData("/d", "v1", 0, defer);
    const s2 = h.setData("/d", "v2", 1, defer);
    expect(h.view.pendingPaths).toBe(1);
    // Apply the first transaction directly, as a leader does when the first commit arrives.
    const txn1 = s1.prep.kind === "txn" ? s1.prep.txn : undefined;
    h.state.apply(txn1!);
    h.view.applied(s1.zxid!);
    expect(h.view.pendingPaths).toBe(1);
    expect(h.view.get("/d")!.stat.version).toBe(2);
    const txn2 = s2.prep.kind === "txn" ? s2.prep.txn : undefined;
    h.state.apply(txn2!);
    h.view.applied(s2.zxid!);
    expect(h.view.pendingPaths).toBe(0);
    expect(h.view.get("/d")!.stat).toEqual(h.tree.node("/d")!.stat);
  });

  it("PendingView.clear() drops every pending change", () => {
    const h = new Harness();
    h.create("/p", "", CreateMode.PERSISTENT, defer);
    expect(h.view.get("/p")).toBeDefined();
    h.view.clear();
    expect(h.view.get("/p")).toBeUndefined();
    expect(h.view.pendingPaths).toBe(0);
  });
});

describe("PendingView: a failed multi is rolled back", () => {
  it("later preps do not see the partial effects of a failed multi", () => {
    const h = new Harness();
    h.create("/a", "a0");
    const before = dumpTree(h.tree);
    const m = h.submit(
      {
        type: "multi",
        ops: [createReq("/m"), createReq("/m/c"), { type: "setData", path: "/a", data: new Uint8Array(1), version: 0 }, { type: "delete", path: "/nope", version: -1 }],
      },
      defer,
    );
    expect(m.prep).toMatchObject({ kind: "txn", txn: { body: { type: "error", err: Code.NONODE } } });
    expect(h.view.pendingPaths).toBe(0);
    // None of the multi's changes are visible to the next request.
    expect(codeOf(h.create("/m/c", "", CreateMode.PERSISTENT, defer).prep)).toBe(Code.NONODE);
    expect(codeOf(h.setData("/a", "a1", 0, defer).prep)).toBe(Code.OK);
    expect(codeOf(h.create("/m", "", CreateMode.PERSISTENT, defer).prep)).toBe(Code.OK);
    h.applyAll();
    const after = dumpTree(h.tree);
    expect(after.get("/a")!.stat.version).toBe(1);
    expect(after.get("/m")!.children).toEqual([]);
    expect(before.get("/zookeeper")).toEqual(after.get("/zookeeper"));
    expect(h.view.pendingPaths).toBe(0);
  });

  it("a failed multi rolls back to the earlier pending changes, not to the tree", () => {
    const h = new Harness();
    h.create("/a", "", CreateMode.PERSISTENT, defer);
    h.setData("/a", "v1", 0, defer);
    h.submit({ type: "multi", ops: [{ type: "setData", path: "/a", data: new Uint8Array(0), version: 1 }, { type: "delete", path: "/a", version: 0 }, createReq("/x/y")] }, defer);
    expect(h.view.get("/a")!.stat.version).toBe(1);
    expect(codeOf(h.setData("/a", "v2", 1, defer).prep)).toBe(Code.OK);
    h.applyAll();
    expect(h.tree.stat("/a")!.version).toBe(2);
    expect(h.view.pendingPaths).toBe(0);
  });

  it("a failed multi with a sequential create does not consume the counter", () => {
    const h = new Harness();
    h.create("/q");
    h.submit({ type: "multi", ops: [createReq("/q/s-", "", CreateMode.PERSISTENT_SEQUENTIAL), createReq("/missing/x")] }, defer);
    expect(createdPath(h.create("/q/s-", "", CreateMode.PERSISTENT_SEQUENTIAL, defer))).toBe("/q/s-0000000000");
    h.applyAll();
  });
});

describe("prepCloseSession()", () => {
  it("lists the session's ephemerals, pending ones included, and deletes them on apply", () => {
    const h = new Harness();
    const other = asSessionId(99);
    h.create("/p");
    h.create("/p/e1", "", CreateMode.EPHEMERAL);
    h.create("/e0", "", CreateMode.EPHEMERAL);
    h.create("/p/theirs", "", CreateMode.EPHEMERAL, { sessionId: other });
    h.create("/p/e2", "", CreateMode.EPHEMERAL, defer);
    const seq = createdPath(h.create("/p/s-", "", CreateMode.EPHEMERAL_SEQUENTIAL, defer));
    const { txn } = h.closeSession(SESSION, defer);
    expect(txn.body).toEqual({ type: "closeSession", ephemerals: ["/e0", "/p/e1", "/p/e2", seq].sort() });
    const pBefore = h.view.get("/p")!.stat;
    expect(pBefore.numChildren).toBe(1);
    const outcomes = h.applyAll();
    const close = outcomes[outcomes.length - 1]!;
    expect(close.err).toBe(Code.OK);
    expect(close.result).toEqual({ type: "closeSession" });
    expect(h.tree.children("/p")).toEqual(["theirs"]);
    expect(h.tree.stat("/e0")).toBeUndefined();
    expect(h.tree.ephemerals(SESSION).size).toBe(0);
    expect([...h.tree.ephemerals(other)]).toEqual(["/p/theirs"]);
    // Internally cversion counts the four creations; clients see 2 * 4 - 1 = 7.
    expect(h.tree.node("/p")!.stat).toMatchObject({ numChildren: 1, pzxid: txn.hdr.zxid, cversion: 4 });
    expect(h.tree.stat("/p")!.cversion).toBe(7);
    expect(close.triggers).toContainEqual(expect.objectContaining({ type: EventType.NodeDeleted, path: "/e0" }));
    expect(h.view.pendingPaths).toBe(0);
  });

  it("leaves out ephemerals pending deletion", () => {
    const h = new Harness();
    h.create("/e1", "", CreateMode.EPHEMERAL);
    h.create("/e2", "", CreateMode.EPHEMERAL);
    h.delete("/e1", -1, defer);
    const { txn } = h.closeSession(SESSION, defer);
    expect(txn.body).toEqual({ type: "closeSession", ephemerals: ["/e2"] });
    expect(h.applyAll().map((o) => o.err)).toEqual([Code.OK, Code.OK]);
    expect(h.tree.stat("/e2")).toBeUndefined();
  });

  it("a create under a parent after its session's ephemerals are pending close still sees the parent", () => {
    const h = new Harness();
    h.create("/p");
    h.create("/p/e", "", CreateMode.EPHEMERAL);
    h.closeSession(SESSION, defer);
    // The ephemeral is gone in the view, so the same name can be taken by another session.
    expect(codeOf(h.create("/p/e", "", CreateMode.EPHEMERAL, { sessionId: asSessionId(5), defer: true }).prep)).toBe(Code.OK);
    h.applyAll();
    expect(h.tree.stat("/p/e")!.ephemeralOwner).toBe(5);
  });
});

/** Triggers without the ACL they carry (checked on its own below). */
const kinds = (ts: readonly { type: number; path: string }[] | undefined) => ts?.map(({ type, path }) => ({ type, path }));

describe("DataTree.apply() watch triggers", () => {
  it("each trigger carries the ACL of the node it is about", () => {
    const h = new Harness();
    const mine = [{ perms: 31, scheme: "digest", id: "alice:x" }];
    h.submit({ type: "create", path: "/secret", data: new Uint8Array(), acl: mine, mode: 0, ttlMs: 0 });
    const t = h.setData("/secret", "x").applied?.triggers;
    expect(t?.[0]?.acl).toEqual(mine);
  });

  it("create fires NodeCreated and NodeChildrenChanged on the parent", () => {
    const h = new Harness();
    h.create("/p");
    expect(kinds(h.create("/p/c").applied?.triggers)).toEqual([
      { type: EventType.NodeCreated, path: "/p/c" },
      { type: EventType.NodeChildrenChanged, path: "/p" },
    ]);
  });

  it("delete fires NodeDeleted and NodeChildrenChanged on the parent", () => {
    const h = new Harness();
    h.create("/p");
    h.create("/p/c");
    expect(kinds(h.delete("/p/c").applied?.triggers)).toEqual([
      { type: EventType.NodeDeleted, path: "/p/c" },
      { type: EventType.NodeChildrenChanged, path: "/p" },
    ]);
  });

  it("setData fires NodeDataChanged; setACL, check and sync fire nothing", () => {
    const h = new Harness();
    h.create("/p");
    expect(kinds(h.setData("/p", "x").applied?.triggers)).toEqual([{ type: EventType.NodeDataChanged, path: "/p" }]);
    expect(kinds(h.submit({ type: "setACL", path: "/p", acl: [{ perms: 31, scheme: "world", id: "anyone" }], version: -1 }).applied?.triggers)).toEqual([]);
    expect(kinds(h.submit({ type: "check", path: "/p", version: -1 }).applied?.triggers)).toEqual([]);
    expect(kinds(h.submit({ type: "sync", path: "/p" }).applied?.triggers)).toEqual([]);
  });

  it("a multi fires the triggers of its ops in order; an error transaction fires none", () => {
    const h = new Harness();
    const s = h.submit({ type: "multi", ops: [createReq("/a"), { type: "setData", path: "/a", data: new Uint8Array(1), version: 0 }] });
    expect(kinds(s.applied?.triggers)).toEqual([
      { type: EventType.NodeCreated, path: "/a" },
      { type: EventType.NodeChildrenChanged, path: "/" },
      { type: EventType.NodeDataChanged, path: "/a" },
    ]);
    expect(kinds(h.delete("/nope").applied?.triggers)).toEqual([]);
  });
});

type Step = { op: MultiOp } | { ops: MultiOp[] } | { close: true };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: multiOp.map((op) => ({ op })), weight: 6 },
  { arbitrary: fc.array(multiOp, { maxLength: 3 }).map((ops) => ({ ops })), weight: 2 },
  { arbitrary: fc.constant({ close: true as const }), weight: 1 },
);

describe("PendingView predicts the tree (property)", () => {
  it("after a batch is prepared, view.get() of every path equals the tree once the batch is applied", () => {
    const paths = ["/", ...PATHS];
    fc.assert(
      fc.property(fc.array(fc.array(stepArb, { maxLength: 8 }), { maxLength: 6 }), (batches) => {
        const h = new Harness();
        for (const batch of batches) {
          for (const step of batch) {
            if ("op" in step) h.submit(step.op, defer);
            else if ("ops" in step) h.submit({ type: "multi", ops: step.ops }, defer);
            else h.closeSession(SESSION, defer);
          }
          const predicted = paths.map((p) => h.view.get(p) ?? null);
          h.applyAll();
          expect(h.view.pendingPaths).toBe(0);
          const actual = paths.map((p) => {
            const n = h.tree.node(p);
            return n ? { stat: { ...n.stat }, acl: n.acl } : null;
          });
          expect(predicted).toEqual(actual);
        }
      }),
      RUNS,
    );
  });
});
