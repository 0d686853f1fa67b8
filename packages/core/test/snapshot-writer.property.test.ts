// A snapshot written in slices while transactions keep being applied is exactly the state at
// the zxid where it started: every node changed or deleted meanwhile is written as it was, no
// node made meanwhile is written, and parents still come before children.
import { Perms, type MultiOp, type SessionId } from "@keeper/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SnapshotWriter, readSnapshot, writeSnapshot, type DataTree, type SessionTable } from "../src/index.ts";
import { PATHS, RUNS, multiOp, version } from "./arbitraries.ts";
import { Harness, bytes, dumpTree } from "./harness.ts";

type Step =
  | { kind: "op"; op: MultiOp; session: number }
  | { kind: "multi"; ops: MultiOp[] }
  | { kind: "acl"; path: string; version: number; perms: number }
  | { kind: "close"; session: number }
  | { kind: "open" };

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("op" as const), op: multiOp, session: fc.nat(2) }), weight: 8 },
  { arbitrary: fc.record({ kind: fc.constant("multi" as const), ops: fc.array(multiOp, { maxLength: 4 }) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant("acl" as const), path: fc.constantFrom(...PATHS), version, perms: fc.constantFrom(Perms.ALL, Perms.READ) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant("close" as const), session: fc.nat(2) }), weight: 1 },
  { arbitrary: fc.constant({ kind: "open" as const }), weight: 1 },
);

function run(h: Harness, sessions: SessionId[], s: Step): void {
  if (s.kind === "op") h.submit(s.op, { sessionId: sessions[s.session % sessions.length]! });
  else if (s.kind === "multi") h.submit({ type: "multi", ops: s.ops });
  else if (s.kind === "acl") h.submit({ type: "setACL", path: s.path, acl: [{ perms: s.perms, scheme: "world", id: "anyone" }], version: s.version });
  else if (s.kind === "close") h.closeSession(sessions[s.session % sessions.length]!);
  else sessions.push(h.createSession(10_000, bytes(`pw${sessions.length}`)).txn.hdr.sessionId);
}

function expectSameState(a: { tree: DataTree; sessions: SessionTable }, b: { tree: DataTree; sessions: SessionTable }): void {
  expect(b.tree.digest()).toBe(a.tree.digest());
  expect(b.tree.lastZxid).toBe(a.tree.lastZxid);
  expect(dumpTree(b.tree)).toEqual(dumpTree(a.tree));
  for (const p of a.tree.paths()) expect(b.tree.node(p)!.acl).toEqual(a.tree.node(p)!.acl);
  expect([...b.sessions.all()].sort((x, y) => x.id - y.id)).toEqual([...a.sessions.all()].sort((x, y) => x.id - y.id));
}

describe("SnapshotWriter (property)", () => {
  it("written in slices between applies, it restores the state at its start", () => {
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 40 }),
        fc.array(fc.tuple(step, fc.integer({ min: 0, max: 3 })), { maxLength: 40 }),
        fc.integer({ min: 1, max: 300 }),
        (before, during, chunkBytes) => {
          const h = new Harness();
          const sessions: SessionId[] = [0, 1, 2].map((i) => h.createSession(10_000 + i, bytes(`pw${i}`)).txn.hdr.sessionId);
          for (const s of before) run(h, sessions, s);
          const expected = writeSnapshot(h.tree, h.state.sessions, chunkBytes);

          const writer = new SnapshotWriter(h.tree, h.state.sessions, chunkBytes);
          const body: Uint8Array[] = [];
          for (const [s, nodes] of during) {
            run(h, sessions, s);
            writer.step(nodes);
            body.push(...writer.takeChunks());
          }
          while (!writer.step(2)) body.push(...writer.takeChunks());
          body.push(...writer.takeChunks());
          const { meta, header } = writer.result();
          // Chunk boundaries depend on the order nodes are written in (nodes deleted during the
          // walk come last), so only the count of chunks actually produced must match.
          expect({ ...meta, chunks: body.length }).toEqual({ ...expected.meta, chunks: body.length });
          expect(meta.chunks).toBe(body.length);
          expectSameState(readSnapshot(expected.chunks[0]!, expected.chunks.slice(1)), readSnapshot(header, body));

          // The tree is observed no more: another snapshot may start, and it sees the new state.
          const after = writeSnapshot(h.tree, h.state.sessions);
          expectSameState(h.state, readSnapshot(after.chunks[0]!, after.chunks.slice(1)));
        },
      ),
      RUNS,
    );
  });

  it("an aborted writer stops observing the tree", () => {
    const h = new Harness();
    h.create("/a", "1");
    const writer = new SnapshotWriter(h.tree, h.state.sessions);
    writer.abort();
    h.setData("/a", "2");
    expect(() => writeSnapshot(h.tree, h.state.sessions)).not.toThrow();
  });
});
