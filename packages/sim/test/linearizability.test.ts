import { describe, expect, it } from "vitest";
import { InvariantViolation } from "../src/checker.ts";
import { History } from "../src/history.ts";
import { ABSENT, Err, checkLinearizable, type HistoryOp, type OpInput, type OpOutput } from "../src/linearizability.ts";

// A tiny DSL for hand-written histories of one key.
let nextId = 0;
function op(client: number, call: number, ret: number | "unknown", input: OpInput, output?: OpOutput): HistoryOp {
  return { id: nextId++, client, session: client + 100, key: "/k", input, call, ret: ret === "unknown" ? Infinity : ret, output: ret === "unknown" ? "unknown" : output! };
}
const OK = { err: Err.OK };
const create = (data: string, owner = 0): OpInput => ({ kind: "create", data, owner });
const set = (data: string, version = -1): OpInput => ({ kind: "setData", data, version });
const del = (version = -1): OpInput => ({ kind: "delete", version });
const read: OpInput = { kind: "syncGet" };
const saw = (data: string, version: number, owner = 0): OpOutput => ({ err: Err.OK, exists: true, data, version, owner });
const absent: OpOutput = { err: Err.OK, exists: false };

describe("linearizability checker", () => {
  it("accepts a sequential history", () => {
    const h = [op(0, 0, 1, create("a"), OK), op(0, 2, 3, set("b"), { err: Err.OK, version: 1 }), op(0, 4, 5, read, saw("b", 1)), op(0, 6, 7, del(1), OK), op(0, 8, 9, read, absent)];
    expect(checkLinearizable(h).ok).toBe(true);
  });

  it("rejects a read that misses a write completed before it began", () => {
    const h = [op(0, 0, 1, create("a"), OK), op(0, 2, 3, set("b"), OK), op(1, 4, 5, read, saw("a", 0))];
    const r = checkLinearizable(h);
    expect(r.ok).toBe(false);
    expect(r.stuck?.map((o) => o.input.kind)).toContain("syncGet");
  });

  it("accepts a read concurrent with a write seeing either value", () => {
    const base = [op(0, 0, 1, create("a"), OK), op(0, 2, 10, set("b"), OK)];
    expect(checkLinearizable([...base, op(1, 3, 4, read, saw("a", 0))]).ok).toBe(true);
    expect(checkLinearizable([...base, op(1, 3, 4, read, saw("b", 1))]).ok).toBe(true);
    // ...but not the new value and then the old one.
    expect(checkLinearizable([...base, op(1, 3, 4, read, saw("b", 1)), op(1, 5, 6, read, saw("a", 0))]).ok).toBe(false);
  });

  it("orders concurrent compare-and-sets: exactly one of two CAS on the same version wins", () => {
    const base = [op(0, 0, 1, create("a"), OK)];
    const bothWin = [...base, op(1, 2, 5, set("x", 0), OK), op(2, 3, 6, set("y", 0), OK)];
    expect(checkLinearizable(bothWin).ok).toBe(false);
    const oneWins = [...base, op(1, 2, 5, set("x", 0), OK), op(2, 3, 6, set("y", 0), { err: Err.BADVERSION }), op(0, 7, 8, read, saw("x", 1))];
    expect(checkLinearizable(oneWins).ok).toBe(true);
    // The loser's BADVERSION must be explained by the winner having gone first: reading y contradicts it.
    const wrongValue = [...base, op(1, 2, 5, set("x", 0), OK), op(2, 3, 6, set("y", 0), { err: Err.BADVERSION }), op(0, 7, 8, read, saw("y", 1))];
    expect(checkLinearizable(wrongValue).ok).toBe(false);
  });

  it("checks the version a setData returns", () => {
    expect(checkLinearizable([op(0, 0, 1, create("a"), OK), op(0, 2, 3, set("b"), { err: Err.OK, version: 2 })]).ok).toBe(false);
  });

  it("lets an op with an unknown outcome take effect late, or never", () => {
    const base = [op(0, 0, 1, create("a"), OK), op(1, 2, "unknown", set("lost"))];
    // Never took effect.
    expect(checkLinearizable([...base, op(0, 50, 51, read, saw("a", 0))]).ok).toBe(true);
    // Took effect long after the client gave up on it.
    expect(checkLinearizable([...base, op(0, 50, 51, read, saw("a", 0)), op(0, 60, 61, read, saw("lost", 1))]).ok).toBe(true);
    // But it cannot take effect before it was invoked...
    const early = [op(0, 0, 1, create("a"), OK), op(0, 2, 3, read, saw("lost", 1)), op(1, 4, "unknown", set("lost"))];
    expect(checkLinearizable(early).ok).toBe(false);
    // ...nor twice, nor be undone.
    const undone = [...base, op(0, 60, 61, read, saw("lost", 1)), op(0, 70, 71, read, saw("a", 0))];
    expect(checkLinearizable(undone).ok).toBe(false);
  });

  it("an unknown create or delete may explain a state change", () => {
    const h = [op(0, 0, "unknown", create("a")), op(1, 5, 6, read, saw("a", 0)), op(1, 7, "unknown", del()), op(2, 20, 21, read, absent)];
    expect(checkLinearizable(h).ok).toBe(true);
    // Nothing explains a value no one wrote.
    expect(checkLinearizable([op(0, 0, "unknown", create("a")), op(1, 5, 6, read, saw("b", 0))]).ok).toBe(false);
  });

  it("session expiry deletes the session's ephemeral at the commit instant", () => {
    const expire = (t: number, owner: number): HistoryOp => op(-1, t, t, { kind: "expire", owner }, OK);
    const h = [op(0, 0, 1, create("e", 7), OK), expire(10, 7), op(1, 11, 12, read, absent)];
    expect(checkLinearizable(h).ok).toBe(true);
    // The ephemeral still there after its session's closeSession committed: a violation.
    expect(checkLinearizable([op(0, 0, 1, create("e", 7), OK), expire(10, 7), op(1, 11, 12, read, saw("e", 0, 7))]).ok).toBe(false);
    // A closeSession cannot delete a node another session owns.
    expect(checkLinearizable([op(0, 0, 1, create("e", 8), OK), expire(10, 7)]).ok).toBe(false);
  });

  it("reports errors that contradict the state", () => {
    expect(checkLinearizable([op(0, 0, 1, create("a"), OK), op(1, 2, 3, del(), { err: Err.NONODE })]).ok).toBe(false);
    expect(checkLinearizable([op(0, 0, 1, create("a"), OK), op(1, 2, 3, create("b"), { err: Err.NODEEXISTS })]).ok).toBe(true);
    expect(checkLinearizable([op(1, 2, 3, create("b"), { err: Err.NODEEXISTS })]).ok).toBe(false);
    expect(checkLinearizable([op(0, 0, 1, create("a"), OK), op(1, 2, 3, set("b", 0), { err: Err.BADVERSION })]).ok).toBe(false);
    // SESSIONEXPIRED changes nothing and says nothing about the key.
    expect(checkLinearizable([op(1, 2, 3, set("b", 0), { err: Err.SESSIONEXPIRED }), op(1, 4, 5, read, absent)]).ok).toBe(true);
  });

  it("treats equal times as concurrent (sound at millisecond granularity)", () => {
    expect(checkLinearizable([op(0, 0, 1, create("a"), OK), op(0, 5, 5, set("b"), OK), op(1, 5, 5, read, saw("a", 0))]).ok).toBe(true);
  });

  it("stays fast on a long history with many concurrent clients (memoisation)", () => {
    // 4 clients, 400 ops, each overlapping its neighbours, plus unknown-outcome writes.
    const h: HistoryOp[] = [op(0, 0, 1, create("v0"), OK)];
    let version = 0;
    for (let i = 1; i < 400; i++) {
      const t = i * 10;
      if (i % 37 === 0) h.push(op(i % 4, t, "unknown", set(`u${i}`, 999)));
      else if (i % 3 === 0) h.push(op(i % 4, t, t + 25, read, saw(`v${version}`, version)));
      else {
        version++;
        h.push(op(i % 4, t, t + 25, set(`v${version}`, -1), { err: Err.OK, version }));
      }
    }
    const started = performance.now();
    const r = checkLinearizable(h);
    expect(r.ok).toBe(true);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("the initial state can be given", () => {
    expect(checkLinearizable([op(0, 0, 1, read, absent)], ABSENT).ok).toBe(true);
    expect(checkLinearizable([op(0, 0, 1, read, absent)], { exists: true, data: "x", version: 0, owner: 0 }).ok).toBe(false);
  });
});

describe("history: plain reads are sequentially consistent per session", () => {
  function history(): History {
    const h = new History(["/k"], 1000);
    h.committedValue("/k", 5, { exists: true, data: "a", version: 0, owner: 0 });
    h.committedValue("/k", 9, { exists: true, data: "b", version: 1, owner: 0 });
    return h;
  }

  it("accepts stale but monotonic reads that match the committed history", () => {
    const h = history();
    h.complete(h.invoke(0, 1, "/k", { kind: "get" }, 10), 10, { err: 0, exists: true, data: "a", version: 0, owner: 0 }, 6);
    h.complete(h.invoke(0, 1, "/k", { kind: "get" }, 11), 11, { err: 0, exists: true, data: "a", version: 0, owner: 0 }, 6);
    h.complete(h.invoke(0, 1, "/k", { kind: "get" }, 12), 12, { err: 0, exists: true, data: "b", version: 1, owner: 0 }, 9);
    // Another session may be further behind.
    h.complete(h.invoke(1, 2, "/k", { kind: "get" }, 12), 12, { err: 0, exists: false }, 4);
  });

  it("rejects a read that goes back in time", () => {
    const h = history();
    h.complete(h.invoke(0, 1, "/k", { kind: "get" }, 10), 10, { err: 0, exists: true, data: "b", version: 1, owner: 0 }, 9);
    expect(() => h.complete(h.invoke(0, 1, "/k", { kind: "get" }, 11), 11, { err: 0, exists: true, data: "a", version: 0, owner: 0 }, 6)).toThrow(/went back in time/);
  });

  it("rejects a read that misses the session's own acknowledged write", () => {
    const h = history();
    h.complete(h.invoke(0, 1, "/k", { kind: "setData", data: "b", version: -1 }, 8), 9, { err: 0, version: 1 }, 9);
    expect(() => h.complete(h.invoke(0, 1, "/k", { kind: "get" }, 11), 11, { err: 0, exists: true, data: "a", version: 0, owner: 0 }, 6)).toThrow(/read-your-writes/);
  });

  it("rejects a read whose value is not the committed value at its zxid", () => {
    const h = history();
    expect(() => h.complete(h.invoke(0, 1, "/k", { kind: "get" }, 10), 10, { err: 0, exists: true, data: "b", version: 1, owner: 0 }, 6)).toThrow(InvariantViolation);
  });

  it("reports a non-linearizable key with the ops that could not be ordered", () => {
    const h = history();
    h.complete(h.invoke(0, 1, "/k", { kind: "create", data: "a", owner: 0 }, 0), 1, OK, 5);
    h.complete(h.invoke(0, 1, "/k", { kind: "setData", data: "b", version: -1 }, 2), 3, { err: 0, version: 1 }, 9);
    h.complete(h.invoke(1, 2, "/k", { kind: "syncGet" }, 4), 4, saw("a", 0), 6);
    expect(() => h.checkLinearizability()).toThrow(/not linearizable[\s\S]*syncGet/);
  });
});
