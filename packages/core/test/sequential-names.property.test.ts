// Sequential names come from the parent's cversion as the view has it at prep time. Whatever mix
// of creates and deletes is prepared before being applied, no name repeats and the names under a
// parent strictly increase, each equal to the number of children created there before it.
import { Code, CreateMode, nameOf, parentOf } from "@keeper/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RUNS } from "./arbitraries.ts";
import { Harness, codeOf, createdPath } from "./harness.ts";

const PARENTS = ["/q", "/r", "/q/s"] as const;
const parent = fc.constantFrom(...PARENTS);

type Action =
  | { kind: "seq"; parent: string; ephemeral: boolean }
  | { kind: "plain"; parent: string; name: string }
  | { kind: "delete"; pick: number }
  | { kind: "apply" };

const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("seq" as const), parent, ephemeral: fc.boolean() }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant("plain" as const), parent, name: fc.constantFrom("p", "q-", "x") }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("delete" as const), pick: fc.nat() }), weight: 3 },
  { arbitrary: fc.constant({ kind: "apply" as const }), weight: 1 },
);

describe("sequential names (property)", () => {
  it("pending sequential creates and deletes never repeat a name and names under a parent strictly increase", () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 60 }), (actions) => {
        const h = new Harness();
        for (const p of PARENTS) h.create(p);
        // The model: children created under each parent so far (the counter ZooKeeper uses).
        const created = new Map<string, number>(PARENTS.map((p) => [p, p === "/q" ? 1 : 0]));
        const names = new Map<string, string[]>(PARENTS.map((p) => [p, []]));
        const live: string[] = [];
        const everyName = new Set<string>();

        for (const a of actions) {
          switch (a.kind) {
            case "seq": {
              const s = h.create(`${a.parent}/n-`, "", a.ephemeral ? CreateMode.EPHEMERAL_SEQUENTIAL : CreateMode.PERSISTENT_SEQUENTIAL, { defer: true });
              expect(codeOf(s.prep)).toBe(Code.OK);
              const path = createdPath(s);
              expect(parentOf(path)).toBe(a.parent);
              const counter = created.get(a.parent)!;
              expect(nameOf(path)).toBe(`n-${String(counter).padStart(10, "0")}`);
              expect(everyName.has(path)).toBe(false);
              everyName.add(path);
              names.get(a.parent)!.push(path);
              created.set(a.parent, counter + 1);
              live.push(path);
              break;
            }
            case "plain": {
              const s = h.create(`${a.parent}/${a.name}`, "", CreateMode.PERSISTENT, { defer: true });
              if (codeOf(s.prep) === Code.OK) created.set(a.parent, created.get(a.parent)! + 1);
              break;
            }
            case "delete": {
              if (live.length === 0) break;
              const [path] = live.splice(a.pick % live.length, 1);
              expect(codeOf(h.delete(path!, -1, { defer: true }).prep)).toBe(Code.OK);
              break;
            }
            case "apply":
              expect(h.applyAll().every((o) => o.err === Code.OK || o.err === Code.NODEEXISTS || o.err === Code.NOTEMPTY)).toBe(true);
              break;
          }
        }
        h.applyAll();
        expect(h.view.pendingPaths).toBe(0);
        for (const [p, list] of names) {
          const sorted = [...list].sort();
          expect(list).toEqual(sorted);
          expect(new Set(list).size).toBe(list.length);
          expect(h.tree.node(p)!.stat.cversion).toBe(created.get(p)); // internal: creations only
        }
        const liveInTree = [...h.tree.paths()].filter((p) => nameOf(p).startsWith("n-")).sort();
        expect(liveInTree).toEqual([...live].sort());
      }),
      RUNS,
    );
  });
});
