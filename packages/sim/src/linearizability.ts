// A linearizability checker for the history of one znode, in the style of Wing & Gong with
// Lowe's memoisation (as Porcupine does it). Keys are independent (P-compositionality), so
// the simulator checks each key's history on its own.
//
// The model of a key is {exists, data, version, owner}. Operations with an unknown outcome
// (the client lost its connection before the answer) return at +infinity: they may take
// effect at any point after their invocation, or never.

export type KeyState = { exists: false } | { exists: true; data: string; version: number; owner: number };

export const ABSENT: KeyState = { exists: false };

/** Error codes the model knows (ZooKeeper's numbers). */
export const Err = { OK: 0, NONODE: -101, BADVERSION: -103, NODEEXISTS: -110, SESSIONEXPIRED: -112 } as const;

export type OpInput =
  | { kind: "create"; data: string; owner: number }
  | { kind: "delete"; version: number }
  | { kind: "setData"; data: string; version: number }
  /** sync, then read at the moment the sync is applied (linearizable). */
  | { kind: "syncGet" }
  /** A plain local read (sequentially consistent only: not part of the linearizability check). */
  | { kind: "get" }
  /** The session `owner` expired and its closeSession deleted this ephemeral. */
  | { kind: "expire"; owner: number };

export interface OpOutput {
  err: number;
  /** For reads: what was seen. For setData: the new version. */
  exists?: boolean;
  data?: string;
  version?: number;
  owner?: number;
}

export interface HistoryOp {
  /** Index in the whole history, for reporting. */
  id: number;
  client: number;
  session: number;
  key: string;
  input: OpInput;
  call: number;
  /** Completion time; Infinity when the outcome is unknown. */
  ret: number;
  output: OpOutput | "unknown";
  /** The zxid the answer was given at (write's txn, sync's txn, or the read state's). */
  zxid?: number;
  node?: number;
}

/** The model: does `op` with its recorded output fit state `s`, and what state follows? */
export function step(s: KeyState, op: HistoryOp): KeyState | undefined {
  const out = op.output;
  const inp = op.input;
  if (out === "unknown") {
    // Whatever the op would do from this state.
    switch (inp.kind) {
      case "create":
        return s.exists ? s : { exists: true, data: inp.data, version: 0, owner: inp.owner };
      case "delete":
        return s.exists && (inp.version === -1 || inp.version === s.version) ? ABSENT : s;
      case "setData":
        return s.exists && (inp.version === -1 || inp.version === s.version) ? { ...s, data: inp.data, version: s.version + 1 } : s;
      default:
        return s;
    }
  }
  switch (inp.kind) {
    case "create":
      if (out.err === Err.OK) return s.exists ? undefined : { exists: true, data: inp.data, version: 0, owner: inp.owner };
      if (out.err === Err.NODEEXISTS) return s.exists ? s : undefined;
      return out.err === Err.SESSIONEXPIRED ? s : undefined;
    case "delete":
      if (out.err === Err.OK) return s.exists && (inp.version === -1 || inp.version === s.version) ? ABSENT : undefined;
      if (out.err === Err.NONODE) return s.exists ? undefined : s;
      if (out.err === Err.BADVERSION) return s.exists && inp.version !== -1 && inp.version !== s.version ? s : undefined;
      return out.err === Err.SESSIONEXPIRED ? s : undefined;
    case "setData":
      if (out.err === Err.OK) {
        if (!s.exists || (inp.version !== -1 && inp.version !== s.version)) return undefined;
        if (out.version !== undefined && out.version !== s.version + 1) return undefined;
        return { ...s, data: inp.data, version: s.version + 1 };
      }
      if (out.err === Err.NONODE) return s.exists ? undefined : s;
      if (out.err === Err.BADVERSION) return s.exists && inp.version !== -1 && inp.version !== s.version ? s : undefined;
      return out.err === Err.SESSIONEXPIRED ? s : undefined;
    case "get":
    case "syncGet":
      if (out.err !== Err.OK) return out.err === Err.SESSIONEXPIRED ? s : undefined;
      if (!out.exists) return s.exists ? undefined : s;
      return s.exists && s.data === out.data && s.version === out.version && (out.owner === undefined || out.owner === s.owner) ? s : undefined;
    case "expire":
      return s.exists && s.owner === inp.owner ? ABSENT : undefined;
  }
}

/** Ops that constrain or change the state: reads with no answer, and answers that change nothing and say nothing, are left out. */
export function relevant(op: HistoryOp): boolean {
  if (op.input.kind === "get") return false;
  if (op.output === "unknown") return op.input.kind !== "syncGet";
  return op.output.err !== Err.SESSIONEXPIRED;
}

export interface LinearizabilityResult {
  ok: boolean;
  /** States explored (memoised). */
  explored: number;
  /** On failure: the longest linearization found, and the ops it could not extend past. */
  longestPrefix?: HistoryOp[];
  stateAtLongest?: KeyState;
  stuck?: HistoryOp[];
  /** The search gave up (budget exhausted): neither proven nor refuted. */
  gaveUp?: boolean;
}

interface Entry {
  op: number;
  isCall: boolean;
  time: number;
  prev: Entry | undefined;
  next: Entry | undefined;
  match: Entry | undefined;
}

function stateKey(s: KeyState): string {
  return s.exists ? `${s.data}\u0000${s.version}\u0000${s.owner}` : "-";
}

