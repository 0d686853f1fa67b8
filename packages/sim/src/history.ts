// The record of every simulated client operation (invocation, completion, input, output) and
// the checks made on it:
// - writes and sync-reads, per key, are linearizable (linearizability.ts);
// - plain reads are sequentially consistent per session: each returns the key's committed
//   value at the zxid of the state it read, that zxid never goes back (across node moves too),
//   and it is at least the zxid of every write the session had acknowledged (read-your-writes).
import { InvariantViolation } from "./checker.ts";
import { ABSENT, checkLinearizable, describeOp, describeState, type HistoryOp, type KeyState, type OpInput, type OpOutput } from "./linearizability.ts";

export class History {
  readonly ops: HistoryOp[] = [];
  /** Per key, the committed value after each transaction that changed it: [zxid, state]. */
  private readonly committed = new Map<string, Array<[number, KeyState]>>();
  /** Per session: the highest zxid it saw in any answer, and of its acknowledged writes. */
  private readonly seen = new Map<number, { any: number; anyOp: number; write: number; writeOp: number }>();
  stats = { searches: 0, explored: 0, unknown: 0, expired: 0 };

  constructor(readonly keys: readonly string[], private readonly maxOpsPerKey: number) {}

  invoke(client: number, session: number, key: string, input: OpInput, now: number, node?: number): HistoryOp {
    const op: HistoryOp = { id: this.ops.length, client, session, key, input, call: now, ret: Infinity, output: "unknown", ...(node !== undefined ? { node } : {}) };
    this.ops.push(op);
    return op;
  }

  /** The client will never learn the outcome. */
  lost(op: HistoryOp): void {
    op.output = "unknown";
    op.ret = Infinity;
    this.stats.unknown++;
  }

  complete(op: HistoryOp, now: number, output: OpOutput, zxid: number): void {
    op.ret = now;
    op.output = output;
    op.zxid = zxid;
    const s = this.seen.get(op.session) ?? { any: 0, anyOp: -1, write: 0, writeOp: -1 };
    this.seen.set(op.session, s);
    if (op.input.kind === "get") {
      if (zxid < s.write) this.fail(op.key, `read-your-writes violated: session 0x${op.session.toString(16)} read at zxid 0x${zxid.toString(16)} after its write #${s.writeOp} was acknowledged at 0x${s.write.toString(16)}`, [s.writeOp, op.id]);
      if (zxid < s.any) this.fail(op.key, `session 0x${op.session.toString(16)} went back in time: read at zxid 0x${zxid.toString(16)} after #${s.anyOp} saw 0x${s.any.toString(16)}`, [s.anyOp, op.id]);
      const want = this.valueAt(op.key, zxid);
      const got = output;
      const same = want.exists ? got.exists === true && got.data === want.data && got.version === want.version && got.owner === want.owner : got.exists === false;
      if (!same) this.fail(op.key, `read at zxid 0x${zxid.toString(16)} returned ${describeOp(op)}, but the committed value there is ${describeState(want)}`, [op.id]);
    } else if (op.input.kind !== "syncGet") {
      if (zxid > s.write) {
        s.write = zxid;
        s.writeOp = op.id;
      }
    }
    if (zxid > s.any) {
      s.any = zxid;
      s.anyOp = op.id;
    }
  }

  /** A transaction touching `key` was committed (first applied anywhere); `state` is the key after it. */
  committedValue(key: string, zxid: number, state: KeyState): void {
    let list = this.committed.get(key);
    if (!list) this.committed.set(key, (list = []));
    list.push([zxid, state]);
  }

  /** A closeSession deleted `key`, an ephemeral of `owner`: an op at the moment it was committed. */
  expired(key: string, owner: number, now: number, zxid: number, node: number): void {
    const op = this.invoke(-1, owner, key, { kind: "expire", owner }, now, node);
    op.ret = now;
    op.output = { err: 0 };
    op.zxid = zxid;
    this.stats.expired++;
  }

  valueAt(key: string, zxid: number): KeyState {
    const list = this.committed.get(key);
    if (!list) return ABSENT;
    let lo = 0;
    let hi = list.length - 1;
    let found: KeyState = ABSENT;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]![0] <= zxid) {
        found = list[mid]![1];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Checks every key's writes and sync-reads for linearizability. */
  checkLinearizability(): void {
    for (const key of this.keys) {
      let ops = this.ops.filter((o) => o.key === key);
      // Bound the search: check the first maxOpsPerKey ops (a prefix of a history, cut at an
      // invocation time, is a history: later ops are dropped, pending ones stay pending).
      if (ops.length > this.maxOpsPerKey) {
        const cut = ops[this.maxOpsPerKey]!.call;
        ops = ops.filter((o) => o.call < cut).map((o) => (o.ret >= cut ? { ...o, ret: Infinity, output: "unknown" as const } : o));
      }
      const r = checkLinearizable(ops);
      this.stats.searches++;
      this.stats.explored += r.explored;
      if (r.gaveUp) continue; // Undecided within the budget: not a finding.
      if (r.ok) continue;
      const prefix = (r.longestPrefix ?? []).slice(-8);
      const lines = [
        `history of ${key} is not linearizable (${ops.length} ops)`,
        `longest linearization (${r.longestPrefix?.length ?? 0} ops), its last ${prefix.length}:`,
        ...prefix.map((o) => `  ${describeOp(o)}`),
        `state then: ${describeState(r.stateAtLongest ?? ABSENT)}`,
        `pending ops none of which can come next:`,
        ...(r.stuck ?? []).slice(0, 12).map((o) => `  ${describeOp(o)}`),
      ];
      throw new InvariantViolation(lines.join("\n"));
    }
  }

  private fail(key: string, why: string, ids: number[]): never {
    const valid = ids.filter((i) => i >= 0);
    const lo = Math.min(...valid);
    const hi = Math.max(...valid);
    const between = this.ops.filter((o) => o.key === key && o.id >= lo && o.id <= hi).slice(-10);
    const shown = [...new Map([...valid.map((i) => this.ops[i]!), ...between].map((o) => [o.id, o])).values()].sort((a, b) => a.id - b.id);
    throw new InvariantViolation(`${why}\n${shown.map((o) => `  ${describeOp(o)}`).join("\n")}`);
  }
}
