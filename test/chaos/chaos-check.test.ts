// The chaos history checker (test/support/chaos-check.ts) on hand-written histories and
// logs, no processes: it must pass a correct history and catch each kind of violation it
// claims to — a lost acknowledged write, a stale plain read, a stale sync read, logs that
// disagree, a digest that the logs do not reproduce — and must use the log to pin down writes
// whose outcome the client never learned.
import { describe, expect, it } from "vitest";
import { ReplicatedState, type Txn, type TxnBody } from "@keeper/core";
import { OPEN_ACL_UNSAFE, asSessionId, asZxid, makeZxid } from "@keeper/protocol";
import type { OpInput, OpOutput } from "@keeper/sim";
import { checkChaosHistory } from "../support/chaos-check.ts";
import type { RawOp } from "../support/chaos-history.ts";

const S1 = 0x1_0000_0001;
const S2 = 0x1_0000_0002;
const z = (n: number): number => makeZxid(1, n);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function txn(n: number, session: number, cxid: number, body: TxnBody): Txn {
  return { hdr: { zxid: asZxid(z(n)), time: 0, sessionId: asSessionId(session), cxid }, body };
}
const create = (path: string, data: string): TxnBody => ({ type: "create", path, data: bytes(data), acl: [...OPEN_ACL_UNSAFE], ephemeralOwner: 0 });
const setData = (path: string, data: string, version: number): TxnBody => ({ type: "setData", path, data: bytes(data), version });

let nextId = 0;
function op(o: { worker: number; session: number; xid?: number; key?: string; input: OpInput; call: number; ret?: number; output?: OpOutput; zxid?: number }): RawOp {
  const answered = o.output !== undefined;
  return {
    id: nextId++,
    worker: o.worker,
    instance: o.worker,
    key: o.key ?? "/k",
    input: o.input,
    call: o.call,
    ret: answered ? o.ret! : Infinity,
    output: answered ? o.output! : "unknown",
    ...(o.zxid !== undefined ? { zxid: o.zxid, server: 1, readOnly: false } : {}),
    sends: o.xid !== undefined ? [{ xid: o.xid, type: o.input.kind, session: o.session, server: 1 }] : [],
  };
}

const read = (data: string, version: number): OpOutput => ({ err: 0, exists: true, data, version, owner: 0 });

/** create a (z1), setData b (z2): both acknowledged to worker 1. */
function base(): { ops: RawOp[]; log: Txn[] } {
  return {
    ops: [
      op({ worker: 1, session: S1, xid: 1, input: { kind: "create", data: "a", owner: 0 }, call: 0, ret: 5, output: { err: 0 }, zxid: z(1) }),
      op({ worker: 1, session: S1, xid: 2, input: { kind: "setData", data: "b", version: 0 }, call: 10, ret: 15, output: { err: 0, version: 1 }, zxid: z(2) }),
    ],
    log: [txn(1, S1, 1, create("/k", "a")), txn(2, S1, 2, setData("/k", "b", 1))],
  };
}

const check = (ops: RawOp[], logs: Map<number, Txn[]>, checkpoints: Array<{ what: string; lastZxid: number; digest: string }> = []) => checkChaosHistory({ ops, keys: ["/k"], logs, checkpoints });

