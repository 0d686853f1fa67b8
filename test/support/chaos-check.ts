// Checks a chaos run's history with the simulator's checkers (packages/sim), fed from what a
// real cluster leaves behind: the clients' records (chaos-history.ts) and every node's
// transaction log, read from its store once all nodes are stopped.
//
// 1. The logs: every zxid held by several nodes holds the same transaction everywhere; their
//    union, replayed on an empty state, reaches the digest every node reported at each
//    convergence point (so the union is the whole committed history, in order).
// 2. No acknowledged write lost: every write the server answered (OK or a state error such as
//    BADVERSION) is in the committed log at the zxid of its answer, sent by that session with
//    that xid, with the outcome the client was told. No (session, xid) commits twice.
// 3. Writes whose outcome the client never learned are resolved from the log: not there ->
//    it never took effect and leaves the history; there -> its outcome is the logged one, and
//    it completed no later than the first answer any server gave at a zxid at or after its
//    own (that server had applied it; unbounded -> it stays open-ended).
// 4. Plain reads (History from packages/sim): each returns the committed value at the zxid of
//    the state it was read from; per client instance (its session, and the read-only to
//    read-write move it makes in the same instance) that zxid never goes back, and it is at
//    least that of every write the instance had acknowledged (read-your-writes).
// 5. Linearizability of writes and sync-reads per key, with the Wing-Gong/Porcupine search.
import { ReplicatedState, encodeTxn, type Txn } from "@keeper/core";
import { Code } from "@keeper/protocol";
import { ABSENT, History, InvariantViolation, checkLinearizable, describeOp, describeState, type HistoryOp, type KeyState, type OpOutput } from "@keeper/sim";
import type { RawOp } from "./chaos-history.ts";

export interface Checkpoint {
  what: string;
  lastZxid: number;
  digest: string;
}

export interface ChaosCheckInput {
  ops: RawOp[];
  keys: string[];
  logs: Map<number, Txn[]>;
  checkpoints: Checkpoint[];
  /** Search budget per key (states explored) before the search gives up. */
  budget?: number;
}

export interface ChaosCheckResult {
  violations: string[];
  /** Search gave up on these keys: neither proven nor refuted. */
  undecided: string[];
  stats: Record<string, number>;
  /** Per key: ops searched and states explored. */
  perKey: Record<string, { ops: number; explored: number }>;
}

const hex = (n: number): string => `0x${n.toString(16)}`;
const WRITES = new Set(["create", "delete", "setData"]);

function keyState(node: { data: Uint8Array; stat: { version: number; ephemeralOwner: number } } | undefined): KeyState {
  return node ? { exists: true, data: new TextDecoder().decode(node.data), version: node.stat.version, owner: node.stat.ephemeralOwner } : ABSENT;
}

function sameState(a: KeyState, b: KeyState): boolean {
  if (!a.exists || !b.exists) return a.exists === b.exists;
  return a.data === b.data && a.version === b.version && a.owner === b.owner;
}

function rounded(op: RawOp): { call: number; ret: number } {
  // Widen to 10 µs steps (call down, return up): only ever makes ops more concurrent.
  return { call: Math.floor(op.call * 100) / 100, ret: op.ret === Infinity ? Infinity : Math.ceil(op.ret * 100) / 100 };
}

/** The outcome a logged transaction stands for, for an op of `kind`; undefined when it does not fit. */
function outcomeOf(txn: Txn, op: RawOp): OpOutput | undefined {
  const b = txn.body;
  if (b.type === "error") return { err: b.err };
  const inp = op.input;
  switch (inp.kind) {
    case "create":
      return b.type === "create" && b.path === op.key && new TextDecoder().decode(b.data) === inp.data ? { err: Code.OK } : undefined;
    case "delete":
      return b.type === "delete" && b.path === op.key ? { err: Code.OK } : undefined;
    case "setData":
      return b.type === "setData" && b.path === op.key && new TextDecoder().decode(b.data) === inp.data ? { err: Code.OK, version: b.version } : undefined;
    default:
      return undefined;
  }
}

function sameOutput(a: OpOutput, b: OpOutput): boolean {
  return a.err === b.err && (a.version === undefined || b.version === undefined || a.version === b.version);
}