/**
 * Checks one key's history from `initial`. Precedence is strict: a precedes b iff
 * a.ret < b.call (equal times count as concurrent, which is sound at ms granularity).
 */
export function checkLinearizable(history: readonly HistoryOp[], initial: KeyState = ABSENT, budget = 2_000_000): LinearizabilityResult {
  const ops = history.filter(relevant);
  const n = ops.length;
  if (n === 0) return { ok: true, explored: 0 };
  const events: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const call: Entry = { op: i, isCall: true, time: ops[i]!.call, prev: undefined, next: undefined, match: undefined };
    const ret: Entry = { op: i, isCall: false, time: ops[i]!.ret, prev: undefined, next: undefined, match: undefined };
    call.match = ret;
    events.push(call, ret);
  }
  // By time; at equal times calls first, so ops touching at one instant overlap.
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Entry = { op: -1, isCall: false, time: -Infinity, prev: undefined, next: undefined, match: undefined };
  let last = head;
  for (const e of events) {
    e.prev = last;
    last.next = e;
    last = e;
  }
  const lift = (call: Entry): void => {
    call.prev!.next = call.next;
    call.next!.prev = call.prev;
    const r = call.match!;
    r.prev!.next = r.next;
    if (r.next) r.next.prev = r.prev;
  };
  const unlift = (call: Entry): void => {
    const r = call.match!;
    r.prev!.next = r;
    if (r.next) r.next.prev = r;
    call.prev!.next = call;
    call.next!.prev = call;
  };

  const words = Math.ceil(n / 32);
  const bits = new Uint32Array(words);
  const bitKey = (): string => {
    let k = "";
    for (let w = 0; w < words; w++) k += bits[w]!.toString(36) + ",";
    return k;
  };
  const cache = new Set<string>();
  const stack: Array<{ entry: Entry; state: KeyState }> = [];
  let state = initial;
  let entry = head.next;
  let explored = 0;
  let longest: number[] = [];
  let longestState = initial;
  let longestStuck: Entry | undefined;

  while (entry !== undefined) {
    if (entry.isCall) {
      const op = ops[entry.op]!;
      const next = step(state, op);
      if (next !== undefined) {
        bits[entry.op >>> 5]! |= 1 << (entry.op & 31);
        const key = bitKey() + stateKey(next);
        if (!cache.has(key)) {
          cache.add(key);
          if (++explored > budget) return { ok: false, gaveUp: true, explored };
          stack.push({ entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        bits[entry.op >>> 5]! &= ~(1 << (entry.op & 31));
      }
      entry = entry.next;
      continue;
    }
    // A return: every op still pending before it must have been linearized by now.
    if (ops[entry.op]!.ret === Infinity) return { ok: true, explored }; // only unknown-outcome ops are left
    if (stack.length > longest.length) {
      longest = stack.map((f) => f.entry.op);
      longestState = state;
      longestStuck = entry;
    }
    if (stack.length === 0) break;
    const top = stack.pop()!;
    state = top.state;
    bits[top.entry.op >>> 5]! &= ~(1 << (top.entry.op & 31));
    unlift(top.entry);
    entry = top.entry.next;
  }
  if (entry === undefined) return { ok: true, explored };
  // Not linearizable. Report the longest linearization and what blocked it: the op whose
  // return could not be reached, and every op pending at that moment.
  const done = new Set(longest);
  const stuckTime = longestStuck ? ops[longestStuck.op]!.ret : Infinity;
  const stuck = ops.filter((o, i) => !done.has(i) && o.call <= stuckTime);
  return { ok: false, explored, longestPrefix: longest.map((i) => ops[i]!), stateAtLongest: longestState, stuck };
}

export function describeOp(op: HistoryOp): string {
  const inp = op.input;
  const args =
    inp.kind === "create" ? `create(${JSON.stringify(inp.data)}${inp.owner ? `, ephemeral of ${hex(inp.owner)}` : ""})`
    : inp.kind === "delete" ? `delete(v=${inp.version})`
    : inp.kind === "setData" ? `setData(${JSON.stringify(inp.data)}, v=${inp.version})`
    : inp.kind === "expire" ? `expire(session ${hex(inp.owner)})`
    : inp.kind;
  const out = op.output;
  const res =
    out === "unknown" ? "unknown"
    : out.err !== Err.OK ? errName(out.err)
    : inp.kind === "get" || inp.kind === "syncGet" ? (out.exists ? `{${JSON.stringify(out.data)} v${out.version}${out.owner ? ` owner ${hex(out.owner)}` : ""}}` : "absent")
    : inp.kind === "setData" ? `OK v${out.version}`
    : "OK";
  const where = `${op.node !== undefined ? ` node ${op.node}` : ""}${op.zxid !== undefined ? ` zxid ${hex(op.zxid)}` : ""}`;
  return `#${op.id} [${op.call}, ${op.ret === Infinity ? "∞" : op.ret}] client ${op.client} ${op.key} ${args} -> ${res}${where}`;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function errName(err: number): string {
  for (const [k, v] of Object.entries(Err)) if (v === err) return k;
  return String(err);
}

export function describeState(s: KeyState): string {
  return s.exists ? `{${JSON.stringify(s.data)} v${s.version}${s.owner ? ` owner ${hex(s.owner)}` : ""}}` : "absent";
}