describe("chaos history checker", () => {
  it("passes a correct history, with sequentially consistent (older) plain reads, and checks digests", () => {
    const { ops, log } = base();
    ops.push(op({ worker: 2, session: S2, xid: 1, input: { kind: "get" }, call: 20, ret: 21, output: read("a", 0), zxid: z(1) })); // a lagging follower: fine
    ops.push(op({ worker: 2, session: S2, xid: 2, input: { kind: "syncGet" }, call: 22, ret: 25, output: read("b", 1), zxid: z(2) }));
    const st = new ReplicatedState();
    for (const t of log) st.apply(t);
    const r = check(ops, new Map([[1, log], [2, log.slice(0, 1)]]), [{ what: "end", lastZxid: z(2), digest: st.tree.digest() }]);
    expect(r.violations).toEqual([]);
    expect(r.stats.ackedWritesInLog).toBe(2);
  });

  it("catches an acknowledged write missing from the committed log", () => {
    const { ops, log } = base();
    const r = check(ops, new Map([[1, log.slice(0, 1)]]));
    expect(r.violations.join("\n")).toMatch(/acknowledged write lost/);
  });

  it("catches a plain read older than the client's own write (read-your-writes) and a read of a value not committed at its zxid", () => {
    const { ops, log } = base();
    ops.push(op({ worker: 1, session: S1, xid: 3, input: { kind: "get" }, call: 20, ret: 21, output: read("a", 0), zxid: z(1) }));
    expect(check(ops, new Map([[1, log]])).violations.join("\n")).toMatch(/read-your-writes violated/);
    const other = base();
    other.ops.push(op({ worker: 2, session: S2, xid: 1, input: { kind: "get" }, call: 20, ret: 21, output: read("a", 0), zxid: z(2) }));
    expect(check(other.ops, new Map([[1, other.log]])).violations.join("\n")).toMatch(/committed value there is/);
  });

  it("catches a stale sync read (not linearizable)", () => {
    const { ops, log } = base();
    ops.push(op({ worker: 2, session: S2, xid: 1, input: { kind: "syncGet" }, call: 20, ret: 25, output: read("a", 0), zxid: z(1) }));
    expect(check(ops, new Map([[1, log]])).violations.join("\n")).toMatch(/not linearizable/);
  });

  it("catches logs that disagree and a digest the logs do not reproduce", () => {
    const { ops, log } = base();
    const forked = [log[0]!, txn(2, S1, 2, setData("/k", "other", 1))];
    expect(check(ops, new Map([[1, log], [2, forked]])).violations.join("\n")).toMatch(/logs disagree at zxid/);
    expect(check(ops, new Map([[1, log]]), [{ what: "end", lastZxid: z(2), digest: "bogus" }]).violations.join("\n")).toMatch(/gives digest/);
  });

  it("resolves writes with unknown outcome from the log: committed ones must take effect, the others never did", () => {
    // Worker 1's setData c timed out, but it committed at z3, and worker 2 read at z3 at t=40.
    const mk = (syncSees: string) => {
      const { ops, log } = base();
      ops.push(op({ worker: 1, session: S1, xid: 3, input: { kind: "setData", data: "c", version: -1 }, call: 30 }));
      ops.push(op({ worker: 2, session: S2, xid: 1, input: { kind: "get" }, call: 39, ret: 40, output: read("c", 2), zxid: z(3) }));
      ops.push(op({ worker: 3, session: S2, xid: 2, input: { kind: "syncGet" }, call: 50, ret: 55, output: read(syncSees, syncSees === "c" ? 2 : 1), zxid: z(3) }));
      return { ops, log: [...log, txn(3, S1, 3, setData("/k", "c", 2))] };
    };
    const good = mk("c");
    const r = check(good.ops, new Map([[1, good.log]]));
    expect(r.violations).toEqual([]);
    expect(r.stats.unknownWritesCommitted).toBe(1);
    // Left open-ended, that write could take effect after t=55 and this stale sync read would
    // pass; bounded by the read at t=40, it cannot.
    const bad = mk("b");
    expect(check(bad.ops, new Map([[1, bad.log]])).violations.join("\n")).toMatch(/not linearizable/);
    // Not in the log: it never happened, and a sync read that does not see it is fine.
    const lost = base();
    lost.ops.push(op({ worker: 1, session: S1, xid: 3, input: { kind: "setData", data: "c", version: -1 }, call: 30 }));
    lost.ops.push(op({ worker: 2, session: S2, xid: 1, input: { kind: "syncGet" }, call: 50, ret: 55, output: read("b", 1), zxid: z(2) }));
    const r2 = check(lost.ops, new Map([[1, lost.log]]));
    expect(r2.violations).toEqual([]);
    expect(r2.stats.unknownWritesNotCommitted).toBe(1);
  });

  it("catches a request committed twice", () => {
    const { ops, log } = base();
    const twice = [...log, txn(3, S1, 2, setData("/k", "b", 2))];
    expect(check(ops, new Map([[1, twice]])).violations.join("\n")).toMatch(/committed twice/);
  });
});
