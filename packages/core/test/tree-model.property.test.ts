// Model test: the same random operations go through prep + apply and through a naive Map, and
// every result code, read and final node must agree. Writes are prepared in random batches
// before being applied, so the pending view is exercised as well as the tree.
import { Code, CreateMode, parentOf } from "@keeper/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PATHS, RUNS, data, path, version } from "./arbitraries.ts";
import { Harness, SESSION, bytes, codeOf, text } from "./harness.ts";

interface ModelNode {
  data: string;
  version: number;
  children: number;
  ephemeral: boolean;
}

type Op =
  | { kind: "create"; path: string; data: string; ephemeral: boolean }
  | { kind: "delete"; path: string; version: number }
  | { kind: "setData"; path: string; data: string; version: number }
  | { kind: "getData"; path: string }
  | { kind: "apply" };

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("create" as const), path, data, ephemeral: fc.boolean() }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant("delete" as const), path, version }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant("setData" as const), path, data, version }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant("getData" as const), path }), weight: 2 },
  { arbitrary: fc.constant({ kind: "apply" as const }), weight: 1 },
);

/** The rules written the obvious way, in ZooKeeper's order of checks. */
class Model {
  readonly nodes = new Map<string, ModelNode>([["/", { data: "", version: 0, children: 1, ephemeral: false }]]);

  create(path: string, data: string, ephemeral: boolean): Code {
    const parent = this.nodes.get(parentOf(path));
    if (!parent) return Code.NONODE;
    if (this.nodes.has(path)) return Code.NODEEXISTS;
    if (parent.ephemeral) return Code.NOCHILDRENFOREPHEMERALS;
    this.nodes.set(path, { data, version: 0, children: 0, ephemeral });
    parent.children++;
    return Code.OK;
  }

  delete(path: string, version: number): Code {
    const parent = this.nodes.get(parentOf(path));
    const n = this.nodes.get(path);
    if (!parent || !n) return Code.NONODE;
    if (version !== -1 && version !== n.version) return Code.BADVERSION;
    if (n.children > 0) return Code.NOTEMPTY;
    this.nodes.delete(path);
    parent.children--;
    return Code.OK;
  }

  setData(path: string, data: string, version: number): Code {
    const n = this.nodes.get(path);
    if (!n) return Code.NONODE;
    if (version !== -1 && version !== n.version) return Code.BADVERSION;
    n.data = data;
    n.version++;
    return Code.OK;
  }
}

function expectSame(h: Harness, model: Model, path: string): void {
  const n = h.tree.node(path);
  const m = model.nodes.get(path);
  expect(n === undefined, `${path} exists in one only`).toBe(m === undefined);
  if (!n || !m) return;
  expect({ data: text(n.data), version: n.stat.version, children: n.stat.numChildren, ephemeral: n.stat.ephemeralOwner !== 0 }).toEqual(m);
  expect(n.stat.dataLength).toBe(n.data.length);
  expect(n.children.size).toBe(n.stat.numChildren);
}

describe("DataTree against a naive Map model (property)", () => {
  it("random creates, deletes, setData and reads give the model's codes and data", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const h = new Harness();
        const model = new Model();
        for (const o of ops) {
          switch (o.kind) {
            case "create": {
              const s = h.create(o.path, o.data, o.ephemeral ? CreateMode.EPHEMERAL : CreateMode.PERSISTENT, { defer: true });
              expect(codeOf(s.prep)).toBe(model.create(o.path, o.data, o.ephemeral));
              break;
            }
            case "delete":
              expect(codeOf(h.delete(o.path, o.version, { defer: true }).prep)).toBe(model.delete(o.path, o.version));
              break;
            case "setData":
              expect(codeOf(h.setData(o.path, o.data, o.version, { defer: true }).prep)).toBe(model.setData(o.path, o.data, o.version));
              break;
            case "getData":
              // Reads see the applied tree, so bring it up to date first.
              h.applyAll();
              expectSame(h, model, o.path);
              break;
            case "apply":
              // Every transaction prepared OK must apply OK, and error transactions apply as errors.
              for (const outcome of h.applyAll()) expect(outcome.err === Code.OK || outcome.result === undefined).toBe(true);
              break;
          }
        }
        h.applyAll();
        expect(h.view.pendingPaths).toBe(0);
        for (const p of ["/", ...PATHS]) expectSame(h, model, p);
        expect([...h.tree.ephemerals(SESSION)].sort()).toEqual([...model.nodes].filter(([, n]) => n.ephemeral).map(([p]) => p).sort());
      }),
      RUNS,
    );
  });

  it("getData of data written with bytes() reads the same bytes back", () => {
    const h = new Harness();
    h.create("/a", "\u00e9\u4e2d");
    expect(h.tree.node("/a")!.data).toEqual(bytes("\u00e9\u4e2d"));
    expect(h.tree.stat("/a")!.dataLength).toBe(5);
  });
});