export function checkChaosHistory(input: ChaosCheckInput): ChaosCheckResult {
  const violations: string[] = [];
  const stats: Record<string, number> = {};
  const bump = (k: string, n = 1) => (stats[k] = (stats[k] ?? 0) + n);
  const describeRaw = (o: RawOp) =>
    `#${o.id} [${o.call.toFixed(2)}, ${o.ret === Infinity ? "∞" : o.ret.toFixed(2)}] worker ${o.worker} instance ${o.instance} ${o.key} ${JSON.stringify(o.input)} -> ${JSON.stringify(o.output)}${o.zxid !== undefined ? ` zxid ${hex(o.zxid)}` : ""}${o.server !== undefined ? ` server ${o.server}${o.readOnly ? " (read-only)" : ""}` : ""} sends ${JSON.stringify(o.sends.map((s) => ({ xid: s.xid, type: s.type, session: hex(s.session), server: s.server })))}${o.note ? ` (${o.note})` : ""}`;

  // ---- 1. the committed log ----------------------------------------------------------------
  const merged = new Map<number, { txn: Txn; bytes: string; nodes: number[] }>();
  for (const [node, txns] of input.logs) {
    for (const txn of txns) {
      const z = txn.hdr.zxid;
      const bytes = Buffer.from(encodeTxn(txn)).toString("base64");
      const known = merged.get(z);
      if (!known) merged.set(z, { txn, bytes, nodes: [node] });
      else if (known.bytes !== bytes) violations.push(`logs disagree at zxid ${hex(z)}: node(s) ${known.nodes.join(",")} hold ${JSON.stringify(known.txn.body)}, node ${node} holds ${JSON.stringify(txn.body)}`);
      else known.nodes.push(node);
    }
  }
  const log = [...merged.values()].sort((a, b) => a.txn.hdr.zxid - b.txn.hdr.zxid).map((e) => e.txn);
  stats.committedTxns = log.length;
  // Nodes whose log starts after the others' (a SNAP from a leader replaced it): evidence
  // that snapshot transfer happened in the run.
  const firstZxid = log[0]?.hdr.zxid;
  stats.logsStartingLate = [...input.logs.values()].filter((l) => l.length > 0 && firstZxid !== undefined && l[0]!.hdr.zxid > firstZxid).length;
  const committed = new Map<string, Array<[number, KeyState]>>(input.keys.map((k) => [k, []]));
  const current = new Map<string, KeyState>(input.keys.map((k) => [k, ABSENT]));
  const state = new ReplicatedState();
  const checkpoints = [...input.checkpoints].sort((a, b) => a.lastZxid - b.lastZxid);
  let ci = 0;
  const checkpointAt = (z: number) => {
    while (ci < checkpoints.length && checkpoints[ci]!.lastZxid <= z) {
      const cp = checkpoints[ci++]!;
      if (cp.lastZxid !== z) violations.push(`the logs hold no transaction at zxid ${hex(cp.lastZxid)}, where the nodes converged (${cp.what}): the union of the logs is not the committed history`);
      else if (state.tree.digest() !== cp.digest) violations.push(`replaying the logs up to ${hex(z)} gives digest ${state.tree.digest()}, but the nodes reported ${cp.digest} there (${cp.what})`);
    }
  };
  for (const txn of log) {
    try {
      state.apply(txn);
    } catch (e) {
      violations.push(`replaying the committed log failed at zxid ${hex(txn.hdr.zxid)}: ${(e as Error).message}`);
      break;
    }
    for (const key of input.keys) {
      const s = keyState(state.tree.node(key));
      if (!sameState(s, current.get(key)!)) {
        committed.get(key)!.push([txn.hdr.zxid, s]);
        current.set(key, s);
      }
    }
    checkpointAt(txn.hdr.zxid);
  }
  checkpointAt(Infinity);

  // (session, xid) -> the transaction a client request became.
  const bySession = new Map<string, Txn>();
  for (const txn of log) {
    const t = txn.body.type;
    if (t !== "create" && t !== "delete" && t !== "setData" && t !== "error" && t !== "sync" && t !== "multi") continue;
    const k = `${txn.hdr.sessionId}:${txn.hdr.cxid}`;
    const dup = bySession.get(k);
    if (dup) violations.push(`request xid ${txn.hdr.cxid} of session ${hex(txn.hdr.sessionId)} committed twice: at ${hex(dup.hdr.zxid)} and ${hex(txn.hdr.zxid)}`);
    else bySession.set(k, txn);
  }

  // ---- 2./3. writes against the log --------------------------------------------------------
  // Upper bounds for when a transaction was applied somewhere: answers at zxid >= z.
  const answered = input.ops.filter((o) => o.output !== "unknown" && o.zxid !== undefined).map((o) => ({ zxid: o.zxid!, ret: o.ret })).sort((a, b) => a.zxid - b.zxid);
  const suffixMin: number[] = new Array(answered.length + 1).fill(Infinity);
  for (let i = answered.length - 1; i >= 0; i--) suffixMin[i] = Math.min(suffixMin[i + 1]!, answered[i]!.ret);
  const appliedBy = (z: number): number => {
    let lo = 0;
    let hi = answered.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (answered[mid]!.zxid < z) lo = mid + 1;
      else hi = mid;
    }
    return suffixMin[lo]!;
  };

  interface Prepared {
    raw: RawOp;
    output: OpOutput | "unknown";
    ret: number;
    zxid?: number;
    /** Output learned from the log, not from an answer: not a completion the client saw. */
    resolved: boolean;
  }
  const prepared: Prepared[] = [];
  for (const o of [...input.ops].sort((a, b) => a.call - b.call)) {
    const kind = o.input.kind;
    bump(`ops.${kind}`);
    if (o.output !== "unknown" && o.output.err === Code.NOTREADONLY) {
      // Refused by a read-only server without effect; it tells nothing about the key.
      if (!o.readOnly) violations.push(`NOTREADONLY from a server that did not say it was read-only: ${describeRaw(o)}`);
      bump("notReadOnly");
      continue;
    }
    if (o.output !== "unknown" && o.zxid === undefined) {
      violations.push(`an answered operation without a zxid from the wire (test harness problem): ${describeRaw(o)}`);
      continue;
    }
    if (!WRITES.has(kind)) {
      if (o.output === "unknown") {
        bump("unknownReads");
        continue; // constrains nothing
      }
      if (o.output.err !== Code.OK) {
        if (o.output.err !== Code.SESSIONEXPIRED) violations.push(`read failed with an unexpected error: ${describeRaw(o)}`);
        bump("readErrors");
        continue;
      }
      if (o.readOnly) bump("readOnlyReads");
      prepared.push({ raw: o, output: o.output, ret: o.ret, zxid: o.zxid!, resolved: false });
      continue;
    }
    const txnOf = (s: { session: number; xid: number }) => bySession.get(`${s.session}:${s.xid}`);
    if (o.output !== "unknown") {
      const last = o.sends[o.sends.length - 1];
      const txn = last ? txnOf(last) : undefined;
      if (o.output.err === Code.SESSIONEXPIRED && !txn) {
        bump("sessionExpiredAnswers");
        prepared.push({ raw: o, output: o.output, ret: o.ret, zxid: o.zxid!, resolved: false });
        continue;
      }
      if (!txn) {
        violations.push(`acknowledged write lost: the server answered ${o.output.err === Code.OK ? "OK" : `error ${o.output.err}`} at zxid ${hex(o.zxid!)}, but no committed transaction is from session ${last ? hex(last.session) : "?"} xid ${last?.xid}: ${describeRaw(o)}${merged.has(o.zxid!) ? `; the log holds ${JSON.stringify(merged.get(o.zxid!)!.txn.hdr)} ${JSON.stringify(merged.get(o.zxid!)!.txn.body)} there` : "; the log holds nothing at that zxid"}`);
        continue;
      }
      const logged = outcomeOf(txn, o);
      if (txn.hdr.zxid !== o.zxid || logged === undefined || !sameOutput(logged, o.output)) {
        violations.push(`the answer and the committed log disagree: ${describeRaw(o)}; logged at ${hex(txn.hdr.zxid)}: ${JSON.stringify(txn.body)}`);
        continue;
      }
      bump("ackedWritesInLog");
      prepared.push({ raw: o, output: o.output, ret: o.ret, zxid: o.zxid!, resolved: false });
      continue;
    }
    // Unknown outcome: what became of it is in the log, or nowhere.
    const found = o.sends.map(txnOf).filter((t): t is Txn => t !== undefined);
    if (found.length === 0) {
      bump(o.sends.length === 0 ? "unknownWritesNeverSent" : "unknownWritesNotCommitted");
      continue;
    }
    const txn = found[0]!;
    const logged = outcomeOf(txn, o);
    if (!logged) {
      violations.push(`a write with unknown outcome became a transaction that does not match it: ${describeRaw(o)}; logged at ${hex(txn.hdr.zxid)}: ${JSON.stringify(txn.body)}`);
      continue;
    }
    const bound = appliedBy(txn.hdr.zxid);
    if (bound < o.call) violations.push(`a write was applied (a server answered at zxid >= ${hex(txn.hdr.zxid)} at ${bound.toFixed(2)}) before the client issued it: ${describeRaw(o)}`);
    bump(bound === Infinity ? "unknownWritesCommittedUnbounded" : "unknownWritesCommitted");
    prepared.push({ raw: o, output: logged, ret: bound, zxid: txn.hdr.zxid, resolved: true });
  }

  // ---- 4. plain reads ----------------------------------------------------------------------
  const history = new History(input.keys, Number.MAX_SAFE_INTEGER);
  for (const [key, list] of committed) for (const [z, s] of list) history.committedValue(key, z, s);
  const hops = new Map<Prepared, HistoryOp>();
  const rawOf = new Map<HistoryOp, RawOp>();
  for (const p of prepared) {
    const t = rounded({ ...p.raw, ret: p.ret });
    const hop = history.invoke(p.raw.worker, p.raw.instance, p.raw.key, p.raw.input, t.call, p.raw.server);
    hops.set(p, hop);
    rawOf.set(hop, p.raw);
    if (p.resolved) {
      hop.output = p.output;
      hop.ret = t.ret;
      if (p.zxid !== undefined) hop.zxid = p.zxid;
    }
  }
  const completions = prepared.filter((p) => !p.resolved && p.output !== "unknown").sort((a, b) => a.ret - b.ret);
  for (const p of completions) {
    const hop = hops.get(p)!;
    try {
      history.complete(hop, rounded(p.raw).ret, p.output as OpOutput, p.zxid!);
    } catch (e) {
      if (!(e instanceof InvariantViolation)) throw e;
      hop.ret = rounded(p.raw).ret;
      hop.output = p.output;
      if (violations.length < 20) violations.push(`read consistency: ${e.message}\n  (raw: ${describeRaw(p.raw)})`);
    }
  }
  stats.historyOps = history.ops.length;

  // ---- 5. linearizability -----------------------------------------------------------------
  const undecided: string[] = [];
  const perKey: Record<string, { ops: number; explored: number }> = {};
  for (const key of input.keys) {
    const ops = history.ops.filter((o) => o.key === key);
    const r = checkLinearizable(ops, ABSENT, input.budget ?? 5_000_000);
    perKey[key] = { ops: ops.length, explored: r.explored };
    if (r.gaveUp) {
      undecided.push(key);
      continue;
    }
    if (r.ok) continue;
    const prefix = (r.longestPrefix ?? []).slice(-10);
    violations.push(
      [
        `history of ${key} is not linearizable (${ops.length} ops)`,
        `longest linearization (${r.longestPrefix?.length ?? 0} ops), its last ${prefix.length}:`,
        ...prefix.map((o) => `  ${describeOp(o)}`),
        `state then: ${describeState(r.stateAtLongest ?? ABSENT)}`,
        `pending ops none of which can come next:`,
        ...(r.stuck ?? []).slice(0, 12).map((o) => `  ${describeOp(o)}${rawOf.has(o) ? `\n      raw: ${describeRaw(rawOf.get(o)!)}` : ""}`),
        `committed values of ${key} (last 12): ${committed.get(key)!.slice(-12).map(([z, s]) => `${hex(z)}=${describeState(s)}`).join(", ")}`,
      ].join("\n"),
    );
  }
  return { violations, undecided, stats, perKey };
}
