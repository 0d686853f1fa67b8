// The digest is what replicas compare, and snapshot + log replay is how a replica recovers, so:
// replaying a log reproduces the digest, a snapshot restores everything it claims to, and the
// digest notices a change to any one node's data.
import { Code, type MultiOp, type SessionId } from "@keeper/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DataTree, DecodeError, ReplicatedState, SessionTable, decodeTxn, encodeTxn, readSnapshot, writeSnapshot } from "../src/index.ts";
import { RUNS, multiOp } from "./arbitraries.ts";
import { Harness, bytes, dumpTree } from "./harness.ts";

type Step = { kind: "op"; op: MultiOp; session: number } | { kind: "multi"; ops: MultiOp[] } | { kind: "close"; session: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("op" as const), op: multiOp, session: fc.nat(2) }), weight: 8 },
  { arbitrary: fc.record({ kind: fc.constant("multi" as const), ops: fc.array(multiOp, { maxLength: 4 }) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant("close" as const), session: fc.nat(2) }), weight: 1 },
);

/** A tree and session table reached by random steps from three sessions. */
function randomState(steps: Step[]): Harness {
  const h = new Harness();
  const sessions: SessionId[] = [0, 1, 2].map((i) => h.createSession(10_000 + i, bytes(`pw${i}`)).txn.hdr.sessionId);
  for (const s of steps) {
    if (s.kind === "op") h.submit(s.op, { sessionId: sessions[s.session]!, defer: s.session === 1 });
    else if (s.kind === "multi") h.submit({ type: "multi", ops: s.ops });
    else h.closeSession(sessions[s.session]!);
  }
  h.applyAll();
  return h;
}

function expectSameState(a: { tree: DataTree; sessions: SessionTable }, b: { tree: DataTree; sessions: SessionTable }): void {
  expect(b.tree.digest()).toBe(a.tree.digest());
  expect(b.tree.lastZxid).toBe(a.tree.lastZxid);
  expect(dumpTree(b.tree)).toEqual(dumpTree(a.tree));
  for (const p of a.tree.paths()) expect(b.tree.node(p)!.acl).toEqual(a.tree.node(p)!.acl);
  const ephemerals = (t: DataTree) => new Map(t.sessionsWithEphemerals().map((s) => [s, [...t.ephemerals(s)].sort()]));
  expect(ephemerals(b.tree)).toEqual(ephemerals(a.tree));
  expect([...b.sessions.all()].sort((x, y) => x.id - y.id)).toEqual([...a.sessions.all()].sort((x, y) => x.id - y.id));
}

describe("digest and snapshot (property)", () => {
  it("replaying the same transactions into a fresh ReplicatedState gives an equal digest", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const h = randomState(steps);
        const replica = new ReplicatedState();
        // Through the log format, as a recovering replica reads them.
        for (const txn of h.log) replica.apply(decodeTxn(encodeTxn(txn)));
        expectSameState(h.state, replica);
      }),
      RUNS,
    );
  });

  it("a snapshot of a random tree restores digest, children, stats, data, ACLs, ephemerals and sessions", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), fc.integer({ min: 1, max: 200 }), (steps, chunkBytes) => {
        const h = randomState(steps);
        const { meta, chunks } = writeSnapshot(h.tree, h.state.sessions, chunkBytes);
        expect(meta).toMatchObject({ zxid: h.tree.lastZxid, digest: h.tree.digest(), nodes: h.tree.size, sessions: h.state.sessions.size, chunks: chunks.length - 1 });
        const restored = readSnapshot(chunks[0]!, chunks.slice(1));
        expect(restored.meta).toEqual(meta);
        expectSameState(h.state, restored);
      }),
      RUNS,
    );
  });

  it("changing any one node's data changes the digest", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (steps, pick, delta) => {
        const h = randomState(steps);
        const paths = [...h.tree.walk()].map(([p]) => p);
        const victim = paths[pick % paths.length]!;
        // Rebuild from the walk with one node's data altered and its stat kept, so that the
        // data is the only difference.
        const rebuild = (alter: boolean) => {
          const t = new DataTree();
          for (const [p, n] of h.tree.walk()) {
            let d = n.data;
            if (alter && p === victim) {
              d = n.data.length === 0 ? new Uint8Array([delta]) : n.data.map((b, i) => (i === 0 ? (b + delta) & 0xff : b));
            }
            t.restoreNode(p, d, n.acl, { ...n.stat });
          }
          return t;
        };
        expect(rebuild(false).digest()).toBe(h.tree.digest());
        expect(rebuild(true).digest()).not.toBe(h.tree.digest());
      }),
      RUNS,
    );
  });
});

describe("snapshot format", () => {
  function sample(): Harness {
    const h = new Harness();
    h.createSession(5000);
    h.create("/a", "alpha");
    h.create("/a/b", "beta");
    h.create("/c", "x".repeat(300));
    return h;
  }

  it("writeSnapshot() with a small chunkBytes makes several chunks that round-trip", () => {
    const h = sample();
    const { meta, chunks } = writeSnapshot(h.tree, h.state.sessions, 16);
    expect(meta.chunks).toBeGreaterThan(3);
    expectSameState(h.state, readSnapshot(chunks[0]!, chunks.slice(1)));
  });

  it("readSnapshot() detects a digest that does not match the content", () => {
    const h = sample();
    const { chunks } = writeSnapshot(h.tree, h.state.sessions, 64);
    // Flip a byte of /c's data, which only the digest can notice.
    const body = chunks.slice(1).map((c) => c.slice());
    const target = body.find((c) => new TextDecoder().decode(c).includes("xxxxxxxx"))!;
    const at = new TextDecoder().decode(target).indexOf("xxxxxxxx");
    target[at] = "y".charCodeAt(0);
    expect(() => readSnapshot(chunks[0]!, body)).toThrow(DecodeError);
    expect(() => readSnapshot(chunks[0]!, body)).toThrow(/digest/);
  });

  it("readSnapshot() detects a missing chunk and a bad magic number", () => {
    const h = sample();
    const { chunks } = writeSnapshot(h.tree, h.state.sessions, 16);
    expect(() => readSnapshot(chunks[0]!, chunks.slice(2))).toThrow(DecodeError);
    const badHeader = chunks[0]!.slice();
    badHeader[0] = badHeader[0]! ^ 0xff;
    expect(() => readSnapshot(badHeader, chunks.slice(1))).toThrow(/not a Keeper snapshot/);
  });

  it("an empty tree's snapshot restores the system nodes only", () => {
    const h = new Harness();
    const { chunks } = writeSnapshot(h.tree, h.state.sessions);
    const restored = readSnapshot(chunks[0]!, chunks.slice(1));
    expect(restored.tree.size).toBe(4);
    expect(restored.tree.digest()).toBe(new DataTree().digest());
  });

  it("a failed write changes no digest", () => {
    const h = sample();
    const digest = h.tree.digest();
    expect(h.delete("/a").applied?.err).toBe(Code.NOTEMPTY);
    expect(h.tree.digest()).toBe(digest);
  });
});
