// A multi is all or nothing. Failed: the tree (digest, every node's data and stat) is as before
// and the per-op codes have ZooKeeper's shape. Succeeded: the tree is what the same ops give when
// applied one by one, up to the zxids and times they were stamped with.
import { Code, type MultiOp } from "@keeper/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RUNS, multiOp, shape } from "./arbitraries.ts";
import { Harness, codeOf, createReq, dumpTree } from "./harness.ts";

function build(prefix: MultiOp[]): Harness {
  const h = new Harness();
  // Top-level nodes first, so that more random multis succeed.
  for (const op of [createReq("/a"), createReq("/b"), ...prefix]) h.submit(op);
  return h;
}

const normalised = (h: Harness) => [...dumpTree(h.tree)].map(([p, n]) => [p, { data: n.data, stat: shape(n.stat), children: n.children }]);

describe("multi atomicity (property)", () => {
  it("a multi applies all of its ops' effects or none", () => {
    fc.assert(
      fc.property(fc.array(multiOp, { maxLength: 12 }), fc.array(multiOp, { minLength: 1, maxLength: 5 }), fc.boolean(), (prefix, ops, deferred) => {
        const multi = build(prefix);
        const single = build(prefix);
        const before = dumpTree(multi.tree);
        const digestBefore = multi.tree.digest();

        // Optionally prepare the multi while another write is still pending, then apply both.
        if (deferred) multi.submit({ type: "sync", path: "/" }, { defer: true });
        const s = multi.submit({ type: "multi", ops }, { defer: deferred });
        const outcome = deferred ? multi.applyAll().at(-1)! : s.applied!;
        expect(multi.view.pendingPaths).toBe(0);
        expect(s.prep.kind).toBe("txn");

        const oneByOne = ops.map((op) => single.submit(op));
        const firstFail = oneByOne.findIndex((r) => codeOf(r.prep) !== Code.OK);

        if (firstFail === -1) {
          expect(outcome.err).toBe(Code.OK);
          expect(normalised(multi)).toEqual(normalised(single));
          // Every zxid field a multi changed is its own zxid.
          for (const [path, n] of dumpTree(multi.tree)) {
            const old = before.get(path);
            for (const f of ["czxid", "mzxid", "pzxid"] as const) {
              if (old?.stat[f] !== n.stat[f]) expect(n.stat[f]).toBe(s.zxid);
            }
          }
          const results = outcome.result?.type === "multi" ? outcome.result.results : [];
          expect(results.map((r) => (r.type === "create" ? r.path : r.type))).toEqual(
            oneByOne.map((r) => (r.applied?.result?.type === "create" ? r.applied.result.path : r.applied?.result?.type)),
          );
        } else {
          const err = codeOf(oneByOne[firstFail]!.prep);
          const expected = ops.map((_, i) => (i < firstFail ? Code.OK : i === firstFail ? err : Code.RUNTIMEINCONSISTENCY));
          expect(outcome.err).toBe(err);
          expect(outcome.result).toEqual({ type: "multi", results: expected.map((e) => ({ type: "error", err: e })) });
          expect(outcome.triggers).toEqual([]);
          expect(multi.tree.digest()).toBe(digestBefore);
          expect(dumpTree(multi.tree)).toEqual(before);
        }
      }),
      RUNS,
    );
  });

  it("a multi of ops that succeed one by one succeeds and gives the same tree", () => {
    fc.assert(
      fc.property(fc.array(multiOp, { maxLength: 12 }), fc.array(multiOp, { minLength: 1, maxLength: 10 }), (prefix, candidates) => {
        // Keep only the candidates that succeed in sequence, so the multi is valid by construction.
        const scratch = build(prefix);
        const ops = candidates.filter((op) => codeOf(scratch.submit(op).prep) === Code.OK);
        const multi = build(prefix);
        const single = build(prefix);
        const s = multi.submit({ type: "multi", ops });
        const singles = ops.map((op) => single.submit(op));
        for (const r of singles) expect(codeOf(r.prep)).toBe(Code.OK);
        expect(s.applied?.err).toBe(Code.OK);
        expect(normalised(multi)).toEqual(normalised(single));
        expect(s.applied?.triggers).toEqual(singles.flatMap((r) => r.applied!.triggers));
      }),
      RUNS,
    );
  });
});
