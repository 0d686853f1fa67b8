// Delta debugging for a diverging sequence: cut it after the op that showed the divergence, try
// two big cuts first (only the ops on paths related to the diverging op's, plus the session ops;
// no session ever moving to another member), then remove chunks of ops (halves, quarters, ...
// single ops, as in Zeller's ddmin) and sub-ops of multis, then simplify ops one at a time,
// keeping every candidate that still diverges the same way (same signature). Each attempt is a
// fresh run under a new root with new sessions, so nothing carries over between attempts.
import { formatOp, pathsOf, simplerVariants, type DiffOp } from "./ops.ts";
import type { Differ, Divergence } from "./run.ts";

export interface Shrunk {
  ops: DiffOp[];
  divergence: Divergence;
  attempts: number;
}

export async function shrink(differ: Differ, ops: readonly DiffOp[], first: Divergence, budget: { attempts?: number; ms?: number } = {}): Promise<Shrunk> {
  const maxAttempts = budget.attempts ?? 400;
  const deadline = Date.now() + (budget.ms ?? 30_000);
  let attempts = 0;
  let best = { ops: ops.slice(0, first.index + 1), divergence: first };

  /** Runs `cand`; adopts it (cut after its divergence) when it diverges with the same signature. */
  const tryCandidate = async (cand: DiffOp[]): Promise<boolean> => {
    if (attempts >= maxAttempts || Date.now() > deadline) return false;
    attempts++;
    const r = await differ.run(cand);
    if (r.divergence?.signature !== first.signature) return false;
    best = { ops: cand.slice(0, r.divergence.index + 1), divergence: r.divergence };
    return true;
  };
  const outOfBudget = (): boolean => attempts >= maxAttempts || Date.now() > deadline;

  // Only the ops on the diverging op's paths, their ancestors and descendants, and the ops that
  // change a session's connection or identity (reconnect, addAuth, disconnect). Paths as they ran ("@k" resolved).
  const index = first.index;
  if (index < best.ops.length) {
    const r = await differ.run(best.ops);
    attempts++;
    const target = r.divergence?.signature === first.signature ? pathsOf(r.resolved[index]!) : [];
    if (target.length > 0 && !target.includes("/")) {
      const related = (p: string): boolean => target.some((t) => p === t || t.startsWith(p === "/" ? "//" : p + "/") || p.startsWith(t + "/"));
      await tryCandidate(best.ops.filter((o, i) => i === index || o.op === "reconnect" || o.op === "addAuth" || o.op === "disconnect" || pathsOf(r.resolved[i]!).some(related)));
    }
  }
  // No session moving to another member.
  if (best.ops.some((o) => o.m !== undefined)) await tryCandidate(best.ops.map((o) => ({ ...o, m: undefined })));

  // ddmin over whole ops.
  let n = 2;
  while (best.ops.length >= 2 && !outOfBudget()) {
    const len = best.ops.length;
    const size = Math.ceil(len / n);
    let reduced = false;
    for (let start = 0; start < len && !outOfBudget(); start += size) {
      const cand = [...best.ops.slice(0, start), ...best.ops.slice(start + size)];
      if (cand.length === 0) continue;
      if (await tryCandidate(cand)) {
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= len) break;
      n = Math.min(len, n * 2);
    }
  }

  // Sub-ops of multis and multiReads, one at a time.
  for (let i = 0; i < best.ops.length && !outOfBudget(); i++) {
    for (let j = 0; ; j++) {
      const op = best.ops[i]!;
      if ((op.op !== "multi" && op.op !== "multiRead") || op.ops.length <= 1 || j >= op.ops.length) break;
      const smaller = { ...op, ops: op.ops.filter((_, k) => k !== j) } as DiffOp;
      if (await tryCandidate([...best.ops.slice(0, i), smaller, ...best.ops.slice(i + 1)])) j--;
      if (outOfBudget()) break;
    }
  }
  // Simpler data, no watch, default ACL: one op at a time.
  for (let i = 0; i < best.ops.length && !outOfBudget(); i++) {
    for (const v of simplerVariants(best.ops[i]!)) {
      if (await tryCandidate([...best.ops.slice(0, i), v, ...best.ops.slice(i + 1)])) break;
    }
  }

  // Spell out "@k" references as the paths they named, if the divergence stays the same.
  const last = await differ.run(best.ops);
  attempts++;
  if (last.divergence?.signature === first.signature) {
    const concrete = last.resolved.slice(0, last.divergence.index + 1);
    const again = await differ.run(concrete);
    attempts++;
    if (again.divergence?.signature === first.signature) best = { ops: concrete.slice(0, again.divergence.index + 1), divergence: again.divergence };
  }
  return { ...best, attempts };
}

/** A failure report: the minimal sequence as readable lines, as JSON to paste into a test, and both replies. */
export function report(s: Shrunk, context: string): string {
  const lines = s.ops.map((o, i) => `  ${String(i).padStart(3)}  ${formatOp(o)}`);
  return [
    `${context}: Keeper diverges from ZooKeeper 3.8 (${s.divergence.what})`,
    `minimal sequence (${s.ops.length} ops, paths relative to a fresh root, s0/s1 = the two sessions, @m = through Keeper member m; ${s.attempts} shrink attempts):`,
    ...lines,
    `zookeeper: ${JSON.stringify(s.divergence.zookeeper)}`,
    `keeper:    ${JSON.stringify(s.divergence.keeper)}`,
    `as a test case: ${JSON.stringify(s.ops)}`,
  ].join("\n");
}
